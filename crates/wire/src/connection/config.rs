//! How to open a connection: client id, TLS, SASL, timeouts.

use std::time::Duration;

use super::Credentials;
use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::transport::TlsConfig;

/// Settings shared by every connection of one client.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Sent in every request header; brokers log and quota by it.
    pub client_id: String,
    /// TLS settings; `None` means plaintext. There is no fallback from TLS to plaintext.
    pub tls: Option<TlsConfig>,
    /// SASL credentials; `None` means no SASL.
    pub sasl: Option<Credentials>,
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
