//! SASL credentials an embedder supplies from code (a token service, a vault client…)
//! instead of a secret reference: asked on every new connection, like a secret is re-read.

use std::sync::Arc;

use kreplicate_wire::CredentialsProvider;

test_util_pub! {
    /// A shared [`CredentialsProvider`]. Two values are equal when they share one provider, so a
    /// configuration holding one still compares.
    #[derive(Clone)]
    pub struct ProvidedCredentials(pub(crate) Arc<dyn CredentialsProvider>);
}

impl ProvidedCredentials {
    /// Wraps `provider`; it decides the SASL mechanism with each credential it returns.
    pub(crate) fn new(provider: impl CredentialsProvider + 'static) -> Self {
        Self(Arc::new(provider))
    }
}

impl PartialEq for ProvidedCredentials {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProvidedCredentials {}

impl std::fmt::Debug for ProvidedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials themselves.
        f.write_str("ProvidedCredentials(<provider>)")
    }
}
