//! From a cluster's configuration to a connected wire client: secrets resolved, TLS set up,
//! SASL credentials re-read from their secret on every new connection (so a rotated password is
//! used without a restart), and the configured cluster id checked against the real one.

use std::sync::Arc;

use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::connection::{ConnectionError, Credentials};
use kreplicate_wire::sasl::{SaslCredentials, SaslMechanism};
use kreplicate_wire::transport::{TlsConfig, TlsConnector};

use crate::config::{ClusterAuth, ClusterConfig, ScramMechanism, SecretRef};
use crate::error::EngineError;

/// Which side of the replication a cluster is on (for messages and metric labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Target,
}

impl Role {
    pub fn as_str(self) -> &'static str {
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

/// Builds the wire client configuration for `cluster`.
pub fn client_config(
    cluster: &ClusterConfig,
    role: Role,
    client_id: &str,
) -> Result<ClientConfig, EngineError> {
    let mut config = ClientConfig::new(cluster.bootstrap.clone());
    config.connection.client_id = client_id.to_string();
    let secret_error = |field: &str| {
        let cluster = format!("{role} cluster {}: {field}", cluster.id);
        move |source| EngineError::Secret {
            cluster: cluster.clone(),
            source,
        }
    };
    if let Some(tls) = &cluster.tls {
        let mut tls_config = TlsConfig::default();
        if let Some(ca) = &tls.root_ca {
            let ca_pem = root_ca_pem(ca).map_err(|message| EngineError::InvalidSetting {
                cluster: format!("{role} cluster {}", cluster.id),
                field: ROOT_CA_FIELD,
                value: ca.to_string(),
                message,
            })?;
            tls_config.ca_pem = Some(ca_pem);
        }
        if let Some(ClusterAuth::MutualTls { secret }) = &cluster.auth {
            let error = secret_error(MTLS_SECRET_FIELD);
            let secret = secret.resolve().map_err(&error)?;
            tls_config.client_cert_pem = Some(secret.certificate().map_err(&error)?.to_string());
            tls_config.client_key_pem = Some(secret.private_key().map_err(&error)?.to_string());
        }
        config.connection.tls = Some(tls_config);
    }
    if let Some(ClusterAuth::SaslScram { mechanism, secret }) = &cluster.auth {
        // Resolve once now so a missing or malformed secret fails at start-up, not at the
        // first reconnect.
        scram_credentials(secret, *mechanism).map_err(secret_error(SCRAM_SECRET_FIELD))?;
        let secret = secret.clone();
        let mechanism = *mechanism;
        config.connection.sasl = Some(Credentials(Arc::new(move || {
            scram_credentials(&secret, mechanism).map_err(|e| e.to_string())
        })));
    }
    Ok(config)
}

/// The root CA's PEM, checked to hold usable CA certificates, so a wrong file is found by
/// `validate` and at start-up rather than at the first TLS handshake. The reference may hold
/// bare PEM or a secret JSON whose `certificate` is the PEM.
fn root_ca_pem(reference: &SecretRef) -> Result<String, String> {
    let secret = match reference.resolve() {
        Ok(secret) => secret,
        // Neither PEM (which `Secret::parse` takes whole) nor JSON: "not valid JSON" would
        // point at the wrong fix.
        Err(crate::config::SecretError::Json { .. }) => {
            return Err(
                "holds neither a PEM certificate (-----BEGIN CERTIFICATE-----) nor a \
                 secret JSON with a \"certificate\" key"
                    .to_string(),
            )
        }
        Err(e) => return Err(e.to_string()),
    };
    let pem = secret.certificate().map_err(|e| e.to_string())?.to_string();
    TlsConnector::new(&TlsConfig {
        ca_pem: Some(pem.clone()),
        ..TlsConfig::default()
    })
    .map_err(tls_config_message)?;
    Ok(pem)
}

/// The text of a TLS configuration error without its generic prefix.
fn tls_config_message(e: ConnectionError) -> String {
    match e {
        ConnectionError::TlsConfig(message) => message,
        other => other.to_string(),
    }
}

fn scram_credentials(
    secret: &SecretRef,
    mechanism: ScramMechanism,
) -> Result<SaslCredentials, crate::config::SecretError> {
    let secret = secret.resolve()?;
    Ok(SaslCredentials {
        mechanism: match mechanism {
            ScramMechanism::Sha256 => SaslMechanism::ScramSha256,
            ScramMechanism::Sha512 => SaslMechanism::ScramSha512,
        },
        username: secret.username()?.to_string(),
        password: secret.password()?.to_string(),
    })
}

/// Connects to `cluster` and checks that it is the cluster the configuration names.
pub async fn connect(
    cluster: &ClusterConfig,
    role: Role,
    client_id: &str,
) -> Result<Client, EngineError> {
    let config = client_config(cluster, role, client_id)?;
    let client = Client::connect(config)
        .await
        .map_err(|source| EngineError::cluster(role, cluster.id.clone(), source))?;
    match client.cluster_id() {
        Some(actual) if actual != cluster.id => Err(EngineError::ClusterIdMismatch {
            role,
            configured: cluster.id.clone(),
            actual,
            bootstrap: cluster.bootstrap.join(","),
        }),
        _ => Ok(client),
    }
}
