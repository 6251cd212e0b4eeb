//! The replicator's hot path, from fetch-response bytes to produce-request bytes, beside a
//! kernel bound over the same bytes: the source codec's decompression (its library alone),
//! then memcpy + CRC32C + LZ4 of the uncompressed records. Header mode twice (decoded into
//! owned records and re-encoded, as before; spliced from borrowed record views, as the copier
//! does now), batch pass-through beside its bound (memcpy + CRC32C of the batch), and the
//! codec change (re-encoding a batch without decoding its records) beside its bound (the
//! libraries' decompression + LZ4 compression alone).
//!
//! `cargo bench -p kreplicate-benches --bench hot_path`; results in docs/benchmarks.md.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kreplicate_benches::workload::Workload;
use kreplicate_codec::{
    Compression, Header, HeaderRef, RecordBatchBuilder, RecordSet, RewriteFields,
};

const RECORDS: usize = 1000;
const VALUE: usize = 1024;

/// One fetched batch of 1000 records of ~1 KiB (mildly compressible JSON-ish text).
fn source_batch(codec: Compression) -> (Bytes, usize) {
    let mut b = RecordBatchBuilder::new(codec);
    b.producer(42, 0, 0);
    let mut payload = 0;
    for i in 0..RECORDS {
        let key = format!("customer-{}", i % 97);
        let value: String = format!("{{\"order\":{i},\"items\":[")
            .chars()
            .chain((0..).map(|j| char::from(b'a' + ((i * 7 + j) % 26) as u8)))
            .take(VALUE)
            .collect();
        payload += key.len() + value.len();
        b.push(
            1_700_000_000_000 + i as i64,
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            &[Header::new("trace", Some(Bytes::from(i.to_string())))],
        )
        .unwrap();
    }
    (b.build().unwrap(), payload)
}

/// One batch of the end-to-end harness's records (JSON-like values that LZ4 halves, as one
/// partition of its topic sees them: every 12th record), encoded with `codec`.
fn json_batch(codec: Compression) -> (Bytes, usize) {
    let workload = Workload::new(VALUE);
    let mut b = RecordBatchBuilder::new(codec);
    b.producer(42, 0, 0);
    let mut payload = 0;
    for i in 0..RECORDS as u64 {
        let r = workload.record(i * 12, Some(1_700_000_000_000 + i as i64));
        payload += workload.payload_len() as usize;
        b.push(
            r.timestamp.unwrap_or_default(),
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        )
        .unwrap();
    }
    (b.build().unwrap(), payload)
}

fn provenance() -> Header {
    Header::new("__kreplicate", Some(Bytes::from_static(&[1; 19])))
}

/// Header mode: parse, decode, append the provenance header, re-encode with LZ4.
fn header_mode(fetched: &Bytes) -> Bytes {
    let extra = [provenance()];
    let mut out = BytesMut::new();
    for batch in RecordSet::new(fetched.clone()).batches() {
        let batch = batch.unwrap();
        let v2 = batch.as_v2().unwrap();
        let mut b = RecordBatchBuilder::new(Compression::Lz4);
        b.producer(7, 0, 0);
        for record in v2.records().unwrap() {
            b.push_record(&record.unwrap(), &extra).unwrap();
        }
        out.extend_from_slice(&b.build().unwrap());
    }
    out.freeze()
}

/// Header mode by splicing (the copier's path, `copier/header_splice.rs`): borrowed record
/// views, each copied with the provenance header appended, re-encoded with LZ4.
fn header_mode_spliced(fetched: &Bytes) -> Bytes {
    let provenance = provenance();
    let extra = [HeaderRef {
        key: &provenance.key,
        value: provenance.value.as_deref(),
    }];
    let mut out = BytesMut::new();
    for batch in RecordSet::new(fetched.clone()).batches() {
        let batch = batch.unwrap();
        let v2 = batch.as_v2().unwrap();
        let mut b = RecordBatchBuilder::new(Compression::Lz4);
        b.producer(7, 0, 0);
        let records = v2.records().unwrap();
        for view in records.views() {
            b.push_view(&view.unwrap(), &extra).unwrap();
        }
        out.extend_from_slice(&b.build().unwrap());
    }
    out.freeze()
}

/// Batch mode's codec change: each batch re-encoded as LZ4 without decoding its records.
fn recompress(fetched: &Bytes) -> Bytes {
    let mut out = BytesMut::new();
    for batch in RecordSet::new(fetched.clone()).batches() {
        let batch = batch.unwrap();
        out.extend_from_slice(&batch.as_v2().unwrap().recompress(Compression::Lz4).unwrap());
    }
    out.freeze()
}

/// The codec change's bound: the source codec's library decompression, then LZ4 block
/// compression, of the records alone.
fn recompress_bound(codec: Compression, batch: &[u8]) -> usize {
    lz4_flex::block::compress(&decompress_records(codec, batch)).len()
}

/// Pass-through's bound: copy the batch and CRC32C it.
fn pass_through_bound(batch: &[u8]) -> usize {
    let copy = batch.to_vec();
    let crc = crc32c::crc32c(&copy[21..]);
    copy.len() + crc as usize % 2
}

/// Pass-through: restamp producer fields and the CRC, no decompression.
fn pass_through(fetched: &Bytes) -> Bytes {
    let mut out = BytesMut::new();
    for batch in RecordSet::new(fetched.clone()).batches() {
        let batch = batch.unwrap();
        out.extend_from_slice(&batch.as_v2().unwrap().rewrite(RewriteFields {
            base_offset: Some(0),
            producer_id: Some(7),
            producer_epoch: Some(0),
            base_sequence: Some(0),
            ..RewriteFields::default()
        }));
    }
    out.freeze()
}

