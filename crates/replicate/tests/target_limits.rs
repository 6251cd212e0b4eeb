//! A target topic whose `max.message.bytes` is lower than the source's batches: Kafka refuses a
//! batch over the limit whole (MESSAGE_TOO_LARGE), however small its records, so the batches
//! written for it must stay within it — in records mode and in pass-through, where a source
//! batch over the limit is re-batched from its records. The target is Tansu behind the
//! Kafka-strict layer, which enforces the limit per batch; no refusal may happen.

use std::time::Duration;

use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, PyConsumedRecord, PyRecord};
use kreplicate_testkit::strict::StrictTansu;
use kreplicate_testkit::tansu::TansuBroker;

const PARTITIONS: i32 = 3;
const RECORDS: usize = 1500;
/// The target topic's limit: 16 KiB, where librdkafka builds source batches of up to 1 MB.
const TARGET_LIMIT: &str = "16384";

fn config(source: &TansuBroker, target: &StrictTansu, topic: &str) -> ReplicatorConfig {
    let mut json = ReplicatorJson::new("limits", source, target.broker(), &[topic]);
    json.target_bootstrap = target.bootstrap();
    CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap()
}

/// Incompressible values (a xorshift stream), so compressed source batches stay large.
fn records() -> Vec<PyRecord> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..RECORDS)
        .map(|i| {
            let value: Vec<u8> = (0..300)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            PyRecord {
                partition: Some(i as i32 % PARTITIONS),
                key: Some(format!("k{i}").into_bytes()),
                value: Some(value),
                ..PyRecord::default()
            }
        })
        .collect()
}

async fn consume_all(bootstrap: &str, topic: &str) -> Vec<PyConsumedRecord> {
    let mut job = python::ConsumeJob::new(bootstrap, topic, RECORDS);
    job.timeout = Duration::from_secs(90);
    job.linger = Duration::from_millis(1000);
    job.isolation = Isolation::ReadCommitted;
    let mut got = job.run().await.unwrap();
    got.sort_by_key(|r| (r.partition, r.offset));
    got
}

async fn copies_within_the_target_limit(mode: DataMode, topic: &str) {
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    python::create_topic(&source.addr(), topic, PARTITIONS, &[])
        .await
        .unwrap();
    python::create_topic(
        &target.bootstrap(),
        topic,
        PARTITIONS,
        &[("max.message.bytes", TARGET_LIMIT)],
    )
    .await
    .unwrap();
    python::produce(&source.addr(), topic, &records(), "lz4", &[])
        .await
        .unwrap();
    let replicator = Replicator::start(
        config(&source, &target, topic),
        EngineOptions {
            mode,
            topic_refresh_interval: Duration::from_millis(200),
            checkpoint_interval: Duration::from_millis(200),
            resume_settle: Duration::from_millis(100),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let copied = consume_all(&target.bootstrap(), topic).await;
    replicator.shutdown().await.unwrap();
    let originals = consume_all(&source.addr(), topic).await;

    assert_eq!(
        target.refusals().total_refused(),
        0,
        "the strict layer refused writes: {:?}",
        target.refusals()
    );
    assert_eq!(copied.len(), RECORDS);
    for (o, c) in originals.iter().zip(&copied) {
        assert_eq!(
            (o.partition, o.offset, &o.key, &o.value, o.timestamp),
            (c.partition, c.offset, &c.key, &c.value, c.timestamp),
            "record {}-{}",
            o.partition,
            o.offset
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_mode_batches_stay_within_the_target_topics_max_message_bytes() {
    copies_within_the_target_limit(DataMode::Header, "limited-records").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_rebatches_source_batches_over_the_target_topics_max_message_bytes() {
    copies_within_the_target_limit(DataMode::Batch, "limited-pass").await;
}
