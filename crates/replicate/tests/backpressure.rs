//! Back-pressure: a slow target slows fetching; it never grows memory.
//!
//! The source holds a 60 MB backlog; the target is reached through a fault proxy that lets
//! 384 KB/s through. Both sides go through proxies, so the bytes the replicator fetched and the
//! bytes the target received are counted outside the engine. While the target is slow, the
//! difference — what the replicator holds — must stay within the configured bounds (per
//! partition: its unacknowledged bytes, the fetch response being copied and one response the
//! shared fetcher prefetched), not grow towards the backlog. Then the limit is lifted and the copy must complete exactly.

mod faults_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use faults_support::{client, config, ends, fast_options, finish_and_verify, Side};
use kreplicate_replicate::Replicator;
use kreplicate_testkit::fault_proxy::FaultProxy;
use kreplicate_testkit::tansu::TansuOptions;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "backlog";
const PARTITIONS: i32 = 2;
const RECORDS_PER_PARTITION: usize = 5000;
const VALUE_BYTES: usize = 10_000;
/// What the engine may hold per partition before it stops fetching.
const PER_PARTITION: usize = 1024 * 1024;
const TARGET_BYTES_PER_SEC: u64 = 384 * 1024;
/// Bytes the slow target receives while the held bytes are sampled: several times the
/// per-partition budget, about 8 s at TARGET_BYTES_PER_SEC.
const RECEIVED_GOAL: u64 = 3 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_slows_fetching_and_memory_stays_bounded() {
    let (source, source_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    let (target, target_proxy) = FaultProxy::with_tansu(TansuOptions::strict()).unwrap();
    // The brokers advertise their proxies, so test-side traffic passes them too: the counts
    // below start from a baseline taken just before the replicator starts.
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.addr()).await;
    Admin::new(source_client.clone())
        .create_topics(&[NewTopic::new(TOPIC, PARTITIONS, 1)], false)
        .await
        .unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let producer = Producer::new(source_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    // Incompressible values: the target's copies cannot be smaller than what was fetched.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = |n: usize| -> Bytes {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    for i in 0..RECORDS_PER_PARTITION {
        for p in 0..PARTITIONS {
            let record = ProducerRecord {
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(noise(VALUE_BYTES)),
                headers: Vec::new(),
                timestamp: None,
            };
            // Deliveries are checked below, by the source's log ends.
            drop(producer.send(TOPIC, p, record).await.unwrap());
        }
    }
    producer.flush().await;
    assert_eq!(
        ends(&source_client, TOPIC, PARTITIONS).await,
        vec![RECORDS_PER_PARTITION as i64; PARTITIONS as usize]
    );
    let backlog = (RECORDS_PER_PARTITION * PARTITIONS as usize * VALUE_BYTES) as u64;

    // Kafka brokers bound a fetch response by `partition_max_bytes` (or the first batch, when
    // larger); Tansu ignores it and answers with several batches. The engine cannot hold less
    // than one response, so the bound below uses the largest response this broker gives.
    let fetch = largest_fetch_response(&source_client).await;
    target_proxy.set_bandwidth(Some(TARGET_BYTES_PER_SEC));
    let config = config(
        "backpressure",
        &Side::new(source.cluster_id(), &source_proxy.addr()),
        &Side::new(target.cluster_id(), &target_proxy.addr()),
        &[TOPIC],
    );
    let options = kreplicate_replicate::EngineOptions {
        max_unacked_bytes_per_partition: PER_PARTITION,
        max_unacked_bytes: 2 * PER_PARTITION,
        ..fast_options()
    };
    let fetched_before = source_proxy.stats().bytes_upstream_to_client;
    let received_before = target_proxy.stats().bytes_client_to_upstream;
    let replicator = Replicator::start(config.clone(), options).await.unwrap();

    // Held = fetched from the source − received by the target. Sampled until the slow target
    // has received RECEIVED_GOAL bytes (progress, not a fixed time: a slow machine samples the
    // same stretch of the copy as a fast one).
    // Per partition: the budget, the response being copied, the one prefetched behind it.
    let bound = PARTITIONS as u64 * (PER_PARTITION as u64 + 2 * fetch);
    let started = Instant::now();
    let (mut max_held, mut samples) = (0u64, 0);
    let mut fetched = 0;
    let mut received = 0;
    while received < RECEIVED_GOAL {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the target received only {received} bytes in {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        fetched = source_proxy.stats().bytes_upstream_to_client - fetched_before;
        received = target_proxy.stats().bytes_client_to_upstream - received_before;
        let held = fetched.saturating_sub(received);
        max_held = max_held.max(held);
        samples += 1;
        assert!(
            held <= bound,
            "after {:?} the replicator holds {held} bytes (fetched {fetched}, target received \
             {received}); bound {bound}",
            started.elapsed()
        );
    }
    // The bound meant something: the backlog is far larger than it, and fetching was held back
    // well short of the backlog while the target was slow.
    assert!(backlog > 3 * bound, "backlog {backlog}, bound {bound}");
    assert!(
        fetched < backlog / 2,
        "fetched {fetched} of a {backlog}-byte backlog while the slow target received {received}"
    );
    eprintln!(
        "slow target: {samples} samples, at most {max_held} bytes held (bound {bound}, largest \
         fetch response {fetch}); \
         fetched {fetched} and the target received {received} of {backlog} in {:?}",
        started.elapsed()
    );

    // Full speed: the copy completes exactly.
    target_proxy.set_bandwidth(None);
    let total = finish_and_verify(
        &source_client,
        &target_client,
        replicator,
        &config,
        TOPIC,
        PARTITIONS,
    )
    .await;
    assert_eq!(total, (RECORDS_PER_PARTITION * PARTITIONS as usize) as u64);
    assert_eq!(
        ends(&target_client, TOPIC, PARTITIONS).await,
        vec![RECORDS_PER_PARTITION as i64; PARTITIONS as usize]
    );
}

/// The largest fetch response (bytes of record batches) the source gives for one partition,
/// probed at a few offsets.
async fn largest_fetch_response(source: &kreplicate_wire::client::Client) -> u64 {
    use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
    let fetcher = Fetcher::new(
        source.clone(),
        FetchConfig {
            max_wait: Duration::from_millis(100),
            ..FetchConfig::default()
        },
    );
    let mut largest = 0;
    for offset in [
        0,
        RECORDS_PER_PARTITION as i64 / 3,
        RECORDS_PER_PARTITION as i64 / 2,
    ] {
        let position = FetchPosition {
            topic: TOPIC.into(),
            partition: 0,
            offset,
        };
        let (_, fetched) = fetcher.fetch(&[position]).await.pop().unwrap();
        largest = largest.max(fetched.unwrap().raw.len() as u64);
    }
    largest
}
