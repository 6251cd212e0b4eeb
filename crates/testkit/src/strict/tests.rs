//! The strict layer against a real Tansu: each rule refused (or applied) with Kafka's exact
//! error code, through raw requests built with kafka-protocol's own encoder and through our
//! client (crates/wire). The confluent-kafka side is in crates/wire/tests/strict_interop.rs.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    FetchRequest, ProduceRequest, ProduceResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;
use kreplicate_wire::admin::{Admin, AlterOp, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig, Error};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

use super::*;
use crate::tansu::raw::RawConnection;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

async fn admin(addr: &str) -> Admin {
    Admin::new(
        Client::connect(ClientConfig::new([addr.to_string()]))
            .await
            .expect("connect"),
    )
}

async fn create(addr: &str, topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut new = NewTopic::new(topic, partitions, 1);
    for (k, v) in configs {
        new = new.with_config(*k, *v);
    }
    admin(addr)
        .await
        .create_topics(&[new], false)
        .await
        .unwrap();
}

fn error_code(e: &Error) -> i16 {
    match e {
        Error::Broker(b) => b.code,
        other => panic!("expected a broker error, got {other:?}"),
    }
}

/// One record for [`batch`]: (offset delta, key, value, timestamp).
type Spec<'a> = (i64, Option<&'a [u8]>, &'a [u8], i64);

/// Producer fields of a batch.
#[derive(Clone, Copy)]
struct Ids {
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    transactional: bool,
}

const PLAIN: Ids = Ids {
    producer_id: -1,
    epoch: -1,
    base_sequence: -1,
    transactional: false,
};

/// A v2 batch encoded by kafka-protocol (not our codec), offset deltas as given.
fn batch(records: &[Spec<'_>], codec: Compression, ids: Ids) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .map(|(delta, key, value, ts)| Record {
            transactional: ids.transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: ids.producer_id,
            producer_epoch: ids.epoch,
            timestamp_type: TimestampType::Creation,
            offset: *delta,
            // RecordBatchEncoder keeps records in one batch while offset - sequence is constant.
            sequence: if ids.base_sequence < 0 {
                *delta as i32 - 1 - records[0].0 as i32
            } else {
                ids.base_sequence + *delta as i32 - records[0].0 as i32
            },
            timestamp: *ts,
            key: key.map(Bytes::copy_from_slice),
            value: Some(Bytes::copy_from_slice(value)),
            headers: IndexMap::new(),
        })
        .collect();
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: codec,
        },
    )
    .unwrap();
    out.freeze()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sends one Produce (v9, acks=all) with `partitions` of `topic` and returns the answer.
fn produce(
    addr: &str,
    txn: Option<&str>,
    topic: &str,
    partitions: &[(i32, Bytes)],
) -> ProduceResponse {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(txn.map(|t| TransactionalId(StrBytes::from_string(t.into()))))
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(
                partitions
                    .iter()
                    .map(|(i, b)| {
                        PartitionProduceData::default()
                            .with_index(*i)
                            .with_records(Some(b.clone()))
                    })
                    .collect(),
            )]);
    RawConnection::connect(addr, IO_TIMEOUT)
        .unwrap()
        .call(9, &request)
        .unwrap()
}

/// (partition, error code, base offset) per partition, in answer order.
fn outcome(r: &ProduceResponse) -> Vec<(i32, i16, i64)> {
    r.responses
        .iter()
        .flat_map(|t| t.partition_responses.iter())
        .map(|p| (p.index, p.error_code, p.base_offset))
        .collect()
}

/// The raw stored batches of a partition, fetched from the bare broker.
fn stored(raw_addr: &str, topic: &str, partition: i32) -> Bytes {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let request = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(64 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(0)
                .with_partition_max_bytes(64 << 20)])]);
    let response = RawConnection::connect(raw_addr, IO_TIMEOUT)
        .unwrap()
        .call(11, &request)
        .unwrap();
    response.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn max_message_bytes_refuses_until_raised_through_the_layer() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    let topic = "mmb";
    create(&addr, topic, 1, &[("max.message.bytes", "2000")]).await;
    let client = Client::connect(ClientConfig::new([addr.clone()]))
        .await
        .unwrap();
    let producer = Producer::new(client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let record = ProducerRecord {
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from(vec![7u8; 3000])),
        timestamp: Some(now_ms()),
        ..ProducerRecord::default()
    };
    let refused = producer
        .send(topic, 0, record.clone())
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&refused.0),
        ResponseError::MessageTooLarge.code()
    );
    assert_eq!(broker.refusals().count(Rule::MessageTooLarge), 1);

    // Raised through the layer: the cached config is dropped at once.
    admin(&addr)
        .await
        .incremental_alter_topic_configs(topic, &[AlterOp::set("max.message.bytes", "10000")])
        .await
        .unwrap();
    // A new producer: ours keeps answering a partition's first definitive failure.
    let producer = Producer::new(client, ProducerConfig::default())
        .await
        .unwrap();
    let delivered = producer
        .send(topic, 0, record)
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(delivered.offset, 0);
    assert_eq!(broker.refusals().count(Rule::MessageTooLarge), 1);
}

#[test]
fn default_max_message_bytes_is_kafkas_1048588_with_log_overhead() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    let ts = now_ms();
    // A batch of exactly the limit passes, one byte more is refused: find the value size that
    // makes the batch 1048588 bytes.
    let size_of = |n: usize| {
        batch(
            &[(0, Some(b"k"), &vec![1u8; n], ts)],
            Compression::None,
            PLAIN,
        )
        .len()
    };
    let base = size_of(1_000_000);
    let fits = 1_000_000 + (1_048_588 - base);
    let mut exact = size_of(fits);
    let mut n = fits;
    // Varint lengths can shift the size by a byte; settle on an exact fit.
    while exact > 1_048_588 {
        n -= 1;
        exact = size_of(n);
    }
    assert_eq!(exact, 1_048_588, "batch of exactly the default limit");
    let ok = produce(
        &addr,
        None,
        "big",
        &[(
            0,
            batch(
                &[(0, Some(b"k"), &vec![1u8; n], ts)],
                Compression::None,
                PLAIN,
            ),
        )],
    );
    assert_eq!(outcome(&ok), vec![(0, 0, 0)]);
    let over = batch(
        &[(0, Some(b"kk"), &vec![1u8; n], ts)],
        Compression::None,
        PLAIN,
    );
    assert_eq!(over.len(), 1_048_589);
    let refused = produce(&addr, None, "big", &[(0, over)]);
    assert_eq!(
        outcome(&refused),
        vec![(0, ResponseError::MessageTooLarge.code(), -1)]
    );
    assert_eq!(broker.refusals().count(Rule::MessageTooLarge), 1);
    // Tansu stored exactly the batch that fit.
    assert_eq!(stored(&broker.raw_addr(), "big", 0).len(), 1_048_588);
}
