//! Errors of the connection layer: transport, TLS, SASL, framing, per-request timeouts.
//!
//! Every variant names the broker (`host:port`) so a log line alone says where it happened.

use std::sync::Arc;
use std::time::Duration;

use super::not_kafka::NotKafka;

/// Why talking to one broker failed.
/// Cloneable (I/O sources are shared) so one failure can be reported to every request it
/// affected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectionError {
    /// TCP connect failed (refused, unreachable, DNS).
    #[error("cannot connect to broker {broker}: {source}")]
    Connect {
        broker: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The TLS configuration itself is unusable (bad PEM, no certificate in it, ...).
    #[error("invalid TLS configuration: {0}")]
    TlsConfig(String),
    /// The TLS handshake failed: unknown CA, wrong hostname, protocol mismatch.
    #[error("TLS handshake with broker {broker} failed: {message}")]
    Tls { broker: String, message: String },
    /// The broker does not offer the SASL mechanism we are configured for.
    #[error("broker {broker} does not offer SASL mechanism {mechanism} (it offers: {offered})")]
    MechanismNotOffered {
        broker: String,
        mechanism: String,
        offered: String,
    },
    /// The broker answered our SaslHandshake with a refusal that is not about the mechanism:
    /// SASL is not enabled on this listener (Apache Kafka answers ILLEGAL_SASL_STATE; Tansu
    /// without `--authentication` answers UNSUPPORTED_SASL_MECHANISM listing the very mechanism
    /// we asked for).
    #[error("broker {broker} refused SASL {mechanism} ({reason}): SASL is not enabled on this port; is it a plaintext or TLS-only listener? Use the broker's SASL port or remove the SASL settings")]
    SaslNotEnabled {
        broker: String,
        mechanism: String,
        reason: String,
    },
    /// What answered on the broker's port is not Kafka (a TLS listener, an HTTP server, ...).
    #[error("broker {broker} did not answer as a Kafka broker: {answer}")]
    NotKafka { broker: String, answer: NotKafka },
    /// Credentials were rejected, or the server's proof did not verify.
    #[error("SASL {mechanism} authentication to broker {broker} failed: {message}")]
    Auth {
        broker: String,
        mechanism: String,
        message: String,
    },
    /// Credentials could not be obtained (e.g. an unreadable secret file).
    #[error("cannot load credentials for broker {broker}: {message}")]
    Credentials { broker: String, message: String },
    /// Reading or writing the socket failed after connecting.
    #[error("I/O error with broker {broker}: {source}")]
    Io {
        broker: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The connection is closed (by the peer, or because an earlier error broke it).
    #[error("connection to broker {broker} is closed{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed {
        broker: String,
        reason: Option<String>,
    },
    /// No response arrived within the request timeout.
    #[error(
        "{api} request to broker {broker} timed out after {timeout:?}{}",
        timeout_hint(api)
    )]
    Timeout {
        broker: String,
        api: &'static str,
        timeout: Duration,
    },
    /// A frame could not be parsed: bad length, undecodable header or body.
    #[error("malformed {api} response from broker {broker}: {message}")]
    Malformed {
        broker: String,
        api: &'static str,
        message: String,
    },
    /// A request could not be encoded (a bug or an out-of-range field).
    #[error("cannot encode {api} request for broker {broker}: {message}")]
    Encode {
        broker: String,
        api: &'static str,
        message: String,
    },
    /// The broker does not support any version of an API we need in common with us.
    #[error("broker {broker} does not support {api} in a version we speak (we speak v{our_min}..=v{our_max}, it offers {offered})")]
    UnsupportedVersion {
        broker: String,
        api: &'static str,
        our_min: i16,
        our_max: i16,
        offered: String,
    },
}

impl ConnectionError {
    /// True when retrying on a fresh connection may succeed. Auth, TLS and configuration
    /// failures are not retriable: retrying a wrong password or a wrong CA only hides it.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            ConnectionError::Connect { .. }
                | ConnectionError::Io { .. }
                | ConnectionError::Closed { .. }
                | ConnectionError::Timeout { .. }
        )
    }

    /// True for authentication failures (counted by the `AuthError` metric).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ConnectionError::Auth { .. }
                | ConnectionError::MechanismNotOffered { .. }
                | ConnectionError::SaslNotEnabled { .. }
        )
    }
}

/// A TLS handshake that never completes is most often a TLS client on a plaintext port: the
/// broker waits for the rest of a "frame" whose length is the ClientHello's first bytes.
fn timeout_hint(api: &str) -> &'static str {
    if api == "TLS handshake" {
        ": is this a plaintext port? Remove EncryptionInTransit or use the broker's TLS port"
    } else {
        ""
    }
}
