//! The group sync loop (MSK `SynchroniseConsumerGroupOffsets`): every `group_sync_interval`,
//! each selected group's committed source offsets are translated through the offset maps and
//! committed on the target — only while the group has no active members there.
//!
//! A round, per group:
//! 1. fetch the group's committed offsets on the source; keep the partitions of replicated
//!    topics;
//! 2. drop commits a replicator wrote (commit metadata marker, or equal to the source
//!    cluster's commit ledger): those are copies of a position, never a consumer's progress;
//! 3. translate each position ([`OffsetMaps::source_to_target`]) and [`decide`] against the
//!    target's committed offset;
//! 4. if anything is to be committed and the group has no active members on the target: write
//!    the ledger entries (acknowledged), then commit, with the marker as metadata, on the
//!    target topic names (PREFIXED or IDENTICAL);
//! 5. report lag on both clusters.
//!
//! Groups are selected by `ConsumerGroupsToReplicate` / `ConsumerGroupsToExclude`; with
//! `DetectAndCopyNewConsumerGroups` false, only groups present at the first round are synced.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_offsets::{OffsetMaps, Translation};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::group::{GroupAdmin, OffsetToCommit};
use kreplicate_wire::producer::{Producer, ProducerConfig};
use kreplicate_wire::BrokerError;
use tokio::sync::watch;

use super::commit_ledger::{write_entries, Ledger, LedgerEntry, LedgerKey, GROUP_COMMITS_TOPIC};
use super::commit_marker::{commit_marker, is_marked};
use super::decision::{decide, Decision, Skip};
use super::error::{GroupSyncError, Step};
use super::internal_topic::ensure_compacted_topic;
use super::lag::LogEnds;
use super::{lock, stop_requested};
use crate::config::ReplicatorConfig;
use crate::metrics::{group_labels, ReplicatorMetrics};
use crate::provenance::ClusterFingerprint;

/// One partition of a group, as this round sees it.
struct Row {
    source_topic: String,
    target_topic: String,
    partition: i32,
    source_offset: i64,
}

/// Problems seen round after round: new when the previous round did not have it.
#[derive(Default)]
struct RepeatedWarnings {
    previous: HashSet<String>,
    current: HashSet<String>,
}

impl RepeatedWarnings {
    /// Records `line` for this round; true when the previous round did not see it.
    fn is_new(&mut self, line: String) -> bool {
        let new = !self.previous.contains(&line);
        self.current.insert(line);
        new
    }

    fn end_round(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
}

/// What one round found for one group with replicated partitions.
struct GroupOutcome {
    /// Partition offsets committed on the target this round.
    committed: usize,
    /// The target's committed offsets are the translation of the source commits, or past it.
    synced: bool,
    /// Exactly the translation, and the group has no active members on the source: it can
    /// move now.
    movable: bool,
    /// Its committed offsets on the target (topic, partition, offset) after this round.
    offsets: Vec<(String, i32, i64)>,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RoundReport {
    /// Groups with at least one replicated partition (MSK `ConsumerGroupCount`).
    pub groups: usize,
    /// Partition offsets committed on the target.
    pub committed: usize,
    /// Groups whose sync failed.
    pub failures: usize,
}

/// Consumer-group offset sync for one replicator.
pub(crate) struct GroupSync {
    config: Arc<ReplicatorConfig>,
    source_groups: GroupAdmin,
    target_groups: GroupAdmin,
    target: Client,
    maps: Arc<Mutex<OffsetMaps>>,
    metrics: Arc<ReplicatorMetrics>,
    source_fp: ClusterFingerprint,
    marker: String,
    /// Our own commits on the target (read once, then kept up to date in memory).
    own: Ledger,
    own_loaded: bool,
    /// Commits replicators wrote on the source (a reverse replicator's, in ENHANCED).
    reverse: Ledger,
    producer: Option<Producer>,
    /// With `DetectAndCopyNewConsumerGroups` false: the groups of the first round.
    first_groups: Option<BTreeSet<String>>,
    /// Source offset seen last round, per (group, source topic, partition).
    previous: HashMap<(String, String, i32), i64>,
    source_ends: LogEnds,
    target_ends: LogEnds,
    /// A source without ListGroups fails every 5 s for as long as it runs: WARN once.
    warnings: RepeatedWarnings,
    /// Groups whose synced/movable series were set last round (the others are removed).
    reported: BTreeSet<String>,
}

impl GroupSync {
    /// Group sync from `source` to `target` through `maps`.
    pub(crate) fn new(
        config: Arc<ReplicatorConfig>,
        source: Client,
        target: Client,
        maps: Arc<Mutex<OffsetMaps>>,
        metrics: Arc<ReplicatorMetrics>,
    ) -> Self {
        let source_fp = ClusterFingerprint::of(&config.source.id);
        GroupSync {
            marker: commit_marker(&config.name, source_fp),
            source_groups: GroupAdmin::new(source.clone()),
            target_groups: GroupAdmin::new(target.clone()),
            own: Ledger::new(target.clone()),
            own_loaded: false,
            reverse: Ledger::new(source.clone()),
            source_ends: LogEnds::new(source, &config.source.alias),
            target_ends: LogEnds::new(target.clone(), &config.target.alias),
            target,
            maps,
            metrics,
            source_fp,
            producer: None,
            first_groups: None,
            previous: HashMap::new(),
            warnings: RepeatedWarnings::default(),
            reported: BTreeSet::new(),
            config,
        }
    }

