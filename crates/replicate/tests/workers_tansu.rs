//! Worker groups on Tansu (behind the strict layer): separate worker processes share one
//! replicator of 24 partitions under continuous load. One, two, then three workers split
//! the partitions; one is SIGKILLed and its partitions move; a fourth joins the two left; every worker is restarted in
//! turn (SIGTERM: LeaveGroup). Every phase ends by progress (the target's last batches come
//! from the expected number of producers, balanced), never by a timer. At the end the
//! target equals the source record for record (provenance offsets exact: 0 lost, 0
//! duplicated) although most partitions changed writers (producer ids) several times: two
//! writers at once would both resume from the target and copy the same offsets twice.
//!
//! Each worker is this test binary re-executed to run `child_worker` (as in kill_resume.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kreplicate_codec::Compression;
use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::Provenance;
use kreplicate_replicate::{DataMode, EngineOptions, Replicator, WorkerGroupOptions};
use kreplicate_testkit::continuous_load::{ContinuousLoad, LoadShape};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::registered_producers::registered_producer_ids;
use kreplicate_testkit::stored_records::{
    caught_up, end_offsets, last_writers, records_with_producer_ids,
};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_testkit::test_child::{self, TestChild};
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::high_watermark;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const CHILD_ENV: &str = "KREPLICATE_TEST_WORKER_CONFIG";
const PARTITIONS: i32 = 24;
const SESSION: Duration = Duration::from_secs(4);

fn options() -> EngineOptions {
    EngineOptions {
        // Header mode: each copy names its source offset, which is what proves one writer at
        // a time below.
        mode: DataMode::Header,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(100),
        resume_settle: Duration::from_millis(500),
        workers: Some(WorkerGroupOptions {
            session_timeout: SESSION,
            heartbeat_interval: Duration::from_millis(400),
            rebalance_timeout: Duration::from_secs(20),
            metrics_address: None,
        }),
        ..EngineOptions::default()
    }
}

/// Entry point of a worker process; does nothing unless started by the parent test.
#[test]
#[ignore = "run only as a child process of the worker tests"]
fn child_worker() {
    let Some(json) = test_child::input(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = CreateReplicatorRequest::parse(&json)
            .unwrap()
            .validate()
            .unwrap();
        let replicator = Replicator::start(config, options()).await.unwrap();
        test_child::terminated().await;
        replicator.shutdown().await.unwrap();
    });
}

fn spawn_worker(json: &str, log: std::path::PathBuf) -> TestChild {
    TestChild::spawn("child_worker", &[(CHILD_ENV, json)], log)
}

/// Which running worker registered each producer id (from its log's "producer id registered
/// on the target" lines).
fn producer_owners(workers: &[TestChild]) -> BTreeMap<i64, String> {
    let mut owners = BTreeMap::new();
    for w in workers {
        let text = std::fs::read_to_string(w.log()).unwrap_or_default();
        for pid in registered_producer_ids(&text) {
            owners.insert(pid, w.log().display().to_string());
        }
    }
    owners
}

