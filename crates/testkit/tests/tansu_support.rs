//! Measures what Tansu 0.6 (the test broker) supports, with raw kafka-protocol requests, so
//! `docs/test-brokers.md` rests on tests that fail if the broker's behaviour changes. Each
//! test name is cited in that document.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiVersionsRequest, BrokerId, CreateAclsRequest, CreateTopicsRequest, DescribeAclsRequest,
    DescribeConfigsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest,
    SaslHandshakeRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::python::{self, PyRecord};
use kreplicate_testkit::tansu::raw::{self, RawConnection};
use kreplicate_testkit::tansu::{tansu_bin, TansuBroker, TansuOptions, TANSU_NODE_ID};

const TIMEOUT: Duration = Duration::from_secs(10);

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The (key, min, max) list Tansu 0.6 advertises, as measured (docs/test-brokers.md §APIs).
const ADVERTISED: &[(i16, i16, i16)] = &[
    (0, 0, 11),
    (1, 0, 17),
    (2, 0, 9),
    (3, 0, 12),
    (8, 0, 9),
    (9, 0, 9),
    (10, 0, 6),
    (11, 0, 9),
    (12, 0, 4),
    (13, 0, 5),
    (14, 0, 5),
    (15, 0, 5),
    (16, 0, 5),
    (17, 0, 1),
    (18, 0, 4),
    (19, 0, 7),
    (20, 0, 6),
    (21, 0, 2),
    (22, 0, 5),
    (24, 0, 5),
    (25, 0, 4),
    (26, 0, 4),
    (28, 0, 4),
    (29, 0, 3),
    (30, 0, 3),
    (32, 0, 4),
    (36, 0, 2),
    (42, 0, 2),
    (44, 0, 1),
    (46, 0, 0),
    (50, 0, 0),
    (51, 0, 0),
    (60, 0, 1),
    (69, 0, 0),
    (71, 0, 0),
    (75, 0, 0),
];

#[test]
fn api_versions_match_the_measured_table() {
    let broker = TansuBroker::memory().expect("tansu");
    let resp = raw::request(&broker.addr(), 0, &ApiVersionsRequest::default(), TIMEOUT)
        .expect("ApiVersions v0");
    assert_eq!(resp.error_code, 0);
    let mut got: Vec<(i16, i16, i16)> = resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    got.sort();
    assert_eq!(got, ADVERTISED);
    // Spelled out for the document: what a replicator would want but cannot get.
    for (key, what) in [
        (23, "OffsetForLeaderEpoch"),
        (27, "WriteTxnMarkers"),
        (31, "DeleteAcls"),
        (33, "AlterConfigs"),
        (37, "CreatePartitions"),
        (47, "OffsetDelete"),
        (61, "DescribeProducers"),
        (65, "DescribeTransactions"),
        (66, "ListTransactions"),
        (68, "ConsumerGroupHeartbeat"),
    ] {
        assert!(
            !got.iter().any(|(k, _, _)| *k == key),
            "{what} ({key}) is advertised now"
        );
    }
}

#[test]
fn metadata_reports_node_111_and_the_cluster_id_for_every_broker() {
    let a = TansuBroker::memory().expect("a");
    let b = TansuBroker::memory().expect("b");
    for broker in [&a, &b] {
        let md = raw::request(
            &broker.addr(),
            9,
            &MetadataRequest::default().with_topics(None),
            TIMEOUT,
        )
        .expect("metadata");
        let nodes: Vec<(i32, String, i32)> = md
            .brokers
            .iter()
            .map(|n| (n.node_id.0, n.host.to_string(), n.port))
            .collect();
        assert_eq!(
            nodes,
            vec![(
                TANSU_NODE_ID,
                "127.0.0.1".to_string(),
                i32::from(broker.port())
            )]
        );
        assert_eq!(md.controller_id, BrokerId(TANSU_NODE_ID));
        assert_eq!(
            md.cluster_id.as_ref().map(|c| c.to_string()),
            Some(broker.cluster_id().to_string())
        );
    }
}

