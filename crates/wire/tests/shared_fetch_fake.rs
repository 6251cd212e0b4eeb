//! `SharedFetcher` against fake brokers: single-partition fetches of many callers go out as one
//! Fetch request per leader with at most one in flight per leader, a slow broker does not hold
//! up another, errors reach only their partition's caller, and duplicate or cancelled fetches
//! are handled. The fake broker records every request, so the tests count requests and the
//! partitions each carried exactly.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, MetadataResponse, RequestKind, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{
    FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic, RecordedRequest,
};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::codec::{Compression, RecordBatchBuilder};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, FetchedPartition, SharedFetcher};

/// Records every fetch returns, from the fetch offset on.
const RECORDS: i64 = 2;
/// Kafka's NOT_LEADER_OR_FOLLOWER.
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
/// How long a broker holds its first Fetch: long enough for every caller a test starts
/// meanwhile to queue behind it.
const HOLD: Duration = Duration::from_millis(400);
/// How long the many-callers test's broker holds its other Fetches: long enough for a caller
/// to send its next fetch before the request after the one it was answered by completes.
const NEXT_HOLD: Duration = Duration::from_millis(100);

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// The value of the record at `offset` of `topic`-`partition` on every fake broker here.
fn value(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}-{partition}@{offset}")
}

fn position(topic: &str, partition: i32, offset: i64) -> FetchPosition {
    FetchPosition {
        topic: topic.into(),
        partition,
        offset,
    }
}

/// Answers every partition of `request` with [`RECORDS`] records from its fetch offset, or
/// with the error code `error` gives it (0: none).
fn answer(request: &FetchRequest, error: impl Fn(&str, i32) -> i16) -> ResponseKind {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let topic = t.topic.0.as_str();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let data = PartitionData::default().with_partition_index(p.partition);
                    let code = error(topic, p.partition);
                    if code != 0 {
                        return data.with_error_code(code);
                    }
                    let offset = p.fetch_offset;
                    let mut batch = RecordBatchBuilder::new(Compression::None);
                    batch.base_offset(offset);
                    for o in offset..offset + RECORDS {
                        let v = value(topic, p.partition, o);
                        batch.push(0, None, Some(v.as_bytes()), &[]).unwrap();
                    }
                    data.with_high_watermark(offset + RECORDS)
                        .with_last_stable_offset(offset + RECORDS)
                        .with_records(Some(batch.build().unwrap()))
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::Fetch(FetchResponse::default().with_responses(topics))
}

/// A one-node fake broker with `events` (`partitions` partitions) whose Fetch answers come from
/// [`answer`] with `error`, the first held for `first`, the others for `rest`.
fn broker(
    partitions: i32,
    first: Duration,
    rest: Duration,
    error: impl Fn(&str, i32) -> i16 + Send + Sync + 'static,
) -> FakeBroker {
    let options = FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", partitions)],
        ..FakeBrokerOptions::default()
    };
    let answered = AtomicBool::new(false);
    FakeBroker::start_with(options, move |_, request| match request {
        RequestKind::Fetch(r) => {
            let reply = FakeReply::Respond(answer(&r, &error));
            let hold = if answered.swap(true, Ordering::SeqCst) {
                rest
            } else {
                first
            };
            if hold.is_zero() {
                reply
            } else {
                FakeReply::Delay(hold, Box::new(reply))
            }
        }
        _ => FakeReply::Default,
    })
    .unwrap()
}

async fn shared_fetcher(bootstrap: &str) -> SharedFetcher {
    let mut config = ClientConfig::new([bootstrap]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(5);
    let client = Client::connect(config).await.unwrap();
    SharedFetcher::new(kreplicate_wire::fetcher::Fetcher::new(
        client,
        FetchConfig::default(),
    ))
}

/// `(topic, partition, fetch offset)` of every partition a recorded Fetch request carried.
fn carried(request: &RecordedRequest) -> Vec<(String, i32, i64)> {
    let Some(RequestKind::Fetch(r)) = &request.request else {
        panic!("not a decoded Fetch request: {request:?}");
    };
    r.topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic.0.to_string(), p.partition, p.fetch_offset))
        })
        .collect()
}

fn fetches(broker: &FakeBroker) -> Vec<Vec<(String, i32, i64)>> {
    broker
        .requests_for(ApiKey::Fetch)
        .iter()
        .map(carried)
        .collect()
}

