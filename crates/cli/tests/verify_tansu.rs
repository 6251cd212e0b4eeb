//! `kreplicate verify` against two real brokers: exit 0 and EQUAL after a complete copy; exit 1
//! naming the first missing source offset when the target is behind.

use std::process::Command;
use std::time::Duration;

use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::{EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;

fn request(source: &TansuBroker, target: &TansuBroker) -> String {
    ReplicatorJson::new("v", source, target, &["audited"]).json()
}

fn records(from: usize, n: usize) -> Vec<PyRecord> {
    (from..from + n)
        .map(|i| PyRecord {
            partition: Some((i % 2) as i32),
            value: Some(format!("audit-{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect()
}

fn verify(json: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kreplicate"))
        .args(["verify", "--cli-input-json", json])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_on_a_complete_copy_and_names_the_first_missing_offset() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "audited", 2, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "audited", &records(0, 40), "lz4", &[])
        .await
        .unwrap();
    let json = request(&source, &target);
    let config = CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap();
    let replicator = Replicator::start(
        config,
        EngineOptions {
            topic_refresh_interval: Duration::from_millis(200),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    python::consume(
        &target.addr(),
        "audited",
        Partitions::All,
        40,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    replicator.shutdown().await.unwrap();

    let (code, out) = tokio::task::spawn_blocking({
        let json = json.clone();
        move || verify(&json)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("EQUAL: 2 partitions verified"), "{out}");
    // The table lines up: every row's result starts under the header's RESULT.
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    let column = header.find("RESULT").unwrap();
    let rows: Vec<&str> = lines.take_while(|l| l.starts_with("audited-")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    for row in rows {
        assert_eq!(row.find("EQUAL"), Some(column), "{out}");
    }

    // The replicator is stopped: new source records are missing on the target.
    python::produce(&source.addr(), "audited", &records(40, 4), "none", &[])
        .await
        .unwrap();
    let (code, out) = tokio::task::spawn_blocking(move || verify(&json))
        .await
        .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audited-0"), "{out}");
    assert!(
        out.contains(
            "DIFFERS at source offset 20: missing on the target: 2 records, source offsets 20..=21"
        ),
        "{out}"
    );
    assert!(out.contains("NOT EQUAL: 2 of 2 partitions differ"), "{out}");
}

/// A selected topic missing on the target is a line of its own (the other topics are still
/// verified), and a selection that matches nothing is not "EQUAL".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_missing_target_topic_and_refuses_an_empty_selection() {
    let source = TansuBroker::memory().unwrap();
    let target = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), "audited", 2, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "audited", &records(0, 4), "none", &[])
        .await
        .unwrap();
    let json = request(&source, &target);
    let started = std::time::Instant::now();
    let (code, out) = tokio::task::spawn_blocking(move || verify(&json))
        .await
        .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DIFFERS at source offset 0: MISSING on the target: audited-0 does not exist"),
        "{out}"
    );
    assert!(
        out.contains("MISSING on the target: audited-1 does not exist"),
        "{out}"
    );
    assert!(out.contains("NOT EQUAL: 2 of 2 partitions differ"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );

    let json = ReplicatorJson::new("v", &source, &target, &["no-such-topic"]).json();
    let (code, out) = tokio::task::spawn_blocking(move || verify(&json))
        .await
        .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("NOTHING VERIFIED: TopicsToReplicate selects no topic"),
        "{out}"
    );

    // `validate --connect` says so too, naming the topics the source has.
    let json = ReplicatorJson::new("v", &source, &target, &["no-such-topic"]).json();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_kreplicate"))
            .args(["validate", "--connect", "--cli-input-json", &json])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "WARNING: TopicsToReplicate/TopicsToExclude select no topic on the source cluster {}, so nothing is replicated; it has 1 topics: audited",
            source.cluster_id()
        )),
        "{stderr}"
    );
}

/// `verify --groups`: a synced group's committed offset on the target is the exact translation
/// of its source commit; moved elsewhere on the target, the line says what it has and what the
/// translation is, and the exit code is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_groups_checks_each_committed_position_against_its_translation() {
    use kreplicate_wire::client::{Client, ClientConfig};
    use kreplicate_wire::group::GroupAdmin;

    let source = TansuBroker::memory().unwrap();
    let target = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), "audited", 2, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "audited", &records(0, 20), "none", &[])
        .await
        .unwrap();
    python::alter_group_offsets(&source.addr(), "audit-app", &[("audited", 0, 6)])
        .await
        .unwrap();
    let mut replicator_json = ReplicatorJson::new("v", &source, &target, &["audited"]);
    replicator_json.group_replication =
        r#"{"ConsumerGroupsToReplicate": ["audit-.*"], "SynchroniseConsumerGroupOffsets": true}"#
            .into();
    let json = replicator_json.json();
    let config = CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap();
    let replicator = Replicator::start(
        config,
        EngineOptions {
            topic_refresh_interval: Duration::from_millis(200),
            group_sync_interval: Duration::from_millis(200),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    // Progress: wait for the group's commit to appear on the target.
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    let admin = GroupAdmin::new(target_client);
    let mut synced = None;
    for _ in 0..300 {
        if let Ok(offsets) = admin.fetch_offsets("audit-app", None).await {
            synced = offsets.get(&("audited".to_string(), 0)).map(|c| c.offset);
            if synced.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replicator.shutdown().await.unwrap();
    assert_eq!(synced, Some(6), "the group's commit synced to the target");

    let args = |json: &str| -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_kreplicate"))
            .args(["verify", "--groups", "--cli-input-json", json])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = tokio::task::spawn_blocking({
        let json = json.clone();
        move || args(&json)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("GROUP audit-app audited-0 -> audited-0: source 6 -> target 6: EQUAL"),
        "{out}"
    );
    assert!(
        out.contains("GROUPS EQUAL: 1 positions of 1 groups verified"),
        "{out}"
    );

    // Someone moves the group on the target: verify says where it is and where it should be.
    python::alter_group_offsets(&target.addr(), "audit-app", &[("audited", 0, 3)])
        .await
        .unwrap();
    let (code, out) = tokio::task::spawn_blocking(move || args(&json))
        .await
        .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "GROUP audit-app audited-0 -> audited-0: source 6 -> target 6: DIFFERS: the target has 3, the translation is 6"
        ),
        "{out}"
    );
    assert!(out.contains("EQUAL: 2 partitions verified"), "{out}");
}

/// `verify --reverse-input`: a two-way pair (ENHANCED) is verified in both directions from the
/// two replicators' files, one table each (lined up under long topic names too); with
/// `--groups`, the group that moved to the target is checked in the reverse direction, where
/// the reverse replicator synced it back. The exit code covers both: a record missing only in
/// the reverse direction makes it 1 while the forward table stays EQUAL. A `--reverse-input`
/// that is not the reverse pair is a configuration error (2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_both_directions_of_a_two_way_pair_with_the_reverse_groups() {
    use kreplicate_wire::client::{Client, ClientConfig};
    use kreplicate_wire::group::GroupAdmin;

    const TOPIC: &str = "audited-ledger-entries-of-the-payments-platform-in-eu-west-1";
    let a = TansuBroker::strict_memory().unwrap();
    let b = TansuBroker::strict_memory().unwrap();
    python::create_topic(&a.addr(), TOPIC, 2, &[])
        .await
        .unwrap();
    python::produce(&a.addr(), TOPIC, &records(0, 20), "none", &[])
        .await
        .unwrap();
    let pair = |name: &str, from: &TansuBroker, to: &TansuBroker| {
        let mut json = ReplicatorJson::new(name, from, to, &[TOPIC]);
        json.group_replication = r#"{"ConsumerGroupsToReplicate": [".*"], "SynchroniseConsumerGroupOffsets": true, "ConsumerGroupOffsetSyncMode": "ENHANCED"}"#.into();
        json.json()
    };
    let (forward_json, reverse_json) = (pair("fwd", &a, &b), pair("rev", &b, &a));
    let options = || EngineOptions {
        topic_refresh_interval: Duration::from_millis(200),
        group_sync_interval: Duration::from_millis(200),
        ..EngineOptions::default()
    };
    let start = |json: &str| {
        let config = CreateReplicatorRequest::parse(json)
            .unwrap()
            .validate()
            .unwrap();
        Replicator::start(config, options())
    };
    let forward = start(&forward_json).await.unwrap();
    // The forward copy first, then apps write to the target (10 records, 5 per partition).
    python::consume(
        &b.addr(),
        TOPIC,
        Partitions::All,
        20,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let reverse = start(&reverse_json).await.unwrap();
    python::produce(&b.addr(), TOPIC, &records(100, 10), "none", &[])
        .await
        .unwrap();
    python::consume(
        &a.addr(),
        TOPIC,
        Partitions::All,
        30,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    // The group moved to the target and committed there: after B's 10 forward copies and 2 of
    // the apps' records of partition 0. The reverse replicator syncs it back to A.
    python::alter_group_offsets(&b.addr(), "audit-app", &[(TOPIC, 0, 12)])
        .await
        .unwrap();
    let admin = GroupAdmin::new(
        Client::connect(ClientConfig::new([a.addr()]))
            .await
            .unwrap(),
    );
    let mut synced_back = None;
    for _ in 0..300 {
        if let Ok(offsets) = admin.fetch_offsets("audit-app", None).await {
            synced_back = offsets.get(&(TOPIC.to_string(), 0)).map(|c| c.offset);
            if synced_back.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    forward.shutdown().await.unwrap();
    reverse.shutdown().await.unwrap();
    // A's partition 0: its 10 records, then the copies of B's 5: B's offset 12 is A's 12.
    assert_eq!(synced_back, Some(12), "the group's commit synced back to A");

    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_kreplicate"))
                .args(&args)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let both = |groups: bool| {
        let mut args = vec!["verify".to_string()];
        if groups {
            args.push("--groups".into());
        }
        args.extend([
            "--cli-input-json".into(),
            forward_json.clone(),
            "--reverse-input".into(),
            reverse_json.clone(),
        ]);
        args
    };
    let (code, out, err) = run(both(true)).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let sections: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(sections.len(), 3, "{out}");
    let (fwd, rev) = (sections[0], sections[1]);
    assert!(
        fwd.starts_with(&format!(
            "FORWARD: replicator fwd: {} -> {}\n",
            a.cluster_id(),
            b.cluster_id()
        )),
        "{out}"
    );
    assert!(
        rev.starts_with(&format!(
            "REVERSE: replicator rev: {} -> {}\n",
            b.cluster_id(),
            a.cluster_id()
        )),
        "{out}"
    );
    // Each table lines up under the long names; counts are exact: forward 10 records per
    // partition, the 5 reverse copies skipped; reverse 5 per partition, the 10 forward copies
    // skipped.
    for (section, counts) in [(fwd, ["10", "10", "5"]), (rev, ["5", "5", "10"])] {
        let lines: Vec<&str> = section.lines().collect();
        let column = lines[1].find("RESULT").unwrap();
        let rows = &lines[2..4];
        for (p, row) in rows.iter().enumerate() {
            assert!(row.starts_with(&format!("{TOPIC}-{p} ")), "{section}");
            assert_eq!(row.find("EQUAL"), Some(column), "{section}");
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(
                cells[3..],
                [counts[0], counts[1], counts[2], "EQUAL"],
                "{section}"
            );
        }
        assert_eq!(lines[4], "EQUAL: 2 partitions verified", "{section}");
    }
    assert!(
        rev.contains(&format!(
            "GROUP audit-app {TOPIC}-0 -> {TOPIC}-0: source 12 -> target 12: EQUAL"
        )),
        "{out}"
    );
    assert!(
        rev.contains("GROUPS EQUAL: 1 positions of 1 groups verified"),
        "{out}"
    );
    // On A the group's commit is the reverse replicator's: Kafka keeps its marker and the
    // forward check leaves it out; Tansu drops commit metadata, so there it is checked, and it
    // is the exact translation either way.
    assert!(fwd.contains("\nGROUPS EQUAL: "), "{out}");
    assert_eq!(sections[2], "BOTH DIRECTIONS EQUAL\n", "{out}");

    // An app writes to the target after the replicators stopped: only the reverse differs.
    python::produce(
        &b.addr(),
        TOPIC,
        &[PyRecord {
            partition: Some(1),
            value: Some(b"late".to_vec()),
            ..PyRecord::default()
        }],
        "none",
        &[],
    )
    .await
    .unwrap();
    let (code, out, err) = run(both(false)).await.unwrap();
    assert_eq!(code, 1, "{out}{err}");
    let sections: Vec<&str> = out.split("\n\n").collect();
    assert!(
        sections[0].contains("EQUAL: 2 partitions verified"),
        "{out}"
    );
    assert!(
        sections[1].contains(
            "DIFFERS at source offset 15: missing on the target: 1 records, source offsets 15..=15"
        ),
        "{out}"
    );
    assert!(
        sections[1].contains("NOT EQUAL: 1 of 2 partitions differ"),
        "{out}"
    );
    assert_eq!(sections[2], "NOT EQUAL: the reverse direction\n", "{out}");

    // The forward file again is not the reverse pair: said before connecting, exit 2.
    let mut args = both(false);
    *args.last_mut().unwrap() = forward_json.clone();
    let (code, out, err) = run(args).await.unwrap();
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "--reverse-input: replicator fwd copies {0} -> {1}, which is not the reverse of replicator fwd ({0} -> {1}); give the replicator that copies {1} -> {0}",
            a.cluster_id(),
            b.cluster_id()
        )),
        "{err}"
    );
}

/// `verify` compares from the source log start by default: the records a replicator started at
/// LATEST never copied are named missing (before, verify began at the first copy and said
/// EQUAL); `--from replicator-start` begins at the first copy, for such a replicator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_from_the_log_start_finds_records_written_before_the_replicator_started() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "audited", 2, &[])
        .await
        .unwrap();
    python::produce(&source.addr(), "audited", &records(0, 10), "none", &[])
        .await
        .unwrap();
    let json = ReplicatorJson::new("v", &source, &target, &["audited"])
        .starting_position("LATEST")
        .json();
    let config = CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap();
    let replicator = Replicator::start(
        config,
        EngineOptions {
            topic_refresh_interval: Duration::from_millis(200),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    // Progress: both partitions copying (their LATEST start is fixed), then 4 new records.
    let metrics = replicator.metrics();
    let copying = r#"kreplicate_partitions{state="copying"} 2"#;
    for _ in 0..300 {
        if metrics.encode().lines().any(|l| l == copying) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.encode().lines().any(|l| l == copying));
    python::produce(&source.addr(), "audited", &records(10, 4), "none", &[])
        .await
        .unwrap();
    python::consume(
        &target.addr(),
        "audited",
        Partitions::All,
        4,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    replicator.shutdown().await.unwrap();

    let run = |from: Option<&'static str>| {
        let json = json.clone();
        tokio::task::spawn_blocking(move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_kreplicate"));
            command.args(["verify", "--cli-input-json", &json]);
            if let Some(from) = from {
                command.args(["--from", from]);
            }
            let out = command.output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
    };
    // Each partition: 5 records before the start, 2 after (copied).
    let (code, out) = run(None).await.unwrap();
    assert_eq!(code, 1, "{out}");
    for p in 0..2 {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("audited-{p} ")))
            .unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[2..6], ["0..7", "7", "2", "0"], "{out}");
        assert!(
            row.ends_with("DIFFERS at source offset 0: missing on the target"),
            "{out}"
        );
    }
    assert!(out.contains("NOT EQUAL: 2 of 2 partitions differ"), "{out}");

    let (code, out) = run(Some("replicator-start")).await.unwrap();
    assert_eq!(code, 0, "{out}");
    for p in 0..2 {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("audited-{p} ")))
            .unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[2..], ["5..7", "2", "2", "0", "EQUAL"], "{out}");
    }
}
