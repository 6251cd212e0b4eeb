//! The engine against two real brokers: what lands on the target is exactly the source's
//! records, partition for partition, in order, with keys, values, headers and timestamps intact
//! and (header mode) the provenance header naming each record's source offset; two replicators
//! in opposite directions on IDENTICAL names in both modes.

use std::collections::BTreeMap;
use std::time::Duration;

use kreplicate_codec::Header;
use kreplicate_replicate::{ClusterFingerprint, Provenance, PROVENANCE_HEADER_KEY as HEADER_KEY};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;

fn replicator_config(
    name: &str,
    source: &TansuBroker,
    target: &TansuBroker,
    topics: &[&str],
    naming: &str,
    start: &str,
    compression: &str,
) -> ReplicatorConfig {
    let json = ReplicatorJson::new(name, source, target, topics)
        .naming(naming)
        .starting_position(start)
        .compression(compression)
        .json();
    CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap()
}

fn fast_options(mode: DataMode) -> EngineOptions {
    EngineOptions {
        mode,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        ..EngineOptions::default()
    }
}

/// Records with the awkward cases: null/empty keys and values, duplicate header keys in order,
/// null header values, explicit timestamps.
fn records(tag: &str, n: usize, partitions: i32) -> Vec<PyRecord> {
    (0..n)
        .map(|i| PyRecord {
            partition: Some(i as i32 % partitions),
            key: match i % 4 {
                0 => None,
                1 => Some(Vec::new()),
                _ => Some(format!("{tag}-k{i}").into_bytes()),
            },
            value: match i % 7 {
                0 => None,
                1 => Some(Vec::new()),
                _ => Some(format!("{tag}-v{i}-{}", "y".repeat(i % 40)).into_bytes()),
            },
            headers: match i % 3 {
                0 => vec![],
                1 => vec![
                    ("dup".into(), Some(b"1".to_vec())),
                    ("dup".into(), Some(b"2".to_vec())),
                    ("nil".into(), None),
                ],
                _ => vec![("bin".into(), Some(vec![0, 1, 255]))],
            },
            timestamp_ms: Some(1_700_000_000_000 + i as i64),
        })
        .collect()
}

async fn consume_all(broker: &TansuBroker, topic: &str, n: usize) -> Vec<PyConsumedRecord> {
    python::consume(
        &broker.addr(),
        topic,
        Partitions::All,
        n,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("consuming {n} records of {topic}: {e:#}"))
}

/// Groups by partition, ordered by offset.
fn by_partition(records: Vec<PyConsumedRecord>) -> BTreeMap<i32, Vec<PyConsumedRecord>> {
    let mut out: BTreeMap<i32, Vec<PyConsumedRecord>> = BTreeMap::new();
    for r in records {
        out.entry(r.partition).or_default().push(r);
    }
    for v in out.values_mut() {
        v.sort_by_key(|r| r.offset);
    }
    out
}

