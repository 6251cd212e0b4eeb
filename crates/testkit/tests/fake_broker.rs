//! The fake broker answered by a raw client: default and scripted answers, closes, delays,
//! raw frames, and what it records.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreatePartitionsRequest,
    CreatePartitionsResponse, DescribeClusterRequest, FindCoordinatorRequest, MetadataRequest,
    RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{
    default_api_versions, topic_id_for, FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic,
};
use kreplicate_testkit::tansu::raw::{self, RawConnection};

const TIMEOUT: Duration = Duration::from_secs(10);

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

#[test]
fn default_api_versions_lists_client_apis_with_kafka_protocol_ranges() {
    let broker = FakeBroker::start(|_, _| FakeReply::Default).expect("fake broker");
    let resp = raw::request(&broker.addr(), 0, &ApiVersionsRequest::default(), TIMEOUT)
        .expect("ApiVersions v0");
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.api_keys, default_api_versions());
    let fetch = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Fetch as i16)
        .expect("Fetch advertised");
    let range = ApiKey::Fetch.valid_versions();
    assert_eq!(
        (fetch.min_version, fetch.max_version),
        (range.min, range.max)
    );
    for key in [37, 30, 31, 29, 44, 60] {
        assert!(
            resp.api_keys.iter().any(|k| k.api_key == key),
            "key {key} missing"
        );
    }
    for internal in [4, 5, 6, 7, 27, 52, 56, 62, 63, 67] {
        assert!(
            !resp.api_keys.iter().any(|k| k.api_key == internal),
            "broker-internal key {internal} advertised"
        );
    }
    // v3 (flexible request and response body) decodes too.
    let v3 = raw::request(&broker.addr(), 3, &ApiVersionsRequest::default(), TIMEOUT)
        .expect("ApiVersions v3");
    assert_eq!(v3.api_keys, resp.api_keys);
}

#[test]
fn scripted_api_versions_answer_is_returned_exactly() {
    let scripted = vec![
        ApiVersion::default()
            .with_api_key(18)
            .with_min_version(0)
            .with_max_version(3),
        ApiVersion::default()
            .with_api_key(3)
            .with_min_version(1)
            .with_max_version(9),
    ];
    let answer = scripted.clone();
    let broker = FakeBroker::start(move |_, req| match req {
        RequestKind::ApiVersions(_) => FakeReply::Respond(ResponseKind::ApiVersions(
            ApiVersionsResponse::default()
                .with_api_keys(answer.clone())
                .with_throttle_time_ms(7),
        )),
        _ => FakeReply::Default,
    })
    .expect("fake broker");
    let resp = raw::request(&broker.addr(), 1, &ApiVersionsRequest::default(), TIMEOUT)
        .expect("ApiVersions v1");
    assert_eq!(resp.api_keys, scripted);
    assert_eq!(resp.throttle_time_ms, 7);
}

#[test]
fn too_new_api_versions_gets_unsupported_version_in_v0_format() {
    let broker = FakeBroker::start(|_, _| FakeReply::Default).expect("fake broker");
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    // ApiVersions v99: header v2 layout, empty body; Kafka answers in v0 with error 35.
    let mut req = BytesMut::new();
    req.put_i16(18);
    req.put_i16(99);
    req.put_i32(42);
    req.put_i16(-1);
    req.put_u8(0);
    conn.write_frame(&req).unwrap();
    let frame = conn.read_frame().unwrap().expect("an answer");
    assert_eq!(&frame[..4], &42i32.to_be_bytes());
    assert_eq!(&frame[4..6], &35i16.to_be_bytes());
    let recorded = broker.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].api_key,
            recorded[0].api_version,
            recorded[0].correlation_id
        ),
        (18, 99, 42)
    );
    assert_eq!(recorded[0].request, None);
}

