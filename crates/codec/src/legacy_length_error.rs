//! Why a legacy message's key or value length could not be read.

/// What is wrong with an i32 length (-1 = null) and the bytes it announces. A message reports
/// it as [`CodecError::MalformedBatch`](crate::CodecError::MalformedBatch) with this text
/// after "key: " or "value: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LegacyLengthError {
    /// Fewer than 4 bytes are left for the length.
    #[error("length truncated at byte {at}")]
    Truncated { at: usize },
    /// The length is negative (other than -1) or longer than what is left.
    #[error("length {len} at byte {at} does not fit the {left} bytes left")]
    DoesNotFit { len: i32, at: usize, left: usize },
}
