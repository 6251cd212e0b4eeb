//! A build without the `zstd` feature refuses zstd batches with a clear error instead of
//! misreading or dropping them (run by scripts/test.sh:
//! `cargo test -p kreplicate-codec --no-default-features --features gzip,snappy,lz4`).
//! With the default features the same bytes decode, which proves the fixture is a real zstd
//! batch.

use kreplicate_codec::{Compression, RecordBatchBuilder};

/// One zstd v2 batch, base offset 41, records `k` → `v` and `k2` → `v2`, as
/// `RecordBatchBuilder` wrote it with every feature on.
const ZSTD_BATCH: &str = include_str!("data/zstd-two-records.hex");

fn zstd_batch() -> bytes::Bytes {
    let hex = ZSTD_BATCH.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex fixture"))
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(feature = "zstd")]
#[test]
fn the_zstd_fixture_decodes_with_the_zstd_feature() {
    use kreplicate_codec::RecordBatch;

    let batch = RecordBatch::new(zstd_batch()).unwrap();
    assert_eq!(batch.compression(), Compression::Zstd);
    assert_eq!((batch.base_offset(), batch.record_count()), (41, 2));
    let records: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
    let pairs: Vec<_> = records
        .iter()
        .map(|r| (r.offset, r.key.clone().unwrap(), r.value.clone().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [(41, "k".into(), "v".into()), (42, "k2".into(), "v2".into())]
    );
    assert!(Compression::Zstd.is_enabled());
}

#[cfg(not(feature = "zstd"))]
#[test]
fn a_zstd_batch_without_the_zstd_feature_is_refused_naming_the_feature() {
    use kreplicate_codec::{Batch, CodecError, RecordSet};

    assert!(!Compression::Zstd.is_enabled());
    // The header still reads (it is not compressed): the batch is seen, not skipped.
    let Some(Ok(Batch::V2(batch))) = RecordSet::new(zstd_batch()).batches().next() else {
        panic!("the batch is read from the record set");
    };
    assert_eq!((batch.base_offset(), batch.record_count()), (41, 2));
    let err = batch.records().unwrap_err();
    assert_eq!(
        err,
        CodecError::CodecDisabled {
            codec: Compression::Zstd,
            base_offset: 41
        }
    );
    assert_eq!(
        err.to_string(),
        "batch with base offset 41 is zstd-compressed, but this build has no zstd support: \
         enable the `zstd` feature of kreplicate-codec"
    );
    assert_eq!(
        batch.recompress(Compression::None).unwrap_err(),
        CodecError::CodecDisabled {
            codec: Compression::Zstd,
            base_offset: 41
        }
    );

    let mut builder = RecordBatchBuilder::new(Compression::Zstd);
    builder.push(0, None, Some(b"v"), &[]).unwrap();
    let err = builder.build().unwrap_err();
    assert_eq!(
        err,
        CodecError::CompressionDisabled {
            codec: Compression::Zstd
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot write zstd-compressed batches: this build has no zstd support: enable the \
         `zstd` feature of kreplicate-codec"
    );
}

/// Regenerates the fixture: `cargo test -p kreplicate-codec --test codec_disabled -- --ignored`.
#[cfg(feature = "zstd")]
#[test]
#[ignore = "writes tests/data/zstd-two-records.hex"]
fn write_zstd_fixture() {
    let mut builder = RecordBatchBuilder::new(Compression::Zstd);
    builder.base_offset(41);
    builder
        .push(1_700_000_000_000, Some(b"k"), Some(b"v"), &[])
        .unwrap();
    builder
        .push(1_700_000_000_001, Some(b"k2"), Some(b"v2"), &[])
        .unwrap();
    let hex: String = builder
        .build()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zstd-two-records.hex");
    std::fs::write(path, hex + "\n").unwrap();
}
