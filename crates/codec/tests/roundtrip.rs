//! Property and unit tests of the v2 codec: build → parse round trips for every compression,
//! pass-through rewrite, corruption (CRC) and truncation handling, record-set iteration.

use bytes::Bytes;
use kreplicate_codec::{
    Batch, CodecError, Compression, ControlKind, ControlRecord, Header, Record, RecordBatch,
    RecordBatchBuilder, RecordSet, RewriteFields, TimestampType, RECORD_BATCH_HEADER_SIZE,
};
use proptest::prelude::*;

const ALL: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// What a test pushes for one record.
#[derive(Debug, Clone)]
struct Input {
    gap: i32,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

#[derive(Debug, Clone)]
struct BatchSpec {
    compression: Compression,
    base_offset: i64,
    producer: (i64, i16, i32),
    transactional: bool,
    log_append_time: Option<i64>,
    records: Vec<Input>,
}

fn nullable_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        Just(Some(Vec::new())),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(Some),
    ]
}

fn header() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
    // Few distinct keys so duplicates are common; empty keys too.
    let key = prop_oneof![
        Just(b"a".to_vec()),
        Just(b"b".to_vec()),
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 1..12),
    ];
    (key, nullable_bytes())
}

fn input() -> impl Strategy<Value = Input> {
    (
        0i32..4,
        prop_oneof![Just(-1i64), 0i64..(1 << 45)],
        nullable_bytes(),
        nullable_bytes(),
        proptest::collection::vec(header(), 0..5),
    )
        .prop_map(|(gap, timestamp, key, value, headers)| Input {
            gap,
            timestamp,
            key,
            value,
            headers,
        })
}

fn batch_spec() -> impl Strategy<Value = BatchSpec> {
    (
        proptest::sample::select(ALL.to_vec()),
        0i64..(1 << 50),
        (any::<i64>(), any::<i16>(), any::<i32>()),
        any::<bool>(),
        prop_oneof![3 => Just(None), 1 => (0i64..(1 << 45)).prop_map(Some)],
        proptest::collection::vec(input(), 1..30),
    )
        .prop_map(
            |(compression, base_offset, producer, transactional, log_append_time, records)| {
                BatchSpec {
                    compression,
                    base_offset,
                    producer,
                    transactional,
                    log_append_time,
                    records,
                }
            },
        )
}

fn headers_of(i: &Input) -> Vec<Header> {
    i.headers
        .iter()
        .map(|(k, v)| Header::new(k.clone(), v.clone().map(Bytes::from)))
        .collect()
}

