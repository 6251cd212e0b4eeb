//! The replicator's hot path, from fetch-response bytes to produce-request bytes, beside a
//! kernel bound over the same bytes (memcpy + CRC32C + LZ4 of the uncompressed payload).
//!
//! `cargo bench -p kreplicate-benches --bench hot_path`; results in docs/benchmarks.md.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kreplicate_benches::workload::Workload;
use kreplicate_wire::codec::{Compression, Header, RecordBatchBuilder, RecordSet, RewriteFields};

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

/// The kernel bound of an LZ4 source: the same work after decompressing the batch's records
/// (lz4_flex's frame decoder), the least an LZ4 → LZ4 copy that rewrites records must do.
fn kernel_bound_lz4_source(batch: &[u8]) -> usize {
    use std::io::Read;
    // A v2 batch's records follow its 61-byte header.
    let mut records = Vec::with_capacity(batch.len() * 8);
    lz4_flex::frame::FrameDecoder::new(&batch[61..])
        .read_to_end(&mut records)
        .unwrap();
    kernel_bound(&records)
}

fn bench(c: &mut Criterion) {
    let (plain, payload) = source_batch(Compression::None);
    let mut group = c.benchmark_group("hot_path");
    group.throughput(Throughput::Bytes(payload as u64));
    group.bench_function("kernel_bound", |b| b.iter(|| kernel_bound(&plain)));
    let (lz4_batch, _) = source_batch(Compression::Lz4);
    group.bench_function("kernel_bound_lz4_source", |b| {
        b.iter(|| kernel_bound_lz4_source(&lz4_batch))
    });
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let (fetched, _) = source_batch(codec);
        group.bench_with_input(
            BenchmarkId::new("header_mode", codec.name()),
            &fetched,
            |b, f| b.iter(|| header_mode(f)),
        );
        group.bench_with_input(
            BenchmarkId::new("pass_through", codec.name()),
            &fetched,
            |b, f| b.iter(|| pass_through(f)),
        );
    }
    group.finish();

    // The same paths on the end-to-end harness's records, which compress like text (LZ4 ratio
    // about 2) where the records above are highly repetitive: LZ4's cost depends on the data.
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
    let (lz4_batch, _) = json_batch(Compression::Lz4);
    group.bench_function("kernel_bound_lz4_source", |b| {
        b.iter(|| kernel_bound_lz4_source(&lz4_batch))
    });
    for codec in [Compression::None, Compression::Lz4] {
        let (fetched, _) = json_batch(codec);
        group.bench_with_input(
            BenchmarkId::new("header_mode", codec.name()),
            &fetched,
            |b, f| b.iter(|| header_mode(f)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
