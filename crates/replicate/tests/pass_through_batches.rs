//! Batch mode (the default) against every kind of batch a real Kafka source carries. A whole v2
//! batch with contiguous inner offsets and the target's codec goes to the target raw
//! (restamped: our producer id, epoch and sequence, the transactional bit cleared); anything
//! else takes the records path (re-encoded, records unchanged, no header):
//! - a compacted batch (records removed, so `record_count < last_offset_delta + 1`, or none left):
//!   sent raw, Apache Kafka refuses it with INVALID_RECORD (LogValidator.validateBatch, for
//!   client appends: "Inconsistent batch offset range" when the count differs from the offset
//!   span, "Invalid reported count" when it is 0);
//! - a legacy v0/v1 message set (magic 0 or 1): not a v2 batch at all.
//!
//! Each test checks the copy record by record with an independent reader (librdkafka), that
//! the offset map translates every source offset to its copy's target offset, and that
//! `verify` finds the copy EQUAL.

mod batches_support;

#[allow(dead_code)] // this binary uses only the fake source's log, not its faults
mod faults_data_support;

use std::time::Duration;

use bytes::Bytes;
use faults_data_support::fake_source::FakeSource;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use kreplicate_codec::{Compression, RecordBatchBuilder};
use kreplicate_replicate::{verify_replicator_from, VerifyFrom};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord};
use kreplicate_testkit::strict::{Rule, StrictTansu};
use kreplicate_testkit::tansu::{raw, TansuBroker};

const TOPIC: &str = "mixed";
const TIMEOUT: Duration = Duration::from_secs(10);

fn config(source: &TansuBroker, target: &StrictTansu) -> ReplicatorConfig {
    config_with(source, target, "NONE")
}

fn config_with(source: &TansuBroker, target: &StrictTansu, compression: &str) -> ReplicatorConfig {
    let mut json =
        ReplicatorJson::new("pass", source, target.broker(), &[TOPIC]).compression(compression);
    json.target_bootstrap = target.bootstrap();
    CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap()
}

fn options() -> EngineOptions {
    EngineOptions {
        mode: DataMode::Batch,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        resume_settle: Duration::from_millis(100),
        ..EngineOptions::default()
    }
}

/// Produces `records` (one record set, as is) to partition 0 of `TOPIC` with Produce
/// `version`, and returns the base offset the broker assigned.
async fn produce_raw(broker: &TansuBroker, version: i16, records: Bytes) -> i64 {
    let addr = broker.addr();
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response =
        tokio::task::spawn_blocking(move || raw::request(&addr, version, &request, TIMEOUT))
            .await
            .unwrap()
            .unwrap();
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(
        ResponseError::try_from_code(partition.error_code),
        None,
        "{partition:?}"
    );
    partition.base_offset
}

/// A v2 batch holding the records at `deltas` (strictly increasing), as compaction leaves it.
fn v2_batch(tag: &str, deltas: &[i32], compression: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression);
    for &d in deltas {
        let key = format!("{tag}-k{d}");
        let value = format!("{tag}-v{d}-{}", "x".repeat(d as usize % 20));
        b.push_at(
            d,
            1_700_000_000_000 + i64::from(d),
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            &[],
        )
        .unwrap();
    }
    b.build().unwrap()
}

/// An empty v2 batch spanning `span` offsets: what Kafka's log cleaner keeps of a batch whose
/// records were all removed, to retain its producer's state (MemoryRecords.filterTo:
/// `BatchRetention.RETAIN_EMPTY` writes `DefaultRecordBatch.writeEmptyHeader`).
fn empty_v2_batch(span: i32) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push_at(span - 1, 1_700_000_000_000, Some(b"k"), Some(b"v"), &[])
        .unwrap();
    let mut bytes = b.build().unwrap()[..61].to_vec();
    bytes[8..12].copy_from_slice(&(61i32 - 12).to_be_bytes()); // batch_length
    bytes[57..61].copy_from_slice(&0i32.to_be_bytes()); // record_count
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

