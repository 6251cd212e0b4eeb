//! [`RecordBatch`]: a zero-copy view over one v2 (magic 2) record batch.
//!
//! Layout (all big-endian), positions from the start of the batch:
//! ```text
//!  0 base_offset i64          8 batch_length i32      12 partition_leader_epoch i32
//! 16 magic i8                17 crc u32 (CRC32C of bytes 21..end)
//! 21 attributes i16          23 last_offset_delta i32 27 base_timestamp i64
//! 35 max_timestamp i64       43 producer_id i64       51 producer_epoch i16
//! 53 base_sequence i32       57 record_count i32      61 records...
//! ```

use bytes::{Bytes, BytesMut};

use crate::compression::{self, Compression, Lz4Header};
use crate::control::ControlRecord;
use crate::control_error::ControlRecordError;
use crate::error::CodecError;
use crate::record::Records;

pub(crate) const BASE_OFFSET: usize = 0;
pub(crate) const BATCH_LENGTH: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
pub(crate) const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
pub(crate) const ATTRIBUTES: usize = 21;
pub(crate) const LAST_OFFSET_DELTA: usize = 23;
pub(crate) const BASE_TIMESTAMP: usize = 27;
pub(crate) const MAX_TIMESTAMP: usize = 35;
pub(crate) const PRODUCER_ID: usize = 43;
pub(crate) const PRODUCER_EPOCH: usize = 51;
pub(crate) const BASE_SEQUENCE: usize = 53;
pub(crate) const RECORD_COUNT: usize = 57;
/// Size of the fixed v2 batch header; records start here.
pub const RECORD_BATCH_HEADER_SIZE: usize = 61;
/// Bytes before the `batch_length` field's coverage starts (base_offset + batch_length).
pub(crate) const LOG_OVERHEAD: usize = 12;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_FLAG: i16 = 0x08;
const TRANSACTIONAL_FLAG: i16 = 0x10;
const CONTROL_FLAG: i16 = 0x20;
const DELETE_HORIZON_FLAG: i16 = 0x40;

/// Which clock a batch's timestamps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer (attribute bit 3 clear).
    #[default]
    CreateTime,
    /// Set by the broker on append (attribute bit 3 set): every record's timestamp is the
    /// batch's `max_timestamp`.
    LogAppendTime,
}

/// Header fields of a v2 batch to overwrite in [`RecordBatch::rewrite`]; `None` keeps a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewriteFields {
    /// New base offset (not covered by the CRC).
    pub base_offset: Option<i64>,
    /// New partition leader epoch (not covered by the CRC).
    pub partition_leader_epoch: Option<i32>,
    /// New producer id (CRC-covered).
    pub producer_id: Option<i64>,
    /// New producer epoch (CRC-covered).
    pub producer_epoch: Option<i16>,
    /// New base sequence (CRC-covered).
    pub base_sequence: Option<i32>,
    /// Sets or clears the transactional attribute bit (CRC-covered); the other attribute
    /// bits (codec, timestamp type, control, delete horizon) are kept.
    pub transactional: Option<bool>,
}

/// A cheap view over the bytes of one v2 record batch.
///
/// Construction ([`RecordBatch::new`]) checks the framing, the magic byte, the codec id, the
/// record count and the CRC32C, so a `RecordBatch` always holds a complete batch whose CRC is
/// valid. Header fields are read from the bytes on each call; cloning is a reference-count
/// increment.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordBatch {
    bytes: Bytes,
}

impl std::fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset())
            .field("last_offset_delta", &self.last_offset_delta())
            .field("record_count", &self.record_count())
            .field("compression", &self.compression())
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

