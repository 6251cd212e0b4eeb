//! The replicator configuration options shared by `run` and `validate`, and loading them:
//! either a whole CreateReplicator request (`--cli-input-json`) or the separate-file form
//! (`--replicator-name`, `--kafka-clusters`, `--replication-info-list`), exactly as
//! `aws kafka create-replicator` takes them.

use clap::Args;
use kreplicate_replicate::{
    ConfigError, CreateReplicatorRequest, Notice, ReplicatorConfig, Severity,
};

use crate::failure::Failure;
use crate::input::{self, Input};

/// Where the replicator configuration comes from.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A whole CreateReplicator request: file://PATH, PATH, inline JSON, or - for stdin.
    #[arg(long, value_name = "FILE")]
    pub cli_input_json: Option<String>,
    /// The replicator's name (with --kafka-clusters and --replication-info-list).
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "cli_input_json",
        required_unless_present = "cli_input_json"
    )]
    pub replicator_name: Option<String>,
    /// The KafkaClusters JSON array: file://PATH, PATH or inline JSON.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "cli_input_json",
        required_unless_present = "cli_input_json"
    )]
    pub kafka_clusters: Option<String>,
    /// The ReplicationInfoList JSON array: file://PATH, PATH or inline JSON.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "cli_input_json",
        required_unless_present = "cli_input_json"
    )]
    pub replication_info_list: Option<String>,
    /// The replicator's description (separate-file form only).
    #[arg(long, value_name = "TEXT", conflicts_with = "cli_input_json")]
    pub description: Option<String>,
    /// Accepted so an `aws kafka create-replicator` command line works unchanged; ignored.
    #[arg(long, value_name = "ARN", conflicts_with = "cli_input_json")]
    pub service_execution_role_arn: Option<String>,
    /// The LogDelivery JSON (separate-file form): file://PATH, PATH or inline JSON. Checked,
    /// then ignored with a notice: kreplicate logs to stderr.
    #[arg(long, value_name = "FILE", conflicts_with = "cli_input_json")]
    pub log_delivery: Option<String>,
    /// The brokers of an AmazonMskCluster, instead of asking GetBootstrapBrokers (for networks
    /// where the AWS API is not reachable). Repeat for each MSK cluster.
    #[arg(long, value_name = "ARN=HOST:PORT[,HOST:PORT]")]
    pub msk_bootstrap: Vec<String>,
    /// How long each MSK IAM token is valid (MSK's signer libraries use 15 minutes).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub msk_iam_token_lifetime: Option<std::time::Duration>,
}

/// A validated configuration and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The validated engine configuration (secrets not yet read).
    pub config: ReplicatorConfig,
    /// One line per notice: `note: FILE: PATH: message` or `warning: …`.
    pub notices: Vec<String>,
}

/// The documents the configuration was read from, to name the right one in messages.
enum Sources {
    /// `--cli-input-json`: everything is in one document.
    Whole(String),
    /// The separate-file form.
    Split { clusters: String, infos: String },
}

impl Sources {
    /// Rewrites a request path (`KafkaClusters[1].X`) to the document holding it and the path
    /// inside that document (`kafka-clusters.json`, `[1].X`).
    fn locate(&self, path: &str) -> String {
        match self {
            Sources::Whole(name) => format!("{name}: {path}"),
            Sources::Split { clusters, infos } => {
                let inner = |rest: &str| {
                    if rest.is_empty() {
                        "(document)".to_owned()
                    } else {
                        rest.trim_start_matches('.').to_owned()
                    }
                };
                if let Some(rest) = path.strip_prefix("KafkaClusters") {
                    format!("{clusters}: {}", inner(rest))
                } else if let Some(rest) = path.strip_prefix("ReplicationInfoList") {
                    format!("{infos}: {}", inner(rest))
                } else if path == "ReplicatorName" {
                    "--replicator-name".to_owned()
                } else if path == "Description" {
                    "--description".to_owned()
                } else {
                    path.to_owned()
                }
            }
        }
    }

    fn config_error(&self, err: &ConfigError) -> Failure {
        Failure::config(format!("{}: {}", self.locate(err.path()), err.message()))
    }

