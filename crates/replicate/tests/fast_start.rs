//! Start-up against a busy target: in a two-way migration the reverse replicator's target is
//! where the applications write. Its resume points must settle on what kreplicate wrote (its
//! copies' provenance), not on the partition's end, which the applications keep moving; and a
//! stop during start-up is honoured at once, with nothing copied after it.

mod faults_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use faults_support::{client, config, metric, wait_until, Side};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::high_watermark;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPICS: [&str; 3] = ["busy-a", "busy-b", "busy-c"];
const PARTITIONS: i32 = 2;
const RECORDS: i64 = 10;

/// An application writing to every partition of `TOPICS` on `bootstrap` until stopped (at most
/// 5000 records), one record at a time: the target's ends keep moving.
struct App {
    running: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl App {
    async fn start(target: &Client) -> App {
        let producer = Producer::new(target.clone(), ProducerConfig::default())
            .await
            .unwrap();
        let running = Arc::new(AtomicBool::new(true));
        let written = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (running, written) = (running.clone(), written.clone());
            async move {
                for i in 0..5000u64 {
                    if !running.load(Ordering::Relaxed) {
                        break;
                    }
                    let topic = TOPICS[i as usize % TOPICS.len()];
                    let record = ProducerRecord {
                        key: Some(Bytes::from(format!("app-{i}"))),
                        value: Some(Bytes::from(format!("written by the app {i}"))),
                        ..ProducerRecord::default()
                    };
                    let partition = (i / TOPICS.len() as u64) as i32 % PARTITIONS;
                    let sent = producer.send(topic, partition, record).await.unwrap();
                    sent.await.unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        App {
            running,
            written,
            task,
        }
    }

    /// Waits until the app wrote `n` more records than `from`.
    async fn wait_written(&self, from: u64, n: u64) {
        let written = self.written.clone();
        wait_until(
            "the app writes to the target",
            Duration::from_secs(60),
            || written.load(Ordering::Relaxed) >= from + n,
        )
        .await;
    }

    async fn stop(self) {
        self.running.store(false, Ordering::Relaxed);
        self.task.await.unwrap();
    }
}

async fn setup() -> (TansuBroker, TansuBroker, Client, Client) {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.addr()).await;
    for c in [&source_client, &target_client] {
        let topics: Vec<NewTopic> = TOPICS
            .iter()
            .map(|t| NewTopic::new(*t, PARTITIONS, 1))
            .collect();
        for (_, created) in Admin::new(c.clone())
            .create_topics(&topics, false)
            .await
            .unwrap()
        {
            created.unwrap();
        }
    }
    let producer = Producer::new(source_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut sent = Vec::new();
    for topic in TOPICS {
        for p in 0..PARTITIONS {
            for i in 0..RECORDS {
                let record = ProducerRecord {
                    key: Some(Bytes::from(format!("k{i}"))),
                    value: Some(Bytes::from(format!("{topic}-{p}-{i}"))),
                    ..ProducerRecord::default()
                };
                sent.push(producer.send(topic, p, record).await.unwrap());
            }
        }
    }
    for s in sent {
        s.await.unwrap();
    }
    (source, target, source_client, target_client)
}

fn options(mode: DataMode) -> EngineOptions {
    EngineOptions {
        mode,
        topic_refresh_interval: Duration::from_millis(300),
        // The defaults: a second between reads, at most 30 s of waiting per partition.
        resume_settle: Duration::from_secs(1),
        resume_settle_max: Duration::from_secs(30),
        ..EngineOptions::default()
    }
}

/// With the applications writing to the target all along, every partition of three topics
/// starts copying within seconds (it took one 30 s settle per topic, one topic after another:
/// 90 s), and each copies its source records exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_target_does_not_hold_start_up_back() {
    let (source, target, _, target_client) = setup().await;
    let app = App::start(&target_client).await;
    app.wait_written(0, 20).await;
    let config = config(
        "fast-start",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target.addr()),
        &TOPICS,
    );
    let started = Instant::now();
    let replicator = Replicator::start(config, options(DataMode::Header))
        .await
        .unwrap();
    let metrics = replicator.metrics();
    let all = (TOPICS.len() as i32 * PARTITIONS) as f64;
    wait_until("every partition copying", Duration::from_secs(90), || {
        metric(
            &metrics.encode(),
            "kreplicate_partitions",
            &[("state", "copying")],
        ) == all
    })
    .await;
    let took = started.elapsed();
    // Three topics, each held for the 30 s maximum before: 90 s. Settling on the copies takes
    // one settle interval per partition, all of a topic's partitions at once.
    assert!(
        took < Duration::from_secs(20),
        "start-up took {took:?} with a busy target"
    );
    for topic in TOPICS {
        for p in 0..PARTITIONS {
            let topic = topic.to_string();
            let target_client = target_client.clone();
            let mut copied = Vec::new();
            for _ in 0..300 {
                copied = copies(&target_client, &topic, p).await;
                if copied.len() as i64 >= RECORDS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(
                copied,
                (0..RECORDS).collect::<Vec<_>>(),
                "{topic}-{p}: each source record copied once, in order"
            );
        }
    }
    app.stop().await;
    replicator.shutdown().await.unwrap();
}

/// A stop while start-up waits for resume points (pass-through judges the target's end, which
/// the app keeps moving, so start-up would wait the full 30 s) ends the replicator at once,
/// having copied nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_start_up_is_honoured_at_once_and_copies_nothing() {
    let (source, target, _, target_client) = setup().await;
    let app = App::start(&target_client).await;
    app.wait_written(0, 20).await;
    let ends_before = ends(&target_client).await;
    let config = config(
        "stop-at-start",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target.addr()),
        &TOPICS,
    );
    let replicator = Replicator::start(config, options(DataMode::Batch))
        .await
        .unwrap();
    // Progress, not a timer: the app wrote 30 more records meanwhile, so start-up is in its
    // settle reads (each takes a second).
    let written = app.written.load(Ordering::Relaxed);
    app.wait_written(written, 30).await;
    let stopping = Instant::now();
    replicator.shutdown().await.unwrap();
    let took = stopping.elapsed();
    app.stop().await;
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    // Nothing but the app's records reached the target: its ends moved by what the app wrote.
    let ends_after = ends(&target_client).await;
    let grown: i64 = ends_after
        .iter()
        .zip(&ends_before)
        .map(|(a, b)| a - b)
        .sum();
    let app_wrote_since = app_written_between(&target_client, &ends_before).await;
    assert_eq!(
        grown, app_wrote_since,
        "only the app's records were written"
    );
}

