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

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_config() -> BrokerError {
        // INVALID_CONFIG (40).
        BrokerError::new("IncrementalAlterConfigs", 40).with_topic("src.orders")
    }

    #[test]
    fn changes_read_as_before_and_chain_to_the_client_error() {
        let refusal = ValidateOnlyRefusal::Changes(vec![
            ChangesRefused {
                ops: vec![AlterOp::set("retention.ms", "7000")],
                source: invalid_config().into(),
            },
            ChangesRefused {
                ops: vec![AlterOp::delete("cleanup.policy")],
                source: invalid_config().into(),
            },
        ]);
        assert_eq!(
            refusal.to_string(),
            "refuses retention.ms=7000 (IncrementalAlterConfigs failed for topic src.orders: \
             InvalidConfig (code 40)); -cleanup.policy (IncrementalAlterConfigs failed for topic \
             src.orders: InvalidConfig (code 40))"
        );
        let first = refusal.source().expect("the first refusal");
        assert_eq!(
            first.to_string(),
            "retention.ms=7000 (IncrementalAlterConfigs failed for topic src.orders: \
             InvalidConfig (code 40))"
        );
        let client = first.source().expect("the client error");
        assert!(
            matches!(client.downcast_ref::<ClientError>(), Some(ClientError::Broker(b)) if *b == invalid_config()),
            "{client:?}"
        );
    }

    #[test]
    fn creation_reads_as_the_broker_error_and_is_its_source() {
        let broker = BrokerError::new("CreateTopics", 40).with_topic("src.orders");
        let refusal = ValidateOnlyRefusal::Creation(broker.clone());
        assert_eq!(refusal.to_string(), broker.to_string());
        assert_eq!(
            refusal
                .source()
                .and_then(|s| s.downcast_ref::<BrokerError>()),
            Some(&broker)
        );
    }
}
