//! `kreplicate plan`: reads the same inputs as `run` and prints what `run` would do to the
//! target now — topics to create, partitions to add, configs to change, ACLs to create, groups
//! whose offsets would be synced — and what the target would refuse, without writing
//! anything. Exit 0 when nothing is known to fail, 1 otherwise.

use std::process::ExitCode;

use clap::Args;

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};

/// Options of `kreplicate plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Client id sent to both clusters.
    #[arg(long, value_name = "ID", default_value = "kreplicate")]
    pub client_id: String,
}

/// Connects, plans, prints the plan on stdout.
pub async fn plan(args: PlanArgs) -> Result<ExitCode, Failure> {
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let plan = kreplicate_replicate::plan(&loaded.config, &args.client_id)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    print!("{plan}");
    Ok(if plan.feasible() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(failure::EXIT_RUNTIME)
    })
}
