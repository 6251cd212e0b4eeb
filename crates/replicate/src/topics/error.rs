//! What went wrong with one piece of topic metadata on one cluster, and the list of such
//! problems one sync collects.

use std::fmt;

use crate::cluster_client::Role;

/// A failed metadata operation: which cluster (and on which side), which topic (its name on
/// that cluster), which operation, and why. `TopicSync::sync_once`
/// logs each one, counts it in `replication_failures` and carries on with the other topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicSyncError {
    /// Source or target.
    pub(crate) role: Role,
    /// The cluster's id (`ApacheKafkaClusterId`).
    pub(crate) cluster: String,
    /// The topic as named on that cluster; `None` when the operation concerns no single topic
    /// (e.g. listing all topics).
    pub(crate) topic: Option<String>,
    /// What was being done, with the Kafka API, e.g. "adding partitions (CreatePartitions)".
    pub(crate) operation: String,
    /// Why it failed, and what that means for replication.
    pub(crate) message: String,
}

impl fmt::Display for TopicSyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cluster {}", self.role, self.cluster)?;
        if let Some(topic) = &self.topic {
            write!(f, ", topic '{topic}'")?;
        }
        write!(f, ": {} failed: {}", self.operation, self.message)
    }
}

impl std::error::Error for TopicSyncError {}

/// The problems of one sync, each with the *source* topic it concerns (the metric label; empty
/// when none).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) list: Vec<(String, TopicSyncError)>,
}

impl Problems {
    /// Records `error` against source topic `source_topic` ("" for none).
    pub(crate) fn push(&mut self, source_topic: &str, error: TopicSyncError) {
        self.list.push((source_topic.to_string(), error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cluster_topic_and_operation() {
        let e = TopicSyncError {
            role: Role::Target,
            cluster: "clusterB".into(),
            topic: Some("src.orders".into()),
            operation: "adding partitions (CreatePartitions)".into(),
            message: "not supported".into(),
        };
        assert_eq!(
            e.to_string(),
            "target cluster clusterB, topic 'src.orders': adding partitions (CreatePartitions) \
             failed: not supported"
        );
        let e = TopicSyncError { topic: None, ..e };
        assert_eq!(
            e.to_string(),
            "target cluster clusterB: adding partitions (CreatePartitions) failed: not supported"
        );
    }
}
