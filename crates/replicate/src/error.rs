//! Errors of the replication engine.

use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::ConnectionError;

use crate::cluster_client::Role;
use crate::config::SecretError;

/// Why the engine could not start or had to stop. Its message names the cluster, topic or
/// setting at fault and what to do; [`is_config_error`](Self::is_config_error) tells a
/// problem to fix in the configuration from one found only by trying.
#[derive(thiserror::Error)]
#[error(transparent)]
pub struct EngineError(Box<ErrorKind>);

// By hand: the cause itself, as before the cause was boxed.
impl std::fmt::Debug for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl EngineError {
    /// A cluster error.
    pub(crate) fn cluster(role: Role, cluster: impl Into<String>, source: ClientError) -> Self {
        ErrorKind::Cluster {
            role,
            cluster: cluster.into(),
            source: Box::new(source),
        }
        .into()
    }

    /// What went wrong, for the engine's own decisions.
    pub(crate) fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// True when the fix is in the configuration — a wrong cluster id, an unreadable secret,
    /// an unusable TLS or client setting, credentials that cannot be obtained, a missing MSK
    /// listener, an AWS credential or policy — and false when the problem is found only by
    /// trying (an unreachable broker, a rejected password, AWS throttling) and may pass.
    pub fn is_config_error(&self) -> bool {
        match self.kind() {
            #[cfg(feature = "aws")]
            ErrorKind::Secret {
                source: SecretError::Aws(aws),
                ..
            }
            | ErrorKind::Aws { source: aws, .. }
                if aws.is_transient() =>
            {
                false
            }
            #[cfg(feature = "aws")]
            ErrorKind::Aws { .. } => true,
            #[cfg(feature = "aws")]
            ErrorKind::MskListenerMissing { .. } | ErrorKind::InvalidArn { .. } => true,
            // MSK asked of a kreplicate built without the `aws` feature: the fix is a build
            // with it, or a configuration without MSK.
            #[cfg(not(feature = "aws"))]
            ErrorKind::AwsFeatureMissing { .. } => true,
            ErrorKind::Secret { .. }
            | ErrorKind::InvalidSetting { .. }
            | ErrorKind::ClusterIdMismatch { .. }
            | ErrorKind::Build(_) => true,
            ErrorKind::Cluster { source, .. } => matches!(
                **source,
                ClientError::Config(_)
                    | ClientError::Connection(ConnectionError::TlsConfig(_))
                    | ClientError::Connection(ConnectionError::Credentials { .. })
            ),
            _ => false,
        }
    }
}

impl From<ErrorKind> for EngineError {
    fn from(kind: ErrorKind) -> Self {
        EngineError(Box::new(kind))
    }
}

impl From<crate::replicator_builder::BuildError> for EngineError {
    fn from(e: crate::replicator_builder::BuildError) -> Self {
        ErrorKind::Build(e).into()
    }
}

impl From<crate::topics::TopicSyncError> for EngineError {
    fn from(e: crate::topics::TopicSyncError) -> Self {
        ErrorKind::Topics(e).into()
    }
}

/// The engine's errors, one variant per cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ErrorKind {
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
    #[cfg(feature = "aws")]
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
    Build(#[source] crate::replicator_builder::BuildError),
    /// The source's or the target's topics could not be listed.
    #[error("{0}")]
    Topics(#[source] crate::topics::TopicSyncError),
    /// A cluster's `MskClusterArn` is not an MSK cluster ARN.
    #[cfg(feature = "aws")]
    #[error("{role} cluster: {source}")]
    InvalidArn {
        /// Source or target.
        role: Role,
        #[source]
        /// What is wrong with the ARN.
        source: crate::config::ArnError,
    },
    /// MSK `MskClusterArn` or IAM authentication in a kreplicate built without the `aws` feature.
    #[cfg(not(feature = "aws"))]
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
#[cfg(not(feature = "aws"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsNeed {
    /// GetBootstrapBrokers, for a cluster given by `MskClusterArn`.
    BootstrapBrokers,
    /// MSK IAM authentication.
    MskIam,
}

#[cfg(not(feature = "aws"))]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings that cannot work are configuration errors (the CLI exits 2 for them), whichever
    /// path found them: the builder, an MSK ARN read only at connect time, a missing feature.
    #[test]
    fn settings_found_unusable_late_are_still_configuration_errors() {
        let build = EngineError::from(ErrorKind::Build(
            crate::replicator_builder::BuildError::MissingCluster("source"),
        ));
        assert!(build.is_config_error(), "{build}");
        #[cfg(feature = "aws")]
        {
            let source = crate::config::Arn::msk_cluster("arn:aws:kafka:us-east-1:1:topic/c/u/t")
                .unwrap_err();
            let arn = EngineError::from(ErrorKind::InvalidArn {
                role: Role::Source,
                source,
            });
            assert!(arn.is_config_error(), "{arn}");
        }
        #[cfg(not(feature = "aws"))]
        {
            let missing = EngineError::from(ErrorKind::AwsFeatureMissing {
                role: Role::Target,
                cluster: "arn:aws:kafka:us-east-1:1:cluster/c/u".into(),
                need: AwsNeed::BootstrapBrokers,
            });
            assert!(missing.is_config_error(), "{missing}");
        }
        let task = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async { tokio::spawn(async { panic!("boom") }).await })
            .unwrap_err();
        let failed = EngineError::from(ErrorKind::TaskFailed(task));
        assert!(!failed.is_config_error(), "{failed}");
    }
}
