//! `Producer::send_all`: a group of records acknowledged once, spread over several batches,
//! interleaved with single records, and through dropped connections — every offset exact, the
//! log read back byte for byte.

use std::time::Duration;

use bytes::Bytes;
use kreplicate_codec::{Compression, Header};
use kreplicate_testkit::fault_proxy::FaultProxy;
use kreplicate_testkit::tansu::{TansuBroker, TansuOptions};
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig, RetryPolicy};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

/// Request bytes a connection may carry before the fault proxy cuts it: above the largest
/// Produce request (one `max_batch_bytes` batch and headers), so each connection makes progress.
const DROP_EVERY_BYTES: u64 = 4 * 1024;
/// The faulty run goes through more connections than this (the first, one after each cut).
const MIN_DROPS: u64 = 12;

fn record(i: usize) -> ProducerRecord {
    ProducerRecord {
        key: Some(Bytes::from(format!("k{i}"))),
        value: Some(Bytes::from(format!("value-{i:06}-{}", "x".repeat(i % 50)))),
        headers: vec![Header {
            key: format!("h{i}").into(),
            value: Some(Bytes::from(vec![i as u8; 3])),
        }],
        timestamp: Some(1_700_000_000_000 + i as i64),
    }
}

async fn producer(client: &Client) -> Producer {
    Producer::new(
        client.clone(),
        ProducerConfig {
            compression: Compression::Lz4,
            linger: Duration::from_millis(1),
            // Small batches: one group spans many of them.
            max_batch_bytes: 2048,
            ..ProducerConfig::default()
        },
    )
    .await
    .unwrap()
}

/// Reads the whole partition back as producer records (key, value, headers, timestamp).
async fn read_back(client: &Client, topic: &str, expected: usize) -> Vec<ProducerRecord> {
    let fetcher = Fetcher::new(client.clone(), FetchConfig::default());
    let mut position = FetchPosition {
        topic: topic.into(),
        partition: 0,
        offset: 0,
    };
    let mut out = Vec::new();
    for _ in 0..500 {
        if out.len() >= expected {
            break;
        }
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(&position))
            .await
            .pop()
            .unwrap();
        let Ok(fetched) = result else { continue };
        let (records, next) = fetched.records().unwrap();
        for r in records {
            assert_eq!(r.offset, out.len() as i64, "offsets are dense");
            out.push(ProducerRecord {
                key: r.key,
                value: r.value,
                headers: r.headers,
                timestamp: Some(r.timestamp),
            });
        }
        position.offset = next;
    }
    out
}

#[tokio::test]
async fn groups_and_single_records_get_exact_offsets() {
    let broker = TansuBroker::memory().unwrap();
    let client = Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .unwrap();
    Admin::new(client.clone())
        .create_topics(&[NewTopic::new("groups", 1, 1)], false)
        .await
        .unwrap();
    let producer = producer(&client).await;

    let single_a = producer.send("groups", 0, record(0)).await.unwrap();
    let big = producer
        .send_all("groups", 0, (1..=500).map(record).collect())
        .await
        .unwrap();
    let single_b = producer.send("groups", 0, record(501)).await.unwrap();
    let empty = producer.send_all("groups", 0, Vec::new()).await.unwrap();
    let small = producer
        .send_all("groups", 0, (502..=504).map(record).collect())
        .await
        .unwrap();

    assert_eq!(single_a.await.unwrap().offset, 0);
    let big = big.await.unwrap();
    assert_eq!(big.len, 500);
    assert!(
        big.runs.len() > 10,
        "500 records of ~60 bytes in 2 KiB batches span many batches: {:?}",
        big.runs
    );
    assert_eq!(big.runs[0], (0, 1));
    assert_eq!(
        big.offsets().collect::<Vec<_>>(),
        (1..=500).collect::<Vec<i64>>()
    );
    assert_eq!(single_b.await.unwrap().offset, 501);
    let empty = empty.await.unwrap();
    assert_eq!((empty.len, empty.offsets().count()), (0, 0));
    let small = small.await.unwrap();
    assert_eq!(small.offsets().collect::<Vec<_>>(), vec![502, 503, 504]);

    let expected: Vec<ProducerRecord> = (0..=504).map(record).collect();
    assert_eq!(read_back(&client, "groups", expected.len()).await, expected);
}

#[tokio::test]
async fn groups_survive_dropped_connections_exactly_once() {
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
        .create_topics(&[NewTopic::new("group-faults", 1, 1)], false)
        .await
        .unwrap();
    let producer = producer(&client).await;
    // Cut by progress, not by a timer: every connection closes once DROP_EVERY_BYTES of
    // requests went through it, so the groups meet the cuts however fast this machine is.
    proxy.drop_after_bytes(DROP_EVERY_BYTES);
    const GROUPS: usize = 40;
    const PER_GROUP: usize = 50;
    let mut deliveries = Vec::new();
    for g in 0..GROUPS {
        let records = (g * PER_GROUP..(g + 1) * PER_GROUP).map(record).collect();
        deliveries.push(producer.send_all("group-faults", 0, records).await.unwrap());
    }
    producer.flush().await;
    proxy.clear_faults();
    let stats = proxy.stats();
    for (g, d) in deliveries.into_iter().enumerate() {
        let meta = d.await.expect("every group is acknowledged");
        let first = (g * PER_GROUP) as i64;
        assert_eq!(
            meta.offsets().collect::<Vec<_>>(),
            (first..first + PER_GROUP as i64).collect::<Vec<_>>(),
            "group {g}"
        );
    }
    // A connection carries at most DROP_EVERY_BYTES of requests, so the volume decides the
    // number of cuts: these 2000 records take about 64 KB of requests without any cut (measured).
    eprintln!("{stats:?}");
    assert!(
        stats.connections_accepted > MIN_DROPS,
        "the proxy really dropped connections: {stats:?}"
    );
    proxy.clear_faults();
    let expected: Vec<ProducerRecord> = (0..GROUPS * PER_GROUP).map(record).collect();
    assert_eq!(
        read_back(&client, "group-faults", expected.len()).await,
        expected,
        "exactly once, in order"
    );
}
