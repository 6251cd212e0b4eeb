//! What [`crate::status::Status`] is built from: the engine records each partition's
//! positions and state, and each group's sync result, here as it updates the matching
//! metrics (a Prometheus family cannot be listed by label set, so it cannot serve as the
//! source).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::cluster_client::Role;
use crate::status::{
    ConsumerLag, GroupOffset, GroupStatus, MissingApi, PartitionState, PartitionStatus,
    WorkerMember,
};

#[derive(Default)]
struct Board {
    /// (role, alias) of both clusters, once known.
    clusters: Vec<(Role, String)>,
    /// Topics with metrics series (for the per-topic counters), `""` included.
    topics: BTreeSet<String>,
    /// By source topic, then partition (looked up by `&str`: no allocation per update).
    partitions: BTreeMap<String, BTreeMap<i32, PartitionStatus>>,
    groups: BTreeMap<String, GroupStatus>,
    /// By (cluster, group, topic, partition), as `consumer_group_lag`'s series.
    consumer_lag: BTreeMap<(String, String, String, i32), i64>,
    /// (cluster, api) pairs, as `cluster_missing_api`'s series.
    missing_apis: BTreeSet<(String, String)>,
    source_topics: Option<u64>,
    unselected_source_topics: Vec<String>,
    /// The worker group's members; `None` outside a worker group.
    worker_members: Option<Vec<WorkerMember>>,
}

/// The engine's side of the status snapshot; shared through [`crate::metrics::ReplicatorMetrics`].
#[derive(Default)]
pub(crate) struct StatusBoard(Mutex<Board>);

impl std::fmt::Debug for StatusBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let board = self.lock();
        f.debug_struct("StatusBoard")
            .field("topics", &board.partitions.len())
            .field("groups", &board.groups.len())
            .finish()
    }
}

