//! `kreplicate run` stopped by SIGTERM while start-up still settles its resume points (a
//! batch-mode replicator whose target an application keeps writing to): the process exits
//! within 2 s of the signal, and nothing was copied.

mod common;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{plain_cluster, request, write, Running};
use kreplicate_testkit::ports::free_port;
use kreplicate_testkit::python::{self, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{high_watermark, scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "busy";

/// Waits (bounded) until `/metrics` at `addr` has the line `line`.
fn wait_for_metric(addr: &str, line: &str) -> String {
    let mut body = String::new();
    for _ in 0..600 {
        body = common::http_get(addr, "/metrics").map_or_else(String::new, |a| a.1);
        if body.lines().any(|l| l == line) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{line} not in:\n{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_start_up_exits_within_two_seconds_having_copied_nothing() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    for broker in [&source, &target] {
        python::create_topic(&broker.addr(), TOPIC, 2, &[])
            .await
            .unwrap();
    }
    let records: Vec<PyRecord> = (0..20)
        .map(|i| PyRecord {
            partition: Some(i % 2),
            value: Some(format!("source-{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect();
    python::produce(&source.addr(), TOPIC, &records, "none", &[])
        .await
        .unwrap();

    // The application writes to the target all along (at most 5000 records).
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    let producer = Producer::new(target_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let (running, written) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)));
    let app = tokio::spawn({
        let (running, written) = (running.clone(), written.clone());
        async move {
            for i in 0..5000u64 {
                if !running.load(Ordering::Relaxed) {
                    break;
                }
                let record = ProducerRecord {
                    value: Some(Bytes::from(format!("app-{i}"))),
                    ..ProducerRecord::default()
                };
                let sent = producer.send(TOPIC, (i % 2) as i32, record).await.unwrap();
                sent.await.unwrap();
                written.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let wait_written = |n: u64| {
        let written = written.clone();
        async move {
            let from = written.load(Ordering::Relaxed);
            for _ in 0..1200 {
                if written.load(Ordering::Relaxed) >= from + n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the app did not write {n} records");
        }
    };
    wait_written(20).await;

    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster(source.cluster_id(), &source.addr()),
        source.cluster_id(),
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        &format!("{TOPIC:?}"),
    );
    let config = write(dir.path(), "replicator.json", &json);
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let kreplicate = Running::start(
        &[
            "run",
            "--cli-input-json",
            &format!("file://{}", config.display()),
            "--metrics-addr",
            &metrics_addr,
            "--provenance",
            "batch",
            "--topic-refresh-interval",
            "300ms",
        ],
        dir.path(),
    );
    // Progress, not a timer: topic sync found the topic (start-up now settles its resume
    // points, one read a second, on ends the app keeps moving), and the app wrote 30 more.
    let body = tokio::task::spawn_blocking({
        let addr = metrics_addr.clone();
        move || wait_for_metric(&addr, "kreplicate_topic_count 1")
    })
    .await
    .unwrap();
    wait_written(30).await;
    let body_now = common::http_get(&metrics_addr, "/metrics").map_or(body, |a| a.1);
    assert!(
        body_now
            .lines()
            .any(|l| l == r#"kreplicate_partitions{state="copying"} 0"#),
        "start-up was over before the signal:\n{body_now}"
    );
    kreplicate.signal("TERM");
    let signalled = Instant::now();
    let out = tokio::task::spawn_blocking(move || kreplicate.wait(Duration::from_secs(30)))
        .await
        .unwrap();
    let took = signalled.elapsed();
    running.store(false, Ordering::Relaxed);
    app.await.unwrap();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(took < Duration::from_secs(2), "exit took {took:?}");

    // Nothing of the source's reached the target: every record there is the app's.
    let mut app_records = 0;
    for p in 0..2 {
        let end = high_watermark(&target_client, TOPIC, p).await.unwrap();
        scan_partition(
            &target_client,
            TOPIC,
            p,
            0,
            Some(end),
            IsolationLevel::ReadUncommitted,
            |r| {
                let value = r.value.as_deref().unwrap_or_default();
                assert!(value.starts_with(b"app-"), "copied: {r:?}");
                app_records += 1;
                ControlFlow::Continue(())
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(app_records, written.load(Ordering::Relaxed));
}
