//! A non-retriable refusal halts only its partition of the producer, and
//! `Producer::reset_partition` lets that partition continue on the same producer, numbered so a
//! broker that checks sequences the way Kafka does (ProducerAppendInfo.checkSequence) accepts
//! it. The fake broker keeps each partition's log and each producer's last sequence per
//! partition, refuses a batch with a record over a size limit (MESSAGE_TOO_LARGE, before any
//! producer state changes, as LogValidator does) and can be told to refuse the next batch with
//! INVALID_PRODUCER_EPOCH.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    InitProducerIdResponse, ProduceResponse, ProducerId, RequestKind, ResponseKind,
};
use kreplicate_codec::RecordSet;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig, Error};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};
use kreplicate_wire::BrokerErrorKind;

const TOPIC: &str = "events";
const LIMIT: usize = 1000;

#[derive(Default)]
struct Broker {
    /// Values per partition, in offset order.
    logs: HashMap<i32, Vec<Bytes>>,
    /// (producer id, partition) → last appended sequence.
    last_sequence: HashMap<(i64, i32), i32>,
    /// Every batch received: (partition, producer id, base sequence, accepted).
    batches: Vec<(i32, i64, i32, bool)>,
}

#[derive(Clone, Default)]
struct Fake {
    state: Arc<Mutex<Broker>>,
    next_producer_id: Arc<AtomicI64>,
    /// Refuse the next batch with INVALID_PRODUCER_EPOCH.
    fence_next: Arc<AtomicBool>,
}

