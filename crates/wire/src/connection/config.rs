//! How to open a connection: client id, TLS, SASL, timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CredentialsProvider;
use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::transport::TlsConfig;

/// Settings shared by every connection of one client.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// Sent in every request header; brokers log and quota by it.
    pub client_id: String,
    /// TLS settings; `None` means plaintext. There is no fallback from TLS to plaintext.
    pub tls: Option<TlsConfig>,
    /// Where SASL credentials come from, asked on every new connection (a [`SaslCredentials`]
    /// value is a provider of itself); `None` means no SASL.
    ///
    /// [`SaslCredentials`]: crate::SaslCredentials
    pub sasl: Option<Arc<dyn CredentialsProvider>>,
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// From sending a request to its response (fetches add their own max wait on top).
    pub request_timeout: Duration,
    /// The largest response frame accepted.
    pub max_frame_bytes: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "kreplicate".into(),
            tls: None,
            sasl: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("client_id", &self.client_id)
            .field("tls", &self.tls)
            // A provider is code, and may hold a password: never shown.
            .field("sasl", &self.sasl.as_ref().map(|_| "<provider>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SaslCredentials, SaslMechanism};

    #[test]
    fn debug_shows_that_sasl_is_set_but_not_the_provider() {
        let config = ConnectionConfig {
            sasl: Some(Arc::new(SaslCredentials {
                mechanism: SaslMechanism::ScramSha512,
                username: "svc".into(),
                password: "hunter2".into(),
            })),
            ..ConnectionConfig::default()
        };
        assert_eq!(
            format!("{config:?}"),
            "ConnectionConfig { client_id: \"kreplicate\", tls: None, sasl: Some(\"<provider>\"), \
             connect_timeout: 10s, request_timeout: 30s, max_frame_bytes: 268435456 }"
        );
    }
}