async fn ends(target: &Client) -> Vec<i64> {
    let mut out = Vec::new();
    for topic in TOPICS {
        for p in 0..PARTITIONS {
            out.push(high_watermark(target, topic, p).await.unwrap());
        }
    }
    out
}

/// How many records after `from` (per partition, in `ends` order) were written by the app
/// (their values say so).
async fn app_written_between(target: &Client, from: &[i64]) -> i64 {
    let mut count = 0;
    let mut i = 0;
    for topic in TOPICS {
        for p in 0..PARTITIONS {
            kreplicate_wire::fetcher::scan_partition(
                target,
                topic,
                p,
                from[i],
                None,
                kreplicate_wire::fetcher::IsolationLevel::ReadUncommitted,
                |r| {
                    if r.value
                        .as_deref()
                        .is_some_and(|v| v.starts_with(b"written by the app"))
                    {
                        count += 1;
                    }
                    std::ops::ControlFlow::Continue(())
                },
            )
            .await
            .unwrap();
            i += 1;
        }
    }
    count
}

/// The source offsets of the copies in `topic`-`partition`, in target order (the app's records,
/// which carry no provenance, left out).
async fn copies(target: &Client, topic: &str, partition: i32) -> Vec<i64> {
    let mut out = Vec::new();
    kreplicate_wire::fetcher::scan_partition(
        target,
        topic,
        partition,
        0,
        None,
        kreplicate_wire::fetcher::IsolationLevel::ReadUncommitted,
        |r| {
            if let Some(Ok(p)) = kreplicate_replicate::Provenance::find(&r.headers) {
                out.push(p.offset);
            }
            std::ops::ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    out
}