    /// One sync round over every selected group. Errors are counted per group (MSK
    /// `ConsumerGroupOffsetSyncFailure`) and the other groups still sync.
    pub(crate) async fn run_once(&mut self) -> RoundReport {
        let report = self.round().await;
        self.warnings.end_round();
        report
    }

    /// Logs a problem at WARN when it appears, at debug while it lasts (same text each round).
    fn warn_once(&mut self, line: String) {
        if self.warnings.is_new(line.clone()) {
            tracing::warn!("{line}");
        } else {
            tracing::debug!("{line} (again)");
        }
    }

    async fn round(&mut self) -> RoundReport {
        let mut report = RoundReport::default();
        if let Err(e) = self.prepare().await {
            self.warn_once(format!("consumer-group sync cannot run this round: {e}"));
            self.metrics.consumer_group_sync_failures.inc();
            report.failures += 1;
            return report;
        }
        let groups = match self.selected_groups().await {
            Ok(groups) => groups,
            Err(e) => {
                self.warn_once(format!("listing the source's consumer groups failed: {e}"));
                self.metrics.consumer_group_sync_failures.inc();
                report.failures += 1;
                return report;
            }
        };
        self.source_ends.clear();
        self.target_ends.clear();
        let mut reported = BTreeSet::new();
        for group in groups {
            let (synced, movable, offsets) = match self.sync_group(&group).await {
                Ok(None) => continue,
                Ok(Some(outcome)) => {
                    report.groups += 1;
                    report.committed += outcome.committed;
                    (outcome.synced, outcome.movable, outcome.offsets)
                }
                Err(e) => {
                    self.warn_once(format!(
                        "consumer-group offset sync failed for {group}: {e}"
                    ));
                    self.metrics.consumer_group_sync_failures.inc();
                    report.groups += 1;
                    report.failures += 1;
                    (false, false, Vec::new())
                }
            };
            self.metrics
                .board
                .set_group(&group, synced, movable, offsets);
            let labels = group_labels(&group);
            self.metrics
                .consumer_group_synced
                .get_or_create(&labels)
                .set(synced as i64);
            self.metrics
                .consumer_group_movable
                .get_or_create(&labels)
                .set(movable as i64);
            reported.insert(group);
        }
        // A group no longer synced here (deselected, moved to the other replicator) has no
        // answer from this replicator any more.
        for gone in self.reported.difference(&reported) {
            let labels = group_labels(gone);
            self.metrics.consumer_group_synced.remove(&labels);
            self.metrics.consumer_group_movable.remove(&labels);
            self.metrics.board.remove_group(gone);
        }
        self.reported = reported;
        self.metrics.consumer_group_count.set(report.groups as i64);
        report
    }

    /// Reads the ledgers, and creates our ledger topic and producer, as needed.
    async fn prepare(&mut self) -> Result<(), GroupSyncError> {
        if !self.own_loaded {
            ensure_compacted_topic(&self.target, GROUP_COMMITS_TOPIC)
                .await
                .map_err(GroupSyncError::cluster(Step::CreateLedgerTopic))?;
            self.own
                .refresh()
                .await
                .map_err(GroupSyncError::cluster(Step::ReadOwnLedger))?;
            self.own_loaded = true;
        }
        self.reverse
            .refresh()
            .await
            .map_err(GroupSyncError::cluster(Step::ReadReverseLedger))?;
        if self.producer.is_none() {
            self.producer = Some(
                Producer::new(self.target.clone(), ProducerConfig::default())
                    .await
                    .map_err(GroupSyncError::cluster(Step::CreateLedgerProducer))?,
            );
        }
        Ok(())
    }

    async fn selected_groups(&mut self) -> Result<Vec<String>, GroupSyncError> {
        let listed = self
            .source_groups
            .list_groups()
            .await
            .map_err(|e| GroupSyncError::ListGroups(Box::new(e)))?;
        let mut selected: Vec<String> = listed
            .into_iter()
            .map(|g| g.group_id)
            .filter(|g| self.config.groups.selects(g))
            .collect();
        if !self.config.flags.detect_new_groups {
            let first = self
                .first_groups
                .get_or_insert_with(|| selected.iter().cloned().collect());
            selected.retain(|g| first.contains(g));
        }
        Ok(selected)
    }

