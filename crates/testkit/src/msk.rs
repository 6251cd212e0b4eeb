//! CreateReplicator request JSON for tests, in the shape users pass to
//! `aws kafka create-replicator`: two Apache Kafka clusters named by their real cluster ids.

use crate::tansu::TansuBroker;

/// A replicator between two test brokers; `json()` renders the request.
#[derive(Debug, Clone)]
pub struct ReplicatorJson {
    pub name: String,
    pub source_id: String,
    pub source_bootstrap: String,
    pub target_id: String,
    pub target_bootstrap: String,
    /// Regexes, as JSON strings are written (no quoting needed).
    pub topics: Vec<String>,
    pub naming: String,
    pub starting_position: String,
    pub compression: String,
    /// Raw JSON of `ConsumerGroupReplication`.
    pub group_replication: String,
}

impl ReplicatorJson {
    /// IDENTICAL names, EARLIEST, no compression, no group sync.
    pub fn new(name: &str, source: &TansuBroker, target: &TansuBroker, topics: &[&str]) -> Self {
        ReplicatorJson {
            name: name.into(),
            source_id: source.cluster_id().into(),
            source_bootstrap: source.addr(),
            target_id: target.cluster_id().into(),
            target_bootstrap: target.addr(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            naming: "IDENTICAL".into(),
            starting_position: "EARLIEST".into(),
            compression: "NONE".into(),
            group_replication:
                r#"{"ConsumerGroupsToReplicate": [], "SynchroniseConsumerGroupOffsets": false}"#
                    .into(),
        }
    }

    pub fn naming(mut self, naming: &str) -> Self {
        self.naming = naming.into();
        self
    }

    pub fn starting_position(mut self, position: &str) -> Self {
        self.starting_position = position.into();
        self
    }

    pub fn compression(mut self, compression: &str) -> Self {
        self.compression = compression.into();
        self
    }

    pub fn json(&self) -> String {
        let topics: Vec<String> = self.topics.iter().map(|t| format!("{t:?}")).collect();
        format!(
            r#"{{
  "ReplicatorName": "{name}",
  "KafkaClusters": [
    {{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{sid}", "BootstrapBrokerString": "{saddr}"}}}},
    {{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{tid}", "BootstrapBrokerString": "{taddr}"}}}}
  ],
  "ReplicationInfoList": [{{
    "SourceKafkaClusterId": "{sid}",
    "TargetKafkaClusterId": "{tid}",
    "TargetCompressionType": "{compression}",
    "TopicReplication": {{
      "TopicsToReplicate": [{topics}],
      "CopyTopicConfigurations": true,
      "CopyAccessControlListsForTopics": false,
      "DetectAndCopyNewTopics": true,
      "StartingPosition": {{"Type": "{start}"}},
      "TopicNameConfiguration": {{"Type": "{naming}"}}
    }},
    "ConsumerGroupReplication": {groups}
  }}]
}}"#,
            name = self.name,
            sid = self.source_id,
            saddr = self.source_bootstrap,
            tid = self.target_id,
            taddr = self.target_bootstrap,
            compression = self.compression,
            topics = topics.join(", "),
            start = self.starting_position,
            naming = self.naming,
            groups = self.group_replication,
        )
    }
}
