//! One v2 record batch as it arrived in a Produce request: header fields read in place, the
//! records decoded with kafka-protocol's RecordBatchDecoder, and the two header rewrites the
//! layer performs (LogAppendTime, re-encoded records) with the CRC recomputed.

use bytes::{BufMut as _, Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder};
use kafka_protocol::ResponseError;

use super::compression;

// Byte positions in the v2 header (DefaultRecordBatch.java).
const LENGTH_AT: usize = 8;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORD_COUNT_AT: usize = 57;
pub(crate) const RECORDS_AT: usize = 61;

const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;

/// Why a partition's records are not one well-formed v2 batch.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    #[error("no record batch")]
    Empty,
    #[error("truncated record batch")]
    Truncated,
    /// ProduceRequest.validateRecords: v3+ requests carry exactly one batch.
    #[error(
        "Produce requests with version 3 are only allowed to contain exactly one record batch"
    )]
    MoreThanOneBatch,
    /// ProduceRequest.validateRecords: v3+ requests must use magic 2.
    #[error("Produce requests with version >= 3 must use message format version 2, got magic {0}")]
    NotV2(i8),
    #[error("record batch CRC mismatch")]
    Crc,
    /// LogValidator.validateBatch (client batches): "Inconsistent batch offset range [base,
    /// last] and count of records n" — what a compacted batch with holes is.
    #[error(
        "Inconsistent batch offset range [0, {last_offset_delta}] and count of records {count}"
    )]
    InconsistentOffsetRange { last_offset_delta: i32, count: i32 },
    /// LogValidator.validateBatch: "Clients are not allowed to write control records".
    #[error("Clients are not allowed to write control records")]
    ControlFromClient,
    #[error("records do not decode: {0:#}")]
    Records(anyhow::Error),
}

impl BatchError {
    /// The code Kafka answers: CRC and framing faults are CorruptRecordException, the rest
    /// InvalidRecordException (both mapped by Errors.forException).
    pub(crate) fn error(&self) -> ResponseError {
        match self {
            BatchError::Crc | BatchError::Truncated | BatchError::Records(_) => {
                ResponseError::CorruptMessage
            }
            _ => ResponseError::InvalidRecord,
        }
    }
}

/// A complete v2 batch (with its 12-byte log overhead).
#[derive(Debug, Clone)]
pub(crate) struct RawBatch {
    bytes: Bytes,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl RawBatch {
    /// The single batch of a Produce partition (ProduceRequest.validateRecords).
    pub(crate) fn single(records: &Bytes) -> Result<RawBatch, BatchError> {
        if records.is_empty() {
            return Err(BatchError::Empty);
        }
        if records.len() < RECORDS_AT {
            return Err(BatchError::Truncated);
        }
        let magic = records[MAGIC_AT] as i8;
        if magic != 2 {
            return Err(BatchError::NotV2(magic));
        }
        let length = i32_at(records, LENGTH_AT);
        let total = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(12))
            .ok_or(BatchError::Truncated)?;
        if total < RECORDS_AT || total > records.len() {
            return Err(BatchError::Truncated);
        }
        if total < records.len() {
            return Err(BatchError::MoreThanOneBatch);
        }
        Ok(RawBatch {
            bytes: records.clone(),
        })
    }

    /// The complete batches of a Fetch answer's records, in order, and the length of the bytes
    /// they cover: a truncated last batch (the fetch size limit) is left out of both.
    pub(crate) fn split(records: &Bytes) -> (Vec<RawBatch>, usize) {
        let mut batches = Vec::new();
        let mut pos = 0usize;
        while records.len() - pos >= RECORDS_AT {
            let length = i32_at(&records[pos..], LENGTH_AT);
            let Some(total) = usize::try_from(length).ok().and_then(|l| l.checked_add(12)) else {
                break;
            };
            if total < RECORDS_AT || pos + total > records.len() {
                break;
            }
            batches.push(RawBatch {
                bytes: records.slice(pos..pos + total),
            });
            pos += total;
        }
        (batches, pos)
    }

