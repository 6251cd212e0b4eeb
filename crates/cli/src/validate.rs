//! `kreplicate validate`: everything `run` checks before connecting — parse, validate, read
//! every secret — and a summary of what would be replicated. With `--connect`, also reaches
//! both clusters and checks their ids.

use std::process::ExitCode;

use clap::Args;

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

/// Validates and prints the summary on stdout (notices and warnings on stderr).
pub async fn validate(args: ValidateArgs) -> Result<ExitCode, Failure> {
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let validation =
        kreplicate_replicate::validate(&loaded.config, &args.client_id, args.connect, |warning| {
            eprintln!("WARNING: {warning}")
        })
        .await
        .map_err(|e| failure::from_engine(&e))?;
    print!("{validation}");
    Ok(ExitCode::SUCCESS)
}