#[inline]
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl RecordBatch {
    /// Wraps `bytes`, which must hold exactly one complete v2 batch, verifying its CRC32C.
    pub fn new(bytes: Bytes) -> Result<RecordBatch, CodecError> {
        Self::new_at(bytes, 0)
    }

    /// As [`RecordBatch::new`], with errors naming `position` (the batch's place in a record set).
    pub(crate) fn new_at(bytes: Bytes, position: usize) -> Result<RecordBatch, CodecError> {
        if bytes.len() < RECORD_BATCH_HEADER_SIZE {
            return Err(CodecError::Truncated {
                what: "v2 batch header",
                position,
                needed: RECORD_BATCH_HEADER_SIZE,
                available: bytes.len(),
            });
        }
        let magic = bytes[MAGIC] as i8;
        if magic != 2 {
            return Err(CodecError::UnsupportedMagic { magic, position });
        }
        let batch_length = be_i32(&bytes, BATCH_LENGTH);
        let declared = i64::from(batch_length) + LOG_OVERHEAD as i64;
        if declared != bytes.len() as i64 {
            return Err(CodecError::MalformedBatch {
                position,
                detail: format!(
                    "batch_length {batch_length} implies {declared} bytes, but the batch has {}",
                    bytes.len()
                ),
            });
        }
        let batch = RecordBatch { bytes };
        // CRC first: a flipped attribute or count bit must read as corruption.
        batch.verify_crc()?;
        let id = (batch.attributes() & COMPRESSION_MASK) as u8;
        if Compression::from_id(id).is_none() {
            return Err(CodecError::UnknownCompression {
                id,
                base_offset: batch.base_offset(),
            });
        }
        let count = be_i32(&batch.bytes, RECORD_COUNT);
        if count < 0 {
            return Err(CodecError::MalformedBatch {
                position,
                detail: format!(
                    "negative record count {count} in batch with base offset {}",
                    batch.base_offset()
                ),
            });
        }
        Ok(batch)
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        be_i64(&self.bytes, BASE_OFFSET)
    }

    /// The `batch_length` field: size in bytes of everything after it.
    pub fn batch_length(&self) -> i32 {
        be_i32(&self.bytes, BATCH_LENGTH)
    }

    /// The leader epoch the broker stamped on the batch (-1 from producers).
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(&self.bytes, PARTITION_LEADER_EPOCH)
    }

    /// Always 2.
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC] as i8
    }

    /// The stored CRC32C.
    pub fn crc(&self) -> u32 {
        be_i32(&self.bytes, CRC) as u32
    }

    /// The raw attributes field.
    pub fn attributes(&self) -> i16 {
        be_i16(&self.bytes, ATTRIBUTES)
    }

    /// Offset of the last record relative to `base_offset`.
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(&self.bytes, LAST_OFFSET_DELTA)
    }

    /// Timestamp the record timestamp deltas are relative to (the delete horizon when
    /// [`RecordBatch::delete_horizon_ms`] is set).
    pub fn base_timestamp(&self) -> i64 {
        be_i64(&self.bytes, BASE_TIMESTAMP)
    }

    /// The largest record timestamp (for LogAppendTime: the broker's append time).
    pub fn max_timestamp(&self) -> i64 {
        be_i64(&self.bytes, MAX_TIMESTAMP)
    }

    /// Producer id (-1 when not idempotent).
    pub fn producer_id(&self) -> i64 {
        be_i64(&self.bytes, PRODUCER_ID)
    }

    /// Producer epoch (-1 when not idempotent).
    pub fn producer_epoch(&self) -> i16 {
        be_i16(&self.bytes, PRODUCER_EPOCH)
    }

    /// Sequence number of the first record (-1 when not idempotent).
    pub fn base_sequence(&self) -> i32 {
        be_i32(&self.bytes, BASE_SEQUENCE)
    }

    /// Number of records the header declares (never negative).
    pub fn record_count(&self) -> i32 {
        be_i32(&self.bytes, RECORD_COUNT)
    }

    /// Compression codec of the records section.
    pub fn compression(&self) -> Compression {
        // Validated in `new`.
        Compression::from_id((self.attributes() & COMPRESSION_MASK) as u8)
            .unwrap_or(Compression::None)
    }

    /// Whose clock the timestamps come from.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_FLAG != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_FLAG != 0
    }

    /// Whether the batch holds a control record (transaction marker).
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_FLAG != 0
    }

    /// The delete horizon the log cleaner set (KIP-534), stored in `base_timestamp`.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes() & DELETE_HORIZON_FLAG != 0).then(|| self.base_timestamp())
    }

    /// Offset of the last record: `base_offset + last_offset_delta` (saturating).
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .saturating_add(i64::from(self.last_offset_delta()))
    }

    /// The offset after this batch, where the next fetch continues.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// The whole batch, exactly as it arrived.
    pub fn raw(&self) -> &Bytes {
        &self.bytes
    }

    /// Gives back the batch bytes.
    pub fn into_raw(self) -> Bytes {
        self.bytes
    }

    /// Size of the batch in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The records section as stored (compressed when [`RecordBatch::compression`] is not None).
    pub fn records_section(&self) -> Bytes {
        self.bytes.slice(RECORD_BATCH_HEADER_SIZE..)
    }

    /// Recomputes the CRC32C over attributes..end and compares it with the stored one.
    pub fn verify_crc(&self) -> Result<(), CodecError> {
        let actual = crc32c::crc32c(&self.bytes[ATTRIBUTES..]);
        let expected = self.crc();
        if actual == expected {
            Ok(())
        } else {
            Err(CodecError::CrcMismatch {
                base_offset: self.base_offset(),
                expected,
                actual,
            })
        }
    }

    /// Decodes the records, decompressing at most
    /// [`DEFAULT_MAX_DECOMPRESSED_SIZE`](super::DEFAULT_MAX_DECOMPRESSED_SIZE) bytes.
    pub fn records(&self) -> Result<Records, CodecError> {
        self.records_with_limit(compression::DEFAULT_MAX_DECOMPRESSED_SIZE)
    }

    /// Decodes the records, failing with [`CodecError::DecompressedTooLarge`] if the records
    /// section decompresses to more than `max_decompressed` bytes. Decompression happens here;
    /// record parsing happens as the returned iterator advances. Uncompressed batches are not
    /// copied: keys, values and headers are slices of [`RecordBatch::raw`].
    pub fn records_with_limit(&self, max_decompressed: usize) -> Result<Records, CodecError> {
        let codec = self.compression();
        let section = self.bytes.slice(RECORD_BATCH_HEADER_SIZE..);
        let (data, decompressed) = if codec == Compression::None {
            (section, false)
        } else {
            let out = compression::decompress(codec, &section, max_decompressed, Lz4Header::Strict)
                .map_err(|f| f.into_error(codec, self.base_offset(), max_decompressed))?;
            (Bytes::from(out), true)
        };
        Ok(Records::new(
            data,
            decompressed,
            self.record_count() as u32,
            self.base_offset(),
            self.base_timestamp(),
            self.max_timestamp(),
            self.timestamp_type(),
        ))
    }

    /// The control record of a control batch (`Ok(None)` for a data batch).
    pub fn control_record(&self) -> Result<Option<ControlRecord>, CodecError> {
        if !self.is_control() {
            return Ok(None);
        }
        let base_offset = self.base_offset();
        let first = self
            .records()?
            .next()
            .ok_or(CodecError::InvalidControlRecord {
                base_offset,
                source: ControlRecordError::NoRecord,
            })??;
        let key = first.key.ok_or(CodecError::InvalidControlRecord {
            base_offset,
            source: ControlRecordError::NullKey,
        })?;
        ControlRecord::parse(&key, first.value.as_deref())
            .map(Some)
            .map_err(|source| CodecError::InvalidControlRecord {
                base_offset,
                source,
            })
    }

    /// Copies the batch once, overwrites the given header fields and recomputes the CRC32C
    /// when a CRC-covered field changed. Records stay compressed and byte-identical.
    pub fn rewrite(&self, fields: RewriteFields) -> Bytes {
        let mut buf = BytesMut::from(&self.bytes[..]);
        if let Some(v) = fields.base_offset {
            buf[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(v) = fields.partition_leader_epoch {
            buf[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4]
                .copy_from_slice(&v.to_be_bytes());
        }
        let mut covered = false;
        if let Some(v) = fields.producer_id {
            buf[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&v.to_be_bytes());
            covered = true;
        }
        if let Some(v) = fields.producer_epoch {
            buf[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&v.to_be_bytes());
            covered = true;
        }
        if let Some(v) = fields.base_sequence {
            buf[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&v.to_be_bytes());
            covered = true;
        }
        if let Some(transactional) = fields.transactional {
            let old = be_i16(&buf, ATTRIBUTES);
            let new = if transactional {
                old | TRANSACTIONAL_FLAG
            } else {
                old & !TRANSACTIONAL_FLAG
            };
            buf[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&new.to_be_bytes());
            covered = true;
        }
        if covered {
            // The source CRC was verified in `new`, so this cannot launder corruption.
            let crc = crc32c::crc32c(&buf[ATTRIBUTES..]);
            buf[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        }
        buf.freeze()
    }

    /// [`RecordBatch::rewrite`] changing only the base offset.
    pub fn with_base_offset(&self, base_offset: i64) -> Bytes {
        self.rewrite(RewriteFields {
            base_offset: Some(base_offset),
            ..RewriteFields::default()
        })
    }
}

/// Attribute bits for a v2 batch.
pub(crate) fn attributes(
    compression: Compression,
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
) -> i16 {
    let mut a = i16::from(compression.id());
    if timestamp_type == TimestampType::LogAppendTime {
        a |= TIMESTAMP_TYPE_FLAG;
    }
    if transactional {
        a |= TRANSACTIONAL_FLAG;
    }
    if control {
        a |= CONTROL_FLAG;
    }
    a
}
