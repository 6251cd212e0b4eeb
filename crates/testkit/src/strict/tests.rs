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
use kafka_protocol::protocol::{Decodable, StrBytes};
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
pub(super) type Spec<'a> = (i64, Option<&'a [u8]>, &'a [u8], i64);

/// A record read back: (offset, key, value, timestamp).
type Readback<'a> = (i64, Option<&'a [u8]>, Option<&'a [u8]>, i64);

/// Producer fields of a batch.
#[derive(Clone, Copy)]
pub(super) struct Ids {
    pub(super) producer_id: i64,
    pub(super) epoch: i16,
    pub(super) base_sequence: i32,
    pub(super) transactional: bool,
}

pub(super) const PLAIN: Ids = Ids {
    producer_id: -1,
    epoch: -1,
    base_sequence: -1,
    transactional: false,
};

/// A v2 batch encoded by kafka-protocol (not our codec), offset deltas as given.
pub(super) fn batch(records: &[Spec<'_>], codec: Compression, ids: Ids) -> Bytes {
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
    RecordBatchEncoder::encode_with_custom_compression(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: codec,
        },
        Some(|plain: &mut BytesMut, out: &mut BytesMut, codec| {
            out.extend_from_slice(&super::compression::compress(codec, plain)?);
            Ok(())
        }),
    )
    .unwrap();
    out.freeze()
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sends one Produce (v9, acks=all) with `partitions` of `topic` and returns the answer.
pub(super) fn produce(
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

/// Creates `topic` with `partitions` through `addr` (Produce never creates a topic).
pub(super) fn create_raw(addr: &str, topic: &str, partitions: i32) {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    let created = RawConnection::connect(addr, IO_TIMEOUT)
        .unwrap()
        .call(
            5,
            &kafka_protocol::messages::CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.into())))
                    .with_num_partitions(partitions)
                    .with_replication_factor(1)]),
        )
        .unwrap();
    assert_eq!(created.topics[0].error_code, 0, "creating {topic}");
}

