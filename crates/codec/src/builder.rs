//! [`RecordBatchBuilder`]: encodes records into one v2 batch.

use bytes::{BufMut, Bytes, BytesMut};

use crate::batch::{
    self, TimestampType, ATTRIBUTES, BASE_OFFSET, BASE_SEQUENCE, BASE_TIMESTAMP, BATCH_LENGTH, CRC,
    LAST_OFFSET_DELTA, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH, PRODUCER_EPOCH,
    PRODUCER_ID, RECORD_BATCH_HEADER_SIZE, RECORD_COUNT,
};
use crate::compression::{self, Compression};
use crate::error::CodecError;
use crate::record::{Header, Record};
use crate::record_view::{HeaderRef, RecordView};
use crate::varint::{put_varint, put_varlong, varint_len, varlong_len};

/// Builds one v2 record batch.
///
/// Records are encoded (uncompressed) as they are pushed; [`RecordBatchBuilder::build`]
/// compresses them, writes the header and the CRC32C. The first record's timestamp becomes the
/// base timestamp. Defaults match a non-idempotent Java producer: base offset 0, partition
/// leader epoch, producer id, producer epoch and base sequence all -1, CreateTime.
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    compression: Compression,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    timestamp_type: TimestampType,
    log_append_time: Option<i64>,
    /// Header space followed by the encoded records.
    buf: BytesMut,
    count: i32,
    last_offset_delta: Option<i32>,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
}

/// Encoded size of a nullable byte string: varint length (-1 for null) plus the bytes.
fn nullable_len(b: Option<&[u8]>) -> Result<usize, CodecError> {
    match b {
        None => Ok(1),
        Some(b) => {
            let len = i32::try_from(b.len()).map_err(|_| CodecError::Build {
                detail: format!("field of {} bytes exceeds i32::MAX", b.len()),
            })?;
            Ok(varint_len(len) + b.len())
        }
    }
}

