//! Why a credentials provider could not supply credentials.

use std::error::Error;
use std::sync::Arc;

/// Why a [`CredentialsProvider`](super::CredentialsProvider) returned no credentials: the
/// provider's own error (or message), shown as is in
/// [`ConnectionError::Credentials`](super::ConnectionError::Credentials).
///
/// Its text is the cause's text and its [`source`](Error::source) the cause's source, as an
/// [`std::io::Error`] made with `io::Error::other` shows its payload.
///
/// ```
/// use kreplicate_wire::CredentialsError;
///
/// let e = CredentialsError::new("secret file /etc/kreplicate/scram.json: permission denied");
/// assert_eq!(e.to_string(), "secret file /etc/kreplicate/scram.json: permission denied");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct CredentialsError(Arc<dyn Error + Send + Sync>);

impl CredentialsError {
    /// From the provider's error, or from a message (`String` and `&str` convert).
    pub fn new(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        CredentialsError(Arc::from(cause.into()))
    }

    /// The provider's error, e.g. to downcast it to the provider's own type.
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}")]
    struct Unreadable {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn shows_the_cause_and_keeps_its_source() {
        let e = CredentialsError::new(Unreadable {
            path: "/run/secret.json",
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert_eq!(e.to_string(), "cannot read /run/secret.json");
        assert_eq!(
            e.source().map(ToString::to_string),
            Some("permission denied".to_string())
        );
        assert_eq!(
            e.get_ref().downcast_ref::<Unreadable>().map(|u| u.path),
            Some("/run/secret.json")
        );
    }

    #[test]
    fn a_message_is_the_whole_text() {
        let e = CredentialsError::new(format!("token service answered {}", 503));
        assert_eq!(e.to_string(), "token service answered 503");
        assert!(e.source().is_none());
    }
}