/// Builds the batch (gap 0 uses `push`, others `push_at`) and returns the expected records.
fn build(spec: &BatchSpec) -> (Bytes, Vec<Record>) {
    let mut b = RecordBatchBuilder::new(spec.compression);
    b.base_offset(spec.base_offset)
        .producer(spec.producer.0, spec.producer.1, spec.producer.2)
        .transactional(spec.transactional);
    if let Some(t) = spec.log_append_time {
        b.log_append_time(t);
    }
    let mut expected = Vec::new();
    let mut delta = -1i32;
    for i in &spec.records {
        let headers = headers_of(i);
        if i.gap == 0 {
            delta = b
                .push(i.timestamp, i.key.as_deref(), i.value.as_deref(), &headers)
                .unwrap();
        } else {
            delta += i.gap;
            b.push_at(
                delta,
                i.timestamp,
                i.key.as_deref(),
                i.value.as_deref(),
                &headers,
            )
            .unwrap();
        }
        expected.push(Record {
            offset: spec.base_offset + i64::from(delta),
            timestamp: spec.log_append_time.unwrap_or(i.timestamp),
            timestamp_type: if spec.log_append_time.is_some() {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            key: i.key.clone().map(Bytes::from),
            value: i.value.clone().map(Bytes::from),
            headers,
        });
    }
    (b.build().unwrap(), expected)
}

fn decode(batch: &RecordBatch) -> Result<Vec<Record>, CodecError> {
    batch.records()?.collect()
}

/// Recomputes the CRC32C of a v2 batch in place (for tests that forge valid-CRC garbage).
fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn build_then_parse_is_identical(spec in batch_spec()) {
        let (bytes, expected) = build(&spec);
        let batch = RecordBatch::new(bytes.clone()).unwrap();
        prop_assert_eq!(batch.compression(), spec.compression);
        prop_assert_eq!(batch.base_offset(), spec.base_offset);
        prop_assert_eq!(batch.last_offset(), expected.last().unwrap().offset);
        prop_assert_eq!(batch.record_count() as usize, expected.len());
        prop_assert_eq!(
            (batch.producer_id(), batch.producer_epoch(), batch.base_sequence()),
            spec.producer
        );
        prop_assert_eq!(batch.is_transactional(), spec.transactional);
        prop_assert!(!batch.is_control());
        prop_assert_eq!(batch.partition_leader_epoch(), -1);
        prop_assert_eq!(batch.base_timestamp(), spec.records[0].timestamp);
        let max = spec.records.iter().map(|r| r.timestamp).max().unwrap().max(-1);
        prop_assert_eq!(batch.max_timestamp(), spec.log_append_time.unwrap_or(max));
        prop_assert_eq!(batch.raw(), &bytes);
        prop_assert_eq!(decode(&batch).unwrap(), expected.clone());

        // The same bytes through a record set, followed by a truncated copy of themselves.
        let mut two = bytes.to_vec();
        two.extend_from_slice(&bytes[..bytes.len() / 2]);
        let set = RecordSet::new(Bytes::from(two));
        let mut it = set.batches();
        let got: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(got[0].records().unwrap(), expected);
        prop_assert_eq!(it.truncated_tail().map(|t| t.position), Some(bytes.len()));
    }

    #[test]
    fn rewrite_keeps_records_and_crc(spec in batch_spec(), fields in (
        proptest::option::of(0i64..(1 << 50)),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i16>()),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<bool>()),
    )) {
        let (bytes, expected) = build(&spec);
        let batch = RecordBatch::new(bytes.clone()).unwrap();
        let f = RewriteFields {
            base_offset: fields.0,
            partition_leader_epoch: fields.1,
            producer_id: fields.2,
            producer_epoch: fields.3,
            base_sequence: fields.4,
            transactional: fields.5,
        };
        let out = RecordBatch::new(batch.rewrite(f)).expect("CRC valid after rewrite");
        prop_assert_eq!(out.base_offset(), f.base_offset.unwrap_or(spec.base_offset));
        prop_assert_eq!(out.partition_leader_epoch(), f.partition_leader_epoch.unwrap_or(-1));
        prop_assert_eq!(out.producer_id(), f.producer_id.unwrap_or(spec.producer.0));
        prop_assert_eq!(out.producer_epoch(), f.producer_epoch.unwrap_or(spec.producer.1));
        prop_assert_eq!(out.base_sequence(), f.base_sequence.unwrap_or(spec.producer.2));
        prop_assert_eq!(out.is_transactional(), f.transactional.unwrap_or(spec.transactional));
        // The other attribute bits stay.
        prop_assert_eq!(out.attributes() & !0x10, batch.attributes() & !0x10);
        // Records section untouched (still compressed the same way).
        prop_assert_eq!(&out.raw()[RECORD_BATCH_HEADER_SIZE..], &bytes[RECORD_BATCH_HEADER_SIZE..]);
        let shift = out.base_offset() - spec.base_offset;
        let moved: Vec<Record> = expected
            .into_iter()
            .map(|mut r| { r.offset += shift; r })
            .collect();
        prop_assert_eq!(decode(&out).unwrap(), moved);
        // Fields outside the CRC leave the CRC as it was.
        if f.producer_id.is_none()
            && f.producer_epoch.is_none()
            && f.base_sequence.is_none()
            && f.transactional.is_none()
        {
            prop_assert_eq!(out.crc(), batch.crc());
        }
    }

    #[test]
    fn corrupting_the_crc_region_is_always_detected(
        spec in batch_spec(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let (bytes, _) = build(&spec);
        let mut bad = bytes.to_vec();
        // Any byte from the CRC field itself (17) to the end.
        let i = 17 + at.index(bad.len() - 17);
        bad[i] ^= flip;
        let expected_crc = u32::from_be_bytes(bad[17..21].try_into().unwrap());
        match RecordBatch::new(Bytes::from(bad.clone())) {
            Err(CodecError::CrcMismatch { base_offset, expected, actual }) => {
                prop_assert_eq!(base_offset, spec.base_offset);
                prop_assert_eq!(expected, expected_crc);
                prop_assert_eq!(actual, crc32c::crc32c(&bad[21..]));
            }
            other => prop_assert!(false, "byte {} ^ {:#x}: {:?}", i, flip, other),
        }
        let set = RecordSet::new(Bytes::from(bad));
        let results: Vec<_> = set.batches().collect();
        prop_assert_eq!(results.len(), 1);
        let is_crc_mismatch = matches!(results[0], Err(CodecError::CrcMismatch { .. }));
        prop_assert!(is_crc_mismatch);
    }

    #[test]
    fn forged_garbage_with_a_valid_crc_never_panics(
        spec in batch_spec(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        // An attacker (or a buggy broker) can write a valid CRC over garbage: decoding must
        // return records or an error, never panic or loop.
        let (bytes, _) = build(&spec);
        let mut bad = bytes.to_vec();
        for (at, v) in edits {
            let i = RECORD_BATCH_HEADER_SIZE - 4 + at.index(bad.len() - RECORD_BATCH_HEADER_SIZE + 4);
            bad[i] = v;
        }
        fix_crc(&mut bad);
        if let Ok(batch) = RecordBatch::new(Bytes::from(bad)) {
            if let Ok(records) = batch.records_with_limit(1 << 20) {
                prop_assert!(records.count() <= batch.record_count() as usize + 1);
            }
            let _ = batch.control_record();
        }
    }

    #[test]
    fn truncated_input_never_panics(spec in batch_spec(), cut in any::<prop::sample::Index>()) {
        let (bytes, _) = build(&spec);
        let cut = cut.index(bytes.len());
        let part = bytes.slice(..cut);
        prop_assert!(RecordBatch::new(part.clone()).is_err());
        let set = RecordSet::new(part);
        let mut it = set.batches();
        prop_assert!(it.next().is_none(), "a cut batch is not yielded");
        let tail = it.truncated_tail();
        if cut == 0 {
            prop_assert_eq!(tail, None);
        } else {
            prop_assert_eq!(tail.map(|t| (t.position, t.available)), Some((0, cut)));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let set = RecordSet::new(Bytes::from(data));
        for batch in set.batches().flatten() {
            let _ = batch.records_with_limit(1 << 20);
        }
    }
}

fn simple_batch(compression: Compression, base_offset: i64, n: usize) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression);
    b.base_offset(base_offset);
    for i in 0..n {
        let v = format!("value {i}");
        b.push(1_000 + i as i64, None, Some(v.as_bytes()), &[])
            .unwrap();
    }
    b.build().unwrap()
}

