//! The engine-facing configuration: a validated request with cluster
//! references resolved, patterns compiled and defaults applied. It holds
//! plain values and enums, and at most an embedder's credentials provider
//! ([`ProvidedCredentials`]).

use super::cluster::ScramMechanism;
use super::naming::TopicNaming;
use super::provided_credentials::ProvidedCredentials;
use super::replication_info::{Compression, OffsetSyncMode, StartingPosition};
use super::secret::SecretRef;
use super::selection::{GroupSelection, TopicSelection};

/// Everything the replication engine needs to run one replicator.
/// Built by [`CreateReplicatorRequest::validate`](super::CreateReplicatorRequest::validate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatorConfig {
    /// `ReplicatorName`.
    pub name: String,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// The cluster records are read from.
    pub source: ClusterConfig,
    /// The cluster records are written to.
    pub target: ClusterConfig,
    /// Which source topics to copy.
    pub(crate) topics: TopicSelection,
    /// Which consumer groups to copy.
    pub(crate) groups: GroupSelection,
    /// Compression of batches written to the target.
    pub(crate) compression: Compression,
    /// Where to start on partitions without a checkpoint.
    pub(crate) starting_position: StartingPosition,
    /// How target topics are named.
    pub(crate) naming: TopicNaming,
    /// What to copy besides records.
    #[cfg(feature = "test-util")]
    pub flags: ReplicationFlags,
    /// What to copy besides records.
    #[cfg(not(feature = "test-util"))]
    pub(crate) flags: ReplicationFlags,
    /// How consumer-group offsets are synchronised.
    pub offset_sync_mode: OffsetSyncMode,
}

impl ReplicatorConfig {
    /// Name on the target of source topic `topic`, using the source alias.
    pub(crate) fn target_topic(&self, topic: &str) -> String {
        self.naming.target_topic(&self.source.alias, topic)
    }

    /// Gives the MSK cluster with this `MskClusterArn` (source, target or both) its bootstrap
    /// brokers, as GetBootstrapBrokers would. `false`: neither cluster is that MSK cluster.
    pub fn set_msk_bootstrap(&mut self, cluster_arn: &str, brokers: &[String]) -> bool {
        let mut matched = false;
        for cluster in [&mut self.source, &mut self.target] {
            if cluster.msk_cluster_arn.as_deref() == Some(cluster_arn) {
                cluster.bootstrap = brokers.to_vec();
                matched = true;
            }
        }
        matched
    }

    /// How long each MSK IAM token is valid, on every cluster that authenticates with MSK IAM
    /// (900 s unless set).
    pub fn set_msk_iam_token_lifetime(&mut self, lifetime: std::time::Duration) {
        for cluster in [&mut self.source, &mut self.target] {
            if let Some(ClusterAuth::MskIam { token_lifetime, .. }) = &mut cluster.auth {
                *token_lifetime = lifetime;
            }
        }
    }
}

test_util_pub! {
    /// The five MSK booleans (all default `true`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ReplicationFlags {
        /// `CopyTopicConfigurations`.
        pub copy_topic_configurations: bool,
        /// `CopyAccessControlListsForTopics`.
        pub copy_topic_acls: bool,
        /// `DetectAndCopyNewTopics`.
        pub detect_new_topics: bool,
        /// `SynchroniseConsumerGroupOffsets`.
        pub sync_group_offsets: bool,
        /// `DetectAndCopyNewConsumerGroups`.
        pub detect_new_groups: bool,
    }
}

/// How to reach and identify one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `ApacheKafkaClusterId`: the Kafka `cluster.id`.
    pub id: String,
    /// Prefix for PREFIXED target topic names; the cluster id unless the
    /// caller sets another.
    pub alias: String,
    /// Bootstrap `host:port` entries, split on commas and trimmed.
    pub bootstrap: Vec<String>,
    /// SASL or mTLS credentials; `None` connects unauthenticated.
    #[cfg(feature = "test-util")]
    pub auth: Option<ClusterAuth>,
    /// SASL or mTLS credentials; `None` connects unauthenticated.
    #[cfg(not(feature = "test-util"))]
    pub(crate) auth: Option<ClusterAuth>,
    /// TLS settings; `None` connects in plaintext.
    #[cfg(feature = "test-util")]
    pub tls: Option<TlsSettings>,
    /// TLS settings; `None` connects in plaintext.
    #[cfg(not(feature = "test-util"))]
    pub(crate) tls: Option<TlsSettings>,
    /// `AmazonMskCluster.MskClusterArn` for an MSK cluster: `bootstrap` is then empty until
    /// it is looked up with GetBootstrapBrokers or given by hand, and `id` is the ARN (the
    /// Kafka cluster id is not known in advance, so it is not checked).
    #[cfg(feature = "test-util")]
    pub msk_cluster_arn: Option<String>,
    /// `AmazonMskCluster.MskClusterArn` for an MSK cluster: `bootstrap` is then empty until
    /// it is looked up with GetBootstrapBrokers or given by hand, and `id` is the ARN (the
    /// Kafka cluster id is not known in advance, so it is not checked).
    #[cfg(not(feature = "test-util"))]
    pub(crate) msk_cluster_arn: Option<String>,
}

test_util_pub! {
    /// How the replicator authenticates to a cluster. Secrets stay references
    /// here; the caller resolves them when connecting.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ClusterAuth {
        /// SASL/SCRAM; the secret holds `username` and `password`.
        SaslScram {
            /// Hash function.
            mechanism: ScramMechanism,
            /// Where the credentials are.
            secret: SecretRef,
        },
        /// Mutual TLS; the secret holds `certificate` and `privateKey`.
        MutualTls {
            /// Where the client identity is.
            secret: SecretRef,
        },
        /// MSK IAM: SASL OAUTHBEARER with a SigV4-signed `kafka-cluster:Connect` token from the
        /// default AWS credential chain (an MSK cluster without ClientAuthentication).
        MskIam {
            /// The cluster's region (from its ARN), which the token is signed for.
            region: String,
            /// How long each token is valid (900 s, as the MSK signer libraries use).
            token_lifetime: std::time::Duration,
        },
        /// SASL with credentials from the embedder's provider, asked on every new connection
        /// (set with [`crate::Cluster::credentials`]; JSON cannot express it).
        Provided(ProvidedCredentials),
    }
}

test_util_pub! {
    /// TLS to a cluster.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TlsSettings {
        /// Where the CA chain is (its `certificate` key, or a bare PEM file);
        /// `None` trusts the system roots.
        pub root_ca: Option<SecretRef>,
    }
}
