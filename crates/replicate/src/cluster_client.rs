//! From a cluster's configuration to a connected wire client: secrets resolved, TLS set up,
//! SASL credentials re-read from their secret on every new connection (so a rotated password is
//! used without a restart), and the configured cluster id checked against the real one.

use std::sync::Arc;

use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::connection::Credentials;
use kreplicate_wire::sasl::{SaslCredentials, SaslMechanism};
use kreplicate_wire::transport::TlsConfig;

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

/// Builds the wire client configuration for `cluster`.
pub fn client_config(
    cluster: &ClusterConfig,
    role: Role,
    client_id: &str,
) -> Result<ClientConfig, EngineError> {
    let mut config = ClientConfig::new(cluster.bootstrap.clone());
    config.connection.client_id = client_id.to_string();
    let secret_error = |source| EngineError::Secret {
        cluster: format!("{role} cluster {}", cluster.id),
        source,
    };
    if let Some(tls) = &cluster.tls {
        let mut tls_config = TlsConfig::default();
        if let Some(ca) = &tls.root_ca {
            let secret = ca.resolve().map_err(secret_error)?;
            tls_config.ca_pem = Some(secret.certificate().map_err(secret_error)?.to_string());
        }
        if let Some(ClusterAuth::MutualTls { secret }) = &cluster.auth {
            let secret = secret.resolve().map_err(secret_error)?;
            tls_config.client_cert_pem =
                Some(secret.certificate().map_err(secret_error)?.to_string());
            tls_config.client_key_pem =
                Some(secret.private_key().map_err(secret_error)?.to_string());
        }
        config.connection.tls = Some(tls_config);
    }
    if let Some(ClusterAuth::SaslScram { mechanism, secret }) = &cluster.auth {
        // Resolve once now so a missing or malformed secret fails at start-up, not at the
        // first reconnect.
        scram_credentials(secret, *mechanism).map_err(secret_error)?;
        let secret = secret.clone();
        let mechanism = *mechanism;
        config.connection.sasl = Some(Credentials(Arc::new(move || {
            scram_credentials(&secret, mechanism).map_err(|e| e.to_string())
        })));
    }
    Ok(config)
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
