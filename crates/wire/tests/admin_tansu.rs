//! The admin API against a real broker (Tansu 0.6), cross-checked where possible with an
//! independent client (confluent-kafka) through `kreplicate_testkit::python`.

use std::collections::BTreeMap;
use std::time::Duration;

use kreplicate_testkit::python::{self, PyRecord};
use kreplicate_testkit::tansu::{TansuBroker, TansuOptions};
use kreplicate_wire::admin::{
    AclBinding, AclFilter, Admin, AlterOp, NewTopic, OffsetSpec, Operation, PatternType,
    Permission, ResourceType,
};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::fetcher::IsolationLevel;
use kreplicate_wire::{Api, ConnectionError};

async fn admin_for(broker: &TansuBroker) -> Admin {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::default().with_deadline(Some(Duration::from_secs(10)));
    config.connection.request_timeout = Duration::from_secs(10);
    Admin::new(Client::connect(config).await.expect("connect to tansu"))
}

fn config_values(entries: &[kreplicate_wire::admin::ConfigEntry]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn topic_lifecycle_with_configs() {
    let broker = TansuBroker::memory().unwrap();
    let admin = admin_for(&broker).await;
    let topic = "adm-configs";
    let configs = [
        ("retention.ms", "3600000"),
        ("cleanup.policy", "compact"),
        ("max.message.bytes", "2000000"),
    ];
    let mut new = NewTopic::new(topic, 3, 1);
    for (k, v) in configs {
        new = new.with_config(k, v);
    }
    let created = admin.create_topics(&[new], false).await.unwrap();
    assert_eq!(created, vec![(topic.to_string(), Ok(()))]);

    // Visible at once, with its partitions, to us and to an independent client.
    let meta = admin.client().topic(topic).await.unwrap();
    assert_eq!(
        meta.partitions
            .iter()
            .map(|p| p.partition)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(python::list_topics(&broker.addr()).await.unwrap()[topic], 3);

    // Tansu describes exactly the configs that were set.
    let described = admin
        .describe_topic_configs(&[topic.to_string()])
        .await
        .unwrap();
    assert_eq!(described.keys().collect::<Vec<_>>(), vec![topic]);
    assert_eq!(config_values(&described[topic]), map(&configs));
    assert!(described[topic].iter().all(|e| !e.is_sensitive));

    admin
        .incremental_alter_topic_configs(
            topic,
            &[
                AlterOp::set("retention.ms", "7200000"),
                AlterOp::delete("cleanup.policy"),
                AlterOp::set("segment.ms", "60000"),
            ],
        )
        .await
        .unwrap();
    let expected = map(&[
        ("retention.ms", "7200000"),
        ("max.message.bytes", "2000000"),
        ("segment.ms", "60000"),
    ]);
    let described = admin
        .describe_topic_configs(&[topic.to_string()])
        .await
        .unwrap();
    assert_eq!(config_values(&described[topic]), expected);
    let peer: BTreeMap<String, String> = python::describe_topic_config(&broker.addr(), topic)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    assert_eq!(peer, expected);

    let deleted = admin.delete_topics(&[topic.to_string()]).await.unwrap();
    assert_eq!(deleted, vec![(topic.to_string(), Ok(()))]);
    assert!(matches!(
        admin.client().topic(topic).await,
        Err(Error::UnknownTopic { .. })
    ));
    assert!(!python::list_topics(&broker.addr())
        .await
        .unwrap()
        .contains_key(topic));

    // Deleting it again names the topic and says it is unknown, at once: UNKNOWN_TOPIC is
    // an answer here, not a reason to retry until the 10 s deadline.
    let started = std::time::Instant::now();
    let again = admin.delete_topics(&[topic.to_string()]).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let e = again[0].1.as_ref().unwrap_err();
    assert!(e.is_unknown_topic(), "{e}");
    assert_eq!(e.topic.as_deref(), Some(topic));
}

#[tokio::test]
async fn duplicate_create_is_already_exists_per_topic() {
    let broker = TansuBroker::memory().unwrap();
    let admin = admin_for(&broker).await;
    let first = admin
        .create_topics(&[NewTopic::new("dup", 2, 1)], false)
        .await
        .unwrap();
    assert_eq!(first, vec![("dup".to_string(), Ok(()))]);

    let second = admin
        .create_topics(
            &[NewTopic::new("dup", 2, 1), NewTopic::new("fresh", 1, 1)],
            false,
        )
        .await
        .unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].0, "dup");
    let e = second[0].1.as_ref().unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    assert_eq!(e.code, 36);
    assert_eq!(e.topic.as_deref(), Some("dup"));
    assert_eq!(e.broker.as_deref(), Some(broker.addr().as_str()));
    assert_eq!(second[1], ("fresh".to_string(), Ok(())));
    assert_eq!(
        admin
            .client()
            .topic("fresh")
            .await
            .unwrap()
            .partitions
            .len(),
        1
    );
}

