//! `KafkaCluster`: one entry of `KafkaClusters` in a CreateReplicator request.
//!
//! Key casing: every struct serialises with the PascalCase member names that
//! `aws kafka create-replicator --cli-input-json` uses, and each field also
//! carries a serde `alias` for the camelCase wire (`locationName`) spelling,
//! which AWS's own self-managed examples pass to the CLI. Aliases are written
//! out per field rather than generated, so each accepted key can be read
//! next to the field it fills; `tests/casing.rs` checks that every key
//! has its camelCase twin.

use serde::{Deserialize, Serialize};

/// One Kafka cluster taking part in replication: exactly one of
/// [`amazon_msk_cluster`](Self::amazon_msk_cluster) and
/// [`apache_kafka_cluster`](Self::apache_kafka_cluster) must be set
/// (checked by validation, not by parsing, so the error can name the path).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct KafkaCluster {
    /// An MSK cluster, known only by ARN (kreplicate cannot look up its
    /// brokers; validation explains how to describe it instead).
    #[serde(alias = "amazonMskCluster", skip_serializing_if = "Option::is_none")]
    pub(crate) amazon_msk_cluster: Option<AmazonMskCluster>,
    /// A cluster reached through its bootstrap brokers.
    #[serde(alias = "apacheKafkaCluster", skip_serializing_if = "Option::is_none")]
    pub(crate) apache_kafka_cluster: Option<ApacheKafkaCluster>,
    /// AWS networking; accepted and ignored (a notice says so).
    #[serde(alias = "vpcConfig", skip_serializing_if = "Option::is_none")]
    pub(crate) vpc_config: Option<VpcConfig>,
    /// How the replicator authenticates to this cluster.
    #[serde(
        alias = "clientAuthentication",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) client_authentication: Option<ClientAuthentication>,
    /// TLS settings for connections to this cluster.
    #[serde(alias = "encryptionInTransit", skip_serializing_if = "Option::is_none")]
    pub(crate) encryption_in_transit: Option<EncryptionInTransit>,
}

/// `AmazonMskCluster { MskClusterArn }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct AmazonMskCluster {
    /// ARN of the MSK cluster.
    #[serde(alias = "mskClusterArn")]
    pub(crate) msk_cluster_arn: String,
}

/// `ApacheKafkaCluster { ApacheKafkaClusterId, BootstrapBrokerString }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ApacheKafkaCluster {
    /// The cluster's Kafka `cluster.id`; `ReplicationInfo` refers to the
    /// cluster by it, and it is the default alias for PREFIXED topic names.
    #[serde(alias = "apacheKafkaClusterId")]
    pub(crate) apache_kafka_cluster_id: String,
    /// Comma-separated `host:port` list.
    #[serde(alias = "bootstrapBrokerString")]
    pub(crate) bootstrap_broker_string: String,
}

/// `VpcConfig { SubnetIds, SecurityGroupIds }` — AWS-only, kept so files
/// written for MSK parse unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct VpcConfig {
    /// Subnets the replicator would run in.
    #[serde(alias = "subnetIds")]
    pub(crate) subnet_ids: Vec<String>,
    /// Security groups for the replicator's network interfaces.
    #[serde(
        alias = "securityGroupIds",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) security_group_ids: Vec<String>,
}

/// `ClientAuthentication { SaslScram | MTLS }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ClientAuthentication {
    /// SASL/SCRAM with credentials from a secret.
    #[serde(alias = "saslScram", skip_serializing_if = "Option::is_none")]
    pub(crate) sasl_scram: Option<SaslScram>,
    /// Mutual TLS with a client certificate from a secret. The CLI member
    /// name is `MTLS`, the wire name `mTLS`.
    #[serde(
        rename = "MTLS",
        alias = "mTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) mtls: Option<Mtls>,
}

/// `SaslScram { Mechanism, SecretArn }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct SaslScram {
    /// SCRAM hash function.
    #[serde(alias = "mechanism")]
    pub(crate) mechanism: ScramMechanism,
    /// Where the `{"username","password"}` secret lives; a
    /// [`SecretRef`](super::SecretRef) string.
    #[serde(alias = "secretArn")]
    pub(crate) secret_arn: String,
}

/// `MTLS { SecretArn }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Mtls {
    /// Where the `{"certificate","privateKey"}` secret lives; a
    /// [`SecretRef`](super::SecretRef) string.
    #[serde(alias = "secretArn")]
    pub(crate) secret_arn: String,
}

/// SCRAM mechanism, as the MSK enum spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// SCRAM-SHA-512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl ScramMechanism {
    /// The SASL mechanism name sent to the broker.
    pub(crate) fn sasl_name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }
}

/// `EncryptionInTransit { EncryptionType, RootCaCertificate }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct EncryptionInTransit {
    /// Only `TLS` exists.
    #[serde(alias = "encryptionType")]
    pub(crate) encryption_type: EncryptionType,
    /// Where the CA chain lives (a secret with a `certificate` key, or a PEM
    /// file); a [`SecretRef`](super::SecretRef) string. Absent: system roots.
    #[serde(alias = "rootCaCertificate", skip_serializing_if = "Option::is_none")]
    pub(crate) root_ca_certificate: Option<String>,
}

/// `EncryptionType` enum; MSK defines only TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum EncryptionType {
    /// TLS to the brokers.
    #[serde(rename = "TLS")]
    Tls,
}
