//! `kreplicate verify`: proves the copy complete. Compares every replicated partition record by
//! record (key, value, headers without the provenance header, timestamp) and prints one line per
//! partition with the first divergent source offset. Exit 0 only when every partition is equal.

use std::process::ExitCode;

use clap::Args;
use kreplicate_replicate::verify::{verify_groups, verify_replicator_from, VerifyFrom};

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
    /// Where each partition's comparison starts: `start`, the source log start (every record
    /// the source holds must be on the target), or `replicator-start`, the first source offset
    /// the target holds a copy of (for a replicator started at LATEST).
    #[arg(long, value_name = "FROM", default_value = "start")]
    pub from: From,
    /// Also check each synced consumer group: its committed offset on the target must be the
    /// exact translation of its source commit, partition by partition.
    #[arg(long)]
    pub groups: bool,
}

/// `--from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Start,
    ReplicatorStart,
}

pub async fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let from = match args.from {
        From::Start => VerifyFrom::LogStart,
        From::ReplicatorStart => VerifyFrom::ReplicatorStart,
    };
    let verdicts = verify_replicator_from(&loaded.config, &args.client_id, from)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    if verdicts.is_empty() {
        println!(
            "NOTHING VERIFIED: TopicsToReplicate selects no topic the source cluster has; check \
             the replicator's topic selection"
        );
        return Ok(ExitCode::from(1));
    }
    let rows: Vec<[String; 6]> = verdicts
        .iter()
        .map(|v| {
            [
                format!("{}-{}", v.topic, v.partition),
                v.target_topic.clone(),
                format!("{}..{}", v.from, v.to),
                v.source_records.to_string(),
                v.target_records.to_string(),
                v.skipped.to_string(),
            ]
        })
        .collect();
    let header = [
        "PARTITION",
        "TARGET TOPIC",
        "SOURCE RANGE",
        "SOURCE",
        "TARGET",
        "SKIPPED",
    ];
    // Columns as wide as their widest cell, so the header lines up with every row.
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 6], result: &str| {
        format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}  {result}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
        )
    };
    println!("{}", line(header, "RESULT"));
    let mut bad = 0;
    for (v, row) in verdicts.iter().zip(&rows) {
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
        let cells = [
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_str(),
            row[4].as_str(),
            row[5].as_str(),
        ];
        println!("{}", line(cells, &result));
    }
    if bad == 0 {
        println!("EQUAL: {} partitions verified", verdicts.len());
    } else {
        println!("NOT EQUAL: {bad} of {} partitions differ", verdicts.len());
    }
    let groups_bad = if args.groups {
        verify_groups_lines(&loaded.config, &args.client_id).await?
    } else {
        0
    };
    Ok(if bad == 0 && groups_bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--groups`: a line per committed group position; returns how many are not equal.
async fn verify_groups_lines(
    config: &kreplicate_replicate::config::ReplicatorConfig,
    client_id: &str,
) -> Result<usize, Failure> {
    let verdicts = verify_groups(config, client_id)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    let mut bad = 0;
    for v in &verdicts {
        let result = if v.is_equal() {
            "EQUAL".to_string()
        } else {
            bad += 1;
            match (&v.unknown, v.expected, v.target_offset) {
                (Some(why), _, _) => format!("UNKNOWN: {why}"),
                (None, Some(want), None) => {
                    format!("NOT COMMITTED on the target (want {want})")
                }
                (None, Some(want), Some(have)) => {
                    format!("DIFFERS: the target has {have}, the translation is {want}")
                }
                (None, None, _) => "UNKNOWN".to_string(),
            }
        };
        println!(
            "GROUP {} {}-{} -> {}-{}: source {} -> target {}: {result}",
            v.group,
            v.source_topic,
            v.partition,
            v.target_topic,
            v.partition,
            v.source_offset,
            v.expected.map_or("?".to_string(), |o| o.to_string()),
        );
    }
    let groups: std::collections::BTreeSet<&str> =
        verdicts.iter().map(|v| v.group.as_str()).collect();
    if bad == 0 {
        println!(
            "GROUPS EQUAL: {} positions of {} groups verified",
            verdicts.len(),
            groups.len()
        );
    } else {
        println!(
            "GROUPS NOT EQUAL: {bad} of {} positions of {} groups differ",
            verdicts.len(),
            groups.len()
        );
    }
    Ok(bad)
}
