//! Errors of the connection layer: transport, TLS, SASL, framing, per-request timeouts.
//!
//! Every variant names the broker (`host:port`) so a log line alone says where it happened.

use std::sync::Arc;
use std::time::Duration;

use super::not_kafka::NotKafka;
use super::CredentialsError;

/// Why talking to one broker failed.
/// Cloneable (I/O sources are shared) so one failure can be reported to every request it
/// affected.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TCP connect failed (refused, unreachable, DNS).
    #[error("cannot connect to broker {broker}: {source}")]
    Connect {
        /// The broker (`host:port`).
        broker: String,
        /// The underlying I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The TLS configuration itself is unusable (bad PEM, no certificate in it, ...).
    #[error("invalid TLS configuration: {0}")]
    TlsConfig(String),
    /// The TLS handshake failed: unknown CA, wrong hostname, protocol mismatch.
    #[error("TLS handshake with broker {broker} failed: {message}")]
    Tls {
        /// The broker (`host:port`).
        broker: String,
        /// What rustls reported, with a hint at the likely cause.
        message: String,
    },
    /// The broker does not offer the SASL mechanism we are configured for.
    #[error("broker {broker} does not offer SASL mechanism {mechanism} (it offers: {offered})")]
    MechanismNotOffered {
        /// The broker (`host:port`).
        broker: String,
        /// The SASL mechanism.
        mechanism: String,
        /// What the broker offers.
        offered: String,
    },
    /// The broker answered our SaslHandshake with a refusal that is not about the mechanism:
    /// SASL is not enabled on this listener (Apache Kafka answers ILLEGAL_SASL_STATE; Tansu
    /// without `--authentication` answers UNSUPPORTED_SASL_MECHANISM listing the very mechanism
    /// we asked for).
    #[error("broker {broker} refused SASL {mechanism} ({reason}): SASL is not enabled on this port; is it a plaintext or TLS-only listener? Use the broker's SASL port or remove the SASL settings")]
    SaslNotEnabled {
        /// The broker (`host:port`).
        broker: String,
        /// The SASL mechanism.
        mechanism: String,
        /// Why, as far as it is known.
        reason: String,
    },
    /// What answered on the broker's port is not Kafka (a TLS listener, an HTTP server, ...).
    #[error("broker {broker} did not answer as a Kafka broker: {answer}")]
    NotKafka {
        /// The broker (`host:port`).
        broker: String,
        /// What answered instead.
        answer: NotKafka,
    },
    /// Credentials were rejected, or the server's proof did not verify.
    #[error("SASL {mechanism} authentication to broker {broker} failed: {message}")]
    Auth {
        /// The broker (`host:port`).
        broker: String,
        /// The SASL mechanism.
        mechanism: String,
        /// What went wrong, as the broker or library said it.
        message: String,
    },
    /// Credentials could not be obtained (e.g. an unreadable secret file).
    #[error("cannot load credentials for broker {broker}: {source}")]
    Credentials {
        /// The broker (`host:port`).
        broker: String,
        /// What the credentials provider reported.
        #[source]
        source: CredentialsError,
    },
    /// Reading or writing the socket failed after connecting.
    #[error("I/O error with broker {broker}: {source}")]
    Io {
        /// The broker (`host:port`).
        broker: String,
        /// The underlying I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The connection is closed (by the peer, or because an earlier error broke it).
    #[error("connection to broker {broker} is closed{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed {
        /// The broker (`host:port`).
        broker: String,
        /// Why, as far as it is known.
        reason: Option<String>,
    },
    /// No response arrived within the request timeout.
    #[error(
        "{api} request to broker {broker} timed out after {timeout:?}{}",
        timeout_hint(api)
    )]
    Timeout {
        /// The broker (`host:port`).
        broker: String,
        /// The API (request type) concerned, e.g. `Produce`.
        api: &'static str,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// A frame could not be parsed: bad length, undecodable header or body.
    #[error("malformed {api} response from broker {broker}: {message}")]
    Malformed {
        /// The broker (`host:port`).
        broker: String,
        /// The API (request type) concerned, e.g. `Produce`.
        api: &'static str,
        /// What went wrong, as the broker or library said it.
        message: String,
    },
    /// A request could not be encoded (a bug or an out-of-range field).
    #[error("cannot encode {api} request for broker {broker}: {message}")]
    Encode {
        /// The broker (`host:port`).
        broker: String,
        /// The API (request type) concerned, e.g. `Produce`.
        api: &'static str,
        /// What went wrong, as the broker or library said it.
        message: String,
    },
    /// The broker does not support any version of an API we need in common with us.
    #[error("broker {broker} does not support {api} in a version we speak (we speak v{our_min}..=v{our_max}, it offers {offered})")]
    UnsupportedVersion {
        /// The broker (`host:port`).
        broker: String,
        /// The API (request type) concerned, e.g. `Produce`.
        api: &'static str,
        /// Lowest version we speak.
        our_min: i16,
        /// Highest version we speak.
        our_max: i16,
        /// What the broker offers.
        offered: String,
    },
}

impl ConnectionError {
    test_util_pub! {
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
    }

    test_util_pub! {
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
