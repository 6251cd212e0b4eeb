//! Parsing configuration JSON into the request types, with path-named
//! errors and the notices a user should see.

use serde::de::DeserializeOwned;

use super::cluster::KafkaCluster;
use super::error::ConfigError;
use super::listener_prefix::{missing_security, split_listener_prefix};
use super::naming::TopicNaming;
use super::notice::Notice;
use super::replication_info::{OffsetSyncMode, ReplicationInfo};
use super::request::{CreateReplicatorRequest, LogDelivery};

/// A parsed value and the notices about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed<T> {
    /// What was parsed.
    pub(crate) value: T,
    /// Warnings and notes to show the user, in document order.
    pub(crate) notices: Vec<Notice>,
}

/// Parses a whole CreateReplicator request (the `--cli-input-json` form).
/// Errors name the JSON path as written (camelCase input gives camelCase
/// paths) plus line and column.
pub(crate) fn parse_create_replicator_request(
    json: &str,
) -> Result<Parsed<CreateReplicatorRequest>, ConfigError> {
    let value: CreateReplicatorRequest = from_json(json)?;
    let notices = value.notices();
    Ok(Parsed { value, notices })
}

/// The `KafkaClusters` array of a request, read on its own by
/// [`parse_kafka_clusters`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KafkaClusters(pub(crate) Vec<KafkaCluster>);

/// The `ReplicationInfoList` array of a request, read on its own by
/// [`parse_replication_info_list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplicationInfoList(pub(crate) Vec<ReplicationInfo>);

/// Parses the `--kafka-clusters file://…` form: a JSON array of
/// `KafkaCluster`. Paths in errors and notices start at the array (`[1]…`).
pub(crate) fn parse_kafka_clusters(json: &str) -> Result<Parsed<KafkaClusters>, ConfigError> {
    let value: Vec<KafkaCluster> = from_json(json)?;
    let mut notices = Vec::new();
    for (i, cluster) in value.iter().enumerate() {
        cluster_notices(&format!("[{i}]"), cluster, &mut notices);
    }
    Ok(Parsed {
        value: KafkaClusters(value),
        notices,
    })
}

/// Parses the `--replication-info-list file://…` form: a JSON array of
/// `ReplicationInfo`. Paths in errors and notices start at the array.
pub(crate) fn parse_replication_info_list(
    json: &str,
) -> Result<Parsed<ReplicationInfoList>, ConfigError> {
    let value: Vec<ReplicationInfo> = from_json(json)?;
    let mut notices = Vec::new();
    for (i, info) in value.iter().enumerate() {
        replication_info_notices(&format!("[{i}]"), info, &mut notices);
    }
    Ok(Parsed {
        value: ReplicationInfoList(value),
        notices,
    })
}

/// Deserialises one JSON document, tracking the path for errors and
/// rejecting anything after it.
fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de).map_err(ConfigError::from_json)?;
    de.end()
        .map_err(|e| ConfigError::new("(document)", e.to_string()))?;
    Ok(value)
}

