//! Group requests checked field by field against the scriptable fake broker: what Tansu 0.6
//! does not give back (commit metadata, member assignments) and coordinator moves.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeGroupsResponse, FindCoordinatorResponse, GroupId,
    OffsetCommitResponse, OffsetFetchResponse, RequestHeader, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeReply};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::group::{
    encode_assignment, CommittedOffset, GroupAdmin, OffsetToCommit, TopicPartitions,
};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// FindCoordinator pointing at the fake broker itself, in the shape of the request's version.
fn coordinator_reply(header: &RequestHeader, port: u16) -> FakeReply {
    let response = if header.request_api_version >= 4 {
        FindCoordinatorResponse::default().with_coordinators(vec![Coordinator::default()
            .with_key(s("g"))
            .with_node_id(BrokerId(1))
            .with_host(s("127.0.0.1"))
            .with_port(i32::from(port))])
    } else {
        FindCoordinatorResponse::default()
            .with_node_id(BrokerId(1))
            .with_host(s("127.0.0.1"))
            .with_port(i32::from(port))
    };
    FakeReply::Respond(ResponseKind::FindCoordinator(response))
}

async fn groups_for(broker: &FakeBroker, retry: RetryPolicy) -> GroupAdmin {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = retry;
    config.connection.request_timeout = Duration::from_secs(5);
    GroupAdmin::new(
        Client::connect(config)
            .await
            .expect("connect to the fake broker"),
    )
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
    .with_deadline(Some(Duration::from_secs(5)))
}

#[tokio::test]
async fn commit_retries_not_coordinator_and_sends_exact_fields() {
    let port = Arc::new(AtomicU16::new(0));
    let commits = Arc::new(AtomicUsize::new(0));
    let (p, c) = (port.clone(), commits.clone());
    let broker = FakeBroker::start(move |header, request| match request {
        RequestKind::FindCoordinator(_) => coordinator_reply(header, p.load(Ordering::SeqCst)),
        RequestKind::OffsetCommit(_) => {
            // The first commit lands on a broker that is no longer the coordinator.
            let first = c.fetch_add(1, Ordering::SeqCst) == 0;
            let code = |ok: i16| if first { 16 } else { ok };
            FakeReply::Respond(ResponseKind::OffsetCommit(
                OffsetCommitResponse::default().with_topics(vec![
                    OffsetCommitResponseTopic::default()
                        .with_name(TopicName(s("orders")))
                        .with_partitions(vec![
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(0)
                                .with_error_code(code(0)),
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(3)
                                .with_error_code(code(3)), // UNKNOWN_TOPIC_OR_PARTITION
                        ]),
                ]),
            ))
        }
        _ => FakeReply::Default,
    })
    .unwrap();
    port.store(broker.port(), Ordering::SeqCst);
    let groups = groups_for(&broker, fast_retry()).await;

    let outcome = groups
        .commit_offsets(
            "g",
            &[
                OffsetToCommit {
                    topic: "orders".into(),
                    partition: 0,
                    offset: 12,
                    metadata: Some("meta-0".into()),
                },
                OffsetToCommit {
                    topic: "orders".into(),
                    partition: 3,
                    offset: 40,
                    metadata: None,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome.len(), 2);
    assert_eq!(outcome[&("orders".to_string(), 0)], Ok(()));
    let e = outcome[&("orders".to_string(), 3)].as_ref().unwrap_err();
    assert_eq!((e.api, e.code), ("OffsetCommit", 3));
    assert_eq!((e.topic.as_deref(), e.partition), (Some("orders"), Some(3)));
    assert!(e.to_string().contains("group 'g'"), "{e}");

    // NOT_COORDINATOR sent us back to FindCoordinator, then the same commit again.
    assert_eq!(commits.load(Ordering::SeqCst), 2);
    assert_eq!(broker.requests_for(ApiKey::FindCoordinator).len(), 2);
    let sent = broker.requests_for(ApiKey::OffsetCommit);
    let Some(RequestKind::OffsetCommit(first)) = &sent[0].request else {
        panic!("undecodable OffsetCommit: {:?}", sent[0]);
    };
    assert_eq!(sent[1].request, sent[0].request);
    assert_eq!(first.group_id.0.as_str(), "g");
    assert_eq!(first.generation_id_or_member_epoch, -1);
    assert_eq!(first.member_id.as_str(), "");
    assert_eq!(first.group_instance_id, None);
    assert_eq!(first.topics.len(), 1);
    assert_eq!(first.topics[0].name.0.as_str(), "orders");
    let partitions: Vec<(i32, i64, Option<&str>, i32)> = first.topics[0]
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition_index,
                p.committed_offset,
                p.committed_metadata.as_ref().map(|m| m.as_str()),
                p.committed_leader_epoch,
            )
        })
        .collect();
    assert_eq!(
        partitions,
        vec![(0, 12, Some("meta-0"), -1), (3, 40, None, -1)]
    );
}

