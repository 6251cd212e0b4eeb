//! `ReplicationInfo`: what to copy from the source cluster to the target.
//!
//! Casing follows `cluster.rs`: PascalCase names with a camelCase alias per
//! field. Defaults for absent members follow the MSK reference
//! (`/work/shared/msk-replicator-reference.md` §1.1, "ReplicationInfo"):
//! starting position LATEST, PREFIXED topic names, offset sync LEGACY, empty
//! exclude lists, and the five copy/detect/sync booleans `true` — the model
//! states no default for those, but the service documents that it copies all
//! metadata by default and terraform's `replicator.go` defaults all five to
//! `true`, so we do the same.

use serde::{Deserialize, Serialize};

use super::naming::TopicNaming;

/// One element of `ReplicationInfoList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ReplicationInfo {
    /// Source by `MskClusterArn` (exclusive with the Id).
    #[serde(
        alias = "sourceKafkaClusterArn",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) source_kafka_cluster_arn: Option<String>,
    /// Source by `ApacheKafkaClusterId` (exclusive with the Arn).
    #[serde(
        alias = "sourceKafkaClusterId",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) source_kafka_cluster_id: Option<String>,
    /// Target by `MskClusterArn` (exclusive with the Id).
    #[serde(
        alias = "targetKafkaClusterArn",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) target_kafka_cluster_arn: Option<String>,
    /// Target by `ApacheKafkaClusterId` (exclusive with the Arn).
    #[serde(
        alias = "targetKafkaClusterId",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) target_kafka_cluster_id: Option<String>,
    /// Compression of record batches written to the target. Required, as in
    /// the MSK model.
    #[serde(alias = "targetCompressionType")]
    pub(crate) target_compression_type: Compression,
    /// Which topics to copy, and how.
    #[serde(alias = "topicReplication")]
    pub(crate) topic_replication: TopicReplication,
    /// Which consumer groups to copy, and how.
    #[serde(alias = "consumerGroupReplication")]
    pub(crate) consumer_group_replication: ConsumerGroupReplication,
}

/// `TopicReplication`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct TopicReplication {
    /// Regexes (whole-name match) of topics to copy. Required.
    #[serde(alias = "topicsToReplicate")]
    pub(crate) topics_to_replicate: Vec<String>,
    /// Regexes of topics never to copy; wins over `TopicsToReplicate`.
    #[serde(alias = "topicsToExclude", default)]
    pub(crate) topics_to_exclude: Vec<String>,
    /// Copy topic-level configs to the target (default true).
    #[serde(alias = "copyTopicConfigurations", default = "default_true")]
    pub(crate) copy_topic_configurations: bool,
    /// Copy LITERAL topic ACLs to the target (default true).
    #[serde(alias = "copyAccessControlListsForTopics", default = "default_true")]
    pub(crate) copy_access_control_lists_for_topics: bool,
    /// Pick up topics created after start (default true).
    #[serde(alias = "detectAndCopyNewTopics", default = "default_true")]
    pub(crate) detect_and_copy_new_topics: bool,
    /// Where to start on partitions without a checkpoint (default LATEST).
    #[serde(alias = "startingPosition", default)]
    pub(crate) starting_position: ReplicationStartingPosition,
    /// Target topic naming (default PREFIXED_WITH_SOURCE_CLUSTER_ALIAS).
    #[serde(alias = "topicNameConfiguration", default)]
    pub(crate) topic_name_configuration: TopicNameConfiguration,
}

