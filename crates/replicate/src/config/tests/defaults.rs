//! Members left out take the MSK defaults.

use crate::config::{
    parse_create_replicator_request, parse_replication_info_list, Compression, OffsetSyncMode,
    ReplicationFlags, Severity, StartingPosition, TopicNaming,
};

/// The least a request can say.
const MINIMAL: &str = r#"{
  "ReplicatorName": "r",
  "KafkaClusters": [
    {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "a", "BootstrapBrokerString": "h1:9092"}},
    {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "b", "BootstrapBrokerString": "h2:9092"}}
  ],
  "ReplicationInfoList": [{
    "SourceKafkaClusterId": "a",
    "TargetKafkaClusterId": "b",
    "TargetCompressionType": "NONE",
    "TopicReplication": {"TopicsToReplicate": [".*"]},
    "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": [".*"]}
  }]
}"#;

#[test]
fn absent_members_take_msk_defaults() {
    let parsed = parse_create_replicator_request(MINIMAL).unwrap();
    let info = &parsed.value.replication_info_list[0];
    let topics = &info.topic_replication;
    assert!(topics.topics_to_exclude.is_empty());
    assert!(topics.copy_topic_configurations);
    assert!(topics.copy_access_control_lists_for_topics);
    assert!(topics.detect_and_copy_new_topics);
    assert_eq!(topics.starting_position.r#type, StartingPosition::Latest);
    assert_eq!(
        topics.topic_name_configuration.r#type,
        TopicNaming::PrefixedWithSourceClusterAlias
    );
    assert!(!topics.topic_name_configuration.spelled_prefixed);
    let groups = &info.consumer_group_replication;
    assert!(groups.consumer_groups_to_exclude.is_empty());
    assert!(groups.synchronise_consumer_group_offsets);
    assert!(groups.detect_and_copy_new_consumer_groups);
    assert_eq!(
        groups.consumer_group_offset_sync_mode,
        OffsetSyncMode::Legacy
    );
    assert_eq!(parsed.value.description, None);
    assert_eq!(parsed.value.service_execution_role_arn, None);

    let config = parsed.value.validate().unwrap();
    assert_eq!(config.compression, Compression::None);
    assert_eq!(config.starting_position, StartingPosition::Latest);
    assert_eq!(config.naming, TopicNaming::PrefixedWithSourceClusterAlias);
    assert_eq!(config.offset_sync_mode, OffsetSyncMode::Legacy);
    assert_eq!(
        config.flags,
        ReplicationFlags {
            copy_topic_configurations: true,
            copy_topic_acls: true,
            detect_new_topics: true,
            sync_group_offsets: true,
            detect_new_groups: true,
        }
    );
    assert!(config.topics.exclude_patterns().is_empty());
    assert!(config.groups.exclude_patterns().is_empty());
    assert_eq!(config.source.auth, None);
    assert_eq!(config.source.tls, None);
    assert_eq!(config.target_topic("t"), "a.t");
}

#[test]
fn minimal_request_notes_only_the_plaintext_connections() {
    let parsed = parse_create_replicator_request(MINIMAL).unwrap();
    let paths: Vec<&str> = parsed.notices.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["KafkaClusters[0]", "KafkaClusters[1]"]);
}

#[test]
fn empty_objects_take_the_defaults_too() {
    let doc = r#"[{
      "TargetCompressionType": "GZIP",
      "TopicReplication": {"TopicsToReplicate": ["x"], "StartingPosition": {}, "TopicNameConfiguration": {}},
      "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": []}
    }]"#;
    let infos = parse_replication_info_list(doc).unwrap().value;
    let topics = &infos.0[0].topic_replication;
    assert_eq!(topics.starting_position.r#type, StartingPosition::Latest);
    assert_eq!(
        topics.topic_name_configuration.r#type,
        TopicNaming::PrefixedWithSourceClusterAlias
    );
    assert_eq!(infos.0[0].target_compression_type, Compression::Gzip);
}

#[test]
fn prefixed_is_read_as_the_long_form_with_a_warning() {
    let doc = MINIMAL.replace(
        r#""TopicReplication": {"TopicsToReplicate": [".*"]}"#,
        r#""TopicReplication": {"TopicsToReplicate": [".*"], "TopicNameConfiguration": {"Type": "PREFIXED"}}"#,
    );
    assert_ne!(doc, MINIMAL);
    let parsed = parse_create_replicator_request(&doc).unwrap();
    let naming = parsed.value.replication_info_list[0]
        .topic_replication
        .topic_name_configuration;
    assert_eq!(naming.r#type, TopicNaming::PrefixedWithSourceClusterAlias);
    assert!(naming.spelled_prefixed);
    let warnings: Vec<String> = parsed
        .notices
        .iter()
        .filter(|n| n.severity == Severity::Warning)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        warnings,
        ["warning: ReplicationInfoList[0].TopicReplication.TopicNameConfiguration.Type: \"PREFIXED\" is not an MSK value; read as \"PREFIXED_WITH_SOURCE_CLUSTER_ALIAS\" (write that, which AWS also accepts)"]
    );
    // Same engine config as the canonical spelling; written back canonically.
    let config = parsed.value.validate().unwrap();
    assert_eq!(config.target_topic("orders"), "a.orders");
    let written = serde_json::to_string(&parsed.value).unwrap();
    assert!(
        written.contains(r#""Type":"PREFIXED_WITH_SOURCE_CLUSTER_ALIAS""#),
        "{written}"
    );
}

#[test]
fn identical_naming_keeps_names() {
    let doc = MINIMAL.replace(
        r#""TopicsToReplicate": [".*"]}"#,
        r#""TopicsToReplicate": [".*"], "TopicNameConfiguration": {"Type": "IDENTICAL"}}"#,
    );
    let config = parse_create_replicator_request(&doc)
        .unwrap()
        .value
        .validate()
        .unwrap();
    assert_eq!(config.naming, TopicNaming::Identical);
    assert_eq!(config.target_topic("orders"), "orders");
}

#[test]
fn bootstrap_is_split_and_trimmed_and_clusters_taken_by_role() {
    // The target is listed first: roles come from ReplicationInfo.
    let doc = r#"{
      "ReplicatorName": "r",
      "KafkaClusters": [
        {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "dst", "BootstrapBrokerString": "t1:9092"}},
        {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "src", "BootstrapBrokerString": " s1:9092 ,s2:9093,[::1]:9094, "}}
      ],
      "ReplicationInfoList": [{
        "SourceKafkaClusterId": "src", "TargetKafkaClusterId": "dst",
        "TargetCompressionType": "SNAPPY",
        "TopicReplication": {"TopicsToReplicate": [".*"]},
        "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": []}
      }]
    }"#;
    let config = parse_create_replicator_request(doc)
        .unwrap()
        .value
        .validate()
        .unwrap();
    assert_eq!(config.source.id, "src");
    assert_eq!(
        config.source.bootstrap,
        ["s1:9092", "s2:9093", "[::1]:9094"]
    );
    assert_eq!(config.target.id, "dst");
    assert_eq!(config.target.bootstrap, ["t1:9092"]);
    assert!(!config.groups.selects("anything"));
}