#[test]
fn every_crc_covered_byte_flip_is_detected_for_every_codec() {
    for codec in ALL {
        let bytes = simple_batch(codec, 5, 20);
        for i in 17..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.to_vec();
                bad[i] ^= flip;
                match RecordBatch::new(Bytes::from(bad)) {
                    Err(CodecError::CrcMismatch { base_offset: 5, .. }) => {}
                    other => panic!("{codec}: byte {i} ^ {flip:#x} gave {other:?}"),
                }
            }
        }
    }
}

#[test]
fn header_corruption_outside_the_crc_is_framing_or_harmless() {
    let bytes = simple_batch(Compression::Lz4, 0, 3);
    // batch_length: the batch no longer frames, which a record set reports as truncation or
    // a malformed length, never as records.
    let mut bad = bytes.to_vec();
    bad[11] ^= 0x01;
    assert!(matches!(
        RecordBatch::new(Bytes::from(bad.clone())),
        Err(CodecError::MalformedBatch { position: 0, .. })
    ));
    // magic
    let mut bad = bytes.to_vec();
    bad[16] = 3;
    assert_eq!(
        RecordBatch::new(Bytes::from(bad)).unwrap_err(),
        CodecError::UnsupportedMagic {
            magic: 3,
            position: 0
        }
    );
}

