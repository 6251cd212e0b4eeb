//! Legacy (magic 0 and 1) message sets: plain messages, compressed wrappers with absolute (v0)
//! and relative (v1) inner offsets, LogAppendTime, Kafka 0.8's broken LZ4 header checksum,
//! CRC32 checks and malformed input. Messages are encoded here by hand from the format spec.

use std::io::Write;

use bytes::Bytes;
use kreplicate_codec::{
    Batch, CodecError, Compression, LegacyBatch, Record, RecordBatchBuilder, RecordSet,
    TimestampType,
};
use proptest::prelude::*;

/// `crc | magic | attributes | [timestamp] | key | value`.
fn message(
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![magic as u8, attributes as u8];
    if magic == 1 {
        body.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(&body);
    let mut m = crc.sum().to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

/// `offset | size | message`.
fn entry(offset: i64, message: &[u8]) -> Vec<u8> {
    let mut e = offset.to_be_bytes().to_vec();
    e.extend_from_slice(&(message.len() as i32).to_be_bytes());
    e.extend_from_slice(message);
    e
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn xerial_snappy(data: &[u8]) -> Vec<u8> {
    let mut out = b"\x82SNAPPY\0".to_vec();
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
    for chunk in data.chunks(100) {
        let c = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(&c);
    }
    out
}

fn lz4_frame(data: &[u8]) -> Vec<u8> {
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A nullable key and value.
type KeyValue = (Option<&'static [u8]>, Option<&'static [u8]>);

/// Key and value of the three inner messages of [`wrapper`]: nulls and empties.
const KEYS_VALUES: [KeyValue; 3] = [
    (Some(b"k0"), Some(b"v0")),
    (None, Some(b"v1")),
    (Some(b""), None),
];

/// Three inner messages (offsets `first..first+3`), compressed into one wrapper entry.
fn wrapper(
    magic: i8,
    codec: Compression,
    first_inner: i64,
    wrapper_offset: i64,
    attrs_extra: i8,
    wrapper_ts: i64,
) -> Vec<u8> {
    let mut inner = Vec::new();
    let contents = KEYS_VALUES;
    for (i, (k, v)) in contents.iter().enumerate() {
        inner.extend(entry(
            first_inner + i as i64,
            &message(magic, 0, 500 + i as i64, *k, *v),
        ));
    }
    let payload = match codec {
        Compression::Gzip => gzip(&inner),
        Compression::Snappy => xerial_snappy(&inner),
        Compression::Lz4 => lz4_frame(&inner),
        other => panic!("{other} is not a legacy codec"),
    };
    entry(
        wrapper_offset,
        &message(
            magic,
            codec.id() as i8 | attrs_extra,
            wrapper_ts,
            None,
            Some(&payload),
        ),
    )
}

fn only_legacy(bytes: Vec<u8>) -> LegacyBatch {
    let set = RecordSet::new(Bytes::from(bytes));
    let mut batches: Vec<Batch> = set.batches().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    match batches.remove(0) {
        Batch::Legacy(b) => b,
        other => panic!("expected legacy, got {other:?}"),
    }
}

fn triple(offsets: [i64; 3], timestamps: [i64; 3], ts_type: TimestampType) -> Vec<Record> {
    let kv = KEYS_VALUES;
    (0..3)
        .map(|i| Record {
            offset: offsets[i],
            timestamp: timestamps[i],
            timestamp_type: ts_type,
            key: kv[i].0.map(Bytes::from_static),
            value: kv[i].1.map(Bytes::from_static),
            headers: vec![],
        })
        .collect()
}

#[test]
fn plain_v0_and_v1_messages() {
    let mut set = entry(10, &message(0, 0, 0, Some(b"a"), Some(b"b")));
    set.extend(entry(11, &message(1, 0, 1234, None, Some(b""))));
    set.extend(entry(12, &message(1, 0x08, 4321, Some(b"k"), None)));
    let batches: Vec<Batch> = RecordSet::new(Bytes::from(set))
        .batches()
        .collect::<Result<_, _>>()
        .unwrap();
    let records: Vec<Record> = batches.iter().flat_map(|b| b.records().unwrap()).collect();
    assert_eq!(
        records,
        [
            Record {
                offset: 10,
                timestamp: -1,
                timestamp_type: TimestampType::CreateTime,
                key: Some(Bytes::from_static(b"a")),
                value: Some(Bytes::from_static(b"b")),
                headers: vec![],
            },
            Record {
                offset: 11,
                timestamp: 1234,
                timestamp_type: TimestampType::CreateTime,
                key: None,
                value: Some(Bytes::new()),
                headers: vec![],
            },
            Record {
                offset: 12,
                timestamp: 4321,
                timestamp_type: TimestampType::LogAppendTime,
                key: Some(Bytes::from_static(b"k")),
                value: None,
                headers: vec![],
            },
        ]
    );
    assert_eq!(
        batches.iter().map(Batch::magic).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    assert_eq!(batches[2].next_offset(), 13);
}

#[test]
fn v1_wrappers_use_relative_inner_offsets_for_every_codec() {
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
        // Inner 0,1,2; wrapper at 102 => absolute 100,101,102.
        let b = only_legacy(wrapper(1, codec, 0, 102, 0, 999));
        assert_eq!(
            (b.compression(), b.offset(), b.last_offset()),
            (codec, 102, 102)
        );
        assert_eq!(
            b.records().unwrap(),
            triple([100, 101, 102], [500, 501, 502], TimestampType::CreateTime),
            "{codec}"
        );
    }
}

#[test]
fn v1_log_append_time_wrapper_stamps_every_inner_record() {
    let b = only_legacy(wrapper(1, Compression::Gzip, 0, 7, 0x08, 777));
    assert_eq!(b.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(
        b.records().unwrap(),
        triple([5, 6, 7], [777; 3], TimestampType::LogAppendTime)
    );
}

#[test]
fn v0_wrappers_keep_absolute_inner_offsets() {
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
        let b = only_legacy(wrapper(0, codec, 40, 42, 0, 0));
        assert_eq!(
            b.records().unwrap(),
            triple([40, 41, 42], [-1; 3], TimestampType::CreateTime),
            "{codec}"
        );
    }
}

#[test]
fn magic0_lz4_with_kafka_08_header_checksum_is_read_leniently() {
    // Kafka 0.8/0.9 computed the LZ4 frame header checksum (byte 6 here) over the wrong bytes.
    let mut inner = Vec::new();
    for i in 0..3i64 {
        inner.extend(entry(
            i,
            &message(0, 0, 0, None, Some(format!("m{i}").as_bytes())),
        ));
    }
    let mut frame = lz4_frame(&inner);
    frame[6] = frame[6].wrapping_add(0x33);
    for magic in [0i8, 1] {
        let e = entry(
            2,
            &message(magic, Compression::Lz4.id() as i8, 0, None, Some(&frame)),
        );
        let b = LegacyBatch::new(Bytes::from(e)).unwrap();
        let got = b.records();
        if magic == 0 {
            let got = got.unwrap();
            assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1, 2]);
            assert_eq!(got[2].value.as_deref(), Some(&b"m2"[..]));
        } else {
            // Magic 1 frames must be standard: the wrong checksum is an error (inner magic 0
            // would be refused later anyway).
            assert!(
                matches!(
                    got,
                    Err(CodecError::Decompress {
                        codec: Compression::Lz4,
                        base_offset: 2,
                        ..
                    })
                ),
                "{got:?}"
            );
        }
    }
}

#[test]
fn crc32_mismatch_is_reported_with_the_offset() {
    let mut e = entry(55, &message(1, 0, 1, Some(b"k"), Some(b"v")));
    let last = e.len() - 1;
    e[last] ^= 0x01;
    let err = RecordSet::new(Bytes::from(e))
        .batches()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::LegacyCrcMismatch {
                offset: 55,
                magic: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn inner_message_problems_are_errors() {
    // Inner CRC mismatch.
    let mut inner = entry(0, &message(1, 0, 1, None, Some(b"x")));
    let last = inner.len() - 1;
    inner[last] ^= 0xff;
    let e = entry(
        0,
        &message(
            1,
            Compression::Gzip.id() as i8,
            1,
            None,
            Some(&gzip(&inner)),
        ),
    );
    assert!(matches!(
        LegacyBatch::new(Bytes::from(e)).unwrap().records(),
        Err(CodecError::LegacyCrcMismatch { .. })
    ));
    // Nested compression.
    let nested = wrapper(1, Compression::Gzip, 0, 2, 0, 0);
    let e = entry(
        2,
        &message(
            1,
            Compression::Gzip.id() as i8,
            1,
            None,
            Some(&gzip(&nested)),
        ),
    );
    let err = LegacyBatch::new(Bytes::from(e))
        .unwrap()
        .records()
        .unwrap_err();
    assert!(err.to_string().contains("itself compressed"), "{err}");
    // Inner magic differs from the wrapper's.
    let inner = entry(0, &message(0, 0, 0, None, Some(b"x")));
    let e = entry(
        0,
        &message(
            1,
            Compression::Gzip.id() as i8,
            1,
            None,
            Some(&gzip(&inner)),
        ),
    );
    let err = LegacyBatch::new(Bytes::from(e))
        .unwrap()
        .records()
        .unwrap_err();
    assert!(err.to_string().contains("magic 0, the wrapper 1"), "{err}");
    // Truncated inner message set.
    let inner = entry(0, &message(1, 0, 0, None, Some(b"xyz")));
    let e = entry(
        0,
        &message(
            1,
            Compression::Gzip.id() as i8,
            1,
            None,
            Some(&gzip(&inner[..inner.len() - 1])),
        ),
    );
    assert!(matches!(
        LegacyBatch::new(Bytes::from(e)).unwrap().records(),
        Err(CodecError::MalformedBatch { .. })
    ));
    // Wrapper with a null value, and garbage that is not gzip.
    let e = entry(0, &message(1, Compression::Gzip.id() as i8, 1, None, None));
    assert!(LegacyBatch::new(Bytes::from(e)).unwrap().records().is_err());
    let e = entry(
        9,
        &message(1, Compression::Gzip.id() as i8, 1, None, Some(b"not gzip")),
    );
    assert!(matches!(
        LegacyBatch::new(Bytes::from(e)).unwrap().records(),
        Err(CodecError::Decompress {
            codec: Compression::Gzip,
            base_offset: 9,
            ..
        })
    ));
}

#[test]
fn zstd_is_not_a_legacy_codec() {
    let e = entry(3, &message(1, 4, 0, None, Some(b"x")));
    assert_eq!(
        LegacyBatch::new(Bytes::from(e)).unwrap_err(),
        CodecError::UnknownCompression {
            id: 4,
            base_offset: 3
        }
    );
}

#[test]
fn legacy_then_v2_in_one_record_set() {
    // What a fetch returns around a message format upgrade.
    let mut set = wrapper(1, Compression::Snappy, 0, 2, 0, 0);
    set.extend(entry(3, &message(1, 0, 9, None, Some(b"plain"))));
    let mut b = RecordBatchBuilder::new(Compression::Lz4);
    b.base_offset(4);
    b.push(10, None, Some(b"v2"), &[]).unwrap();
    set.extend_from_slice(&b.build().unwrap());
    let tail_at = set.len();
    set.extend_from_slice(&entry(5, &message(1, 0, 9, None, Some(b"cut")))[..20]);
    let rs = RecordSet::new(Bytes::from(set));
    let mut it = rs.batches();
    let batches: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        batches.iter().map(Batch::magic).collect::<Vec<_>>(),
        [1, 1, 2]
    );
    let offsets: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.records().unwrap())
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
    assert_eq!(it.truncated_tail().unwrap().position, tail_at);
}

#[test]
fn malformed_entries_name_their_position() {
    let good = entry(0, &message(1, 0, 0, None, Some(b"ok")));
    // Size field larger than the message but the set is complete: key length overruns.
    let mut bad = entry(1, &message(1, 0, 0, Some(b"key"), Some(b"v")));
    let key_len_at = 12 + 4 + 2 + 8;
    bad[key_len_at..key_len_at + 4].copy_from_slice(&100i32.to_be_bytes());
    // Fix the CRC so the framing check is what fails.
    let mut crc = flate2::Crc::new();
    crc.update(&bad[16..]);
    let sum = crc.sum().to_be_bytes();
    bad[12..16].copy_from_slice(&sum);
    let mut set = good.clone();
    set.extend(bad);
    let results: Vec<_> = RecordSet::new(Bytes::from(set)).batches().collect();
    assert_eq!(results.len(), 2);
    match &results[1] {
        Err(CodecError::MalformedBatch { position, detail }) => {
            assert_eq!(*position, good.len());
            assert!(detail.contains("key"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn legacy_truncation_and_garbage_never_panic(
        codec in proptest::sample::select(vec![Compression::Gzip, Compression::Snappy, Compression::Lz4]),
        magic in 0i8..2,
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let full = wrapper(magic, codec, 0, 2, 0, 0);
        let cut = cut.index(full.len());
        let mut it = RecordSet::new(Bytes::from(full[..cut].to_vec())).batches();
        prop_assert!(it.next().is_none());
        prop_assert_eq!(it.truncated_tail().is_some(), cut > 0);

        // Garbage inside the compressed payload with a recomputed CRC: error or records.
        let mut bad = full.clone();
        let i = 30 + flip.0.index(bad.len() - 30);
        bad[i] ^= flip.1 | 1;
        let mut crc = flate2::Crc::new();
        crc.update(&bad[16..]);
        let sum = crc.sum().to_be_bytes();
        bad[12..16].copy_from_slice(&sum);
        if let Ok(b) = LegacyBatch::new(Bytes::from(bad)) {
            let _ = b.records_with_limit(1 << 20);
        }
    }
}