    /// Syncs one group; `None` when it has no replicated partition, else how many partition
    /// offsets were committed and whether the group's target offsets are now synced.
    async fn sync_group(&mut self, group: &str) -> Result<Option<GroupOutcome>, GroupSyncError> {
        let committed = self
            .source_groups
            .fetch_offsets(group, None)
            .await
            .map_err(GroupSyncError::cluster(Step::FetchSourceOffsets))?;
        let mut rows = Vec::new();
        for ((topic, partition), offset) in committed {
            if !self.config.topics.selects(&topic) {
                continue;
            }
            let key = (group.to_string(), topic.clone(), partition);
            let source_key = LedgerKey {
                group: group.to_string(),
                topic: topic.clone(),
                partition,
            };
            let replicator_made = is_marked(offset.metadata.as_deref())
                || self
                    .reverse
                    .is_replicator_commit(&source_key, offset.offset);
            let previous = self.previous.insert(key, offset.offset);
            self.source_ends
                .report(&self.metrics, group, &topic, partition, offset.offset)
                .await;
            if replicator_made {
                continue;
            }
            let target_topic = self.config.target_topic(&topic);
            rows.push((
                Row {
                    source_topic: topic,
                    target_topic,
                    partition,
                    source_offset: offset.offset,
                },
                previous,
            ));
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let wanted: Vec<(String, i32)> = rows
            .iter()
            .map(|(r, _)| (r.target_topic.clone(), r.partition))
            .collect();
        let target_committed = self
            .target_groups
            .fetch_offsets(group, Some(&wanted))
            .await
            .map_err(GroupSyncError::cluster(Step::FetchTargetOffsets))?;
        let mut commits: Vec<(Row, i64)> = Vec::new();
        // The exact translation of every source commit that has one: what "synced" compares.
        let mut translations: Vec<((String, i32), Option<i64>)> = Vec::new();
        let key_of = |row: &Row| (row.target_topic.clone(), row.partition);
        let mut on_target: HashMap<(String, i32), i64> = target_committed
            .iter()
            .map(|(k, v)| (k.clone(), v.offset))
            .collect();
        for (row, previous) in rows {
            let Some(translation) = lock(&self.maps).source_to_target(
                &row.source_topic,
                row.partition,
                row.source_offset,
            ) else {
                continue; // not replicated (yet): no map
            };
            // Not yet replicated: not synced (the copy is in flight). Before replication
            // start: no exact translation exists, ever; such a partition is left out.
            match translation {
                Translation::Exact(t) => translations.push((key_of(&row), Some(t))),
                Translation::NotYetReplicated { .. } => translations.push((key_of(&row), None)),
                Translation::BeforeReplicationStart { .. } => {}
            }
            let previous = previous.or_else(|| {
                self.own
                    .get(&LedgerKey {
                        group: group.to_string(),
                        topic: row.target_topic.clone(),
                        partition: row.partition,
                    })
                    .filter(|e| e.source == self.source_fp)
                    .map(|e| e.source_offset)
            });
            let target = on_target
                .get(&(row.target_topic.clone(), row.partition))
                .copied();
            match decide(translation, row.source_offset, previous, target) {
                Decision::Commit(offset) => commits.push((row, offset)),
                Decision::Skip(skip) => {
                    if let Skip::TargetAhead { .. } | Skip::BeforeReplicationStart { .. } = skip {
                        tracing::debug!(group, topic = %row.source_topic, partition = row.partition,
                            source_offset = row.source_offset, ?skip, "not committed");
                    }
                }
            }
        }
        let count = commits.len();
        let mut result = Ok(0);
        if !commits.is_empty() {
            let active = self
                .target_groups
                .has_active_members(group)
                .await
                .map_err(GroupSyncError::cluster(Step::DescribeTargetGroup))?;
            if active {
                tracing::debug!(
                    group,
                    "the group has active members on the target; not committing"
                );
            } else {
                result = self.commit(group, &commits).await.map(|()| count);
                if result.is_ok() {
                    for (row, offset) in &commits {
                        on_target.insert((row.target_topic.clone(), row.partition), *offset);
                    }
                }
            }
        }
        for ((topic, partition), offset) in &on_target {
            self.target_ends
                .report(&self.metrics, group, topic, *partition, *offset)
                .await;
        }
        let committed = result?;
        // Synced: nothing left to commit, the target is at the translation or past it (past
        // it when the group already consumes there: a moved group must not keep `status` NOT
        // READY). Movable: exactly at it, so the group resumes where it stopped on the source.
        let compare = |exact: bool| {
            !translations.is_empty()
                && translations.iter().all(|(key, translation)| {
                    match (translation, on_target.get(key)) {
                        (Some(t), Some(on)) => on == t || (!exact && on > t),
                        _ => false,
                    }
                })
        };
        let synced = compare(false);
        // Only an exactly synced group's source membership matters; it is not asked otherwise.
        let movable = compare(true)
            && !self
                .source_groups
                .has_active_members(group)
                .await
                .map_err(GroupSyncError::cluster(Step::DescribeSourceGroup))?;
        Ok(Some(GroupOutcome {
            committed,
            synced,
            movable,
            offsets: on_target
                .into_iter()
                .map(|((topic, partition), offset)| (topic, partition, offset))
                .collect(),
        }))
    }

    /// Writes the ledger entries, then commits on the target.
    async fn commit(&mut self, group: &str, commits: &[(Row, i64)]) -> Result<(), GroupSyncError> {
        let entries: Vec<(LedgerKey, LedgerEntry)> = commits
            .iter()
            .map(|(row, offset)| {
                (
                    LedgerKey {
                        group: group.to_string(),
                        topic: row.target_topic.clone(),
                        partition: row.partition,
                    },
                    LedgerEntry {
                        offset: *offset,
                        source_offset: row.source_offset,
                        source: self.source_fp,
                        replicator: self.config.name.clone(),
                    },
                )
            })
            .collect();
        let Some(producer) = self.producer.as_ref() else {
            return Err(GroupSyncError::NoLedgerProducer);
        };
        if let Err(e) = write_entries(producer, &entries).await {
            if let Some(producer) = self.producer.take() {
                producer.close().await;
            }
            return Err(e);
        }
        for (key, entry) in &entries {
            self.own.remember(key.clone(), entry.clone());
        }
        let offsets: Vec<OffsetToCommit> = commits
            .iter()
            .map(|(row, offset)| OffsetToCommit {
                topic: row.target_topic.clone(),
                partition: row.partition,
                offset: *offset,
                metadata: Some(self.marker.clone()),
            })
            .collect();
        let results = self
            .target_groups
            .commit_offsets(group, &offsets)
            .await
            .map_err(GroupSyncError::cluster(Step::CommitOnTarget))?;
        let failed: Vec<(String, i32, BrokerError)> = results
            .into_iter()
            .filter_map(|((t, p), r)| r.err().map(|e| (t, p, e)))
            .collect();
        if failed.is_empty() {
            for (row, offset) in commits {
                tracing::debug!(group, topic = %row.target_topic, partition = row.partition,
                    source_offset = row.source_offset, offset, "committed on the target");
            }
            Ok(())
        } else {
            Err(GroupSyncError::CommitRefused(failed))
        }
    }
}

/// Connects its own clients to both clusters (brokers such as Tansu answer one request per
/// connection at a time, so sharing the data path's connections would queue every group
/// request behind fetches waiting for records), then runs rounds every `interval` until
/// `stop`.
pub(crate) async fn run_group_sync(
    config: Arc<ReplicatorConfig>,
    source: ClientConfig,
    target: ClientConfig,
    maps: Arc<Mutex<OffsetMaps>>,
    metrics: Arc<ReplicatorMetrics>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sync = loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop_requested(&mut stop) => return,
        }
        let clients = futures::future::try_join(
            Client::connect(source.clone()),
            Client::connect(target.clone()),
        )
        .await;
        match clients {
            Ok((source, target)) => {
                break GroupSync::new(config, source, target, maps, metrics);
            }
            Err(e) => {
                tracing::warn!(error = %e, "consumer-group sync cannot connect; retrying");
                metrics.consumer_group_sync_failures.inc();
            }
        }
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let report = sync.run_once().await;
                tracing::debug!(?report, "consumer-group sync round");
            }
            _ = stop_requested(&mut stop) => break,
        }
    }
    if let Some(producer) = sync.producer.take() {
        producer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::RepeatedWarnings;

    #[test]
    fn a_lasting_problem_is_new_once_and_again_after_it_went_away() {
        let mut w = RepeatedWarnings::default();
        let mut rounds = Vec::new();
        for lines in [
            &["no ListGroups"][..],
            &["no ListGroups"],
            &["no ListGroups", "group g failed"],
            &[],
            &["no ListGroups"],
        ] {
            rounds.push(
                lines
                    .iter()
                    .map(|l| w.is_new(l.to_string()))
                    .collect::<Vec<_>>(),
            );
            w.end_round();
        }
        assert_eq!(
            rounds,
            [
                vec![true],
                vec![false],
                vec![false, true],
                vec![],
                vec![true]
            ]
        );
    }
}
