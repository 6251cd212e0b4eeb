//! `CreateReplicatorRequest`: the document given to
//! `aws kafka create-replicator --cli-input-json`, and to kreplicate.
//!
//! Casing follows `cluster.rs`: PascalCase names with a camelCase alias per
//! field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cluster::KafkaCluster;
use super::replication_info::ReplicationInfo;

/// A CreateReplicator request as AWS defines it. Parsing checks shapes;
/// [`validate`](Self::validate) checks meaning and yields the engine's
/// [`ReplicatorConfig`](super::ReplicatorConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateReplicatorRequest {
    /// Name: `^[0-9A-Za-z][0-9A-Za-z-]{0,}$`, 1..=128 characters.
    #[serde(alias = "replicatorName")]
    pub(crate) replicator_name: String,
    /// Free text, at most 1024 characters.
    #[serde(alias = "description", skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// Required by AWS, meaningless here; accepted with a notice.
    #[serde(
        alias = "serviceExecutionRoleArn",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) service_execution_role_arn: Option<String>,
    /// Exactly two clusters.
    #[serde(alias = "kafkaClusters")]
    pub(crate) kafka_clusters: Vec<KafkaCluster>,
    /// Exactly one element.
    #[serde(alias = "replicationInfoList")]
    pub(crate) replication_info_list: Vec<ReplicationInfo>,
    /// AWS resource tags; accepted with a notice.
    #[serde(alias = "tags", skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<BTreeMap<String, String>>,
    /// AWS log forwarding; accepted with a notice.
    #[serde(alias = "logDelivery", skip_serializing_if = "Option::is_none")]
    pub(crate) log_delivery: Option<LogDelivery>,
}

/// `LogDelivery { ReplicatorLogDelivery }`. Modelled in full so a typo in a
/// file written for MSK is still reported, even though kreplicate logs to
/// stderr and ignores these destinations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct LogDelivery {
    /// The destinations.
    #[serde(
        alias = "replicatorLogDelivery",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) replicator_log_delivery: Option<ReplicatorLogDelivery>,
}

/// `ReplicatorLogDelivery { CloudWatchLogs, Firehose, S3 }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ReplicatorLogDelivery {
    /// CloudWatch Logs destination.
    #[serde(alias = "cloudWatchLogs", skip_serializing_if = "Option::is_none")]
    pub(crate) cloud_watch_logs: Option<CloudWatchLogs>,
    /// Kinesis Data Firehose destination.
    #[serde(alias = "firehose", skip_serializing_if = "Option::is_none")]
    pub(crate) firehose: Option<Firehose>,
    /// S3 destination.
    #[serde(alias = "s3", skip_serializing_if = "Option::is_none")]
    pub(crate) s3: Option<S3>,
}

/// `CloudWatchLogs { Enabled, LogGroup }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct CloudWatchLogs {
    /// Whether this destination is on.
    #[serde(alias = "enabled")]
    pub(crate) enabled: bool,
    /// Log group name.
    #[serde(alias = "logGroup", skip_serializing_if = "Option::is_none")]
    pub(crate) log_group: Option<String>,
}

/// `Firehose { Enabled, DeliveryStream }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Firehose {
    /// Whether this destination is on.
    #[serde(alias = "enabled")]
    pub(crate) enabled: bool,
    /// Delivery stream name.
    #[serde(alias = "deliveryStream", skip_serializing_if = "Option::is_none")]
    pub(crate) delivery_stream: Option<String>,
}

/// `S3 { Enabled, Bucket, Prefix }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct S3 {
    /// Whether this destination is on.
    #[serde(alias = "enabled")]
    pub(crate) enabled: bool,
    /// Bucket name.
    #[serde(alias = "bucket", skip_serializing_if = "Option::is_none")]
    pub(crate) bucket: Option<String>,
    /// Key prefix.
    #[serde(alias = "prefix", skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
}