/// (partition, error code, base offset) per partition, in answer order.
pub(super) fn outcome(r: &ProduceResponse) -> Vec<(i32, i16, i64)> {
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
    create_raw(&addr, "big", 1);
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

/// Decodes stored batches with crates/wire's codec (keeps headers in wire order).
fn wire_batches(stored: &Bytes) -> Vec<kreplicate_codec::RecordBatch> {
    kreplicate_codec::RecordSet::new(stored.clone())
        .batches()
        .map(|b| b.unwrap().as_v2().unwrap().clone())
        .collect()
}

#[test]
fn transactional_batch_without_transactional_id_is_refused_for_the_whole_request() {
    let broker = StrictTansu::start().unwrap();
    let ts = now_ms();
    let txn = Ids {
        producer_id: 9,
        epoch: 0,
        base_sequence: 0,
        transactional: true,
    };
    let r = produce(
        &broker.bootstrap(),
        None,
        "txn",
        &[
            (
                0,
                batch(&[(0, Some(b"k"), b"v", ts)], Compression::None, txn),
            ),
            (
                1,
                batch(&[(0, Some(b"k"), b"plain", ts)], Compression::None, PLAIN),
            ),
        ],
    );
    let code = ResponseError::TransactionalIdAuthorizationFailed.code();
    assert_eq!(outcome(&r), vec![(0, code, -1), (1, code, -1)]);
    assert_eq!(
        broker.refusals().count(Rule::TransactionalIdAuthorization),
        2
    );
    // Nothing reached Tansu: the topic was not even auto-created.
    let metadata = RawConnection::connect(&broker.raw_addr(), IO_TIMEOUT)
        .unwrap()
        .call(
            9,
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
        )
        .unwrap();
    assert!(metadata
        .topics
        .iter()
        .all(|t| t.name.as_ref().map(|n| n.as_str()) != Some("txn")));
}

#[test]
fn batches_with_holes_are_refused_and_wrong_inner_offsets_stored_reencoded() {
    let broker = StrictTansu::start().unwrap();
    create_raw(&broker.bootstrap(), "gaps", 4);
    create_raw(&broker.bootstrap(), "no-gaps", 1);
    let ts = 1_700_000_000_000;
    for (partition, codec) in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let partition = partition as i32;
        // Deltas 0, 2, 5 (what compaction leaves of a 6-record batch): a client may not send
        // that: LogValidator.validateBatch refuses an offset range that is not the count.
        let holes: [Spec<'_>; 3] = [
            (0, Some(b"a"), b"first", ts),
            (2, None, b"second", ts + 7),
            (5, Some(b""), b"third", ts - 3),
        ];
        let r = produce(
            &broker.bootstrap(),
            None,
            "gaps",
            &[(partition, batch(&holes, codec, PLAIN))],
        );
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(
            p.error_code,
            ResponseError::InvalidRecord.code(),
            "{codec:?}"
        );
        // Deltas 0, 0, 2 in a 3-offset batch (as some old clients wrote inner offsets): the
        // range holds the count, so it is accepted, and stored re-encoded.
        let specs: [Spec<'_>; 3] = [
            (0, Some(b"a"), b"first", ts),
            (0, None, b"second", ts + 7),
            (2, Some(b""), b"third", ts - 3),
        ];
        let sent = batch(&specs, codec, PLAIN);
        let r = produce(
            &broker.bootstrap(),
            None,
            "gaps",
            &[(partition, sent.clone())],
        );
        assert_eq!(outcome(&r), vec![(partition, 0, 0)], "{codec:?}");
        let stored = stored(&broker.raw_addr(), "gaps", partition);
        assert_ne!(stored, sent, "{codec:?}: stored as sent, not re-encoded");
        let batches = wire_batches(&stored);
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.record_count(), 3);
        assert_eq!(b.last_offset_delta(), 2, "{codec:?}");
        assert_eq!(
            b.compression() as i16,
            codec as i16,
            "{codec:?}: same codec"
        );
        assert_eq!(b.max_timestamp(), ts + 7);
        let records = b.records().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let got: Vec<Readback<'_>> = records
            .iter()
            .map(|r| (r.offset, r.key.as_deref(), r.value.as_deref(), r.timestamp))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Some(&b"a"[..]), Some(&b"first"[..]), ts),
                (1, None, Some(&b"second"[..]), ts + 7),
                (2, Some(&b""[..]), Some(&b"third"[..]), ts - 3),
            ],
            "{codec:?}"
        );
    }
    assert_eq!(broker.refusals().count(Rule::Reencoded), 4);
    assert_eq!(broker.refusals().count(Rule::CorruptOrInvalidRecord), 4);
    // Contiguous compressed batches are stored as sent.
    let contiguous = batch(
        &[(0, Some(b"a"), b"x", ts), (1, Some(b"b"), b"y", ts)],
        Compression::Gzip,
        PLAIN,
    );
    let r = produce(
        &broker.bootstrap(),
        None,
        "no-gaps",
        &[(0, contiguous.clone())],
    );
    assert_eq!(outcome(&r), vec![(0, 0, 0)]);
    assert_eq!(stored(&broker.raw_addr(), "no-gaps", 0), contiguous);
    assert_eq!(broker.refusals().count(Rule::Reencoded), 4);
}

#[tokio::test]
async fn record_without_key_on_a_compacted_topic_is_an_invalid_record() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create(&addr, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let ts = now_ms();
    let r = produce(
        &addr,
        None,
        "compacted",
        &[(
            0,
            batch(
                &[
                    (0, Some(b"k"), b"v", ts),
                    (1, None, b"v", ts),
                    (2, None, b"v", ts),
                ],
                Compression::None,
                PLAIN,
            ),
        )],
    );
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, ResponseError::InvalidRecord.code());
    let errors: Vec<(i32, String)> = p
        .record_errors
        .iter()
        .map(|e| {
            (
                e.batch_index,
                e.batch_index_error_message
                    .as_deref()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let message =
        "Compacted topic cannot accept message without key in topic partition compacted-0";
    assert_eq!(
        errors,
        vec![(1, message.to_string()), (2, message.to_string())]
    );
    assert!(p
        .error_message
        .as_deref()
        .unwrap()
        .starts_with("One or more records have been rejected due to 2 record errors"));
    assert!(stored(&broker.raw_addr(), "compacted", 0).is_empty());

    // Our producer sees the same code.
    let producer = Producer::new(
        Client::connect(ClientConfig::new([addr])).await.unwrap(),
        ProducerConfig::default(),
    )
    .await
    .unwrap();
    let err = producer
        .send(
            "compacted",
            0,
            ProducerRecord {
                value: Some(Bytes::from_static(b"no key")),
                ..ProducerRecord::default()
            },
        )
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err.0), ResponseError::InvalidRecord.code());
    assert_eq!(broker.refusals().count(Rule::CompactedWithoutKey), 2);
}

