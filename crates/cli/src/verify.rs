//! `kreplicate verify`: proves the copy complete. Compares every replicated partition record by
//! record (key, value, headers without the provenance header, timestamp) and prints one line per
//! partition with the first divergent source offset. Exit 0 only when every partition is equal.

use std::process::ExitCode;

use clap::Args;
use kreplicate_replicate::verify::verify_replicator;

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};

/// Options of `kreplicate verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Client id sent to both clusters.
    #[arg(long, value_name = "ID", default_value = "kreplicate-verify")]
    pub client_id: String,
}

pub async fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let verdicts = verify_replicator(&loaded.config, &args.client_id)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    println!(
        "{:<40} {:>9} {:>22} {:>10} {:>10} {:>8}  RESULT",
        "PARTITION", "TARGET", "SOURCE RANGE", "SOURCE", "TARGET", "SKIPPED"
    );
    let mut bad = 0;
    for v in &verdicts {
        let mut result = match &v.first_divergence {
            None => "EQUAL".to_string(),
            Some((offset, why)) => {
                bad += 1;
                format!("DIFFERS at source offset {offset}: {why}")
            }
        };
        if v.timestamps_replaced {
            result.push_str(" (timestamps not compared: the target topic stamps LogAppendTime)");
        }
        println!(
            "{:<40} {:>9} {:>22} {:>10} {:>10} {:>8}  {result}",
            format!("{}-{}", v.topic, v.partition),
            v.target_topic,
            format!("{}..{}", v.from, v.to),
            v.source_records,
            v.target_records,
            v.skipped
        );
    }
    if bad == 0 {
        println!("EQUAL: {} partitions verified", verdicts.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("NOT EQUAL: {bad} of {} partitions differ", verdicts.len());
        Ok(ExitCode::from(1))
    }
}
