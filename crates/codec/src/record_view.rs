//! Borrowed record views: one record of a (decompressed) records section as slices of it, with
//! nothing allocated. [`Records`](super::Records) builds its owned [`Record`](super::Record)s
//! from these; [`RecordBatchBuilder::push_view`](super::RecordBatchBuilder::push_view) splices
//! them into a new batch, copying the encoded key, value and headers as they are.

use crate::batch::TimestampType;
use crate::error::CodecError;
use crate::varint::{read_varint, read_varlong};

/// A record-level failure: where it happened and what was wrong.
pub(crate) type Failure = (usize, String);

/// One header as slices of the records section. Keys are never null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// Header key.
    pub key: &'a [u8],
    /// Header value; `None` is a null value.
    pub value: Option<&'a [u8]>,
}

/// One record of a v2 batch, borrowed from the records section it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// Absolute offset (base offset + offset delta).
    pub offset: i64,
    /// Absolute timestamp, as [`Record::timestamp`](super::Record::timestamp).
    pub timestamp: i64,
    /// Key; `None` is a null key.
    pub key: Option<&'a [u8]>,
    /// Value; `None` is a null value.
    pub value: Option<&'a [u8]>,
    /// The record's attributes byte (unused by Kafka, kept as read).
    pub(crate) attributes: u8,
    /// The encoded key and value: `key_length | key | value_length | value`.
    pub(crate) key_value: &'a [u8],
    pub(crate) header_count: i32,
    /// The encoded headers (validated when the view was read).
    pub(crate) headers: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.header_count as usize
    }

    /// The headers in wire order.
    pub fn headers(&self) -> HeaderRefs<'a> {
        HeaderRefs {
            data: self.headers,
            pos: 0,
            remaining: self.header_count as usize,
        }
    }
}

/// Iterator over a [`RecordView`]'s headers.
#[derive(Debug, Clone)]
pub struct HeaderRefs<'a> {
    data: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> Iterator for HeaderRefs<'a> {
    type Item = HeaderRef<'a>;

    fn next(&mut self) -> Option<HeaderRef<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // Validated by `read_record`: every header is well-formed and has a key.
        let key = nullable(self.data, &mut self.pos, "header key")
            .ok()
            .flatten()
            .unwrap_or_default();
        let value = nullable(self.data, &mut self.pos, "header value")
            .ok()
            .flatten();
        Some(HeaderRef { key, value })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for HeaderRefs<'_> {}

/// What a records section's records are relative to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchContext {
    pub base_offset: i64,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub timestamp_type: TimestampType,
}

/// Reads a varint length (-1 = null) and that many bytes.
#[inline]
fn nullable<'a>(body: &'a [u8], pos: &mut usize, what: &str) -> Result<Option<&'a [u8]>, Failure> {
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
    Ok(Some(&body[start..end]))
}

/// Reads the record at `*pos` of `data` (a records section), advancing `pos` past it. Every
/// field is checked, so a view's headers can be walked again without errors.
pub(crate) fn read_record<'a>(
    data: &'a [u8],
    pos: &mut usize,
    ctx: &BatchContext,
) -> Result<RecordView<'a>, Failure> {
    let start = *pos;
    let mut at = start;
    let len = read_varint(data, &mut at).map_err(|e| (start, format!("length: {e}")))?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| at.checked_add(l))
        .filter(|&e| e <= data.len())
        .ok_or_else(|| {
            (
                start,
                format!(
                    "record length {len} does not fit the {} bytes left",
                    data.len() - at
                ),
            )
        })?;
    let body_start = at;
    // Reads below cannot run past this record.
    let body = &data[..end];
    let mut p = at;
    let Some(&attributes) = body.get(p) else {
        return Err((p, "attributes missing".to_string()));
    };
    p += 1;
    let at = p;
    let ts_delta = read_varlong(body, &mut p).map_err(|e| (at, format!("timestamp delta: {e}")))?;
    let at = p;
    let offset_delta = read_varint(body, &mut p).map_err(|e| (at, format!("offset delta: {e}")))?;
    let key_value_start = p;
    let key = nullable(body, &mut p, "key")?;
    let value = nullable(body, &mut p, "value")?;
    let key_value = &body[key_value_start..p];
    let at = p;
    let header_count = read_varint(body, &mut p).map_err(|e| (at, format!("header count: {e}")))?;
    if header_count < 0 {
        return Err((at, format!("negative header count {header_count}")));
    }
    let headers_start = p;
    for _ in 0..header_count {
        let at = p;
        if nullable(body, &mut p, "header key")?.is_none() {
            return Err((at, "null header key".to_string()));
        }
        nullable(body, &mut p, "header value")?;
    }
    if p != end {
        return Err((
            start,
            format!(
                "record length {len} but its fields take {} bytes",
                p - body_start
            ),
        ));
    }
    let offset = ctx
        .base_offset
        .checked_add(i64::from(offset_delta))
        .ok_or_else(|| (start, format!("offset delta {offset_delta} overflows")))?;
    let timestamp = match ctx.timestamp_type {
        TimestampType::LogAppendTime => ctx.max_timestamp,
        TimestampType::CreateTime => ctx
            .base_timestamp
            .checked_add(ts_delta)
            .ok_or_else(|| (start, format!("timestamp delta {ts_delta} overflows")))?,
    };
    *pos = end;
    Ok(RecordView {
        offset,
        timestamp,
        key,
        value,
        attributes,
        key_value,
        header_count,
        headers: &body[headers_start..end],
    })
}