#[tokio::test]
async fn produce_to_an_unknown_topic_creates_4_partitions_and_create_topics_default_is_3() {
    let broker = TansuBroker::memory().expect("tansu");
    let record = PyRecord {
        value: Some(b"v".to_vec()),
        ..PyRecord::default()
    };
    python::produce(&broker.addr(), "auto", &[record], "none", &[])
        .await
        .expect("produce");
    let req = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name("defaulted"))
            .with_num_partitions(-1)
            .with_replication_factor(-1)])
        .with_timeout_ms(5000);
    let created = raw::request(&broker.addr(), 4, &req, TIMEOUT).expect("CreateTopics v4");
    assert_eq!(created.topics[0].error_code, 0);
    let topics = python::list_topics(&broker.addr()).await.expect("topics");
    assert_eq!(topics.get("auto"), Some(&4));
    assert_eq!(topics.get("defaulted"), Some(&3));
}

/// Produces `count` records to partition 0 of `topic` as one batch with `codec`.
async fn one_batch(broker: &TansuBroker, topic: &str, count: u8, codec: &str) {
    let records: Vec<PyRecord> = (0..count)
        .map(|i| PyRecord {
            partition: Some(0),
            value: Some(vec![i; 100]),
            timestamp_ms: Some(1_700_000_000_000 + i64::from(i)),
            ..PyRecord::default()
        })
        .collect();
    // A long linger keeps every record in one batch; flush sends it at once.
    let delivered = python::produce(
        &broker.addr(),
        topic,
        &records,
        codec,
        &[("linger.ms", "1000")],
    )
    .await
    .expect("produce");
    let offsets: Vec<i64> = delivered.iter().map(|d| d.1).collect();
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");
}

fn fetch(addr: &str, topic: &str, offset: i64) -> PartitionData {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])]);
    let resp = raw::request(addr, 4, &req, TIMEOUT).expect("Fetch v4");
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(resp.responses[0].partitions.len(), 1);
    resp.responses[0].partitions[0].clone()
}

fn latest_offset(addr: &str, topic: &str, timestamp: i64) -> (i16, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(timestamp)])]);
    let resp = raw::request(addr, 1, &req, TIMEOUT).expect("ListOffsets v1");
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset)
}

#[tokio::test]
async fn fetch_mid_batch_returns_the_whole_batch_in_the_producers_codec() {
    let broker = TansuBroker::memory().expect("tansu");
    one_batch(&broker, "codec", 5, "zstd").await;
    let part = fetch(&broker.addr(), "codec", 2);
    assert_eq!(part.error_code, 0);
    let records = part.records.expect("records");
    // RecordBatch v2 header: baseOffset@0, magic@16, attributes@21, lastOffsetDelta@23,
    // baseTimestamp@27, recordsCount@57.
    let base_offset = i64::from_be_bytes(records[0..8].try_into().unwrap());
    let magic = records[16];
    let attributes = i16::from_be_bytes(records[21..23].try_into().unwrap());
    let last_delta = i32::from_be_bytes(records[23..27].try_into().unwrap());
    let base_ts = i64::from_be_bytes(records[27..35].try_into().unwrap());
    let count = i32::from_be_bytes(records[57..61].try_into().unwrap());
    assert_eq!(
        (
            base_offset,
            magic,
            attributes & 7,
            last_delta,
            base_ts,
            count
        ),
        (0, 2, 4, 4, 1_700_000_000_000, 5)
    );
}

#[tokio::test]
async fn list_offsets_latest_is_last_batch_base_plus_one_but_fetch_high_watermark_is_right() {
    let broker = TansuBroker::memory().expect("tansu");
    let addr = broker.addr();
    one_batch(&broker, "hw", 5, "none").await;
    // Kafka would say 5 (the next offset); Tansu's ListOffsets says the last batch's base
    // offset + 1. The Fetch response's high watermark is right.
    assert_eq!(latest_offset(&addr, "hw", -1), (0, 1));
    assert_eq!(fetch(&addr, "hw", 0).high_watermark, 5);
    one_batch(&broker, "hw", 5, "none").await;
    assert_eq!(latest_offset(&addr, "hw", -1), (0, 6));
    let part = fetch(&addr, "hw", 6);
    assert_eq!(part.high_watermark, 10);
    let records = part.records.expect("records");
    assert_eq!(i64::from_be_bytes(records[0..8].try_into().unwrap()), 5);
}

