//! A snapshot of cluster metadata: brokers, controller, topics, partitions and their leaders.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::MetadataResponse;

/// One partition as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Partition index.
    pub partition: i32,
    /// Node id of the leader; -1 while no leader is available.
    pub leader: i32,
    /// Leader epoch (-1 when the broker does not say).
    pub leader_epoch: i32,
    /// Broker ids holding a replica.
    pub replicas: Vec<i32>,
    /// Broker ids of the in-sync replicas.
    pub isr: Vec<i32>,
    /// Partition-level error code (e.g. LEADER_NOT_AVAILABLE), 0 when fine.
    pub error_code: i16,
}

/// One topic as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// Whether it is an internal topic (e.g. `__consumer_offsets`).
    pub is_internal: bool,
    /// Sorted by partition number.
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    test_util_pub! {
        /// The metadata of `partition`, if the topic has it.
        pub fn partition(&self, partition: i32) -> Option<&PartitionMetadata> {
            self.partitions
                .binary_search_by_key(&partition, |p| p.partition)
                .ok()
                .map(|i| &self.partitions[i])
        }
    }
}

/// The whole answer to one Metadata request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// The cluster id, if the broker reports one.
    pub cluster_id: Option<String>,
    /// Broker id of the controller, if known.
    pub controller: Option<i32>,
    /// node id → "host:port"
    pub brokers: BTreeMap<i32, String>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicMetadata>,
    /// Topics the broker answered with an error for (e.g. UNKNOWN_TOPIC_OR_PARTITION).
    pub topic_errors: HashMap<String, i16>,
}

impl ClusterMetadata {
    pub(crate) fn from_response(response: MetadataResponse) -> Self {
        let brokers = response
            .brokers
            .into_iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let mut topics = BTreeMap::new();
        let mut topic_errors = HashMap::new();
        for t in response.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                topic_errors.insert(name, t.error_code);
                continue;
            }
            let mut partitions: Vec<_> = t
                .partitions
                .into_iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.into_iter().map(|n| n.0).collect(),
                    isr: p.isr_nodes.into_iter().map(|n| n.0).collect(),
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            topics.insert(
                name.clone(),
                TopicMetadata {
                    name,
                    is_internal: t.is_internal,
                    partitions,
                },
            );
        }
        ClusterMetadata {
            cluster_id: response.cluster_id.map(|c| c.to_string()),
            controller: (response.controller_id.0 >= 0).then_some(response.controller_id.0),
            brokers,
            topics,
            topic_errors,
        }
    }
}
