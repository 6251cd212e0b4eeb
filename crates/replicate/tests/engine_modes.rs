//! The engine's options against real brokers: StartingPosition LATEST, PREFIXED names,
//! TargetCompressionType on the batches actually stored, transactions, pass-through mode, and a
//! compacted topic with tombstones and its config.

use std::time::Duration;

use kreplicate_codec::{Compression, Header};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_replicate::{Provenance, PROVENANCE_HEADER_KEY as HEADER_KEY};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher, IsolationLevel};

fn config(
    source: &TansuBroker,
    target: &TansuBroker,
    topic: &str,
    naming: &str,
    start: &str,
    compression: &str,
) -> ReplicatorConfig {
    let json = ReplicatorJson::new("modes", source, target, &[topic])
        .naming(naming)
        .starting_position(start)
        .compression(compression)
        .json();
    CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap()
}

fn options(mode: DataMode) -> EngineOptions {
    EngineOptions {
        mode,
        topic_refresh_interval: Duration::from_millis(200),
        checkpoint_interval: Duration::from_millis(200),
        resume_settle: Duration::from_millis(100),
        ..EngineOptions::default()
    }
}

fn values(prefix: &str, n: usize, partitions: i32) -> Vec<PyRecord> {
    (0..n)
        .map(|i| PyRecord {
            partition: Some(i as i32 % partitions),
            key: Some(format!("k{}", i % 7).into_bytes()),
            value: Some(format!("{prefix}-{i}").into_bytes()),
            headers: vec![("h".into(), Some(b"x".to_vec())), ("h".into(), None)],
            timestamp_ms: Some(1_700_000_000_000 + i as i64),
        })
        .collect()
}

/// Consumes exactly `n` records (lingering to catch extras) from `topic`.
async fn consume_exactly(broker: &TansuBroker, topic: &str, n: usize) -> Vec<PyConsumedRecord> {
    let mut job = python::ConsumeJob::new(&broker.addr(), topic, n);
    job.timeout = Duration::from_secs(60);
    job.linger = Duration::from_millis(1500);
    job.isolation = Isolation::ReadCommitted;
    let got = job.run().await.unwrap();
    assert_eq!(got.len(), n, "{topic}: exactly {n} records");
    got
}

