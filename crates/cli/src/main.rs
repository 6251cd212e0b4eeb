//! The `kreplicate` binary: run a replicator from the JSON files `aws kafka create-replicator`
//! takes, validate them, look up a cluster id, and check cut-over readiness.
//!
//! Exit codes: 0 success, 1 run-time failure (or `status`: not ready), 2 usage or
//! configuration error (or `status`: metrics unreadable).

mod client_properties;
mod cluster_id;
mod config_args;
mod failure;
mod http_get;
mod input;
mod jaas;
mod logging;
mod metrics_server;
mod plan;
mod progress;
mod properties;
mod run;
mod status;
mod status_source;
mod status_workers;
mod table;
mod usage;
mod validate;
mod verify;

#[cfg(test)]
mod deploy_manifests;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::failure::Failure;

/// Replicate Kafka topics, configs, ACLs and consumer-group offsets between clusters, from the
/// same JSON files `aws kafka create-replicator` takes.
#[derive(Debug, Parser)]
#[command(name = "kreplicate", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    log: logging::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a replicator until SIGTERM or SIGINT, serving Prometheus metrics.
    #[command(override_usage = usage::config_usage("run"))]
    Run(run::RunArgs),
    /// Check a configuration (parse, validate, read secrets) without replicating.
    #[command(override_usage = usage::config_usage("validate"))]
    Validate(validate::ValidateArgs),
    /// Print what `run` would do to the target now (topics, configs, ACLs, groups) without
    /// writing anything; exit 0 when nothing is known to fail.
    #[command(override_usage = usage::config_usage("plan"))]
    Plan(plan::PlanArgs),
    /// Print the cluster id of a Kafka cluster (for ApacheKafkaClusterId).
    ClusterId(cluster_id::ClusterIdArgs),
    /// Check a running replicator's metrics against the cut-over checklist.
    Status(status::StatusArgs),
    /// Compare source and target record by record; exit 0 only when the copy is complete.
    Verify(verify::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Only to word the error: paths stay OsStrings when parsing succeeds.
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return usage::report(e, &args);
        }
    };
    // `run` narrates its life at info; the one-shot commands print their answer on stdout and
    // only log problems.
    let default_level = match cli.command {
        Command::Run(_) => "info",
        _ => "warn",
    };
    if let Err(failure) = logging::init(&cli.log, default_level) {
        return failure.report();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Failure::runtime(format!("cannot start the async runtime: {e}")).report(),
    };
    let log_format = cli.log.log_format;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(args, log_format).await,
            Command::Validate(args) => validate::validate(args).await,
            Command::Plan(args) => plan::plan(args).await,
            Command::ClusterId(args) => cluster_id::cluster_id(args).await,
            Command::Status(args) => status::status(args).await,
            Command::Verify(args) => verify::run(args).await,
        }
    });
    // Background tasks (connections, the metrics server) must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