async fn read_all(bootstrap: &str, n: usize) -> Vec<PyConsumedRecord> {
    let mut job = python::ConsumeJob::new(bootstrap, TOPIC, n);
    job.partitions = Partitions::Only(vec![0]);
    job.isolation = Isolation::ReadCommitted;
    job.timeout = Duration::from_secs(30);
    let mut got = job.run_by_partition().await.unwrap();
    got.remove(&0).unwrap_or_default()
}

/// Apache Kafka's rules (the strict layer) accepted every batch as sent: nothing refused, and
/// nothing re-encoded (a batch with non-contiguous inner offsets would be).
fn assert_strict_accepted_all(target: &StrictTansu) {
    let refusals = target.refusals();
    assert_eq!(refusals.total_refused(), 0, "{refusals:?}");
    assert_eq!(refusals.count(Rule::Reencoded), 0, "{refusals:?}");
}

/// Waits (30 s at most) until partition 0 is copied up to source offset `end`.
async fn wait_copied(replicator: &Replicator, end: i64) {
    for _ in 0..600 {
        let status = replicator.status();
        if status
            .partition(TOPIC, 0)
            .and_then(|p| p.source_offset)
            .is_some_and(|at| at >= end)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("partition 0 was never copied up to source offset {end}");
}

/// Partition 0's (source, target) positions: every source offset below the first is
/// copied, the next copy lands at the second.
fn positions(replicator: &Replicator) -> (Option<i64>, Option<i64>) {
    let status = replicator.status();
    let p = status
        .partition(TOPIC, 0)
        .expect("partition 0 is replicated");
    (p.source_offset, p.target_offset)
}

/// `verify` (from the source log start) finds every partition's copy EQUAL.
async fn assert_verify_equal(config: &ReplicatorConfig) {
    let verdicts = verify_replicator_from(config, "verify", VerifyFrom::LogStart)
        .await
        .unwrap();
    assert!(!verdicts.is_empty());
    for v in &verdicts {
        assert!(v.is_equal(), "{v:?}");
        assert_eq!(v.source_records, v.target_records, "{v:?}");
    }
}

/// Runs batch mode from `source` until the offset map covers `end`, then checks the copy.
async fn copy_and_check(source: &TansuBroker, n: usize, end: i64) {
    let target = StrictTansu::start().unwrap();
    let replicator = Replicator::start(config(source, &target), options())
        .await
        .unwrap();
    wait_copied(&replicator, end).await;
    let want = read_all(&source.addr(), n).await;
    let got = read_all(&target.bootstrap(), n).await;
    assert_strict_accepted_all(&target);
    let stored = batch_kinds(&target.raw_addr()).await;
    assert_eq!(stored.iter().map(|b| b.1 as usize).sum::<usize>(), n);
    assert!(stored.iter().all(|b| !b.0), "{stored:?}");
    assert_eq!(positions(&replicator), (Some(end), Some(n as i64)));
    for (s, t) in want.iter().zip(&got) {
        let at = format!("source offset {}", s.offset);
        assert_eq!(
            (&t.key, &t.value, &t.headers, t.timestamp),
            (&s.key, &s.value, &s.headers, s.timestamp),
            "{at}"
        );
        assert_eq!(
            replicator.translate(TOPIC, 0, s.offset),
            Some(t.offset),
            "{at}"
        );
    }
    replicator.shutdown().await.unwrap();
    assert_verify_equal(&config(source, &target)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_batches_take_the_records_path_and_offsets_stay_exact() {
    let source = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), TOPIC, 1, &[])
        .await
        .unwrap();
    // Whole, compacted (holes inside and none at the end), whole again, compacted and
    // compressed, emptied by the cleaner, whole: the copier switches between the raw and the
    // records path batch by batch.
    let batches = [
        (vec![0, 1, 2], Compression::None),
        (vec![0, 2, 5], Compression::None),
        (vec![0, 1], Compression::Lz4),
        (vec![1, 3, 4, 9], Compression::Zstd),
        (vec![], Compression::None),
        (vec![0], Compression::Gzip),
    ];
    let mut n = 0;
    let mut end = 0;
    for (i, (deltas, codec)) in batches.iter().enumerate() {
        let batch = match deltas.last() {
            Some(_) => v2_batch(&format!("b{i}"), deltas, *codec),
            None => empty_v2_batch(4),
        };
        let base = produce_raw(&source, 3, batch).await;
        assert_eq!(base, end, "batch {i} lands after the previous one");
        n += deltas.len();
        end = base + i64::from(deltas.last().copied().unwrap_or(3)) + 1;
    }
    // The source really holds holes: 13 records over 26 offsets.
    assert_eq!((n, end), (13, 26));
    let offsets: Vec<i64> = read_all(&source.addr(), n)
        .await
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 5, 8, 9, 10, 12, 14, 15, 20, 25]);
    copy_and_check(&source, n, end).await;
}

