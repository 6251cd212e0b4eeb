//! The Tansu harness and the python peer helpers against real brokers.

use std::path::Path;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    ApiVersionsRequest, CreateTopicsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::python::{self, Isolation, OffsetSpec, Partitions, PyRecord};
use kreplicate_testkit::tansu::{raw, MotoServer, TansuBroker, TansuOptions};

const TIMEOUT: Duration = Duration::from_secs(5);

fn api_versions_ok(addr: &str) -> bool {
    raw::request(addr, 0, &ApiVersionsRequest::default(), TIMEOUT)
        .map(|r| r.error_code == 0 && r.api_keys.iter().any(|k| k.api_key == 18))
        .unwrap_or(false)
}

fn topic_names(addr: &str) -> Vec<String> {
    let md = raw::request(
        addr,
        4,
        &MetadataRequest::default().with_topics(None),
        TIMEOUT,
    )
    .expect("metadata");
    md.topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn two_brokers_answer_and_drop_kills_the_process() {
    let a = TansuBroker::memory().expect("broker a");
    let b = TansuBroker::memory().expect("broker b");
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.cluster_id(), b.cluster_id());
    assert!(api_versions_ok(&a.addr()), "broker a: {}", a.log_contents());
    assert!(api_versions_ok(&b.addr()), "broker b: {}", b.log_contents());

    let pid = a.pid().expect("running broker has a pid");
    assert!(pid_alive(pid));
    let addr = a.addr();
    drop(a);
    assert!(!pid_alive(pid), "tansu pid {pid} still alive after drop");
    assert!(!api_versions_ok(&addr), "{addr} still answers after drop");
    // The other broker is unaffected.
    assert!(api_versions_ok(&b.addr()));
}

#[test]
fn kill_then_restart_keeps_port_and_cluster_id() {
    let mut broker = TansuBroker::memory().expect("broker");
    let (addr, cluster) = (broker.addr(), broker.cluster_id().to_string());
    let create = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("gone")))
            .with_num_partitions(1)
            .with_replication_factor(1)])
        .with_timeout_ms(5000);
    let created = raw::request(&addr, 4, &create, TIMEOUT).expect("CreateTopics");
    assert_eq!(created.topics[0].error_code, 0);
    assert_eq!(topic_names(&addr), vec!["gone".to_string()]);
    let first = broker.pid().expect("pid");
    broker.kill().expect("kill");
    assert_eq!(broker.pid(), None);
    assert!(!broker.is_running());
    assert!(!pid_alive(first));
    assert!(!api_versions_ok(&addr));

    broker.restart().expect("restart");
    assert_eq!(broker.addr(), addr);
    assert_eq!(broker.cluster_id(), cluster);
    assert_ne!(broker.pid(), Some(first));
    assert!(broker.is_running());
    assert!(api_versions_ok(&addr));
    // memory:// storage does not survive a restart.
    assert!(topic_names(&addr).is_empty());
    let log = broker.log_contents();
    assert_eq!(
        log.matches("ready in").count(),
        2,
        "log of both runs: {log}"
    );
}