#[tokio::test]
async fn list_offsets_earliest_and_latest_are_exact() {
    let broker = TansuBroker::memory().unwrap();
    let admin = admin_for(&broker).await;
    let topic = "offsets";
    admin
        .create_topics(&[NewTopic::new(topic, 3, 1)], false)
        .await
        .unwrap();
    // 7 records to partition 0, 3 to partition 1, none to partition 2.
    let records: Vec<PyRecord> = (0..10)
        .map(|i| PyRecord {
            partition: Some(if i < 7 { 0 } else { 1 }),
            value: Some(format!("v{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect();
    // One record per batch: Tansu 0.6 reports the latest offset as the last batch's base
    // offset + 1, which is only the log end offset when the last batch holds one record.
    let one_per_batch = [("batch.num.messages", "1"), ("linger.ms", "0")];
    let delivered = python::produce(&broker.addr(), topic, &records, "none", &one_per_batch)
        .await
        .unwrap();
    assert_eq!(delivered.last(), Some(&(1, 2)));

    let partitions: Vec<(String, i32)> = (0..3).map(|p| (topic.to_string(), p)).collect();
    let offsets = |spec| {
        let admin = admin.clone();
        let partitions = partitions.clone();
        async move {
            admin
                .list_offsets(&partitions, spec, IsolationLevel::ReadUncommitted)
                .await
                .unwrap()
                .into_iter()
                .map(|((t, p), r)| {
                    assert_eq!(t, topic);
                    (p, r.unwrap().offset)
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        offsets(OffsetSpec::Earliest).await,
        vec![(0, 0), (1, 0), (2, 0)]
    );
    assert_eq!(
        offsets(OffsetSpec::Latest).await,
        vec![(0, 7), (1, 3), (2, 0)]
    );
    assert_eq!(
        python::list_offsets(&broker.addr(), topic, python::OffsetSpec::Latest)
            .await
            .unwrap(),
        vec![(0, 7), (1, 3), (2, 0)]
    );
    let committed = admin
        .list_offsets(
            &[(topic.to_string(), 0)],
            OffsetSpec::Latest,
            IsolationLevel::ReadCommitted,
        )
        .await
        .unwrap();
    assert_eq!(
        committed[&(topic.to_string(), 0)].as_ref().unwrap().offset,
        7
    );

    // A missing partition and a missing topic are per-partition errors naming them.
    let missing = admin
        .list_offsets(
            &[
                (topic.to_string(), 0),
                (topic.to_string(), 9),
                ("no-such-topic".to_string(), 0),
            ],
            OffsetSpec::Latest,
            IsolationLevel::ReadUncommitted,
        )
        .await
        .unwrap();
    assert_eq!(missing[&(topic.to_string(), 0)].as_ref().unwrap().offset, 7);
    let e = missing[&(topic.to_string(), 9)].as_ref().unwrap_err();
    assert!(e.is_unknown_topic(), "{e}");
    assert_eq!((e.topic.as_deref(), e.partition), (Some(topic), Some(9)));
    let e = missing[&("no-such-topic".to_string(), 0)]
        .as_ref()
        .unwrap_err();
    assert!(e.is_unknown_topic(), "{e}");
    assert_eq!(e.topic.as_deref(), Some("no-such-topic"));

    assert!(matches!(
        admin
            .list_offsets(
                &partitions,
                OffsetSpec::Timestamp(-5),
                IsolationLevel::ReadUncommitted,
            )
            .await,
        Err(Error::Config(m)) if m.contains("-5")
    ));
}

#[tokio::test]
async fn describe_cluster_reports_the_configured_id() {
    let broker = TansuBroker::start(TansuOptions {
        cluster_id: Some("kr-admin-cluster".into()),
        ..TansuOptions::default()
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.cluster_id, "kr-admin-cluster");
    assert_eq!(cluster.controller, Some(111));
    assert_eq!(cluster.brokers.len(), 1);
    assert_eq!(cluster.brokers[0].node_id, 111);
    assert_eq!(cluster.brokers[0].address(), broker.advertised());
}

#[tokio::test]
async fn create_partitions_on_tansu_is_a_clear_unsupported_error() {
    let broker = TansuBroker::memory().unwrap();
    let admin = admin_for(&broker).await;
    admin
        .create_topics(&[NewTopic::new("grow", 2, 1)], false)
        .await
        .unwrap();
    assert!(!admin.supports(Api::CreatePartitions).await.unwrap());
    assert!(admin.supports(Api::CreateTopics).await.unwrap());
    let e = admin.create_partitions("grow", 4).await.unwrap_err();
    match &e {
        Error::Connection(ConnectionError::UnsupportedVersion { broker: b, api, .. }) => {
            assert_eq!(*api, "CreatePartitions");
            assert_eq!(b, &broker.advertised());
        }
        other => panic!("expected an unsupported-API error, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("CreatePartitions") && text.contains("not advertised"),
        "{text}"
    );
    // Nothing changed.
    assert_eq!(
        admin.client().topic("grow").await.unwrap().partitions.len(),
        2
    );
}

#[tokio::test]
async fn acls_on_tansu_fail_cleanly() {
    let broker = TansuBroker::memory().unwrap();
    let admin = admin_for(&broker).await;
    // Tansu 0.6 answers CreateAcls with a response that does not parse (librdkafka aborts on
    // it): we must return an error naming the API and the broker, not panic or hang.
    let binding = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: "t".into(),
        pattern_type: PatternType::Literal,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: Operation::Read,
        permission: Permission::Allow,
    };
    let e = admin.create_acls(&[binding]).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("CreateAcls"), "{text}");
    assert!(text.contains(&broker.advertised()), "{text}");
    // The broker and our client are still usable afterwards.
    assert_eq!(
        admin.describe_acls(&AclFilter::any()).await.unwrap(),
        vec![]
    );
    assert_eq!(
        admin.describe_cluster().await.unwrap().brokers.len(),
        1,
        "the client recovers from the broken connection"
    );
}
