//! Records of a v2 batch: [`Record`], [`Header`] and the lazy [`Records`] decoder.
//!
//! Record layout (inside the possibly compressed records section):
//! ```text
//! length varint | attributes i8 | timestamp_delta varlong | offset_delta varint
//! key_length varint (-1 = null) | key | value_length varint (-1 = null) | value
//! header_count varint | { key_length varint | key | value_length varint (-1 = null) | value }*
//! ```

use bytes::Bytes;

use super::batch::TimestampType;
use super::error::CodecError;
use super::varint::{read_varint, read_varlong};

/// One record header. Keys are never null; a null value is distinct from an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header key (UTF-8 by convention, not checked).
    pub key: Bytes,
    /// Header value; `None` is a null value.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header from anything convertible to [`Bytes`] (`&'static [u8]`, `Vec<u8>`, `String`...).
    pub fn new(key: impl Into<Bytes>, value: Option<Bytes>) -> Header {
        Header {
            key: key.into(),
            value,
        }
    }
}

/// One decoded record, with absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset: the batch's base offset plus the record's offset delta.
    pub offset: i64,
    /// Absolute timestamp in ms: base timestamp plus delta for CreateTime batches, the batch's
    /// max timestamp for LogAppendTime batches (Kafka semantics). -1 when absent (magic 0).
    pub timestamp: i64,
    /// Which clock `timestamp` comes from.
    pub timestamp_type: TimestampType,
    /// Key; `None` is a null key, distinct from an empty one.
    pub key: Option<Bytes>,
    /// Value; `None` is a null value (a tombstone), distinct from an empty one.
    pub value: Option<Bytes>,
    /// Headers in wire order; duplicate keys are kept.
    pub headers: Vec<Header>,
}

/// Lazy decoder over the records of one v2 batch; yields each record or the first error, then
/// stops. After the declared number of records, leftover bytes are reported as an error.
#[derive(Debug, Clone)]
pub struct Records {
    data: Bytes,
    pos: usize,
    index: usize,
    remaining: u32,
    base_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
    timestamp_type: TimestampType,
    section: &'static str,
    done: bool,
}

/// A record-level failure: where it happened and what was wrong.
type Failure = (usize, String);

impl Records {
    pub(crate) fn new(
        data: Bytes,
        decompressed: bool,
        count: u32,
        base_offset: i64,
        base_timestamp: i64,
        max_timestamp: i64,
        timestamp_type: TimestampType,
    ) -> Records {
        Records {
            data,
            pos: 0,
            index: 0,
            remaining: count,
            base_offset,
            base_timestamp,
            max_timestamp,
            timestamp_type,
            section: if decompressed {
                "decompressed records section"
            } else {
                "records section"
            },
            done: false,
        }
    }

    /// Records the header declares that have not been yielded yet.
    pub fn remaining(&self) -> usize {
        if self.done {
            0
        } else {
            self.remaining as usize
        }
    }

    /// The (decompressed) records section the records are slices of.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    fn error(&self, (position, detail): Failure) -> CodecError {
        CodecError::InvalidRecord {
            base_offset: self.base_offset,
            index: self.index,
            position,
            section: self.section,
            detail,
        }
    }

    fn decode_next(&mut self) -> Result<Record, Failure> {
        let data = &self.data[..];
        let start = self.pos;
        let mut pos = start;
        let len = read_varint(data, &mut pos).map_err(|e| (start, format!("length: {e}")))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= data.len())
            .ok_or_else(|| {
                (
                    start,
                    format!(
                        "record length {len} does not fit the {} bytes left",
                        data.len() - pos
                    ),
                )
            })?;
        let body_start = pos;
        // Reads below cannot run past this record.
        let body = &data[..end];
        let Some(&_attributes) = body.get(pos) else {
            return Err((pos, "attributes missing".to_string()));
        };
        pos += 1;
        let at = pos;
        let ts_delta =
            read_varlong(body, &mut pos).map_err(|e| (at, format!("timestamp delta: {e}")))?;
        let at = pos;
        let offset_delta =
            read_varint(body, &mut pos).map_err(|e| (at, format!("offset delta: {e}")))?;
        let key = self.nullable_bytes(body, &mut pos, "key")?;
        let value = self.nullable_bytes(body, &mut pos, "value")?;
        let at = pos;
        let header_count =
            read_varint(body, &mut pos).map_err(|e| (at, format!("header count: {e}")))?;
        let header_count = usize::try_from(header_count)
            .map_err(|_| (at, format!("negative header count {header_count}")))?;
        // Each header takes at least 2 bytes: never trust the count for the allocation.
        let mut headers = Vec::with_capacity(header_count.min((end - pos) / 2));
        for _ in 0..header_count {
            let at = pos;
            let Some(key) = self.nullable_bytes(body, &mut pos, "header key")? else {
                return Err((at, "null header key".to_string()));
            };
            let value = self.nullable_bytes(body, &mut pos, "header value")?;
            headers.push(Header { key, value });
        }
        if pos != end {
            return Err((
                start,
                format!(
                    "record length {len} but its fields take {} bytes",
                    pos - body_start
                ),
            ));
        }
        self.pos = end;
        let offset = self
            .base_offset
            .checked_add(i64::from(offset_delta))
            .ok_or_else(|| (start, format!("offset delta {offset_delta} overflows")))?;
        let timestamp = match self.timestamp_type {
            TimestampType::LogAppendTime => self.max_timestamp,
            TimestampType::CreateTime => self
                .base_timestamp
                .checked_add(ts_delta)
                .ok_or_else(|| (start, format!("timestamp delta {ts_delta} overflows")))?,
        };
        Ok(Record {
            offset,
            timestamp,
            timestamp_type: self.timestamp_type,
            key,
            value,
            headers,
        })
    }

    /// Reads a varint length (-1 = null) and that many bytes as a slice of `self.data`.
    #[inline]
    fn nullable_bytes(
        &self,
        body: &[u8],
        pos: &mut usize,
        what: &str,
    ) -> Result<Option<Bytes>, Failure> {
        let at = *pos;
        let len = read_varint(body, pos).map_err(|e| (at, format!("{what} length: {e}")))?;
        if len == -1 {
            return Ok(None);
        }
        let start = *pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= body.len())
            .ok_or_else(|| {
                (
                    at,
                    format!(
                        "{what} length {len} does not fit the {} bytes left in the record",
                        body.len() - start
                    ),
                )
            })?;
        *pos = end;
        Ok(Some(self.data.slice(start..end)))
    }
}

impl Iterator for Records {
    type Item = Result<Record, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.remaining == 0 {
            self.done = true;
            if self.pos != self.data.len() {
                let extra = self.data.len() - self.pos;
                return Some(Err(self.error((
                    self.pos,
                    format!("{extra} bytes left after the declared records"),
                ))));
            }
            return None;
        }
        match self.decode_next() {
            Ok(record) => {
                self.remaining -= 1;
                self.index += 1;
                Some(Ok(record))
            }
            Err(failure) => {
                self.done = true;
                Some(Err(self.error(failure)))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            // A trailing-bytes error may add one item.
            (0, Some(self.remaining as usize + 1))
        }
    }
}

impl std::iter::FusedIterator for Records {}