/// Tansu refuses legacy message sets (it closes the connection on a Produce carrying one), so
/// the source here is the fake source cluster of `faults_data.rs`, serving a partition that
/// holds a magic 0 set, a magic 1 set and a v2 batch, as a log upgraded over the years does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_message_sets_take_the_records_path() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_test_writer()
        .try_init();
    let source = FakeSource::start("legacy-source", TOPIC, 1);
    let v0 = source.append_legacy(0, 3, 0);
    let v1 = source.append_legacy(0, 4, 1);
    let v2 = source.append(0, 2);
    assert_eq!((v0.start, v1.start, v2.start, v2.end), (0, 3, 7, 9));
    let target = StrictTansu::start().unwrap();
    let mut json = ReplicatorJson::new("legacy", target.broker(), target.broker(), &[TOPIC]);
    json.source_id = source.cluster_id().to_string();
    json.source_bootstrap = source.addr();
    json.target_bootstrap = target.bootstrap();
    let mut config = CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap();
    // The fake source serves no topic configs or ACLs.
    config.flags.copy_topic_configurations = false;
    config.flags.copy_topic_acls = false;
    let replicator = Replicator::start(config, options()).await.unwrap();
    wait_copied(&replicator, v2.end).await;
    let got = read_all(&target.bootstrap(), 9).await;
    assert_strict_accepted_all(&target);
    assert_eq!(positions(&replicator), (Some(9), Some(9)));
    for (offset, t) in (0..9).zip(&got) {
        let want = FakeSource::expected(0, offset);
        let at = format!("source offset {offset}");
        assert_eq!(t.key.as_deref(), Some(&want.key[..]), "{at}");
        assert_eq!(t.value.as_deref(), Some(&want.value[..]), "{at}");
        assert_eq!(
            replicator.translate(TOPIC, 0, offset),
            Some(t.offset),
            "{at}"
        );
        if offset >= v1.start {
            // Magic 0 has no timestamp; magic 1 and v2 keep theirs.
            assert_eq!(t.timestamp, want.timestamp, "{at}");
        }
        let headers: Vec<(String, Option<Vec<u8>>)> = want
            .headers
            .iter()
            .map(|h| {
                let key = String::from_utf8(h.key.to_vec()).unwrap();
                (key, h.value.as_ref().map(|v| v.to_vec()))
            })
            .collect();
        if offset >= v2.start {
            assert_eq!(t.headers, headers, "{at}");
        } else {
            assert!(t.headers.is_empty(), "{at}: pass-through adds no header");
        }
    }
    replicator.shutdown().await.unwrap();
}

/// Committed transactions (Tansu source: its markers are valid; it does not filter aborted
/// records, so only committed ones are written here), plain records between them, compressed.
/// Each transactional batch is whole: it goes raw, restamped without its transactional bit,
/// which Apache Kafka requires of a Produce without a transactional id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transactional_batches_pass_through_as_plain_ones() {
    let source = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), TOPIC, 1, &[])
        .await
        .unwrap();
    let records = |tag: &str, n: usize| -> Vec<python::PyRecord> {
        (0..n)
            .map(|i| python::PyRecord {
                partition: Some(0),
                key: Some(format!("{tag}-k{i}").into_bytes()),
                value: Some(format!("{tag}-v{i}").into_bytes()),
                headers: vec![("h".into(), Some(vec![i as u8]))],
                timestamp_ms: Some(1_700_000_000_000 + i as i64),
            })
            .collect()
    };
    let src = source.addr();
    python::produce_transaction(&src, TOPIC, &records("tx1", 6), "tx-a", true)
        .await
        .unwrap();
    python::produce(&src, TOPIC, &records("plain", 3), "lz4", &[])
        .await
        .unwrap();
    python::produce_transaction(&src, TOPIC, &records("tx2", 4), "tx-b", true)
        .await
        .unwrap();
    // 13 records and 2 COMMIT markers.
    let end = 15;
    let source_batches = batch_kinds(&src).await;
    assert!(
        source_batches
            .iter()
            .any(|(transactional, _)| *transactional),
        "{source_batches:?}"
    );
    copy_and_check(&source, 13, end).await;
}

