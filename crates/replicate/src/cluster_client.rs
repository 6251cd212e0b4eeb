//! From a cluster's configuration to a connected wire client: secrets resolved (files,
//! environment, Secrets Manager), an MSK cluster's brokers looked up, TLS set up, SASL
//! credentials re-read from their secret (or an MSK IAM token signed) on every new connection
//! (so a rotated password is used without a restart), and the configured cluster id checked
//! against the real one.

use std::sync::Arc;

use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::TlsConfig;
use kreplicate_wire::{AsyncCredentials, ConnectionError, CredentialsError, CredentialsProvider};
use kreplicate_wire::{SaslCredentials, SaslMechanism};

use crate::config::{ClusterAuth, ClusterConfig, ScramMechanism, SecretRef};
use crate::error::{EngineError, ErrorKind};

/// Which side of the replication a cluster is on (`"source"` or `"target"` in messages, metric
/// labels and status JSON). Public as `ClusterRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// The cluster records are copied from.
    Source,
    /// The cluster records are copied to.
    Target,
}

impl Role {
    /// `"source"` or `"target"`, as in messages and metric labels.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configuration members that name secrets, to say which one is at fault.
const ROOT_CA_FIELD: &str = "EncryptionInTransit.RootCaCertificate";
const SCRAM_SECRET_FIELD: &str = "ClientAuthentication.SaslScram.SecretArn";
const MTLS_SECRET_FIELD: &str = "ClientAuthentication.MTLS.SecretArn";

test_util_pub! {
    /// Builds the wire client configuration for `cluster`: secrets read (from Secrets Manager for
    /// ARNs), an MSK cluster's brokers looked up when not given, SASL credentials re-read or
    /// re-signed on every new connection.
    pub async fn client_config(
        cluster: &ClusterConfig,
        role: Role,
        client_id: &str,
    ) -> Result<ClientConfig, EngineError> {
        let mut config = ClientConfig::new(bootstrap(cluster, role).await?);
        config.connection.client_id = client_id.to_string();
        let secret_error = |field: &str| {
            let cluster = format!("{role} cluster {}: {field}", cluster.id);
            move |source| -> EngineError {
                ErrorKind::Secret {
                    cluster: cluster.clone(),
                    source,
                }
                .into()
            }
        };
        if let Some(tls) = &cluster.tls {
            let mut tls_config = TlsConfig::default();
            if let Some(ca) = &tls.root_ca {
                let ca_pem = root_ca_pem(ca).await.map_err(|problem| match problem {
                    RootCaProblem::Secret(source) => secret_error(ROOT_CA_FIELD)(source),
                    RootCaProblem::Invalid(message) => ErrorKind::InvalidSetting {
                        cluster: format!("{role} cluster {}", cluster.id),
                        field: ROOT_CA_FIELD,
                        value: ca.to_string(),
                        message,
                    }
                    .into(),
                })?;
                tls_config.ca_pem = Some(ca_pem);
            }
            if let Some(ClusterAuth::MutualTls { secret }) = &cluster.auth {
                let error = secret_error(MTLS_SECRET_FIELD);
                let secret = secret.load().await.map_err(&error)?;
                tls_config.client_cert_pem = Some(secret.certificate().map_err(&error)?.to_string());
                tls_config.client_key_pem = Some(secret.private_key().map_err(&error)?.to_string());
                tls_config.client_key_password =
                    secret.private_key_password().map(str::to_string);
            }
            config.connection.tls = Some(tls_config);
        }
        match &cluster.auth {
            Some(ClusterAuth::SaslScram { mechanism, secret }) => {
                // Resolve once now so a missing or malformed secret fails at start-up, not at the
                // first reconnect.
                scram_credentials(secret.clone(), *mechanism)
                    .await
                    .map_err(secret_error(SCRAM_SECRET_FIELD))?;
                let secret = secret.clone();
                let mechanism = *mechanism;
                config.connection.sasl = Some(Arc::new(AsyncCredentials(move || {
                    let secret = secret.clone();
                    async move {
                        scram_credentials(secret, mechanism)
                            .await
                            .map_err(CredentialsError::new)
                    }
                })));
            }
            Some(ClusterAuth::MskIam {
                region,
                token_lifetime,
            }) => {
                config.connection.sasl = Some(msk_iam_credentials(
                    cluster,
                    role,
                    region.clone(),
                    *token_lifetime,
                )?);
            }
            Some(ClusterAuth::Provided(provided)) => {
                config.connection.sasl = Some(provided.0.clone());
            }
            Some(ClusterAuth::MutualTls { .. }) | None => {}
        }
        Ok(config)
    }
}

/// The bootstrap list: as configured, or for an MSK cluster given only by ARN, the
/// GetBootstrapBrokers string for the listener that matches the authentication.
async fn bootstrap(cluster: &ClusterConfig, role: Role) -> Result<Vec<String>, EngineError> {
    match &cluster.msk_cluster_arn {
        Some(arn) if cluster.bootstrap.is_empty() => msk_bootstrap(cluster, role, arn).await,
        _ => Ok(cluster.bootstrap.clone()),
    }
}

#[cfg(feature = "aws")]
async fn msk_bootstrap(
    cluster: &ClusterConfig,
    role: Role,
    arn: &str,
) -> Result<Vec<String>, EngineError> {
    use crate::aws::bootstrap_brokers::{get_bootstrap_brokers, Listener};
    let listener = match (&cluster.auth, &cluster.tls) {
        (Some(ClusterAuth::MskIam { .. }), _) => Listener::SaslIam,
        (Some(ClusterAuth::SaslScram { .. } | ClusterAuth::Provided(_)), _) => Listener::SaslScram,
        (Some(ClusterAuth::MutualTls { .. }), _) | (None, Some(_)) => Listener::Tls,
        (None, None) => Listener::Plaintext,
    };
    let parsed = crate::config::Arn::msk_cluster(arn)
        .map_err(|source| EngineError::from(ErrorKind::InvalidArn { role, source }))?;
    let brokers = get_bootstrap_brokers(&parsed)
        .await
        .map_err(|source| EngineError::from(ErrorKind::Aws { role, source }))?;
    let chosen = brokers.choose(listener).ok_or_else(|| {
        EngineError::from(ErrorKind::MskListenerMissing {
            role,
            arn: arn.to_owned(),
            members: listener.members().join(" or "),
        })
    })?;
    Ok(chosen
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(not(feature = "aws"))]
async fn msk_bootstrap(
    _cluster: &ClusterConfig,
    role: Role,
    arn: &str,
) -> Result<Vec<String>, EngineError> {
    Err(ErrorKind::AwsFeatureMissing {
        role,
        cluster: arn.to_owned(),
        need: crate::error::AwsNeed::BootstrapBrokers,
    }
    .into())
}

/// A provider that signs a fresh MSK IAM token for every new connection.
#[cfg(feature = "aws")]
fn msk_iam_credentials(
    _cluster: &ClusterConfig,
    _role: Role,
    region: String,
    lifetime: std::time::Duration,
) -> Result<Arc<dyn CredentialsProvider>, EngineError> {
    Ok(Arc::new(AsyncCredentials(move || {
        let region = region.clone();
        async move {
            let token = crate::aws::msk_iam::token(&region, lifetime)
                .await
                .map_err(CredentialsError::new)?;
            Ok(SaslCredentials {
                mechanism: SaslMechanism::OAuthBearer,
                username: format!(
                    "{} by AWS access key {}",
                    crate::aws::msk_iam::ACTION,
                    token.access_key_id
                ),
                password: token.token,
            })
        }
    })))
}

#[cfg(not(feature = "aws"))]
fn msk_iam_credentials(
    cluster: &ClusterConfig,
    role: Role,
    _region: String,
    _lifetime: std::time::Duration,
) -> Result<Arc<dyn CredentialsProvider>, EngineError> {
    Err(ErrorKind::AwsFeatureMissing {
        role,
        cluster: cluster.id.clone(),
        need: crate::error::AwsNeed::MskIam,
    }
    .into())
}

/// Why a root CA cannot be used.
enum RootCaProblem {
    /// It could not be read (a missing file, an AWS error...).
    Secret(crate::config::SecretError),
    /// It was read but holds no usable CA certificate.
    Invalid(String),
}

/// The root CA's PEM, checked to hold usable CA certificates, so a wrong file is found by
/// `validate` and at start-up rather than at the first TLS handshake. The reference may hold
/// bare PEM or a secret JSON whose `certificate` is the PEM.
async fn root_ca_pem(reference: &SecretRef) -> Result<String, RootCaProblem> {
    let secret = match reference.load().await {
        Ok(secret) => secret,
        // Neither PEM (which `Secret::parse` takes whole) nor JSON: "not valid JSON" would
        // point at the wrong fix.
        Err(crate::config::SecretError::Json { .. }) => {
            return Err(RootCaProblem::Invalid(
                "holds neither a PEM certificate (-----BEGIN CERTIFICATE-----) nor a \
                 secret JSON with a \"certificate\" key"
                    .to_string(),
            ))
        }
        Err(e) => return Err(RootCaProblem::Secret(e)),
    };
    let pem = secret
        .certificate()
        .map_err(|e| RootCaProblem::Invalid(e.to_string()))?
        .to_string();
    TlsConfig {
        ca_pem: Some(pem.clone()),
        ..TlsConfig::default()
    }
    .check()
    .map_err(|e| RootCaProblem::Invalid(tls_config_message(e)))?;
    Ok(pem)
}

/// The text of a TLS configuration error without its generic prefix.
fn tls_config_message(e: ConnectionError) -> String {
    match e {
        ConnectionError::TlsConfig(message) => message,
        other => other.to_string(),
    }
}

async fn scram_credentials(
    secret: SecretRef,
    mechanism: ScramMechanism,
) -> Result<SaslCredentials, crate::config::SecretError> {
    let secret = secret.load().await?;
    Ok(SaslCredentials {
        mechanism: match mechanism {
            ScramMechanism::Sha256 => SaslMechanism::ScramSha256,
            ScramMechanism::Sha512 => SaslMechanism::ScramSha512,
        },
        username: secret.username()?.to_string(),
        password: secret.password()?.to_string(),
    })
}

test_util_pub! {
    /// Connects to `cluster` and checks that it is the cluster the configuration names.
    pub async fn connect(
        cluster: &ClusterConfig,
        role: Role,
        client_id: &str,
    ) -> Result<Client, EngineError> {
        connect_with_deadline(cluster, role, client_id, None).await
    }
}

/// [`connect`], with the client's retry deadline set to `deadline` (`None`: its default).
pub(crate) async fn connect_with_deadline(
    cluster: &ClusterConfig,
    role: Role,
    client_id: &str,
    deadline: Option<std::time::Duration>,
) -> Result<Client, EngineError> {
    let mut config = client_config(cluster, role, client_id).await?;
    if let Some(deadline) = deadline {
        config.retry.deadline = Some(deadline);
    }
    let bootstrap = config.bootstrap_servers.join(",");
    let client = Client::connect(config)
        .await
        .map_err(|source| EngineError::cluster(role, cluster.id.clone(), source))?;
    match client.cluster_id() {
        // An MSK cluster is named by ARN; its Kafka cluster id is not known in advance.
        Some(_) if cluster.msk_cluster_arn.is_some() => Ok(client),
        Some(actual) if actual != cluster.id => Err(ErrorKind::ClusterIdMismatch {
            role,
            configured: cluster.id.clone(),
            actual,
            bootstrap,
        }
        .into()),
        _ => Ok(client),
    }
}