#[tokio::test]
async fn timestamps_outside_before_and_after_max_ms_are_invalid() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create(
        &addr,
        "ts",
        1,
        &[
            ("message.timestamp.before.max.ms", "3600000"),
            ("message.timestamp.after.max.ms", "60000"),
        ],
    )
    .await;
    create(
        &addr,
        "ts-old",
        1,
        &[("message.timestamp.difference.max.ms", "1000")],
    )
    .await;
    let now = now_ms();
    let one = |ts: i64| batch(&[(0, Some(b"k"), b"v", ts)], Compression::None, PLAIN);
    let invalid = ResponseError::InvalidTimestamp.code();
    let r = produce(&addr, None, "ts", &[(0, one(now - 7_200_000))]);
    assert_eq!(outcome(&r), vec![(0, invalid, -1)]);
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.record_errors.len(), 1);
    assert_eq!(
        p.error_message.as_deref(),
        Some("One or more records have been rejected due to invalid timestamp")
    );
    let r = produce(&addr, None, "ts", &[(0, one(now + 600_000))]);
    assert_eq!(outcome(&r), vec![(0, invalid, -1)]);
    let r = produce(&addr, None, "ts", &[(0, one(now - 60_000))]);
    assert_eq!(outcome(&r), vec![(0, 0, 0)]);
    // The deprecated difference.max.ms bounds both sides when the new ones are unset.
    let r = produce(&addr, None, "ts-old", &[(0, one(now - 600_000))]);
    assert_eq!(outcome(&r), vec![(0, invalid, -1)]);
    let r = produce(&addr, None, "ts-old", &[(0, one(now + 600_000))]);
    assert_eq!(outcome(&r), vec![(0, invalid, -1)]);
    assert_eq!(broker.refusals().count(Rule::InvalidTimestamp), 4);
}

/// InitProducerId (v4) for `transactional_id` through `addr`: a fresh producer id, or the same
/// id with the next epoch when the transactional id is known.
pub(super) fn init_transactional(
    addr: &str,
    transactional_id: &str,
) -> kafka_protocol::messages::InitProducerIdResponse {
    RawConnection::connect(addr, IO_TIMEOUT)
        .unwrap()
        .call(
            4,
            &kafka_protocol::messages::InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
                    transactional_id.to_string(),
                ))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(kafka_protocol::messages::ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .unwrap()
}

