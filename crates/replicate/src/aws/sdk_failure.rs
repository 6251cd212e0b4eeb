//! An AWS SDK error as kreplicate shows it: with its causes on one line, since the SDK's own
//! message is only e.g. "dispatch failure".

use super::error::error_chain;

/// An AWS SDK call's error.
#[derive(Debug, thiserror::Error)]
#[error("{}", error_chain(.0.as_ref()))]
pub(crate) struct SdkFailure(#[source] pub(crate) Box<dyn std::error::Error + Send + Sync>);
