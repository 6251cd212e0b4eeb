//! Legacy (magic 0 and 1) messages, as old brokers or old-format topics return them.
//!
//! A message-set entry is `offset i64 | message_size i32 | message`, and a message is
//! ```text
//! crc u32 (CRC32 IEEE of magic..end) | magic i8 | attributes i8 | [timestamp i64, magic 1]
//! key_length i32 (-1 = null) | key | value_length i32 (-1 = null) | value
//! ```
//! A compressed *wrapper* message holds a compressed message set of inner messages in its value.
//! Inner offsets are absolute in magic 0; in magic 1 they are relative (0, 1, ...) and the
//! wrapper's offset is the absolute offset of the last inner message.

use bytes::Bytes;

use crate::batch::TimestampType;
use crate::compression::{self, Compression, Lz4Header};
use crate::error::CodecError;
use crate::legacy_length_error::LegacyLengthError;
use crate::record::Record;

const OFFSET: usize = 0;
const MESSAGE_SIZE: usize = 8;
const CRC: usize = 12;
const MAGIC: usize = 16;
const ATTRIBUTES: usize = 17;
const TIMESTAMP: usize = 18;
/// offset + message_size.
const LOG_OVERHEAD: usize = 12;
const COMPRESSION_MASK: i8 = 0x07;
const TIMESTAMP_TYPE_FLAG: i8 = 0x08;

/// Smallest message (after the log overhead) for a magic: crc, magic, attributes,
/// [timestamp], key length, value length.
pub(crate) fn min_message_size(magic: i8) -> usize {
    if magic == 0 {
        14
    } else {
        22
    }
}

/// One top-level magic 0/1 message of a record set: a plain message, or a compressed wrapper
/// holding many inner messages. Construction verifies the framing and the CRC32.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyBatch {
    bytes: Bytes,
    position: usize,
    key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
}