#[test]
fn idempotent_sequences_epochs_and_duplicates() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create_raw(&addr, "idem", 1);
    let ts = now_ms();
    // Tansu refuses producer ids it did not hand out (UNKNOWN_PRODUCER_ID) and has no KIP-360
    // epoch bump; a transactional id gets the same id with the next epoch on each init.
    let init = init_transactional(&addr, "idem");
    assert_eq!(init.error_code, 0);
    let pid = *init.producer_id;
    let base_epoch = init.producer_epoch;
    // Epochs relative to the one Tansu handed out.
    let ids = |epoch: i16, base_sequence: i32| Ids {
        producer_id: pid,
        epoch: base_epoch + epoch,
        base_sequence,
        transactional: false,
    };
    let two = |epoch, seq| {
        batch(
            &[(0, Some(b"a"), b"1", ts), (1, Some(b"b"), b"2", ts)],
            Compression::None,
            ids(epoch, seq),
        )
    };
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(0, 0))])),
        vec![(0, 0, 0)]
    );
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(0, 2))])),
        vec![(0, 0, 2)]
    );
    // A gap: sequence 5 after 3.
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(0, 5))])),
        vec![(0, ResponseError::OutOfOrderSequenceNumber.code(), -1)]
    );
    // A retried duplicate of an earlier batch: its original offset, nothing stored again.
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(0, 0))])),
        vec![(0, 0, 0)]
    );
    // A new epoch starts at sequence 0; the old epoch is then refused.
    let bumped = init_transactional(&addr, "idem");
    assert_eq!(
        (
            bumped.error_code,
            *bumped.producer_id,
            bumped.producer_epoch
        ),
        (0, pid, base_epoch + 1)
    );
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(1, 4))])),
        vec![(0, ResponseError::OutOfOrderSequenceNumber.code(), -1)]
    );
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(1, 0))])),
        vec![(0, 0, 4)]
    );
    assert_eq!(
        outcome(&produce(&addr, None, "idem", &[(0, two(0, 4))])),
        vec![(0, ResponseError::InvalidProducerEpoch.code(), -1)]
    );
    let stored = wire_batches(&stored(&broker.raw_addr(), "idem", 0));
    let seqs: Vec<(i64, i16, i32)> = stored
        .iter()
        .map(|b| {
            (
                b.base_offset(),
                b.producer_epoch() - base_epoch,
                b.base_sequence(),
            )
        })
        .collect();
    assert_eq!(seqs, vec![(0, 0, 0), (2, 0, 2), (4, 1, 0)]);
    let r = broker.refusals();
    assert_eq!(
        (
            r.count(Rule::OutOfOrderSequence),
            r.count(Rule::InvalidProducerEpoch),
            r.count(Rule::DuplicateSequence)
        ),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn denied_topic_is_refused_everywhere_until_allowed_again() {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::{CreateTopicsRequest, DescribeConfigsRequest, MetadataRequest};

    let broker = StrictTansu::start_with(
        crate::tansu::TansuOptions::default(),
        StrictRules::default().deny_topic("secret"),
    )
    .unwrap();
    let addr = broker.bootstrap();
    let denied = ResponseError::TopicAuthorizationFailed.code();
    create_raw(&addr, "open", 1);
    let name = || TopicName(StrBytes::from_static_str("secret"));
    let mut conn = RawConnection::connect(&addr, IO_TIMEOUT).unwrap();
    let created = conn
        .call(
            5,
            &CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(name())
                .with_num_partitions(1)
                .with_replication_factor(1)]),
        )
        .unwrap();
    assert_eq!(created.topics[0].error_code, denied);
    // Created behind the layer's back, it is still hidden from clients of the layer.
    create(&broker.raw_addr(), "secret", 2, &[]).await;
    let metadata = conn
        .call(
            9,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name()))
            ])),
        )
        .unwrap();
    assert_eq!(metadata.topics.len(), 1);
    assert_eq!(metadata.topics[0].error_code, denied);
    assert!(metadata.topics[0].partitions.is_empty());
    let described = conn
        .call(
            1,
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("secret")),
            ]),
        )
        .unwrap();
    assert_eq!(described.results[0].error_code, denied);
    let ts = now_ms();
    let one = || batch(&[(0, Some(b"k"), b"v", ts)], Compression::None, PLAIN);
    // One refused and one passing topic in one request: both answered, in request order.
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(
            ["secret", "open"]
                .into_iter()
                .map(|t| {
                    TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str(t)))
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(one()))])
                })
                .collect(),
        );
    let r = conn.call(9, &request).unwrap();
    let answered: Vec<(String, i16)> = r
        .responses
        .iter()
        .map(|t| (t.name.to_string(), t.partition_responses[0].error_code))
        .collect();
    assert_eq!(
        answered,
        vec![("secret".to_string(), denied), ("open".to_string(), 0)]
    );

    // Our client sees the same, then succeeds once the topic is allowed.
    let producer = Producer::new(
        Client::connect(ClientConfig::new([addr.clone()]))
            .await
            .unwrap(),
        ProducerConfig::default(),
    )
    .await;
    match producer {
        Ok(p) => {
            let err = p
                .send("secret", 0, ProducerRecord::default())
                .await
                .unwrap();
            let err = err.await.unwrap_err();
            assert_eq!(error_code(&err.0), denied);
        }
        Err(e) => panic!("producer: {e}"),
    }
    broker.rules().allow_topic("secret");
    let r = produce(&addr, None, "secret", &[(0, one())]);
    assert_eq!(outcome(&r), vec![(0, 0, 0)]);
    assert!(broker.refusals().count(Rule::TopicAuthorization) >= 5);
}