/// Waits (bounded) until `broker` has received `n` Fetch requests.
async fn wait_for_fetches(broker: &FakeBroker, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while broker.requests_for(ApiKey::Fetch).len() < n {
        assert!(
            Instant::now() < deadline,
            "the broker received {} Fetch requests, not {n}",
            broker.requests_for(ApiKey::Fetch).len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Asserts `fetched` holds exactly the records [`answer`] gives `topic`-`partition` from
/// `offset`; returns the next offset.
fn check(fetched: &FetchedPartition, topic: &str, partition: i32, offset: i64) -> i64 {
    assert_eq!(
        (
            fetched.topic.as_str(),
            fetched.partition,
            fetched.fetch_offset
        ),
        (topic, partition, offset)
    );
    assert_eq!(fetched.high_watermark, offset + RECORDS);
    let (records, next) = fetched.records().unwrap();
    let got: Vec<(i64, String)> = records
        .iter()
        .map(|r| {
            let v = r.value.as_ref().unwrap();
            (r.offset, String::from_utf8(v.to_vec()).unwrap())
        })
        .collect();
    let want: Vec<(i64, String)> = (offset..offset + RECORDS)
        .map(|o| (o, value(topic, partition, o)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(next, offset + RECORDS);
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_callers_fetching_three_times_share_a_few_requests() {
    let broker = broker(12, HOLD, NEXT_HOLD, |_, _| 0);
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let callers: Vec<_> = (0..12)
        .map(|partition| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut offset = 0;
                for _ in 0..3 {
                    let fetched = shared
                        .fetch(position("events", partition, offset))
                        .await
                        .unwrap();
                    offset = check(&fetched, "events", partition, offset);
                }
                offset
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), 3 * RECORDS);
    }

    let requests = fetches(&broker);
    // Every fetch went out exactly once, at its offset.
    let mut sent: Vec<_> = requests.concat();
    sent.sort();
    let mut want: Vec<_> = (0..12)
        .flat_map(|p| (0..3).map(move |i| ("events".to_string(), p, i * RECORDS)))
        .collect();
    want.sort();
    assert_eq!(sent, want);
    // The first request is held while all 12 first fetches arrive, so they go out in the first
    // two requests, one of which carries at least 6. A caller answered by request n sends its
    // next fetch while request n + 1 (if any) is held, so it joins request n + 1 or n + 2: the
    // third fetches are all out by the sixth request (36 without batching). Without a linger
    // the callers answered by the first request stay a request apart from the others, so 6 is
    // also what it usually takes.
    assert!(
        requests.len() <= 6,
        "{} Fetch requests: {requests:?}",
        requests.len()
    );
    let widest = requests.iter().map(Vec::len).max().unwrap_or(0);
    assert!(widest >= 6, "widest request: {widest} partitions");
}

/// Two nodes: node 1 leads `slow` (2 partitions) and holds every Fetch for 2 s, node 2 leads
/// `fast` (4 partitions) and answers at once.
struct TwoNodes {
    ports: Arc<[AtomicU16; 2]>,
}

impl TwoNodes {
    fn metadata(&self) -> MetadataResponse {
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
        let topic = |topic: &str, leader: i32, partitions: i32| {
            MetadataResponseTopic::default()
                .with_name(Some(name(topic)))
                .with_partitions(
                    (0..partitions)
                        .map(|p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p)
                                .with_leader_id(BrokerId(leader))
                                .with_replica_nodes(vec![BrokerId(leader)])
                                .with_isr_nodes(vec![BrokerId(leader)])
                        })
                        .collect(),
                )
        };
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(StrBytes::from_static_str("two-nodes")))
            .with_controller_id(BrokerId(2))
            .with_topics(vec![topic("slow", 1, 2), topic("fast", 2, 4)])
    }

    fn start() -> [FakeBroker; 2] {
        let cluster = Arc::new(TwoNodes {
            ports: Arc::new([AtomicU16::new(0), AtomicU16::new(0)]),
        });
        let start = |node: i32| {
            let options = FakeBrokerOptions {
                node_id: node,
                ..FakeBrokerOptions::default()
            };
            let c = cluster.clone();
            let broker = FakeBroker::start_with(options, move |_, request| match request {
                RequestKind::Metadata(_) => {
                    FakeReply::Respond(ResponseKind::Metadata(c.metadata()))
                }
                RequestKind::Fetch(r) if node == 1 => FakeReply::Delay(
                    Duration::from_secs(2),
                    Box::new(FakeReply::Respond(answer(&r, |_, _| 0))),
                ),
                RequestKind::Fetch(r) => FakeReply::Respond(answer(&r, |_, _| 0)),
                _ => FakeReply::Default,
            })
            .unwrap();
            cluster.ports[node as usize - 1].store(broker.port(), Ordering::SeqCst);
            broker
        };
        [start(1), start(2)]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_polling_broker_does_not_delay_another() {
    let [slow, fast] = TwoNodes::start();
    // Metadata from the fast node, so no metadata request queues behind a held Fetch.
    let shared = shared_fetcher(&fast.addr()).await;
    let client = shared.fetcher().client();
    assert_eq!(client.leader_id("slow", 0).await.unwrap(), 1);
    assert_eq!(client.leader_id("fast", 0).await.unwrap(), 2);

    let started = Instant::now();
    let slow_0 = tokio::spawn({
        let shared = shared.clone();
        async move { shared.fetch(position("slow", 0, 0)).await }
    });
    wait_for_fetches(&slow, 1).await;
    // Waits for node 1's next request, after the held one.
    let slow_1 = tokio::spawn({
        let shared = shared.clone();
        async move { shared.fetch(position("slow", 1, 7)).await }
    });
    let callers: Vec<_> = (0..4)
        .map(|partition| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut offset = 0;
                for _ in 0..3 {
                    let fetched = shared
                        .fetch(position("fast", partition, offset))
                        .await
                        .unwrap();
                    offset = check(&fetched, "fast", partition, offset);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let fast_done = started.elapsed();
    assert!(
        fast_done < Duration::from_secs(1),
        "the fast node's fetches took {fast_done:?} while node 1 held its Fetch for 2 s"
    );
    assert!(!slow_0.is_finished() && !slow_1.is_finished());
    assert_eq!(fetches(&slow), vec![vec![("slow".to_string(), 0, 0)]]);
    assert_eq!(fetches(&fast).concat().len(), 12);

    check(&slow_0.await.unwrap().unwrap(), "slow", 0, 0);
    check(&slow_1.await.unwrap().unwrap(), "slow", 1, 7);
    assert_eq!(
        fetches(&slow),
        vec![
            vec![("slow".to_string(), 0, 0)],
            vec![("slow".to_string(), 1, 7)]
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_only_their_partition_the_others_in_the_request_succeed() {
    let broker = broker(3, HOLD, Duration::ZERO, |_, partition| {
        if partition == 1 {
            NOT_LEADER_OR_FOLLOWER
        } else {
            0
        }
    });
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let fetch = |topic: &'static str, partition: i32| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.fetch(position(topic, partition, 3)).await })
    };
    let held = fetch("events", 0);
    wait_for_fetches(&broker, 1).await;
    let failing = fetch("events", 1);
    let fine = fetch("events", 2);
    let no_partition = fetch("events", 7);
    let no_topic = fetch("missing", 0);

    check(&held.await.unwrap().unwrap(), "events", 0, 3);
    check(&fine.await.unwrap().unwrap(), "events", 2, 3);
    match failing.await.unwrap() {
        Err(Error::Broker(e)) => {
            assert_eq!(e.code, NOT_LEADER_OR_FOLLOWER);
            assert_eq!((e.topic.as_deref(), e.partition), (Some("events"), Some(1)));
        }
        other => panic!("expected NOT_LEADER_OR_FOLLOWER for events-1, got {other:?}"),
    }
    match no_partition.await.unwrap() {
        Err(Error::UnknownPartition {
            topic,
            partition,
            partitions,
        }) => assert_eq!((topic.as_str(), partition, partitions), ("events", 7, 3)),
        other => panic!("expected UnknownPartition for events-7, got {other:?}"),
    }
    match no_topic.await.unwrap() {
        Err(Error::UnknownTopic { topic }) => assert_eq!(topic, "missing"),
        other => panic!("expected UnknownTopic for missing, got {other:?}"),
    }
    // The failing partition went out with the good one; the unknown ones never went out.
    let mut requests = fetches(&broker);
    requests.iter_mut().for_each(|r| r.sort());
    assert_eq!(
        requests,
        vec![
            vec![("events".to_string(), 0, 3)],
            vec![("events".to_string(), 1, 3), ("events".to_string(), 2, 3)],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_of_the_same_partition_waiting_together_are_all_answered() {
    let broker = broker(1, HOLD, Duration::ZERO, |_, _| 0);
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let fetch = |offset: i64| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.fetch(position("events", 0, offset)).await })
    };
    let held = fetch(0);
    wait_for_fetches(&broker, 1).await;
    let (a, b) = (fetch(5), fetch(9));
    check(&held.await.unwrap().unwrap(), "events", 0, 0);
    check(&a.await.unwrap().unwrap(), "events", 0, 5);
    check(&b.await.unwrap().unwrap(), "events", 0, 9);
    // Both waited behind the held request, and went out one per request.
    let requests = fetches(&broker);
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests.iter().all(|r| r.len() == 1), "{requests:?}");
    let mut offsets: Vec<i64> = requests.concat().iter().map(|&(_, _, o)| o).collect();
    offsets.sort();
    assert_eq!(offsets, vec![0, 5, 9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_fetch_is_left_out_and_breaks_nothing() {
    let broker = broker(3, HOLD, Duration::ZERO, |_, _| 0);
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let held = tokio::spawn({
        let shared = shared.clone();
        async move { shared.fetch(position("events", 0, 0)).await }
    });
    wait_for_fetches(&broker, 1).await;
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        shared.fetch(position("events", 1, 0)),
    )
    .await;
    assert!(cancelled.is_err(), "events-1 was answered within 50 ms");
    check(
        &shared.fetch(position("events", 2, 0)).await.unwrap(),
        "events",
        2,
        0,
    );
    check(&held.await.unwrap().unwrap(), "events", 0, 0);
    assert_eq!(
        fetches(&broker),
        vec![
            vec![("events".to_string(), 0, 0)],
            vec![("events".to_string(), 2, 0)]
        ]
    );
    // The partition of the cancelled fetch can be fetched again.
    check(
        &shared.fetch(position("events", 1, 0)).await.unwrap(),
        "events",
        1,
        0,
    );
}