#[test]
fn record_set_iterates_batches_and_reports_errors_by_position() {
    let a = simple_batch(Compression::None, 0, 3);
    let b = simple_batch(Compression::Gzip, 3, 2);
    let c = simple_batch(Compression::Zstd, 5, 4);
    let mut all = [a.to_vec(), b.to_vec(), c.to_vec()].concat();
    let set = RecordSet::new(Bytes::from(all.clone()));
    let batches: Vec<Batch> = set.batches().collect::<Result<_, _>>().unwrap();
    let offsets: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.records().unwrap())
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, (0..9).collect::<Vec<_>>());
    assert_eq!(
        batches.iter().map(Batch::next_offset).collect::<Vec<_>>(),
        [3, 5, 9]
    );

    // Corrupt the second batch's records: the first is still yielded, then one error, then end.
    let second = a.len();
    all[second + 70] ^= 0x10;
    let set = RecordSet::new(Bytes::from(all.clone()));
    let results: Vec<_> = set.batches().collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err, CodecError::CrcMismatch { base_offset: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("base offset 3"), "{err}");

    // An unknown magic names the byte position of the entry.
    all[second + 70] ^= 0x10;
    all[second + 16] = 7;
    let err = RecordSet::new(Bytes::from(all.clone()))
        .batches()
        .nth(1)
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        CodecError::UnsupportedMagic {
            magic: 7,
            position: second
        }
    );
    assert!(err.to_string().contains(&format!("byte {second}")), "{err}");

    // A length below any message is corrupt even at the end of the set.
    all[second + 16] = 2;
    all[second + 8..second + 12].copy_from_slice(&5i32.to_be_bytes());
    let err = RecordSet::new(Bytes::from(all))
        .batches()
        .nth(1)
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, CodecError::MalformedBatch { position, .. } if position == second));
}

#[test]
fn empty_and_tiny_record_sets() {
    assert_eq!(RecordSet::new(Bytes::new()).batches().count(), 0);
    let mut it = RecordSet::new(Bytes::from_static(&[0; 11])).batches();
    assert!(it.next().is_none());
    assert_eq!(it.truncated_tail().unwrap().declared_size, None);
}

#[test]
fn log_append_time_gives_every_record_the_max_timestamp() {
    let mut b = RecordBatchBuilder::new(Compression::Snappy);
    b.log_append_time(9_999);
    b.push(5, None, Some(b"x"), &[]).unwrap();
    b.push(7, None, Some(b"y"), &[]).unwrap();
    let batch = RecordBatch::new(b.build().unwrap()).unwrap();
    assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!((batch.base_timestamp(), batch.max_timestamp()), (5, 9_999));
    let records = decode(&batch).unwrap();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.timestamp, r.timestamp_type))
            .collect::<Vec<_>>(),
        [(9_999, TimestampType::LogAppendTime); 2]
    );
}

