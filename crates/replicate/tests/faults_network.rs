//! The engine under network faults, with a producer writing to the source all along: every
//! kind of connection fault of the fault proxy on the source side and on the target side, the
//! target unreachable for 30 s, the source broker restarted (s3 storage keeps its data). After
//! each, the target is equal to the source, record for record: `verify` from the log start,
//! 0 lost, 0 duplicated.

mod faults_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use faults_support::{
    assert_verified_with_holes, client, config, fast_options, finish_and_verify, holes, metric,
    wait_copied_through, wait_until, Load, Side,
};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::fault_proxy::FaultProxy;
use kreplicate_testkit::tansu::{MotoServer, TansuBroker, TansuOptions};
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::Client;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "load";
const PARTITIONS: i32 = 3;

async fn create_topic(client: &Client) {
    let outcome = Admin::new(client.clone())
        .create_topics(&[NewTopic::new(TOPIC, PARTITIONS, 1)], false)
        .await
        .unwrap();
    outcome[0].1.as_ref().unwrap();
}

/// Target records so far (sum of the target partitions' ends; 0 while the topic is missing).
async fn target_count(target: &Client) -> i64 {
    let mut sum = 0;
    for p in 0..PARTITIONS {
        sum += kreplicate_wire::fetcher::high_watermark(target, TOPIC, p)
            .await
            .unwrap_or(0);
    }
    sum
}

