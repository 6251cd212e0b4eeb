//! Consumer-group APIs against a real broker (Tansu 0.6), cross-checked with an independent
//! client (confluent-kafka) through `kreplicate_testkit::python`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig, RetryPolicy};
use kreplicate_wire::group::{
    CommittedOffset, Generation, GroupAdmin, GroupMember, GroupMemberConfig, HeartbeatOutcome,
    OffsetToCommit, RejoinReason,
};

async fn client_for(broker: &TansuBroker) -> Client {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::default().with_deadline(Some(Duration::from_secs(20)));
    config.connection.request_timeout = Duration::from_secs(10);
    Client::connect(config).await.expect("connect to tansu")
}

async fn create_topic(client: &Client, topic: &str, partitions: i32) {
    let created = Admin::new(client.clone())
        .create_topics(&[NewTopic::new(topic, partitions, 1)], false)
        .await
        .unwrap();
    assert_eq!(created, vec![(topic.to_string(), Ok(()))]);
}

fn committed(offset: i64) -> CommittedOffset {
    CommittedOffset {
        offset,
        metadata: None,
        leader_epoch: None,
    }
}

#[tokio::test]
async fn commit_then_fetch_offsets_exact() {
    let broker = TansuBroker::memory().unwrap();
    let client = client_for(&broker).await;
    create_topic(&client, "orders", 3).await;
    let groups = GroupAdmin::new(client.clone());
    let group = "g-commit-fetch";

    let outcome = groups
        .commit_offsets(
            group,
            &[
                OffsetToCommit {
                    topic: "orders".into(),
                    partition: 0,
                    offset: 5,
                    metadata: Some("m0".into()),
                },
                OffsetToCommit {
                    topic: "orders".into(),
                    partition: 1,
                    offset: 7,
                    metadata: None,
                },
                OffsetToCommit {
                    topic: "orders".into(),
                    partition: 2,
                    offset: 0,
                    metadata: Some(String::new()),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        BTreeMap::from([
            (("orders".to_string(), 0), Ok(())),
            (("orders".to_string(), 1), Ok(())),
            (("orders".to_string(), 2), Ok(())),
        ])
    );

    // Tansu 0.6 does not keep commit metadata (it answers null): metadata is checked
    // against the fake broker in group_fake.rs.
    let all = groups.fetch_offsets(group, None).await.unwrap();
    assert_eq!(
        all,
        BTreeMap::from([
            (("orders".to_string(), 0), committed(5)),
            (("orders".to_string(), 1), committed(7)),
            (("orders".to_string(), 2), committed(0)),
        ])
    );

    let some = groups
        .fetch_offsets(group, Some(&[("orders".into(), 1)]))
        .await
        .unwrap();
    assert_eq!(
        some.iter()
            .map(|(tp, c)| (tp.clone(), c.offset))
            .collect::<Vec<_>>(),
        vec![(("orders".to_string(), 1), 7)]
    );

    // The independent client sees our commits, and we see its.
    assert_eq!(
        python::group_offsets(&broker.addr(), group).await.unwrap(),
        vec![
            ("orders".to_string(), 0, 5),
            ("orders".to_string(), 1, 7),
            ("orders".to_string(), 2, 0)
        ]
    );
    python::alter_group_offsets(&broker.addr(), group, &[("orders", 1, 42)])
        .await
        .unwrap();
    let after = groups.fetch_offsets(group, None).await.unwrap();
    assert_eq!(after[&("orders".to_string(), 1)].offset, 42);
    assert_eq!(after[&("orders".to_string(), 0)].offset, 5);

    // An unknown group has no offsets.
    assert!(groups
        .fetch_offsets("g-never-used", None)
        .await
        .unwrap()
        .is_empty());

    // Bad input is refused before anything is sent, naming the partition.
    let e = groups
        .commit_offsets(
            group,
            &[OffsetToCommit {
                topic: "orders".into(),
                partition: 2,
                offset: -3,
                metadata: None,
            }],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("orders-2"), "{e}");
}

#[tokio::test]
async fn list_describe_and_delete_groups() {
    let broker = TansuBroker::memory().unwrap();
    let client = client_for(&broker).await;
    create_topic(&client, "events", 2).await;
    let groups = GroupAdmin::new(client.clone());
    for g in ["g-list-a", "g-list-b"] {
        groups
            .commit_offsets(
                g,
                &[OffsetToCommit {
                    topic: "events".into(),
                    partition: 0,
                    offset: 1,
                    metadata: None,
                }],
            )
            .await
            .unwrap();
    }
    let listed = groups.list_groups().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(ids, vec!["g-list-a", "g-list-b"]);
    assert_eq!(
        python::list_groups(&broker.addr()).await.unwrap(),
        vec!["g-list-a".to_string(), "g-list-b".to_string()]
    );

    let described = groups
        .describe_groups(&["g-list-b".into(), "g-list-a".into()])
        .await
        .unwrap();
    assert_eq!(
        described
            .iter()
            .map(|d| d.group_id.as_str())
            .collect::<Vec<_>>(),
        vec!["g-list-b", "g-list-a"]
    );
    for d in &described {
        assert!(d.members.is_empty(), "{d:?}");
        assert!(!d.has_active_members());
        assert_eq!(d.state, "Empty", "{d:?}");
    }
    assert!(!groups.has_active_members("g-list-a").await.unwrap());

    let deleted = groups.delete_groups(&["g-list-a".into()]).await.unwrap();
    assert_eq!(deleted, vec![("g-list-a".to_string(), Ok(()))]);
    let ids: Vec<String> = groups
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    assert_eq!(ids, vec!["g-list-b".to_string()]);
    assert!(groups
        .fetch_offsets("g-list-a", None)
        .await
        .unwrap()
        .is_empty());
}

/// Keeps `member` in the group (heartbeat, rejoin when told) until `done`, publishing each
/// generation it reaches.
async fn stay_in_group(
    mut member: GroupMember,
    done: Arc<AtomicBool>,
    seen: Arc<Mutex<Option<Generation>>>,
) -> GroupMember {
    let generation = member.join().await.expect("join");
    *seen.lock().unwrap() = Some(generation);
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        match member.heartbeat().await.expect("heartbeat") {
            HeartbeatOutcome::Stable => {}
            HeartbeatOutcome::Rejoin(_) => {
                *seen.lock().unwrap() = None;
                let generation = member.join().await.expect("rejoin");
                *seen.lock().unwrap() = Some(generation);
            }
        }
    }
    member
}

fn member_config(group: &str, topic: &str) -> GroupMemberConfig {
    let mut config = GroupMemberConfig::new(group, vec![topic.to_string()]);
    // Tansu answers JoinGroup after about half the session timeout.
    config.session_timeout = Duration::from_millis(2000);
    config.rebalance_timeout = Duration::from_millis(4000);
    config
}

#[tokio::test]
async fn two_members_join_sync_heartbeat_leave() {
    let broker = TansuBroker::memory().unwrap();
    let admin_client = client_for(&broker).await;
    let topic = "work";
    create_topic(&admin_client, topic, 5).await;
    let group = "g-two-members";

    // One client per member, as two consumer processes would have.
    let a = GroupMember::new(client_for(&broker).await, member_config(group, topic)).unwrap();
    let b = GroupMember::new(client_for(&broker).await, member_config(group, topic)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (seen_a, seen_b) = (Arc::default(), Arc::default());
    let task_a = tokio::spawn(stay_in_group(a, done.clone(), Arc::clone(&seen_a)));
    let task_b = tokio::spawn(stay_in_group(b, done.clone(), Arc::clone(&seen_b)));

    // Wait for one generation holding both members.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (gen_a, gen_b) = loop {
        let pair = (
            seen_a.lock().unwrap().clone(),
            seen_b.lock().unwrap().clone(),
        );
        if let (Some(x), Some(y)) = pair {
            if x.generation_id == y.generation_id && x.member_id != y.member_id {
                break (x, y);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the two members never shared a generation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Two more heartbeat rounds to be sure the generation is settled.
    tokio::time::sleep(Duration::from_millis(800)).await;
    done.store(true, Ordering::SeqCst);
    let mut a = task_a.await.unwrap();
    let mut b = task_b.await.unwrap();
    assert_eq!(a.generation(), Some(&gen_a));
    assert_eq!(b.generation(), Some(&gen_b));

    // Exactly one leader, the same for both; the range split follows member-id order.
    assert_eq!(gen_a.leader_id, gen_b.leader_id);
    assert_eq!(
        [gen_a.is_leader(), gen_b.is_leader()]
            .iter()
            .filter(|l| **l)
            .count(),
        1
    );
    assert_eq!(
        (gen_a.protocol.as_str(), gen_b.protocol.as_str()),
        ("range", "range")
    );
    let (first, second) = if gen_a.member_id < gen_b.member_id {
        (&gen_a, &gen_b)
    } else {
        (&gen_b, &gen_a)
    };
    assert_eq!(first.assignment, vec![(topic.to_string(), vec![0, 1, 2])]);
    assert_eq!(second.assignment, vec![(topic.to_string(), vec![3, 4])]);

    // DescribeGroups shows the same members. (Tansu 0.6 leaves the protocol and the member
    // assignments empty; decoding them is checked against the fake broker in group_fake.rs.)
    let groups = GroupAdmin::new(admin_client.clone());
    let described = groups.describe_groups(&[group.to_string()]).await.unwrap();
    let d = &described[0];
    assert_eq!(
        (
            d.group_id.as_str(),
            d.state.as_str(),
            d.protocol_type.as_str()
        ),
        (group, "Stable", "consumer"),
        "{d:?}"
    );
    let mut members: Vec<&str> = d.members.iter().map(|m| m.member_id.as_str()).collect();
    members.sort();
    assert_eq!(
        members,
        vec![first.member_id.as_str(), second.member_id.as_str()]
    );
    assert!(groups.has_active_members(group).await.unwrap());

    // A leaves; B is told to rejoin and then gets every partition.
    a.leave().await.unwrap();
    assert_eq!(a.member_id(), "");
    assert_eq!(
        a.heartbeat().await.unwrap(),
        HeartbeatOutcome::Rejoin(RejoinReason::NotJoined)
    );
    let mut outcome = HeartbeatOutcome::Stable;
    for _ in 0..20 {
        outcome = b.heartbeat().await.unwrap();
        if outcome != HeartbeatOutcome::Stable {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        outcome,
        HeartbeatOutcome::Rejoin(RejoinReason::RebalanceInProgress)
    );
    assert_eq!(b.generation(), None);
    let alone = b.join().await.unwrap();
    assert!(alone.generation_id > gen_b.generation_id);
    assert!(alone.is_leader());
    assert_eq!(
        alone.assignment,
        vec![(topic.to_string(), vec![0, 1, 2, 3, 4])]
    );
    assert_eq!(b.heartbeat().await.unwrap(), HeartbeatOutcome::Stable);

    b.leave().await.unwrap();
    let described = groups.describe_groups(&[group.to_string()]).await.unwrap();
    assert!(described[0].members.is_empty(), "{:?}", described[0]);
    assert!(!groups.has_active_members(group).await.unwrap());
}
