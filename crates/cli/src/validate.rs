//! `kreplicate validate`: everything `run` checks before connecting — parse, validate, read
//! every secret — and a summary of what would be replicated. With `--connect`, also reaches
//! both clusters and checks their ids.

use std::process::ExitCode;

use clap::Args;
use kreplicate_replicate::config::{ClusterAuth, ClusterConfig, ReplicatorConfig};
use kreplicate_replicate::topics::empty_selection_warning;
use kreplicate_replicate::EngineError;
use kreplicate_replicate::{client_config, connect, Role};

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};

/// Options of `kreplicate validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Also connect to both clusters and check that their cluster ids match the configuration.
    #[arg(long)]
    pub connect: bool,
    /// Client id sent with --connect.
    #[arg(long, value_name = "ID", default_value = "kreplicate")]
    pub client_id: String,
}

/// Validates and prints the summary on stdout (notices on stderr).
pub async fn validate(args: ValidateArgs) -> Result<ExitCode, Failure> {
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let config = &loaded.config;
    // Builds each cluster's client settings, which reads every secret it needs (credentials,
    // CA, client certificate) exactly as `run` will.
    for (cluster, role) in [
        (&config.source, Role::Source),
        (&config.target, Role::Target),
    ] {
        client_config(cluster, role, &args.client_id)
            .await
            .map_err(|e| failure::from_engine(&e))?;
    }
    if args.connect {
        for (cluster, role) in [
            (&config.source, Role::Source),
            (&config.target, Role::Target),
        ] {
            let client = connect(cluster, role, &args.client_id)
                .await
                .map_err(|e| failure::from_engine(&e))?;
            if role == Role::Source {
                let metadata = client.metadata().await.map_err(|e| {
                    failure::from_engine(&EngineError::cluster(role, cluster.id.clone(), e))
                })?;
                if let Some(warning) = empty_selection_warning(&metadata, config) {
                    eprintln!("WARNING: {warning}");
                }
            }
        }
    }
    print!("{}", summary(config, args.connect));
    Ok(ExitCode::SUCCESS)
}

/// The MSK enum spelling of a config value (its serde name).
fn msk_name(value: serde_json::Result<serde_json::Value>) -> String {
    match value {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn list(patterns: &[String]) -> String {
    if patterns.is_empty() {
        "(none)".into()
    } else {
        patterns.join(", ")
    }
}

fn cluster_line(cluster: &ClusterConfig) -> String {
    let auth = match &cluster.auth {
        None => "no authentication".to_owned(),
        Some(ClusterAuth::SaslScram { mechanism, secret }) => {
            format!("SASL/{} with {secret}", mechanism.sasl_name())
        }
        Some(ClusterAuth::MutualTls { secret }) => format!("mutual TLS with {secret}"),
        Some(ClusterAuth::MskIam { region, .. }) => {
            format!("MSK IAM (SASL/OAUTHBEARER, {region}, default AWS credential chain)")
        }
        Some(ClusterAuth::Provided(_)) => "SASL with the embedder's credentials provider".into(),
    };
    let tls = match &cluster.tls {
        None => "plaintext".to_owned(),
        Some(tls) => match &tls.root_ca {
            Some(ca) => format!("TLS, CA from {ca}"),
            None => "TLS, system CA roots".to_owned(),
        },
    };
    let at = if cluster.bootstrap.is_empty() {
        "brokers from GetBootstrapBrokers".to_owned()
    } else {
        cluster.bootstrap.join(",")
    };
    format!("{} at {at} ({auth}, {tls})", cluster.id)
}

/// The human-readable summary of a valid configuration.
pub fn summary(config: &ReplicatorConfig, connected: bool) -> String {
    let flags = &config.flags;
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "configuration is valid{}: replicator {}",
        if connected {
            " and both clusters answered with the configured ids"
        } else {
            ""
        },
        config.name
    ));
    line(format!(
        "  source:            {}",
        cluster_line(&config.source)
    ));
    line(format!(
        "  target:            {}",
        cluster_line(&config.target)
    ));
    line(format!(
        "  topics:            {}; excluding {}",
        list(config.topics.include_patterns()),
        list(config.topics.exclude_patterns())
    ));
    line(format!(
        "  target names:      {} (source topic \"orders\" becomes \"{}\")",
        config.naming.as_str(),
        config.target_topic("orders")
    ));
    line(format!(
        "  starting position: {}; target compression: {}",
        msk_name(serde_json::to_value(config.starting_position)),
        msk_name(serde_json::to_value(config.compression))
    ));
    line(format!(
        "  consumer groups:   {}; excluding {}; offset sync {}",
        list(config.groups.include_patterns()),
        list(config.groups.exclude_patterns()),
        msk_name(serde_json::to_value(config.offset_sync_mode))
    ));
    line(format!(
        "  copy topic configs: {}, topic ACLs: {}, new topics: {}, group offsets: {}, new groups: {}",
        yes_no(flags.copy_topic_configurations),
        yes_no(flags.copy_topic_acls),
        yes_no(flags.detect_new_topics),
        yes_no(flags.sync_group_offsets),
        yes_no(flags.detect_new_groups)
    ));
    out
}