#[tokio::test]
async fn fetch_past_the_end_returns_error_0_and_no_records() {
    let broker = TansuBroker::memory().expect("tansu");
    one_batch(&broker, "past", 3, "none").await;
    let part = fetch(&broker.addr(), "past", 1000);
    assert_eq!(
        part.error_code, 0,
        "Kafka would answer OFFSET_OUT_OF_RANGE (1)"
    );
    assert!(part.records.as_ref().is_none_or(|r| r.is_empty()));
}

#[tokio::test]
async fn list_offsets_by_timestamp_always_returns_0() {
    let broker = TansuBroker::memory().expect("tansu");
    one_batch(&broker, "ts", 3, "none").await;
    let future = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1_000_000_000;
    // Kafka: -1 (no record at or after that time); Tansu: 0.
    assert_eq!(latest_offset(&broker.addr(), "ts", future), (0, 0));
    assert_eq!(
        latest_offset(&broker.addr(), "ts", 1_700_000_000_002),
        (0, 0)
    );
    // Earliest (-2) is right.
    assert_eq!(latest_offset(&broker.addr(), "ts", -2), (0, 0));
}

#[test]
fn describe_configs_returns_only_set_configs_with_default_source() {
    let broker = TansuBroker::memory().expect("tansu");
    let req = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name("cfg"))
            .with_num_partitions(2)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("3600000"))),
                CreatableTopicConfig::default()
                    .with_name(s("cleanup.policy"))
                    .with_value(Some(s("compact"))),
            ])])
        .with_timeout_ms(5000);
    let created = raw::request(&broker.addr(), 4, &req, TIMEOUT).expect("CreateTopics");
    assert_eq!(created.topics[0].error_code, 0);
    let resp = raw::request(
        &broker.addr(),
        1,
        &DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("cfg"))]),
        TIMEOUT,
    )
    .expect("DescribeConfigs v1");
    let mut configs: Vec<(String, Option<String>, i8)> = resp.results[0]
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_ref().map(|v| v.to_string()),
                c.config_source,
            )
        })
        .collect();
    configs.sort();
    // Source 5 is DEFAULT_CONFIG; Kafka reports 1 (DYNAMIC_TOPIC_CONFIG) for these.
    assert_eq!(
        configs,
        vec![
            ("cleanup.policy".into(), Some("compact".into()), 5),
            ("retention.ms".into(), Some("3600000".into()), 5),
        ]
    );
}

#[test]
fn acls_describe_is_empty_and_create_answers_an_undecodable_response() {
    let broker = TansuBroker::memory().expect("tansu");
    let described = raw::request(
        &broker.addr(),
        1,
        &DescribeAclsRequest::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1),
        TIMEOUT,
    )
    .expect("DescribeAcls v1");
    assert_eq!(described.error_code, 0);
    assert!(described.resources.is_empty());

    let create = CreateAclsRequest::default().with_creations(vec![AclCreation::default()
        .with_resource_type(2)
        .with_resource_name(s("orders"))
        .with_resource_pattern_type(3)
        .with_principal(s("User:alice"))
        .with_host(s("*"))
        .with_operation(3)
        .with_permission_type(3)]);
    let err = raw::request(&broker.addr(), 1, &create, TIMEOUT)
        .expect_err("Tansu's CreateAcls answer should not decode");
    assert!(format!("{err:#}").contains("decoding"), "{err:#}");
}

