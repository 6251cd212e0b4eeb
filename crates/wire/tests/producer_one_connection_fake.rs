//! A partition's in-flight produce requests stay on one connection, in order, for as long as
//! they are in flight (the idempotent producer's ordering guarantee; Kafka's Java producer:
//! `max.in.flight.requests.per.connection` with one connection per broker).
//!
//! The pooled connection is replaced while two batches are in flight on it (the client is told
//! to forget it, as a late failure report or a credential rotation does), then a third batch is
//! sent. The fake broker checks sequences as Kafka does (`ProducerAppendInfo.checkSequence`)
//! and holds its answers to the two in-flight batches, so they are unanswered when the third
//! goes out. Before the fix the third went out on a second connection while the first still
//! carried the two, reached the broker first and was refused OUT_OF_ORDER_SEQUENCE_NUMBER (on
//! Kafka, for a producer id new to the partition, it would have been appended first). Now the
//! replaced connection fails its in-flight requests first, and the producer resends them, in
//! order, on the new one. Triggered by progress (the broker's count of Produce requests).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdResponse, ProduceResponse, ProducerId, RequestKind, ResponseKind,
};
use kreplicate_codec::RecordSet;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "events";

/// Produce requests (1-based, in arrival order) the broker never answers.
const HELD: [usize; 2] = [2, 3];

#[derive(Default)]
struct Log {
    values: Vec<Bytes>,
    /// The last appended sequence of the (only) producer id.
    last_sequence: Option<i32>,
    /// Every batch the broker decided on: (base sequence, appended).
    batches: Vec<(i32, bool)>,
}

#[derive(Clone, Default)]
struct Fake {
    log: Arc<Mutex<Log>>,
    produces: Arc<AtomicUsize>,
}

impl Fake {
    fn reply(&self, request: RequestKind) -> FakeReply {
        match request {
            RequestKind::InitProducerId(_) => FakeReply::Respond(ResponseKind::InitProducerId(
                InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(100))
                    .with_producer_epoch(0),
            )),
            RequestKind::Produce(request) => {
                if HELD.contains(&(self.produces.fetch_add(1, Ordering::SeqCst) + 1)) {
                    return FakeReply::NoReply;
                }
                let topic = &request.topic_data[0];
                let data = &topic.partition_data[0];
                let (code, base) = self.append(data.records.clone().unwrap());
                FakeReply::Respond(ResponseKind::Produce(
                    ProduceResponse::default().with_responses(vec![TopicProduceResponse::default(
                    )
                    .with_name(topic.name.clone())
                    .with_partition_responses(vec![PartitionProduceResponse::default()
                        .with_index(data.index)
                        .with_error_code(code)
                        .with_base_offset(base)])]),
                ))
            }
            _ => FakeReply::Default,
        }
    }

    /// ProducerAppendInfo.checkSequence: once the partition knows the producer, a batch must
    /// continue at the sequence after its last one.
    fn append(&self, records: Bytes) -> (i16, i64) {
        let mut log = self.log.lock().unwrap();
        let batch = RecordSet::new(records).batches().next().unwrap().unwrap();
        let sequence = batch.as_v2().unwrap().base_sequence();
        let values: Vec<Bytes> = batch
            .records()
            .unwrap()
            .into_iter()
            .map(|r| r.value.unwrap())
            .collect();
        if log.last_sequence.is_some_and(|last| sequence != last + 1) {
            log.batches.push((sequence, false));
            return (ResponseError::OutOfOrderSequenceNumber.code(), -1);
        }
        log.last_sequence = Some(sequence + values.len() as i32 - 1);
        log.batches.push((sequence, true));
        let base = log.values.len() as i64;
        log.values.extend(values);
        (0, base)
    }
}

fn record(value: &str) -> ProducerRecord {
    ProducerRecord {
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        timestamp: Some(1_700_000_000_000),
        ..ProducerRecord::default()
    }
}

/// Waits (bounded) until the broker has received `n` Produce requests.
async fn produce_requests_reach(broker: &FakeBroker, n: usize) {
    for _ in 0..1000 {
        if broker.requests_for(ApiKey::Produce).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the broker never received {n} Produce requests");
}

/// (connection, base sequence) of every Produce request, in arrival order.
fn produce_requests(broker: &FakeBroker) -> Vec<(u64, i32)> {
    broker
        .requests_for(ApiKey::Produce)
        .into_iter()
        .map(|r| {
            let Some(RequestKind::Produce(p)) = r.request else {
                panic!("undecoded Produce request");
            };
            let records = p.topic_data[0].partition_data[0].records.clone().unwrap();
            let batch = RecordSet::new(records).batches().next().unwrap().unwrap();
            (r.connection, batch.as_v2().unwrap().base_sequence())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_connection_fails_its_in_flight_batches_before_the_partition_sends_on_the_next()
{
    let fake = Fake::default();
    let handler = fake.clone();
    let broker = FakeBroker::start_with(
        FakeBrokerOptions {
            topics: vec![FakeTopic::new(TOPIC, 1)],
            ..FakeBrokerOptions::default()
        },
        move |_, request| handler.reply(request),
    )
    .unwrap();
    let mut config = ClientConfig::new([broker.addr()]);
    // Only ends the held requests where they are never failed otherwise (without the fix).
    config.connection.request_timeout = Duration::from_secs(5);
    let client = Client::connect(config).await.unwrap();
    let producer = Producer::new(
        client.clone(),
        ProducerConfig {
            linger: Duration::ZERO,
            max_in_flight_per_partition: 5,
            ..ProducerConfig::default()
        },
    )
    .await
    .unwrap();

    // Sequence 0 acknowledged: the partition knows the producer, pipelining starts.
    let first = producer.send(TOPIC, 0, record("r0")).await.unwrap();
    assert_eq!(first.await.unwrap().offset, 0);
    // Sequences 1 and 2 in flight on the pooled connection, unanswered.
    let second = producer.send(TOPIC, 0, record("r1")).await.unwrap();
    produce_requests_reach(&broker, 2).await;
    let third = producer.send(TOPIC, 0, record("r2")).await.unwrap();
    produce_requests_reach(&broker, 3).await;

    client.forget_connection(&broker.addr());
    let fourth = producer.send(TOPIC, 0, record("r3")).await.unwrap();

    assert_eq!(second.await.unwrap().offset, 1);
    assert_eq!(third.await.unwrap().offset, 2);
    assert_eq!(fourth.await.unwrap().offset, 3);

    // The broker saw the batches in sequence order: nothing overtook, nothing was refused.
    let (batches, values) = {
        let log = fake.log.lock().unwrap();
        (log.batches.clone(), log.values.clone())
    };
    assert_eq!(batches, vec![(0, true), (1, true), (2, true), (3, true)]);
    assert_eq!(
        values,
        ["r0", "r1", "r2", "r3"].map(|v| Bytes::from(v.as_bytes().to_vec()))
    );
    // Sequences 1 and 2, in flight when the connection was replaced, were resent on the new
    // connection before sequence 3 went out on it; the old connection carried nothing after.
    let requests = produce_requests(&broker);
    let sequences: Vec<i32> = requests.iter().map(|r| r.1).collect();
    assert_eq!(sequences, vec![0, 1, 2, 1, 2, 3], "{requests:?}");
    let (old, new) = (requests[0].0, requests[3].0);
    assert_ne!(old, new, "{requests:?}");
    assert!(requests[..3].iter().all(|r| r.0 == old), "{requests:?}");
    assert!(requests[3..].iter().all(|r| r.0 == new), "{requests:?}");
    producer.close().await;
}