    /// `batch.isValid()`: the CRC32C over attributes..end matches (UnifiedLog checks it after
    /// the size).
    pub(crate) fn verify_crc(&self) -> Result<(), BatchError> {
        if crc32c::crc32c(&self.bytes[ATTRIBUTES_AT..]) == self.crc() {
            Ok(())
        } else {
            Err(BatchError::Crc)
        }
    }

    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }
    /// `batch.sizeInBytes()`: what UnifiedLog compares with max.message.bytes.
    pub(crate) fn size(&self) -> usize {
        self.bytes.len()
    }
    fn crc(&self) -> u32 {
        i32_at(&self.bytes, CRC_AT) as u32
    }
    fn attributes(&self) -> i16 {
        i16_at(&self.bytes, ATTRIBUTES_AT)
    }
    pub(crate) fn compression(&self) -> Compression {
        match self.attributes() & 0x7 {
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => Compression::None,
        }
    }
    pub(crate) fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub(crate) fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    pub(crate) fn is_log_append_time(&self) -> bool {
        self.attributes() & TIMESTAMP_TYPE_BIT != 0
    }
    pub(crate) fn base_offset(&self) -> i64 {
        i64_at(&self.bytes, 0)
    }
    pub(crate) fn producer_id(&self) -> i64 {
        i64_at(&self.bytes, PRODUCER_ID_AT)
    }
    pub(crate) fn producer_epoch(&self) -> i16 {
        i16_at(&self.bytes, PRODUCER_EPOCH_AT)
    }
    pub(crate) fn base_sequence(&self) -> i32 {
        i32_at(&self.bytes, BASE_SEQUENCE_AT)
    }
    pub(crate) fn last_offset_delta(&self) -> i32 {
        i32_at(&self.bytes, LAST_OFFSET_DELTA_AT)
    }

    pub(crate) fn last_offset(&self) -> i64 {
        self.base_offset() + i64::from(self.last_offset_delta())
    }

    /// A control batch's marker: `Some(true)` for ABORT, `Some(false)` for COMMIT
    /// (ControlRecordType: the record key is version i16, type i16; 0 = ABORT, 1 = COMMIT),
    /// `None` for a data batch or a control record of another type.
    pub(crate) fn is_abort_marker(&self) -> Result<Option<bool>, BatchError> {
        if !self.is_control() {
            return Ok(None);
        }
        let records = self.decode()?;
        let key = records.first().and_then(|r| r.key.clone());
        Ok(match key.as_deref() {
            Some([_, _, 0, 0, ..]) => Some(true),
            Some([_, _, 0, 1, ..]) => Some(false),
            _ => None,
        })
    }

    /// LogValidator.validateBatch for a batch from a client (AppendOrigin.CLIENT): its offset
    /// range must be positive and hold exactly its record count, and it must not be a control
    /// batch (only transaction coordinators write those). InvalidRecordException either way.
    pub(crate) fn validate_client_batch(&self) -> Result<(), BatchError> {
        let (last_offset_delta, count) = (self.last_offset_delta(), self.record_count());
        if last_offset_delta < 0
            || count <= 0
            || i64::from(last_offset_delta) + 1 != i64::from(count)
        {
            return Err(BatchError::InconsistentOffsetRange {
                last_offset_delta,
                count,
            });
        }
        if self.is_control() {
            return Err(BatchError::ControlFromClient);
        }
        Ok(())
    }

    pub(crate) fn record_count(&self) -> i32 {
        i32_at(&self.bytes, RECORD_COUNT_AT)
    }
    /// `lastSequence()`: base + count - 1, wrapping at i32::MAX (DefaultRecordBatch).
    pub(crate) fn last_sequence(&self) -> i32 {
        let last = i64::from(self.base_sequence()) + i64::from(self.record_count()) - 1;
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }

    /// The records, decoded by kafka-protocol (headers with duplicate keys collapse there,
    /// which the checks do not look at).
    pub(crate) fn decode(&self) -> Result<Vec<Record>, BatchError> {
        let mut buf = self.bytes.clone();
        let set = RecordBatchDecoder::decode_with_custom_compression(
            &mut buf,
            Some(|section: &mut Bytes, codec: Compression| compression::decompress(codec, section)),
        )
        .map_err(BatchError::Records)?;
        Ok(set.records)
    }

    /// The records section, decompressed.
    pub(crate) fn plain_records(&self) -> Result<Bytes, BatchError> {
        compression::decompress(self.compression(), &self.bytes.slice(RECORDS_AT..))
            .map_err(BatchError::Records)
    }

    /// `batch.setMaxTimestamp(LOG_APPEND_TIME, now)` (LogValidator): timestamp-type bit set,
    /// max timestamp = append time, CRC recomputed; records untouched.
    pub(crate) fn with_log_append_time(&self, now: i64) -> RawBatch {
        let mut b = BytesMut::from(&self.bytes[..]);
        let attributes = self.attributes() | TIMESTAMP_TYPE_BIT;
        b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
        b[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now.to_be_bytes());
        finish(b)
    }

    /// This batch's header over a new records section (`plain`, compressed with the batch's
    /// codec) of `count` records with offset deltas 0..count-1 and `max_timestamp`.
    pub(crate) fn with_records(
        &self,
        plain: &[u8],
        count: i32,
        max_timestamp: i64,
    ) -> Result<RawBatch, BatchError> {
        let section =
            compression::compress(self.compression(), plain).map_err(BatchError::Records)?;
        let mut b = BytesMut::with_capacity(RECORDS_AT + section.len());
        b.put_slice(&self.bytes[..RECORDS_AT]);
        b.put_slice(&section);
        let length = (b.len() - 12) as i32;
        b[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
        b[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4]
            .copy_from_slice(&(count - 1).to_be_bytes());
        b[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&max_timestamp.to_be_bytes());
        b[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&count.to_be_bytes());
        Ok(finish(b))
    }
}

fn finish(mut b: BytesMut) -> RawBatch {
    let crc = crc32c::crc32c(&b[ATTRIBUTES_AT..]);
    b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    RawBatch { bytes: b.freeze() }
}