impl CreateReplicatorRequest {
    /// Parses a whole CreateReplicator request (the `--cli-input-json` form). Keys may be
    /// PascalCase (AWS CLI) or camelCase (the REST wire form); errors name the JSON path as
    /// written plus line and column, and unknown keys are errors. See
    /// [`notices`](Self::notices) for what is accepted but ignored.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        Ok(parse_create_replicator_request(json)?.value)
    }

    /// The request the separate-file form describes (`--replicator-name`, `--description`,
    /// `--service-execution-role-arn`, and the JSON arrays given to `--kafka-clusters` and
    /// `--replication-info-list`), without tags. An error's path starts at the request
    /// (`KafkaClusters[1].…`, `ReplicationInfoList` for a whole array), like
    /// [`validate`](Self::validate)'s.
    pub fn from_parts(
        replicator_name: String,
        description: Option<String>,
        service_execution_role_arn: Option<String>,
        kafka_clusters: &str,
        replication_info_list: &str,
    ) -> Result<Self, ConfigError> {
        fn in_request(member: &'static str) -> impl Fn(ConfigError) -> ConfigError {
            move |e| {
                let path = match e.path() {
                    "(document)" => member.to_owned(),
                    inner => format!("{member}{inner}"),
                };
                ConfigError::new(path, e.message())
            }
        }
        let kafka_clusters =
            parse_kafka_clusters(kafka_clusters).map_err(in_request("KafkaClusters"))?;
        let replication_info_list = parse_replication_info_list(replication_info_list)
            .map_err(in_request("ReplicationInfoList"))?;
        Ok(CreateReplicatorRequest {
            replicator_name,
            description,
            service_execution_role_arn,
            kafka_clusters: kafka_clusters.value.0,
            replication_info_list: replication_info_list.value.0,
            tags: None,
            log_delivery: None,
        })
    }

    /// Adds the separate-file form's `--log-delivery` document (a `LogDelivery` object),
    /// checked against AWS's shape; kreplicate logs to stderr and ignores it with a notice.
    pub fn with_log_delivery(mut self, json: &str) -> Result<Self, serde_json::Error> {
        self.log_delivery = Some(serde_json::from_str::<LogDelivery>(json)?);
        Ok(self)
    }

    /// Notices about this request: AWS-only members that are ignored, and
    /// spellings or settings worth a second look. The parse functions return
    /// these too; call this when the request was assembled some other way.
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices = Vec::new();
        if self.service_execution_role_arn.is_some() {
            notices.push(Notice::info(
                "ServiceExecutionRoleArn",
                "ignored: kreplicate does not assume this role; AWS calls and MSK IAM use the default AWS credential chain (see docs/aws.md)",
            ));
        }
        for (i, cluster) in self.kafka_clusters.iter().enumerate() {
            cluster_notices(&format!("KafkaClusters[{i}]"), cluster, &mut notices);
        }
        for (i, info) in self.replication_info_list.iter().enumerate() {
            replication_info_notices(&format!("ReplicationInfoList[{i}]"), info, &mut notices);
        }
        if self.tags.is_some() {
            notices.push(Notice::info(
                "Tags",
                "ignored: AWS resource tags have no meaning for kreplicate",
            ));
        }
        if self.log_delivery.is_some() {
            notices.push(Notice::info(
                "LogDelivery",
                "ignored: kreplicate logs to stderr and cannot deliver to CloudWatch Logs, Firehose or S3",
            ));
        }
        notices
    }
}

fn cluster_notices(path: &str, cluster: &KafkaCluster, out: &mut Vec<Notice>) {
    if let Some(apache) = &cluster.apache_kafka_cluster {
        let tls = cluster.encryption_in_transit.is_some();
        let authentication = cluster.client_authentication.as_ref();
        let sasl = authentication.is_some_and(|a| a.sasl_scram.is_some());
        for broker in apache.bootstrap_broker_string.split(',').map(str::trim) {
            let Some((name, rest)) = split_listener_prefix(broker) else {
                continue;
            };
            let path = format!("{path}.ApacheKafkaCluster.BootstrapBrokerString");
            let dropped = format!(
                "{broker:?}: the listener prefix {name}:// is dropped (connecting to {rest}); TLS and SASL come from EncryptionInTransit and ClientAuthentication"
            );
            out.push(match missing_security(name, tls, sasl) {
                Some(missing) => Notice::warning(path, format!("{dropped}; {missing}")),
                None => Notice::info(path, dropped),
            });
        }
    }
    if cluster.vpc_config.is_some() {
        out.push(Notice::info(
            format!("{path}.VpcConfig"),
            "ignored: kreplicate connects from the network of the machine it runs on",
        ));
    }
    let mtls = cluster
        .client_authentication
        .as_ref()
        .is_some_and(|a| a.mtls.is_some());
    // MSK always uses TLS to an Apache Kafka cluster; we only do when asked
    // (or when mTLS implies it), so plaintext clusters stay reachable. Say so,
    // because a file written for MSK relies on the opposite.
    if cluster.apache_kafka_cluster.is_some() && cluster.encryption_in_transit.is_none() && !mtls {
        out.push(Notice::info(
            path.to_owned(),
            "no EncryptionInTransit: kreplicate connects without TLS (MSK Replicator would use TLS); add \"EncryptionInTransit\": {\"EncryptionType\": \"TLS\"} to use TLS",
        ));
    }
}

fn replication_info_notices(path: &str, info: &ReplicationInfo, out: &mut Vec<Notice>) {
    let naming = &info.topic_replication.topic_name_configuration;
    if naming.spelled_prefixed {
        out.push(Notice::warning(
            format!("{path}.TopicReplication.TopicNameConfiguration.Type"),
            "\"PREFIXED\" is not an MSK value; read as \"PREFIXED_WITH_SOURCE_CLUSTER_ALIAS\" (write that, which AWS also accepts)",
        ));
    }
    let group_replication = &info.consumer_group_replication;
    if group_replication.consumer_group_offset_sync_mode == OffsetSyncMode::Enhanced
        && naming.r#type == TopicNaming::Identical
    {
        out.push(Notice::info(
            format!("{path}.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode"),
            "ENHANCED offset sync needs a second replicator running the other way (target to source), also with IDENTICAL topic names",
        ));
    }
}