#[test]
fn control_batches_decode_their_marker() {
    for kind in [ControlKind::Commit, ControlKind::Abort] {
        let marker = ControlRecord {
            kind,
            coordinator_epoch: 12,
        };
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.control(true)
            .transactional(true)
            .producer(33, 2, -1)
            .base_offset(40);
        b.push(
            1,
            Some(&marker.encode_key()),
            Some(&marker.encode_value()),
            &[],
        )
        .unwrap();
        let batch = RecordBatch::new(b.build().unwrap()).unwrap();
        assert!(batch.is_control() && batch.is_transactional());
        assert_eq!(batch.control_record(), Ok(Some(marker)));
    }
    // A control batch whose record has a null key is reported, not decoded as a marker.
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.control(true).base_offset(8);
    b.push(1, None, Some(&[0, 0, 0, 0, 0, 0]), &[]).unwrap();
    let batch = RecordBatch::new(b.build().unwrap()).unwrap();
    let error = batch.control_record().unwrap_err();
    assert_eq!(
        error,
        CodecError::InvalidControlRecord {
            base_offset: 8,
            source: kreplicate_codec::ControlRecordError::NullKey,
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid control record in batch with base offset 8: control record has a null key"
    );
    // The cause is the control record's own error, for callers walking the chain.
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "control record has a null key");
}

#[test]
fn delete_horizon_flag_is_exposed() {
    let mut bytes = simple_batch(Compression::None, 0, 1).to_vec();
    bytes[22] |= 0x40;
    fix_crc(&mut bytes);
    let batch = RecordBatch::new(Bytes::from(bytes)).unwrap();
    assert_eq!(batch.delete_horizon_ms(), Some(1_000));
    assert_eq!(decode(&batch).unwrap()[0].timestamp, 1_000);
}

#[test]
fn decompression_limit_is_enforced() {
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    let big = vec![b'z'; 1 << 20];
    b.push(0, None, Some(&big), &[]).unwrap();
    let batch = RecordBatch::new(b.build().unwrap()).unwrap();
    assert!(batch.size() < 10_000);
    let err = batch.records_with_limit(1 << 19).unwrap_err();
    assert_eq!(
        err,
        CodecError::DecompressedTooLarge {
            codec: Compression::Zstd,
            base_offset: 0,
            limit: 1 << 19
        }
    );
    assert_eq!(decode(&batch).unwrap()[0].value.as_deref(), Some(&big[..]));
}

