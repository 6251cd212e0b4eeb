//! A partition's leader moves to another broker (Tansu runs one node, so two fake brokers play
//! the cluster): the old leader answers NOT_LEADER_OR_FOLLOWER, the client re-reads metadata
//! and continues on the new leader — the producer with the same sequence numbers (no record
//! written twice, none skipped), the fetcher at the same offset.

use std::sync::atomic::{AtomicI32, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    BrokerId, FetchResponse, InitProducerIdResponse, MetadataResponse, ProduceResponse, ProducerId,
    RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_codec::{Compression, RecordBatchBuilder, RecordSet};
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const NOT_LEADER_OR_FOLLOWER: i16 = 6;

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str("events"))
}

/// The two-node cluster both fake brokers describe: which node leads `events`-0, and where the
/// nodes listen.
#[derive(Clone, Default)]
struct Cluster {
    leader: Arc<AtomicI32>,
    ports: Arc<[AtomicU16; 2]>,
    /// The log of `events`-0 on whichever node leads (values, in offset order).
    log: Arc<Mutex<Vec<Bytes>>>,
}

impl Cluster {
    fn metadata(&self) -> MetadataResponse {
        let leader = BrokerId(self.leader.load(Ordering::SeqCst));
        let brokers = (1..=2)
            .map(|node| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(node))
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(i32::from(
                        self.ports[node as usize - 1].load(Ordering::SeqCst),
                    ))
            })
            .collect();
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(StrBytes::from_static_str("moving")))
            .with_controller_id(BrokerId(1))
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(topic_name()))
                .with_partitions(vec![MetadataResponsePartition::default()
                    .with_partition_index(0)
                    .with_leader_id(leader)
                    .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                    .with_isr_nodes(vec![BrokerId(1), BrokerId(2)])])])
    }

    /// Node `node`'s answers: metadata as above; Produce and Fetch served only while it leads.
    fn handler(
        &self,
        node: i32,
    ) -> impl Fn(&kafka_protocol::messages::RequestHeader, RequestKind) -> FakeReply {
        let cluster = self.clone();
        move |_, request| {
            let leads = cluster.leader.load(Ordering::SeqCst) == node;
            match request {
                RequestKind::Metadata(_) => {
                    FakeReply::Respond(ResponseKind::Metadata(cluster.metadata()))
                }
                RequestKind::InitProducerId(_) => FakeReply::Respond(ResponseKind::InitProducerId(
                    InitProducerIdResponse::default()
                        .with_producer_id(ProducerId(9))
                        .with_producer_epoch(0),
                )),
                RequestKind::Produce(request) => {
                    let mut partition = PartitionProduceResponse::default().with_index(0);
                    if leads {
                        let mut log = cluster.log.lock().unwrap();
                        partition = partition.with_base_offset(log.len() as i64);
                        let records = request.topic_data[0].partition_data[0]
                            .records
                            .clone()
                            .unwrap();
                        for batch in RecordSet::new(records).batches() {
                            for record in batch.unwrap().records().unwrap() {
                                log.push(record.value.unwrap());
                            }
                        }
                    } else {
                        partition = partition.with_error_code(NOT_LEADER_OR_FOLLOWER);
                    }
                    FakeReply::Respond(ResponseKind::Produce(
                        ProduceResponse::default().with_responses(vec![
                            TopicProduceResponse::default()
                                .with_name(topic_name())
                                .with_partition_responses(vec![partition]),
                        ]),
                    ))
                }
                RequestKind::Fetch(request) => {
                    let offset = request.topics[0].partitions[0].fetch_offset;
                    let mut partition = PartitionData::default().with_partition_index(0);
                    if leads {
                        let log = cluster.log.lock().unwrap();
                        let mut batch = RecordBatchBuilder::new(Compression::None);
                        batch.base_offset(offset);
                        for value in log.iter().skip(offset as usize) {
                            batch.push(0, None, Some(&value[..]), &[]).unwrap();
                        }
                        partition = partition
                            .with_high_watermark(log.len() as i64)
                            .with_records(Some(batch.build().unwrap_or_default()));
                    } else {
                        partition = partition.with_error_code(NOT_LEADER_OR_FOLLOWER);
                    }
                    FakeReply::Respond(ResponseKind::Fetch(
                        FetchResponse::default().with_responses(vec![
                            FetchableTopicResponse::default()
                                .with_topic(topic_name())
                                .with_partitions(vec![partition]),
                        ]),
                    ))
                }
                _ => FakeReply::Default,
            }
        }
    }

    fn start(&self) -> [FakeBroker; 2] {
        self.leader.store(1, Ordering::SeqCst);
        let start = |node: i32| {
            let options = FakeBrokerOptions {
                node_id: node,
                topics: vec![FakeTopic::new("events", 1)],
                ..FakeBrokerOptions::default()
            };
            let broker = FakeBroker::start_with(options, self.handler(node)).unwrap();
            self.ports[node as usize - 1].store(broker.port(), Ordering::SeqCst);
            broker
        };
        [start(1), start(2)]
    }
}