/// The kernel bound: copy the uncompressed bytes, CRC32C them, LZ4-compress them.
fn kernel_bound(uncompressed: &[u8]) -> usize {
    let copy = uncompressed.to_vec();
    let crc = crc32c::crc32c(&copy);
    let compressed = lz4_flex::block::compress(&copy);
    compressed.len() + crc as usize % 2
}

/// The kernel bound of a batch compressed with `codec`: the same work after decompressing its
/// records with the codec's own library, the least a copy that rewrites records must do.
fn kernel_bound_source(codec: Compression, batch: &[u8]) -> usize {
    kernel_bound(&decompress_records(codec, batch))
}

/// A v2 batch's records (they follow its 61-byte header), decompressed by the library alone:
/// no limits, no error mapping, none of kreplicate's codec around it. Uncompressed records are
/// borrowed, so the NONE bound holds the kernel's one copy, not two.
fn decompress_records(codec: Compression, batch: &[u8]) -> Cow<'_, [u8]> {
    let body = &batch[61..];
    let read_all = |mut decoder: Box<dyn std::io::Read + '_>| {
        let mut records = Vec::with_capacity(body.len() * 8);
        decoder.read_to_end(&mut records).unwrap();
        Cow::Owned(records)
    };
    match codec {
        Compression::None => Cow::Borrowed(body),
        Compression::Gzip => read_all(Box::new(flate2::read::MultiGzDecoder::new(body))),
        Compression::Snappy => {
            // xerial framing: a 16-byte header, then (u32 BE length, raw snappy block)*.
            let mut records = Vec::with_capacity(body.len() * 8);
            let mut pos = 16;
            let mut decoder = snap::raw::Decoder::new();
            while pos < body.len() {
                let len = u32::from_be_bytes(body[pos..pos + 4].try_into().unwrap()) as usize;
                let block = &body[pos + 4..pos + 4 + len];
                let start = records.len();
                records.resize(start + snap::raw::decompress_len(block).unwrap(), 0);
                decoder.decompress(block, &mut records[start..]).unwrap();
                pos += 4 + len;
            }
            Cow::Owned(records)
        }
        Compression::Lz4 => read_all(Box::new(lz4_flex::frame::FrameDecoder::new(body))),
        Compression::Zstd => read_all(Box::new(zstd::stream::read::Decoder::new(body).unwrap())),
    }
}

const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// Per source codec: its kernel bound, header mode and pass-through, side by side.
fn bench_codecs(
    c: &mut Criterion,
    name: &str,
    payload: usize,
    batch: impl Fn(Compression) -> (Bytes, usize),
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(payload as u64));
    let (plain, _) = batch(Compression::None);
    let plain_records = decompress_records(Compression::None, &plain);
    for codec in CODECS {
        let (fetched, _) = batch(codec);
        // The decompression must give back exactly the uncompressed batch's records.
        assert_eq!(
            decompress_records(codec, &fetched),
            plain_records,
            "{codec}"
        );
        // Both header-mode paths write the same batches.
        assert_eq!(
            header_mode_spliced(&fetched),
            header_mode(&fetched),
            "{codec}"
        );
        group.bench_with_input(
            BenchmarkId::new("kernel_bound_source", codec.name()),
            &fetched,
            |b, f| b.iter(|| kernel_bound_source(codec, f)),
        );
        group.bench_with_input(
            BenchmarkId::new("header_mode", codec.name()),
            &fetched,
            |b, f| b.iter(|| header_mode(f)),
        );
        group.bench_with_input(
            BenchmarkId::new("header_mode_spliced", codec.name()),
            &fetched,
            |b, f| b.iter(|| header_mode_spliced(f)),
        );
        group.bench_with_input(
            BenchmarkId::new("pass_through", codec.name()),
            &fetched,
            |b, f| b.iter(|| pass_through(f)),
        );
        group.bench_with_input(
            BenchmarkId::new("pass_through_bound", codec.name()),
            &fetched,
            |b, f| b.iter(|| pass_through_bound(f)),
        );
        if codec != Compression::Lz4 {
            group.bench_with_input(
                BenchmarkId::new("recompress", codec.name()),
                &fetched,
                |b, f| b.iter(|| recompress(f)),
            );
            group.bench_with_input(
                BenchmarkId::new("recompress_bound", codec.name()),
                &fetched,
                |b, f| b.iter(|| recompress_bound(codec, f)),
            );
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    // Very repetitive values: LZ4 compresses them about 8 times faster than text, so the
    // record work around the compressor weighs more.
    let (plain, payload) = source_batch(Compression::None);
    let mut group = c.benchmark_group("hot_path");
    group.throughput(Throughput::Bytes(payload as u64));
    group.bench_function("kernel_bound", |b| b.iter(|| kernel_bound(&plain)));
    group.finish();
    bench_codecs(c, "hot_path", payload, source_batch);

    // The end-to-end harness's records, which compress like text (LZ4 ratio about 2): the
    // realistic case.
    let (plain, payload) = json_batch(Compression::None);
    if let Ok(path) = std::env::var("KREPLICATE_DUMP_JSON_BATCH") {
        // For comparing compressors outside this bench on identical bytes (docs/benchmarks.md).
        std::fs::write(&path, &plain).unwrap();
    }
    let mut group = c.benchmark_group("hot_path_json");
    group.throughput(Throughput::Bytes(payload as u64));
    group.bench_function("kernel_bound", |b| b.iter(|| kernel_bound(&plain)));
    group.bench_function("lz4_block_compress", |b| {
        b.iter(|| lz4_flex::block::compress(&plain).len())
    });
    group.finish();
    bench_codecs(c, "hot_path_json", payload, json_batch);
}

criterion_group!(benches, bench);
criterion_main!(benches);
