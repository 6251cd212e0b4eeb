//! SASL PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd`, with an empty authzid
//! (Kafka authorizes as the authenticated user). The password crosses the wire as is, so PLAIN is
//! only safe over TLS.

use std::fmt;

use super::{SaslError, SaslStep};

/// The client side of SASL PLAIN.
pub struct PlainClient {
    username: String,
    password: String,
    sent: bool,
    done: bool,
}

impl fmt::Debug for PlainClient {
    // Never print the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainClient")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("sent", &self.sent)
            .field("done", &self.done)
            .finish()
    }
}

impl PlainClient {
    /// A PLAIN exchange for `username` / `password`.
    pub fn new(username: &str, password: &str) -> Self {
        PlainClient {
            username: username.to_string(),
            password: password.to_string(),
            sent: false,
            done: false,
        }
    }

    /// The only client message: `\0username\0password`.
    pub fn initial_response(&mut self) -> Vec<u8> {
        self.sent = true;
        let mut out = Vec::with_capacity(2 + self.username.len() + self.password.len());
        out.push(0);
        out.extend_from_slice(self.username.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.as_bytes());
        out
    }

    /// Takes the server's reply to the initial response. Kafka answers PLAIN with empty auth
    /// bytes on success (a rejection arrives as a SaslAuthenticate error code instead), so any
    /// reply finishes the exchange.
    pub fn step(&mut self, _server: &[u8]) -> Result<SaslStep, SaslError> {
        if !self.sent {
            return Err(SaslError::UnexpectedMessage {
                state: "PLAIN before the initial response was sent",
            });
        }
        if self.done {
            return Err(SaslError::UnexpectedMessage {
                state: "PLAIN after the exchange completed",
            });
        }
        self.done = true;
        Ok(SaslStep::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_response_is_nul_separated() {
        let mut c = PlainClient::new("alice", "s3cr=t,");
        assert_eq!(c.initial_response(), b"\0alice\0s3cr=t,".to_vec());
        assert_eq!(c.step(b""), Ok(SaslStep::Done));
        assert!(matches!(
            c.step(b""),
            Err(SaslError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn step_before_initial_response_is_an_error() {
        let mut c = PlainClient::new("alice", "pw");
        assert!(matches!(
            c.step(b""),
            Err(SaslError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = PlainClient::new("alice", "hunter2");
        let shown = format!("{c:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("hunter2"));
    }
}
