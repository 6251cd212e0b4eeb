//! Interop with an independent client (confluent-kafka / librdkafka) through a real broker
//! (Tansu), both ways, for every codec: what we write, librdkafka reads byte for byte, and what
//! librdkafka writes, our fetcher reads byte for byte.

use std::time::Duration;

use bytes::Bytes;
use kreplicate_codec::{Compression, Header, Record};
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const CODECS: [(Compression, &str); 5] = [
    (Compression::None, "none"),
    (Compression::Gzip, "gzip"),
    (Compression::Snappy, "snappy"),
    (Compression::Lz4, "lz4"),
    (Compression::Zstd, "zstd"),
];

/// Records covering the awkward cases: null and empty keys/values, duplicate header keys in a
/// given order, null header values, explicit timestamps.
fn sample(n: usize, partitions: i32) -> Vec<PyRecord> {
    (0..n)
        .map(|i| PyRecord {
            partition: Some(i as i32 % partitions),
            key: match i % 4 {
                0 => None,
                1 => Some(Vec::new()),
                _ => Some(format!("key-{i}").into_bytes()),
            },
            value: match i % 5 {
                0 => None,
                1 => Some(Vec::new()),
                _ => Some(format!("value-{i}-{}", "x".repeat(i % 50)).into_bytes()),
            },
            headers: match i % 3 {
                0 => vec![],
                1 => vec![
                    ("h".into(), Some(b"a".to_vec())),
                    ("h".into(), Some(b"b".to_vec())),
                    ("n".into(), None),
                ],
                _ => vec![("z".into(), Some(vec![0, 255, i as u8]))],
            },
            timestamp_ms: Some(1_700_000_000_000 + i as i64),
        })
        .collect()
}

fn to_producer_record(r: &PyRecord) -> ProducerRecord {
    ProducerRecord {
        key: r.key.clone().map(Bytes::from),
        value: r.value.clone().map(Bytes::from),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| Header::new(k.clone(), v.clone().map(Bytes::from)))
            .collect(),
        timestamp: r.timestamp_ms,
    }
}

fn py_headers(r: &Record) -> Vec<(String, Option<Vec<u8>>)> {
    r.headers
        .iter()
        .map(|h| {
            (
                String::from_utf8(h.key.to_vec()).unwrap(),
                h.value.as_ref().map(|v| v.to_vec()),
            )
        })
        .collect()
}

async fn client(broker: &TansuBroker) -> Client {
    Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .expect("connect to tansu")
}

/// Reads every partition from offset 0 until `expected` records arrived (bounded).
async fn fetch_all(
    client: &Client,
    topic: &str,
    partitions: i32,
    expected: usize,
) -> Vec<(i32, Record)> {
    let fetcher = Fetcher::new(
        client.clone(),
        FetchConfig {
            max_wait: Duration::from_millis(100),
            isolation: IsolationLevel::ReadCommitted,
            ..FetchConfig::default()
        },
    );
    let mut positions: Vec<FetchPosition> = (0..partitions)
        .map(|p| FetchPosition {
            topic: topic.into(),
            partition: p,
            offset: 0,
        })
        .collect();
    let mut out = Vec::new();
    for _ in 0..200 {
        if out.len() >= expected {
            break;
        }
        for (position, result) in fetcher.fetch(&positions).await {
            let fetched = result.expect("fetch");
            let (records, next) = fetched.records().expect("decode");
            let slot = positions
                .iter_mut()
                .find(|p| p.partition == position.partition)
                .unwrap();
            slot.offset = next;
            out.extend(records.into_iter().map(|r| (position.partition, r)));
        }
    }
    out
}