impl std::fmt::Debug for LegacyBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyBatch")
            .field("offset", &self.offset())
            .field("magic", &self.magic())
            .field("compression", &self.compression())
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl LegacyBatch {
    /// Wraps `bytes`, which must hold exactly one `offset | size | message` entry, checking its
    /// framing and CRC32.
    pub fn new(bytes: Bytes) -> Result<LegacyBatch, CodecError> {
        Self::new_at(bytes, 0)
    }

    /// As [`LegacyBatch::new`], with errors naming `position`.
    pub(crate) fn new_at(bytes: Bytes, position: usize) -> Result<LegacyBatch, CodecError> {
        if bytes.len() < LOG_OVERHEAD + min_message_size(0) {
            return Err(CodecError::Truncated {
                what: "legacy message",
                position,
                needed: LOG_OVERHEAD + min_message_size(0),
                available: bytes.len(),
            });
        }
        let magic = bytes[MAGIC] as i8;
        if magic != 0 && magic != 1 {
            return Err(CodecError::UnsupportedMagic { magic, position });
        }
        let malformed = |detail: String| CodecError::MalformedBatch { position, detail };
        let size = be_i32(&bytes, MESSAGE_SIZE);
        if i64::from(size) + LOG_OVERHEAD as i64 != bytes.len() as i64 {
            return Err(malformed(format!(
                "message_size {size} does not match the {} byte entry",
                bytes.len()
            )));
        }
        if (size as usize) < min_message_size(magic) {
            return Err(malformed(format!(
                "message_size {size} is below the minimum {} for magic {magic}",
                min_message_size(magic)
            )));
        }
        let offset = be_i64(&bytes, OFFSET);
        let expected = be_i32(&bytes, CRC) as u32;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[MAGIC..]);
        let actual = crc.finalize();
        if expected != actual {
            return Err(CodecError::LegacyCrcMismatch {
                offset,
                magic,
                expected,
                actual,
            });
        }
        let id = (bytes[ATTRIBUTES] as i8 & COMPRESSION_MASK) as u8;
        if !(0..=3).contains(&id) {
            return Err(CodecError::UnknownCompression {
                id,
                base_offset: offset,
            });
        }
        let mut pos = if magic == 0 { TIMESTAMP } else { TIMESTAMP + 8 };
        let key = nullable_range(&bytes, &mut pos).map_err(|d| malformed(format!("key: {d}")))?;
        let value =
            nullable_range(&bytes, &mut pos).map_err(|d| malformed(format!("value: {d}")))?;
        if pos != bytes.len() {
            return Err(malformed(format!(
                "{} bytes after the value of the message at offset {offset}",
                bytes.len() - pos
            )));
        }
        Ok(LegacyBatch {
            bytes,
            position,
            key,
            value,
        })
    }

    /// The offset field. For a compressed wrapper, the offset of its last inner message.
    pub fn offset(&self) -> i64 {
        be_i64(&self.bytes, OFFSET)
    }

    /// Offset of the last message this entry holds (same as [`LegacyBatch::offset`]).
    pub fn last_offset(&self) -> i64 {
        self.offset()
    }

    /// 0 or 1.
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC] as i8
    }

    /// The stored CRC32.
    pub fn crc(&self) -> u32 {
        be_i32(&self.bytes, CRC) as u32
    }

    /// The raw attributes byte.
    pub fn attributes(&self) -> i8 {
        self.bytes[ATTRIBUTES] as i8
    }

    /// Compression of the value (None, Gzip, Snappy or Lz4).
    pub fn compression(&self) -> Compression {
        Compression::from_id((self.attributes() & COMPRESSION_MASK) as u8)
            .unwrap_or(Compression::None)
    }

    /// Timestamp type (always CreateTime for magic 0).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic() > 0 && self.attributes() & TIMESTAMP_TYPE_FLAG != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// The message timestamp; -1 for magic 0, which has none.
    pub fn timestamp(&self) -> i64 {
        if self.magic() == 0 {
            -1
        } else {
            be_i64(&self.bytes, TIMESTAMP)
        }
    }

    /// The key (`None` = null).
    pub fn key(&self) -> Option<Bytes> {
        self.key.map(|(s, e)| self.bytes.slice(s..e))
    }

    /// The value (`None` = null); the compressed inner message set for a wrapper.
    pub fn value(&self) -> Option<Bytes> {
        self.value.map(|(s, e)| self.bytes.slice(s..e))
    }

    /// The whole entry (offset, size and message) as it arrived.
    pub fn raw(&self) -> &Bytes {
        &self.bytes
    }

    /// Size of the entry in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// Decodes the message (or a wrapper's inner messages) into records with absolute offsets,
    /// decompressing at most [`DEFAULT_MAX_DECOMPRESSED_SIZE`](super::DEFAULT_MAX_DECOMPRESSED_SIZE)
    /// bytes. Records have no headers.
    pub fn records(&self) -> Result<Vec<Record>, CodecError> {
        self.records_with_limit(compression::DEFAULT_MAX_DECOMPRESSED_SIZE)
    }

    /// As [`LegacyBatch::records`] with an explicit decompression limit.
    pub fn records_with_limit(&self, max_decompressed: usize) -> Result<Vec<Record>, CodecError> {
        let codec = self.compression();
        if codec == Compression::None {
            return Ok(vec![self.to_record(self.offset(), self.timestamp())]);
        }
        let wrapper_offset = self.offset();
        let malformed = |detail: String| CodecError::MalformedBatch {
            position: self.position,
            detail: format!("compressed wrapper message at offset {wrapper_offset}: {detail}"),
        };
        let Some(payload) = self.value() else {
            return Err(malformed("null value".to_string()));
        };
        // Kafka 0.8/0.9 wrote magic 0 LZ4 frames with a wrong header checksum.
        let lz4 = if self.magic() == 0 {
            Lz4Header::Lenient
        } else {
            Lz4Header::Strict
        };
        let inner = compression::decompress(codec, &payload, max_decompressed, lz4)
            .map_err(|f| f.into_error(codec, wrapper_offset, max_decompressed))?;
        let inner = Bytes::from(inner);
        let mut messages = Vec::new();
        let mut pos = 0;
        while pos < inner.len() {
            let rest = inner.len() - pos;
            if rest < LOG_OVERHEAD {
                return Err(malformed(format!(
                    "inner message header truncated at byte {pos} of the decompressed payload"
                )));
            }
            let size = be_i32(&inner, pos + MESSAGE_SIZE);
            let end = usize::try_from(size)
                .ok()
                .and_then(|s| (pos + LOG_OVERHEAD).checked_add(s))
                .filter(|&e| e <= inner.len())
                .ok_or_else(|| {
                    malformed(format!(
                        "inner message at byte {pos} of the decompressed payload declares {size} bytes, {} remain",
                        rest - LOG_OVERHEAD
                    ))
                })?;
            let msg = LegacyBatch::new_at(inner.slice(pos..end), self.position)?;
            if msg.magic() != self.magic() {
                return Err(malformed(format!(
                    "inner message at byte {pos} has magic {}, the wrapper {}",
                    msg.magic(),
                    self.magic()
                )));
            }
            if msg.compression() != Compression::None {
                return Err(malformed(format!(
                    "inner message at byte {pos} is itself compressed"
                )));
            }
            messages.push(msg);
            pos = end;
        }
        let Some(last) = messages.last() else {
            return Err(malformed("no inner messages".to_string()));
        };
        // Magic 1 inner offsets are relative; anchor them so the last one is the wrapper's.
        let base = if self.magic() == 0 {
            0
        } else {
            wrapper_offset.checked_sub(last.offset()).ok_or_else(|| {
                malformed(format!(
                    "last inner relative offset {} overflows",
                    last.offset()
                ))
            })?
        };
        let log_append = self.timestamp_type() == TimestampType::LogAppendTime;
        messages
            .iter()
            .map(|m| {
                let offset = base
                    .checked_add(m.offset())
                    .ok_or_else(|| malformed(format!("inner offset {} overflows", m.offset())))?;
                let timestamp = if log_append {
                    self.timestamp()
                } else {
                    m.timestamp()
                };
                let mut record = m.to_record(offset, timestamp);
                record.timestamp_type = self.timestamp_type();
                Ok(record)
            })
            .collect()
    }

    fn to_record(&self, offset: i64, timestamp: i64) -> Record {
        Record {
            offset,
            timestamp,
            timestamp_type: self.timestamp_type(),
            key: self.key(),
            value: self.value(),
            headers: Vec::new(),
        }
    }
}

