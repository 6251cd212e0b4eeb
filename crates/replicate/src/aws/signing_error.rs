//! Why aws-sigv4 could not sign a request.

use aws_sigv4::sign::v4::signing_params::BuildError;

/// A request that could not be signed, with aws-sigv4's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SigningError {
    /// The signing parameters are incomplete.
    #[error("{0}")]
    Params(#[source] BuildError),
    /// The request could not be canonicalised or signed.
    #[error("{0}")]
    Sign(#[source] aws_sigv4::http_request::SigningError),
}
