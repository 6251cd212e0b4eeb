//! Where SASL credentials come from. A provider is asked on every new connection, so a rotated
//! password (e.g. a secret file rewritten by an operator) is picked up without a restart.

use std::fmt;
use std::sync::Arc;

use crate::sasl::SaslCredentials;

/// Supplies credentials for a new connection.
pub trait CredentialsProvider: Send + Sync {
    /// Returns the credentials to use now, or a message saying why none could be loaded
    /// (e.g. "cannot read /etc/kreplicate/secret.json: permission denied").
    fn credentials(&self) -> Result<SaslCredentials, String>;
}

impl CredentialsProvider for SaslCredentials {
    fn credentials(&self) -> Result<SaslCredentials, String> {
        Ok(self.clone())
    }
}

impl<F> CredentialsProvider for F
where
    F: Fn() -> Result<SaslCredentials, String> + Send + Sync,
{
    fn credentials(&self) -> Result<SaslCredentials, String> {
        self()
    }
}

/// A shared provider, as stored in [`super::ConnectionConfig`].
#[derive(Clone)]
pub struct Credentials(pub Arc<dyn CredentialsProvider>);

impl Credentials {
    pub fn new(provider: impl CredentialsProvider + 'static) -> Self {
        Credentials(Arc::new(provider))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<provider>)")
    }
}
