//! What the target answered when `kreplicate plan` asked, with `validate_only`, whether it
//! would create a topic or change a topic's configs, and it said no.

use std::error::Error;
use std::fmt;

use kreplicate_wire::admin::AlterOp;
use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::BrokerError;

use super::configs::describe_ops;

/// A `validate_only` request the target refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValidateOnlyRefusal {
    /// CreateTopics refused the topic.
    Creation(BrokerError),
    /// IncrementalAlterConfigs refused the changes: all of them asked together, or — a config
    /// refusal of several — the ones refused when asked one by one.
    Changes(Vec<ChangesRefused>),
}

impl fmt::Display for ValidateOnlyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidateOnlyRefusal::Creation(e) => write!(f, "{e}"),
            ValidateOnlyRefusal::Changes(refused) => {
                f.write_str("refuses ")?;
                for (i, r) in refused.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

impl Error for ValidateOnlyRefusal {
    /// The broker's error; for changes, the first refusal (the only one unless they were
    /// narrowed down one by one).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ValidateOnlyRefusal::Creation(e) => Some(e),
            ValidateOnlyRefusal::Changes(refused) => refused.first().map(|r| r as &dyn Error),
        }
    }
}

/// Config changes the target refused, and its answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} ({source})", describe_ops(.ops))]
pub(crate) struct ChangesRefused {
    /// The changes asked.
    pub(crate) ops: Vec<AlterOp>,
    /// What the target answered.
    #[source]
    pub(crate) source: ClientError,
}

/// The client error has no `PartialEq`: two refusals are equal when they concern the same
/// changes and say the same.
impl PartialEq for ChangesRefused {
    fn eq(&self, other: &Self) -> bool {
        self.ops == other.ops && self.source.to_string() == other.source.to_string()
    }
}

impl Eq for ChangesRefused {}
