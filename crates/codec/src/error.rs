//! The one error type of the codec layer.

use crate::compression::Compression;

/// Everything that can go wrong while decoding or encoding Kafka record data.
///
/// Every variant names what was being read and where: a byte position (relative to the
/// buffer named in the message), a base offset, or both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ended inside a structure that must be complete (a record, a header, a
    /// standalone batch). A truncated *trailing batch of a record set* is not an error.
    #[error("truncated {what} at byte {position}: need {needed} bytes, {available} available")]
    Truncated {
        /// What was being read (e.g. "batch header").
        what: &'static str,
        /// Byte position where the structure starts.
        position: usize,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes that were available from `position`.
        available: usize,
    },

    /// A batch or message whose framing is invalid (length field, magic byte, record count...).
    #[error("malformed batch at byte {position}: {detail}")]
    MalformedBatch {
        /// Byte position of the batch (in the record set, or 0 for a standalone batch).
        position: usize,
        /// What is wrong.
        detail: String,
    },

    /// A magic byte this codec does not know (only 0, 1 and 2 exist).
    #[error("unsupported magic byte {magic} in batch at byte {position}")]
    UnsupportedMagic {
        /// The magic byte read.
        magic: i8,
        /// Byte position of the batch.
        position: usize,
    },

    /// The CRC32C stored in a v2 batch does not match its content.
    #[error(
        "CRC32C mismatch in batch with base offset {base_offset}: stored {expected:#010x}, computed {actual:#010x}"
    )]
    CrcMismatch {
        /// The batch's base offset as read from its header.
        base_offset: i64,
        /// CRC stored in the batch header.
        expected: u32,
        /// CRC computed over attributes..end.
        actual: u32,
    },

    /// The CRC32 (IEEE) stored in a magic 0/1 message does not match its content.
    #[error(
        "CRC32 mismatch in legacy message (magic {magic}) at offset {offset}: stored {expected:#010x}, computed {actual:#010x}"
    )]
    LegacyCrcMismatch {
        /// The message's offset field.
        offset: i64,
        /// Magic byte of the message.
        magic: i8,
        /// CRC stored in the message.
        expected: u32,
        /// CRC computed over magic..end.
        actual: u32,
    },

    /// Attribute bits name a compression codec that does not exist (or is not allowed for the
    /// message format, e.g. zstd in a magic 0/1 message).
    #[error("unknown compression codec id {id} in batch with base offset {base_offset}")]
    UnknownCompression {
        /// The codec id from the attribute bits 0-2.
        id: u8,
        /// Base offset (v2) or offset (v0/v1) of the batch.
        base_offset: i64,
    },

    /// The compressed payload could not be decompressed.
    #[error("{codec} decompression failed for batch with base offset {base_offset}: {detail}")]
    Decompress {
        /// Codec used.
        codec: Compression,
        /// Base offset (v2) or offset (v0/v1) of the batch.
        base_offset: i64,
        /// What the decompressor reported.
        detail: String,
    },

    /// Decompressing would produce more than the allowed number of bytes (decompression bomb
    /// guard).
    #[error(
        "{codec} payload of batch with base offset {base_offset} decompresses to more than the {limit} byte limit"
    )]
    DecompressedTooLarge {
        /// Codec used.
        codec: Compression,
        /// Base offset (v2) or offset (v0/v1) of the batch.
        base_offset: i64,
        /// The limit in force.
        limit: usize,
    },

    /// A batch uses a compression codec whose cargo feature is off in this build of
    /// kreplicate-codec, so its records cannot be read.
    #[error(
        "batch with base offset {base_offset} is {codec}-compressed, but this build has no {codec} support: enable the `{codec}` feature of kreplicate-codec"
    )]
    CodecDisabled {
        /// The batch's codec.
        codec: Compression,
        /// Base offset (v2) or offset (v0/v1) of the batch.
        base_offset: i64,
    },

    /// Writing with a compression codec whose cargo feature is off in this build.
    #[error(
        "cannot write {codec}-compressed batches: this build has no {codec} support: enable the `{codec}` feature of kreplicate-codec"
    )]
    CompressionDisabled {
        /// The codec asked for.
        codec: Compression,
    },

    /// Compressing records while building a batch failed.
    #[error("{codec} compression failed: {detail}")]
    Compress {
        /// Codec used.
        codec: Compression,
        /// What the compressor reported.
        detail: String,
    },

    /// A record inside a batch is malformed.
    #[error(
        "invalid record #{index} in batch with base offset {base_offset} at byte {position} of the {section}: {detail}"
    )]
    InvalidRecord {
        /// Base offset of the batch holding the record.
        base_offset: i64,
        /// Zero-based index of the record in the batch.
        index: usize,
        /// Byte position within the (decompressed) records section.
        position: usize,
        /// "records section" or "decompressed records section".
        section: &'static str,
        /// What is wrong.
        detail: String,
    },

    /// A control batch's record, key or value is malformed.
    #[error("invalid control record in batch with base offset {base_offset}: {source}")]
    InvalidControlRecord {
        /// Base offset of the control batch.
        base_offset: i64,
        /// What is wrong.
        #[source]
        source: crate::ControlRecordError,
    },

    /// The batch builder was asked for something a v2 batch cannot hold.
    #[error("cannot build record batch: {detail}")]
    Build {
        /// What is wrong.
        detail: String,
    },
}
