//! The engine in its own process, killed with SIGKILL ten times under continuous load, each
//! time after it copied a random number (1..=400) of records, and restarted each time: the target ends up equal to the source, record for
//! record — 0 lost, 0 duplicated. In batch mode (the default) with the source's codec (every
//! batch written as it is) and with another codec (every batch re-encoded), and in header
//! mode.
//!
//! The child process is this same test binary, re-executed to run `child_replicator` with the
//! configuration in an environment variable.

use std::time::{Duration, Instant};

use kreplicate_codec::Compression;
use kreplicate_offsets::Translation;
use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::Provenance;
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::continuous_load::{ContinuousLoad, LoadShape};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::stored_records::{end_offsets, records};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_testkit::test_child::{self, TestChild};
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use rand::Rng;

const CHILD_ENV: &str = "KREPLICATE_TEST_CHILD_CONFIG";
const CHILD_MODE_ENV: &str = "KREPLICATE_TEST_CHILD_MODE";
const PARTITIONS: i32 = 3;

fn config_json(source: &TansuBroker, target: &TansuBroker, compression: &str) -> String {
    ReplicatorJson::new("killed", source, target, &["load"])
        .compression(compression)
        .json()
}

fn options(mode: DataMode) -> EngineOptions {
    EngineOptions {
        mode,
        topic_refresh_interval: Duration::from_millis(200),
        checkpoint_interval: Duration::from_millis(100),
        resume_settle: Duration::from_millis(500),
        ..EngineOptions::default()
    }
}

/// Entry point of the child process; does nothing unless started by the parent test.
#[test]
#[ignore = "run only as the child process of the killed_ten_times_* tests"]
fn child_replicator() {
    // Logs go to the parent's chosen file (kept for post-mortems when the test fails).
    let Some(json) = test_child::input(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = CreateReplicatorRequest::parse(&json)
            .unwrap()
            .validate()
            .unwrap();
        let mode = match std::env::var(CHILD_MODE_ENV).as_deref() {
            Ok("header") => DataMode::Header,
            _ => DataMode::Batch,
        };
        let mut replicator = Replicator::start(config, options(mode)).await.unwrap();
        replicator.wait().await.unwrap();
    });
}

fn spawn_child(json: &str, mode: DataMode, log: &std::path::Path) -> TestChild {
    let mode = match mode {
        DataMode::Header => "header",
        DataMode::Batch => "batch",
    };
    TestChild::spawn(
        "child_replicator",
        &[(CHILD_ENV, json), (CHILD_MODE_ENV, mode)],
        log.to_path_buf(),
    )
}

/// Records on the target so far: the sum of its partitions' high watermarks (0 while the
/// topic does not exist yet).
async fn target_count(target: &Client) -> i64 {
    end_offsets(target, "load", PARTITIONS).await.iter().sum()
}

/// Every record of every partition, in offset order.
async fn read_all(client: &Client, topic: &str) -> Vec<Vec<kreplicate_codec::Record>> {
    records(client, topic, PARTITIONS).await
}

/// Batch mode, the default; the load is SNAPPY and so is the target: every batch is written
/// as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_under_load_loses_and_duplicates_nothing() {
    killed_ten_times(DataMode::Batch, "SNAPPY").await;
}

/// Batch mode with another target codec: every batch is re-compressed (its records section
/// as it is, `RecordBatch::recompress`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_batch_mode_reencoding_loses_and_duplicates_nothing() {
    killed_ten_times(DataMode::Batch, "ZSTD").await;
}

/// Header mode: every record carries its source offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_header_mode_loses_and_duplicates_nothing() {
    killed_ten_times(DataMode::Header, "ZSTD").await;
}

