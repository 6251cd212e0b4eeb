//! `kreplicate plan` against real Tansu brokers: it lists what `run` would do and writes
//! nothing (Tansu ignores CreateTopics validate_only, so the plan must not send it).

use std::process::Command;

use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};

fn plan(json: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kreplicate"))
        .args(["plan", "--cli-input-json", json])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn topics_on(broker: &TansuBroker) -> Vec<String> {
    let client = Client::connect(ClientConfig::from_bootstrap_string(&broker.addr()).unwrap())
        .await
        .unwrap();
    let mut names: Vec<String> = client
        .metadata()
        .await
        .unwrap()
        .topics
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_lists_topics_to_create_and_writes_nothing() {
    let source = TansuBroker::memory().unwrap();
    let target = TansuBroker::memory().unwrap();
    python::create_topic(
        &source.addr(),
        "plan-orders",
        3,
        &[("retention.ms", "3600000")],
    )
    .await
    .unwrap();
    python::create_topic(&source.addr(), "plan-audit", 2, &[])
        .await
        .unwrap();
    python::create_topic(&target.addr(), "plan-audit", 2, &[])
        .await
        .unwrap();
    let json = ReplicatorJson::new("planned", &source, &target, &["plan-.*"]).json();

    let (code, stdout, stderr) = plan(&json);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let expected = format!(
        "plan for replicator planned: {sid} ({saddr}) -> {tid} ({taddr}); nothing was written\n\
         selected source topics: 2\n\
         topics to create on the target: 1\n\
         \x20 plan-orders  3 partitions, the target's default replication factor, retention.ms=3600000 (from plan-orders)\n\
         already in step: plan-audit\n\
         consumer group offsets: not synced (SynchroniseConsumerGroupOffsets is off)\n\
         cannot know before run: 1\n\
         \x20 whether target cluster {tid} accepts the 1 topic(s) to create with their configs: it does not offer CreatePartitions, so it may ignore CreateTopics validate_only (Tansu creates the topic), and the plan does not ask\n\
         result: run can do all of the above\n",
        sid = source.cluster_id(),
        saddr = source.addr(),
        tid = target.cluster_id(),
        taddr = target.addr(),
    );
    assert_eq!(stdout, expected, "stderr: {stderr}");
    // Nothing was created: the target still has only its own topic.
    assert_eq!(topics_on(&target).await, vec!["plan-audit".to_string()]);

    // A selection that matches nothing says so, naming what the source has.
    let json = ReplicatorJson::new("planned", &source, &target, &["nomatch-.*"]).json();
    let (code, stdout, stderr) = plan(&json);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(
        stdout.contains(
            "selected source topics: 0\n  warning: TopicsToReplicate selects no topic; the source has: "
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("plan-audit") && stdout.contains("plan-orders"),
        "{stdout}"
    );
}

/// A selected group's committed position: unknown before any run, its exact target position
/// once a run has copied the records and saved its offset map.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_translates_group_positions_through_the_saved_offset_maps() {
    use kreplicate_replicate::CreateReplicatorRequest;
    use kreplicate_replicate::{EngineOptions, Replicator};
    use kreplicate_testkit::python::{Isolation, Partitions, PyRecord};
    use std::time::Duration;

    let source = TansuBroker::memory().unwrap();
    let target = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), "plan-g", 1, &[])
        .await
        .unwrap();
    let records: Vec<PyRecord> = (0..10)
        .map(|i| PyRecord {
            partition: Some(0),
            value: Some(format!("r{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect();
    python::produce(&source.addr(), "plan-g", &records, "none", &[])
        .await
        .unwrap();
    python::alter_group_offsets(&source.addr(), "plan-app", &[("plan-g", 0, 6)])
        .await
        .unwrap();
    let mut replicator_json = ReplicatorJson::new("grouped", &source, &target, &["plan-g"]);
    replicator_json.group_replication =
        r#"{"ConsumerGroupsToReplicate": ["plan-.*"], "SynchroniseConsumerGroupOffsets": true}"#
            .into();
    let json = replicator_json.json();

    let before = tokio::task::spawn_blocking({
        let json = json.clone();
        move || plan(&json)
    })
    .await
    .unwrap();
    assert_eq!(before.0, 0, "{}\n{}", before.1, before.2);
    assert!(
        before.1.contains(
            "consumer groups whose offsets would be synced: 1\n  plan-app:\n    plan-g-0 @ 6 -> plan-g-0 unknown until its records are copied\n  (no offset maps on the target yet"
        ),
        "{}",
        before.1
    );
    assert_eq!(
        topics_on(&target).await,
        Vec::<String>::new(),
        "the plan wrote nothing"
    );

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
        "plan-g",
        Partitions::All,
        10,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    replicator.shutdown().await.unwrap();

    let after = tokio::task::spawn_blocking(move || plan(&json))
        .await
        .unwrap();
    assert_eq!(after.0, 0, "{}\n{}", after.1, after.2);
    assert!(
        after.1.contains(
            "consumer groups whose offsets would be synced: 1\n  plan-app:\n    plan-g-0 @ 6 -> plan-g-0 6\n"
        ),
        "{}",
        after.1
    );
    assert!(after.1.contains("already in step: plan-g"), "{}", after.1);
}