#[test]
fn record_count_mismatches_are_errors_naming_the_record() {
    let bytes = simple_batch(Compression::None, 100, 3);
    // Header says 2 records, section holds 3: the leftover bytes are reported.
    let mut fewer = bytes.to_vec();
    fewer[57..61].copy_from_slice(&2i32.to_be_bytes());
    fix_crc(&mut fewer);
    let batch = RecordBatch::new(Bytes::from(fewer)).unwrap();
    let results: Vec<_> = batch.records().unwrap().collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    match &results[2] {
        Err(CodecError::InvalidRecord {
            base_offset: 100,
            index: 2,
            detail,
            ..
        }) => {
            assert!(
                detail.contains("bytes left after the declared records"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Header says 4: the fourth record is missing.
    let mut more = bytes.to_vec();
    more[57..61].copy_from_slice(&4i32.to_be_bytes());
    fix_crc(&mut more);
    let batch = RecordBatch::new(Bytes::from(more)).unwrap();
    let err = decode(&batch).unwrap_err();
    assert!(
        matches!(err, CodecError::InvalidRecord { index: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("record #3"), "{err}");
    // Negative count.
    let mut neg = bytes.to_vec();
    neg[57..61].copy_from_slice(&(-1i32).to_be_bytes());
    fix_crc(&mut neg);
    assert!(matches!(
        RecordBatch::new(Bytes::from(neg)),
        Err(CodecError::MalformedBatch { .. })
    ));
}

#[test]
fn unknown_compression_id_is_rejected() {
    let mut bytes = simple_batch(Compression::None, 6, 1).to_vec();
    bytes[22] |= 0x07;
    fix_crc(&mut bytes);
    assert_eq!(
        RecordBatch::new(Bytes::from(bytes)).unwrap_err(),
        CodecError::UnknownCompression {
            id: 7,
            base_offset: 6
        }
    );
}

#[test]
fn uncompressed_records_are_slices_of_the_batch() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(
        0,
        Some(b"key"),
        Some(b"value"),
        &[Header::new("h", Some(Bytes::from_static(b"hv")))],
    )
    .unwrap();
    let bytes = b.build().unwrap();
    let batch = RecordBatch::new(bytes.clone()).unwrap();
    let r = decode(&batch).unwrap().remove(0);
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    for part in [
        r.key.unwrap(),
        r.value.unwrap(),
        r.headers[0].value.clone().unwrap(),
    ] {
        assert!(range.contains(&(part.as_ptr() as usize)), "zero-copy slice");
    }
}

#[test]
fn builder_rejects_what_a_batch_cannot_hold() {
    assert!(matches!(
        RecordBatchBuilder::new(Compression::None).build(),
        Err(CodecError::Build { .. })
    ));
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push_at(5, 0, None, None, &[]).unwrap();
    assert!(
        b.push_at(5, 0, None, None, &[]).is_err(),
        "offset deltas must increase"
    );
    assert!(b.push_at(-1, 0, None, None, &[]).is_err());
    assert_eq!(b.push(0, None, None, &[]).unwrap(), 6);
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(i64::MIN, None, None, &[]).unwrap();
    assert!(
        b.push(i64::MAX, None, None, &[]).is_err(),
        "timestamp delta overflows"
    );
    assert_eq!(b.len(), 1);
}

#[test]
fn estimated_size_is_exact_uncompressed_and_bounded_per_record() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    assert_eq!(b.estimated_size(), RECORD_BATCH_HEADER_SIZE);
    let headers = [
        Header::new("k", None),
        Header::new("k", Some(Bytes::from_static(b"v"))),
    ];
    for i in 0..50i64 {
        let before = b.estimated_size();
        let value = vec![b'x'; i as usize * 10];
        let bound =
            RecordBatchBuilder::record_size_upper_bound(Some(b"key"), Some(&value), &headers);
        b.push(i * 1000, Some(b"key"), Some(&value), &headers)
            .unwrap();
        let grew = b.estimated_size() - before;
        assert!(grew <= bound, "record {i}: grew {grew} > bound {bound}");
    }
    let size = b.estimated_size();
    assert_eq!(b.build().unwrap().len(), size);
}

#[test]
fn errors_name_what_and_where() {
    let e = RecordBatch::new(Bytes::from_static(&[0; 20])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "truncated v2 batch header at byte 0: need 61 bytes, 20 available"
    );
    let e = CodecError::CrcMismatch {
        base_offset: 42,
        expected: 1,
        actual: 2,
    };
    assert_eq!(
        e.to_string(),
        "CRC32C mismatch in batch with base offset 42: stored 0x00000001, computed 0x00000002"
    );
}

#[test]
fn empty_batch_left_by_compaction_decodes_to_no_records() {
    // The log cleaner keeps empty batches to retain producer state; they still advance offsets.
    let full = simple_batch(Compression::None, 70, 4);
    let mut empty = full[..RECORD_BATCH_HEADER_SIZE].to_vec();
    empty[8..12].copy_from_slice(&((RECORD_BATCH_HEADER_SIZE - 12) as i32).to_be_bytes());
    empty[57..61].copy_from_slice(&0i32.to_be_bytes());
    fix_crc(&mut empty);
    let set = RecordSet::new(Bytes::from(empty));
    let batches: Vec<Batch> = set.batches().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].records().unwrap(), vec![]);
    assert_eq!(
        (batches[0].last_offset(), batches[0].next_offset()),
        (73, 74)
    );
}