#[tokio::test]
async fn refused_topic_configs_answer_the_chosen_error_on_create_and_alter() {
    let broker = StrictTansu::start_with(
        crate::tansu::TansuOptions::default(),
        StrictRules::default().refuse_config("retention.ms", ResponseError::PolicyViolation),
    )
    .unwrap();
    broker
        .rules()
        .refuse_config("min.insync.replicas", ResponseError::InvalidConfig);
    let admin = admin(&broker.bootstrap()).await;
    let created = admin
        .create_topics(
            &[NewTopic::new("policy", 1, 1).with_config("retention.ms", "1000")],
            false,
        )
        .await
        .unwrap();
    let err = created[0].1.clone().unwrap_err();
    assert_eq!(err.code, ResponseError::PolicyViolation.code());
    // Nothing was created behind the layer.
    assert!(!crate::python::list_topics(&broker.raw_addr())
        .await
        .unwrap()
        .contains_key("policy"));
    admin
        .create_topics(&[NewTopic::new("policy", 1, 1)], false)
        .await
        .unwrap();
    let err = admin
        .incremental_alter_topic_configs("policy", &[AlterOp::set("min.insync.replicas", "2")])
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), ResponseError::InvalidConfig.code());
    broker.rules().accept_config("min.insync.replicas");
    admin
        .incremental_alter_topic_configs("policy", &[AlterOp::set("min.insync.replicas", "2")])
        .await
        .unwrap();
    assert_eq!(broker.refusals().count(Rule::ConfigRefused), 2);
}

#[tokio::test]
async fn log_append_time_topics_get_the_brokers_time() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create(
        &addr,
        "lat",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    let before = now_ms();
    let r = produce(
        &addr,
        None,
        "lat",
        &[(
            0,
            batch(
                &[(0, Some(b"k"), b"v", 1000), (1, Some(b"k2"), b"w", 2000)],
                Compression::Zstd,
                PLAIN,
            ),
        )],
    );
    let after = now_ms();
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    assert!((before..=after).contains(&p.log_append_time_ms));
    // Read through the layer: Tansu stamps its own clock into the batch (and leaves the CRC
    // stale, which the layer repairs in Fetch answers).
    let b = wire_batches(&stored(&addr, "lat", 0)).remove(0);
    assert_eq!(
        b.timestamp_type(),
        kreplicate_codec::TimestampType::LogAppendTime
    );
    let append_time = b.max_timestamp();
    assert!((before..=now_ms()).contains(&append_time), "{append_time}");
    let records = b.records().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let seen: Vec<(i64, Option<&[u8]>)> = records
        .iter()
        .map(|r| (r.timestamp, r.key.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (append_time, Some(&b"k"[..])),
            (append_time, Some(&b"k2"[..]))
        ]
    );
    // LogValidator.validateTimestamp: a producer may not set LogAppendTime itself.
    let mut forged =
        BytesMut::from(&batch(&[(0, Some(b"k"), b"v", 5)], Compression::None, PLAIN)[..]);
    forged[22] |= 1 << 3;
    let crc = crc32c::crc32c(&forged[21..]);
    forged[17..21].copy_from_slice(&crc.to_be_bytes());
    let r = produce(&addr, None, "lat", &[(0, forged.freeze())]);
    assert_eq!(
        outcome(&r),
        vec![(0, ResponseError::InvalidTimestamp.code(), -1)]
    );
    assert_eq!(broker.refusals().count(Rule::LogAppendTime), 1);
}

#[tokio::test]
async fn strict_tansu_broker_behind_a_fault_proxy_keeps_clients_on_the_proxy() {
    let (broker, proxy) =
        crate::fault_proxy::FaultProxy::with_tansu(crate::tansu::TansuOptions::strict()).unwrap();
    let layer = broker.strict().expect("strict layer in front");
    assert_ne!(broker.addr(), broker.raw_addr());
    assert_eq!(proxy.upstream(), broker.addr());
    create(
        &proxy.addr(),
        "via-proxy",
        1,
        &[("max.message.bytes", "100")],
    )
    .await;
    let producer = Producer::new(
        Client::connect(ClientConfig::new([proxy.addr()]))
            .await
            .unwrap(),
        ProducerConfig::default(),
    )
    .await
    .unwrap();
    let err = producer
        .send(
            "via-proxy",
            0,
            ProducerRecord {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from(vec![0u8; 200])),
                ..ProducerRecord::default()
            },
        )
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err.0), ResponseError::MessageTooLarge.code());
    assert_eq!(layer.refusals().count(Rule::MessageTooLarge), 1);
    // Every connection of the client went through the proxy (Metadata advertised it).
    let stats = proxy.stats();
    assert!(stats.connections_accepted >= 1);
    assert_eq!(layer.connections(), stats.connections_accepted);
}

