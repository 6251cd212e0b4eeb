//! A fetch answered without records although the offset is below the partition's end is not
//! the end of the partition (Tansu 0.6 on s3 storage answers a good share of 10 ms fetches so,
//! more after a restart): `scan_partition` and the producer's duplicate lookup ask again, and
//! an offset that never yields records is an error naming it, never a silent end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, FetchResponse, InitProducerIdResponse, ListOffsetsResponse, ProduceResponse,
    ProducerId, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_codec::{Compression, RecordBatchBuilder};
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig, RetryPolicy};
use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const PRODUCER_ID: i64 = 77;

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str("events"))
}

fn options() -> FakeBrokerOptions {
    FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", 1)],
        ..FakeBrokerOptions::default()
    }
}

/// Three records at offsets 0..=2, written by producer 77 epoch 0 from sequence 0.
fn batch() -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.base_offset(0).producer(PRODUCER_ID, 0, 0);
    for i in 0..3 {
        b.push(1000 + i, None, Some(format!("v{i}").as_bytes()), &[])
            .unwrap();
    }
    b.build().unwrap()
}

fn fetch_answer(records: Option<Bytes>, high_watermark: i64, last_stable: i64) -> FakeReply {
    FakeReply::Respond(ResponseKind::Fetch(
        FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_topic(topic_name())
            .with_partitions(vec![PartitionData::default()
                .with_partition_index(0)
                .with_high_watermark(high_watermark)
                .with_last_stable_offset(last_stable)
                .with_records(records)])]),
    ))
}

/// A broker whose partition `events-0` holds [`batch`] (high watermark 3), but whose first
/// `empty` fetches come back without records.
fn broker_empty_first(empty: usize) -> FakeBroker {
    let fetches = Arc::new(AtomicUsize::new(0));
    FakeBroker::start_with(options(), move |_, request| match request {
        RequestKind::Fetch(_) => {
            if fetches.fetch_add(1, Ordering::SeqCst) < empty {
                fetch_answer(None, 3, 3)
            } else {
                fetch_answer(Some(batch()), 3, 3)
            }
        }
        _ => FakeReply::Default,
    })
    .unwrap()
}

async fn client(broker: &FakeBroker) -> Client {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(3);
    Client::connect(config).await.unwrap()
}

/// `max_wait_ms` of every Fetch the broker received, in order.
fn fetch_waits(broker: &FakeBroker) -> Vec<i32> {
    broker
        .requests_for(ApiKey::Fetch)
        .into_iter()
        .map(|r| match r.request {
            Some(RequestKind::Fetch(f)) => f.max_wait_ms,
            other => panic!("not a fetch: {other:?}"),
        })
        .collect()
}