/// `(transactional, record count)` of the data batches of partition 0 at `bootstrap`.
async fn batch_kinds(bootstrap: &str) -> Vec<(bool, i32)> {
    batches_support::stored_batches(bootstrap, TOPIC, 0)
        .await
        .iter()
        .filter(|b| !b.is_control())
        .map(|b| (b.is_transactional(), b.record_count()))
        .collect()
}

/// NONE, GZIP, SNAPPY, LZ4 and ZSTD batches in one partition, TargetCompressionType LZ4: the
/// LZ4 batches are written as they are (the stored records section is the source's, byte for
/// byte), the others re-encoded as LZ4 with their records unchanged; `verify` says EQUAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_codecs_pass_through_when_they_match_the_target_and_are_reencoded_otherwise() {
    let source = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), TOPIC, 1, &[])
        .await
        .unwrap();
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Lz4,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut end = 0;
    for (i, codec) in codecs.iter().enumerate() {
        let base = produce_raw(
            &source,
            3,
            v2_batch(&format!("m{i}"), &[0, 1, 2, 3], *codec),
        )
        .await;
        assert_eq!(base, end);
        end += 4;
    }
    let n = codecs.len() * 4;
    let stored_source = stored_batches(&source.addr()).await;
    assert_eq!(
        stored_source.iter().map(|b| b.0).collect::<Vec<_>>(),
        codecs.to_vec(),
        "the source stores each batch with its codec"
    );

    let target = StrictTansu::start().unwrap();
    let replicator = Replicator::start(config_with(&source, &target, "LZ4"), options())
        .await
        .unwrap();
    wait_copied(&replicator, end).await;
    replicator.shutdown().await.unwrap();
    assert_strict_accepted_all(&target);

    let stored = stored_batches(&target.raw_addr()).await;
    assert!(
        stored.iter().all(|b| b.0 == Compression::Lz4),
        "every stored batch is LZ4: {:?}",
        stored.iter().map(|b| (b.0, b.2)).collect::<Vec<_>>()
    );
    assert_eq!(stored.iter().map(|b| b.2 as usize).sum::<usize>(), n);
    // The LZ4 source batches went through untouched: their compressed records sections are
    // on the target as they are.
    for (codec, section, _) in &stored_source {
        let untouched = stored.iter().any(|b| b.1 == section);
        assert_eq!(
            untouched,
            *codec == Compression::Lz4,
            "{codec:?}: written as it is only when it is the target's codec"
        );
    }
    let want = read_all(&source.addr(), n).await;
    let got = read_all(&target.bootstrap(), n).await;
    for (s, t) in want.iter().zip(&got) {
        assert_eq!(
            (&t.key, &t.value, &t.headers, t.timestamp, t.offset),
            (&s.key, &s.value, &s.headers, s.timestamp, s.offset),
            "source offset {}",
            s.offset
        );
    }
    assert_verify_equal(&config_with(&source, &target, "LZ4")).await;
}

/// `(codec, records section, record count)` of the data batches of partition 0 at `bootstrap`.
async fn stored_batches(bootstrap: &str) -> Vec<(Compression, Bytes, i32)> {
    batches_support::stored_batches(bootstrap, TOPIC, 0)
        .await
        .iter()
        .filter(|b| !b.is_control())
        .map(|b| (b.compression(), b.records_section(), b.record_count()))
        .collect()
}