#[test]
fn malformed_partitions_get_kafkas_codes_and_pipelined_answers_keep_request_order() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create_raw(&addr, "malformed", 4);
    create_raw(&addr, "open", 1);
    let ts = now_ms();
    let one = || batch(&[(0, Some(b"k"), b"v", ts)], Compression::None, PLAIN);
    // ProduceRequest.validateRecords: exactly one batch per partition, magic 2.
    let mut two = BytesMut::from(&one()[..]);
    two.extend_from_slice(&one());
    let mut magic1 = BytesMut::from(&one()[..]);
    magic1[16] = 1;
    // UnifiedLog.analyzeAndValidateRecords: a CRC that does not match.
    let mut bad_crc = BytesMut::from(&one()[..]);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    let r = produce(
        &addr,
        None,
        "malformed",
        &[
            (0, two.freeze()),
            (1, magic1.freeze()),
            (2, bad_crc.freeze()),
            (3, one()),
        ],
    );
    assert_eq!(
        outcome(&r),
        vec![
            (0, ResponseError::InvalidRecord.code(), -1),
            (1, ResponseError::InvalidRecord.code(), -1),
            (2, ResponseError::CorruptMessage.code(), -1),
            (3, 0, 0),
        ]
    );
    assert_eq!(broker.refusals().count(Rule::CorruptOrInvalidRecord), 3);

    // Pipelined: forwarded, answered by the layer alone, forwarded. Answers in request order.
    broker.rules().deny_topic("denied");
    let mut conn = RawConnection::connect(&addr, IO_TIMEOUT).unwrap();
    let request = |topic: &str| {
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.into())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(one()))])])
    };
    let ids: Vec<i32> = ["open", "denied", "open"]
        .into_iter()
        .map(|t| conn.send(9, &request(t)).unwrap())
        .collect();
    let mut answered = Vec::new();
    for _ in 0..3 {
        let mut frame = conn.read_frame().unwrap().unwrap();
        let header = kafka_protocol::messages::ResponseHeader::decode(&mut frame, 1).unwrap();
        let body = ProduceResponse::decode(&mut frame, 9).unwrap();
        answered.push((header.correlation_id, outcome(&body)));
    }
    assert_eq!(
        answered,
        vec![
            (ids[0], vec![(0, 0, 0)]),
            (
                ids[1],
                vec![(0, ResponseError::TopicAuthorizationFailed.code(), -1)]
            ),
            (ids[2], vec![(0, 0, 1)]),
        ]
    );
}

#[tokio::test]
async fn the_layer_works_behind_tls_and_scram() {
    use crate::certs::TestCa;
    use crate::front::{FrontConfig, FrontMechanism, FrontSasl};
    use kreplicate_wire::TlsConfig;
    use kreplicate_wire::{SaslCredentials, SaslMechanism};
    use std::sync::Arc;

    let tansu = crate::tansu::TansuBroker::memory().unwrap();
    let ca = TestCa::new("strict test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let layer = StrictKafka::start_behind(
        FrontConfig::new(tansu.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("u", "pw")],
                &[FrontMechanism::ScramSha512],
            )),
        StrictRules::default(),
    )
    .unwrap();
    let mut config = ClientConfig::new([layer.bootstrap()]);
    config.connection.tls = Some(TlsConfig {
        ca_pem: Some(ca.cert_pem()),
        ..TlsConfig::default()
    });
    config.connection.sasl = Some(Arc::new(SaslCredentials {
        mechanism: SaslMechanism::ScramSha512,
        username: "u".into(),
        password: "pw".into(),
    }));
    let client = Client::connect(config).await.unwrap();
    Admin::new(client.clone())
        .create_topics(
            &[NewTopic::new("secure", 1, 1).with_config("max.message.bytes", "500")],
            false,
        )
        .await
        .unwrap();
    let producer = Producer::new(client, ProducerConfig::default())
        .await
        .unwrap();
    let big = ProducerRecord {
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from(vec![3u8; 1000])),
        ..ProducerRecord::default()
    };
    let err = producer
        .send("secure", 0, big)
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err.0), ResponseError::MessageTooLarge.code());
    assert_eq!(layer.refusals().count(Rule::MessageTooLarge), 1);
}

