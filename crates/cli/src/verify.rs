//! `kreplicate verify`: proves the copy complete. Compares every replicated partition record by
//! record (key, value, headers without the provenance header, timestamp) and prints one line per
//! partition with the first divergent source offset. Exit 0 only when every partition is equal.
//! Given a two-way pair's reverse replicator too (`--reverse-input`), both directions.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kreplicate_replicate::{verify_groups, verify_replicator_from, VerifyFrom};
use kreplicate_replicate::{OffsetSyncMode, ReplicatorConfig};

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};
use crate::status::{halted_partitions, HaltedPartition};
use crate::status_source;
use crate::table::{Align, Table};

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
    /// The reverse replicator of a two-way pair (its whole CreateReplicator request:
    /// file://PATH, PATH or inline JSON): also verify target -> source, one table per
    /// direction; exit 0 only when both are equal. With --groups, the groups the reverse
    /// replicator syncs back (ENHANCED) are checked too.
    #[arg(long, value_name = "FILE")]
    pub reverse_input: Option<String>,
    /// The running replicator's metrics endpoint (its `/status` is read, as by `status`): a
    /// partition it reports halted is shown as HALTED at its source offset instead of a bare
    /// difference.
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// The same for the reverse replicator (with --reverse-input).
    #[arg(long, value_name = "URL", requires = "reverse_input")]
    pub reverse_metrics_url: Option<String>,
}

/// `--from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Start,
    ReplicatorStart,
}

pub async fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let forward = config_args::load(&args.config)?;
    let reverse = match &args.reverse_input {
        Some(argument) => Some(config_args::load_another(
            "--reverse-input",
            argument,
            &args.config,
        )?),
        None => None,
    };
    for notice in forward
        .notices
        .iter()
        .chain(reverse.iter().flat_map(|r| &r.notices))
    {
        eprintln!("{notice}");
    }
    let from = match args.from {
        From::Start => VerifyFrom::LogStart,
        From::ReplicatorStart => VerifyFrom::ReplicatorStart,
    };
    let Some(reverse) = reverse else {
        if args.groups && forward.config.offset_sync_mode == OffsetSyncMode::Enhanced {
            eprintln!(
                "note: ENHANCED offset sync: groups that moved to the target are synced back by \
                 the reverse replicator; give its configuration with --reverse-input to check \
                 them too"
            );
        }
        let halted = halted_at(args.metrics_url.as_deref()).await?;
        let equal = verify_direction(&forward.config, &args, from, &halted).await?;
        return Ok(exit_code(equal));
    };
    check_reverse(&forward.config, &reverse.config)?;
    let mut unequal = Vec::new();
    for (i, (direction, config, metrics_url)) in [
        ("FORWARD", &forward.config, &args.metrics_url),
        ("REVERSE", &reverse.config, &args.reverse_metrics_url),
    ]
    .into_iter()
    .enumerate()
    {
        let halted = halted_at(metrics_url.as_deref()).await?;
        if i > 0 {
            println!();
        }
        println!(
            "{direction}: replicator {}: {} -> {}",
            config.name, config.source.id, config.target.id
        );
        if !verify_direction(config, &args, from, &halted).await? {
            unequal.push(direction.to_lowercase());
        }
    }
    println!();
    if unequal.is_empty() {
        println!("BOTH DIRECTIONS EQUAL");
    } else {
        println!("NOT EQUAL: the {} direction", unequal.join(" and the "));
    }
    Ok(exit_code(unequal.is_empty()))
}

