//! The idempotent producer through a fault proxy that cuts every connection after a fixed
//! number of request bytes (a progress trigger, never a timer), so always mid-stream:
//! every record lands exactly once, in order, and every delivery reports the right offset.

use std::time::Duration;

use bytes::Bytes;
use kreplicate_codec::Compression;
use kreplicate_testkit::fault_proxy::FaultProxy;
use kreplicate_testkit::tansu::TansuOptions;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig, RetryPolicy};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const RECORDS: usize = 4000;
const PARTITIONS: i32 = 2;
/// Request bytes a connection may carry before the proxy cuts it: above the largest Produce
/// request (two partitions × `max_batch_bytes` and headers), so each connection makes progress.
const DROP_EVERY_BYTES: u64 = 6 * 1024;
/// The run goes through more connections than this (the first, and one after each cut).
const MIN_DROPS: u64 = 8;

#[tokio::test]
async fn dropped_connections_lose_and_duplicate_nothing() {
    let (_broker, proxy) = FaultProxy::with_tansu(TansuOptions::default()).unwrap();
    let mut config = ClientConfig::new([proxy.addr()]);
    config.retry = RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    config.connection.request_timeout = Duration::from_secs(5);
    let client = Client::connect(config).await.unwrap();
    Admin::new(client.clone())
        .create_topics(&[NewTopic::new("faults", PARTITIONS, 1)], false)
        .await
        .unwrap();
    let producer = Producer::new(
        client.clone(),
        ProducerConfig {
            compression: Compression::Lz4,
            linger: Duration::from_millis(1),
            // Small batches: many in flight per partition when a connection drops.
            max_batch_bytes: 2048,
            ..ProducerConfig::default()
        },
    )
    .await
    .unwrap();

    // The fault is driven by progress, not by a timer: every connection is cut as soon as
    // DROP_EVERY_BYTES of requests went through it, so each connection dies in the middle of a
    // Produce request with more in flight behind it, however fast or slow this machine is.
    proxy.drop_after_bytes(DROP_EVERY_BYTES);
    let mut deliveries = Vec::new();
    for i in 0..RECORDS {
        let partition = (i % PARTITIONS as usize) as i32;
        let record = ProducerRecord {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("record-{i:06}"))),
            timestamp: Some(1_700_000_000_000 + i as i64),
            ..ProducerRecord::default()
        };
        deliveries.push((
            partition,
            producer.send("faults", partition, record).await.unwrap(),
        ));
    }
    producer.flush().await;
    proxy.clear_faults();
    let stats = proxy.stats();
    let mut expected_offset = [0i64; PARTITIONS as usize];
    for (partition, d) in deliveries {
        let meta = d.await.expect("every record is acknowledged");
        assert_eq!(meta.offset, expected_offset[partition as usize]);
        expected_offset[partition as usize] += 1;
    }

    // Every connection carried at most DROP_EVERY_BYTES of requests, so the volume sent
    // decides how many were cut, not the speed of this machine. These records take about
    // 64 KB of requests with no cut at all (measured), more than MIN_DROPS × DROP_EVERY_BYTES.
    eprintln!("{stats:?}");
    assert!(
        stats.connections_accepted > MIN_DROPS,
        "the proxy really dropped connections: {stats:?}"
    );

    let fetcher = Fetcher::new(client.clone(), FetchConfig::default());
    for partition in 0..PARTITIONS {
        let mut position = FetchPosition {
            topic: "faults".into(),
            partition,
            offset: 0,
        };
        let mut values = Vec::new();
        for _ in 0..500 {
            let (_, result) = fetcher
                .fetch(std::slice::from_ref(&position))
                .await
                .pop()
                .unwrap();
            let Ok(fetched) = result else { continue };
            let (records, next) = fetched.records().unwrap();
            if records.is_empty() && next == position.offset {
                break;
            }
            values.extend(records.into_iter().map(|r| r.value.unwrap()));
            position.offset = next;
        }
        let expected: Vec<Bytes> = (0..RECORDS)
            .filter(|i| (i % PARTITIONS as usize) as i32 == partition)
            .map(|i| Bytes::from(format!("record-{i:06}")))
            .collect();
        assert_eq!(values.len(), expected.len(), "partition {partition}: count");
        assert_eq!(
            values, expected,
            "partition {partition}: exactly once, in order"
        );
    }
}