/// Iterator of [`RecordView`]s over a records section (see
/// [`Records::views`](super::Records::views)): yields each record or the first error, then
/// stops; leftover bytes after the declared records are an error, as for `Records`.
#[derive(Debug, Clone)]
pub struct RecordViews<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
    remaining: u32,
    ctx: BatchContext,
    section: &'static str,
    done: bool,
}

impl<'a> RecordViews<'a> {
    pub(crate) fn new(
        data: &'a [u8],
        pos: usize,
        index: usize,
        remaining: u32,
        ctx: BatchContext,
        section: &'static str,
    ) -> RecordViews<'a> {
        RecordViews {
            data,
            pos,
            index,
            remaining,
            ctx,
            section,
            done: false,
        }
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
}

impl<'a> Iterator for RecordViews<'a> {
    type Item = Result<RecordView<'a>, CodecError>;

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
        match read_record(self.data, &mut self.pos, &self.ctx) {
            Ok(view) => {
                self.remaining -= 1;
                self.index += 1;
                Some(Ok(view))
            }
            Err(failure) => {
                self.done = true;
                Some(Err(self.error(failure)))
            }
        }
    }
}

impl std::iter::FusedIterator for RecordViews<'_> {}

// Every codec is exercised: needs the default features.
#[cfg(all(
    test,
    feature = "gzip",
    feature = "snappy",
    feature = "lz4",
    feature = "zstd"
))]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use crate::{
        Compression, Header, HeaderRef, Record, RecordBatch, RecordBatchBuilder, TimestampType,
    };

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    type Input = (
        i64,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Vec<(Vec<u8>, Option<Vec<u8>>)>,
    );

    fn source(codec: Compression, records: &[Input], log_append: bool) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(codec);
        b.base_offset(9_000).producer(5, 1, 40);
        if log_append {
            b.log_append_time(1_800_000_000_000);
        }
        for (ts, key, value, headers) in records {
            let headers: Vec<Header> = headers
                .iter()
                .map(|(k, v)| Header::new(k.clone(), v.clone().map(Bytes::from)))
                .collect();
            b.push(*ts, key.as_deref(), value.as_deref(), &headers)
                .unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    const EXTRA: HeaderRef<'static> = HeaderRef {
        key: b"__kreplicate",
        value: Some(b"\x01provenance"),
    };

    /// Splices every record of `src` with `EXTRA` appended, into a `to` batch.
    fn spliced(src: &RecordBatch, to: Compression) -> RecordBatch {
        let records = src.records().unwrap();
        let mut b = RecordBatchBuilder::new(to);
        b.base_offset(src.base_offset());
        for view in records.views() {
            b.push_view(&view.unwrap(), &[EXTRA]).unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    /// The old path: decode into owned records, push each with the header appended.
    fn decoded_and_encoded(src: &RecordBatch, to: Compression) -> RecordBatch {
        let extra = Header::new(
            Bytes::from_static(EXTRA.key),
            EXTRA.value.map(Bytes::from_static),
        );
        let mut b = RecordBatchBuilder::new(to);
        b.base_offset(src.base_offset());
        for r in src.records().unwrap() {
            b.push_record(&r.unwrap(), std::slice::from_ref(&extra))
                .unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    fn input() -> impl Strategy<Value = Vec<Input>> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40));
        let header = (proptest::collection::vec(any::<u8>(), 0..8), bytes());
        proptest::collection::vec(
            (
                // Deltas of either sign and width around the base timestamp.
                prop_oneof![-5i64..5, -1_000_000_000i64..1_000_000_000],
                bytes(),
                bytes(),
                proptest::collection::vec(header, 0..4),
            ),
            1..30,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(d, k, val, h)| (1_700_000_000_000 + d, k, val, h))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Spliced output decodes to exactly the input records plus the header, and its
        /// records section is byte for byte what decoding and re-encoding writes, for every
        /// source and target codec and both timestamp types.
        #[test]
        fn splicing_equals_decode_and_encode(records in input(), log_append in any::<bool>()) {
            for from in ALL {
                let src = source(from, &records, log_append);
                let want: Vec<Record> = src
                    .records()
                    .unwrap()
                    .map(|r| {
                        let mut r = r.unwrap();
                        r.headers.push(Header::new(
                            Bytes::from_static(EXTRA.key),
                            EXTRA.value.map(Bytes::from_static),
                        ));
                        r.timestamp_type = TimestampType::CreateTime;
                        r
                    })
                    .collect();
                prop_assert_eq!(want.len(), records.len());
                for to in ALL {
                    let out = spliced(&src, to);
                    let got: Vec<Record> = out.records().unwrap().map(Result::unwrap).collect();
                    prop_assert_eq!(&got, &want, "{} -> {}", from, to);
                    let old = decoded_and_encoded(&src, to);
                    prop_assert_eq!(
                        out.records().unwrap().data().clone(),
                        old.records().unwrap().data().clone(),
                        "{} -> {}", from, to
                    );
                    prop_assert_eq!(
                        (out.base_offset(), out.last_offset(), out.record_count()),
                        (src.base_offset(), src.last_offset(), src.record_count())
                    );
                }
            }
        }

        /// Views read exactly what `Records` reads, and fail where it fails: on arbitrary
        /// bytes, and on a valid records section with one byte changed and cut short.
        #[test]
        fn views_match_records_on_arbitrary_sections(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            count in 0u32..5,
        ) {
            views_match_records(data, count)?;
        }

        #[test]
        fn views_match_records_on_damaged_sections(
            records in input(),
            at in any::<prop::sample::Index>(),
            xor in 1u8..,
            keep in any::<prop::sample::Index>(),
        ) {
            let src = source(Compression::None, &records, false);
            let mut data = src.records().unwrap().data().to_vec();
            let i = at.index(data.len());
            data[i] ^= xor;
            let keep = keep.index(data.len() + 1);
            data.truncate(keep);
            views_match_records(data, records.len() as u32)?;
        }
    }

    fn views_match_records(data: Vec<u8>, count: u32) -> Result<(), TestCaseError> {
        let records = super::super::Records::new(
            Bytes::from(data),
            false,
            count,
            10,
            1_000,
            2_000,
            TimestampType::CreateTime,
        );
        let views: Vec<_> = records.views().collect();
        let owned: Vec<_> = records.clone().collect();
        prop_assert_eq!(views.len(), owned.len());
        for (v, o) in views.iter().zip(&owned) {
            match (v, o) {
                (Ok(v), Ok(o)) => {
                    prop_assert_eq!((v.offset, v.timestamp), (o.offset, o.timestamp));
                    prop_assert_eq!(v.key, o.key.as_deref());
                    prop_assert_eq!(v.value, o.value.as_deref());
                    let hs: Vec<_> = v.headers().collect();
                    prop_assert_eq!(hs.len(), o.headers.len());
                    for (h, oh) in hs.iter().zip(&o.headers) {
                        prop_assert_eq!(h.key, &oh.key[..]);
                        prop_assert_eq!(h.value, oh.value.as_deref());
                    }
                }
                (Err(v), Err(o)) => prop_assert_eq!(v.to_string(), o.to_string()),
                _ => prop_assert!(false, "views and records disagree: {:?} vs {:?}", v, o),
            }
        }
        Ok(())
    }

    #[test]
    fn views_of_a_partly_read_batch_start_where_records_stopped() {
        let input: Vec<Input> = (0..5)
            .map(|i| (1_700_000_000_000 + i, Some(vec![i as u8]), None, vec![]))
            .collect();
        let src = source(Compression::Lz4, &input, false);
        let mut records = src.records().unwrap();
        records.next().unwrap().unwrap();
        records.next().unwrap().unwrap();
        let offsets: Vec<i64> = records.views().map(|v| v.unwrap().offset).collect();
        assert_eq!(offsets, [9_002, 9_003, 9_004]);
        assert_eq!(records.count(), 3);
    }
}