#[test]
fn a_broker_that_cannot_start_reports_its_log() {
    // The listener port is taken, so Tansu exits at start-up with the reason in its log.
    let port = kreplicate_testkit::ports::free_port();
    let mut opts = TansuOptions {
        port: Some(port),
        ..TansuOptions::default()
    };
    opts.cluster_id = Some("bad".into());
    // Occupy the port so the listener cannot bind.
    let _hold = std::net::TcpListener::bind(("127.0.0.1", port)).expect("hold port");
    let err = match TansuBroker::start(opts) {
        Ok(_) => panic!("tansu started on a port that is in use"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(err.contains("tansu-"), "error names the log file: {err}");
}

fn sample_records() -> Vec<PyRecord> {
    (0..10i64)
        .map(|i| PyRecord {
            partition: Some((i % 2) as i32),
            key: if i == 3 {
                None
            } else {
                Some(format!("k{i}").into_bytes())
            },
            value: match i {
                4 => None,
                5 => Some(Vec::new()),
                _ => Some(vec![i as u8, 0, 255, b'v']),
            },
            headers: vec![
                ("h1".into(), Some(b"a".to_vec())),
                ("h1".into(), Some(b"b".to_vec())),
                ("h2".into(), None),
                ("h3".into(), Some(Vec::new())),
            ],
            timestamp_ms: Some(1_700_000_000_000 + i),
        })
        .collect()
}

#[tokio::test]
async fn python_produce_then_consume_round_trips_exactly() {
    let broker = TansuBroker::memory().expect("broker");
    let bootstrap = broker.addr();
    python::create_topic(&bootstrap, "rt", 2, &[("retention.ms", "3600000")])
        .await
        .expect("create topic");
    let records = sample_records();
    let delivered = python::produce(&bootstrap, "rt", &records, "zstd", &[])
        .await
        .expect("produce");
    // Partition 0 gets records 0,2,4,6,8 at offsets 0..5; partition 1 the odd ones.
    let expected_positions: Vec<(i32, i64)> = (0..10i64).map(|i| ((i % 2) as i32, i / 2)).collect();
    assert_eq!(delivered, expected_positions);

    let mut consumed = python::consume(
        &bootstrap,
        "rt",
        Partitions::All,
        10,
        Isolation::ReadCommitted,
        Duration::from_secs(20),
    )
    .await
    .expect("consume");
    consumed.sort_by_key(|r| (r.partition, r.offset));
    let mut expected: Vec<(i64, &PyRecord)> = (0..10i64).zip(records.iter()).collect();
    expected.sort_by_key(|(i, _)| ((i % 2), i / 2));
    assert_eq!(consumed.len(), 10);
    for (got, (i, want)) in consumed.iter().zip(expected) {
        assert_eq!((got.partition, got.offset), ((i % 2) as i32, i / 2));
        assert_eq!(got.key, want.key, "key of record {i}");
        assert_eq!(got.value, want.value, "value of record {i}");
        assert_eq!(got.headers, want.headers, "headers of record {i}");
        assert_eq!(got.timestamp_type, 1, "CreateTime for record {i}");
        assert_eq!(
            Some(got.timestamp),
            want.timestamp_ms,
            "timestamp of record {i}"
        );
    }

    let only_p1 = python::consume(
        &bootstrap,
        "rt",
        Partitions::Only(vec![1]),
        5,
        Isolation::ReadUncommitted,
        Duration::from_secs(20),
    )
    .await
    .expect("consume partition 1");
    let offsets: Vec<(i32, i64)> = only_p1.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(offsets, vec![(1, 0), (1, 1), (1, 2), (1, 3), (1, 4)]);

    // Latest is not asserted here: Tansu 0.6 reports the last batch's base offset + 1 (see
    // tansu_support.rs, `list_offsets_latest_is_last_batch_base_plus_one_but_fetch_...`).
    assert_eq!(
        python::list_offsets(&bootstrap, "rt", OffsetSpec::Earliest)
            .await
            .expect("earliest"),
        vec![(0, 0), (1, 0)]
    );
    let topics = python::list_topics(&bootstrap).await.expect("topics");
    assert_eq!(topics.get("rt"), Some(&2));
    let configs = python::describe_topic_config(&bootstrap, "rt")
        .await
        .expect("configs");
    assert_eq!(
        configs.get("retention.ms"),
        Some(&Some("3600000".to_string()))
    );
}

#[tokio::test]
async fn consume_fails_clearly_when_records_are_missing() {
    let broker = TansuBroker::memory().expect("broker");
    let bootstrap = broker.addr();
    python::produce(&bootstrap, "short", &sample_records()[..2], "none", &[])
        .await
        .expect("produce");
    let err = python::consume(
        &bootstrap,
        "short",
        Partitions::All,
        3,
        Isolation::ReadUncommitted,
        Duration::from_secs(3),
    )
    .await
    .expect_err("only 2 of 3 records exist");
    let msg = format!("{err:#}");
    assert!(msg.contains("consumed 2 of 3 records from short"), "{msg}");
}

#[tokio::test]
async fn consume_waits_for_a_topic_created_later() {
    let broker = TansuBroker::memory().expect("broker");
    let bootstrap = broker.addr();
    let consumer = python::consume(
        &bootstrap,
        "later",
        Partitions::All,
        2,
        Isolation::ReadUncommitted,
        Duration::from_secs(20),
    );
    let producer = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        python::create_topic(&bootstrap, "later", 2, &[]).await?;
        python::produce(&bootstrap, "later", &sample_records()[..2], "none", &[]).await
    };
    let (consumed, produced) = tokio::join!(consumer, producer);
    assert_eq!(produced.expect("produce"), vec![(0, 0), (1, 0)]);
    let mut offsets: Vec<(i32, i64)> = consumed
        .expect("consume")
        .iter()
        .map(|r| (r.partition, r.offset))
        .collect();
    offsets.sort();
    assert_eq!(offsets, vec![(0, 0), (1, 0)]);
}

#[tokio::test]
async fn group_consume_commits_and_admin_reads_and_alters_offsets() {
    let broker = TansuBroker::memory().expect("broker");
    let bootstrap = broker.addr();
    python::create_topic(&bootstrap, "grp", 2, &[])
        .await
        .expect("create");
    python::produce(&bootstrap, "grp", &sample_records(), "lz4", &[])
        .await
        .expect("produce");
    let group = format!("g-{}", std::process::id());
    let got = python::consume_group(&bootstrap, "grp", &group, 10, Duration::from_secs(30))
        .await
        .expect("group consume");
    assert_eq!(got.len(), 10);
    assert_eq!(
        python::group_offsets(&bootstrap, &group)
            .await
            .expect("offsets"),
        vec![("grp".to_string(), 0, 5), ("grp".to_string(), 1, 5)]
    );
    assert!(python::list_groups(&bootstrap)
        .await
        .expect("groups")
        .contains(&group));

    let other = format!("{group}-set");
    python::alter_group_offsets(&bootstrap, &other, &[("grp", 0, 2), ("grp", 1, 4)])
        .await
        .expect("alter");
    assert_eq!(
        python::group_offsets(&bootstrap, &other)
            .await
            .expect("offsets"),
        vec![("grp".to_string(), 0, 2), ("grp".to_string(), 1, 4)]
    );
}

#[tokio::test]
async fn s3_storage_survives_a_restart() {
    let moto = MotoServer::start().expect("moto");
    let mut broker = TansuBroker::start(TansuOptions::s3(&moto)).expect("s3 broker");
    let bootstrap = broker.addr();
    python::produce(&bootstrap, "keep", &sample_records(), "gzip", &[])
        .await
        .expect("produce");
    let keys = moto.list_keys(moto.bucket()).expect("list bucket");
    let prefix = format!("clusters/{}/topics/keep/", broker.cluster_id());
    assert!(
        keys.iter().any(|k| k.starts_with(&prefix)),
        "no object under {prefix}: {keys:?}"
    );

    broker.restart().expect("restart");
    let consumed = python::consume(
        &bootstrap,
        "keep",
        Partitions::All,
        10,
        Isolation::ReadUncommitted,
        Duration::from_secs(20),
    )
    .await
    .expect("consume after restart");
    let mut values: Vec<Option<Vec<u8>>> = consumed.into_iter().map(|r| r.value).collect();
    let mut want: Vec<Option<Vec<u8>>> = sample_records().into_iter().map(|r| r.value).collect();
    values.sort();
    want.sort();
    assert_eq!(values, want);
}