#[test]
fn authentication_broker_accepts_scram_handshakes_and_closes_on_plain_or_no_auth() {
    let broker = TansuBroker::start(TansuOptions {
        authentication: true,
        ..TansuOptions::default()
    })
    .expect("tansu --authentication");
    let addr = broker.addr();
    for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let resp = raw::request(
            &addr,
            1,
            &SaslHandshakeRequest::default().with_mechanism(s(mech)),
            TIMEOUT,
        )
        .expect("handshake");
        assert_eq!(resp.error_code, 0);
        let mechs: Vec<String> = resp.mechanisms.iter().map(|m| m.to_string()).collect();
        assert_eq!(mechs, vec![mech.to_string()]);
    }
    let mut plain = RawConnection::connect(&addr, TIMEOUT).expect("connect");
    plain
        .send(
            1,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        )
        .unwrap();
    assert_eq!(plain.read_frame().expect("read"), None, "PLAIN not refused");

    let mut anon = RawConnection::connect(&addr, TIMEOUT).expect("connect");
    anon.send(1, &MetadataRequest::default().with_topics(None))
        .unwrap();
    assert_eq!(
        anon.read_frame().expect("read"),
        None,
        "unauthenticated Metadata answered"
    );
}

#[test]
fn tls_cert_and_key_together_are_rejected_by_the_cli() {
    let out = Command::new(tansu_bin())
        .args([
            "broker",
            "--listener-url",
            "tcp://127.0.0.1:1",
            "--cert",
            "/nonexistent/cert.pem",
            "--key",
            "/nonexistent/key.pem",
        ])
        .output()
        .expect("run tansu");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'--cert <CERT>' cannot be used with '--key <KEY>'"),
        "{stderr}"
    );
}

/// `(base offset, attributes, record count)` of every batch in a fetched record set.
fn batches(records: &[u8]) -> Vec<(i64, i16, i32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= records.len() {
        let b = &records[at..];
        let base = i64::from_be_bytes(b[0..8].try_into().unwrap());
        let len = i32::from_be_bytes(b[8..12].try_into().unwrap()) as usize;
        let attributes = i16::from_be_bytes(b[21..23].try_into().unwrap());
        let count = i32::from_be_bytes(b[57..61].try_into().unwrap());
        out.push((base, attributes, count));
        at += 12 + len;
    }
    out
}

#[tokio::test]
async fn read_committed_still_returns_aborted_records() {
    let broker = TansuBroker::memory().expect("tansu");
    let addr = broker.addr();
    python::create_topic(&addr, "txn", 1, &[])
        .await
        .expect("create");
    let recs = |tag: &str, n: usize| -> Vec<PyRecord> {
        (0..n)
            .map(|i| PyRecord {
                partition: Some(0),
                value: Some(format!("{tag}{i}").into_bytes()),
                ..PyRecord::default()
            })
            .collect()
    };
    let id = format!("tx-{}", std::process::id());
    for (tag, n, commit) in [
        ("committed", 3, true),
        ("aborted", 2, false),
        ("after", 1, true),
    ] {
        python::produce_transaction(&addr, "txn", &recs(tag, n), &id, commit)
            .await
            .expect("transaction");
    }
    let mut job = python::ConsumeJob::new(&addr, "txn", 6);
    job.isolation = python::Isolation::ReadCommitted;
    job.linger = Duration::from_millis(500);
    let got: Vec<String> = job
        .run()
        .await
        .expect("read_committed consume")
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
        .collect();
    // Kafka would hide aborted0 and aborted1.
    assert_eq!(
        got,
        [
            "committed0",
            "committed1",
            "committed2",
            "aborted0",
            "aborted1",
            "after0"
        ]
    );

    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_max_bytes(1 << 20)
        .with_isolation_level(1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name("txn"))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let resp = raw::request(&addr, 4, &req, TIMEOUT).expect("Fetch v4 read_committed");
    let part = &resp.responses[0].partitions[0];
    assert!(
        part.aborted_transactions
            .as_ref()
            .is_none_or(|a| a.is_empty()),
        "{:?}",
        part.aborted_transactions
    );
    // Data batches are transactional (0x10); markers are control batches (0x30).
    let layout: Vec<(i64, i16, i32)> = batches(part.records.as_ref().expect("records"))
        .into_iter()
        .map(|(base, attrs, count)| (base, attrs & 0x30, count))
        .collect();
    assert_eq!(
        layout,
        vec![
            (0, 0x10, 3),
            (3, 0x30, 1),
            (4, 0x10, 2),
            (6, 0x30, 1),
            (7, 0x10, 1),
            (8, 0x30, 1)
        ]
    );
}