/// Reads an i32 length (-1 = null) and returns the byte range that follows.
fn nullable_range(b: &[u8], pos: &mut usize) -> Result<Option<(usize, usize)>, LegacyLengthError> {
    let Some(len_bytes) = b.get(*pos..*pos + 4) else {
        return Err(LegacyLengthError::Truncated { at: *pos });
    };
    let len = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    *pos += 4;
    if len == -1 {
        return Ok(None);
    }
    let start = *pos;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&e| e <= b.len())
        .ok_or(LegacyLengthError::DoesNotFit {
            len,
            at: start - 4,
            left: b.len() - start,
        })?;
    *pos = end;
    Ok(Some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_ranges_and_their_errors() {
        let read = |b: &[u8]| {
            let mut pos = 0;
            nullable_range(b, &mut pos).map(|range| (range, pos))
        };
        assert_eq!(read(&[0, 0, 0, 2, 9, 9, 7]), Ok((Some((4, 6)), 6)));
        assert_eq!(read(&[0xff; 4]), Ok((None, 4)));
        let errors = [
            (
                read(&[0, 0, 0]),
                LegacyLengthError::Truncated { at: 0 },
                "length truncated at byte 0",
            ),
            (
                read(&[0, 0, 0, 5, 1, 2]),
                LegacyLengthError::DoesNotFit {
                    len: 5,
                    at: 0,
                    left: 2,
                },
                "length 5 at byte 0 does not fit the 2 bytes left",
            ),
            (
                read(&[0xff, 0xff, 0xff, 0xfe]),
                LegacyLengthError::DoesNotFit {
                    len: -2,
                    at: 0,
                    left: 0,
                },
                "length -2 at byte 0 does not fit the 0 bytes left",
            ),
        ];
        for (got, error, text) in errors {
            assert_eq!(got, Err(error.clone()));
            assert_eq!(error.to_string(), text);
        }
    }
}