#[test]
fn default_metadata_names_itself_and_the_configured_topics() {
    let options = FakeBrokerOptions {
        node_id: 7,
        cluster_id: "fake-a".into(),
        topics: vec![FakeTopic::new("orders", 3), FakeTopic::new("audit", 1)],
        ..FakeBrokerOptions::default()
    };
    let broker = FakeBroker::start_default(options).expect("fake broker");
    let all = raw::request(
        &broker.addr(),
        12,
        &MetadataRequest::default().with_topics(None),
        TIMEOUT,
    )
    .expect("metadata v12");
    assert_eq!(all.brokers.len(), 1);
    assert_eq!(all.brokers[0].node_id.0, 7);
    assert_eq!(all.brokers[0].host.as_str(), "127.0.0.1");
    assert_eq!(all.brokers[0].port, i32::from(broker.port()));
    assert_eq!(all.cluster_id.as_ref().map(|c| c.as_str()), Some("fake-a"));
    assert_eq!(all.controller_id.0, 7);
    let summary: Vec<(String, usize)> = all
        .topics
        .iter()
        .map(|t| (t.name.as_ref().unwrap().0.to_string(), t.partitions.len()))
        .collect();
    assert_eq!(
        summary,
        vec![("orders".to_string(), 3), ("audit".to_string(), 1)]
    );
    let orders = &all.topics[0];
    assert_eq!(orders.topic_id.to_string(), topic_id_for("orders"));
    assert_ne!(topic_id_for("orders"), topic_id_for("audit"));
    for (i, p) in orders.partitions.iter().enumerate() {
        assert_eq!(p.partition_index, i as i32);
        assert_eq!(p.leader_id.0, 7);
        assert_eq!(
            p.replica_nodes.iter().map(|n| n.0).collect::<Vec<_>>(),
            vec![7]
        );
    }

    let some = raw::request(
        &broker.addr(),
        4,
        &MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name("audit"))),
            MetadataRequestTopic::default().with_name(Some(topic_name("missing"))),
        ])),
        TIMEOUT,
    )
    .expect("metadata v4");
    let got: Vec<(String, i16, usize)> = some
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().unwrap().0.to_string(),
                t.error_code,
                t.partitions.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("audit".to_string(), 0, 1), ("missing".to_string(), 3, 0)]
    );
}

#[test]
fn default_find_coordinator_and_describe_cluster_point_at_the_fake() {
    let options = FakeBrokerOptions {
        node_id: 4,
        cluster_id: "fake-b".into(),
        ..FakeBrokerOptions::default()
    };
    let broker = FakeBroker::start_default(options).expect("fake broker");
    let port = i32::from(broker.port());
    let old = raw::request(
        &broker.addr(),
        3,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g1")),
        TIMEOUT,
    )
    .expect("FindCoordinator v3");
    assert_eq!((old.error_code, old.node_id.0, old.port), (0, 4, port));
    assert_eq!(old.host.as_str(), "127.0.0.1");
    let batched = raw::request(
        &broker.addr(),
        4,
        &FindCoordinatorRequest::default().with_coordinator_keys(vec![
            StrBytes::from_static_str("g1"),
            StrBytes::from_static_str("g2"),
        ]),
        TIMEOUT,
    )
    .expect("FindCoordinator v4");
    let got: Vec<(String, i32, i32)> = batched
        .coordinators
        .iter()
        .map(|c| (c.key.to_string(), c.node_id.0, c.port))
        .collect();
    assert_eq!(got, vec![("g1".into(), 4, port), ("g2".into(), 4, port)]);

    let cluster = raw::request(
        &broker.addr(),
        0,
        &DescribeClusterRequest::default(),
        TIMEOUT,
    )
    .expect("DescribeCluster v0");
    assert_eq!(cluster.cluster_id.as_str(), "fake-b");
    assert_eq!(cluster.controller_id.0, 4);
    let nodes: Vec<(i32, i32)> = cluster
        .brokers
        .iter()
        .map(|b| (b.broker_id.0, b.port))
        .collect();
    assert_eq!(nodes, vec![(4, port)]);
}

#[test]
fn close_reply_closes_and_requests_are_recorded() {
    let broker = FakeBroker::start(|_, req| match req {
        RequestKind::Metadata(_) => FakeReply::Close,
        _ => FakeReply::Default,
    })
    .expect("fake broker");
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    conn.call(2, &ApiVersionsRequest::default())
        .expect("ApiVersions");
    let correlation = conn
        .send(9, &MetadataRequest::default().with_topics(None))
        .expect("send metadata");
    assert_eq!(
        conn.read_frame().expect("read"),
        None,
        "connection not closed"
    );

    let mut second = RawConnection::connect(&broker.addr(), TIMEOUT).expect("reconnect");
    second
        .call(0, &ApiVersionsRequest::default())
        .expect("ApiVersions again");

    let recorded = broker.requests();
    let summary: Vec<(u64, i16, i16, i32)> = recorded
        .iter()
        .map(|r| (r.connection, r.api_key, r.api_version, r.correlation_id))
        .collect();
    assert_eq!(
        summary,
        vec![(1, 18, 2, 1), (1, 3, 9, correlation), (2, 18, 0, 1)]
    );
    assert!(recorded
        .iter()
        .all(|r| r.client_id.as_deref() == Some("kreplicate-testkit")));
    assert!(matches!(
        recorded[1].request,
        Some(RequestKind::Metadata(ref m)) if m.topics.is_none()
    ));
    assert_eq!(broker.requests_for(ApiKey::Metadata).len(), 1);
    assert_eq!(broker.connections_accepted(), 2);
    broker.clear_requests();
    assert!(broker.requests().is_empty());
}

