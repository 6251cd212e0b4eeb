//! `kreplicate plan`: what one round of [`TopicSync`](super::TopicSync) would do to the target
//! now, found by reading only. The same selection, creation, config and ACL rules as the sync
//! (it calls the same pieces); the only request that could change anything, CreateTopics, is
//! sent with `validate_only` and only to a target that honours it.

use std::collections::BTreeMap;

use kreplicate_wire::admin::{AclBinding, AlterOp};

use super::error::TopicSyncError;

/// A target topic `run` would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicToCreate {
    pub source: String,
    pub target: String,
    pub partitions: i32,
    /// Replication factor sent (-1: the target's default).
    pub replication_factor: i16,
    /// Copied configs it would be created with.
    pub configs: BTreeMap<String, String>,
    /// What CreateTopics with `validate_only` answered: `None` when not asked (the target
    /// does not honour it), `Some(Ok)` accepted, `Some(Err(why))` refused.
    pub validated: Option<Result<(), String>>,
}

/// A target topic with fewer partitions than its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionGrowth {
    pub source: String,
    pub target: String,
    pub from: i32,
    pub to: i32,
    /// Whether the target offers CreatePartitions; without it only `from` partitions are
    /// copied.
    pub possible: bool,
}

/// Config changes `run` would make on an existing target topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub source: String,
    pub target: String,
    pub ops: Vec<AlterOp>,
}

/// What one round of the topic sync would do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicPlan {
    /// Selected source topics with their target names and the source's partition count.
    pub selected: Vec<(String, String, i32)>,
    /// Target topics that exist and need nothing.
    pub in_step: Vec<String>,
    pub create: Vec<TopicToCreate>,
    pub grow: Vec<PartitionGrowth>,
    pub alter: Vec<ConfigChange>,
    /// ACLs to create on the target.
    pub acls: Vec<AclBinding>,
    /// What `run` could not do or the plan could not read (as the sync would report it).
    pub problems: Vec<TopicSyncError>,
    /// What cannot be known before `run` does it.
    pub unknown: Vec<String>,
}

impl TopicPlan {
    /// True when nothing is known to fail: no problem, no refused creation, no growth the
    /// target cannot do.
    pub fn feasible(&self) -> bool {
        self.problems.is_empty()
            && self.grow.iter().all(|g| g.possible)
            && self
                .create
                .iter()
                .all(|c| !matches!(c.validated, Some(Err(_))))
    }
}
