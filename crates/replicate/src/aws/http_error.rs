//! Why kreplicate's own GET (GetBootstrapBrokers) got no answer.

use std::time::Duration;

use super::error::error_chain;

/// A GET that got no status and body.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The system's root certificates could not be loaded.
    #[error("loading the system's root certificates: {0}")]
    RootCertificates(#[source] std::io::Error),
    /// The URL or a header is not valid in a request.
    #[error("building the request: {0}")]
    Request(#[source] http::Error),
    /// Connecting or sending failed (on one line with its causes: hyper's own message is only
    /// "client error (Connect)").
    #[error("{}", error_chain(.0))]
    Exchange(#[source] hyper_util::client::legacy::Error),
    /// The answer's body could not be read.
    #[error("reading the answer: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No full answer within the bound.
    #[error("no answer within {timeout:?}")]
    Timeout {
        /// The bound.
        timeout: Duration,
        /// Tokio's timer.
        #[source]
        source: tokio::time::error::Elapsed,
    },
}
