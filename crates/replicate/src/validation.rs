//! `kreplicate validate`: everything `run` checks before copying — every secret read, and with
//! `connect` both clusters reached and their ids checked — and the summary of what would be
//! replicated. One report: [`validate`] checks, the [`Validation`]'s `Display` is the text
//! the CLI prints.

use std::fmt;

use crate::cluster_client::{client_config, connect as connect_cluster, Role};
use crate::config::{ClusterAuth, ClusterConfig, ReplicatorConfig};
use crate::error::EngineError;
use crate::topics::empty_selection_warning;

/// A configuration that passed [`validate`]; `Display` is its summary.
#[derive(Debug)]
pub struct Validation {
    config: ReplicatorConfig,
    connected: bool,
}

/// Builds each cluster's client settings, which reads every secret it needs (credentials, CA,
/// client certificate) exactly as `run` will; with `connect`, also connects to both clusters
/// and checks their ids. A selection that matches none of the source's topics is passed to
/// `on_warning` as soon as it is seen (it does not fail the check).
pub async fn validate(
    config: &ReplicatorConfig,
    client_id: &str,
    connect: bool,
    mut on_warning: impl FnMut(&str),
) -> Result<Validation, EngineError> {
    for (cluster, role) in [
        (&config.source, Role::Source),
        (&config.target, Role::Target),
    ] {
        client_config(cluster, role, client_id).await?;
    }
    if connect {
        for (cluster, role) in [
            (&config.source, Role::Source),
            (&config.target, Role::Target),
        ] {
            let client = connect_cluster(cluster, role, client_id).await?;
            if role == Role::Source {
                let metadata = client
                    .metadata()
                    .await
                    .map_err(|e| EngineError::cluster(role, cluster.id.clone(), e))?;
                if let Some(warning) = empty_selection_warning(&metadata, config) {
                    on_warning(&warning);
                }
            }
        }
    }
    Ok(Validation {
        config: config.clone(),
        connected: connect,
    })
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

impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        let flags = &config.flags;
        writeln!(
            f,
            "configuration is valid{}: replicator {}",
            if self.connected {
                " and both clusters answered with the configured ids"
            } else {
                ""
            },
            config.name
        )?;
        writeln!(f, "  source:            {}", cluster_line(&config.source))?;
        writeln!(f, "  target:            {}", cluster_line(&config.target))?;
        writeln!(
            f,
            "  topics:            {}; excluding {}",
            list(config.topics.include_patterns()),
            list(config.topics.exclude_patterns())
        )?;
        writeln!(
            f,
            "  target names:      {} (source topic \"orders\" becomes \"{}\")",
            config.naming.as_str(),
            config.target_topic("orders")
        )?;
        writeln!(
            f,
            "  starting position: {}; target compression: {}",
            msk_name(serde_json::to_value(config.starting_position)),
            msk_name(serde_json::to_value(config.compression))
        )?;
        writeln!(
            f,
            "  consumer groups:   {}; excluding {}; offset sync {}",
            list(config.groups.include_patterns()),
            list(config.groups.exclude_patterns()),
            msk_name(serde_json::to_value(config.offset_sync_mode))
        )?;
        writeln!(
            f,
            "  copy topic configs: {}, topic ACLs: {}, new topics: {}, group offsets: {}, new groups: {}",
            yes_no(flags.copy_topic_configurations),
            yes_no(flags.copy_topic_acls),
            yes_no(flags.detect_new_topics),
            yes_no(flags.sync_group_offsets),
            yes_no(flags.detect_new_groups)
        )
    }
}