    fn notice(&self, notice: &Notice) -> String {
        let label = match notice.severity {
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        format!("{label}: {}: {}", self.locate(&notice.path), notice.message)
    }
}

/// Reads, parses and validates the configuration. Secrets are not read here.
pub fn load(args: &ConfigArgs) -> Result<LoadedConfig, Failure> {
    let (request, sources) = match &args.cli_input_json {
        Some(argument) => whole_request("--cli-input-json", argument, true)?,
        None => {
            // clap enforces that all three are present without --cli-input-json.
            let missing = |option: &str| Failure::config(format!("{option} is required"));
            let name = args
                .replicator_name
                .clone()
                .ok_or_else(|| missing("--replicator-name"))?;
            let clusters_arg = args
                .kafka_clusters
                .as_deref()
                .ok_or_else(|| missing("--kafka-clusters"))?;
            let infos_arg = args
                .replication_info_list
                .as_deref()
                .ok_or_else(|| missing("--replication-info-list"))?;
            let clusters = input::load("--kafka-clusters", clusters_arg, false)?;
            check_json_syntax(&clusters)?;
            let infos = input::load("--replication-info-list", infos_arg, false)?;
            check_json_syntax(&infos)?;
            let sources = Sources::Split {
                clusters: clusters.name,
                infos: infos.name,
            };
            // A part's error path starts at the request (`KafkaClusters[1]…`), which
            // `Sources` turns back into its file and the path inside it.
            let mut request = CreateReplicatorRequest::from_parts(
                name,
                args.description.clone(),
                args.service_execution_role_arn.clone(),
                &clusters.text,
                &infos.text,
            )
            .map_err(|e| sources.config_error(&e))?;
            if let Some(argument) = args.log_delivery.as_deref() {
                let input = input::load("--log-delivery", argument, false)?;
                check_json_syntax(&input)?;
                request = request
                    .with_log_delivery(&input.text)
                    .map_err(|e| Failure::config(format!("{}: {e}", input.name)))?;
            }
            (request, sources)
        }
    };
    finish(request, &sources, args)
}

/// Reads a second whole CreateReplicator request given to `option` (a file or inline JSON;
/// standard input is `--cli-input-json`'s), with `args`' MSK options applied to it too.
pub fn load_another(
    option: &str,
    argument: &str,
    args: &ConfigArgs,
) -> Result<LoadedConfig, Failure> {
    let (request, sources) = whole_request(option, argument, false)?;
    finish(request, &sources, args)
}

/// A whole CreateReplicator request, read from the document given to `option`.
fn whole_request(
    option: &str,
    argument: &str,
    allow_stdin: bool,
) -> Result<(CreateReplicatorRequest, Sources), Failure> {
    let input = input::load(option, argument, allow_stdin)?;
    check_json_syntax(&input)?;
    let request = CreateReplicatorRequest::parse(&input.text)
        .map_err(|e| Failure::config(format!("{}: {e}", input.name)))?;
    Ok((request, Sources::Whole(input.name)))
}

/// Validates a request and applies the MSK options.
fn finish(
    request: CreateReplicatorRequest,
    sources: &Sources,
    args: &ConfigArgs,
) -> Result<LoadedConfig, Failure> {
    let notices = request
        .notices()
        .iter()
        .map(|n| sources.notice(n))
        .collect();
    let mut config = request.validate().map_err(|e| sources.config_error(&e))?;
    apply_msk_options(args, &mut config)?;
    Ok(LoadedConfig { config, notices })
}

/// `--msk-bootstrap` and `--msk-iam-token-lifetime` on the clusters they name.
fn apply_msk_options(args: &ConfigArgs, config: &mut ReplicatorConfig) -> Result<(), Failure> {
    for given in &args.msk_bootstrap {
        let bad = |why: &str| Failure::config(format!("--msk-bootstrap {given:?}: {why}"));
        let (arn, brokers) = given
            .split_once('=')
            .ok_or_else(|| bad("expected ARN=HOST:PORT[,HOST:PORT]"))?;
        let brokers: Vec<String> = brokers
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect();
        if brokers.is_empty() || brokers.iter().any(|b| !b.contains(':')) {
            return Err(bad("give the brokers as HOST:PORT[,HOST:PORT]"));
        }
        if !config.set_msk_bootstrap(arn, &brokers) {
            return Err(bad(
                "the ARN is not the MskClusterArn of the source or target cluster",
            ));
        }
    }
    if let Some(lifetime) = args.msk_iam_token_lifetime {
        if lifetime.as_secs() < 1 || lifetime.as_secs() > 3600 {
            return Err(Failure::config(format!(
                "--msk-iam-token-lifetime {}: must be from 1s to 1h",
                humantime::format_duration(lifetime)
            )));
        }
        config.set_msk_iam_token_lifetime(lifetime);
    }
    Ok(())
}

/// Rejects malformed JSON with a message that says so, before the typed parse reports it as
/// a problem with some member.
fn check_json_syntax(input: &Input) -> Result<(), Failure> {
    match serde_json::from_str::<serde_json::Value>(&input.text) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::config(format!(
            "{}: invalid JSON: {e}",
            input.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split() -> Sources {
        Sources::Split {
            clusters: "c.json".into(),
            infos: "i.json".into(),
        }
    }

    #[test]
    fn paths_point_into_the_right_file() {
        let s = split();
        assert_eq!(
            s.locate("KafkaClusters[1].ApacheKafkaCluster"),
            "c.json: [1].ApacheKafkaCluster"
        );
        assert_eq!(s.locate("KafkaClusters"), "c.json: (document)");
        assert_eq!(
            s.locate("ReplicationInfoList[0].TopicReplication"),
            "i.json: [0].TopicReplication"
        );
        assert_eq!(s.locate("ReplicatorName"), "--replicator-name");
        assert_eq!(
            Sources::Whole("r.json".into()).locate("KafkaClusters[0]"),
            "r.json: KafkaClusters[0]"
        );
    }

    #[test]
    fn invalid_json_names_file_line_and_column() {
        let input = Input {
            name: "r.json".into(),
            text: "{\n  \"a\": 1,\n  }".into(),
        };
        let err = check_json_syntax(&input).unwrap_err();
        assert_eq!(err.code(), 2);
        assert!(err.message().starts_with("r.json: invalid JSON: "), "{err}");
        assert!(err.message().ends_with("at line 3 column 3"), "{err}");
    }
}
