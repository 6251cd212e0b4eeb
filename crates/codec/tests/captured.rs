//! Decodes record sets captured from a real client (librdkafka 2.16 via confluent-kafka,
//! produced to a Tansu broker and fetched back raw; see `tests/data/capture.py`) and checks
//! every header field and record against `tests/data/expected.json`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kreplicate_codec::{
    Batch, CodecError, Compression, ControlKind, Header, Record, RecordBatch, RecordBatchBuilder,
    RecordSet, RewriteFields, TimestampType,
};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(data_dir().join("expected.json")).expect("expected.json");
    match serde_json::from_str(&text).expect("valid JSON") {
        Value::Object(m) => m,
        other => panic!("expected.json is not an object: {other}"),
    }
}

fn load(name: &str) -> Bytes {
    Bytes::from(std::fs::read(data_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

fn bytes_field(v: &Value) -> Option<Bytes> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
        other => panic!("not a byte string: {other}"),
    }
}

fn expected_record(v: &Value) -> Record {
    Record {
        offset: int(v, "offset"),
        timestamp: int(v, "timestamp"),
        timestamp_type: TimestampType::CreateTime,
        key: bytes_field(&v["key"]),
        value: bytes_field(&v["value"]),
        headers: v["headers"]
            .as_array()
            .expect("headers array")
            .iter()
            .map(|h| Header {
                key: bytes_field(&h[0]).expect("header key is never null"),
                value: bytes_field(&h[1]),
            })
            .collect(),
    }
}

fn v2_batches(set: &RecordSet) -> Vec<RecordBatch> {
    set.batches()
        .map(|b| match b {
            Ok(Batch::V2(b)) => b,
            other => panic!("expected a v2 batch, got {other:?}"),
        })
        .collect()
}

#[test]
fn every_capture_decodes_exactly() {
    let expected = expected();
    assert_eq!(expected.len(), 7, "captures listed in expected.json");
    for (name, want) in &expected {
        let set = RecordSet::new(load(name));
        let batches = v2_batches(&set);
        let want_batches = want["batches"].as_array().expect("batches");
        assert_eq!(batches.len(), want_batches.len(), "{name}: batch count");
        let mut data_records = Vec::new();
        for (b, w) in batches.iter().zip(want_batches) {
            let ctx = format!("{name} batch at {}", b.base_offset());
            assert_eq!(b.base_offset(), int(w, "base_offset"), "{ctx}");
            assert_eq!(b.size() as i64, int(w, "size"), "{ctx}");
            assert_eq!(i64::from(b.attributes()), int(w, "attributes"), "{ctx}");
            assert_eq!(
                i64::from(b.compression().id()),
                int(w, "attributes") & 7,
                "{ctx}"
            );
            assert_eq!(
                i64::from(b.partition_leader_epoch()),
                int(w, "partition_leader_epoch")
            );
            assert_eq!(
                i64::from(b.last_offset_delta()),
                int(w, "last_offset_delta"),
                "{ctx}"
            );
            assert_eq!(b.base_timestamp(), int(w, "base_timestamp"), "{ctx}");
            assert_eq!(b.max_timestamp(), int(w, "max_timestamp"), "{ctx}");
            assert_eq!(b.producer_id(), int(w, "producer_id"), "{ctx}");
            assert_eq!(
                i64::from(b.producer_epoch()),
                int(w, "producer_epoch"),
                "{ctx}"
            );
            assert_eq!(
                i64::from(b.base_sequence()),
                int(w, "base_sequence"),
                "{ctx}"
            );
            assert_eq!(i64::from(b.record_count()), int(w, "record_count"), "{ctx}");
            assert_eq!(b.magic(), 2);
            assert_eq!(b.timestamp_type(), TimestampType::CreateTime, "{ctx}");
            assert_eq!(b.delete_horizon_ms(), None, "{ctx}");
            b.verify_crc().expect("captured CRC is valid");
            let records: Vec<Record> = b
                .records()
                .expect("decompress")
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(records.len() as i64, int(w, "record_count"), "{ctx}");
            match w.get("control").and_then(Value::as_str) {
                Some(kind) => {
                    assert!(b.is_control() && b.is_transactional(), "{ctx}");
                    let control = b.control_record().expect("control").expect("is control");
                    let want_kind = match kind {
                        "commit" => ControlKind::Commit,
                        "abort" => ControlKind::Abort,
                        other => panic!("unknown control kind {other}"),
                    };
                    assert_eq!(control.kind, want_kind, "{ctx}");
                    assert_eq!(
                        i64::from(control.coordinator_epoch),
                        int(w, "coordinator_epoch"),
                        "{ctx}"
                    );
                }
                None => {
                    assert!(!b.is_control(), "{ctx}");
                    assert_eq!(b.control_record(), Ok(None));
                    assert_eq!(b.is_transactional(), name.starts_with("txn"), "{ctx}");
                    data_records.extend(records);
                }
            }
        }
        let want_records: Vec<Record> = want["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(expected_record)
            .collect();
        assert_eq!(
            data_records.len(),
            want_records.len(),
            "{name}: record count"
        );
        for (got, want) in data_records.iter().zip(&want_records) {
            assert_eq!(got, want, "{name}");
        }
    }
}

#[test]
fn captured_codecs_are_the_ones_produced() {
    let codec_of = |name: &str| v2_batches(&RecordSet::new(load(name)))[0].compression();
    assert_eq!(codec_of("none.bin"), Compression::None);
    assert_eq!(codec_of("gzip.bin"), Compression::Gzip);
    assert_eq!(codec_of("snappy.bin"), Compression::Snappy);
    assert_eq!(codec_of("lz4.bin"), Compression::Lz4);
    assert_eq!(codec_of("zstd.bin"), Compression::Zstd);
    assert_eq!(codec_of("idempotent-lz4.bin"), Compression::Lz4);
    // librdkafka writes raw (unframed) snappy; the Java client writes xerial. Both must read.
    let snappy = v2_batches(&RecordSet::new(load("snappy.bin")))[0].records_section();
    assert_ne!(&snappy[..8], b"\x82SNAPPY\0");
}

#[test]
fn uncompressed_capture_is_rebuilt_byte_for_byte() {
    // Our encoder writes exactly what librdkafka wrote, given the same records and header.
    let raw = load("none.bin");
    let batch = RecordBatch::new(raw.clone()).expect("batch");
    let mut builder = RecordBatchBuilder::new(Compression::None);
    builder
        .base_offset(batch.base_offset())
        .partition_leader_epoch(batch.partition_leader_epoch())
        .producer(
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        );
    for r in batch.records().expect("records") {
        builder.push_record(&r.expect("record"), &[]).expect("push");
    }
    assert_eq!(builder.estimated_size(), raw.len());
    assert_eq!(builder.build().expect("build"), raw);
}

#[test]
fn captured_batches_survive_rewrite_and_reencode_in_every_codec() {
    for name in [
        "gzip.bin",
        "snappy.bin",
        "lz4.bin",
        "zstd.bin",
        "idempotent-lz4.bin",
    ] {
        let batch = v2_batches(&RecordSet::new(load(name))).remove(0);
        let original: Vec<Record> = batch.records().unwrap().collect::<Result<_, _>>().unwrap();
        let moved = batch.rewrite(RewriteFields {
            base_offset: Some(1_000_000),
            partition_leader_epoch: Some(3),
            producer_id: Some(42),
            producer_epoch: Some(1),
            base_sequence: Some(77),
            transactional: None,
        });
        // Records stay compressed byte-for-byte.
        assert_eq!(moved[61..], batch.raw()[61..], "{name}");
        let moved = RecordBatch::new(moved).expect("rewritten CRC valid");
        assert_eq!(
            (
                moved.producer_id(),
                moved.producer_epoch(),
                moved.base_sequence()
            ),
            (42, 1, 77)
        );
        let shifted: Vec<Record> = moved.records().unwrap().collect::<Result<_, _>>().unwrap();
        for (a, b) in original.iter().zip(&shifted) {
            assert_eq!(b.offset, a.offset + 1_000_000);
            assert_eq!(
                (&a.key, &a.value, &a.headers),
                (&b.key, &b.value, &b.headers)
            );
        }
        // Decode, add a header, re-encode with each codec: identical records plus the header.
        let extra = [Header::new(
            "replicated-from",
            Some(Bytes::from_static(b"src")),
        )];
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut builder = RecordBatchBuilder::new(codec);
            for r in &original {
                builder.push_record(r, &extra).unwrap();
            }
            let rebuilt = RecordBatch::new(builder.build().unwrap()).unwrap();
            let again: Vec<Record> = rebuilt
                .records()
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(again.len(), original.len());
            for (a, b) in original.iter().zip(&again) {
                let mut want = a.clone();
                want.headers.extend_from_slice(&extra);
                assert_eq!(*b, want, "{name} re-encoded as {codec}");
            }
        }
    }
}

#[test]
fn every_cut_of_a_captured_fetch_yields_the_complete_batches_only() {
    let raw = load("txn-snappy.bin");
    let sizes: Vec<usize> = v2_batches(&RecordSet::new(raw.clone()))
        .iter()
        .map(RecordBatch::size)
        .collect();
    for cut in 0..=raw.len() {
        let set = RecordSet::new(raw.slice(..cut));
        let mut it = set.batches();
        let got: Vec<Batch> = it
            .by_ref()
            .collect::<Result<_, CodecError>>()
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        // Complete batches before the cut, no more.
        let mut end = 0;
        let mut complete = 0;
        for s in &sizes {
            if end + s > cut {
                break;
            }
            end += s;
            complete += 1;
        }
        assert_eq!(got.len(), complete, "cut at {cut}");
        let tail = it.truncated_tail();
        if cut == end {
            assert_eq!(tail, None, "cut at {cut}");
        } else {
            let tail = tail.expect("truncated tail reported");
            assert_eq!(
                (tail.position, tail.available),
                (end, cut - end),
                "cut at {cut}"
            );
            if cut - end >= 12 {
                assert_eq!(tail.declared_size, Some(sizes[complete]));
            }
        }
    }
}

/// Writes batches built by [`RecordBatchBuilder`] (one per codec, each over 64 KiB so snappy
/// and LZ4 need several blocks) and `interop.json` into `$KREPLICATE_INTEROP_DIR`, for
/// `python3 tests/data/capture.py --interop DIR`, which produces them to a broker and checks
/// that librdkafka consumes exactly these records. Not part of the normal run: it needs that
/// directory and, to be useful, the script.
#[test]
#[ignore = "writes interop batches for capture.py --interop; set KREPLICATE_INTEROP_DIR"]
fn write_interop_batches() {
    let dir =
        PathBuf::from(std::env::var("KREPLICATE_INTEROP_DIR").expect("set KREPLICATE_INTEROP_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut spec = serde_json::Map::new();
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut builder = RecordBatchBuilder::new(codec);
        let mut want = Vec::new();
        for i in 0..150i64 {
            let key = (i % 7 != 3).then(|| format!("key-{i}").into_bytes());
            let value =
                (i % 11 != 5).then(|| format!("{codec} value {i} ").repeat(40).into_bytes());
            let headers = vec![
                Header::new("dup", Some(Bytes::from(format!("{i}")))),
                Header::new("dup", None),
                Header::new("empty", Some(Bytes::new())),
            ];
            let ts = 1_700_000_000_000 + i * 3 - if i == 1 { 5_000 } else { 0 };
            builder
                .push(ts, key.as_deref(), value.as_deref(), &headers)
                .unwrap();
            let text = |b: &Option<Vec<u8>>| {
                b.as_ref().map_or(Value::Null, |b| {
                    Value::String(String::from_utf8(b.clone()).unwrap())
                })
            };
            want.push(serde_json::json!({
                "offset": i, "timestamp": ts, "key": text(&key), "value": text(&value),
                "headers": [["dup", i.to_string()], ["dup", null], ["empty", ""]],
            }));
        }
        let name = format!("built-{codec}.bin");
        let bytes = builder.build().unwrap();
        std::fs::write(dir.join(&name), &bytes).unwrap();
        spec.insert(name, Value::Array(want));
    }
    std::fs::write(
        dir.join("interop.json"),
        serde_json::to_string(&Value::Object(spec)).unwrap(),
    )
    .unwrap();
}