impl StatusBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        // A panic elsewhere leaves plain values behind; they are still the latest known.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_clusters(&self, source: &str, target: &str) {
        let mut board = self.lock();
        board.clusters = vec![
            (Role::Source, source.to_owned()),
            (Role::Target, target.to_owned()),
        ];
        board.topics.insert(String::new());
    }

    pub(crate) fn clusters(&self) -> Vec<(Role, String)> {
        self.lock().clusters.clone()
    }

    pub(crate) fn topics(&self) -> Vec<String> {
        self.lock().topics.iter().cloned().collect()
    }

    /// A replicated topic and its partitions (not started until a copier reports).
    pub(crate) fn add_topic(&self, topic: &str, partitions: i32) {
        let mut board = self.lock();
        board.topics.insert(topic.to_owned());
        let known = board.partitions.entry(topic.to_owned()).or_default();
        for p in 0..partitions {
            known.entry(p).or_insert_with(|| PartitionStatus {
                topic: topic.to_owned(),
                partition: p,
                state: PartitionState::NotStarted,
                source_offset: None,
                target_offset: None,
                source_end: None,
                lag: None,
                latency_ms: None,
            });
        }
    }

    /// Forgets the partitions of topics no longer replicated (their counters stay summed).
    pub(crate) fn keep_topics(&self, replicated: impl Fn(&str) -> bool) {
        self.lock().partitions.retain(|topic, _| replicated(topic));
    }

    fn with_partition(&self, topic: &str, partition: i32, f: impl FnOnce(&mut PartitionStatus)) {
        let mut board = self.lock();
        if let Some(p) = board
            .partitions
            .get_mut(topic)
            .and_then(|t| t.get_mut(&partition))
        {
            f(p);
        }
    }

    /// A copier (re)starts at these positions.
    pub(crate) fn started(&self, topic: &str, partition: i32, source: i64, target: i64) {
        self.with_partition(topic, partition, |p| {
            p.source_offset = Some(source);
            p.target_offset = Some(target);
        });
    }

    /// After a fetch: the source log end and the lag; `caught_up` clears the latency.
    pub(crate) fn fetched(&self, topic: &str, partition: i32, end: i64, lag: i64, caught_up: bool) {
        self.with_partition(topic, partition, |p| {
            p.source_end = Some(end);
            p.lag = Some(lag);
            if caught_up {
                p.latency_ms = None;
            }
        });
    }

    /// After an acknowledgement: the positions reached (and the latency, for copied records).
    pub(crate) fn acked(
        &self,
        topic: &str,
        partition: i32,
        source: i64,
        target: i64,
        latency_ms: Option<i64>,
    ) {
        self.with_partition(topic, partition, |p| {
            p.source_offset = Some(source);
            p.target_offset = Some(target);
            if latency_ms.is_some() {
                p.latency_ms = latency_ms;
            }
        });
    }

    /// The partition is no longer this replicator's to report (revoked in a worker group).
    pub(crate) fn released(&self, topic: &str, partition: i32) {
        self.with_partition(topic, partition, |p| {
            p.lag = None;
            p.latency_ms = None;
        });
    }

    /// Every partition's state: copying if running, halted as given, else not started.
    pub(crate) fn set_states<'a>(
        &self,
        running: impl Fn(&str, i32) -> bool,
        halted: impl IntoIterator<Item = (&'a str, i32, Option<i64>, &'a str)>,
    ) {
        let mut board = self.lock();
        let halted: BTreeMap<(&str, i32), (Option<i64>, &str)> = halted
            .into_iter()
            .map(|(t, p, offset, reason)| ((t, p), (offset, reason)))
            .collect();
        for (topic, partition, p) in board
            .partitions
            .iter_mut()
            .flat_map(|(t, ps)| ps.iter_mut().map(move |(n, p)| (t.as_str(), *n, p)))
        {
            p.state = match halted.get(&(topic, partition)) {
                Some((offset, reason)) => PartitionState::Halted {
                    offset: *offset,
                    reason: (*reason).to_owned(),
                },
                None if running(topic, partition) => PartitionState::Copying,
                None => PartitionState::NotStarted,
            };
        }
    }

    /// One group's sync result.
    pub(crate) fn set_group(
        &self,
        group: &str,
        synced: bool,
        movable: bool,
        offsets: Vec<(String, i32, i64)>,
    ) {
        let mut offsets: Vec<GroupOffset> = offsets
            .into_iter()
            .map(|(topic, partition, offset)| GroupOffset {
                topic,
                partition,
                offset,
            })
            .collect();
        offsets.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        self.lock().groups.insert(
            group.to_owned(),
            GroupStatus {
                group: group.to_owned(),
                synced,
                movable,
                offsets,
            },
        );
    }

    /// A group no longer synced here.
    pub(crate) fn remove_group(&self, group: &str) {
        self.lock().groups.remove(group);
    }

    /// A group's consumer lag on one partition of `cluster`.
    pub(crate) fn set_consumer_lag(
        &self,
        cluster: &str,
        group: &str,
        topic: &str,
        partition: i32,
        lag: i64,
    ) {
        self.lock().consumer_lag.insert(
            (
                cluster.to_owned(),
                group.to_owned(),
                topic.to_owned(),
                partition,
            ),
            lag,
        );
    }

    /// Whether `cluster` lacks `api` (its Kafka name).
    pub(crate) fn set_missing_api(&self, cluster: &str, api: &str, missing: bool) {
        let key = (cluster.to_owned(), api.to_owned());
        let mut board = self.lock();
        if missing {
            board.missing_apis.insert(key);
        } else {
            board.missing_apis.remove(&key);
        }
    }

    /// The source's topic count, and the topics named while none is selected.
    pub(crate) fn set_source_topics(&self, total: usize, unselected: Vec<String>) {
        let mut board = self.lock();
        board.source_topics = Some(total as u64);
        board.unselected_source_topics = unselected;
    }

    /// The worker group's members (member id, metrics address, partitions assigned).
    pub(crate) fn set_worker_members(
        &self,
        members: impl IntoIterator<Item = (String, Option<String>, u64)>,
    ) {
        let mut members: Vec<WorkerMember> = members
            .into_iter()
            .map(|(member, address, partitions)| WorkerMember {
                member,
                address,
                partitions,
            })
            .collect();
        members.sort_by(|a, b| (&a.address, &a.member).cmp(&(&b.address, &b.member)));
        self.lock().worker_members = Some(members);
    }

    pub(crate) fn consumer_lag(&self) -> Vec<ConsumerLag> {
        self.lock()
            .consumer_lag
            .iter()
            .map(|((cluster, group, topic, partition), lag)| ConsumerLag {
                cluster: cluster.clone(),
                group: group.clone(),
                topic: topic.clone(),
                partition: *partition,
                lag: *lag,
            })
            .collect()
    }

    pub(crate) fn missing_apis(&self) -> Vec<MissingApi> {
        self.lock()
            .missing_apis
            .iter()
            .map(|(cluster, api)| MissingApi {
                cluster: cluster.clone(),
                api: api.clone(),
            })
            .collect()
    }

    /// The source's topic count and the unselected topics named.
    pub(crate) fn source_topics(&self) -> (Option<u64>, Vec<String>) {
        let board = self.lock();
        (board.source_topics, board.unselected_source_topics.clone())
    }

    pub(crate) fn worker_members(&self) -> Option<Vec<WorkerMember>> {
        self.lock().worker_members.clone()
    }

    pub(crate) fn partitions(&self) -> Vec<PartitionStatus> {
        let board = self.lock();
        board
            .partitions
            .values()
            .flat_map(|ps| ps.values().cloned())
            .collect()
    }

    pub(crate) fn groups(&self) -> Vec<GroupStatus> {
        self.lock().groups.values().cloned().collect()
    }
}
