//! `kreplicate cluster-id`: prints the Kafka cluster id of the brokers at `--bootstrap-server`
//! (the value `ApacheKafkaClusterId` needs), connecting with the settings of a Kafka client
//! properties file as Kafka's own tools do.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kreplicate_wire::client::{Client, ClientConfig};

use crate::client_properties;
use crate::failure::{self, Failure};
use crate::run::positive_duration;

/// Options of `kreplicate cluster-id`.
#[derive(Debug, Clone, Args)]
pub struct ClusterIdArgs {
    /// Broker address(es): host:port[,host:port…].
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: String,
    /// Kafka client properties file (security.protocol, sasl.*, ssl.*).
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// Give up after this long (e.g. 10s).
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "30s")]
    pub timeout: Duration,
}

/// Connects and prints the cluster id on stdout.
pub async fn cluster_id(args: ClusterIdArgs) -> Result<ExitCode, Failure> {
    let mut config = ClientConfig::from_bootstrap_string(&args.bootstrap_server)
        .map_err(|e| Failure::config(format!("--bootstrap-server: {e}")))?;
    if let Some(path) = &args.command_config {
        let props = client_properties::load(path).map_err(Failure::config)?;
        for warning in &props.warnings {
            eprintln!("{warning}");
        }
        config.connection = props.connection;
    }
    config.connection.connect_timeout = config.connection.connect_timeout.min(args.timeout);
    config.connection.request_timeout = config.connection.request_timeout.min(args.timeout);
    let bootstrap = config.bootstrap_servers.join(",");
    let client = match tokio::time::timeout(args.timeout, Client::connect(config)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(failure::from_client(&e)),
        Err(_) => {
            return Err(Failure::runtime(format!(
                "no answer from {bootstrap} within {}",
                humantime::format_duration(args.timeout)
            )))
        }
    };
    match client.cluster_id() {
        Some(id) => {
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        None => Err(Failure::runtime(format!(
            "the brokers at {bootstrap} did not report a cluster id (Kafka before 0.10.1 has none)"
        ))),
    }
}