async fn killed_ten_times(mode: DataMode, compression: &str) {
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

    // Continuous load on the source.
    let load = ContinuousLoad::start(
        source_client.clone(),
        "load",
        PARTITIONS,
        LoadShape {
            records_per_round: 50,
            pause: Duration::from_millis(20),
            compression: Compression::Snappy,
            // A bound only (over half an hour): the test stops the load after its ten kills.
            max_rounds: 100_000,
        },
    );

    let json = config_json(&source, &target, compression);
    let logs = tempfile::tempdir().unwrap().keep();
    eprintln!("child logs in {}", logs.display());
    for round in 0..10 {
        let log = logs.join(format!("round-{round}.log"));
        let from = target_count(&target_client).await;
        let mut child = spawn_child(&json, mode, &log);
        // Killed by progress, not by a timer: once this run has copied a random number of
        // records, so every kill lands mid-copy however fast or slow the machine is.
        let copied = rand::thread_rng().gen_range(1..=400);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = target_count(&target_client).await;
            if now >= from + copied {
                break;
            }
            if let Some(status) = child.exited() {
                panic!("round {round}: the child ended by itself ({status}); log {log:?}");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the child copied {} of {copied} records in 60 s; log {log:?}",
                now - from
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let status = child.kill(); // SIGKILL
        assert!(
            !status.success(),
            "round {round}: the child was killed, not finished"
        );
    }
    let total = load.stop().await;
    assert!(total > 1000, "load was produced: {total}");

    // A last run catches up.
    let config = CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap();
    let replicator = Replicator::start(config, options(mode)).await.unwrap();
    let mut caught_up = false;
    for _ in 0..300 {
        let copied: usize = read_all(&target_client, "load")
            .await
            .iter()
            .map(Vec::len)
            .sum();
        if copied >= total {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The offset maps, saved every checkpoint interval and rebuilt after each kill (lagging
    // the data path, so completed from the clusters at each start).
    let maps: Vec<_> = (0..PARTITIONS)
        .map(|p| replicator.offset_map("load", p))
        .collect();
    replicator.shutdown().await.unwrap();
    assert!(caught_up, "the target caught up with {total} records");

    let source_records = read_all(&source_client, "load").await;
    let target_records = read_all(&target_client, "load").await;
    for partition in 0..PARTITIONS as usize {
        let (s, t) = (&source_records[partition], &target_records[partition]);
        // Header mode: each copy names its source offset. Batch mode: the load's values are
        // unique ("v" and the sequence number), so a copy's value names its source record.
        let by_value: std::collections::HashMap<_, i64> =
            s.iter().map(|o| (o.value.clone(), o.offset)).collect();
        assert_eq!(by_value.len(), s.len(), "the load's values are unique");
        let copied_from: Vec<i64> = t
            .iter()
            .map(|r| match mode {
                DataMode::Header => Provenance::find(&r.headers).unwrap().unwrap().offset,
                DataMode::Batch => by_value.get(&r.value).copied().unwrap_or(-1),
            })
            .collect();
        let expected: Vec<i64> = s.iter().map(|r| r.offset).collect();
        if copied_from != expected {
            // Post-mortem: target offsets around the divergence and the checkpoints written.
            let i = copied_from
                .iter()
                .zip(&expected)
                .position(|(c, e)| c != e)
                .unwrap_or(0);
            for (r, from) in t.iter().zip(&copied_from).skip(i.saturating_sub(3)).take(6) {
                eprintln!("target {} <- source {from}", r.offset);
            }
            let cps = records(&target_client, "__kreplicate-checkpoints", 1).await;
            for r in cps.iter().flatten() {
                let key = r.key.as_ref().unwrap();
                if key[key.len() - 4..] == [0, 0, 0, partition as u8] {
                    let v = r.value.as_ref().unwrap();
                    let s = i64::from_be_bytes(v[1..9].try_into().unwrap());
                    let t = i64::from_be_bytes(v[9..17].try_into().unwrap());
                    eprintln!(
                        "checkpoint at {}: source_next {s} target_next {t}",
                        r.offset
                    );
                }
            }
        }
        // Report the first divergence rather than two huge lists.
        let first_diff = copied_from
            .iter()
            .zip(&expected)
            .position(|(c, e)| c != e)
            .map(|i| (i, copied_from[i], expected[i]));
        assert!(
            copied_from == expected,
            "partition {partition}: {} copies of {} source records; first divergence \
             (index, copied, expected): {first_diff:?}",
            copied_from.len(),
            expected.len()
        );
        for (s, t) in s.iter().zip(t) {
            assert_eq!(
                (&t.key, &t.value, t.timestamp),
                (&s.key, &s.value, s.timestamp)
            );
        }
        // Consumer-group translation is never wrong across the kills: each source offset maps
        // exactly to its copy, or (before the map's start: a map that could not be completed
        // from the clusters starts afresh at a resume point) is unknown.
        let map = maps[partition].as_ref().expect("an offset map");
        let mut exact = 0;
        for (s, t) in s.iter().zip(t) {
            match map.source_to_target(s.offset) {
                Translation::BeforeReplicationStart { .. } => {}
                other => {
                    assert_eq!(
                        other.exact(),
                        Some(t.offset),
                        "partition {partition}: source offset {}",
                        s.offset
                    );
                    exact += 1;
                }
            }
        }
        eprintln!(
            "partition {partition}: {exact} of {} source offsets translate exactly (map from {})",
            s.len(),
            map.source_start()
        );
    }
}
