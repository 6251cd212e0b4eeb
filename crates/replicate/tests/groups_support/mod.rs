//! Shared by the `groups_*` and `migration_*` test binaries: replicator configs with consumer
//! group replication, fast engine options, records whose values identify them, consuming as a
//! group in steps, and waiting for a condition.
//!
//! Each binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use kreplicate_replicate::EngineOptions;
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, ConsumeJob, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::high_watermark;

/// `ConsumerGroupReplication` JSON.
pub fn group_replication(
    include: &[&str],
    exclude: &[&str],
    detect_new: bool,
    mode: &str,
) -> String {
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"{{"ConsumerGroupsToReplicate": [{}], "ConsumerGroupsToExclude": [{}], "SynchroniseConsumerGroupOffsets": true, "DetectAndCopyNewConsumerGroups": {detect_new}, "ConsumerGroupOffsetSyncMode": "{mode}"}}"#,
        list(include),
        list(exclude)
    )
}

/// A validated configuration from `source` to `target` copying `topics` from EARLIEST.
pub fn config(
    name: &str,
    source: &TansuBroker,
    target: &TansuBroker,
    topics: &[&str],
    naming: &str,
    groups: String,
) -> ReplicatorConfig {
    let mut json = ReplicatorJson::new(name, source, target, topics).naming(naming);
    json.group_replication = groups;
    CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap()
}

/// Short intervals so a test takes seconds.
pub fn fast_options() -> EngineOptions {
    EngineOptions {
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        group_sync_interval: Duration::from_millis(300),
        resume_settle: Duration::from_millis(200),
        ..EngineOptions::default()
    }
}

/// Records with values `<prefix>-<i>` for `i` in `range`, spread over `partitions`
/// partitions (`i % partitions`).
pub fn records(prefix: &str, range: std::ops::Range<usize>, partitions: i32) -> Vec<PyRecord> {
    range
        .map(|i| PyRecord {
            partition: Some(i as i32 % partitions),
            key: Some(format!("k{i}").into_bytes()),
            value: Some(format!("{prefix}-{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect()
}

/// Values `<prefix>-<i>` for `i` in `range`.
pub fn names(prefix: &str, range: std::ops::Range<usize>) -> BTreeSet<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

/// Consumes exactly `count` records of `topic` as a member of `group` (from its committed
/// offsets, else the beginning), commits and leaves; with `linger`, keeps polling that long
/// after `count` arrived so extra records show up. Returns the values in arrival order.
pub async fn consume_step(
    bootstrap: &str,
    topic: &str,
    group: &str,
    count: usize,
    linger: Duration,
) -> Vec<String> {
    let mut job = ConsumeJob::new(bootstrap, topic, count);
    job.group_id = Some(group.to_string());
    job.commit = true;
    job.timeout = Duration::from_secs(20);
    job.linger = linger;
    let records = job.run().await.unwrap_or_else(|e| {
        panic!("group {group} consuming {count} of {topic} at {bootstrap}: {e:#}")
    });
    records
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap_or_default()).unwrap())
        .collect()
}

/// Committed offsets of `group` as `topic → partition → offset`.
pub async fn committed(bootstrap: &str, group: &str) -> BTreeMap<String, BTreeMap<i32, i64>> {
    let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for (topic, partition, offset) in python::group_offsets(bootstrap, group).await.unwrap() {
        out.entry(topic).or_default().insert(partition, offset);
    }
    out
}

/// Polls `check` every 200 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A wire client for `broker`.
pub async fn client(broker: &TansuBroker) -> Client {
    Client::connect(ClientConfig::new([broker.addr()]))
        .await
        .unwrap()
}

/// High watermark of each of the first `partitions` partitions of `topic` (Tansu's
/// ListOffsets(LATEST) is not one; a fetch's high watermark is).
pub async fn log_ends(client: &Client, topic: &str, partitions: i32) -> Vec<i64> {
    let mut ends = Vec::new();
    for p in 0..partitions {
        ends.push(high_watermark(client, topic, p).await.unwrap());
    }
    ends
}

/// Asserts every value of `consumed` is distinct, and that together they are `expected`.
pub fn assert_exactly_once(group: &str, consumed: &[String], expected: &BTreeSet<String>) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let twice: Vec<&String> = consumed
        .iter()
        .filter(|v| !seen.insert((*v).clone()))
        .collect();
    assert!(
        twice.is_empty(),
        "group {group} read these twice: {twice:?}"
    );
    let missed: Vec<&String> = expected.difference(&seen).collect();
    let extra: Vec<&String> = seen.difference(expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "group {group}: missed {missed:?}, unexpected {extra:?}"
    );
}