async fn client(broker: &FakeBroker) -> Client {
    Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .unwrap()
}

fn record(value: &str) -> ProducerRecord {
    ProducerRecord {
        key: None,
        value: Some(Bytes::from(value.to_string())),
        headers: Vec::new(),
        timestamp: Some(1_700_000_000_000),
    }
}

/// Base sequences of the Produce batches `broker` received, in arrival order.
fn sequences(broker: &FakeBroker) -> Vec<i32> {
    broker
        .requests()
        .into_iter()
        .filter_map(|r| match r.request {
            Some(RequestKind::Produce(p)) => p.topic_data[0].partition_data[0].records.clone(),
            _ => None,
        })
        .flat_map(|records| {
            RecordSet::new(records)
                .batches()
                .map(|b| b.unwrap().as_v2().unwrap().base_sequence())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producer_follows_a_moved_leader_with_the_same_sequence_numbers() {
    let cluster = Cluster::default();
    let [one, two] = cluster.start();
    let producer = Producer::new(client(&one).await, ProducerConfig::default())
        .await
        .unwrap();
    let first = producer.send("events", 0, record("a")).await.unwrap();
    assert_eq!(first.await.unwrap().offset, 0);

    cluster.leader.store(2, Ordering::SeqCst);
    let second = producer.send("events", 0, record("b")).await.unwrap();
    assert_eq!(second.await.unwrap().offset, 1);

    let log = cluster.log.lock().unwrap().clone();
    assert_eq!(log, vec![Bytes::from("a"), Bytes::from("b")]);
    // Node 1 took "a" (sequence 0) and refused "b" (sequence 1); node 2 took "b" with the
    // same sequence 1: a retry, not a new record.
    assert_eq!(sequences(&one), vec![0, 1]);
    assert_eq!(sequences(&two), vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetcher_reports_a_moved_leader_and_the_next_fetch_reads_the_new_one() {
    let cluster = Cluster::default();
    let [one, two] = cluster.start();
    cluster
        .log
        .lock()
        .unwrap()
        .extend(["a", "b", "c"].map(Bytes::from));
    let mut config = ClientConfig::new([one.addr()]);
    config.retry = RetryPolicy::no_retry();
    let fetcher = Fetcher::new(
        Client::connect(config).await.unwrap(),
        FetchConfig::default(),
    );
    let position = FetchPosition {
        topic: "events".into(),
        partition: 0,
        offset: 1,
    };
    let fetch = || async {
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(&position))
            .await
            .pop()
            .unwrap();
        result
    };
    let (records, _) = fetch().await.unwrap().records().unwrap();
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![1, 2]);

    cluster.leader.store(2, Ordering::SeqCst);
    match fetch().await {
        Err(Error::Broker(e)) => {
            assert_eq!(e.code, NOT_LEADER_OR_FOLLOWER, "{e}");
            let text = e.to_string();
            assert!(text.contains("events-0"), "{text}");
        }
        other => panic!("expected NOT_LEADER_OR_FOLLOWER, got {other:?}"),
    }
    let fetched = fetch().await.unwrap();
    let values: Vec<Bytes> = RecordSet::new(fetched.raw.clone())
        .batches()
        .flat_map(|b| b.unwrap().records().unwrap())
        .filter(|r| r.offset >= 1)
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values, vec![Bytes::from("b"), Bytes::from("c")]);
    let fetches_on_two = two.requests_for(kafka_protocol::messages::ApiKey::Fetch);
    assert_eq!(fetches_on_two.len(), 1, "the retry went to the new leader");
}