#[test]
fn produce_to_an_unknown_topic_or_partition_is_refused_and_creates_nothing() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    let one = || batch(&[(0, Some(b"k"), b"v", now_ms())], Compression::None, PLAIN);
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    let r = produce(&addr, None, "nowhere", &[(0, one())]);
    assert_eq!(outcome(&r), vec![(0, unknown, -1)]);
    create_raw(&addr, "two", 2);
    let r = produce(&addr, None, "two", &[(1, one()), (2, one())]);
    assert_eq!(outcome(&r), vec![(1, 0, 0), (2, unknown, -1)]);
    assert!(stored(&broker.raw_addr(), "nowhere", 0).is_empty());
    assert_eq!(broker.refusals().count(Rule::UnknownTopicOrPartition), 2);
}

#[tokio::test]
async fn our_producers_full_batches_fit_kafkas_default_max_message_bytes() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create(&addr, "full", 1, &[]).await;
    let config = ProducerConfig {
        linger: Duration::from_millis(500),
        ..ProducerConfig::default()
    };
    let producer = Producer::new(
        Client::connect(ClientConfig::new([addr])).await.unwrap(),
        config,
    )
    .await
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..3000u32 {
        let record = ProducerRecord {
            key: Some(Bytes::from(i.to_be_bytes().to_vec())),
            value: Some(Bytes::from(vec![(i % 251) as u8; 1000])),
            ..ProducerRecord::default()
        };
        deliveries.push(producer.send("full", 0, record).await.unwrap());
    }
    let mut offsets = Vec::new();
    for d in deliveries {
        offsets.push(d.await.map(|m| m.offset).map_err(|e| format!("{e}")));
    }
    let refused: Vec<&String> = offsets.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        refused.is_empty(),
        "{} refused, first: {:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!(
        offsets.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        (0..3000).collect::<Vec<i64>>()
    );
    // The batches really were near the limit: 3 MB in at most a handful of batches.
    let stored = wire_batches(&stored(&broker.raw_addr(), "full", 0));
    assert!(stored.len() <= 4, "{} batches", stored.len());
    let largest = stored.iter().map(|b| b.batch_length() + 12).max().unwrap();
    assert!(
        (900_000..=1_048_588).contains(&largest),
        "largest batch {largest} bytes"
    );
    assert_eq!(broker.refusals().total_refused(), 0);
}

#[test]
fn acks_zero_produce_gets_no_answer_and_the_connection_stays_in_step() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create_raw(&addr, "fire", 1);
    create_raw(&addr, "small", 1);
    let ts = now_ms();
    let mut conn = RawConnection::connect(&addr, IO_TIMEOUT).unwrap();
    let acks0 = ProduceRequest::default()
        .with_acks(0)
        .with_timeout_ms(5000)
        .with_topic_data(
            ["fire", "nowhere"]
                .into_iter()
                .map(|t| {
                    TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str(t)))
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch(
                                &[(0, Some(b"k"), b"v", ts)],
                                Compression::None,
                                PLAIN,
                            )))])
                })
                .collect(),
        );
    conn.send(9, &acks0).unwrap();
    // The next answer on the connection is the next request's.
    let metadata = conn
        .call(
            9,
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
        )
        .unwrap();
    assert!(metadata
        .topics
        .iter()
        .any(|t| t.name.as_ref().map(|n| n.as_str()) == Some("fire")));
    // The passing partition was written; the unknown one was refused (and counted).
    assert_eq!(
        wire_batches(&stored(&broker.raw_addr(), "fire", 0)).len(),
        1
    );
    assert_eq!(broker.refusals().count(Rule::UnknownTopicOrPartition), 1);
}
