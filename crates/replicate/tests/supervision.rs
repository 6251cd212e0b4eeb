//! Supervision of copier tasks, against real brokers: a copier that panics is detected by its
//! task id, logged with its partition, counted, never shown as copying, restarted with
//! backoff — and halted for good after repeated panics. The panic comes from the engine's
//! test hook (`EngineOptions::panic_hook`), at a chosen source offset: triggered by progress.

mod faults_support;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use faults_support::{
    assert_verified, capture_logs, client, config, copied_offsets, ends, fast_options, metric,
    wait_caught_up, wait_copied_through, wait_until, Side,
};
use kreplicate_replicate::PanicHook;
use kreplicate_replicate::{EngineOptions, Replicator};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::Client;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const PARTITIONS: i32 = 2;
const RECORDS: usize = 30;
const PANIC_AT: i64 = 12;

/// Creates `topic` on the source with `RECORDS` records in each partition.
async fn populate(source: &Client, topic: &str) {
    let outcome = Admin::new(source.clone())
        .create_topics(&[NewTopic::new(topic, PARTITIONS, 1)], false)
        .await
        .unwrap();
    outcome[0].1.as_ref().unwrap();
    let producer = Producer::new(source.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for p in 0..PARTITIONS {
        for i in 0..RECORDS {
            let record = ProducerRecord {
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("{topic}-{p}-{i}"))),
                headers: Vec::new(),
                timestamp: Some(1_700_000_000_000 + i as i64),
            };
            deliveries.push(producer.send(topic, p, record).await.unwrap());
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    assert_eq!(
        ends(source, topic, PARTITIONS).await,
        vec![RECORDS as i64; PARTITIONS as usize]
    );
}

fn options(topic: &str, panics: u32) -> EngineOptions {
    EngineOptions {
        halt_retry_initial: Duration::from_millis(100),
        halt_retry_max: Duration::from_millis(400),
        max_copier_panics: 3,
        panic_hook: Some(PanicHook {
            topic: topic.into(),
            partition: 1,
            offset: PANIC_AT,
            times: Arc::new(AtomicU32::new(panics)),
        }),
        ..fast_options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copier_that_panics_once_is_restarted_and_its_partition_copied_exactly() {
    let logs = capture_logs();
    let topic = "panics-once";
    let (source, target) = (
        TansuBroker::memory().unwrap(),
        TansuBroker::memory().unwrap(),
    );
    let (source_client, target_client) =
        (client(&source.addr()).await, client(&target.addr()).await);
    populate(&source_client, topic).await;
    let config = config(
        topic,
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target.addr()),
        &[topic],
    );
    let replicator = Replicator::start(config.clone(), options(topic, 1))
        .await
        .unwrap();
    let metrics = replicator.metrics();
    wait_caught_up(
        &source_client,
        &target_client,
        topic,
        PARTITIONS,
        Duration::from_secs(60),
    )
    .await;
    let text = metrics.encode();
    assert_eq!(
        metric(&text, "kreplicate_copier_panics_total", &[("topic", topic)]),
        1.0,
        "{text}"
    );
    wait_until(
        "both partitions copying again",
        Duration::from_secs(10),
        || {
            let text = metrics.encode();
            metric(&text, "kreplicate_partitions", &[("state", "copying")]) == 2.0
                && metric(&text, "kreplicate_partitions", &[("state", "halted")]) == 0.0
        },
    )
    .await;
    let log = logs.text();
    let line = log
        .lines()
        .find(|l| l.contains("panicked") && l.contains(&format!("topic={topic}")))
        .unwrap_or_else(|| panic!("no panic line for {topic}:\n{log}"));
    for part in [
        "partition=1",
        &format!("test panic hook: {topic}-1 at offset {PANIC_AT}"),
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    replicator.shutdown().await.unwrap();
    // Exactly once: the records acknowledged before the panic are not copied again.
    for p in 0..PARTITIONS {
        assert_eq!(
            copied_offsets(&target_client, topic, p).await,
            (0..RECORDS as i64).collect::<Vec<_>>()
        );
    }
    assert_verified(&config, PARTITIONS as usize, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copier_that_keeps_panicking_is_halted_never_shown_as_copying() {
    let logs = capture_logs();
    let topic = "panics-always";
    let (source, target) = (
        TansuBroker::memory().unwrap(),
        TansuBroker::memory().unwrap(),
    );
    let (source_client, target_client) =
        (client(&source.addr()).await, client(&target.addr()).await);
    populate(&source_client, topic).await;
    let config = config(
        topic,
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target.addr()),
        &[topic],
    );
    let replicator = Replicator::start(config.clone(), options(topic, u32::MAX))
        .await
        .unwrap();
    let metrics = replicator.metrics();
    wait_until(
        "the partition halted after 3 panics",
        Duration::from_secs(60),
        || {
            let text = metrics.encode();
            metric(&text, "kreplicate_copier_panics_total", &[("topic", topic)]) == 3.0
                && metric(&text, "kreplicate_partitions", &[("state", "halted")]) == 1.0
        },
    )
    .await;
    // Partition 0 is unaffected.
    wait_until("partition 0 copied", Duration::from_secs(30), || {
        let text = metrics.encode();
        metric(&text, "kreplicate_partitions", &[("state", "copying")]) == 1.0
    })
    .await;
    // `partitions` 1: only partition 0 is waited for.
    wait_copied_through(
        &source_client,
        &target_client,
        topic,
        1,
        Duration::from_secs(30),
    )
    .await;
    let text = metrics.encode();
    assert_eq!(
        metric(&text, "kreplicate_partitions", &[("state", "copying")]),
        1.0,
        "{text}"
    );
    assert!(logs
        .text()
        .lines()
        .any(|l| l.contains(&format!("topic={topic}"))
            && l.contains("partition=1")
            && l.contains("halted until the replicator restarts")));
    replicator.shutdown().await.unwrap();
    assert_eq!(
        copied_offsets(&target_client, topic, 0).await,
        (0..RECORDS as i64).collect::<Vec<_>>()
    );
    // Partition 1 holds a prefix of the source below the panicking record, nothing else.
    let p1 = copied_offsets(&target_client, topic, 1).await;
    assert_eq!(p1, (0..p1.len() as i64).collect::<Vec<_>>());
    assert!(p1.len() as i64 <= PANIC_AT, "{p1:?}");
}
