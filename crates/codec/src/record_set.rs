//! [`RecordSet`]: the `records` bytes of a Fetch partition, split into batches.

use bytes::Bytes;

use crate::batch::{RecordBatch, LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE};
use crate::error::CodecError;
use crate::legacy::{min_message_size, LegacyBatch};
use crate::record::Record;

/// Byte position of the magic byte in both v2 batches and legacy entries.
const MAGIC: usize = 16;

/// A sequence of batches (v2) or legacy message-set entries (magic 0/1), as one partition of a
/// Fetch response holds them. The bytes are shared, never copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSet {
    bytes: Bytes,
}

impl RecordSet {
    /// Wraps the record bytes; nothing is parsed until [`RecordSet::batches`] is iterated.
    pub fn new(bytes: Bytes) -> RecordSet {
        RecordSet { bytes }
    }

    /// Iterates the batches. See [`Batches`] for how truncation and errors end iteration.
    pub fn batches(&self) -> Batches {
        Batches {
            bytes: self.bytes.clone(),
            pos: 0,
            done: false,
            truncated: None,
        }
    }

    /// The record bytes as given.
    pub fn raw(&self) -> &Bytes {
        &self.bytes
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// One entry of a record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// A v2 record batch (magic 2).
    V2(RecordBatch),
    /// A magic 0/1 message, possibly a compressed wrapper of many.
    Legacy(LegacyBatch),
}

impl Batch {
    /// Magic byte: 2 for [`Batch::V2`], 0 or 1 for [`Batch::Legacy`].
    pub fn magic(&self) -> i8 {
        match self {
            Batch::V2(b) => b.magic(),
            Batch::Legacy(b) => b.magic(),
        }
    }

    /// Offset of the last record the entry holds.
    pub fn last_offset(&self) -> i64 {
        match self {
            Batch::V2(b) => b.last_offset(),
            Batch::Legacy(b) => b.last_offset(),
        }
    }

    /// The offset after this entry, where the next fetch continues.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// The entry's bytes as they arrived.
    pub fn raw(&self) -> &Bytes {
        match self {
            Batch::V2(b) => b.raw(),
            Batch::Legacy(b) => b.raw(),
        }
    }

    /// The v2 batch, if this is one.
    pub fn as_v2(&self) -> Option<&RecordBatch> {
        match self {
            Batch::V2(b) => Some(b),
            Batch::Legacy(_) => None,
        }
    }

    /// Decodes all records into a Vec (for v2, [`RecordBatch::records`] is the lazy form).
    pub fn records(&self) -> Result<Vec<Record>, CodecError> {
        match self {
            Batch::V2(b) => b.records()?.collect(),
            Batch::Legacy(b) => b.records(),
        }
    }

    /// As [`Batch::records`], with an explicit decompression limit in bytes.
    pub fn records_with_limit(&self, max_decompressed: usize) -> Result<Vec<Record>, CodecError> {
        match self {
            Batch::V2(b) => b.records_with_limit(max_decompressed)?.collect(),
            Batch::Legacy(b) => b.records_with_limit(max_decompressed),
        }
    }
}

/// The incomplete batch a record set ended with (a Fetch may cut its last batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruncatedTail {
    /// Byte position in the record set where the incomplete batch starts.
    pub position: usize,
    /// Bytes of it that are present.
    pub available: usize,
    /// Its full size, when the length field was present.
    pub declared_size: Option<usize>,
}

/// Iterator over the batches of a [`RecordSet`].
///
/// - A trailing incomplete batch ends iteration without an error; [`Batches::truncated_tail`]
///   then tells where it began.
/// - A complete but malformed batch (bad length, unknown magic, CRC mismatch...) yields one
///   error naming its byte position or base offset, and iteration stops.
#[derive(Debug, Clone)]
pub struct Batches {
    bytes: Bytes,
    pos: usize,
    done: bool,
    truncated: Option<TruncatedTail>,
}

impl Batches {
    /// The incomplete trailing batch, once iteration has reached it.
    pub fn truncated_tail(&self) -> Option<TruncatedTail> {
        self.truncated
    }

    /// Byte position of the next entry to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, CodecError> {
        let pos = self.pos;
        let rest = self.bytes.len() - pos;
        if rest == 0 {
            return Ok(None);
        }
        if rest < LOG_OVERHEAD {
            self.truncated = Some(TruncatedTail {
                position: pos,
                available: rest,
                declared_size: None,
            });
            return Ok(None);
        }
        let b = &self.bytes[pos + 8..pos + 12];
        let size = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        // Like the Java client: a length below the smallest message is corrupt even if cut.
        if size < min_message_size(0) as i32 {
            return Err(CodecError::MalformedBatch {
                position: pos,
                detail: format!(
                    "length field {size} is below the minimum of {}",
                    min_message_size(0)
                ),
            });
        }
        let total = LOG_OVERHEAD + size as usize;
        if rest < total {
            self.truncated = Some(TruncatedTail {
                position: pos,
                available: rest,
                declared_size: Some(total),
            });
            return Ok(None);
        }
        let entry = self.bytes.slice(pos..pos + total);
        let magic = entry[MAGIC] as i8;
        let batch = match magic {
            2 => {
                if total < RECORD_BATCH_HEADER_SIZE {
                    return Err(CodecError::MalformedBatch {
                        position: pos,
                        detail: format!(
                            "v2 batch of {total} bytes is smaller than its {RECORD_BATCH_HEADER_SIZE} byte header"
                        ),
                    });
                }
                Batch::V2(RecordBatch::new_at(entry, pos)?)
            }
            0 | 1 => Batch::Legacy(LegacyBatch::new_at(entry, pos)?),
            _ => {
                return Err(CodecError::UnsupportedMagic {
                    magic,
                    position: pos,
                })
            }
        };
        self.pos = pos + total;
        Ok(Some(batch))
    }
}

impl Iterator for Batches {
    type Item = Result<Batch, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Batches {}