#[tokio::test]
async fn fetch_offsets_keeps_metadata_and_epoch_and_drops_uncommitted() {
    let port = Arc::new(AtomicU16::new(0));
    let p = port.clone();
    let broker = FakeBroker::start(move |header, request| match request {
        RequestKind::FindCoordinator(_) => coordinator_reply(header, p.load(Ordering::SeqCst)),
        RequestKind::OffsetFetch(_) if header.request_api_version >= 8 => FakeReply::Respond(
            ResponseKind::OffsetFetch(OffsetFetchResponse::default().with_groups(
                vec![OffsetFetchResponseGroup::default()
                    .with_group_id(GroupId(s("g")))
                    .with_topics(vec![OffsetFetchResponseTopics::default()
                        .with_name(TopicName(s("orders")))
                        .with_partitions(vec![
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(0)
                                .with_committed_offset(12)
                                .with_committed_leader_epoch(4)
                                .with_metadata(Some(s("meta-0"))),
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(1)
                                .with_committed_offset(-1),
                        ])])],
            )),
        ),
        RequestKind::OffsetFetch(_) => FakeReply::Respond(ResponseKind::OffsetFetch(
            OffsetFetchResponse::default().with_topics(vec![OffsetFetchResponseTopic::default()
                .with_name(TopicName(s("orders")))
                .with_partitions(vec![
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(12)
                        .with_committed_leader_epoch(4)
                        .with_metadata(Some(s("meta-0"))),
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(1)
                        .with_committed_offset(-1),
                ])]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    port.store(broker.port(), Ordering::SeqCst);
    let groups = groups_for(&broker, fast_retry()).await;
    let fetched = groups
        .fetch_offsets("g", Some(&[("orders".into(), 1), ("orders".into(), 0)]))
        .await
        .unwrap();
    assert_eq!(
        fetched.into_iter().collect::<Vec<_>>(),
        vec![(
            ("orders".to_string(), 0),
            CommittedOffset {
                offset: 12,
                metadata: Some("meta-0".into()),
                leader_epoch: Some(4),
            }
        )]
    );
    // The request names the group and the partitions asked for, whatever its version.
    let sent = broker.requests_for(ApiKey::OffsetFetch);
    let Some(RequestKind::OffsetFetch(request)) = &sent[0].request else {
        panic!("undecodable OffsetFetch: {:?}", sent[0]);
    };
    let (group, topics): (String, Vec<(String, Vec<i32>)>) = if sent[0].api_version >= 8 {
        let g = &request.groups[0];
        (
            g.group_id.0.as_str().to_string(),
            g.topics
                .iter()
                .flatten()
                .map(|t| (t.name.0.as_str().to_string(), t.partition_indexes.clone()))
                .collect(),
        )
    } else {
        (
            request.group_id.0.as_str().to_string(),
            request
                .topics
                .iter()
                .flatten()
                .map(|t| (t.name.0.as_str().to_string(), t.partition_indexes.clone()))
                .collect(),
        )
    };
    assert_eq!(group, "g");
    assert_eq!(topics, vec![("orders".to_string(), vec![1, 0])]);
}

#[tokio::test]
async fn describe_groups_decodes_member_assignments() {
    let port = Arc::new(AtomicU16::new(0));
    let p = port.clone();
    let assignment = encode_assignment(&vec![("orders".to_string(), vec![0, 2])]).unwrap();
    let broker = FakeBroker::start(move |header, request| match request {
        RequestKind::FindCoordinator(_) => coordinator_reply(header, p.load(Ordering::SeqCst)),
        RequestKind::DescribeGroups(_) => FakeReply::Respond(ResponseKind::DescribeGroups(
            DescribeGroupsResponse::default().with_groups(vec![
                DescribedGroup::default()
                    .with_group_id(GroupId(s("g")))
                    .with_group_state(s("Stable"))
                    .with_protocol_type(s("consumer"))
                    .with_protocol_data(s("range"))
                    .with_members(vec![
                        DescribedGroupMember::default()
                            .with_member_id(s("m-1"))
                            .with_client_id(s("app"))
                            .with_client_host(s("/10.0.0.7"))
                            .with_member_assignment(assignment.clone()),
                        DescribedGroupMember::default()
                            .with_member_id(s("m-2"))
                            .with_client_id(s("app"))
                            .with_client_host(s("/10.0.0.8"))
                            .with_member_assignment(Bytes::new()),
                    ]),
                DescribedGroup::default()
                    .with_group_id(GroupId(s("broken")))
                    .with_group_state(s("Stable"))
                    .with_protocol_type(s("consumer"))
                    .with_members(vec![DescribedGroupMember::default()
                        .with_member_id(s("m-9"))
                        .with_member_assignment(Bytes::from_static(&[0, 0, 0, 0, 0, 7]))]),
            ]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    port.store(broker.port(), Ordering::SeqCst);
    let groups = groups_for(&broker, RetryPolicy::no_retry()).await;
    let described = groups.describe_groups(&["g".into()]).await.unwrap();
    assert_eq!(described.len(), 1);
    let d = &described[0];
    assert_eq!(
        (
            d.group_id.as_str(),
            d.state.as_str(),
            d.protocol_type.as_str(),
            d.protocol.as_str()
        ),
        ("g", "Stable", "consumer", "range")
    );
    let members: Vec<(&str, &str, &str, TopicPartitions)> = d
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.as_str(),
                m.client_id.as_str(),
                m.client_host.as_str(),
                m.assignment.clone(),
            )
        })
        .collect();
    assert_eq!(
        members,
        vec![
            (
                "m-1",
                "app",
                "/10.0.0.7",
                vec![("orders".to_string(), vec![0, 2])]
            ),
            ("m-2", "app", "/10.0.0.8", vec![]),
        ]
    );
    assert!(d.has_active_members());

    // A member assignment that does not decode is an error naming group and member.
    match groups.describe_groups(&["broken".into()]).await {
        Err(Error::Protocol { api, message, .. }) => {
            assert_eq!(api, "DescribeGroups");
            assert!(
                message.contains("group 'broken' member 'm-9'")
                    && message.contains("invalid consumer protocol assignment"),
                "{message}"
            );
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}
