//! [`TopicPartition`]: the identity of one replicated partition.

use std::fmt;

/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_LEN: usize = 249;

/// A source topic and partition number (the target partition has the same
/// number, so one identity names both).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Builds a topic-partition identity.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Why this identity cannot be stored in an offset-map key, if it cannot:
    /// the topic must be 1..=249 bytes and the partition non-negative.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.topic.is_empty() {
            Some("topic name is empty")
        } else if self.topic.len() > MAX_TOPIC_LEN {
            Some("topic name is longer than 249 bytes")
        } else if self.partition < 0 {
            Some("partition number is negative")
        } else {
            None
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}
