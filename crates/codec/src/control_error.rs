//! Why a control record's key or value could not be decoded.

/// What is wrong with a control record ([`ControlRecord::parse`](crate::ControlRecord::parse)).
///
/// In a batch it is reported as [`CodecError::InvalidControlRecord`](crate::CodecError),
/// whose `source` it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlRecordError {
    /// A control batch holds no record.
    #[error("control batch holds no record")]
    NoRecord,
    /// The control record's key is null.
    #[error("control record has a null key")]
    NullKey,
    /// The key is shorter than its version and type (4 bytes).
    #[error("control key of {len} bytes, need 4")]
    KeyTooShort {
        /// The key's length.
        len: usize,
    },
    /// The key's version is negative.
    #[error("negative control key version {version}")]
    NegativeKeyVersion {
        /// The version read.
        version: i16,
    },
    /// A COMMIT or ABORT marker has a null value.
    #[error("transaction marker has a null value")]
    NullMarkerValue,
    /// A marker's value is shorter than its version and coordinator epoch (6 bytes).
    #[error("transaction marker value of {len} bytes, need 6")]
    MarkerValueTooShort {
        /// The value's length.
        len: usize,
    },
    /// A marker value's version is negative.
    #[error("negative transaction marker version {version}")]
    NegativeMarkerVersion {
        /// The version read.
        version: i16,
    },
}