/// Asserts that `target` holds exactly `source`, record by record, and that each target
/// record's provenance names its source offset.
fn assert_exact_copy(
    source: Vec<PyConsumedRecord>,
    target: Vec<PyConsumedRecord>,
    source_cluster: &str,
    topic: &str,
) {
    assert_eq!(source.len(), target.len(), "{topic}: record count");
    let (source, target) = (by_partition(source), by_partition(target));
    assert_eq!(
        source.keys().collect::<Vec<_>>(),
        target.keys().collect::<Vec<_>>(),
        "{topic}: partitions"
    );
    for (partition, s) in &source {
        let t = &target[partition];
        assert_eq!(s.len(), t.len(), "{topic}-{partition}: count");
        for (s, t) in s.iter().zip(t) {
            let at = format!("{topic}-{partition} source offset {}", s.offset);
            assert_eq!(t.key, s.key, "{at}: key");
            assert_eq!(t.value, s.value, "{at}: value");
            assert_eq!(t.timestamp, s.timestamp, "{at}: timestamp");
            assert_eq!(t.timestamp_type, s.timestamp_type, "{at}: timestamp type");
            let (ours, theirs): (Vec<_>, Vec<_>) = t
                .headers
                .iter()
                .cloned()
                .partition(|(k, _)| k == HEADER_KEY);
            assert_eq!(theirs, s.headers, "{at}: headers");
            assert_eq!(ours.len(), 1, "{at}: one provenance header");
            let header = Header::new(HEADER_KEY, ours[0].1.clone().map(bytes::Bytes::from));
            let p = Provenance::find(&[header]).unwrap().unwrap();
            assert_eq!(p.offset, s.offset, "{at}: provenance offset");
            assert_eq!(p.partition, *partition, "{at}: provenance partition");
            assert_eq!(
                p.source,
                ClusterFingerprint::of(source_cluster),
                "{at}: source"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_three_topics_every_codec_exactly_and_keeps_up_live() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let topics = [
        ("orders", ["none", "gzip"]),
        ("payments", ["snappy", "lz4"]),
        ("shipments", ["zstd", "none"]),
    ];
    let mut expected = BTreeMap::new();
    for (topic, codecs) in &topics {
        python::create_topic(&source.addr(), topic, 3, &[])
            .await
            .unwrap();
        for codec in codecs {
            let batch = records(&format!("{topic}-{codec}"), 90, 3);
            python::produce(&source.addr(), topic, &batch, codec, &[])
                .await
                .unwrap();
            *expected.entry(*topic).or_insert(0) += batch.len();
        }
    }
    // A topic that is not selected must not be copied.
    python::create_topic(&source.addr(), "scratch", 1, &[])
        .await
        .unwrap();

    let config = replicator_config(
        "e2e",
        &source,
        &target,
        &["orders", "payments", "shipments"],
        "IDENTICAL",
        "EARLIEST",
        "LZ4",
    );
    let replicator = Replicator::start(config, fast_options(DataMode::Header))
        .await
        .unwrap();

    for (topic, n) in &expected {
        let s = consume_all(&source, topic, *n).await;
        let t = consume_all(&target, topic, *n).await;
        assert_exact_copy(s, t, source.cluster_id(), topic);
    }

    // Live: records produced while the replicator runs arrive too.
    let live = records("live", 30, 3);
    python::produce(&source.addr(), "orders", &live, "zstd", &[])
        .await
        .unwrap();
    let n = expected["orders"] + live.len();
    let s = consume_all(&source, "orders", n).await;
    let t = consume_all(&target, "orders", n).await;
    assert_exact_copy(s, t, source.cluster_id(), "orders");

    let target_topics = python::list_topics(&target.addr()).await.unwrap();
    assert!(!target_topics.contains_key("scratch"), "{target_topics:?}");
    assert_eq!(target_topics.get("orders"), Some(&3));
    replicator.shutdown().await.unwrap();

    // `verify` agrees, partition by partition...
    let config = replicator_config(
        "e2e",
        &source,
        &target,
        &["orders", "payments", "shipments"],
        "IDENTICAL",
        "EARLIEST",
        "LZ4",
    );
    let verdicts = kreplicate_replicate::verify_replicator(&config, "verify")
        .await
        .unwrap();
    assert_eq!(verdicts.len(), 9);
    for v in &verdicts {
        assert!(v.is_equal(), "{v:?}");
        assert_eq!(v.source_records, v.target_records);
        assert_eq!(v.source_digest, v.target_digest);
    }
    let orders: u64 = verdicts
        .iter()
        .filter(|v| v.topic == "orders")
        .map(|v| v.source_records)
        .sum();
    assert_eq!(orders as usize, n);

    // ...and catches a duplicated copy, naming the source offset.
    let dup = consume_all(&target, "payments", expected["payments"]).await;
    let victim = dup
        .iter()
        .find(|r| r.partition == 1 && r.offset == 5)
        .unwrap();
    python::produce(
        &target.addr(),
        "payments",
        &[PyRecord {
            partition: Some(1),
            key: victim.key.clone(),
            value: victim.value.clone(),
            headers: victim.headers.clone(),
            timestamp_ms: Some(victim.timestamp),
        }],
        "none",
        &[],
    )
    .await
    .unwrap();
    let verdicts = kreplicate_replicate::verify_replicator(&config, "verify")
        .await
        .unwrap();
    let bad: Vec<_> = verdicts.iter().filter(|v| !v.is_equal()).collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!((bad[0].topic.as_str(), bad[0].partition), ("payments", 1));
    let (offset, why) = bad[0].first_divergence.clone().unwrap();
    assert!(why.contains("duplicate"), "{why}");
    let copied_offset = {
        let header = Header::new(
            HEADER_KEY,
            victim
                .headers
                .iter()
                .find(|(k, _)| k == HEADER_KEY)
                .and_then(|(_, v)| v.clone())
                .map(bytes::Bytes::from),
        );
        Provenance::find(&[header]).unwrap().unwrap().offset
    };
    assert_eq!(offset, copied_offset);
}

/// Batch mode (the default): loop prevention by producer id. The target codec is LZ4: the app
/// on `a` writes LZ4 batches (copied as they are), the app on `b` GZIP ones (re-encoded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opposite_replicators_on_identical_names_copy_each_record_once_and_never_loop() {
    opposite_replicators(DataMode::Batch).await;
}

/// Header mode: loop prevention by the provenance header's origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opposite_header_mode_replicators_copy_each_record_once_and_never_loop() {
    opposite_replicators(DataMode::Header).await;
}

/// A consumed record's content, comparable with what an app produced.
type Content = (
    i32,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
    i64,
);

async fn opposite_replicators(mode: DataMode) {
    let a = TansuBroker::strict_memory().unwrap();
    let b = TansuBroker::strict_memory().unwrap();
    for broker in [&a, &b] {
        python::create_topic(&broker.addr(), "events", 2, &[])
            .await
            .unwrap();
    }
    let a_to_b = Replicator::start(
        replicator_config(
            "a-to-b",
            &a,
            &b,
            &["events"],
            "IDENTICAL",
            "EARLIEST",
            "LZ4",
        ),
        fast_options(mode),
    )
    .await
    .unwrap();
    let b_to_a = Replicator::start(
        replicator_config(
            "b-to-a",
            &b,
            &a,
            &["events"],
            "IDENTICAL",
            "EARLIEST",
            "LZ4",
        ),
        fast_options(mode),
    )
    .await
    .unwrap();
    let from_a = records("from-a", 40, 2);
    let from_b = records("from-b", 50, 2);
    python::produce(&a.addr(), "events", &from_a, "lz4", &[])
        .await
        .unwrap();
    python::produce(&b.addr(), "events", &from_b, "gzip", &[])
        .await
        .unwrap();

    let total = from_a.len() + from_b.len();
    for broker in [&a, &b] {
        // Linger: records that looped would show up as extras.
        let mut job = python::ConsumeJob::new(&broker.addr(), "events", total);
        job.timeout = Duration::from_secs(60);
        job.linger = Duration::from_secs(2);
        let got = job.run().await.unwrap();
        assert_eq!(
            got.len(),
            total,
            "each record exactly once on {}",
            broker.addr()
        );
        // Both apps' records, byte for byte (key, value, headers, timestamp, partition), each
        // as many times as it was produced. Header mode adds its header to copies.
        let mut have: Vec<Content> = got
            .iter()
            .map(|r| {
                let headers = r
                    .headers
                    .iter()
                    .filter(|(k, _)| k != HEADER_KEY)
                    .cloned()
                    .collect();
                (
                    r.partition,
                    r.key.clone(),
                    r.value.clone(),
                    headers,
                    r.timestamp,
                )
            })
            .collect();
        let mut want: Vec<Content> = from_a
            .iter()
            .chain(&from_b)
            .map(|r| {
                (
                    r.partition.unwrap(),
                    r.key.clone(),
                    r.value.clone(),
                    r.headers.clone(),
                    r.timestamp_ms.unwrap(),
                )
            })
            .collect();
        have.sort();
        want.sort();
        assert_eq!(have, want, "on {}", broker.addr());
        if mode == DataMode::Batch {
            assert!(
                got.iter()
                    .all(|r| r.headers.iter().all(|(k, _)| k != HEADER_KEY)),
                "batch mode adds no header"
            );
        }
    }
    a_to_b.shutdown().await.unwrap();
    b_to_a.shutdown().await.unwrap();
}