/// Waits until the target holds `more` records beyond what it held when called: the data path
/// is moving again.
async fn wait_target_grows(target: &Client, more: i64, timeout: Duration, after: &str) {
    let from = target_count(target).await;
    let start = Instant::now();
    loop {
        let now = target_count(target).await;
        if now >= from + more {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "after {after}: the target grew from {from} to {now} in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultySide {
    Source,
    Target,
}

/// Drops, stalls, delays, throttles and half-opens the connections of one side, in turn, while
/// a producer writes to the source; the copy ends exact.
async fn connection_faults_on(side: FaultySide, mode: DataMode) {
    let (source, source_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    let (target, target_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    let source_client = client(&source_proxy.addr()).await;
    let target_client = client(&target_proxy.addr()).await;
    create_topic(&source_client).await;
    let config = config(
        &format!("faults-{side:?}"),
        &Side::new(source.cluster_id(), &source_proxy.addr()),
        &Side::new(target.cluster_id(), &target_proxy.addr()),
        &[TOPIC],
    );
    let proxy = match side {
        FaultySide::Source => &source_proxy,
        FaultySide::Target => &target_proxy,
    };

    let load = Load::start(&source_proxy.addr(), TOPIC, PARTITIONS).await;
    let options = EngineOptions {
        mode,
        ..fast_options()
    };
    let replicator = Replicator::start(config.clone(), options).await.unwrap();
    let timeout = Duration::from_secs(60);
    wait_target_grows(&target_client, 200, timeout, "start").await;

    // Every connection closed, three times, each time once the copy has moved on by 100
    // records since the last cut (progress, not a timer: every cut hits a running copy).
    let accepted = proxy.stats().connections_accepted;
    for round in 0..3 {
        proxy.drop_all();
        wait_target_grows(&target_client, 100, timeout, &format!("drop_all {round}")).await;
    }
    assert!(
        proxy.stats().connections_accepted > accepted,
        "the replicator reconnected"
    );

    // Nothing forwarded for 2 s, sockets open.
    proxy.stall(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.stall(false);
    wait_target_grows(&target_client, 200, timeout, "stall").await;

    // Slow: 100 ms per chunk, then 64 KB/s.
    proxy.set_delay(Duration::from_millis(100));
    wait_target_grows(&target_client, 100, timeout, "delay").await;
    proxy.set_delay(Duration::ZERO);
    proxy.set_bandwidth(Some(64 * 1024));
    wait_target_grows(&target_client, 100, timeout, "bandwidth").await;
    proxy.set_bandwidth(None);

    // Half-open: every open connection silently dead (no FIN, no data) for good. Only the
    // request timeout (30 s) can tell; the engine must then reconnect and resume exactly.
    let accepted = proxy.stats().connections_accepted;
    let dead = Instant::now();
    proxy.half_open(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.half_open(false);
    wait_target_grows(&target_client, 200, Duration::from_secs(90), "half-open").await;
    assert!(
        proxy.stats().connections_accepted > accepted,
        "the dead connections were replaced"
    );
    let half_open_recovery = dead.elapsed();

    let report = load.stop().await;
    proxy.clear_faults();
    let total = finish_and_verify(
        &source_client,
        &target_client,
        replicator,
        &config,
        TOPIC,
        PARTITIONS,
    )
    .await;
    if side == FaultySide::Target {
        // The load writes through the source proxy, which is never faulty here.
        assert_eq!(report.failed, 0, "{report:?}");
        assert_eq!(total, report.acked, "{report:?}");
    } else {
        assert!(total >= report.acked, "{total} records, {report:?}");
    }
    eprintln!(
        "{side:?}-side faults: {total} records copied exactly; load {report:?}; half-open \
         recovered in {half_open_recovery:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_side_connection_faults_under_load_lose_and_duplicate_nothing() {
    connection_faults_on(FaultySide::Source, DataMode::Header).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_side_connection_faults_under_load_lose_and_duplicate_nothing() {
    connection_faults_on(FaultySide::Target, DataMode::Header).await;
}

/// The same in batch mode: retried raw batches, copies known by producer id, `verify` by
/// producer id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_mode_target_side_connection_faults_under_load_lose_and_duplicate_nothing() {
    connection_faults_on(FaultySide::Target, DataMode::Batch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_unreachable_for_30_s_then_the_copy_completes_exactly() {
    let source = TansuBroker::strict_memory().unwrap();
    let (target, target_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target_proxy.addr()).await;
    create_topic(&source_client).await;
    let config = config(
        "unreachable",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target_proxy.addr()),
        &[TOPIC],
    );
    let alias = config.target.alias.clone();
    let reachable =
        |text: &str| metric(text, "kreplicate_cluster_reachable", &[("cluster", &alias)]);

    let load = Load::start(&source.addr(), TOPIC, PARTITIONS).await;
    let replicator = Replicator::start(config.clone(), fast_options())
        .await
        .unwrap();
    let metrics = replicator.metrics();
    wait_target_grows(&target_client, 200, Duration::from_secs(60), "start").await;
    assert_eq!(reachable(&metrics.encode()), 1.0);

    // Unreachable: open connections closed, new ones closed at once.
    let outage = Instant::now();
    target_proxy.refuse(true);
    target_proxy.drop_all();
    // Probed every 10 s.
    wait_until(
        "cluster_reachable{target} = 0",
        Duration::from_secs(25),
        || reachable(&metrics.encode()) == 0.0,
    )
    .await;
    let before = load.acked();
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(outage.elapsed())).await;
    assert!(load.acked() > before, "the source kept receiving records");
    let failures = metric(
        &metrics.encode(),
        "kreplicate_replication_failures_total",
        &[],
    );
    assert!(failures > 0.0, "the outage shows as failures");
    let refused = target_proxy.stats().connections_refused;
    assert!(refused > 0, "the replicator kept trying to reconnect");
    target_proxy.refuse(false);

    wait_until(
        "cluster_reachable{target} = 1",
        Duration::from_secs(25),
        || reachable(&metrics.encode()) == 1.0,
    )
    .await;
    let report = load.stop().await;
    let total = finish_and_verify(
        &source_client,
        &target_client,
        replicator,
        &config,
        TOPIC,
        PARTITIONS,
    )
    .await;
    assert_eq!(report.failed, 0, "the source was never faulty: {report:?}");
    assert_eq!(total, report.acked);
    eprintln!(
        "target unreachable 30 s: {total} records copied exactly, {refused} connections refused"
    );
}

/// The target unreachable past the request deadline (set to 2 s here; 60 s by default): the
/// producer's batches fail, the data path restarts with a fresh producer (counted in
/// `kreplicate_data_path_restarts_total`) and, once the target is back, the copy completes
/// exactly once. The outage ends on progress: when the restart has been counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_outage_past_the_deadline_restarts_the_data_path_and_the_copy_is_exact() {
    let source = TansuBroker::strict_memory().unwrap();
    let (target, target_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target_proxy.addr()).await;
    create_topic(&source_client).await;
    let config = config(
        "restarted-data-path",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target_proxy.addr()),
        &[TOPIC],
    );
    let restarts = |text: &str| metric(text, "kreplicate_data_path_restarts_total", &[]);

    let load = Load::start(&source.addr(), TOPIC, PARTITIONS).await;
    let replicator = Replicator::start(
        config.clone(),
        EngineOptions {
            request_deadline: Some(Duration::from_secs(2)),
            restart_backoff_initial: Duration::from_millis(200),
            ..fast_options()
        },
    )
    .await
    .unwrap();
    let metrics = replicator.metrics();
    wait_target_grows(&target_client, 200, Duration::from_secs(60), "start").await;
    assert_eq!(
        restarts(&metrics.encode()),
        0.0,
        "no restart before the outage"
    );

    target_proxy.refuse(true);
    target_proxy.drop_all();
    let before = load.acked();
    wait_until(
        "kreplicate_data_path_restarts_total > 0",
        Duration::from_secs(60),
        || restarts(&metrics.encode()) > 0.0,
    )
    .await;
    target_proxy.refuse(false);
    // The source kept receiving records, copied once the target is back.
    load.wait_more(100, Duration::from_secs(60)).await;
    assert!(load.acked() > before);

    let report = load.stop().await;
    let text = metrics.encode();
    let total = finish_and_verify(
        &source_client,
        &target_client,
        replicator,
        &config,
        TOPIC,
        PARTITIONS,
    )
    .await;
    assert_eq!(report.failed, 0, "the source was never faulty: {report:?}");
    assert_eq!(total, report.acked);
    eprintln!(
        "data path restarted {} times over the outage: {total} records copied exactly",
        restarts(&text)
    );
}

/// Tansu on s3 storage is killed (SIGKILL) and restarted twice while a producer writes to it
/// and the engine copies from it. Tansu writes a produce as three objects in turn (producer
/// state, high watermark, batch), so a kill between them can leave a *hole*: offsets the high
/// watermark counts that hold no record, unreadable until a later write follows them
/// (docs/test-brokers.md). Such offsets were never acknowledged, so there is nothing to copy:
/// the copy must hold every record the source holds, exactly once, and pass the holes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_broker_restarted_under_load_then_the_copy_completes_exactly() {
    let moto = MotoServer::start().unwrap();
    let mut source = TansuBroker::start(TansuOptions::s3(&moto).with_strict()).unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.addr()).await;
    create_topic(&source_client).await;
    let config = config(
        "restarted",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.cluster_id(), &target.addr()),
        &[TOPIC],
    );
    let load = Load::start(&source.addr(), TOPIC, PARTITIONS).await;
    let replicator = Replicator::start(config.clone(), fast_options())
        .await
        .unwrap();
    wait_target_grows(&target_client, 200, Duration::from_secs(60), "start").await;

    for round in 0..2 {
        tokio::task::block_in_place(|| source.restart()).unwrap();
        // The load replaces its producer when Tansu refuses a retried batch (about 5 s).
        load.wait_more(200, Duration::from_secs(60)).await;
        wait_target_grows(
            &target_client,
            200,
            Duration::from_secs(60),
            &format!("restart {round}"),
        )
        .await;
    }

    let report = load.stop().await;
    // One more record per partition, so no hole is left at a partition's end (where Tansu
    // shows nothing, and the copier waits, until a later write).
    let tail = Producer::new(client(&source.addr()).await, ProducerConfig::default())
        .await
        .unwrap();
    for p in 0..PARTITIONS {
        let record = ProducerRecord {
            value: Some(Bytes::from_static(b"tail")),
            ..ProducerRecord::default()
        };
        tail.send(TOPIC, p, record).await.unwrap().await.unwrap();
    }
    tail.close().await;
    wait_copied_through(
        &source_client,
        &target_client,
        TOPIC,
        PARTITIONS,
        Duration::from_secs(90),
    )
    .await;
    replicator.shutdown().await.unwrap();
    let holes = holes(&source_client, TOPIC, PARTITIONS).await;
    let verdicts = assert_verified_with_holes(&config, PARTITIONS as usize, 0, &holes).await;
    let total: u64 = verdicts.iter().map(|v| v.source_records).sum();
    let tails = PARTITIONS as u64;
    // Every acknowledged record is on the source; a failed one may have landed too.
    assert!(
        total >= report.acked + tails && total <= report.acked + report.failed + tails,
        "{total} records, {report:?}"
    );
    // A hole is a batch whose write failed, never an acknowledged one.
    let hole_offsets: u64 = holes.iter().sum();
    assert!(hole_offsets <= report.failed, "holes {holes:?}, {report:?}");
    eprintln!(
        "source restarted twice: {total} records copied exactly; holes {holes:?}; load {report:?}"
    );
}