/// `ConsumerGroupReplication`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ConsumerGroupReplication {
    /// Regexes (whole-name match) of groups to copy. Required; may be empty,
    /// which turns group replication off.
    #[serde(alias = "consumerGroupsToReplicate")]
    pub(crate) consumer_groups_to_replicate: Vec<String>,
    /// Regexes of groups never to copy; wins over the include list.
    #[serde(alias = "consumerGroupsToExclude", default)]
    pub(crate) consumer_groups_to_exclude: Vec<String>,
    /// Translate and commit group offsets on the target (default true).
    #[serde(alias = "synchroniseConsumerGroupOffsets", default = "default_true")]
    pub(crate) synchronise_consumer_group_offsets: bool,
    /// Pick up groups created after start (default true).
    #[serde(alias = "detectAndCopyNewConsumerGroups", default = "default_true")]
    pub(crate) detect_and_copy_new_consumer_groups: bool,
    /// Offset sync algorithm (default LEGACY).
    #[serde(alias = "consumerGroupOffsetSyncMode", default)]
    pub(crate) consumer_group_offset_sync_mode: OffsetSyncMode,
}

fn default_true() -> bool {
    true
}

/// `StartingPosition { Type }`; `{}` means LATEST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ReplicationStartingPosition {
    /// LATEST or EARLIEST.
    #[serde(rename = "Type", alias = "type", default)]
    pub(crate) r#type: StartingPosition,
}

/// `TopicNameConfiguration { Type }`; `{}` means PREFIXED.
///
/// Deserialises through a private raw form so that the
/// non-model spelling `PREFIXED` (used in an AWS CLI example) is accepted
/// and remembered, letting the parser warn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", from = "RawTopicNameConfiguration")]
pub(crate) struct TopicNameConfiguration {
    /// The naming scheme.
    #[serde(rename = "Type")]
    pub(crate) r#type: TopicNaming,
    /// The input said `PREFIXED` rather than
    /// `PREFIXED_WITH_SOURCE_CLUSTER_ALIAS`.
    #[serde(skip)]
    pub(crate) spelled_prefixed: bool,
}

/// What the JSON may hold for `TopicNameConfiguration`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RawTopicNameConfiguration {
    #[serde(rename = "Type", alias = "type", default)]
    r#type: RawTopicNaming,
}

#[derive(Default, Deserialize)]
enum RawTopicNaming {
    #[default]
    #[serde(rename = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS")]
    PrefixedWithSourceClusterAlias,
    #[serde(rename = "IDENTICAL")]
    Identical,
    #[serde(rename = "PREFIXED")]
    Prefixed,
}

impl From<RawTopicNameConfiguration> for TopicNameConfiguration {
    fn from(raw: RawTopicNameConfiguration) -> Self {
        let (r#type, spelled_prefixed) = match raw.r#type {
            RawTopicNaming::PrefixedWithSourceClusterAlias => {
                (TopicNaming::PrefixedWithSourceClusterAlias, false)
            }
            RawTopicNaming::Identical => (TopicNaming::Identical, false),
            RawTopicNaming::Prefixed => (TopicNaming::PrefixedWithSourceClusterAlias, true),
        };
        Self {
            r#type,
            spelled_prefixed,
        }
    }
}

/// `TargetCompressionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compression {
    /// Uncompressed batches.
    #[serde(rename = "NONE")]
    None,
    /// gzip.
    #[serde(rename = "GZIP")]
    Gzip,
    /// Snappy.
    #[serde(rename = "SNAPPY")]
    Snappy,
    /// LZ4.
    #[serde(rename = "LZ4")]
    Lz4,
    /// Zstandard.
    #[serde(rename = "ZSTD")]
    Zstd,
}

/// `StartingPosition.Type`: where replication starts on a partition that
/// has no checkpoint yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StartingPosition {
    /// Only records produced from now on (the MSK default).
    #[default]
    #[serde(rename = "LATEST")]
    Latest,
    /// Everything still retained on the source.
    #[serde(rename = "EARLIEST")]
    Earliest,
}

/// `ConsumerGroupOffsetSyncMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OffsetSyncMode {
    /// Offsets flow one way, source to target (the MSK default).
    #[default]
    #[serde(rename = "LEGACY")]
    Legacy,
    /// Bidirectional sync with a reverse replicator; needs IDENTICAL names.
    #[serde(rename = "ENHANCED")]
    Enhanced,
}
