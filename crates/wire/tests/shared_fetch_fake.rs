//! `SharedFetcher` against fake brokers: single-partition fetches of many callers go out as one
//! Fetch request per leader with at most one in flight per leader, a slow broker does not hold
//! up another, errors reach only their partition's caller, and duplicate or cancelled fetches
//! are handled. Prefetching: busy partitions are not held up by caught-up ones' long polls,
//! caught-up ones are paced by the long poll and not starved, a caller that moves gets the
//! offset it asked for, one that stops claiming costs one buffered result, and a partition
//! left out of a response (empty below its high watermark) is not held back as caught up. The
//! fake broker records every request, so the tests count requests and the partitions each
//! carried exactly.

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
use kreplicate_codec::{Compression, RecordBatchBuilder};
use kreplicate_testkit::fake_broker::{
    FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic, RecordedRequest,
};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
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
/// How long a broker receives no Fetch before [`settle`] takes prefetching to be over: longer
/// than any hold or long poll here.
const QUIET: Duration = Duration::from_millis(800);
/// The long poll of the fake brokers that hold a Fetch with nothing to return (as Kafka holds
/// it for `max_wait`, 500 ms by default).
const LONG_POLL: Duration = Duration::from_millis(500);

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

/// How a fake broker answers one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// [`RECORDS`] records from the fetch offset.
    Records,
    /// No records: the partition is caught up.
    Empty,
    /// No records though the partition holds [`RECORDS`] from the fetch offset: left out of
    /// the response (Kafka, once the response's `max_bytes` is used up; Tansu 0.6, often).
    LeftOut,
    /// This error code.
    Error(i16),
}

/// The batch of [`RECORDS`] records from `offset` that [`Part::Records`] answers.
fn batch(topic: &str, partition: i32, offset: i64) -> bytes::Bytes {
    let mut batch = RecordBatchBuilder::new(Compression::None);
    batch.base_offset(offset);
    for o in offset..offset + RECORDS {
        let v = value(topic, partition, o);
        batch.push(0, None, Some(v.as_bytes()), &[]).unwrap();
    }
    batch.build().unwrap()
}

