//! Counts of what the strict layer did, per rule, for tests to assert on.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// One broker rule the layer enforces (see docs/test-brokers.md for the Kafka source of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Transactional batch in a Produce without transactional id.
    TransactionalIdAuthorization,
    /// Compressed batch with non-contiguous inner offsets: accepted, stored re-encoded.
    Reencoded,
    /// Batch larger than the topic's max.message.bytes.
    MessageTooLarge,
    /// Record without key on a compacted topic.
    CompactedWithoutKey,
    /// Timestamp outside message.timestamp.before/after.max.ms, or a producer-set LogAppendTime.
    InvalidTimestamp,
    /// Idempotent batch whose first sequence does not follow the last one.
    OutOfOrderSequence,
    /// Idempotent batch with an epoch older than the partition's producer epoch.
    InvalidProducerEpoch,
    /// Retried duplicate of one of the last 5 batches: answered with the original offset.
    DuplicateSequence,
    /// Access to a denied topic.
    TopicAuthorization,
    /// Produce to a topic or partition the upstream does not list.
    UnknownTopicOrPartition,
    /// A refused topic config on CreateTopics / IncrementalAlterConfigs.
    ConfigRefused,
    /// Batch timestamps overwritten with the append time (LogAppendTime topic).
    LogAppendTime,
    /// Batch the layer cannot parse, or more than one batch per partition.
    CorruptOrInvalidRecord,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusals {
    counts: BTreeMap<Rule, u64>,
}

impl Refusals {
    /// How often `rule` applied (per partition for Produce, per topic or resource for admin).
    pub fn count(&self, rule: Rule) -> u64 {
        self.counts.get(&rule).copied().unwrap_or(0)
    }

    /// Every rule that applied at least once, with its count.
    pub fn all(&self) -> &BTreeMap<Rule, u64> {
        &self.counts
    }

    /// Sum over the rules that refuse (everything but re-encoding, LogAppendTime and
    /// duplicates, which Kafka accepts).
    pub fn total_refused(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(r, _)| {
                !matches!(
                    r,
                    Rule::Reencoded | Rule::LogAppendTime | Rule::DuplicateSequence
                )
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// The live counters shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct RefusalCounters {
    counts: Mutex<BTreeMap<Rule, u64>>,
}

impl RefusalCounters {
    pub(crate) fn add(&self, rule: Rule) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(rule)
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> Refusals {
        Refusals {
            counts: self
                .counts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
