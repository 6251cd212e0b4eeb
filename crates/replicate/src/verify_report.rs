//! `kreplicate verify` as one report: [`verify`] compares every replicated partition (and, if
//! asked, every synced group position); the [`VerifyReport`]'s `Display` is the text the CLI
//! prints, and [`VerifyReport::outcome`] what its exit code follows.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::status::{PartitionState, Status};
use crate::table::Table;
use crate::verify::{
    verify_groups, verify_replicator_from, GroupPositionVerdict, PartitionVerdict, VerifyFrom,
};

/// What [`verify`] checks. `Default`: every partition from its source log start, no groups.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Where each partition's comparison starts.
    pub from: VerifyFrom,
    /// Also check each synced consumer group: its committed offset on the target must be the
    /// exact translation of its source commit, partition by partition.
    pub groups: bool,
    /// The running replicator's status ([`crate::Replicator::status`], or its `/status`): a
    /// partition it reports halted is shown as HALTED at its source offset instead of a bare
    /// difference.
    pub status: Option<Status>,
}

/// What [`verify`] found: one line per partition (and per group position); `Display` renders it.
#[derive(Debug)]
pub struct VerifyReport {
    partitions: Vec<PartitionVerdict>,
    /// Halted partitions by (source topic, partition): the offset they halted at, if known.
    halted: HashMap<(String, i32), Option<i64>>,
    groups: Groups,
}

/// What the group check found.
#[derive(Debug)]
enum Groups {
    /// Not asked for, or nothing was verified.
    NotChecked,
    /// The replicator does not sync group offsets.
    Off {
        replicator: String,
    },
    Checked(Vec<GroupPositionVerdict>),
    /// The groups could not be read (after the partitions were compared).
    Failed(EngineError),
}

/// Verifies every partition of every topic `config` replicates (as the source lists them now),
/// record by record, and with [`VerifyOptions::groups`] every synced group position. A
/// partition that cannot be read gets a line saying so; the others are still verified. Fails
/// when a cluster cannot be reached or its topics cannot be listed.
pub async fn verify(
    config: &ReplicatorConfig,
    client_id: &str,
    options: VerifyOptions,
) -> Result<VerifyReport, EngineError> {
    let partitions = verify_replicator_from(config, client_id, options.from).await?;
    let halted = options
        .status
        .iter()
        .flat_map(|s| &s.partitions)
        .filter_map(|p| match &p.state {
            PartitionState::Halted { offset, .. } => {
                Some(((p.topic.clone(), p.partition), *offset))
            }
            _ => None,
        })
        .collect();
    let groups = if !options.groups || partitions.is_empty() {
        Groups::NotChecked
    } else if !config.flags.sync_group_offsets {
        Groups::Off {
            replicator: config.name.clone(),
        }
    } else {
        match verify_groups(config, client_id).await {
            Ok(verdicts) => Groups::Checked(verdicts),
            Err(e) => Groups::Failed(e),
        }
    };
    Ok(VerifyReport {
        partitions,
        halted,
        groups,
    })
}

impl VerifyReport {
    /// `Ok(true)` when every partition (and every checked group position) is equal and
    /// something was verified; `Err` when the groups could not be read (the report then shows
    /// the partitions only).
    pub fn outcome(&self) -> Result<bool, &EngineError> {
        let groups_equal = match &self.groups {
            Groups::NotChecked | Groups::Off { .. } => true,
            Groups::Checked(verdicts) => verdicts.iter().all(GroupPositionVerdict::is_equal),
            Groups::Failed(e) => return Err(e),
        };
        Ok(!self.partitions.is_empty()
            && self.partitions.iter().all(PartitionVerdict::is_equal)
            && groups_equal)
    }

    fn render_partitions(&self, out: &mut String) {
        if self.partitions.is_empty() {
            out.push_str(
                "NOTHING VERIFIED: TopicsToReplicate selects no topic the source cluster has; \
                 check the replicator's topic selection\n",
            );
            return;
        }
        let mut table = Table::new(7)
            .right_aligned(2)
            .right_aligned(3)
            .right_aligned(4)
            .right_aligned(5);
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
        for v in &self.partitions {
            if v.first_divergence.is_some() {
                bad += 1;
            }
            let mut result = result_cell(
                v.first_divergence.as_ref(),
                self.halted.get(&(v.topic.clone(), v.partition)),
            );
            if v.timestamps_replaced {
                result
                    .push_str(" (timestamps not compared: the target topic stamps LogAppendTime)");
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
        out.push_str(&table.render());
        let n = self.partitions.len();
        if bad == 0 {
            out.push_str(&format!("EQUAL: {n} partitions verified\n"));
        } else {
            out.push_str(&format!("NOT EQUAL: {bad} of {n} partitions differ\n"));
        }
    }

    fn render_groups(&self, out: &mut String) {
        let verdicts = match &self.groups {
            Groups::NotChecked | Groups::Failed(_) => return,
            Groups::Off { replicator } => {
                out.push_str(&format!(
                    "GROUPS NOT CHECKED: replicator {replicator} does not sync consumer group \
                     offsets (SynchroniseConsumerGroupOffsets is off)\n"
                ));
                return;
            }
            Groups::Checked(verdicts) => verdicts,
        };
        let mut bad = 0;
        for v in verdicts {
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
            out.push_str(&format!(
                "GROUP {} {}-{} -> {}-{}: source {} -> target {}: {result}\n",
                v.group,
                v.source_topic,
                v.partition,
                v.target_topic,
                v.partition,
                v.source_offset,
                v.expected.map_or("?".to_string(), |o| o.to_string()),
            ));
        }
        let groups: BTreeSet<&str> = verdicts.iter().map(|v| v.group.as_str()).collect();
        if bad == 0 {
            out.push_str(&format!(
                "GROUPS EQUAL: {} positions of {} groups verified\n",
                verdicts.len(),
                groups.len()
            ));
        } else {
            out.push_str(&format!(
                "GROUPS NOT EQUAL: {bad} of {} positions of {} groups differ\n",
                verdicts.len(),
                groups.len()
            ));
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.render_partitions(&mut out);
        self.render_groups(&mut out);
        f.write_str(&out)
    }
}

/// A partition's RESULT cell; `halted`: it halted, at this source offset if known.
fn result_cell(first_divergence: Option<&(i64, String)>, halted: Option<&Option<i64>>) -> String {
    let at = |offset: &Option<i64>| match offset {
        Some(offset) => format!("at source offset {offset}"),
        None => "copier panicked".to_string(),
    };
    match (first_divergence, halted) {
        (None, None) => "EQUAL".to_string(),
        (None, Some(h)) => format!(
            "EQUAL so far (HALTED {}: later records are not copied until it resumes)",
            at(h)
        ),
        (Some((offset, why)), None) => format!("DIFFERS at source offset {offset}: {why}"),
        (Some((offset, why)), Some(h)) => format!(
            "HALTED {} (the replicator's log names the rule and the remedy); first difference at source offset {offset}: {why}",
            at(h)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halted(offset: Option<i64>) -> Option<i64> {
        offset
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
