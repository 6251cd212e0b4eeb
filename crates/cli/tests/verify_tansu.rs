//! `kreplicate verify` against two real brokers: exit 0 and EQUAL after a complete copy; exit 1
//! naming the first missing source offset when the target is behind.

use std::process::Command;
use std::time::Duration;

use kreplicate_replicate::config::parse_create_replicator_request;
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
    let config = parse_create_replicator_request(&json)
        .unwrap()
        .value
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
    let config = parse_create_replicator_request(&json)
        .unwrap()
        .value
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