fn put_nullable(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            // Lengths were checked against i32::MAX when sizing the record.
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

fn headers_len(headers: &[Header]) -> Result<usize, CodecError> {
    let mut n = 0;
    for h in headers {
        n += nullable_len(Some(&h.key))? + nullable_len(h.value.as_deref())?;
    }
    Ok(n)
}

impl RecordBatchBuilder {
    /// A builder for a batch compressed with `compression`.
    pub fn new(compression: Compression) -> RecordBatchBuilder {
        let mut buf = BytesMut::with_capacity(4096);
        buf.resize(RECORD_BATCH_HEADER_SIZE, 0);
        RecordBatchBuilder {
            compression,
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            timestamp_type: TimestampType::CreateTime,
            log_append_time: None,
            buf,
            count: 0,
            last_offset_delta: None,
            base_timestamp: None,
            max_timestamp: -1,
        }
    }

    /// Sets the base offset (brokers assign offsets on produce; 0 is the convention).
    pub fn base_offset(&mut self, base_offset: i64) -> &mut Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the partition leader epoch (-1 from producers).
    pub fn partition_leader_epoch(&mut self, epoch: i32) -> &mut Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets the idempotent producer identity and the sequence of the first record.
    pub fn producer(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> &mut Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction.
    pub fn transactional(&mut self, transactional: bool) -> &mut Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (records built with
    /// [`ControlRecord`](super::ControlRecord)'s `encode_key` / `encode_value`).
    pub fn control(&mut self, control: bool) -> &mut Self {
        self.control = control;
        self
    }

    /// Sets the timestamp type flag. With LogAppendTime and no
    /// [`RecordBatchBuilder::log_append_time`], max_timestamp is still the largest record
    /// timestamp.
    pub fn timestamp_type(&mut self, timestamp_type: TimestampType) -> &mut Self {
        self.timestamp_type = timestamp_type;
        self
    }

    /// Marks the batch LogAppendTime with `append_time` as its max_timestamp, as a broker does.
    pub fn log_append_time(&mut self, append_time: i64) -> &mut Self {
        self.timestamp_type = TimestampType::LogAppendTime;
        self.log_append_time = Some(append_time);
        self
    }

    /// Number of records pushed.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch size if built now without compression; compression usually makes it smaller.
    /// A producer compares this plus [`RecordBatchBuilder::record_size_upper_bound`] against its
    /// batch size cap before pushing.
    pub fn estimated_size(&self) -> usize {
        self.buf.len()
    }

    /// The most bytes one record with these fields can add to [`RecordBatchBuilder::estimated_size`]
    /// (assumes the largest offset and timestamp deltas).
    pub fn record_size_upper_bound(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let field = |b: Option<&[u8]>| b.map_or(1, |b| 5 + b.len());
        let headers_len: usize = headers
            .iter()
            .map(|h| field(Some(&h.key)) + field(h.value.as_deref()))
            .sum();
        // length varint + attributes + timestamp delta + offset delta + header count.
        5 + 1 + 10 + 5 + field(key) + field(value) + 5 + headers_len
    }

    /// Appends a record at the next offset delta (0 for the first, then last + 1) and returns
    /// the delta used.
    pub fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<i32, CodecError> {
        let delta = self.next_delta()?;
        self.push_impl(delta, timestamp, key, value, headers, &[])?;
        Ok(delta)
    }

    /// Appends a record at an explicit offset delta, which must exceed the previous one.
    pub fn push_at(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<(), CodecError> {
        self.push_impl(offset_delta, timestamp, key, value, headers, &[])
    }

    /// Appends a copy of a decoded record (its timestamp, key, value and headers) at the next
    /// offset delta, followed by `extra_headers`; returns the delta used. This is the
    /// replicator's "decode, add a header, re-encode" step without building a new header Vec.
    pub fn push_record(
        &mut self,
        record: &Record,
        extra_headers: &[Header],
    ) -> Result<i32, CodecError> {
        let delta = self.next_delta()?;
        self.push_impl(
            delta,
            record.timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
            extra_headers,
        )?;
        Ok(delta)
    }

    fn next_delta(&self) -> Result<i32, CodecError> {
        match self.last_offset_delta {
            None => Ok(0),
            Some(d) => d.checked_add(1).ok_or_else(|| CodecError::Build {
                detail: "offset delta overflows i32".to_string(),
            }),
        }
    }

    fn push_impl(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        extra_headers: &[Header],
    ) -> Result<(), CodecError> {
        let build_err = |detail: String| CodecError::Build { detail };
        let ts_delta = self.next_record(offset_delta, timestamp)?;
        let header_count = headers.len() + extra_headers.len();
        let header_count_i32 = i32::try_from(header_count)
            .map_err(|_| build_err(format!("{header_count} headers exceed i32::MAX")))?;
        let body = 1
            + varlong_len(ts_delta)
            + varint_len(offset_delta)
            + nullable_len(key)?
            + nullable_len(value)?
            + varint_len(header_count_i32)
            + headers_len(headers)?
            + headers_len(extra_headers)?;
        let body_i32 = i32::try_from(body)
            .map_err(|_| build_err(format!("record of {body} bytes exceeds i32::MAX")))?;

        let buf = &mut self.buf;
        buf.reserve(varint_len(body_i32) + body);
        put_varint(buf, body_i32);
        buf.put_u8(0); // record attributes: unused
        put_varlong(buf, ts_delta);
        put_varint(buf, offset_delta);
        put_nullable(buf, key);
        put_nullable(buf, value);
        put_varint(buf, header_count_i32);
        for h in headers.iter().chain(extra_headers) {
            put_nullable(buf, Some(&h.key));
            put_nullable(buf, h.value.as_deref());
        }

        self.pushed(offset_delta, timestamp);
        Ok(())
    }

    /// Splices a record read from another batch (see [`Records::views`](super::Records::views))
    /// at the next offset delta, followed by `extra_headers`; returns the delta used. The
    /// record's encoded key, value and headers are copied as they are, nothing decoded or
    /// allocated; only its length, timestamp and offset deltas and header count are written
    /// anew. It reads back with the view's timestamp, key, value and headers, then
    /// `extra_headers`.
    pub fn push_view(
        &mut self,
        view: &RecordView<'_>,
        extra_headers: &[HeaderRef<'_>],
    ) -> Result<i32, CodecError> {
        let build_err = |detail: String| CodecError::Build { detail };
        let delta = self.next_delta()?;
        let ts_delta = self.next_record(delta, view.timestamp)?;
        let header_count = i32::try_from(extra_headers.len())
            .ok()
            .and_then(|n| view.header_count.checked_add(n))
            .ok_or_else(|| build_err("header count exceeds i32::MAX".to_string()))?;
        let mut extra_len = 0;
        for h in extra_headers {
            extra_len += nullable_len(Some(h.key))? + nullable_len(h.value)?;
        }
        let body = 1
            + varlong_len(ts_delta)
            + varint_len(delta)
            + view.key_value.len()
            + varint_len(header_count)
            + view.headers.len()
            + extra_len;
        let body_i32 = i32::try_from(body)
            .map_err(|_| build_err(format!("record of {body} bytes exceeds i32::MAX")))?;

        let buf = &mut self.buf;
        buf.reserve(varint_len(body_i32) + body);
        put_varint(buf, body_i32);
        buf.put_u8(view.attributes);
        put_varlong(buf, ts_delta);
        put_varint(buf, delta);
        buf.put_slice(view.key_value);
        put_varint(buf, header_count);
        buf.put_slice(view.headers);
        for h in extra_headers {
            put_nullable(buf, Some(h.key));
            put_nullable(buf, h.value);
        }
        self.pushed(delta, view.timestamp);
        Ok(delta)
    }

    /// Checks that a record at `offset_delta` with `timestamp` can follow the ones pushed;
    /// returns its timestamp delta.
    fn next_record(&mut self, offset_delta: i32, timestamp: i64) -> Result<i64, CodecError> {
        let build_err = |detail: String| CodecError::Build { detail };
        if offset_delta < 0
            || self
                .last_offset_delta
                .is_some_and(|last| offset_delta <= last)
        {
            return Err(build_err(format!(
                "offset delta {offset_delta} must be non-negative and greater than the previous {:?}",
                self.last_offset_delta
            )));
        }
        if self.count == i32::MAX {
            return Err(build_err("record count would exceed i32::MAX".to_string()));
        }
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp);
        timestamp.checked_sub(base_timestamp).ok_or_else(|| {
            build_err(format!(
                "timestamp {timestamp} is too far from the base timestamp {base_timestamp}"
            ))
        })
    }

    fn pushed(&mut self, offset_delta: i32, timestamp: i64) {
        self.count += 1;
        self.last_offset_delta = Some(offset_delta);
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }

    /// Encodes the batch: compresses the records, writes the header and the CRC32C.
    /// Fails for an empty batch or one larger than the format allows.
    pub fn build(mut self) -> Result<Bytes, CodecError> {
        if self.compression == Compression::None {
            let mut buf = std::mem::take(&mut self.buf);
            self.finish(&mut buf)?;
            return Ok(buf.freeze());
        }
        let records = &self.buf[RECORD_BATCH_HEADER_SIZE..];
        let mut out = Vec::with_capacity(RECORD_BATCH_HEADER_SIZE + records.len() / 2 + 64);
        out.resize(RECORD_BATCH_HEADER_SIZE, 0);
        compression::compress_into(self.compression, records, &mut out)?;
        self.finish(&mut out)?;
        Ok(Bytes::from(out))
    }

    /// Writes the header into `out[..61]` and the CRC32C over `out[21..]`.
    fn finish(&self, out: &mut [u8]) -> Result<(), CodecError> {
        let Some(last_offset_delta) = self.last_offset_delta else {
            return Err(CodecError::Build {
                detail: "a batch needs at least one record".to_string(),
            });
        };
        let batch_length =
            i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| CodecError::Build {
                detail: format!("batch of {} bytes exceeds i32::MAX", out.len()),
            })?;
        let attributes = batch::attributes(
            self.compression,
            self.timestamp_type,
            self.transactional,
            self.control,
        );
        let max_timestamp = self.log_append_time.unwrap_or(self.max_timestamp);
        let base_timestamp = self.base_timestamp.unwrap_or(-1);
        let h = &mut out[..RECORD_BATCH_HEADER_SIZE];
        h[BASE_OFFSET..BATCH_LENGTH].copy_from_slice(&self.base_offset.to_be_bytes());
        h[BATCH_LENGTH..PARTITION_LEADER_EPOCH].copy_from_slice(&batch_length.to_be_bytes());
        h[PARTITION_LEADER_EPOCH..MAGIC]
            .copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        h[MAGIC] = 2;
        h[ATTRIBUTES..LAST_OFFSET_DELTA].copy_from_slice(&attributes.to_be_bytes());
        h[LAST_OFFSET_DELTA..BASE_TIMESTAMP].copy_from_slice(&last_offset_delta.to_be_bytes());
        h[BASE_TIMESTAMP..MAX_TIMESTAMP].copy_from_slice(&base_timestamp.to_be_bytes());
        h[MAX_TIMESTAMP..PRODUCER_ID].copy_from_slice(&max_timestamp.to_be_bytes());
        h[PRODUCER_ID..PRODUCER_EPOCH].copy_from_slice(&self.producer_id.to_be_bytes());
        h[PRODUCER_EPOCH..BASE_SEQUENCE].copy_from_slice(&self.producer_epoch.to_be_bytes());
        h[BASE_SEQUENCE..RECORD_COUNT].copy_from_slice(&self.base_sequence.to_be_bytes());
        h[RECORD_COUNT..RECORD_BATCH_HEADER_SIZE].copy_from_slice(&self.count.to_be_bytes());
        let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
        out[CRC..ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }
}
