//! Broker quotas (KIP-219): a response carrying `throttle_time_ms` is answered at once, and the
//! client must send nothing more to that broker until the throttle has passed. Against the fake
//! broker, which can ask for a throttle on demand (Tansu never throttles).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    FetchResponse, InitProducerIdResponse, ProduceResponse, ProducerId, RequestKind, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig, RetryPolicy};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

/// Long enough that scheduling noise on a busy machine cannot fake it.
const THROTTLE_MS: i32 = 1500;

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str("events"))
}

fn options() -> FakeBrokerOptions {
    FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", 1)],
        ..FakeBrokerOptions::default()
    }
}

async fn client_for(broker: &FakeBroker) -> Client {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    Client::connect(config).await.unwrap()
}

/// When each request of one kind reached the broker, and the throttle its answer asked for:
/// the first answer asks for [`THROTTLE_MS`], later ones for none.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Arrivals {
    fn arrive(&self) -> i32 {
        let mut seen = self.0.lock().unwrap();
        seen.push(Instant::now());
        if seen.len() == 1 {
            THROTTLE_MS
        } else {
            0
        }
    }

    fn gaps(&self) -> Vec<Duration> {
        let seen = self.0.lock().unwrap();
        seen.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

#[tokio::test]
async fn a_throttled_fetch_holds_the_next_request_back_and_is_reported() {
    let arrivals = Arrivals::default();
    let broker = {
        let arrivals = arrivals.clone();
        FakeBroker::start_with(options(), move |_, request| match request {
            RequestKind::Fetch(_) => FakeReply::Respond(ResponseKind::Fetch(
                FetchResponse::default()
                    .with_throttle_time_ms(arrivals.arrive())
                    .with_responses(vec![FetchableTopicResponse::default()
                        .with_topic(topic_name())
                        .with_partitions(vec![PartitionData::default()
                            .with_partition_index(0)
                            .with_high_watermark(0)
                            .with_records(Some(Bytes::new()))])]),
            )),
            _ => FakeReply::Default,
        })
        .unwrap()
    };
    let fetcher = Fetcher::new(client_for(&broker).await, FetchConfig::default());
    let position = FetchPosition {
        topic: "events".into(),
        partition: 0,
        offset: 0,
    };
    for _ in 0..3 {
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(&position))
            .await
            .pop()
            .unwrap();
        result.unwrap();
    }
    let gaps = arrivals.gaps();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps[0] >= Duration::from_millis(THROTTLE_MS as u64),
        "the fetch after the throttled one came after {:?}",
        gaps[0]
    );
    assert!(
        gaps[1] < Duration::from_millis(THROTTLE_MS as u64 / 2),
        "no throttle was asked for the second fetch, yet the third came after {:?}",
        gaps[1]
    );
    assert_eq!(fetcher.client().take_throttle_ms(), THROTTLE_MS as u64);
    assert_eq!(fetcher.client().take_throttle_ms(), 0, "taking resets it");
}

#[tokio::test]
async fn a_throttled_produce_holds_the_next_request_back_and_is_reported() {
    let arrivals = Arrivals::default();
    let broker = {
        let arrivals = arrivals.clone();
        let next_offset = Arc::new(Mutex::new(0i64));
        FakeBroker::start_with(options(), move |_, request| match request {
            RequestKind::InitProducerId(_) => FakeReply::Respond(ResponseKind::InitProducerId(
                InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(7))
                    .with_producer_epoch(0),
            )),
            RequestKind::Produce(_) => {
                let mut next = next_offset.lock().unwrap();
                let base = *next;
                *next += 1;
                FakeReply::Respond(ResponseKind::Produce(
                    ProduceResponse::default()
                        .with_throttle_time_ms(arrivals.arrive())
                        .with_responses(vec![TopicProduceResponse::default()
                            .with_name(topic_name())
                            .with_partition_responses(vec![PartitionProduceResponse::default()
                                .with_index(0)
                                .with_base_offset(base)])]),
                ))
            }
            _ => FakeReply::Default,
        })
        .unwrap()
    };
    let client = client_for(&broker).await;
    let producer = Producer::new(client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut offsets = Vec::new();
    for i in 0..3 {
        let record = ProducerRecord {
            key: None,
            value: Some(Bytes::from(format!("v{i}"))),
            headers: Vec::new(),
            timestamp: Some(1_700_000_000_000 + i),
        };
        let delivery = producer.send("events", 0, record).await.unwrap();
        offsets.push(delivery.await.unwrap().offset);
    }
    assert_eq!(offsets, vec![0, 1, 2]);
    let gaps = arrivals.gaps();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps[0] >= Duration::from_millis(THROTTLE_MS as u64),
        "the produce after the throttled one came after {:?}",
        gaps[0]
    );
    assert!(
        gaps[1] < Duration::from_millis(THROTTLE_MS as u64 / 2),
        "no throttle was asked for the second produce, yet the third came after {:?}",
        gaps[1]
    );
    // The producer writes through its client, which keeps the throttle (what replicate reads).
    assert_eq!(client.take_throttle_ms(), THROTTLE_MS as u64);
}
