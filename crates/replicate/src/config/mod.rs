//! The replicator's configuration: the JSON documents that
//! `aws kafka create-replicator` takes, read with the same field names,
//! and the validated view the engine runs from.
//!
//! - [`CreateReplicatorRequest::parse`] reads a whole request
//!   (`--cli-input-json`); [`CreateReplicatorRequest::from_parts`] the
//!   separate-file form (`--kafka-clusters`, `--replication-info-list`). Keys
//!   may be PascalCase (AWS CLI) or camelCase (the REST wire form); unknown
//!   keys are errors naming their JSON path.
//!   [`CreateReplicatorRequest::notices`] lists AWS-only members that are
//!   ignored and non-standard spellings.
//! - [`CreateReplicatorRequest::validate`] applies MSK's rules and yields a
//!   [`ReplicatorConfig`].
//! - [`SecretRef`]: Secrets Manager ARNs, files or environment variables.

mod arn;
mod cluster;
mod error;
mod listener_prefix;
mod naming;
mod notice;
mod parse;
mod provided_credentials;
mod replication_info;
mod replicator_config;
mod request;
mod secret;
mod selection;
mod validate;

#[cfg(test)]
mod tests;

#[cfg(feature = "aws")]
pub(crate) use arn::{Arn, ArnError};
pub use cluster::ScramMechanism;
pub(crate) use cluster::{
    AmazonMskCluster, ApacheKafkaCluster, ClientAuthentication, EncryptionInTransit,
    EncryptionType, KafkaCluster, Mtls, SaslScram,
};
pub use error::ConfigError;
pub use naming::TopicNaming;
pub use notice::{Notice, Severity};
#[cfg(test)]
pub(crate) use parse::{
    parse_create_replicator_request, parse_kafka_clusters, parse_replication_info_list,
};
#[cfg(feature = "test-util")]
pub use provided_credentials::ProvidedCredentials;
#[cfg(not(feature = "test-util"))]
pub(crate) use provided_credentials::ProvidedCredentials;
pub use replication_info::{Compression, OffsetSyncMode, StartingPosition};
pub(crate) use replication_info::{
    ConsumerGroupReplication, ReplicationInfo, ReplicationStartingPosition, TopicNameConfiguration,
    TopicReplication,
};
#[cfg(not(feature = "test-util"))]
pub(crate) use replicator_config::ClusterAuth;
#[cfg(feature = "test-util")]
pub use replicator_config::{ClusterAuth, ReplicationFlags, TlsSettings};
pub use replicator_config::{ClusterConfig, ReplicatorConfig};
pub use request::CreateReplicatorRequest;
#[cfg(test)]
pub(crate) use secret::Secret;
pub(crate) use secret::SecretError;
#[cfg(feature = "test-util")]
pub use secret::SecretRef;
#[cfg(not(feature = "test-util"))]
pub(crate) use secret::SecretRef;
#[cfg(test)]
pub(crate) use selection::TopicSelection;
