//! The trust store an operator named holds no usable CA certificate.

/// `SSL_CERT_FILE` / `SSL_CERT_DIR` name a store with no usable CA certificate: a
/// configuration error, never a reason to trust other roots. Reported as
/// [`ConnectionError::TlsConfig`](crate::ConnectionError::TlsConfig) with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no usable CA certificate in the trust store named by {vars}: {why}")]
pub(super) struct NoUsableCa {
    /// The variables as set, e.g. `SSL_CERT_FILE=/etc/ca.pem`.
    pub(super) vars: String,
    /// The read errors, or "no certificate found".
    pub(super) why: String,
}
