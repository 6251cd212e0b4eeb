//! The strict layer seen by an independent client, confluent-kafka (librdkafka): its refusals
//! arrive with Kafka's codes, and what the layer rewrote (re-encoded batches, LogAppendTime)
//! reads back correctly.

use std::time::Duration;

use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;

use super::tests::{batch, now_ms, outcome, produce, Spec, PLAIN};
use super::*;
use crate::python::{self, Isolation, Partitions, PyRecord};

/// (offset, key, value, timestamp) of a consumed record.
type Consumed = (i64, Option<Vec<u8>>, Option<Vec<u8>>, i64);

const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn record(key: Option<&[u8]>, value: Vec<u8>, timestamp: i64) -> PyRecord {
    PyRecord {
        partition: Some(0),
        key: key.map(<[u8]>::to_vec),
        value: Some(value),
        headers: vec![],
        timestamp_ms: Some(timestamp),
    }
}

#[tokio::test]
async fn strict_refusals_seen_by_confluent_kafka() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "small", 1, &[("max.message.bytes", "2000")])
        .await
        .unwrap();
    python::create_topic(&addr, "compact", 1, &[("cleanup.policy", "compact")])
        .await
        .unwrap();
    python::create_topic(
        &addr,
        "recent",
        1,
        &[("message.timestamp.before.max.ms", "60000")],
    )
    .await
    .unwrap();
    python::create_topic(&addr, "secret", 1, &[]).await.unwrap();
    broker.rules().deny_topic("secret");
    let now = now_ms();
    let cases: [(&str, PyRecord, ResponseError); 4] = [
        (
            "small",
            record(Some(b"k"), vec![1; 3000], now),
            ResponseError::MessageTooLarge,
        ),
        (
            "compact",
            record(None, b"v".to_vec(), now),
            ResponseError::InvalidRecord,
        ),
        (
            "recent",
            record(Some(b"k"), b"v".to_vec(), now - 3_600_000),
            ResponseError::InvalidTimestamp,
        ),
        (
            "secret",
            record(Some(b"k"), b"v".to_vec(), now),
            ResponseError::TopicAuthorizationFailed,
        ),
    ];
    for (topic, r, error) in cases {
        let ok = record(Some(b"ok"), b"fits".to_vec(), now);
        let got = python::produce_reporting(&addr, topic, &[r], "none", &[])
            .await
            .unwrap();
        assert_eq!(got, vec![Err(i32::from(error.code()))], "{topic}");
        if topic != "secret" {
            // The topic itself still takes records that pass.
            let got = python::produce_reporting(&addr, topic, &[ok], "none", &[])
                .await
                .unwrap();
            assert_eq!(got, vec![Ok((0, 0))], "{topic}");
        }
    }
    let r = broker.refusals();
    assert_eq!(r.count(Rule::MessageTooLarge), 1);
    assert_eq!(r.count(Rule::CompactedWithoutKey), 1);
    assert_eq!(r.count(Rule::InvalidTimestamp), 1);
    assert!(r.count(Rule::TopicAuthorization) >= 1);
}

#[tokio::test]
async fn confluent_kafka_reads_reencoded_and_log_append_time_batches() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    let ts = 1_700_000_000_000;
    let specs: [Spec<'_>; 3] = [
        (0, Some(b"a"), b"first", ts),
        (0, Some(b"b"), b"second", ts + 1),
        (2, None, b"third", ts + 2),
    ];
    // Tansu stores a Produce to an unknown topic without listing the topic: create it first.
    python::create_topic(&addr, "gaps", 1, &[]).await.unwrap();
    let r = produce(
        &addr,
        None,
        "gaps",
        &[(0, batch(&specs, Compression::Lz4, PLAIN))],
    );
    assert_eq!(outcome(&r), vec![(0, 0, 0)]);
    let read = python::consume(
        &addr,
        "gaps",
        Partitions::Only(vec![0]),
        3,
        Isolation::ReadUncommitted,
        READ_TIMEOUT,
    )
    .await
    .unwrap();
    let got: Vec<Consumed> = read
        .into_iter()
        .map(|r| (r.offset, r.key, r.value, r.timestamp))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Some(b"a".to_vec()), Some(b"first".to_vec()), ts),
            (1, Some(b"b".to_vec()), Some(b"second".to_vec()), ts + 1),
            (2, None, Some(b"third".to_vec()), ts + 2),
        ]
    );

    python::create_topic(
        &addr,
        "lat",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await
    .unwrap();
    let before = now_ms();
    let delivered = python::produce(
        &addr,
        "lat",
        &[
            record(Some(b"k1"), b"v1".to_vec(), 1000),
            record(Some(b"k2"), b"v2".to_vec(), 2000),
        ],
        "gzip",
        &[("linger.ms", "50")],
    )
    .await
    .unwrap();
    assert_eq!(delivered, vec![(0, 0), (0, 1)]);
    let read = python::consume(
        &addr,
        "lat",
        Partitions::Only(vec![0]),
        2,
        Isolation::ReadUncommitted,
        READ_TIMEOUT,
    )
    .await
    .unwrap();
    for r in &read {
        assert_eq!(r.timestamp_type, 2, "LogAppendTime");
        assert!(
            (before..=now_ms()).contains(&r.timestamp),
            "{}",
            r.timestamp
        );
    }
    assert_eq!(
        read.iter()
            .map(|r| r.value.clone().unwrap())
            .collect::<Vec<_>>(),
        vec![b"v1".to_vec(), b"v2".to_vec()]
    );
}