/// Waits until the replicator copies `topic` (its lag metric appears).
async fn wait_copying(replicator: &Replicator, topic: &str) {
    let needle = format!("kreplicate_message_lag{{topic=\"{topic}\"");
    for _ in 0..200 {
        if replicator.metrics().encode().contains(&needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replicator never started copying {topic}");
}

fn provenance_offset(r: &PyConsumedRecord) -> Option<i64> {
    let value = r.headers.iter().find(|(k, _)| k == HEADER_KEY)?.1.clone()?;
    let header = Header::new(HEADER_KEY, Some(bytes::Bytes::from(value)));
    Provenance::find(&[header]).map(|p| p.unwrap().offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_skips_older_records_and_prefixed_names_use_the_source_alias() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "clicks", 2, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "clicks", &values("old", 20, 2), "none", &[])
        .await
        .unwrap();
    let replicator = Replicator::start(
        config(
            &source,
            &target,
            "clicks",
            "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS",
            "LATEST",
            "NONE",
        ),
        options(DataMode::Header),
    )
    .await
    .unwrap();
    wait_copying(&replicator, "clicks").await;
    // The counters alerts watch exist at 0 before their first event (`increase()` needs that).
    let text = replicator.metrics().encode();
    for line in [
        r#"kreplicate_replication_failures_total{topic="clicks"} 0"#,
        r#"kreplicate_gap_records_total{topic="clicks",partition="1"} 0"#,
        r#"kreplicate_filtered_records_total{topic="clicks"} 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("kreplicate_auth_errors_total{cluster=") && l.ends_with(" 0"))
            .count(),
        2,
        "{text}"
    );
    python::produce(&source.addr(), "clicks", &values("new", 10, 2), "gzip", &[])
        .await
        .unwrap();
    let prefixed = format!("{}.clicks", source.cluster_id());
    let got = consume_exactly(&target, &prefixed, 10).await;
    let mut got_values: Vec<_> = got.iter().map(|r| r.value.clone().unwrap()).collect();
    got_values.sort();
    let mut want: Vec<_> = (0..10).map(|i| format!("new-{i}").into_bytes()).collect();
    want.sort();
    assert_eq!(got_values, want, "only records produced after the start");
    // Caught up on an idle source: the records' timestamps are years old, but no record is
    // pending, so no latency is reported (the last copy's latency would hold `status` NOT
    // READY for ever).
    let mut caught_up = false;
    for _ in 0..200 {
        let text = replicator.metrics().encode();
        let lag_zero = (0..2).all(|p| {
            text.contains(&format!(
                "kreplicate_message_lag{{topic=\"clicks\",partition=\"{p}\"}} 0\n"
            ))
        });
        if lag_zero && !text.contains("kreplicate_replication_latency_ms{topic=\"clicks\"") {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        caught_up,
        "latency still reported once caught up:\n{}",
        replicator.metrics().encode()
    );
    assert!(!python::list_topics(&target.addr())
        .await
        .unwrap()
        .contains_key("clicks"));
    replicator.shutdown().await.unwrap();

    // A restart resumes where it stopped: records produced while it was down are not skipped,
    // although the starting position is LATEST.
    python::produce(
        &source.addr(),
        "clicks",
        &values("while-down", 6, 2),
        "none",
        &[],
    )
    .await
    .unwrap();
    let replicator = Replicator::start(
        config(
            &source,
            &target,
            "clicks",
            "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS",
            "LATEST",
            "NONE",
        ),
        options(DataMode::Header),
    )
    .await
    .unwrap();
    let got = consume_exactly(&target, &prefixed, 16).await;
    assert_eq!(
        got.iter()
            .filter(|r| r.value.as_ref().unwrap().starts_with(b"while-down"))
            .count(),
        6
    );
    replicator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_compression_type_is_what_the_target_stores() {
    let source = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "zipped", 1, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "zipped", &values("z", 30, 1), "snappy", &[])
        .await
        .unwrap();
    for (name, codec) in [
        ("NONE", Compression::None),
        ("GZIP", Compression::Gzip),
        ("SNAPPY", Compression::Snappy),
        ("LZ4", Compression::Lz4),
        ("ZSTD", Compression::Zstd),
    ] {
        let target = TansuBroker::strict_memory().unwrap();
        let replicator = Replicator::start(
            config(&source, &target, "zipped", "IDENTICAL", "EARLIEST", name),
            options(DataMode::Header),
        )
        .await
        .unwrap();
        consume_exactly(&target, "zipped", 30).await;
        replicator.shutdown().await.unwrap();
        let stored = stored_codecs(&target, "zipped").await;
        assert!(!stored.is_empty());
        assert!(
            stored.iter().all(|c| *c == codec),
            "{name}: stored {stored:?}"
        );
    }
}

/// The codec of every data batch stored in partition 0 of `topic`.
async fn stored_codecs(broker: &TansuBroker, topic: &str) -> Vec<Compression> {
    let client = Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .unwrap();
    let fetcher = Fetcher::new(
        client,
        FetchConfig {
            isolation: IsolationLevel::ReadUncommitted,
            max_wait: Duration::from_millis(20),
            ..FetchConfig::default()
        },
    );
    let (_, result) = fetcher
        .fetch(&[FetchPosition {
            topic: topic.into(),
            partition: 0,
            offset: 0,
        }])
        .await
        .pop()
        .unwrap();
    let visible = result.unwrap().visible_batches().unwrap();
    visible
        .batches
        .iter()
        .filter_map(|b| b.as_v2().map(|b| b.compression()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_copy_committed_records_and_never_the_markers() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "ledger", 1, &[])
        .await
        .unwrap();
    python::produce_transaction(&source.addr(), "ledger", &values("tx1", 5, 1), "tx-a", true)
        .await
        .unwrap();
    python::produce(
        &source.addr(),
        "ledger",
        &values("plain", 3, 1),
        "none",
        &[],
    )
    .await
    .unwrap();
    python::produce_transaction(&source.addr(), "ledger", &values("tx2", 4, 1), "tx-b", true)
        .await
        .unwrap();
    let replicator = Replicator::start(
        config(&source, &target, "ledger", "IDENTICAL", "EARLIEST", "NONE"),
        options(DataMode::Header),
    )
    .await
    .unwrap();
    let source_records = python::consume(
        &source.addr(),
        "ledger",
        Partitions::All,
        12,
        Isolation::ReadCommitted,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let got = consume_exactly(&target, "ledger", 12).await;
    replicator.shutdown().await.unwrap();
    // Commit markers occupy source offsets (5 and 14 here) that have no copy: the copies'
    // provenance offsets are exactly the committed records' offsets.
    let mut copied: Vec<i64> = got.iter().map(|r| provenance_offset(r).unwrap()).collect();
    copied.sort();
    let mut committed: Vec<i64> = source_records.iter().map(|r| r.offset).collect();
    committed.sort();
    assert_eq!(copied, committed);
    assert!(
        committed.windows(2).any(|w| w[1] - w[0] > 1),
        "markers left gaps in the source offsets: {committed:?}"
    );
    let target_offsets: Vec<i64> = {
        let mut o: Vec<i64> = got.iter().map(|r| r.offset).collect();
        o.sort();
        o
    };
    assert_eq!(
        target_offsets,
        (0..12).collect::<Vec<i64>>(),
        "no markers on the target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_keeps_source_batches_and_records_exactly() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "raw", 1, &[])
        .await
        .unwrap();
    let sent = values("raw", 50, 1);
    python::produce(&source.addr(), "raw", &sent, "zstd", &[("linger.ms", "50")])
        .await
        .unwrap();
    let replicator = Replicator::start(
        config(&source, &target, "raw", "IDENTICAL", "EARLIEST", "ZSTD"),
        options(DataMode::Batch),
    )
    .await
    .unwrap();
    let got = consume_exactly(&target, "raw", 50).await;
    replicator.shutdown().await.unwrap();
    let mut got = got;
    got.sort_by_key(|r| r.offset);
    for (s, t) in sent.iter().zip(&got) {
        assert_eq!(t.key, s.key);
        assert_eq!(t.value, s.value);
        assert_eq!(t.headers, s.headers, "pass-through adds no header");
        assert_eq!(t.timestamp, s.timestamp_ms.unwrap());
    }
    // The source's zstd batches are the target's codec: they went through as they were.
    let stored = stored_codecs(&target, "raw").await;
    assert!(stored.iter().all(|c| *c == Compression::Zstd), "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_topic_with_tombstones_is_copied_with_its_config() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(
        &source.addr(),
        "profiles",
        1,
        &[("cleanup.policy", "compact")],
    )
    .await
    .unwrap();
    let mut records = values("profile", 12, 1);
    for r in records.iter_mut().step_by(4) {
        r.value = None; // tombstones
    }
    python::produce(&source.addr(), "profiles", &records, "lz4", &[])
        .await
        .unwrap();
    let replicator = Replicator::start(
        config(
            &source,
            &target,
            "profiles",
            "IDENTICAL",
            "EARLIEST",
            "NONE",
        ),
        options(DataMode::Header),
    )
    .await
    .unwrap();
    let mut got = consume_exactly(&target, "profiles", 12).await;
    replicator.shutdown().await.unwrap();
    got.sort_by_key(|r| r.offset);
    for (s, t) in records.iter().zip(&got) {
        assert_eq!((&t.key, &t.value), (&s.key, &s.value));
    }
    assert_eq!(got.iter().filter(|r| r.value.is_none()).count(), 3);
    let config = python::describe_topic_config(&target.addr(), "profiles")
        .await
        .unwrap();
    assert_eq!(
        config.get("cleanup.policy").cloned().flatten().as_deref(),
        Some("compact"),
        "{config:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_while_running_appears_with_its_configs_and_records() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let replicator = Replicator::start(
        config(&source, &target, "late.*", "IDENTICAL", "EARLIEST", "NONE"),
        options(DataMode::Header),
    )
    .await
    .unwrap();
    python::create_topic(
        &source.addr(),
        "late-orders",
        2,
        &[("retention.ms", "3600000")],
    )
    .await
    .unwrap();
    python::produce(
        &source.addr(),
        "late-orders",
        &values("late", 8, 2),
        "lz4",
        &[],
    )
    .await
    .unwrap();
    let got = consume_exactly(&target, "late-orders", 8).await;
    replicator.shutdown().await.unwrap();
    assert_eq!(got.iter().filter(|r| r.partition == 1).count(), 4);
    let config = python::describe_topic_config(&target.addr(), "late-orders")
        .await
        .unwrap();
    assert_eq!(
        config.get("retention.ms").cloned().flatten().as_deref(),
        Some("3600000"),
        "{config:?}"
    );
    assert_eq!(
        python::list_topics(&target.addr())
            .await
            .unwrap()
            .get("late-orders"),
        Some(&2)
    );
}