/// Answers every partition of `request` as `part` says.
fn answer(request: &FetchRequest, part: impl Fn(&str, i32) -> Part) -> ResponseKind {
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
                    let offset = p.fetch_offset;
                    match part(topic, p.partition) {
                        Part::Error(code) => data.with_error_code(code),
                        Part::Empty => data
                            .with_high_watermark(offset)
                            .with_last_stable_offset(offset)
                            .with_records(Some(Default::default())),
                        Part::LeftOut => data
                            .with_high_watermark(offset + RECORDS)
                            .with_last_stable_offset(offset + RECORDS)
                            .with_records(Some(Default::default())),
                        Part::Records => data
                            .with_high_watermark(offset + RECORDS)
                            .with_last_stable_offset(offset + RECORDS)
                            .with_records(Some(batch(topic, p.partition, offset))),
                    }
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
/// [`answer`] with `part`, the first held for `first`, the others for `rest`.
fn broker(
    partitions: i32,
    first: Duration,
    rest: Duration,
    part: impl Fn(&str, i32) -> Part + Send + Sync + 'static,
) -> FakeBroker {
    let options = FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", partitions)],
        ..FakeBrokerOptions::default()
    };
    let answered = AtomicBool::new(false);
    FakeBroker::start_with(options, move |_, request| match request {
        RequestKind::Fetch(r) => {
            let reply = FakeReply::Respond(answer(&r, &part));
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
    SharedFetcher::new(client, FetchConfig::default())
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

/// Waits (bounded) until `broker` has received no Fetch request for [`QUIET`]: every prefetch
/// has been answered and back-pressure stopped the next; returns what it received.
async fn settle(broker: &FakeBroker) -> Vec<Vec<(String, i32, i64)>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = broker.requests_for(ApiKey::Fetch).len();
    loop {
        tokio::time::sleep(QUIET).await;
        let now = broker.requests_for(ApiKey::Fetch).len();
        if now == seen {
            return fetches(broker);
        }
        assert!(
            Instant::now() < deadline,
            "the broker still receives Fetch requests after 10 s: {:?}",
            fetches(broker)
        );
        seen = now;
    }
}

/// The offsets at which the requests of `requests` carried `partition` of `events`, in order.
fn offsets_of(requests: &[Vec<(String, i32, i64)>], partition: i32) -> Vec<i64> {
    requests
        .iter()
        .flatten()
        .filter(|(t, p, _)| t == "events" && *p == partition)
        .map(|&(_, _, o)| o)
        .collect()
}

/// `count` consecutive fetch offsets of a partition whose fetches return [`RECORDS`] records,
/// from 0.
fn consecutive(count: usize) -> Vec<i64> {
    (0..count as i64).map(|i| i * RECORDS).collect()
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
    let broker = broker(12, HOLD, NEXT_HOLD, |_, _| Part::Records);
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

    let requests = settle(&broker).await;
    // Every fetch went out exactly once, at its offset, and so did one prefetch per partition
    // (offset 6, buffered for a fourth fetch that never comes; back-pressure stops there).
    let mut sent: Vec<_> = requests.concat();
    sent.sort();
    let mut want: Vec<_> = (0..12)
        .flat_map(|p| (0..4).map(move |i| ("events".to_string(), p, i * RECORDS)))
        .collect();
    want.sort();
    assert_eq!(sent, want);
    // The first request is held while all 12 first fetches arrive, so they go out in the first
    // two requests, the second carrying all 12 (prefetching the first request's partitions).
    // From then on every request carries every partition whose buffer is empty, which is all
    // of them until their callers stop: a fourth request has the first group's prefetches at
    // offset 6 and the second group's third fetches, a fifth the second group's prefetches. So
    // 5 requests (4 if the first carried all 12; 48 fetches without batching); 6 is the bound
    // without prefetching, kept.
    assert!(
        requests.len() <= 6,
        "{} Fetch requests: {requests:?}",
        requests.len()
    );
    let widest = requests.iter().map(Vec::len).max().unwrap_or(0);
    assert_eq!(widest, 12, "widest request: {widest} partitions");
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
                    Box::new(FakeReply::Respond(answer(&r, |_, _| Part::Records))),
                ),
                RequestKind::Fetch(r) => FakeReply::Respond(answer(&r, |_, _| Part::Records)),
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
    // The fast node got each fetch once, and one prefetch per partition (offset 6) that
    // back-pressure stops at.
    let mut sent = settle(&fast).await.concat();
    sent.sort();
    let want: Vec<_> = (0..4)
        .flat_map(|p| (0..4).map(move |i| ("fast".to_string(), p, i * RECORDS)))
        .collect();
    assert_eq!(sent, want);

    check(&slow_0.await.unwrap().unwrap(), "slow", 0, 0);
    check(&slow_1.await.unwrap().unwrap(), "slow", 1, 7);
    // Node 1's second request carried slow-1's fetch and slow-0's prefetch; a third, if it has
    // started yet, slow-1's prefetch (slow-0's buffer is full).
    let mut requests = fetches(&slow);
    requests.iter_mut().for_each(|r| r.sort());
    assert_eq!(
        requests[..2],
        [
            vec![("slow".to_string(), 0, 0)],
            vec![("slow".to_string(), 0, 2), ("slow".to_string(), 1, 7)]
        ]
    );
    assert!(
        requests[2..]
            .iter()
            .all(|r| r == &[("slow".to_string(), 1, 9)])
            && requests.len() <= 3,
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_only_their_partition_the_others_in_the_request_succeed() {
    let broker = broker(3, HOLD, Duration::ZERO, |_, partition| {
        if partition == 1 {
            Part::Error(NOT_LEADER_OR_FOLLOWER)
        } else {
            Part::Records
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
    // The failing partition went out with the good one and events-0's prefetch; the unknown
    // ones never went out. The good partitions were prefetched once each (their callers never
    // claimed), the failing one not at all: errors are not prefetched.
    let mut requests = settle(&broker).await;
    requests.iter_mut().for_each(|r| r.sort());
    let at = |partition: i32, offset: i64| ("events".to_string(), partition, offset);
    assert_eq!(
        requests,
        vec![
            vec![at(0, 3)],
            vec![at(0, 5), at(1, 3), at(2, 3)],
            vec![at(2, 5)],
        ]
    );
    // Nor buffered: asking again sends the fetch again, which fails again.
    let again = shared.fetch(position("events", 1, 3)).await;
    assert!(
        matches!(&again, Err(Error::Broker(e)) if e.code == NOT_LEADER_OR_FOLLOWER),
        "{again:?}"
    );
    assert_eq!(settle(&broker).await[3..], [vec![at(1, 3)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_of_the_same_partition_waiting_together_are_all_answered() {
    let broker = broker(1, HOLD, Duration::ZERO, |_, _| Part::Records);
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
    // Both waited behind the held request, and went out one per request; the prefetch after
    // the last of them (which arrived last is up to the scheduler) went out alone too.
    let requests = settle(&broker).await;
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(requests.iter().all(|r| r.len() == 1), "{requests:?}");
    let offsets = offsets_of(&requests, 0);
    let mut asked = offsets[..3].to_vec();
    asked.sort();
    assert_eq!(asked, vec![0, 5, 9]);
    assert_eq!(offsets[3], offsets[2] + RECORDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_fetch_is_left_out_and_breaks_nothing() {
    let broker = broker(3, HOLD, Duration::ZERO, |_, _| Part::Records);
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
    // events-1 had no result to predict from, so with its caller gone it is not prefetched;
    // the two others are, once each.
    let mut requests = settle(&broker).await;
    requests.iter_mut().for_each(|r| r.sort());
    let at = |partition: i32, offset: i64| ("events".to_string(), partition, offset);
    assert_eq!(
        requests,
        vec![vec![at(0, 0)], vec![at(0, 2), at(2, 0)], vec![at(2, 2)]]
    );
    // The partition of the cancelled fetch can be fetched again, and is then prefetched.
    check(
        &shared.fetch(position("events", 1, 0)).await.unwrap(),
        "events",
        1,
        0,
    );
    assert_eq!(settle(&broker).await[3..], [vec![at(1, 0)], vec![at(1, 2)]]);
}

/// A one-node fake broker with `events` (`partitions` partitions) that answers a Fetch at once
/// if a partition in it has records (`busy`) and after [`LONG_POLL`] otherwise, as Kafka does
/// with `min_bytes` 1; the others are caught up. Counts the requests it holds.
fn long_poll_broker(
    partitions: i32,
    busy: impl Fn(i32) -> bool + Send + Sync + 'static,
) -> FakeBroker {
    let options = FakeBrokerOptions {
        topics: vec![FakeTopic::new("events", partitions)],
        ..FakeBrokerOptions::default()
    };
    FakeBroker::start_with(options, move |_, request| match request {
        RequestKind::Fetch(r) => {
            let part = |_: &str, p: i32| if busy(p) { Part::Records } else { Part::Empty };
            let has_records = r
                .topics
                .iter()
                .flat_map(|t| &t.partitions)
                .any(|p| busy(p.partition));
            let reply = FakeReply::Respond(answer(&r, part));
            if has_records {
                reply
            } else {
                FakeReply::Delay(LONG_POLL, Box::new(reply))
            }
        }
        _ => FakeReply::Default,
    })
    .unwrap()
}

/// Asserts `fetched` is `events`-`partition` at `offset` with no records (caught up).
fn check_empty(fetched: &FetchedPartition, partition: i32, offset: i64) {
    assert_eq!(
        (
            fetched.topic.as_str(),
            fetched.partition,
            fetched.fetch_offset
        ),
        ("events", partition, offset)
    );
    let (records, next) = fetched.records().unwrap();
    assert!(records.is_empty(), "{records:?}");
    assert_eq!(next, offset);
}

/// Busy partitions' callers that process each result for a while are not held up by the long
/// polls of caught-up partitions. 6 busy and 6 caught-up partitions for 3 s, 5 ms of
/// processing per result. Measured: without prefetching the busy callers got 42 results in
/// all (about one per long poll each: a caught-up caller asks again at once, goes out alone
/// and holds the connection for 500 ms while the busy ones process); prefetching but sending
/// caught-up partitions alone as soon as the leader is idle, 78 (each busy partition's
/// prefetch hides one processing time per long poll); holding such requests back while a busy
/// caller processes, 2758 (6 callers × 3 s / ~6.5 ms per sleep and fetch). The bound is 4
/// times the second and a ninth of the third, for a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_partitions_are_not_held_up_by_caught_up_ones() {
    const RUN: Duration = Duration::from_secs(3);
    const PROCESSING: Duration = Duration::from_millis(5);
    let busy = |partition: i32| partition < 6;
    let broker = long_poll_broker(12, busy);
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let deadline = Instant::now() + RUN;
    let callers: Vec<_> = (0..12)
        .map(|partition| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut offset = 0;
                let mut results = 0;
                while Instant::now() < deadline {
                    let fetched = shared
                        .fetch(position("events", partition, offset))
                        .await
                        .unwrap();
                    results += 1;
                    if busy(partition) {
                        offset = check(&fetched, "events", partition, offset);
                        tokio::time::sleep(PROCESSING).await;
                    } else {
                        check_empty(&fetched, partition, offset);
                    }
                }
                (partition, results)
            })
        })
        .collect();
    let mut busy_results = 0;
    let mut per_partition = Vec::new();
    for caller in callers {
        let (partition, results) = caller.await.unwrap();
        per_partition.push(results);
        if busy(partition) {
            busy_results += results;
        }
    }
    println!("results per partition in {RUN:?}: {per_partition:?}; busy in all: {busy_results}");
    assert!(
        busy_results >= 300,
        "the busy partitions got {busy_results} results in {RUN:?}: {per_partition:?}"
    );

    // Each busy partition was fetched at consecutive offsets, each once: every result its
    // caller took, and the one prefetch buffered when it stopped. Caught-up ones stayed at 0.
    let requests = settle(&broker).await;
    for (partition, &results) in per_partition.iter().enumerate() {
        let partition = partition as i32;
        let offsets = offsets_of(&requests, partition);
        if busy(partition) {
            assert_eq!(offsets, consecutive(results + 1), "events-{partition}");
        } else {
            assert!(offsets.iter().all(|&o| o == 0), "events-{partition}");
        }
    }
}

/// With every partition caught up and callers asking again at once, requests go out one per
/// long poll, never in a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caught_up_partitions_are_paced_by_the_long_poll() {
    const RUN: Duration = Duration::from_millis(1600);
    let broker = long_poll_broker(4, |_| false);
    let shared = shared_fetcher(&broker.addr()).await;
    shared
        .fetcher()
        .client()
        .leader_id("events", 0)
        .await
        .unwrap();
    let deadline = Instant::now() + RUN;
    let callers: Vec<_> = (0..4)
        .map(|partition| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut results = 0;
                while Instant::now() < deadline {
                    let fetched = shared.fetch(position("events", partition, 0)).await;
                    check_empty(&fetched.unwrap(), partition, 0);
                    results += 1;
                }
                results
            })
        })
        .collect();
    tokio::time::sleep_until(deadline.into()).await;
    let requests = fetches(&broker);
    // Long polls started at about 0, 0.5, 1 and 1.5 s.
    assert!(
        (3..=4).contains(&requests.len()),
        "{} requests in {RUN:?}: {requests:?}",
        requests.len()
    );
    // The first carried the fetches that arrived before it started (at least one); every
    // later one carried all four partitions, at offset 0: each result goes to a caller who
    // asks again at once, or is buffered and claimed at once.
    assert!(!requests[0].is_empty(), "{requests:?}");
    assert!(requests[1..].iter().all(|r| r.len() == 4), "{requests:?}");
    assert!(
        requests.concat().iter().all(|&(_, _, o)| o == 0),
        "{requests:?}"
    );
    for caller in callers {
        let results = caller.await.unwrap();
        assert!((3..=5).contains(&results), "{results} results");
    }
}

/// A caller that asks for another offset than the one prefetched gets the offset it asked for,
/// whether the prefetch is still in flight or already buffered; the prefetch is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_moves_gets_the_offset_it_asked_for() {
    let broker = broker(1, Duration::ZERO, Duration::from_millis(200), |_, _| {
        Part::Records
    });
    let shared = shared_fetcher(&broker.addr()).await;
    let fetch = |offset: i64| shared.fetch(position("events", 0, offset));
    check(&fetch(0).await.unwrap(), "events", 0, 0);
    // Offset 2 is being prefetched (held 200 ms) when the caller asks for 10.
    wait_for_fetches(&broker, 2).await;
    check(&fetch(10).await.unwrap(), "events", 0, 10);
    // Offset 12 is prefetched and buffered when the caller asks for 3.
    wait_for_fetches(&broker, 4).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    check(&fetch(3).await.unwrap(), "events", 0, 3);
    // Offset 5 is prefetched (in flight or buffered): the caller gets it, once.
    check(&fetch(5).await.unwrap(), "events", 0, 5);
    let requests = settle(&broker).await;
    assert!(requests.iter().all(|r| r.len() == 1), "{requests:?}");
    assert_eq!(offsets_of(&requests, 0), vec![0, 2, 10, 12, 3, 5, 7]);
}

/// A caller that stops claiming its results costs one buffered result: its partition is not
/// fetched again while the others go on, and the buffered result is still good when claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_claiming_costs_one_buffered_result() {
    const FETCHES: usize = 20;
    let broker = broker(3, Duration::ZERO, Duration::ZERO, |_, _| Part::Records);
    let shared = shared_fetcher(&broker.addr()).await;
    check(
        &shared.fetch(position("events", 0, 0)).await.unwrap(),
        "events",
        0,
        0,
    );
    // events-0's caller stops; the others fetch on.
    let callers: Vec<_> = (1..3)
        .map(|partition| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut offset = 0;
                for _ in 0..FETCHES {
                    let fetched = shared
                        .fetch(position("events", partition, offset))
                        .await
                        .unwrap();
                    offset = check(&fetched, "events", partition, offset);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let requests = settle(&broker).await;
    // events-0: its fetch and one prefetch, in 2 of the requests; the others: their fetches
    // and one prefetch each.
    assert_eq!(offsets_of(&requests, 0), vec![0, 2]);
    let with_0 = requests
        .iter()
        .filter(|r| r.iter().any(|(_, p, _)| *p == 0))
        .count();
    assert_eq!(with_0, 2, "{requests:?}");
    for partition in 1..3 {
        assert_eq!(
            offsets_of(&requests, partition),
            consecutive(FETCHES + 1),
            "events-{partition}"
        );
    }
    // The buffered result is returned without a request; the next prefetch follows it.
    let sent = requests.len();
    check(
        &shared.fetch(position("events", 0, 2)).await.unwrap(),
        "events",
        0,
        2,
    );
    let requests = settle(&broker).await;
    assert_eq!(requests[sent..], [vec![("events".to_string(), 0, 4)]]);
}

/// Caught-up partitions held back for a busy caller that then stops are still fetched, and
/// records arriving for them are delivered within about two long polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_caller_that_stops_does_not_starve_caught_up_partitions() {
    let arrived = Arc::new(AtomicBool::new(false));
    let broker = long_poll_broker(2, {
        let arrived = arrived.clone();
        move |partition| partition == 0 || arrived.load(Ordering::SeqCst)
    });
    let shared = shared_fetcher(&broker.addr()).await;
    let quiet = tokio::spawn({
        let shared = shared.clone();
        async move {
            loop {
                let fetched = shared.fetch(position("events", 1, 0)).await.unwrap();
                if fetched.high_watermark > 0 {
                    return (fetched, Instant::now());
                }
                check_empty(&fetched, 1, 0);
            }
        }
    });
    // events-0's caller takes one result and stops (a prefetch is buffered for it).
    check(
        &shared.fetch(position("events", 0, 0)).await.unwrap(),
        "events",
        0,
        0,
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = fetches(&broker).len();
    arrived.store(true, Ordering::SeqCst);
    let since = Instant::now();
    let (fetched, at) = tokio::time::timeout(Duration::from_secs(5), quiet)
        .await
        .expect("the caught-up partition's caller never got the records")
        .unwrap();
    check(&fetched, "events", 1, 0);
    let took = at - since;
    assert!(
        took < 2 * LONG_POLL + Duration::from_millis(300),
        "records took {took:?} to reach the caught-up partition's caller"
    );
    // While events-0's buffer was full, events-1 was still long-polled.
    assert!(before >= 2, "{:?}", fetches(&broker));
}

/// A partition answered empty below its high watermark (left out of the response, not caught
/// up) is fetched again at once, not held back like a caught-up one while another partition's
/// caller processes: with a 30 s `max_wait`, holding it back would keep its records from its
/// caller for 30 s after events-0's caller took its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_left_out_of_a_response_is_fetched_again_at_once() {
    let left_out = Arc::new(AtomicBool::new(true));
    let broker = broker(2, Duration::ZERO, Duration::ZERO, {
        let left_out = left_out.clone();
        move |_, partition| match partition {
            0 => Part::Records,
            _ if left_out.swap(false, Ordering::SeqCst) => Part::LeftOut,
            _ => Part::Records,
        }
    });
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(60);
    let client = Client::connect(config).await.unwrap();
    let shared = SharedFetcher::new(
        client,
        FetchConfig {
            max_wait: Duration::from_secs(30),
            ..FetchConfig::default()
        },
    );
    // events-0's caller takes one result and keeps processing it; its prefetch is buffered.
    check(
        &shared.fetch(position("events", 0, 0)).await.unwrap(),
        "events",
        0,
        0,
    );
    wait_for_fetches(&broker, 2).await;
    let first = shared.fetch(position("events", 1, 0)).await.unwrap();
    check_empty(&first, 1, 0);
    assert_eq!(first.high_watermark, RECORDS);
    let again = tokio::time::timeout(
        Duration::from_secs(10),
        shared.fetch(position("events", 1, 0)),
    )
    .await
    .expect("events-1, left out of a response, was held back as if caught up")
    .unwrap();
    check(&again, "events", 1, 0);
    let requests = settle(&broker).await;
    assert_eq!(offsets_of(&requests, 0), vec![0, RECORDS]);
    assert_eq!(offsets_of(&requests, 1), vec![0, 0, RECORDS]);
}

/// Prefetching stops while buffered results reach the prefetch budget, and resumes when one is
/// claimed: with a budget of two results and five callers fetching once in turn and then not
/// claiming, only the first two partitions are prefetched (the others wait for their callers),
/// so exactly two results are buffered where five would be without the budget. A caller of a
/// held-back partition still gets its records at once. Once a buffered result is claimed, the
/// held-back prefetches go out together: buffered bytes reach the budget plus one response,
/// the bound the module docs state, and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetching_stops_at_the_budget_and_resumes_when_a_result_is_claimed() {
    // Partitions 0-4 at offsets 0-4 all give batches of one length (single-digit names).
    let len = batch("events", 0, 0).len();
    let broker = broker(5, Duration::ZERO, Duration::ZERO, |_, _| Part::Records);
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(5);
    let client = Client::connect(config).await.unwrap();
    let shared = SharedFetcher::with_prefetch_budget(client, FetchConfig::default(), 2 * len);
    for partition in 0..5 {
        let fetched = shared
            .fetch(position("events", partition, 0))
            .await
            .unwrap();
        assert_eq!(fetched.raw.len(), len);
        check(&fetched, "events", partition, 0);
        if partition < 2 {
            // Under the budget: this partition's prefetch goes out.
            wait_for_fetches(&broker, 2 * (partition as usize + 1)).await;
        }
    }
    let requests = settle(&broker).await;
    assert_eq!(requests.len(), 7, "{requests:?}");
    for partition in 0..2 {
        assert_eq!(offsets_of(&requests, partition), vec![0, RECORDS]);
    }
    for partition in 2..5 {
        assert_eq!(offsets_of(&requests, partition), vec![0], "{requests:?}");
    }
    assert_eq!(shared.buffered_bytes(), 2 * len);

    // A held-back partition's caller is fetched for at once; still no prefetch after it.
    let fetched = shared.fetch(position("events", 2, RECORDS)).await.unwrap();
    check(&fetched, "events", 2, RECORDS);
    let requests = settle(&broker).await;
    assert_eq!(requests.len(), 8, "{requests:?}");
    assert_eq!(offsets_of(&requests, 2), vec![0, RECORDS]);
    assert_eq!(shared.buffered_bytes(), 2 * len);

    // Claiming partition 0's buffered result frees room: every held-back prefetch goes out in
    // one request (partition 0 at 4, 2 at 4, 3 and 4 at 2); then nothing more.
    let fetched = shared.fetch(position("events", 0, RECORDS)).await.unwrap();
    check(&fetched, "events", 0, RECORDS);
    let requests = settle(&broker).await;
    assert_eq!(requests.len(), 9, "{requests:?}");
    let mut last = requests[8].clone();
    last.sort();
    assert_eq!(
        last,
        vec![
            ("events".to_string(), 0, 2 * RECORDS),
            ("events".to_string(), 2, 2 * RECORDS),
            ("events".to_string(), 3, RECORDS),
            ("events".to_string(), 4, RECORDS),
        ]
    );
    // Partition 1's result and the four just fetched: the budget (2) plus one response (4)
    // less the claimed one.
    assert_eq!(shared.buffered_bytes(), 5 * len);
}
