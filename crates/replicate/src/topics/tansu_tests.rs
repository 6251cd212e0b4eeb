//! Topic metadata sync against two real Tansu brokers: which topics are created on the target
//! (exact sets), their partition counts, copied configs (exact maps, as an independent
//! librdkafka client reads them), config re-sync (SET and DELETE), PREFIXED names, new-topic
//! detection, and Tansu's missing CreatePartitions reported once.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{parse_create_replicator_request, ReplicatorConfig};
use crate::config::{TopicNaming, TopicSelection};
use crate::metrics::{topic_labels, ReplicatorMetrics};
use crate::topics::{ReplicatedTopic, TopicSync};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, AlterOp, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// IDENTICAL names, every metadata flag on (ACLs too: Tansu lists none, so none are sent).
fn config(
    source: &TansuBroker,
    target: &TansuBroker,
    include: &[&str],
    exclude: &[&str],
) -> ReplicatorConfig {
    let json = ReplicatorJson::new("topics", source, target, include).json();
    let mut config = parse_create_replicator_request(&json)
        .unwrap()
        .value
        .validate()
        .unwrap();
    config.topics = TopicSelection::new(&strings(include), &strings(exclude)).unwrap();
    config.flags.copy_topic_configurations = true;
    config.flags.copy_topic_acls = true;
    config.flags.detect_new_topics = true;
    config
}

async fn client(broker: &TansuBroker) -> Client {
    Client::connect(ClientConfig::from_bootstrap_string(&broker.addr()).unwrap())
        .await
        .unwrap()
}

async fn topic_sync(
    source: &TansuBroker,
    target: &TansuBroker,
    config: ReplicatorConfig,
) -> (TopicSync, Arc<ReplicatorMetrics>) {
    let metrics = Arc::new(ReplicatorMetrics::new());
    let sync = TopicSync::new(
        client(source).await,
        client(target).await,
        Arc::new(config),
        metrics.clone(),
    );
    (sync, metrics)
}

async fn create(broker: &TansuBroker, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut topic = NewTopic::new(name, partitions, 1);
    for (k, v) in configs {
        topic = topic.with_config(*k, *v);
    }
    let outcome = Admin::new(client(broker).await)
        .create_topics(&[topic], false)
        .await
        .unwrap();
    assert!(outcome[0].1.is_ok(), "creating {name}: {outcome:?}");
}

fn replicated(topics: &[(&str, &str, i32)]) -> Vec<ReplicatedTopic> {
    topics
        .iter()
        .map(|(s, t, p)| ReplicatedTopic {
            source: s.to_string(),
            target: t.to_string(),
            partitions: *p,
        })
        .collect()
}

fn counts(topics: &[(&str, i32)]) -> BTreeMap<String, i32> {
    topics.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}

