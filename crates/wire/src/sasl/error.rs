//! Why a SASL exchange failed. Every message names the mechanism step and the field at fault, so a
//! log line alone tells a misconfigured password from a broken or hostile server.

/// A failed SASL exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The configured mechanism name is not one we implement.
    #[error("unknown SASL mechanism {0:?} (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)")]
    UnknownMechanism(String),
    /// The username, password or nonce cannot be used (empty, or holds a forbidden character).
    #[error("invalid SASL credentials: {0}")]
    InvalidCredentials(String),
    /// The server sent a message that does not follow the mechanism's grammar.
    #[error("malformed {message} from server: {reason}")]
    Malformed {
        /// Which server message (e.g. "SCRAM server-first message").
        message: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The server's nonce does not extend the nonce we sent: a replay or a confused server.
    #[error("SCRAM server nonce {server:?} does not start with our client nonce {client:?}")]
    NonceMismatch {
        /// The nonce we sent.
        client: String,
        /// The nonce the server answered with.
        server: String,
    },
    /// The iteration count is outside what we accept.
    #[error("SCRAM iteration count {count} is out of range (accepted: {min}..={max})")]
    IterationCount {
        /// The count the server asked for.
        count: u64,
        /// Lowest accepted.
        min: u32,
        /// Highest accepted.
        max: u32,
    },
    /// The server answered with an error (`e=` in SCRAM).
    #[error("server rejected authentication: {0}")]
    Server(String),
    /// The server's signature does not match: it does not know our password (an impostor, or a
    /// server whose credential was created with a different password).
    #[error("SCRAM server signature does not match: the server does not know the password (possible impostor)")]
    ServerSignatureMismatch,
    /// `step` was called when the exchange did not expect another server message.
    #[error("unexpected server message in state {state}")]
    UnexpectedMessage {
        /// The state the exchange was in.
        state: &'static str,
    },
}
