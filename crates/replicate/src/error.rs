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
pub enum EngineError {
    /// A secret (credentials, CA) could not be loaded.
    #[error("{cluster}: {source}")]
    Secret {
        cluster: String,
        #[source]
        source: SecretError,
    },
    /// A configuration member's value is unusable (e.g. a RootCaCertificate that holds no
    /// certificate); `field` is its JSON path inside the cluster.
    #[error("{cluster}: {field} {value}: {message}")]
    InvalidSetting {
        cluster: String,
        field: &'static str,
        value: String,
        message: String,
    },
    /// Talking to a cluster failed in a way retries did not fix.
    #[error("{role} cluster {cluster}: {source}")]
    Cluster {
        role: Role,
        cluster: String,
        /// Boxed: client errors are large and this enum travels through every `Result`.
        #[source]
        source: Box<ClientError>,
    },
    /// The brokers at the configured address belong to another cluster.
    #[error("{role} cluster: the configuration says ApacheKafkaClusterId '{configured}', but the brokers at {bootstrap} report cluster id '{actual}'")]
    ClusterIdMismatch {
        role: Role,
        configured: String,
        actual: String,
        bootstrap: String,
    },
    /// A partition cannot continue (e.g. a corrupt batch, a record the target refuses).
    #[error("{topic}-{partition} halted at source offset {offset}: {message}")]
    PartitionHalted {
        topic: String,
        partition: i32,
        offset: i64,
        message: String,
    },
    /// An AWS call (GetBootstrapBrokers) failed.
    #[cfg(feature = "aws")]
    #[error("{role} cluster: {source}")]
    Aws {
        role: Role,
        #[source]
        source: crate::aws::AwsError,
    },
    /// GetBootstrapBrokers has no broker string for the listener the authentication needs.
    #[error("{role} cluster {arn}: GetBootstrapBrokers returned no {members}; enable that authentication on the cluster, change ClientAuthentication, or give the brokers with --msk-bootstrap {arn}=HOST:PORT[,HOST:PORT]")]
    MskListenerMissing {
        role: Role,
        arn: String,
        members: String,
    },
    /// [`crate::ReplicatorBuilder`] settings that cannot be used.
    #[error("{0}")]
    Build(#[from] crate::replicator_builder::BuildError),
    /// Anything else, with its explanation.
    #[error("{0}")]
    Other(String),
}