async fn sync_ok(sync: &mut TopicSync) -> Vec<ReplicatedTopic> {
    let topics = sync.sync_once().await.unwrap();
    assert_eq!(sync.last_errors(), &[], "unexpected problems");
    topics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selection_creates_exactly_the_selected_topics() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    for (name, partitions) in [
        ("orders", 3),
        ("orders-eu", 2),
        ("orders-tmp", 1),
        ("payments", 1),
        ("payments-old", 1),
        ("audit", 2),
        ("__amazon_msk_replicator_status_r", 1),
    ] {
        create(&source, name, partitions, &[]).await;
    }
    let (mut sync, metrics) = topic_sync(
        &source,
        &target,
        config(
            &source,
            &target,
            &["orders.*", "payments", "__.*"],
            &["orders-tmp"],
        ),
    )
    .await;

    let expected = replicated(&[
        ("orders", "orders", 3),
        ("orders-eu", "orders-eu", 2),
        ("payments", "payments", 1),
    ]);
    assert_eq!(sync_ok(&mut sync).await, expected);
    assert_eq!(
        python::list_topics(&target.addr()).await.unwrap(),
        counts(&[("orders", 3), ("orders-eu", 2), ("payments", 1)])
    );
    assert_eq!(metrics.topic_count.get(), 3);

    // The target topics existing already is fine: same answer, nothing reported, nothing new.
    assert_eq!(sync_ok(&mut sync).await, expected);
    assert_eq!(
        python::list_topics(&target.addr()).await.unwrap(),
        counts(&[("orders", 3), ("orders-eu", 2), ("payments", 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_are_copied_exactly_and_resynced() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    create(
        &source,
        "cfg",
        2,
        &[
            ("retention.ms", "3600000"),
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "2000000"),
            // Never copied (docs/topic-configs.md).
            ("min.insync.replicas", "1"),
            ("unclean.leader.election.enable", "true"),
        ],
    )
    .await;
    create(&source, "plain", 1, &[]).await;
    let (mut sync, _) = topic_sync(
        &source,
        &target,
        config(&source, &target, &["cfg", "plain"], &[]),
    )
    .await;
    sync_ok(&mut sync).await;
    assert_eq!(
        python::describe_topic_config(&target.addr(), "cfg")
            .await
            .unwrap(),
        configs(&[
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "2000000"),
            ("retention.ms", "3600000"),
        ])
    );
    assert_eq!(
        python::describe_topic_config(&target.addr(), "plain")
            .await
            .unwrap(),
        configs(&[])
    );

    // On the source: one value changed, one removed, one added (to a topic that had none).
    let source_admin = Admin::new(client(&source).await);
    source_admin
        .incremental_alter_topic_configs(
            "cfg",
            &[
                AlterOp::set("retention.ms", "7200000"),
                AlterOp::delete("max.message.bytes"),
                AlterOp::set("segment.ms", "600000"),
            ],
        )
        .await
        .unwrap();
    source_admin
        .incremental_alter_topic_configs("plain", &[AlterOp::set("retention.bytes", "1048576")])
        .await
        .unwrap();
    // On the target, someone else's override of a key the source does not set: kept.
    Admin::new(client(&target).await)
        .incremental_alter_topic_configs("cfg", &[AlterOp::set("segment.bytes", "1048576")])
        .await
        .unwrap();

    sync_ok(&mut sync).await;
    assert_eq!(
        python::describe_topic_config(&target.addr(), "cfg")
            .await
            .unwrap(),
        configs(&[
            ("cleanup.policy", "compact"),
            ("retention.ms", "7200000"),
            ("segment.bytes", "1048576"),
            ("segment.ms", "600000"),
        ])
    );
    assert_eq!(
        python::describe_topic_config(&target.addr(), "plain")
            .await
            .unwrap(),
        configs(&[("retention.bytes", "1048576")])
    );
    // The source is unchanged by all this.
    assert_eq!(
        python::describe_topic_config(&source.addr(), "cfg")
            .await
            .unwrap(),
        configs(&[
            ("cleanup.policy", "compact"),
            ("min.insync.replicas", "1"),
            ("retention.ms", "7200000"),
            ("segment.ms", "600000"),
            ("unclean.leader.election.enable", "true"),
        ])
    );

    // In step: another round changes nothing.
    sync_ok(&mut sync).await;
    assert_eq!(
        python::describe_topic_config(&target.addr(), "cfg")
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_are_not_copied_when_the_flag_is_off() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    create(&source, "cfg", 1, &[("retention.ms", "3600000")]).await;
    let mut config = config(&source, &target, &["cfg"], &[]);
    config.flags.copy_topic_configurations = false;
    let (mut sync, _) = topic_sync(&source, &target, config).await;
    assert_eq!(sync_ok(&mut sync).await, replicated(&[("cfg", "cfg", 1)]));
    assert_eq!(
        python::describe_topic_config(&target.addr(), "cfg")
            .await
            .unwrap(),
        configs(&[])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixed_naming_creates_alias_dot_topic() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    create(&source, "orders", 2, &[("retention.ms", "60000")]).await;
    let mut config = config(&source, &target, &["orders"], &[]);
    config.naming = TopicNaming::PrefixedWithSourceClusterAlias;
    config.source.alias = "east".into();
    let (mut sync, _) = topic_sync(&source, &target, config).await;
    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "east.orders", 2)])
    );
    assert_eq!(
        python::list_topics(&target.addr()).await.unwrap(),
        counts(&[("east.orders", 2)])
    );
    assert_eq!(
        python::describe_topic_config(&target.addr(), "east.orders")
            .await
            .unwrap(),
        configs(&[("retention.ms", "60000")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_topics_are_copied_only_when_detected() {
    let source = TansuBroker::strict_memory().unwrap();
    let detecting_target = TansuBroker::strict_memory().unwrap();
    let frozen_target = TansuBroker::strict_memory().unwrap();
    create(&source, "first", 1, &[]).await;
    let (mut detecting, _) = topic_sync(
        &source,
        &detecting_target,
        config(&source, &detecting_target, &[".*"], &[]),
    )
    .await;
    let mut frozen_config = config(&source, &frozen_target, &[".*"], &[]);
    frozen_config.flags.detect_new_topics = false;
    let (mut frozen, frozen_metrics) = topic_sync(&source, &frozen_target, frozen_config).await;

    let first = replicated(&[("first", "first", 1)]);
    assert_eq!(sync_ok(&mut detecting).await, first);
    assert_eq!(sync_ok(&mut frozen).await, first);

    create(&source, "later", 3, &[]).await;
    assert_eq!(
        sync_ok(&mut detecting).await,
        replicated(&[("first", "first", 1), ("later", "later", 3)])
    );
    assert_eq!(
        python::list_topics(&detecting_target.addr()).await.unwrap(),
        counts(&[("first", 1), ("later", 3)])
    );
    assert_eq!(sync_ok(&mut frozen).await, first);
    assert_eq!(
        python::list_topics(&frozen_target.addr()).await.unwrap(),
        counts(&[("first", 1)])
    );
    assert_eq!(frozen_metrics.topic_count.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_create_partitions_is_reported_once_and_counted() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    create(&source, "grow", 3, &[]).await;
    // Someone created the target topic with fewer partitions.
    create(&target, "grow", 1, &[]).await;
    let (mut sync, metrics) =
        topic_sync(&source, &target, config(&source, &target, &["grow"], &[])).await;
    let failures = || metrics.failures.get_or_create(&topic_labels("grow")).get();

    // Only the partition both sides have is replicated.
    let topics = sync.sync_once().await.unwrap();
    assert_eq!(topics, replicated(&[("grow", "grow", 1)]));
    let errors = sync.last_errors().to_vec();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    for part in [
        &format!("target cluster {}", target.cluster_id()),
        "topic 'grow'",
        "adding partitions 1 -> 3 (CreatePartitions)",
        "does not offer CreatePartitions",
        "partitions 1..2 of source topic 'grow' are not replicated",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(failures(), 1);

    // Reported once: the next rounds are quiet and count nothing more.
    for _ in 0..2 {
        assert_eq!(sync_ok(&mut sync).await, replicated(&[("grow", "grow", 1)]));
    }
    assert_eq!(failures(), 1);
    assert_eq!(
        python::list_topics(&target.addr()).await.unwrap(),
        counts(&[("grow", 1)])
    );
}
