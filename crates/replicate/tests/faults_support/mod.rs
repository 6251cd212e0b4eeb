//! Shared by the `faults_*` test binaries: replicator configs between test brokers, a
//! continuous load on the source, waiting for the target to catch up, `verify` with exact
//! counts, reading metrics and captured logs.
//!
//! Each binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kreplicate_codec::Compression;
use kreplicate_replicate::EngineOptions;
use kreplicate_replicate::Provenance;
use kreplicate_replicate::{verify_replicator, PartitionVerdict};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{high_watermark, log_start_offset, scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

/// One side of a replicator as the MSK request names it.
pub struct Side {
    pub cluster_id: String,
    pub bootstrap: String,
}

impl Side {
    pub fn new(cluster_id: &str, bootstrap: &str) -> Self {
        Side {
            cluster_id: cluster_id.to_string(),
            bootstrap: bootstrap.to_string(),
        }
    }
}

/// A validated replicator config from an MSK CreateReplicator request (IDENTICAL names,
/// EARLIEST, no compression, no group sync).
pub fn config(name: &str, source: &Side, target: &Side, topics: &[&str]) -> ReplicatorConfig {
    let json = ReplicatorJson {
        name: name.into(),
        source_id: source.cluster_id.clone(),
        source_bootstrap: source.bootstrap.clone(),
        target_id: target.cluster_id.clone(),
        target_bootstrap: target.bootstrap.clone(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        naming: "IDENTICAL".into(),
        starting_position: "EARLIEST".into(),
        compression: "NONE".into(),
        group_replication:
            r#"{"ConsumerGroupsToReplicate": [], "SynchroniseConsumerGroupOffsets": false}"#.into(),
    }
    .json();
    CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap()
}

/// Short intervals so faults and recoveries show within seconds.
/// Header mode: these suites read each copy's source offset from its provenance header
/// ([`copied_offsets`]); batch mode's own cases name `DataMode::Batch`.
pub fn fast_options() -> EngineOptions {
    EngineOptions {
        mode: kreplicate_replicate::DataMode::Header,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        resume_settle: Duration::from_millis(200),
        ..EngineOptions::default()
    }
}

/// A plain client for test-side reads and writes.
pub async fn client(bootstrap: &str) -> Client {
    Client::connect(ClientConfig::new([bootstrap]))
        .await
        .unwrap()
}

/// A producer writing small records to every partition of a topic until stopped: rounds of
/// 40 records, each round awaited, then a short pause. Failed sends are counted, not
/// fatal: under faults some may fail, and the tests compare the target with what the source
/// really holds, not with what was sent. After a round with failures the producer is replaced,
/// as an application would: a partition whose producer halted (e.g. Tansu refusing a retried
/// batch as a duplicate after a restart) keeps receiving records.
pub struct Load {
    running: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

/// What a load produced.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    pub acked: u64,
    pub failed: u64,
}

/// A producer for the load, retrying while the broker is unreachable (e.g. restarting) and the
/// load still runs; `None` once stopped.
async fn load_producer(bootstrap: &str, running: &AtomicBool) -> Option<Producer> {
    while running.load(Ordering::Relaxed) {
        if let Ok(client) = Client::connect(ClientConfig::new([bootstrap])).await {
            let config = ProducerConfig {
                compression: Compression::Lz4,
                ..ProducerConfig::default()
            };
            if let Ok(producer) = Producer::new(client, config).await {
                return Some(producer);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

impl Load {
    pub async fn start(bootstrap: &str, topic: &str, partitions: i32) -> Load {
        let running = Arc::new(AtomicBool::new(true));
        let first = load_producer(bootstrap, &running)
            .await
            .expect("running: a producer");
        let acked = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let task = {
            let (running, acked, failed) = (running.clone(), acked.clone(), failed.clone());
            let topic = topic.to_string();
            let bootstrap = bootstrap.to_string();
            tokio::spawn(async move {
                let mut producer = Some(first);
                let mut i = 0u64;
                while running.load(Ordering::Relaxed) {
                    let Some(current) = producer.as_ref() else {
                        producer = load_producer(&bootstrap, &running).await;
                        continue;
                    };
                    let mut deliveries = Vec::new();
                    let mut round_failed = 0;
                    for _ in 0..40 {
                        let record = ProducerRecord {
                            key: Some(Bytes::from(format!("k{i}"))),
                            value: Some(Bytes::from(format!("value-{i:010}-{}", "x".repeat(40)))),
                            timestamp: Some(1_700_000_000_000 + i as i64),
                            ..ProducerRecord::default()
                        };
                        let partition = (i % partitions as u64) as i32;
                        i += 1;
                        match current.send(&topic, partition, record).await {
                            Ok(d) => deliveries.push(d),
                            Err(_) => round_failed += 1,
                        }
                    }
                    for d in deliveries {
                        match d.await {
                            Ok(_) => acked.fetch_add(1, Ordering::Relaxed),
                            Err(_) => {
                                round_failed += 1;
                                0
                            }
                        };
                    }
                    failed.fetch_add(round_failed, Ordering::Relaxed);
                    if round_failed > 0 {
                        // Every delivery of the round is settled: nothing is in flight.
                        if let Some(old) = producer.take() {
                            old.close().await;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if let Some(producer) = producer {
                    producer.close().await;
                }
            })
        };
        Load {
            running,
            acked,
            failed,
            task,
        }
    }

    /// Records acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` more records are acknowledged than now (bounded).
    pub async fn wait_more(&self, n: u64, timeout: Duration) {
        let goal = self.acked() + n;
        let start = Instant::now();
        while self.acked() < goal {
            assert!(
                start.elapsed() < timeout,
                "load: {} acknowledged, waited {timeout:?} for {goal}",
                self.acked()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) -> LoadReport {
        self.running.store(false, Ordering::Relaxed);
        self.task.await.unwrap();
        LoadReport {
            acked: self.acked.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// High watermark of each partition `0..partitions`.
pub async fn ends(client: &Client, topic: &str, partitions: i32) -> Vec<i64> {
    let mut out = Vec::new();
    for p in 0..partitions {
        out.push(high_watermark(client, topic, p).await.unwrap());
    }
    out
}

/// Waits until the target topic holds as many records per partition as the source (records
/// mode writes one target record per source record, and these topics have no transactions),
/// failing after `timeout` with both sides' ends.
pub async fn wait_caught_up(
    source: &Client,
    target: &Client,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Vec<i64> {
    let want = ends(source, topic, partitions).await;
    let start = Instant::now();
    loop {
        let have = match try_ends(target, topic, partitions).await {
            Some(have) => have,
            None => vec![-1; partitions as usize],
        };
        if have.iter().zip(&want).all(|(h, w)| h >= w) {
            return want;
        }
        assert!(
            start.elapsed() < timeout,
            "{topic}: target ends {have:?}, source ends {want:?} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn try_ends(client: &Client, topic: &str, partitions: i32) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for p in 0..partitions {
        out.push(high_watermark(client, topic, p).await.ok()?);
    }
    Some(out)
}

/// The end of most fault tests: waits (90 s at most) until the target caught up, shuts the
/// replicator down, and asserts `verify` equal from the log start; returns the records copied.
pub async fn finish_and_verify(
    source: &Client,
    target: &Client,
    replicator: kreplicate_replicate::Replicator,
    config: &ReplicatorConfig,
    topic: &str,
    partitions: i32,
) -> u64 {
    wait_caught_up(source, target, topic, partitions, Duration::from_secs(90)).await;
    replicator.shutdown().await.unwrap();
    let verdicts = assert_verified(config, partitions as usize, 0).await;
    verdicts.iter().map(|v| v.source_records).sum()
}

/// Runs `verify` and asserts every partition is equal over the whole source log:
/// `from` is the source log start (`verify` would otherwise start at the first copy the target
/// holds, which cannot see records lost at the head), and the counts are exact.
/// Returns the verdicts.
pub async fn assert_verified(
    config: &ReplicatorConfig,
    partitions: usize,
    log_start: i64,
) -> Vec<PartitionVerdict> {
    assert_verified_with_holes(config, partitions, log_start, &vec![0; partitions]).await
}

/// [`assert_verified`] for a source whose partition `p` has `holes[p]` offsets below its high
/// watermark that hold no record (see [`holes`]): every other source offset in range is a
/// record, copied exactly once.
pub async fn assert_verified_with_holes(
    config: &ReplicatorConfig,
    partitions: usize,
    log_start: i64,
    holes: &[u64],
) -> Vec<PartitionVerdict> {
    let verdicts = verify_replicator(config, "faults-verify").await.unwrap();
    assert_eq!(verdicts.len(), partitions, "{verdicts:?}");
    for v in &verdicts {
        let holes = holes[v.partition as usize];
        assert!(v.is_equal(), "verify: {v:?}");
        assert_eq!(v.from, log_start, "verify started at the log start: {v:?}");
        assert_eq!(
            v.source_records + holes,
            (v.to - v.from) as u64,
            "every source offset in range but {holes} holes is a record: {v:?}"
        );
        assert_eq!(v.target_records, v.source_records, "{v:?}");
        assert_eq!(v.source_digest, v.target_digest, "{v:?}");
    }
    verdicts
}

/// Per partition `0..partitions`: offsets between the log start and the high watermark that
/// hold no record. Kafka has none on a topic without compaction or transactions; Tansu 0.6 on
/// s3 storage leaves one where a kill cut a write between its high-watermark update and its
/// batch object (docs/test-brokers.md).
pub async fn holes(client: &Client, topic: &str, partitions: i32) -> Vec<u64> {
    let mut out = Vec::new();
    for p in 0..partitions {
        let start = log_start_offset(client, topic, p, IsolationLevel::ReadUncommitted)
            .await
            .unwrap();
        let end = high_watermark(client, topic, p).await.unwrap();
        let mut records = 0u64;
        scan_partition(
            client,
            topic,
            p,
            start,
            Some(end),
            IsolationLevel::ReadUncommitted,
            |_| {
                records += 1;
                ControlFlow::Continue(())
            },
        )
        .await
        .unwrap();
        out.push((end - start) as u64 - records);
    }
    out
}

/// Waits until the target's last record of each partition `0..partitions` is the copy of the
/// source's last offset (the source high watermark - 1, which must hold a record), failing
/// after `timeout` with both. For sources with holes, where the two ends cannot be compared.
pub async fn wait_copied_through(
    source: &Client,
    target: &Client,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) {
    let want: Vec<i64> = ends(source, topic, partitions)
        .await
        .iter()
        .map(|end| end - 1)
        .collect();
    let start = Instant::now();
    loop {
        let mut have = Vec::new();
        for p in 0..partitions {
            have.push(last_copied(target, topic, p).await);
        }
        if have.iter().zip(&want).all(|(h, w)| *h == Some(*w)) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{topic}: the target's last copies are of source offsets {have:?}, the source's last \
             offsets are {want:?}, after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The source offset of the last record of target `topic`-`partition` (`None` while empty or
/// unreadable).
async fn last_copied(target: &Client, topic: &str, partition: i32) -> Option<i64> {
    let end = high_watermark(target, topic, partition).await.ok()?;
    let mut last = None;
    scan_partition(
        target,
        topic,
        partition,
        (end - 1).max(0),
        Some(end),
        IsolationLevel::ReadUncommitted,
        |r| {
            last = Provenance::find(&r.headers)
                .and_then(Result::ok)
                .map(|p| p.offset);
            ControlFlow::Continue(())
        },
    )
    .await
    .ok()?;
    last
}

/// The source offsets the target's copies of `topic`-`partition` came from, in target order.
pub async fn copied_offsets(target: &Client, topic: &str, partition: i32) -> Vec<i64> {
    let mut out = Vec::new();
    scan_partition(
        target,
        topic,
        partition,
        0,
        None,
        IsolationLevel::ReadUncommitted,
        |r| {
            let p = Provenance::find(&r.headers)
                .expect("every copy has a provenance header")
                .expect("a valid provenance header");
            assert_eq!(p.partition, partition);
            out.push(p.offset);
            ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    out
}

/// The sum of the samples of metric `name` whose labels include every `(key, value)` of
/// `labels` (0 when none match), from a Prometheus text exposition.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut sum = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, parse_labels(rest.trim_end_matches('}'))),
            None => (series, BTreeMap::new()),
        };
        if series_name != name {
            continue;
        }
        if labels
            .iter()
            .all(|(k, v)| series_labels.get(*k).map(String::as_str) == Some(*v))
        {
            sum += value.parse::<f64>().unwrap();
        }
    }
    sum
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    // Our label values never contain commas or quotes.
    s.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// Polls `cond` every 50 ms until it holds, failing with `what` after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Log lines of every test in this binary, captured once the first test calls
/// [`capture_logs`]: tests search them for their own topic names.
#[derive(Clone)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        // Echo, so `--nocapture` shows them too.
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per binary) a global subscriber that keeps the engine's log lines.
pub fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter("info,kreplicate_replicate=debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .init();
        Logs(buffer)
    })
    .clone()
}
