//! SASL mechanisms as sans-io state machines: they turn server messages into client messages and
//! never touch a socket. The connection layer carries the bytes in SaslAuthenticate requests.
//!
//! Contract used by `connection`:
//! ```ignore
//! let mut ex = SaslExchange::new(&credentials)?;      // PLAIN / SCRAM-SHA-256 / -512 / OAUTHBEARER
//! let mut out = ex.initial_response();                // first client message
//! loop {
//!     let server = send_sasl_authenticate(out)?;      // broker's auth_bytes
//!     match ex.step(&server)? { SaslStep::Send(b) => out = b, SaslStep::Done => break }
//! }
//! ```

mod error;
mod oauthbearer;
mod plain;
mod scram;

pub use error::SaslError;
pub use oauthbearer::OAuthBearerClient;
pub use plain::PlainClient;
pub use scram::{ScramClient, ScramHash, ScramSha256, ScramSha512};

use std::fmt;

/// The SASL mechanisms we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// RFC 7628 bearer token (the token travels in [`SaslCredentials::password`]); MSK IAM.
    OAuthBearer,
}

impl SaslMechanism {
    /// The IANA name sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = SaslError;
    fn from_str(s: &str) -> Result<Self, SaslError> {
        match s.to_ascii_uppercase().replace('_', "-").as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" | "SHA256" | "SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" | "SHA512" | "SHA-512" => Ok(SaslMechanism::ScramSha512),
            "OAUTHBEARER" => Ok(SaslMechanism::OAuthBearer),
            other => Err(SaslError::UnknownMechanism(other.to_string())),
        }
    }
}

/// One username/password pair for one mechanism. For OAUTHBEARER, `password` is the bearer
/// token and `username` only names the identity in messages (e.g. the AWS access key id).
#[derive(Clone, PartialEq, Eq)]
pub struct SaslCredentials {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// User name.
    pub username: String,
    /// Password (or, for OAUTHBEARER, the token).
    pub password: String,
}

impl fmt::Debug for SaslCredentials {
    // Never print the password, not even in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslCredentials")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What the client does next in an exchange.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslStep {
    /// Send these bytes to the server and call `step` with its answer.
    Send(Vec<u8>),
    /// Authentication finished and (for SCRAM) the server proved it knows the password.
    Done,
}

/// A running exchange for any supported mechanism.
pub(crate) enum SaslExchange {
    Plain(PlainClient),
    ScramSha256(ScramClient<ScramSha256>),
    ScramSha512(ScramClient<ScramSha512>),
    OAuthBearer(OAuthBearerClient),
}

impl fmt::Debug for SaslExchange {
    // The clients hold the password (or what is derived from it): name the mechanism only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mechanism = match self {
            SaslExchange::Plain(_) => SaslMechanism::Plain,
            SaslExchange::ScramSha256(_) => SaslMechanism::ScramSha256,
            SaslExchange::ScramSha512(_) => SaslMechanism::ScramSha512,
            SaslExchange::OAuthBearer(_) => SaslMechanism::OAuthBearer,
        };
        f.debug_tuple("SaslExchange").field(&mechanism).finish()
    }
}

impl SaslExchange {
    /// Starts an exchange with a fresh random nonce.
    pub(crate) fn new(credentials: &SaslCredentials) -> Result<Self, SaslError> {
        Ok(match credentials.mechanism {
            SaslMechanism::Plain => SaslExchange::Plain(PlainClient::new(
                &credentials.username,
                &credentials.password,
            )),
            SaslMechanism::ScramSha256 => SaslExchange::ScramSha256(ScramClient::new(
                &credentials.username,
                &credentials.password,
            )?),
            SaslMechanism::ScramSha512 => SaslExchange::ScramSha512(ScramClient::new(
                &credentials.username,
                &credentials.password,
            )?),
            SaslMechanism::OAuthBearer => {
                SaslExchange::OAuthBearer(OAuthBearerClient::new(&credentials.password)?)
            }
        })
    }

    /// The first message the client sends.
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        match self {
            SaslExchange::Plain(c) => c.initial_response(),
            SaslExchange::ScramSha256(c) => c.client_first(),
            SaslExchange::ScramSha512(c) => c.client_first(),
            SaslExchange::OAuthBearer(c) => c.initial_response(),
        }
    }

    /// Feeds the server's message; returns what to send next, or `Done`.
    pub(crate) fn step(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        match self {
            SaslExchange::Plain(c) => c.step(server),
            SaslExchange::ScramSha256(c) => c.step(server),
            SaslExchange::ScramSha512(c) => c.step(server),
            SaslExchange::OAuthBearer(c) => c.step(server),
        }
    }
}