#[tokio::test]
async fn pipelined_idempotent_confluent_producer_passes_the_sequence_checks() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "idem", 2, &[]).await.unwrap();
    let now = now_ms();
    let records: Vec<PyRecord> = (0..600)
        .map(|i| PyRecord {
            partition: Some(i % 2),
            key: Some(format!("k{i}").into_bytes()),
            value: Some(vec![b'v'; 100]),
            headers: vec![],
            timestamp_ms: Some(now),
        })
        .collect();
    // Small batches, 5 in flight per connection: the layer sees pipelined sequences.
    let delivered = python::produce(
        &addr,
        "idem",
        &records,
        "lz4",
        &[
            ("enable.idempotence", "true"),
            ("linger.ms", "0"),
            ("batch.num.messages", "7"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    )
    .await
    .unwrap();
    let mut per_partition = [0i64; 2];
    for (i, (p, offset)) in delivered.iter().enumerate() {
        assert_eq!(*p, (i % 2) as i32);
        assert_eq!(*offset, per_partition[*p as usize], "record {i}");
        per_partition[*p as usize] += 1;
    }
    let r = broker.refusals();
    assert_eq!(r.total_refused(), 0, "{r:?}");
    assert_eq!(r.count(Rule::DuplicateSequence), 0);
}

#[tokio::test]
async fn confluent_read_committed_consumer_skips_aborted_transactions_through_the_layer() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "ledger", 2, &[]).await.unwrap();
    let mut produced = Vec::new();
    for partition in 0..2 {
        produced.extend(
            super::read_committed_tests::interleave(&addr, "ledger", partition)
                .await
                .into_iter()
                .map(|p| (partition, p)),
        );
    }
    let read = |bootstrap: String, isolation: Isolation, expected: usize| async move {
        let mut job = python::ConsumeJob::new(&bootstrap, "ledger", expected);
        job.isolation = isolation;
        // Lingering shows any record beyond the expected ones.
        job.linger = Duration::from_millis(500);
        let mut got: Vec<(i32, i64, Vec<u8>)> = job
            .run()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.partition, r.offset, r.value.unwrap()))
            .collect();
        got.sort();
        got
    };
    let all: Vec<(i32, i64, Vec<u8>)> = produced
        .iter()
        .map(|(partition, p)| (*partition, p.offset, p.value.clone()))
        .collect();
    let kept: Vec<(i32, i64, Vec<u8>)> = produced
        .iter()
        .filter(|(_, p)| p.kept)
        .map(|(partition, p)| (*partition, p.offset, p.value.clone()))
        .collect();
    assert_eq!((all.len(), kept.len()), (24, 14));
    // Through the layer: the committed and plain records only, at their offsets.
    assert_eq!(read(addr.clone(), Isolation::ReadCommitted, 14).await, kept);
    assert_eq!(read(addr, Isolation::ReadUncommitted, 24).await, all);
    // Bare Tansu hands the aborted ones to the same consumer.
    assert_eq!(
        read(broker.raw_addr(), Isolation::ReadCommitted, 24).await,
        all
    );
    assert_eq!(broker.refusals().total_refused(), 0);
}
