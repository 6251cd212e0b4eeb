//! Errors of the replication engine.

use kreplicate_wire::client::Error as ClientError;

use crate::cluster_client::Role;
use crate::config::SecretError;

impl EngineError {
    /// A cluster error, boxing the client error.
    pub fn cluster(role: Role, cluster: impl Into<String>, source: ClientError) -> Self {
        EngineError::Cluster {
            role,
            cluster: cluster.into(),
            source: Box::new(source),
        }
    }
}

/// Why the engine could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A secret (credentials, CA) could not be loaded.
    #[error("{cluster}: {source}")]
    Secret {
        /// The cluster's `ApacheKafkaClusterId`.
        cluster: String,
        #[source]
        /// Why the secret could not be loaded.
        source: SecretError,
    },
    /// A configuration member's value is unusable (e.g. a RootCaCertificate that holds no
    /// certificate); `field` is its JSON path inside the cluster.
    #[error("{cluster}: {field} {value}: {message}")]
    InvalidSetting {
        /// The cluster's `ApacheKafkaClusterId`.
        cluster: String,
        /// The member's JSON path inside the cluster.
        field: &'static str,
        /// The value given.
        value: String,
        /// Why it is unusable.
        message: String,
    },
    /// Talking to a cluster failed in a way retries did not fix.
    #[error("{role} cluster {cluster}: {source}")]
    Cluster {
        /// Source or target.
        role: Role,
        /// The cluster's `ApacheKafkaClusterId`.
        cluster: String,
        /// Boxed: client errors are large and this enum travels through every `Result`.
        #[source]
        source: Box<ClientError>,
    },
    /// The brokers at the configured address belong to another cluster.
    #[error("{role} cluster: the configuration says ApacheKafkaClusterId '{configured}', but the brokers at {bootstrap} report cluster id '{actual}'")]
    ClusterIdMismatch {
        /// Source or target.
        role: Role,
        /// The `ApacheKafkaClusterId` configured.
        configured: String,
        /// The id the brokers report.
        actual: String,
        /// The brokers asked.
        bootstrap: String,
    },
    /// A partition cannot continue (e.g. a corrupt batch, a record the target refuses).
    #[error("{topic}-{partition} halted at source offset {offset}: {message}")]
    PartitionHalted {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The source offset it stopped at.
        offset: i64,
        /// Why, and what to do.
        message: String,
    },
    /// An AWS call (GetBootstrapBrokers) failed.
    #[cfg(feature = "aws")]
    #[error("{role} cluster: {source}")]
    Aws {
        /// Source or target.
        role: Role,
        #[source]
        /// The AWS failure.
        source: crate::aws::AwsError,
    },
    /// GetBootstrapBrokers has no broker string for the listener the authentication needs.
    #[error("{role} cluster {arn}: GetBootstrapBrokers returned no {members}; enable that authentication on the cluster, change ClientAuthentication, or give the brokers with --msk-bootstrap {arn}=HOST:PORT[,HOST:PORT]")]
    MskListenerMissing {
        /// Source or target.
        role: Role,
        /// The `MskClusterArn`.
        arn: String,
        /// The GetBootstrapBrokers members that would have served.
        members: String,
    },
    /// [`crate::ReplicatorBuilder`] settings that cannot be used.
    #[error("{0}")]
    Build(#[from] crate::replicator_builder::BuildError),
    /// The source's or the target's topics could not be listed.
    #[error("{0}")]
    Topics(#[from] crate::topics::TopicSyncError),
    /// A cluster's `MskClusterArn` is not an MSK cluster ARN.
    #[error("{role} cluster: {source}")]
    InvalidArn {
        /// Source or target.
        role: Role,
        #[source]
        /// What is wrong with the ARN.
        source: crate::config::ArnError,
    },
    /// MSK `MskClusterArn` or IAM authentication in a kreplicate built without the `aws` feature.
    #[error("{role} cluster {cluster}: {}", need.explain(cluster))]
    AwsFeatureMissing {
        /// Source or target.
        role: Role,
        /// The ARN (for GetBootstrapBrokers) or the cluster id (for MSK IAM).
        cluster: String,
        /// What needed the `aws` feature.
        need: AwsNeed,
    },
    /// The replicator's task panicked or was cancelled.
    #[error("replicator task failed: {0}")]
    TaskFailed(#[source] tokio::task::JoinError),
}

/// What a kreplicate built without the `aws` feature was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AwsNeed {
    /// GetBootstrapBrokers, for a cluster given by `MskClusterArn`.
    BootstrapBrokers,
    /// MSK IAM authentication.
    MskIam,
}

impl AwsNeed {
    fn explain(self, cluster: &str) -> String {
        match self {
            AwsNeed::BootstrapBrokers => format!(
                "this kreplicate was built without the `aws` feature, so it cannot call GetBootstrapBrokers; give the brokers with --msk-bootstrap {cluster}=HOST:PORT[,HOST:PORT]"
            ),
            AwsNeed::MskIam => {
                "MSK IAM authentication needs kreplicate built with the `aws` feature".to_owned()
            }
        }
    }
}
