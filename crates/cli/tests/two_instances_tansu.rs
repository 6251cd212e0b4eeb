//! Two `kreplicate run` started by mistake with the same inputs (same files, no flag beyond the
//! defaults) on Tansu, under continuous load: they become a worker group of two, so each
//! partition is written by one of them at a time. One is SIGKILLed; the other takes its
//! partitions over once the killed one's session expired. At the end each target partition
//! holds the source's records exactly, in order, once (two writers at once would both resume
//! from the target and copy the same records twice), and `verify` says EQUAL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{plain_cluster, request, write, Running};
use kreplicate_codec::{Compression, Record};
use kreplicate_testkit::continuous_load::{ContinuousLoad, LoadShape};
use kreplicate_testkit::registered_producers::registered_producer_ids;
use kreplicate_testkit::stored_records::{caught_up, last_writers, records_with_producer_ids};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};

const TOPIC: &str = "twice";
const PARTITIONS: i32 = 8;

/// The producer ids an instance registered on the target (its log's "producer id registered
/// on the target" lines).
fn registered(instance: &Running) -> BTreeSet<i64> {
    registered_producer_ids(&instance.stderr())
}

/// Waits (at most 120 s) until every partition got copies past `since` and the last batches
/// of the partitions come from the instances in `shares` (index into `instances`), each
/// writing that many partitions. Returns the end offsets.
async fn settle(
    target: &Client,
    instances: &[&Running],
    shares: &[usize],
    since: &[i64],
    what: &str,
) -> Vec<i64> {
    let started = Instant::now();
    loop {
        let now = last_writers(target, TOPIC, PARTITIONS).await;
        let ids: Vec<BTreeSet<i64>> = instances.iter().map(|i| registered(i)).collect();
        let mut per_instance = vec![0usize; instances.len()];
        let mut unknown = Vec::new();
        for (_, pid) in &now {
            match pid.and_then(|p| ids.iter().position(|s| s.contains(&p))) {
                Some(i) => per_instance[i] += 1,
                None => unknown.push(*pid),
            }
        }
        let progressed = now.iter().zip(since).all(|((end, _), s)| end > s);
        if progressed && unknown.is_empty() && per_instance == shares {
            eprintln!("{what}: settled in {:?}", started.elapsed());
            return now.iter().map(|(e, _)| *e).collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: not settled in 120 s: partitions per instance {per_instance:?} (want {shares:?}), unknown writers {unknown:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_with_the_same_inputs_never_both_write_one_partition() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let source_client = Client::connect(ClientConfig::new([source.addr()]))
        .await
        .unwrap();
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    Admin::new(source_client.clone())
        .create_topics(&[NewTopic::new(TOPIC, PARTITIONS, 1)], false)
        .await
        .unwrap();

    // Continuous load: 2 records per partition every 50 ms until stopped (at most 4 000 rounds).
    let load = ContinuousLoad::start(
        source_client.clone(),
        TOPIC,
        PARTITIONS,
        LoadShape {
            records_per_round: PARTITIONS as usize * 2,
            pause: Duration::from_millis(50),
            compression: Compression::None,
            max_rounds: 4000,
        },
    );

    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster(source.cluster_id(), &source.addr()),
        source.cluster_id(),
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        &format!("\"{TOPIC}\""),
    );
    let config = write(dir.path(), "replicator.json", &json);
    let input = format!("file://{}", config.display());
    // The same command line twice (port 0: each picks a free metrics port).
    let args = [
        "run",
        "--cli-input-json",
        &input,
        "--metrics-addr",
        "127.0.0.1:0",
        "--no-progress",
    ];
    let first = Running::start(&args, dir.path());
    let second = Running::start(&args, dir.path());

    let none = vec![0; PARTITIONS as usize];
    let half = PARTITIONS as usize / 2;
    let ends = settle(
        &target_client,
        &[&first, &second],
        &[half, half],
        &none,
        "two instances",
    )
    .await;

    // SIGKILL the first: the second takes everything over after the first's session expired.
    first.signal("KILL");
    let killed = first.wait(Duration::from_secs(10));
    assert_eq!(killed.code, None, "killed by the signal");
    let first_ids = registered_producer_ids(&killed.stderr);
    settle(
        &target_client,
        &[&second],
        &[PARTITIONS as usize],
        &ends,
        "after SIGKILL",
    )
    .await;

    let total = load.stop().await;
    let caught_up = caught_up(&target_client, TOPIC, PARTITIONS, total).await;
    let second_ids = registered(&second);
    second.signal("TERM");
    let stopped = second.wait(Duration::from_secs(60));
    let _logs = LogsKeptOnFailure::new(&[
        ("first", killed.stderr.as_str()),
        ("second", stopped.stderr.as_str()),
    ]);
    assert_eq!(stopped.code, Some(0), "{}", stopped.stderr);
    assert!(caught_up, "the target caught up with {total} records");

    // Exactly the source, record for record: 0 lost, 0 duplicated.
    let source_records = records_with_producer_ids(&source_client, TOPIC, PARTITIONS).await;
    let target_records = records_with_producer_ids(&target_client, TOPIC, PARTITIONS).await;
    let mut copied = 0;
    let mut writers: BTreeMap<&str, usize> = BTreeMap::new();
    for partition in 0..PARTITIONS as usize {
        let (s, t) = (&source_records[partition], &target_records[partition]);
        let fields = |r: &Record| {
            (
                r.offset,
                r.key.clone(),
                r.value.clone(),
                r.timestamp,
                r.headers.clone(),
            )
        };
        let source_fields: Vec<_> = s.iter().map(|(_, r)| fields(r)).collect();
        let target_fields: Vec<_> = t.iter().map(|(_, r)| fields(r)).collect();
        let first_diff = source_fields
            .iter()
            .zip(&target_fields)
            .position(|(a, b)| a != b);
        assert!(
            source_fields == target_fields,
            "partition {partition}: {} copies of {} source records; first difference at {first_diff:?}",
            target_fields.len(),
            source_fields.len()
        );
        copied += t.len();
        for (pid, _) in t {
            let who = if first_ids.contains(pid) {
                "first"
            } else if second_ids.contains(pid) {
                "second"
            } else {
                panic!("partition {partition}: a batch of producer {pid}, which neither instance registered");
            };
            *writers.entry(who).or_default() += 1;
        }
    }
    assert_eq!(copied, total, "every record copied once");
    assert!(
        writers.get("first").is_some_and(|n| *n > 0)
            && writers.get("second").is_some_and(|n| *n > 0),
        "both instances copied: {writers:?}"
    );
    eprintln!("{total} records copied exactly once; records per instance {writers:?}");

    let out = std::process::Command::new(common::bin())
        .args(["verify", "--cli-input-json", &input])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("EQUAL: {PARTITIONS} partitions verified")),
        "{stdout}"
    );
}

/// The instances' logs in a temporary directory that is kept (and named) only if the test
/// fails: a passing run leaves nothing behind.
struct LogsKeptOnFailure(Option<tempfile::TempDir>);

impl LogsKeptOnFailure {
    fn new(logs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in logs {
            std::fs::write(dir.path().join(format!("{name}.log")), text).unwrap();
        }
        LogsKeptOnFailure(Some(dir))
    }
}

impl Drop for LogsKeptOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!("instance logs kept in {}", dir.keep().display());
            }
        }
    }
}
