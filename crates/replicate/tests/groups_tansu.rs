//! LEGACY consumer-group offset sync against two Tansu brokers, with confluent-kafka consumers:
//! a group moves to the target and continues at the exact next record (PREFIXED names, records
//! already on the target), selection and exclusion, no commit while the group is active on the
//! target, never moving the target back unless the source moved back, groups that appear after
//! the first sync with DetectAndCopyNewConsumerGroups false, metrics, and the offset maps
//! surviving a restart.

mod groups_support;

use std::collections::BTreeMap;
use std::time::Duration;

use groups_support::{
    assert_exactly_once, client, committed, config, consume_step, fast_options, group_replication,
    names, records, wait_for,
};
use kreplicate_replicate::Replicator;
use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::group::{GroupMember, GroupMemberConfig};

const NOW: Duration = Duration::ZERO;

async fn wait_committed(bootstrap: &str, group: &str, topic: &str, want: &BTreeMap<i32, i64>) {
    wait_for(
        &format!("group {group} committed {want:?} on {topic} at {bootstrap}"),
        Duration::from_secs(20),
        || async {
            let now = committed(bootstrap, group).await;
            (now.get(topic) == Some(want)).then_some(())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_prefixed_group_moves_to_the_target_at_the_exact_next_record() {
    let a = TansuBroker::strict_memory().unwrap();
    let b = TansuBroker::strict_memory().unwrap();
    python::create_topic(&a.addr(), "orders", 2, &[])
        .await
        .unwrap();
    // Records already on the target: every copy lands 3 offsets later than on the source.
    let target_topic = format!("{}.orders", a.cluster_id());
    python::create_topic(&b.addr(), &target_topic, 2, &[])
        .await
        .unwrap();
    python::produce(
        &b.addr(),
        &target_topic,
        &records("before", 0..6, 2),
        "none",
        &[],
    )
    .await
    .unwrap();
    // The group reads both partitions (a partition it never committed is not synced: on the
    // target the consumer would start it by its reset policy).
    python::produce(&a.addr(), "orders", &records("order", 0..4, 2), "none", &[])
        .await
        .unwrap();
    let group = "app-orders";
    let excluded = "app-excluded";
    let mut read_on_a = consume_step(&a.addr(), "orders", group, 4, NOW).await;
    python::produce(
        &a.addr(),
        "orders",
        &records("order", 4..40, 2),
        "none",
        &[],
    )
    .await
    .unwrap();
    read_on_a.extend(consume_step(&a.addr(), "orders", group, 11, NOW).await);
    consume_step(&a.addr(), "orders", excluded, 4, NOW).await;
    let on_a = committed(&a.addr(), group).await["orders"].clone();
    assert_eq!(on_a.values().sum::<i64>(), 15);

    let replicator = Replicator::start(
        config(
            "legacy",
            &a,
            &b,
            &["orders"],
            "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS",
            group_replication(&["app-.*"], &["app-excluded"], true, "LEGACY"),
        ),
        fast_options(),
    )
    .await
    .unwrap();
    // Independent of the maps: the copies follow the 3 records already there.
    let expected: BTreeMap<i32, i64> = on_a.iter().map(|(p, o)| (*p, o + 3)).collect();
    wait_committed(&b.addr(), group, &target_topic, &expected).await;

    // The application moves: the rest, and nothing it had read.
    let read_on_b = consume_step(&b.addr(), &target_topic, group, 25, Duration::from_secs(2)).await;
    let all: Vec<String> = read_on_a.into_iter().chain(read_on_b).collect();
    assert_exactly_once(group, &all, &names("order", 0..40));

    let groups_on_b = python::list_groups(&b.addr()).await.unwrap();
    assert!(groups_on_b.contains(&group.to_string()), "{groups_on_b:?}");
    assert!(
        !groups_on_b.contains(&excluded.to_string()),
        "{groups_on_b:?}"
    );

    // Metrics: one group; lag on both clusters (source: what it left unread there; target:
    // nothing left once it read everything).
    let metrics = replicator.metrics();
    let source_alias = a.cluster_id().to_string();
    let target_alias = b.cluster_id().to_string();
    wait_for("target lag 0", Duration::from_secs(10), || {
        let text = metrics.encode();
        let want: Vec<String> = (0..2)
            .map(|p| {
                format!(
                    r#"kreplicate_consumer_group_lag{{cluster="{target_alias}",group="{group}",topic="{target_topic}",partition="{p}"}} 0"#
                )
            })
            .collect();
        async move { want.iter().all(|w| text.contains(w)).then_some(()) }
    })
    .await;
    let text = metrics.encode();
    for (p, offset) in &on_a {
        let line = format!(
            r#"kreplicate_consumer_group_lag{{cluster="{source_alias}",group="{group}",topic="orders",partition="{p}"}} {}"#,
            20 - offset
        );
        assert!(text.contains(&line), "{line} not in\n{text}");
    }
    // The zero series each cluster had before any group's lag was known is gone.
    assert!(
        !text.contains(r#"group="",topic="",partition="""#),
        "{text}"
    );
    assert!(
        text.contains("kreplicate_consumer_group_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("kreplicate_consumer_group_offset_sync_failures_total 0\n"),
        "{text}"
    );
    // The typed status carries the same lag and count (what `kreplicate status` reads).
    let status = metrics.status();
    assert_eq!(status.consumer_groups, 1);
    let lag: Vec<(&str, &str, i32, i64)> = status
        .consumer_lag
        .iter()
        .filter(|l| l.group == group)
        .map(|l| (l.cluster.as_str(), l.topic.as_str(), l.partition, l.lag))
        .collect();
    for (p, offset) in &on_a {
        let want = (source_alias.as_str(), "orders", *p, 20 - offset);
        assert!(lag.contains(&want), "{want:?} not in {lag:?}");
    }
    for p in 0..2 {
        let want = (target_alias.as_str(), target_topic.as_str(), p, 0);
        assert!(lag.contains(&want), "{want:?} not in {lag:?}");
    }
    replicator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_wait_for_an_empty_group_and_move_back_only_when_the_source_did() {
    let a = TansuBroker::strict_memory().unwrap();
    let b = TansuBroker::strict_memory().unwrap();
    python::create_topic(&a.addr(), "events", 1, &[])
        .await
        .unwrap();
    python::produce(
        &a.addr(),
        "events",
        &records("event", 0..30, 1),
        "none",
        &[],
    )
    .await
    .unwrap();
    let group = "worker";
    consume_step(&a.addr(), "events", group, 5, NOW).await;
    let replicator = Replicator::start(
        config(
            "waits",
            &a,
            &b,
            &["events"],
            "IDENTICAL",
            group_replication(&[".*"], &[], false, "LEGACY"),
        ),
        fast_options(),
    )
    .await
    .unwrap();
    let at = |o: i64| BTreeMap::from([(0, o)]);
    wait_committed(&b.addr(), group, "events", &at(5)).await;
    // The cut-over answer: the target holds exactly the translation and nobody reads on the
    // source, so the group can move.
    let metrics = replicator.metrics();
    let sync_state = |synced: u8, movable: u8| {
        let metrics = metrics.clone();
        move || {
            let text = metrics.encode();
            let want = [
                format!("kreplicate_consumer_group_synced{{group=\"{group}\"}} {synced}\n"),
                format!("kreplicate_consumer_group_movable{{group=\"{group}\"}} {movable}\n"),
            ];
            async move { want.iter().all(|w| text.contains(w)).then_some(()) }
        }
    };
    wait_for(
        "synced and movable",
        Duration::from_secs(10),
        sync_state(1, 1),
    )
    .await;

    // A group created after the first sync round is not synced (DetectAndCopyNewConsumerGroups
    // false).
    consume_step(&a.addr(), "events", "late", 3, NOW).await;

    // A member holds the group on the target: the source moves on, the target waits.
    let target_client = client(&b).await;
    let mut member_config = GroupMemberConfig::new(group, vec!["events".to_string()]);
    member_config.session_timeout = Duration::from_millis(2000);
    member_config.rebalance_timeout = Duration::from_millis(4000);
    let mut member = GroupMember::new(target_client, member_config).unwrap();
    member.join().await.unwrap();
    python::alter_group_offsets(&a.addr(), group, &[("events", 0, 12)])
        .await
        .unwrap();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        member.heartbeat().await.unwrap();
    }
    assert_eq!(committed(&b.addr(), group).await["events"], at(5));
    member.leave().await.unwrap();
    wait_committed(&b.addr(), group, "events", &at(12)).await;

    // Consumers progress on the target; the source stays: the target is never moved back.
    let read = consume_step(&b.addr(), "events", group, 4, NOW).await;
    assert_eq!(read, vec!["event-12", "event-13", "event-14", "event-15"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(committed(&b.addr(), group).await["events"], at(16));
    // Past the translation: still synced (a moved group does not hold `status` NOT READY), but
    // not "can move" (it is no longer exactly where the source left it).
    wait_for(
        "synced, not movable",
        Duration::from_secs(10),
        sync_state(1, 0),
    )
    .await;

    // An operator resets the source group: the target follows, backwards.
    python::alter_group_offsets(&a.addr(), group, &[("events", 0, 3)])
        .await
        .unwrap();
    wait_committed(&b.addr(), group, "events", &at(3)).await;

    let groups_on_b = python::list_groups(&b.addr()).await.unwrap();
    assert!(
        !groups_on_b.contains(&"late".to_string()),
        "{groups_on_b:?}"
    );
    let text = replicator.metrics().encode();
    assert!(
        text.contains("kreplicate_consumer_group_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("kreplicate_consumer_group_offset_sync_failures_total 0\n"),
        "{text}"
    );
    replicator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_maps_are_saved_and_rebuilt_across_a_restart() {
    let a = TansuBroker::strict_memory().unwrap();
    let b = TansuBroker::strict_memory().unwrap();
    python::create_topic(&a.addr(), "ledger", 2, &[])
        .await
        .unwrap();
    python::create_topic(&b.addr(), "ledger", 2, &[])
        .await
        .unwrap();
    python::produce(&b.addr(), "ledger", &records("there", 0..4, 2), "none", &[])
        .await
        .unwrap();
    python::produce(
        &a.addr(),
        "ledger",
        &records("entry", 0..20, 2),
        "none",
        &[],
    )
    .await
    .unwrap();
    let make_config = || {
        config(
            "restart",
            &a,
            &b,
            &["ledger"],
            "IDENTICAL",
            group_replication(&[".*"], &[], true, "LEGACY"),
        )
    };
    let replicator = Replicator::start(make_config(), fast_options())
        .await
        .unwrap();
    let ends = |n: i64| {
        move |replicator: &Replicator| {
            (0..2).all(|p| {
                replicator
                    .offset_map("ledger", p)
                    .is_some_and(|m| m.source_end() == n)
            })
        }
    };
    let caught_up = ends(10);
    wait_for("both partitions copied", Duration::from_secs(20), || {
        let done = caught_up(&replicator);
        async move { done.then_some(()) }
    })
    .await;
    let before: Vec<_> = (0..2)
        .map(|p| replicator.offset_map("ledger", p).unwrap())
        .collect();
    for (p, map) in before.iter().enumerate() {
        assert_eq!(
            (
                map.source_start(),
                map.source_end(),
                map.target_start(),
                map.target_end()
            ),
            (0, 10, 2, 12),
            "partition {p}"
        );
    }
    replicator.shutdown().await.unwrap();

    // Rebuilt before any copier runs: the same maps, straight from the target.
    let replicator = Replicator::start(make_config(), fast_options())
        .await
        .unwrap();
    for (p, map) in before.iter().enumerate() {
        assert_eq!(
            replicator.offset_map("ledger", p as i32).as_ref(),
            Some(map)
        );
    }
    // And continued, not restarted, when copying resumes.
    python::produce(
        &a.addr(),
        "ledger",
        &records("entry", 20..24, 2),
        "none",
        &[],
    )
    .await
    .unwrap();
    let caught_up = ends(12);
    wait_for("the new records copied", Duration::from_secs(20), || {
        let done = caught_up(&replicator);
        async move { done.then_some(()) }
    })
    .await;
    for p in 0..2 {
        let map = replicator.offset_map("ledger", p).unwrap();
        assert_eq!((map.source_start(), map.target_start()), (0, 2));
        assert_eq!(map.run_count(), 1, "partition {p}: {:?}", map.runs());
        assert_eq!(map.target_end(), 14);
    }
    replicator.shutdown().await.unwrap();
}