/// Waits until every partition got new copies since `since` (its end offsets) and its last
/// batches come from exactly `n` producers, each writing 24/n partitions (±1): the group
/// settled on `n` workers. Returns how long it took and the end offsets.
async fn settle(
    target: &Client,
    n: usize,
    since: &[i64],
    what: &str,
    workers: &mut [TestChild],
) -> (Duration, Vec<i64>) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    loop {
        let now = last_writers(target, "load", PARTITIONS).await;
        let progressed = now.iter().zip(since).all(|((end, _), s)| end > s);
        // A worker may write under more than one producer id (a partition that continues
        // under a fresh id after a refusal): producer ids are grouped by the worker whose log
        // registered them.
        let owners = producer_owners(workers);
        let mut per_pid: BTreeMap<i64, usize> = BTreeMap::new();
        let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
        for (_, pid) in &now {
            if let Some(pid) = pid {
                *per_pid.entry(*pid).or_default() += 1;
                let owner = owners
                    .get(pid)
                    .cloned()
                    .unwrap_or_else(|| format!("unknown producer {pid}"));
                *per_worker.entry(owner).or_default() += 1;
            }
        }
        let (lo, hi) = (PARTITIONS as usize / n, (PARTITIONS as usize).div_ceil(n));
        let balanced = per_worker.len() == n && per_worker.values().all(|c| (lo..=hi).contains(c));
        if progressed && balanced {
            return (started.elapsed(), now.iter().map(|(e, _)| *e).collect());
        }
        for w in workers.iter_mut() {
            if let Some(status) = w.exited() {
                panic!(
                    "{what}: a worker ended by itself ({status}); log {:?}",
                    w.log()
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not settled on {n} workers in 120 s: last writers per producer {per_pid:?}, per worker {per_worker:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The target partitions' end offsets now.
async fn ends_now(target: &Client) -> Vec<i64> {
    end_offsets(target, "load", PARTITIONS).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_partitions_and_handoffs_lose_and_duplicate_nothing() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let source_client = Client::connect(ClientConfig::new([source.addr()]))
        .await
        .unwrap();
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    Admin::new(source_client.clone())
        .create_topics(&[NewTopic::new("load", PARTITIONS, 1)], false)
        .await
        .unwrap();

    let load = ContinuousLoad::start(
        source_client.clone(),
        "load",
        PARTITIONS,
        LoadShape {
            records_per_round: PARTITIONS as usize * 2,
            pause: Duration::from_millis(50),
            compression: Compression::None,
            // A bound only (over an hour): the test stops the load after its last phase.
            max_rounds: 100_000,
        },
    );

    // A unique replicator name: a unique worker group (Tansu can wedge a reused one).
    let name = format!("workers-{}", std::process::id());
    let json = ReplicatorJson::new(&name, &source, &target, &["load"]).json();
    let logs = tempfile::tempdir().unwrap().keep();
    eprintln!("worker logs in {}", logs.display());
    let mut spawned = 0;
    let mut next_worker = |json: &str| {
        spawned += 1;
        spawn_worker(json, logs.join(format!("worker-{spawned}.log")))
    };

    // Scale out one worker at a time: 1, 2, 3 (the times go to docs/scaling.md).
    let mut workers: Vec<TestChild> = Vec::new();
    for n in 1..=3 {
        workers.push(next_worker(&json));
        let ends = ends_now(&target_client).await;
        let (took, _) = settle(&target_client, n, &ends, "scaling out", &mut workers).await;
        eprintln!("{} -> {n} workers: settled in {took:?}", n - 1);
    }

    // SIGKILL one: its partitions move to the two others.
    let mut killed = workers.remove(0);
    killed.kill();
    let ends = ends_now(&target_client).await;
    let (moved, ends) = settle(&target_client, 2, &ends, "after SIGKILL", &mut workers).await;
    eprintln!("a SIGKILLed worker's partitions moved in {moved:?} (session timeout {SESSION:?})");
    assert!(
        moved < SESSION * 4,
        "the SIGKILLed worker's partitions moved in {moved:?}: more than the session timeout ({SESSION:?}) plus a rebalance"
    );

    // A fourth worker joins the two left.
    workers.push(next_worker(&json));
    let (took, _) = settle(&target_client, 3, &ends, "a fourth worker", &mut workers).await;
    eprintln!("a fourth worker joined; settled in {took:?}");

    // Rolling restart: each stopped with SIGTERM (LeaveGroup) and replaced.
    for i in 0..workers.len() {
        // Stopped before its replacement starts (a Deployment with maxSurge 0, as in
        // deploy/kubernetes/): on Tansu, a member leaving while others' JoinGroups are
        // pending stalls the group for about 30 s (docs/test-brokers.md).
        let old = workers.remove(i);
        old.terminate();
        workers.insert(i, next_worker(&json));
        let ends = ends_now(&target_client).await;
        let (took, _) = settle(&target_client, 3, &ends, "rolling restart", &mut workers).await;
        eprintln!("rolling restart step {i} settled in {took:?}");
    }

    let total = load.stop().await;
    let caught_up = caught_up(&target_client, "load", PARTITIONS, total).await;
    for w in workers {
        w.terminate();
    }
    assert!(caught_up, "the target caught up with {total} records");

    let source_records = records_with_producer_ids(&source_client, "load", PARTITIONS).await;
    let target_records = records_with_producer_ids(&target_client, "load", PARTITIONS).await;
    let mut writers_per_partition = Vec::new();
    for partition in 0..PARTITIONS as usize {
        let (s, t) = (&source_records[partition], &target_records[partition]);
        let copied_from: Vec<i64> = t
            .iter()
            .map(|(_, r)| Provenance::find(&r.headers).unwrap().unwrap().offset)
            .collect();
        let expected: Vec<i64> = s.iter().map(|(_, r)| r.offset).collect();
        let first_diff = copied_from.iter().zip(&expected).position(|(c, e)| c != e);
        assert!(
            copied_from == expected,
            "partition {partition}: {} copies of {} source records; first divergence at index {first_diff:?}",
            copied_from.len(),
            expected.len()
        );
        for ((_, s), (_, t)) in s.iter().zip(t) {
            assert_eq!(
                (&t.key, &t.value, t.timestamp),
                (&s.key, &s.value, s.timestamp)
            );
        }
        // Successive writers of the partition (a worker's producer comes back when its
        // partition returns to it). Two writers at once would both have resumed from the
        // target and copied the same source offsets: the exact provenance above rules it out.
        let mut runs: Vec<i64> = Vec::new();
        for (pid, _) in t {
            if runs.last() != Some(pid) {
                runs.push(*pid);
            }
        }
        writers_per_partition.push(runs.len());
    }
    let all_writers: BTreeSet<i64> = target_records.iter().flatten().map(|(p, _)| *p).collect();
    eprintln!(
        "{total} records copied exactly; {} producers in all; writers per partition {writers_per_partition:?}",
        all_writers.len()
    );
    assert!(
        writers_per_partition.iter().any(|n| *n > 1),
        "partitions moved between workers"
    );
}

/// Cluster-level tasks run on one worker only: three workers (in this process, each with its
/// own client id) share a replicator that copies topic configs and synchronises a group's
/// offsets. Counted on the strict target (and source) by client id: the target topic is
/// created by one request of one worker, a config change is copied by one worker, the
/// group's offsets are committed on the target by one worker, and only that worker reads
/// the source's topic configs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_tasks_run_once_not_once_per_worker() {
    use kafka_protocol::messages::ApiKey;
    use kreplicate_wire::admin::AlterOp;
    use kreplicate_wire::group::{GroupAdmin, OffsetToCommit};

    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    let source_client = Client::connect(ClientConfig::new([source.addr()]))
        .await
        .unwrap();
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    let source_admin = Admin::new(source_client.clone());
    source_admin
        .create_topics(&[NewTopic::new("load", 6, 1)], false)
        .await
        .unwrap();
    let producer = Producer::new(source_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    for i in 0..600i32 {
        let record = ProducerRecord {
            value: Some(Bytes::from(format!("v{i}"))),
            ..ProducerRecord::default()
        };
        drop(producer.send("load", i % 6, record).await.unwrap());
    }
    producer.flush().await;
    // The group consumed half of each partition on the source.
    let group = format!("app-{}", std::process::id());
    let commits: Vec<OffsetToCommit> = (0..6)
        .map(|partition| OffsetToCommit {
            topic: "load".to_string(),
            partition,
            offset: 50,
            metadata: None,
        })
        .collect();
    GroupAdmin::new(source_client.clone())
        .commit_offsets(&group, &commits)
        .await
        .unwrap();

    let name = format!("tasks-{}", std::process::id());
    let mut json = ReplicatorJson::new(&name, &source, &target, &["load"]);
    json.group_replication = format!(
        r#"{{"ConsumerGroupsToReplicate": ["{group}"], "SynchroniseConsumerGroupOffsets": true, "DetectAndCopyNewConsumerGroups": false, "ConsumerGroupOffsetSyncMode": "LEGACY"}}"#
    );
    let json = json.json();
    let mut replicators = Vec::new();
    for w in 0..3 {
        let config = CreateReplicatorRequest::parse(&json)
            .unwrap()
            .validate()
            .unwrap();
        let options = EngineOptions {
            client_id: format!("worker-{w}"),
            group_sync_interval: Duration::from_millis(300),
            ..options()
        };
        replicators.push(Replicator::start(config, options).await.unwrap());
    }

    // Progress, not time: all copied, the group's offsets on the target, then a config change.
    let group_admin = GroupAdmin::new(target_client.clone());
    let mut synced = false;
    for _ in 0..600 {
        let mut copied = 0;
        for p in 0..6 {
            copied += high_watermark(&target_client, "load", p).await.unwrap_or(0);
        }
        let committed = group_admin
            .fetch_offsets(&group, None)
            .await
            .unwrap_or_default();
        if copied == 600 && committed.len() == 6 {
            assert!(committed.values().all(|c| c.offset == 50), "{committed:?}");
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(synced, "copied and the group's offsets synced");
    source_admin
        .incremental_alter_topic_configs("load", &[AlterOp::set("retention.ms", "7200000")])
        .await
        .unwrap();
    let target_admin = Admin::new(target_client.clone());
    let mut copied_config = false;
    for _ in 0..600 {
        let configs = target_admin
            .describe_topic_configs(&["load".to_string()])
            .await
            .unwrap();
        let retention = configs["load"]
            .iter()
            .find(|e| e.name == "retention.ms")
            .and_then(|e| e.value.clone());
        if retention.as_deref() == Some("7200000") {
            copied_config = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(copied_config, "the config change reached the target");
    // More refresh and sync rounds of every worker before counting (more chances to
    // repeat a task; the counts cannot grow by waiting if only one worker runs them).
    tokio::time::sleep(Duration::from_secs(2)).await;
    for r in replicators {
        r.shutdown().await.unwrap();
    }

    let on_target = target.strict().unwrap().requests();
    let on_source = source.strict().unwrap().requests();
    let senders = |log: &[kreplicate_testkit::strict::SeenRequest], api: ApiKey, name: &str| {
        let matching: Vec<String> = log
            .iter()
            .filter(|r| r.api == api && r.names.iter().any(|n| n == name))
            .map(|r| r.client_id.clone())
            .collect();
        let distinct: BTreeSet<String> = matching.iter().cloned().collect();
        (matching.len(), distinct)
    };
    let (creates, creators) = senders(&on_target, ApiKey::CreateTopics, "load");
    assert_eq!(
        (creates, creators.len()),
        (1, 1),
        "CreateTopics for load: {creators:?}"
    );
    let (_, alterers) = senders(&on_target, ApiKey::IncrementalAlterConfigs, "load");
    assert_eq!(alterers.len(), 1, "config copy by one worker: {alterers:?}");
    let (_, committers) = senders(&on_target, ApiKey::OffsetCommit, &group);
    assert_eq!(
        committers.len(),
        1,
        "group offsets committed by one worker: {committers:?}"
    );
    let config_readers: BTreeSet<String> = on_source
        .iter()
        .filter(|r| r.api == ApiKey::DescribeConfigs && r.client_id.starts_with("worker-"))
        .map(|r| r.client_id.clone())
        .collect();
    assert_eq!(
        config_readers.len(),
        1,
        "source configs read by one worker: {config_readers:?}"
    );
    // And they are the same worker.
    assert_eq!(creators, alterers);
    assert_eq!(creators, committers);
    assert_eq!(creators, config_readers);
}
