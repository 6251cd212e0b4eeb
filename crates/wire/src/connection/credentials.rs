//! Where SASL credentials come from. A provider is asked on every new connection, so a rotated
//! password (e.g. a secret file rewritten by an operator, or a secret rotated in AWS Secrets
//! Manager) or a fresh short-lived token (MSK IAM) is used without a restart. Providers are
//! async because some fetch over the network.

use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;

use super::CredentialsError;
use crate::sasl::SaslCredentials;

/// Supplies credentials for a new connection.
pub trait CredentialsProvider: Send + Sync {
    /// Returns the credentials to use now, or why none could be loaded (e.g. "cannot read
    /// /etc/kreplicate/secret.json: permission denied"; [`CredentialsError::new`] takes an
    /// error or a message).
    fn credentials(&self) -> BoxFuture<'_, Result<SaslCredentials, CredentialsError>>;
}

impl CredentialsProvider for SaslCredentials {
    fn credentials(&self) -> BoxFuture<'_, Result<SaslCredentials, CredentialsError>> {
        Box::pin(std::future::ready(Ok(self.clone())))
    }
}

impl<F> CredentialsProvider for F
where
    F: Fn() -> Result<SaslCredentials, CredentialsError> + Send + Sync,
{
    fn credentials(&self) -> BoxFuture<'_, Result<SaslCredentials, CredentialsError>> {
        Box::pin(std::future::ready(self()))
    }
}

/// A provider from an async function, e.g. one that fetches a secret over the network.
pub struct AsyncCredentials<F>(pub F);

impl<F, Fut> CredentialsProvider for AsyncCredentials<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<SaslCredentials, CredentialsError>> + Send + 'static,
{
    fn credentials(&self) -> BoxFuture<'_, Result<SaslCredentials, CredentialsError>> {
        Box::pin((self.0)())
    }
}

impl<F> fmt::Debug for AsyncCredentials<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncCredentials(<async fn>)")
    }
}