#[tokio::test]
async fn our_producer_is_read_exactly_by_librdkafka_for_every_codec() {
    let broker = TansuBroker::memory().unwrap();
    let client = client(&broker).await;
    for (compression, name) in CODECS {
        let topic = format!("ours-{name}");
        python::create_topic(&broker.addr(), &topic, 2, &[])
            .await
            .unwrap();
        let producer = Producer::new(
            client.clone(),
            ProducerConfig {
                compression,
                ..ProducerConfig::default()
            },
        )
        .await
        .unwrap();
        let records = sample(60, 2);
        let mut deliveries = Vec::new();
        for r in &records {
            let partition = r.partition.unwrap();
            deliveries.push(
                producer
                    .send(&topic, partition, to_producer_record(r))
                    .await
                    .unwrap(),
            );
        }
        producer.flush().await;
        let mut next = [0i64; 2];
        for (r, d) in records.iter().zip(deliveries) {
            let meta = d.await.expect("delivered");
            let p = r.partition.unwrap() as usize;
            assert_eq!(meta.partition as usize, p);
            assert_eq!(meta.offset, next[p], "{name}: offsets are exact and dense");
            next[p] += 1;
        }
        let consumed = python::consume(
            &broker.addr(),
            &topic,
            Partitions::All,
            records.len(),
            Isolation::ReadCommitted,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_same(&records, &consumed, name);
        producer.close().await;
    }
}

/// Compares produced records with consumed ones per partition, in order, field by field.
fn assert_same(sent: &[PyRecord], got: &[PyConsumedRecord], codec: &str) {
    assert_eq!(sent.len(), got.len(), "{codec}: record count");
    for partition in 0..2 {
        let s: Vec<_> = sent
            .iter()
            .filter(|r| r.partition == Some(partition))
            .collect();
        let mut g: Vec<_> = got.iter().filter(|r| r.partition == partition).collect();
        g.sort_by_key(|r| r.offset);
        assert_eq!(s.len(), g.len(), "{codec}: count in partition {partition}");
        for (i, (s, g)) in s.iter().zip(g).enumerate() {
            assert_eq!(g.offset, i as i64, "{codec}: offset");
            assert_eq!(g.key, s.key, "{codec}: key of {partition}/{i}");
            assert_eq!(g.value, s.value, "{codec}: value of {partition}/{i}");
            assert_eq!(g.headers, s.headers, "{codec}: headers of {partition}/{i}");
            assert_eq!(
                (g.timestamp_type, g.timestamp),
                (1, s.timestamp_ms.unwrap())
            );
        }
    }
}

#[tokio::test]
async fn librdkafka_records_are_read_exactly_by_our_fetcher_for_every_codec() {
    let broker = TansuBroker::memory().unwrap();
    let client = client(&broker).await;
    for (_, name) in CODECS {
        let topic = format!("theirs-{name}");
        python::create_topic(&broker.addr(), &topic, 2, &[])
            .await
            .unwrap();
        let records = sample(80, 2);
        let delivered = python::produce(&broker.addr(), &topic, &records, name, &[])
            .await
            .unwrap();
        let fetched = fetch_all(&client, &topic, 2, records.len()).await;
        assert_eq!(fetched.len(), records.len(), "{name}: record count");
        for (r, (partition, offset)) in records.iter().zip(delivered) {
            let (_, got) = fetched
                .iter()
                .find(|(p, rec)| *p == partition && rec.offset == offset)
                .unwrap_or_else(|| panic!("{name}: {partition}/{offset} missing"));
            assert_eq!(got.key.as_deref(), r.key.as_deref(), "{name}: key");
            assert_eq!(got.value.as_deref(), r.value.as_deref(), "{name}: value");
            assert_eq!(py_headers(got), r.headers, "{name}: headers");
            assert_eq!(got.timestamp, r.timestamp_ms.unwrap(), "{name}: timestamp");
        }
    }
}

#[tokio::test]
async fn fetching_from_the_middle_of_a_batch_returns_only_later_records() {
    let broker = TansuBroker::memory().unwrap();
    let client = client(&broker).await;
    python::create_topic(&broker.addr(), "mid", 1, &[])
        .await
        .unwrap();
    let records: Vec<PyRecord> = (0..10)
        .map(|i| PyRecord {
            partition: Some(0),
            value: Some(vec![i]),
            ..PyRecord::default()
        })
        .collect();
    // One linger window: librdkafka sends all ten as one batch.
    python::produce(
        &broker.addr(),
        "mid",
        &records,
        "lz4",
        &[("linger.ms", "100")],
    )
    .await
    .unwrap();
    let fetcher = Fetcher::new(client.clone(), FetchConfig::default());
    let position = FetchPosition {
        topic: "mid".into(),
        partition: 0,
        offset: 6,
    };
    let (_, result) = fetcher.fetch(&[position]).await.pop().unwrap();
    let (got, next) = result.unwrap().records().unwrap();
    let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![6, 7, 8, 9]);
    assert_eq!(got[0].value.as_deref(), Some(&[6u8][..]));
    assert_eq!(next, 10);
}
