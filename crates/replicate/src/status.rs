//! A typed snapshot of a running replicator ([`crate::Replicator::status`]): what each
//! partition and consumer group is doing, read from the engine's own state rather than from
//! the Prometheus exposition. The CLI serves it as JSON on `/status`.

use serde::{Deserialize, Serialize};

use crate::cluster_client::Role;

/// Everything a caller needs to judge a replicator at one moment. Members missing from a
/// JSON document read as empty or zero, so a reader accepts a writer's older or newer form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Status {
    /// Both clusters, source first.
    pub clusters: Vec<ClusterStatus>,
    /// Every source partition of a replicated topic, by topic and partition.
    pub partitions: Vec<PartitionStatus>,
    /// Every consumer group whose offsets this replicator syncs, by name.
    pub groups: Vec<GroupStatus>,
    /// Topics being replicated.
    pub topics: u64,
    /// Records written to the target since start.
    pub records_copied: u64,
    /// Bytes written to the target since start.
    pub bytes_copied: u64,
    /// Data-path failures since start (MSK `ReplicationFailures`).
    pub replication_failures: u64,
    /// Consumer-group offset sync failures since start.
    pub offset_sync_failures: u64,
    /// Consumer groups being synchronised (MSK `ConsumerGroupCount`).
    pub consumer_groups: u64,
    /// Each synced group's consumer lag per cluster and partition (MSK `OffsetLag`).
    pub consumer_lag: Vec<ConsumerLag>,
    /// Kafka APIs the configuration uses that a cluster does not offer: what needs them
    /// does not run.
    pub missing_apis: Vec<MissingApi>,
    /// Topics the source lists (internal ones left out), selected or not; `None` before the
    /// first topic refresh.
    pub source_topics: Option<u64>,
    /// While the selection matches no source topic: the source's topics by name (the first
    /// 20); empty otherwise.
    pub unselected_source_topics: Vec<String>,
    /// In a worker group (`run --worker-group`): this worker's share and the group's members;
    /// `None` outside one or before the first generation.
    pub worker: Option<WorkerStatus>,
}

impl Status {
    test_util_pub! {
        /// The partition `partition` of source topic `topic`, if it is replicated.
        pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionStatus> {
            self.partitions
                .iter()
                .find(|p| p.topic == topic && p.partition == partition)
        }
    }

    /// Every partition copies and has no lag (and there is at least one partition).
    pub fn is_caught_up(&self) -> bool {
        !self.partitions.is_empty()
            && self
                .partitions
                .iter()
                .all(|p| p.state == PartitionState::Copying && p.lag == Some(0))
    }

    /// Summed lag of the partitions that report one (records).
    pub fn total_lag(&self) -> i64 {
        self.partitions.iter().filter_map(|p| p.lag).sum()
    }

    /// Summed consumer lag of every synced group on both clusters (MSK `SumOffsetLag`).
    pub fn total_consumer_lag(&self) -> i64 {
        self.consumer_lag.iter().map(|l| l.lag).sum()
    }
}

/// A synced group's consumer lag on one partition of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsumerLag {
    /// The cluster's alias.
    pub cluster: String,
    /// Group id.
    pub group: String,
    /// Topic on that cluster.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The partition's log end minus the group's committed offset (records).
    pub lag: i64,
}

/// A Kafka API a cluster does not offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MissingApi {
    /// The cluster's alias.
    pub cluster: String,
    /// The API's Kafka name, e.g. `ListGroups`.
    pub api: String,
}

/// One worker of a worker group, as its status reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WorkerStatus {
    /// Source partitions assigned to this worker with its session valid.
    pub owned_partitions: u64,
    /// Every member of the group as the leader assigned them in the last generation, by
    /// metrics address then member id.
    pub members: Vec<WorkerMember>,
}

/// A member of a worker group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkerMember {
    /// Its member id in the group.
    pub member: String,
    /// Its advertised metrics address (`host:port`); `None` when it serves none.
    pub address: Option<String>,
    /// Source partitions the leader assigned it.
    pub partitions: u64,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterStatus {
    /// Source or target.
    pub role: Role,
    /// Its alias (the `cluster` label of the metrics).
    pub alias: String,
    /// It answered the last probe.
    pub reachable: bool,
}

/// One source partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartitionStatus {
    /// Source topic.
    pub topic: String,
    /// Partition number (the same on the target).
    pub partition: i32,
    /// What it is doing.
    pub state: PartitionState,
    /// Next source offset not yet acknowledged by the target: every record before it is
    /// copied. `None` before its copier first started.
    pub source_offset: Option<i64>,
    /// Next target offset after the last copy acknowledged.
    pub target_offset: Option<i64>,
    /// The source log end at the last fetch.
    pub source_end: Option<i64>,
    /// Source log end minus the replicator's position at the last fetch (MSK `MessageLag`).
    pub lag: Option<i64>,
    /// Milliseconds from the last copied record's source timestamp to its acknowledgement;
    /// `None` when nothing is pending (caught up) or nothing was copied yet.
    pub latency_ms: Option<i64>,
}

/// What a partition is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
#[non_exhaustive]
pub enum PartitionState {
    /// Known but not copied by this replicator (not started yet, or owned by another worker
    /// of its group).
    NotStarted,
    /// A copier runs.
    Copying,
    /// Stopped: a write the target refuses (retried with backoff), a copier panic, or an
    /// error that needs an operator (e.g. a corrupt batch).
    Halted {
        /// The source offset it halted at; `None` when not known (its copier panicked).
        offset: Option<i64>,
        /// Why.
        reason: String,
    },
}

/// One consumer group this replicator syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupStatus {
    /// Group id.
    pub group: String,
    /// Its committed target offsets are the translation of its source commits, or past it.
    pub synced: bool,
    /// Exactly the translation, and no active members on the source: it can move now.
    pub movable: bool,
    /// Its committed offsets on the target after the last sync round.
    pub offsets: Vec<GroupOffset>,
}

/// A group's committed offset on one target partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupOffset {
    /// Target topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset on the target.
    pub offset: i64,
}