impl Fake {
    fn reply(&self, request: RequestKind) -> FakeReply {
        match request {
            RequestKind::InitProducerId(_) => {
                let id = self.next_producer_id.fetch_add(1, Ordering::SeqCst) + 100;
                FakeReply::Respond(ResponseKind::InitProducerId(
                    InitProducerIdResponse::default()
                        .with_producer_id(ProducerId(id))
                        .with_producer_epoch(0),
                ))
            }
            RequestKind::Produce(request) => {
                let topic = &request.topic_data[0];
                let data = &topic.partition_data[0];
                let (code, base) = self.append(data.index, data.records.clone().unwrap());
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

    /// Kafka's order of checks: validation (size) first, then the producer's sequence.
    fn append(&self, partition: i32, records: Bytes) -> (i16, i64) {
        let mut state = self.state.lock().unwrap();
        let batch = RecordSet::new(records).batches().next().unwrap().unwrap();
        let v2 = batch.as_v2().unwrap().clone();
        let (pid, seq) = (v2.producer_id(), v2.base_sequence());
        let values: Vec<Bytes> = batch
            .records()
            .unwrap()
            .into_iter()
            .map(|r| r.value.unwrap())
            .collect();
        let refuse = |state: &mut Broker, error: ResponseError| {
            state.batches.push((partition, pid, seq, false));
            (error.code(), -1)
        };
        if values.iter().any(|v| v.len() > LIMIT) {
            return refuse(&mut state, ResponseError::MessageTooLarge);
        }
        if self.fence_next.swap(false, Ordering::SeqCst) {
            return refuse(&mut state, ResponseError::InvalidProducerEpoch);
        }
        // ProducerAppendInfo.checkSequence: a producer the partition knows must continue at
        // the sequence after its last one; an unknown producer may start anywhere.
        if let Some(last) = state.last_sequence.get(&(pid, partition)) {
            if seq != last + 1 {
                return refuse(&mut state, ResponseError::OutOfOrderSequenceNumber);
            }
        }
        state
            .last_sequence
            .insert((pid, partition), seq + values.len() as i32 - 1);
        state.batches.push((partition, pid, seq, true));
        let log = state.logs.entry(partition).or_default();
        let base = log.len() as i64;
        log.extend(values);
        (0, base)
    }

    fn log(&self, partition: i32) -> Vec<Bytes> {
        self.state
            .lock()
            .unwrap()
            .logs
            .get(&partition)
            .cloned()
            .unwrap_or_default()
    }

    fn last_batch(&self, partition: i32) -> (i64, i32, bool) {
        let state = self.state.lock().unwrap();
        let &(_, pid, seq, ok) = state
            .batches
            .iter()
            .rev()
            .find(|b| b.0 == partition)
            .unwrap();
        (pid, seq, ok)
    }
}

fn record(value: &[u8]) -> ProducerRecord {
    ProducerRecord {
        value: Some(Bytes::copy_from_slice(value)),
        timestamp: Some(1_700_000_000_000),
        ..ProducerRecord::default()
    }
}

fn broker_kind(e: &kreplicate_wire::producer::ProduceError) -> BrokerErrorKind {
    match &*e.0 {
        Error::Broker(b) => b.kind(),
        other => panic!("not a broker error: {other}"),
    }
}

async fn start() -> (Fake, FakeBroker, Producer) {
    let fake = Fake::default();
    let handler = fake.clone();
    let broker = FakeBroker::start_with(
        FakeBrokerOptions {
            topics: vec![FakeTopic::new(TOPIC, 2)],
            ..FakeBrokerOptions::default()
        },
        move |_, request| handler.reply(request),
    )
    .unwrap();
    let client = Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .unwrap();
    let producer = Producer::new(client, ProducerConfig::default())
        .await
        .unwrap();
    (fake, broker, producer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_halts_its_partition_only_and_reset_continues_after_the_last_acked_sequence(
) {
    let (fake, _broker, producer) = start().await;
    for (i, v) in [b"a", b"b"].iter().enumerate() {
        let meta = producer.send(TOPIC, 0, record(*v)).await.unwrap();
        assert_eq!(meta.await.unwrap().offset, i as i64);
    }
    let big = producer
        .send(TOPIC, 0, record(&[7; LIMIT + 1]))
        .await
        .unwrap();
    assert_eq!(
        broker_kind(&big.await.unwrap_err()),
        BrokerErrorKind::MessageTooLarge
    );
    // Halted: a later record of partition 0 fails without being sent...
    let sent_before = fake.state.lock().unwrap().batches.len();
    let later = producer.send(TOPIC, 0, record(b"c")).await.unwrap();
    assert_eq!(
        broker_kind(&later.await.unwrap_err()),
        BrokerErrorKind::MessageTooLarge
    );
    assert_eq!(fake.state.lock().unwrap().batches.len(), sent_before);
    // ...while partition 1 is copied on the same producer.
    let other = producer.send(TOPIC, 1, record(b"x")).await.unwrap();
    assert_eq!(other.await.unwrap().offset, 0);

    producer.reset_partition(TOPIC, 0).await.unwrap();
    let after = producer.send(TOPIC, 0, record(b"d")).await.unwrap();
    assert_eq!(after.await.unwrap().offset, 2);
    // Same producer id, numbered after the last acknowledged batch ("b" had sequence 1).
    let (pid, seq, ok) = fake.last_batch(0);
    assert_eq!((pid, seq, ok), (100, 2, true));
    assert_eq!(fake.log(0), [&b"a"[..], b"b", b"d"]);
    assert_eq!(fake.log(1), [&b"x"[..]]);
    // A reset of a partition that is not halted changes nothing.
    producer.reset_partition(TOPIC, 0).await.unwrap();
    let next = producer.send(TOPIC, 0, record(b"e")).await.unwrap();
    assert_eq!(next.await.unwrap().offset, 3);
    assert_eq!(fake.last_batch(0), (100, 3, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_producer_state_refusal_reset_continues_under_a_fresh_producer_id() {
    let (fake, _broker, producer) = start().await;
    let first = producer.send(TOPIC, 0, record(b"a")).await.unwrap();
    assert_eq!(first.await.unwrap().offset, 0);
    fake.fence_next.store(true, Ordering::SeqCst);
    let fenced = producer.send(TOPIC, 0, record(b"b")).await.unwrap();
    assert_eq!(
        broker_kind(&fenced.await.unwrap_err()),
        BrokerErrorKind::InvalidProducerEpoch
    );
    producer.reset_partition(TOPIC, 0).await.unwrap();
    let again = producer.send(TOPIC, 0, record(b"b")).await.unwrap();
    assert_eq!(again.await.unwrap().offset, 1);
    // A fresh producer id (the second InitProducerId), starting at sequence 0.
    assert_eq!(fake.last_batch(0), (101, 0, true));
    // Partition 1 still writes under the producer's first id.
    let other = producer.send(TOPIC, 1, record(b"x")).await.unwrap();
    assert_eq!(other.await.unwrap().offset, 0);
    assert_eq!(fake.last_batch(1), (100, 0, true));
    assert_eq!(fake.log(0), [&b"a"[..], b"b"]);
}
