//! SASL OAUTHBEARER (RFC 7628) as Kafka speaks it (KIP-255): one client message carrying the
//! bearer token, `n,,\x01auth=Bearer <token>\x01\x01`. Kafka answers success with empty auth
//! bytes; a rejection arrives as an error challenge (`{"status":"invalid_token"}`), which the
//! client acknowledges with a single `\x01` so the server can fail the exchange with its error
//! code and message (RFC 7628 §3.2.3). MSK IAM authentication uses this mechanism with a
//! SigV4-presigned URL as the token.

use std::fmt;

use super::{SaslError, SaslStep};

/// The client side of SASL OAUTHBEARER.
pub struct OAuthBearerClient {
    token: String,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Sent,
    /// The server sent an error challenge and we acknowledged it; it must fail the exchange.
    Acknowledged,
    Done,
}

impl fmt::Debug for OAuthBearerClient {
    // The token is a credential: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerClient")
            .field("token", &"<redacted>")
            .field("state", &self.state)
            .finish()
    }
}

impl OAuthBearerClient {
    /// An exchange presenting `token`.
    pub fn new(token: &str) -> Result<Self, SaslError> {
        // RFC 6750 b64token characters only: anything else (a control character in particular)
        // would corrupt the \x01-separated message.
        let valid = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        if token.is_empty() || !token.chars().all(valid) {
            return Err(SaslError::InvalidCredentials(
                "an OAUTHBEARER token must be a non-empty RFC 6750 b64token".into(),
            ));
        }
        Ok(OAuthBearerClient {
            token: token.to_string(),
            state: State::Start,
        })
    }

    /// The only client message: the GS2 header without authzid, then `auth=Bearer <token>`.
    pub fn initial_response(&mut self) -> Vec<u8> {
        self.state = State::Sent;
        format!("n,,\x01auth=Bearer {}\x01\x01", self.token).into_bytes()
    }

    /// Takes the server's reply: empty means success; anything else is an error challenge.
    pub fn step(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        match self.state {
            State::Sent if server.is_empty() => {
                self.state = State::Done;
                Ok(SaslStep::Done)
            }
            State::Sent => {
                self.state = State::Acknowledged;
                Ok(SaslStep::Send(vec![0x01]))
            }
            State::Acknowledged => Err(SaslError::Server(format!(
                "OAUTHBEARER error challenge {}",
                String::from_utf8_lossy(server)
            ))),
            State::Start => Err(SaslError::UnexpectedMessage {
                state: "OAUTHBEARER before the initial response was sent",
            }),
            State::Done => Err(SaslError::UnexpectedMessage {
                state: "OAUTHBEARER after the exchange completed",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_response_carries_the_token() {
        let mut c = OAuthBearerClient::new("aHR0cHM6Ly9rYWZrYQ").unwrap();
        assert_eq!(
            c.initial_response(),
            b"n,,\x01auth=Bearer aHR0cHM6Ly9rYWZrYQ\x01\x01".to_vec()
        );
        assert_eq!(c.step(b""), Ok(SaslStep::Done));
        assert!(matches!(
            c.step(b""),
            Err(SaslError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn error_challenge_is_acknowledged_with_one_byte() {
        let mut c = OAuthBearerClient::new("tok").unwrap();
        c.initial_response();
        assert_eq!(
            c.step(br#"{"status":"invalid_token"}"#),
            Ok(SaslStep::Send(vec![1]))
        );
        assert!(matches!(c.step(b"x"), Err(SaslError::Server(_))));
    }

    #[test]
    fn rejects_tokens_that_would_break_the_message() {
        for bad in ["", "a b", "a\x01b", "ä"] {
            assert!(OAuthBearerClient::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let c = OAuthBearerClient::new("secret-token").unwrap();
        assert!(!format!("{c:?}").contains("secret-token"));
    }
}
