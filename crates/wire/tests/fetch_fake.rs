//! Fetch answers a real test broker cannot give on demand (Tansu 0.6 never returns
//! OFFSET_OUT_OF_RANGE), and malformed responses: against the scriptable fake broker.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{
    FetchResponse, ListOffsetsResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str("events"))
}

async fn fetcher_for(broker: &FakeBroker) -> Fetcher {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(3);
    Fetcher::new(
        Client::connect(config).await.unwrap(),
        FetchConfig::default(),
    )
}

fn options() -> FakeBrokerOptions {
    FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", 1)],
        ..FakeBrokerOptions::default()
    }
}

fn position(offset: i64) -> FetchPosition {
    FetchPosition {
        topic: "events".into(),
        partition: 0,
        offset,
    }
}

#[tokio::test]
async fn offset_out_of_range_is_typed_and_carries_the_valid_range() {
    let broker = FakeBroker::start_with(options(), |_, request| match request {
        RequestKind::Fetch(_) => FakeReply::Respond(ResponseKind::Fetch(
            FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
                .with_topic(topic_name())
                .with_partitions(vec![PartitionData::default()
                    .with_partition_index(0)
                    .with_error_code(1)])]),
        )),
        RequestKind::ListOffsets(r) => {
            let timestamp = r.topics[0].partitions[0].timestamp;
            let offset = if timestamp == -2 { 500 } else { 900 };
            FakeReply::Respond(ResponseKind::ListOffsets(
                ListOffsetsResponse::default().with_topics(vec![
                    ListOffsetsTopicResponse::default()
                        .with_name(topic_name())
                        .with_partitions(vec![ListOffsetsPartitionResponse::default()
                            .with_partition_index(0)
                            .with_offset(offset)]),
                ]),
            ))
        }
        _ => FakeReply::Default,
    })
    .unwrap();
    let fetcher = fetcher_for(&broker).await;
    let (_, result) = fetcher.fetch(&[position(42)]).await.pop().unwrap();
    match result {
        Err(Error::OffsetOutOfRange {
            topic,
            partition,
            offset,
            log_start_offset,
            high_watermark,
        }) => {
            assert_eq!((topic.as_str(), partition, offset), ("events", 0, 42));
            assert_eq!((log_start_offset, high_watermark), (500, 900));
        }
        other => panic!("expected OffsetOutOfRange, got {other:?}"),
    }
}

#[tokio::test]
async fn a_batch_with_a_bad_crc_is_an_error_naming_the_partition_never_skipped() {
    let mut batch = kreplicate_codec::RecordBatchBuilder::new(kreplicate_codec::Compression::None);
    batch.push(1, None, Some(b"payload"), &[]).unwrap();
    let mut bytes = batch.build().unwrap().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let bytes = Bytes::from(bytes);
    let broker = FakeBroker::start_with(options(), move |_, request| match request {
        RequestKind::Fetch(_) => FakeReply::Respond(ResponseKind::Fetch(
            FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
                .with_topic(topic_name())
                .with_partitions(vec![PartitionData::default()
                    .with_partition_index(0)
                    .with_high_watermark(1)
                    .with_records(Some(bytes.clone()))])]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let fetcher = fetcher_for(&broker).await;
    let (_, result) = fetcher.fetch(&[position(0)]).await.pop().unwrap();
    let err = result.unwrap().records().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("events-0"), "{text}");
    assert!(text.to_lowercase().contains("crc"), "{text}");
}

#[tokio::test]
async fn a_garbage_response_breaks_the_connection_with_a_clear_error_not_a_panic() {
    let broker = FakeBroker::start_with(options(), |_, request| match request {
        RequestKind::Fetch(_) => FakeReply::RespondRaw(Bytes::from_static(&[0xff; 3])),
        _ => FakeReply::Default,
    })
    .unwrap();
    let fetcher = fetcher_for(&broker).await;
    let (_, result) = fetcher.fetch(&[position(0)]).await.pop().unwrap();
    let text = result.unwrap_err().to_string();
    assert!(text.contains("Fetch"), "{text}");
    assert!(text.contains(&broker.addr()), "{text}");
}
