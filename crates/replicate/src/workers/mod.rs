//! Several `kreplicate run` instances sharing one replicator: a group on the target cluster
//! (Kafka Connect's way of using the group coordinator, with protocol type `kreplicate`)
//! assigns source partitions and the cluster-level tasks; see [`membership`] for the fencing
//! rules and [`assignment`] for the assignor.

pub(crate) mod assignment;
pub(crate) mod cluster_tasks;
pub(crate) mod fence;
pub(crate) mod membership;

/// The group's protocol type: only kreplicate workers join it.
pub(crate) const PROTOCOL_TYPE: &str = "kreplicate";

/// The worker group of the replicator named `replicator` (on the target cluster).
pub(crate) fn group_id(replicator: &str) -> String {
    format!("__kreplicate-workers-{replicator}")
}