#[test]
fn scripted_create_partitions_sees_the_request_and_answers_an_error() {
    let broker = FakeBroker::start(|_, req| match req {
        RequestKind::CreatePartitions(r) => {
            let results = r
                .topics
                .iter()
                .map(|t| {
                    CreatePartitionsTopicResult::default()
                        .with_name(t.name.clone())
                        .with_error_code(37) // INVALID_PARTITIONS
                        .with_error_message(Some(StrBytes::from_static_str("scripted")))
                })
                .collect();
            FakeReply::Respond(ResponseKind::CreatePartitions(
                CreatePartitionsResponse::default().with_results(results),
            ))
        }
        _ => FakeReply::Default,
    })
    .expect("fake broker");
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name("orders"))
            .with_count(6)])
        .with_timeout_ms(1000);
    let resp = raw::request(&broker.addr(), 3, &req, TIMEOUT).expect("CreatePartitions v3");
    assert_eq!(resp.results.len(), 1);
    assert_eq!(resp.results[0].name.0.as_str(), "orders");
    assert_eq!(resp.results[0].error_code, 37);
    let seen = broker.requests_for(ApiKey::CreatePartitions);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request, Some(RequestKind::CreatePartitions(req)));
}

#[test]
fn raw_replies_are_sent_byte_for_byte() {
    let broker = FakeBroker::start(|h, _| match h.request_api_version {
        0 => FakeReply::RespondRaw(Bytes::from_static(b"\x00\x23garbage")),
        _ => FakeReply::WriteRaw(Bytes::from_static(b"\xff\xff\xff\xfe")),
    })
    .expect("fake broker");
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    let correlation = conn.send(0, &ApiVersionsRequest::default()).unwrap();
    let frame = conn.read_frame().unwrap().expect("frame");
    let mut want = correlation.to_be_bytes().to_vec();
    want.extend_from_slice(b"\x00\x23garbage");
    assert_eq!(frame.as_ref(), want.as_slice());

    conn.send(1, &ApiVersionsRequest::default()).unwrap();
    let err = conn.read_frame().expect_err("negative length");
    assert!(
        format!("{err:#}").contains("negative frame length -2"),
        "{err:#}"
    );
}

#[test]
fn delay_then_default_and_no_reply_keep_order() {
    let broker = FakeBroker::start(|h, _| match h.correlation_id {
        1 => FakeReply::NoReply,
        2 => FakeReply::Delay(Duration::from_secs(1), Box::new(FakeReply::Default)),
        _ => FakeReply::Default,
    })
    .expect("fake broker");
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    conn.send(0, &ApiVersionsRequest::default()).unwrap(); // correlation 1: no reply
    conn.send(0, &ApiVersionsRequest::default()).unwrap(); // correlation 2: delayed
    conn.set_read_timeout(Duration::from_millis(200)).unwrap();
    assert!(
        !conn.is_closed_by_peer().unwrap(),
        "no answer expected yet and the connection stays open"
    );
    conn.set_read_timeout(TIMEOUT).unwrap();
    let frame = conn.read_frame().unwrap().expect("delayed answer");
    assert_eq!(&frame[..4], &2i32.to_be_bytes());
    // The connection still works after a skipped answer.
    let resp = conn.call(0, &ApiVersionsRequest::default()).expect("third");
    assert_eq!(resp.api_keys, default_api_versions());
}

#[test]
fn undecodable_requests_close_the_connection_and_are_recorded() {
    let broker = FakeBroker::start(|_, _| FakeReply::Default).expect("fake broker");
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    // API key 999 does not exist.
    conn.write_frame(&[0x03, 0xe7, 0, 0, 0, 0, 0, 5, 0xff, 0xff])
        .unwrap();
    assert_eq!(conn.read_frame().unwrap(), None);
    let recorded = broker.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].api_key,
            recorded[0].correlation_id,
            recorded[0].request.clone()
        ),
        (999, 5, None)
    );

    // A Metadata v1 body cut short.
    let mut conn = RawConnection::connect(&broker.addr(), TIMEOUT).expect("connect");
    conn.write_frame(&[0, 3, 0, 1, 0, 0, 0, 6, 0xff, 0xff, 0, 0, 0, 2])
        .unwrap();
    assert_eq!(conn.read_frame().unwrap(), None);
    let last = broker.requests().pop().expect("recorded");
    assert_eq!(
        (last.api_key, last.api_version, last.correlation_id),
        (3, 1, 6)
    );
    assert_eq!(last.request, None);
}
