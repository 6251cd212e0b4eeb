//! Records of a v2 batch: [`Record`], [`Header`] and the lazy [`Records`] decoder.
//!
//! Record layout (inside the possibly compressed records section):
//! ```text
//! length varint | attributes i8 | timestamp_delta varlong | offset_delta varint
//! key_length varint (-1 = null) | key | value_length varint (-1 = null) | value
//! header_count varint | { key_length varint | key | value_length varint (-1 = null) | value }*
//! ```

use bytes::Bytes;

use crate::batch::TimestampType;
use crate::error::CodecError;
use crate::record_view::{read_record, BatchContext, Failure, RecordViews};

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
    ctx: BatchContext,
    section: &'static str,
    done: bool,
}

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
            ctx: BatchContext {
                base_offset,
                base_timestamp,
                max_timestamp,
                timestamp_type,
            },
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

    /// The records not yielded yet as borrowed [`RecordView`](crate::RecordView)s: nothing is allocated per
    /// record (no `Bytes` reference counts, no header `Vec`).
    pub fn views(&self) -> RecordViews<'_> {
        if self.done {
            // Finished or failed: nothing more to read.
            return RecordViews::new(&[], 0, self.index, 0, self.ctx, self.section);
        }
        RecordViews::new(
            &self.data,
            self.pos,
            self.index,
            self.remaining,
            self.ctx,
            self.section,
        )
    }

    fn error(&self, (position, detail): Failure) -> CodecError {
        CodecError::InvalidRecord {
            base_offset: self.ctx.base_offset,
            index: self.index,
            position,
            section: self.section,
            detail,
        }
    }

    fn decode_next(&mut self) -> Result<Record, Failure> {
        let view = read_record(&self.data, &mut self.pos, &self.ctx)?;
        let data = &self.data;
        let owned = |s: Option<&[u8]>| s.map(|s| data.slice_ref(s));
        let headers = view
            .headers()
            .map(|h| Header {
                key: data.slice_ref(h.key),
                value: owned(h.value),
            })
            .collect();
        Ok(Record {
            offset: view.offset,
            timestamp: view.timestamp,
            timestamp_type: self.ctx.timestamp_type,
            key: owned(view.key),
            value: owned(view.value),
            headers,
        })
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