async fn scan_offsets(client: &Client, isolation: IsolationLevel) -> Result<Vec<i64>, String> {
    let mut offsets = Vec::new();
    scan_partition(client, "events", 0, 0, None, isolation, |r| {
        offsets.push(r.offset);
        std::ops::ControlFlow::Continue(())
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(offsets)
}

#[tokio::test]
async fn an_empty_answer_below_the_high_watermark_is_asked_again_with_a_longer_wait() {
    let broker = broker_empty_first(2);
    let client = client(&broker).await;
    let offsets = scan_offsets(&client, IsolationLevel::ReadUncommitted)
        .await
        .unwrap();
    assert_eq!(offsets, vec![0, 1, 2]);
    // Two empty answers, the records, then one fetch at the end (3) that ends the scan.
    assert_eq!(fetch_waits(&broker), vec![10, 40, 160, 10]);
}

#[tokio::test]
async fn an_offset_that_never_yields_records_below_the_end_is_an_error_naming_it() {
    let broker = broker_empty_first(usize::MAX);
    let client = client(&broker).await;
    let error = scan_offsets(&client, IsolationLevel::ReadUncommitted)
        .await
        .unwrap_err();
    assert!(
        error.contains("events-0 at offset 0") && error.contains("ends at 3"),
        "{error}"
    );
    assert_eq!(
        fetch_waits(&broker),
        vec![10, 40, 160, 640, 1000, 1000, 1000, 1000]
    );
}

#[tokio::test]
async fn an_empty_answer_at_the_end_ends_the_scan_after_one_fetch() {
    // read_committed: an open transaction holds the last stable offset at 0 below the high
    // watermark 3; the end for this reader is 0.
    let broker = FakeBroker::start_with(options(), |_, request| match request {
        RequestKind::Fetch(_) => fetch_answer(None, 3, 0),
        _ => FakeReply::Default,
    })
    .unwrap();
    let client = client(&broker).await;
    let offsets = scan_offsets(&client, IsolationLevel::ReadCommitted)
        .await
        .unwrap();
    assert_eq!(offsets, Vec::<i64>::new());
    assert_eq!(fetch_waits(&broker), vec![10]);
}

/// A broker that answers every Produce DUPLICATE_SEQUENCE_NUMBER without an offset (as Tansu
/// does for a retry of a batch it already counted), holds [`batch`] in `events-0`, and answers
/// the first `empty` fetches without records.
fn duplicate_broker(empty: usize) -> FakeBroker {
    let fetches = Arc::new(AtomicUsize::new(0));
    FakeBroker::start_with(options(), move |_, request| match request {
        RequestKind::InitProducerId(_) => FakeReply::Respond(ResponseKind::InitProducerId(
            InitProducerIdResponse::default()
                .with_producer_id(ProducerId(PRODUCER_ID))
                .with_producer_epoch(0),
        )),
        RequestKind::Produce(_) => FakeReply::Respond(ResponseKind::Produce(
            ProduceResponse::default().with_responses(vec![TopicProduceResponse::default()
                .with_name(topic_name())
                .with_partition_responses(vec![PartitionProduceResponse::default()
                    .with_index(0)
                    .with_error_code(46)
                    .with_base_offset(-1)])]),
        )),
        // The lookup starts at the log start: nothing was acknowledged yet.
        RequestKind::ListOffsets(_) => FakeReply::Respond(ResponseKind::ListOffsets(
            ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
                .with_name(topic_name())
                .with_partitions(vec![ListOffsetsPartitionResponse::default()
                    .with_partition_index(0)
                    .with_offset(0)])]),
        )),
        RequestKind::Fetch(_) => {
            if fetches.fetch_add(1, Ordering::SeqCst) < empty {
                fetch_answer(None, 3, 3)
            } else {
                fetch_answer(Some(batch()), 3, 3)
            }
        }
        _ => FakeReply::Default,
    })
    .unwrap()
}

/// Sends one record through a fresh producer; its delivery (bounded).
async fn produce_one(
    broker: &FakeBroker,
) -> Result<kreplicate_wire::producer::RecordMetadata, String> {
    let producer = Producer::new(
        client(broker).await,
        ProducerConfig {
            linger: Duration::from_millis(1),
            ..ProducerConfig::default()
        },
    )
    .await
    .unwrap();
    let record = ProducerRecord {
        value: Some(Bytes::from_static(b"v0")),
        ..ProducerRecord::default()
    };
    let delivery = producer.send("events", 0, record).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), delivery)
        .await
        .expect("delivery resolved within 20 s")
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_duplicate_batch_is_found_in_the_log_behind_an_empty_answer() {
    let broker = duplicate_broker(1);
    let meta = produce_one(&broker)
        .await
        .expect("the batch was found in the log");
    assert_eq!((meta.partition, meta.offset), (0, 0));
    assert_eq!(fetch_waits(&broker), vec![10, 40]);
}

#[tokio::test]
async fn a_duplicate_the_log_never_shows_fails_after_the_longest_wait() {
    // Tansu killed mid-write: the high watermark counts the batch, the batch is missing, and
    // the retry is refused as a duplicate. The batch is reported failed, not retried forever.
    let broker = duplicate_broker(usize::MAX);
    let error = produce_one(&broker).await.unwrap_err();
    assert!(error.contains("DuplicateSequenceNumber"), "{error}");
    assert_eq!(
        fetch_waits(&broker),
        vec![10, 40, 160, 640, 1000, 1000, 1000, 1000]
    );
}
