//! One cluster as [`crate::ReplicatorBuilder`] takes it: where it is, how to authenticate,
//! whether to use TLS.

use kreplicate_wire::CredentialsProvider;

use crate::config::{
    AmazonMskCluster, ApacheKafkaCluster, ClientAuthentication, EncryptionInTransit,
    EncryptionType, KafkaCluster, Mtls, ProvidedCredentials, SaslScram, ScramMechanism,
};

/// A source or target cluster. Secret references (`file://PATH`, `PATH`, `env:VARIABLE`, a
/// Secrets Manager ARN) are checked when the builder validates and read when connecting.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) cluster: KafkaCluster,
    /// Replaces the authentication after validation (JSON cannot carry a provider).
    pub(crate) credentials: Option<ProvidedCredentials>,
}

impl Cluster {
    /// A cluster reached through `bootstrap` (`host:port[,host:port…]`); `cluster_id` is its
    /// Kafka `cluster.id`, checked on connecting and the alias of PREFIXED topic names.
    /// Plaintext and unauthenticated until told otherwise.
    pub fn new(cluster_id: impl Into<String>, bootstrap: impl Into<String>) -> Self {
        Self::from_kafka_cluster(KafkaCluster {
            apache_kafka_cluster: Some(ApacheKafkaCluster {
                apache_kafka_cluster_id: cluster_id.into(),
                bootstrap_broker_string: bootstrap.into(),
            }),
            ..KafkaCluster::default()
        })
    }

    /// An Amazon MSK cluster by ARN: brokers looked up with GetBootstrapBrokers, TLS, and MSK
    /// IAM authentication from the default AWS credential chain unless SCRAM or mTLS is set
    /// (needs the `aws` feature).
    pub fn msk(cluster_arn: impl Into<String>) -> Self {
        Self::from_kafka_cluster(KafkaCluster {
            amazon_msk_cluster: Some(AmazonMskCluster {
                msk_cluster_arn: cluster_arn.into(),
            }),
            ..KafkaCluster::default()
        })
    }

    fn from_kafka_cluster(cluster: KafkaCluster) -> Self {
        Self {
            cluster,
            credentials: None,
        }
    }

    /// SASL/SCRAM with `{"username","password"}` from the secret at `secret`.
    pub fn sasl_scram(mut self, mechanism: ScramMechanism, secret: impl Into<String>) -> Self {
        self.cluster.client_authentication = Some(ClientAuthentication {
            sasl_scram: Some(SaslScram {
                mechanism,
                secret_arn: secret.into(),
            }),
            mtls: None,
        });
        self
    }

    /// Mutual TLS with `{"certificate","privateKey"}` from the secret at `secret` (turns TLS
    /// on).
    pub fn mtls(mut self, secret: impl Into<String>) -> Self {
        self.cluster.client_authentication = Some(ClientAuthentication {
            sasl_scram: None,
            mtls: Some(Mtls {
                secret_arn: secret.into(),
            }),
        });
        self
    }

    /// SASL with credentials from `provider`, asked on every new connection (so it can hand
    /// out rotated passwords or fresh tokens). Replaces SCRAM, mTLS or MSK IAM; on an MSK
    /// cluster whose brokers are looked up, the SCRAM listener is used.
    pub fn credentials(mut self, provider: impl CredentialsProvider + 'static) -> Self {
        self.cluster.client_authentication = None;
        self.credentials = Some(ProvidedCredentials::new(provider));
        self
    }

    /// TLS, trusting the system roots.
    pub fn tls(mut self) -> Self {
        self.cluster.encryption_in_transit = Some(EncryptionInTransit {
            encryption_type: EncryptionType::Tls,
            root_ca_certificate: None,
        });
        self
    }

    /// TLS, trusting the CA chain at `root_ca` (a PEM file or a secret with `certificate`).
    pub fn tls_root_ca(mut self, root_ca: impl Into<String>) -> Self {
        self.cluster.encryption_in_transit = Some(EncryptionInTransit {
            encryption_type: EncryptionType::Tls,
            root_ca_certificate: Some(root_ca.into()),
        });
        self
    }

    /// How validation refers to it: `(ARN, id)`, one of them set.
    pub(crate) fn reference(&self) -> (Option<String>, Option<String>) {
        match (
            &self.cluster.amazon_msk_cluster,
            &self.cluster.apache_kafka_cluster,
        ) {
            (Some(msk), _) => (Some(msk.msk_cluster_arn.clone()), None),
            (None, Some(apache)) => (None, Some(apache.apache_kafka_cluster_id.clone())),
            (None, None) => (None, None),
        }
    }
}
