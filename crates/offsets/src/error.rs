//! Error types: recording into a map, decoding persisted bytes, rebuilding maps.

use crate::side::Side;
use crate::topic_partition::TopicPartition;

/// A call on an [`OffsetMap`](crate::OffsetMap) that would break its
/// invariants; the map is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetMapError {
    /// A negative offset, or one too large to have a successor.
    #[error("offset map {partition}: {side} offset {offset} is invalid (offsets must be between 0 and i64::MAX - 1; end positions between 0 and i64::MAX)")]
    InvalidOffset {
        /// Partition of the map.
        partition: TopicPartition,
        /// Side the offset belongs to.
        side: Side,
        /// The offending value.
        offset: i64,
    },
    /// The data path reported an offset below what the map already accounts
    /// for: it must report every offset once, in increasing order.
    #[error("offset map {partition}: {side} offset {offset} is out of order (every {side} offset below {known_end} is already accounted for)")]
    OutOfOrder {
        /// Partition of the map.
        partition: TopicPartition,
        /// Side the offset belongs to.
        side: Side,
        /// The offending value.
        offset: i64,
        /// Exclusive end of what the map already knows on that side.
        known_end: i64,
    },
    /// An echo (a source record that came from the target) names a target
    /// offset the map knows as the copy of a source record.
    #[error("offset map {partition}: source offset {source_offset} is an echo of target offset {target}, but that target record is the copy of source offset {copied_from}")]
    EchoOfCopy {
        /// Partition of the map.
        partition: TopicPartition,
        /// Source offset of the echo.
        source_offset: i64,
        /// Target offset its provenance names.
        target: i64,
        /// Source offset the target record was copied from.
        copied_from: i64,
    },
    /// The topic/partition cannot be persisted in an offset-map key.
    #[error("offset map {partition}: {reason}")]
    InvalidPartition {
        /// The rejected identity.
        partition: TopicPartition,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Persisted offset-map bytes that are not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("offset-map {what}: input is empty")]
    Empty {
        /// `"key"` or `"value"`.
        what: &'static str,
    },
    /// A format version this build does not read.
    #[error("offset-map {what}: format version {found} is not supported (this build reads versions up to {supported})")]
    UnsupportedVersion {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Version byte found.
        found: u8,
        /// Newest version this build reads (it reads every one from 1).
        supported: u8,
    },
    /// The input ends in the middle of a field.
    #[error("offset-map {what}: input ends inside {field} (byte {position})")]
    Truncated {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Field being read.
        field: &'static str,
        /// Byte position where the field starts.
        position: usize,
    },
    /// A varint that is overlong, too large, or not minimally encoded.
    #[error("offset-map {what}: {field} at byte {position} is not a valid varint: {problem}")]
    BadVarint {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Field being read.
        field: &'static str,
        /// Byte position where the varint starts.
        position: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Bytes left over after the last field.
    #[error("offset-map {what}: {count} unexpected bytes after the last field (byte {position})")]
    TrailingBytes {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Number of extra bytes.
        count: usize,
        /// Byte position of the first extra byte.
        position: usize,
    },
    /// A well-formed field whose value breaks the format's rules.
    #[error("offset-map {what}: {field} is invalid: {reason}")]
    Invalid {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Field being checked.
        field: &'static str,
        /// What is wrong, with the values involved.
        reason: String,
    },
}

/// The persisted records cannot be assembled into offset maps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildError {
    /// A record key is not an offset-map key.
    #[error("offset-map record #{index}: {source}")]
    Key {
        /// Position of the record in the input (0-based).
        index: usize,
        /// Why the key does not decode.
        source: DecodeError,
    },
    /// The latest value of a chunk does not decode.
    #[error("offset map {partition}, chunk {chunk}: {source}")]
    Value {
        /// Partition the chunk belongs to.
        partition: TopicPartition,
        /// Chunk id (from the key).
        chunk: i64,
        /// Why the value does not decode.
        source: DecodeError,
    },
    /// Chunks that decode but do not fit together.
    #[error("offset map {partition}, chunk {chunk}: {reason}")]
    Inconsistent {
        /// Partition the chunks belong to.
        partition: TopicPartition,
        /// Chunk id (from the key) where the problem shows.
        chunk: i64,
        /// What does not fit, with the offsets involved.
        reason: String,
    },
}