fn exit_code(equal: bool) -> ExitCode {
    if equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The reverse replicator copies the other way between the same two clusters.
fn check_reverse(forward: &ReplicatorConfig, reverse: &ReplicatorConfig) -> Result<(), Failure> {
    if reverse.source.id == forward.target.id && reverse.target.id == forward.source.id {
        return Ok(());
    }
    Err(Failure::config(format!(
        "--reverse-input: replicator {} copies {} -> {}, which is not the reverse of \
         replicator {} ({} -> {}); give the replicator that copies {} -> {}",
        reverse.name,
        reverse.source.id,
        reverse.target.id,
        forward.name,
        forward.source.id,
        forward.target.id,
        forward.target.id,
        forward.source.id,
    )))
}

/// Halted partitions by (source topic, partition), from a replicator's status.
type Halted = HashMap<(String, i32), HaltedPartition>;

/// Reads which partitions the replicator behind `metrics_url` reports halted (its `/status`).
async fn halted_at(metrics_url: Option<&str>) -> Result<Halted, Failure> {
    let Some(url) = metrics_url else {
        return Ok(Halted::new());
    };
    let status = status_source::read(&status_source::status_url(url), Duration::from_secs(10))
        .await
        .map_err(|e| Failure::config(format!("cannot read metrics: {e}")))?;
    Ok(halted_partitions(&status)
        .into_iter()
        .map(|p| ((p.topic.clone(), p.partition), p))
        .collect())
}

/// A partition's RESULT cell.
fn result_cell(
    first_divergence: Option<&(i64, String)>,
    halted: Option<&HaltedPartition>,
) -> String {
    match (first_divergence, halted) {
        (None, None) => "EQUAL".to_string(),
        (None, Some(h)) => format!(
            "EQUAL so far (HALTED {}: later records are not copied until it resumes)",
            h.at()
        ),
        (Some((offset, why)), None) => format!("DIFFERS at source offset {offset}: {why}"),
        (Some((offset, why)), Some(h)) => format!(
            "HALTED {} (the replicator's log names the rule and the remedy); first difference at source offset {offset}: {why}",
            h.at()
        ),
    }
}

/// One direction: the partition table, its verdict line and (`--groups`) the group lines.
/// Returns whether everything was equal (and something was verified).
async fn verify_direction(
    config: &ReplicatorConfig,
    args: &VerifyArgs,
    from: VerifyFrom,
    halted: &Halted,
) -> Result<bool, Failure> {
    let verdicts = verify_replicator_from(config, &args.client_id, from)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    if verdicts.is_empty() {
        println!(
            "NOTHING VERIFIED: TopicsToReplicate selects no topic the source cluster has; check \
             the replicator's topic selection"
        );
        return Ok(false);
    }
    let mut table = Table::new(&[
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Left,
    ]);
    table.row([
        "PARTITION",
        "TARGET TOPIC",
        "SOURCE RANGE",
        "SOURCE",
        "TARGET",
        "SKIPPED",
        "RESULT",
    ]);
    let mut bad = 0;
    for v in &verdicts {
        if v.first_divergence.is_some() {
            bad += 1;
        }
        let mut result = result_cell(
            v.first_divergence.as_ref(),
            halted.get(&(v.topic.clone(), v.partition)),
        );
        if v.timestamps_replaced {
            result.push_str(" (timestamps not compared: the target topic stamps LogAppendTime)");
        }
        table.row([
            format!("{}-{}", v.topic, v.partition),
            v.target_topic.clone(),
            format!("{}..{}", v.from, v.to),
            v.source_records.to_string(),
            v.target_records.to_string(),
            v.skipped.to_string(),
            result,
        ]);
    }
    print!("{}", table.render());
    if bad == 0 {
        println!("EQUAL: {} partitions verified", verdicts.len());
    } else {
        println!("NOT EQUAL: {bad} of {} partitions differ", verdicts.len());
    }
    let groups_bad = if args.groups {
        verify_groups_lines(config, &args.client_id).await?
    } else {
        0
    };
    Ok(bad == 0 && groups_bad == 0)
}

/// `--groups`: a line per committed group position; returns how many are not equal.
async fn verify_groups_lines(config: &ReplicatorConfig, client_id: &str) -> Result<usize, Failure> {
    if !config.flags.sync_group_offsets {
        println!(
            "GROUPS NOT CHECKED: replicator {} does not sync consumer group offsets \
             (SynchroniseConsumerGroupOffsets is off)",
            config.name
        );
        return Ok(0);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn halted(offset: Option<i64>) -> HaltedPartition {
        HaltedPartition {
            topic: "orders".into(),
            partition: 3,
            offset,
        }
    }

    #[test]
    fn a_halted_partition_says_where_it_halted() {
        let missing = (1234, "missing on the target".to_string());
        assert_eq!(result_cell(None, None), "EQUAL");
        assert_eq!(
            result_cell(Some(&missing), None),
            "DIFFERS at source offset 1234: missing on the target"
        );
        assert_eq!(
            result_cell(Some(&missing), Some(&halted(Some(1234)))),
            "HALTED at source offset 1234 (the replicator's log names the rule and the remedy); \
             first difference at source offset 1234: missing on the target"
        );
        assert_eq!(
            result_cell(None, Some(&halted(None))),
            "EQUAL so far (HALTED copier panicked: later records are not copied until it resumes)"
        );
    }
}
