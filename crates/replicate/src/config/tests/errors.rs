//! Every rejected input names the member's path and the offending value.

use crate::config::{
    parse_create_replicator_request, parse_kafka_clusters, parse_replication_info_list, ConfigError,
};
use serde_json::{json, Value};

fn minimal() -> Value {
    json!({
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
    })
}

/// Parses and validates `doc`, expecting an error.
fn error_for(doc: &Value) -> ConfigError {
    match parse_create_replicator_request(&doc.to_string()) {
        Err(e) => e,
        Ok(parsed) => match parsed.value.validate() {
            Err(e) => e,
            Ok(config) => panic!("accepted: {config:?}"),
        },
    }
}

/// `minimal()` changed by `edit`, expecting an error at `path` whose
/// message contains each of `needles`.
fn assert_rejected(edit: impl FnOnce(&mut Value), path: &str, needles: &[&str]) {
    let mut doc = minimal();
    edit(&mut doc);
    let err = error_for(&doc);
    assert_eq!(err.path(), path, "{err}");
    for needle in needles {
        assert!(err.message().contains(needle), "{needle:?} not in: {err}");
    }
    assert_eq!(
        err.to_string(),
        format!("{}: {}", err.path(), err.message())
    );
}

fn info(doc: &mut Value) -> &mut Value {
    &mut doc["ReplicationInfoList"][0]
}

fn cluster(doc: &mut Value, i: usize) -> &mut Value {
    &mut doc["KafkaClusters"][i]
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().unwrap().remove(key);
}

#[test]
fn minimal_document_is_valid() {
    let parsed = parse_create_replicator_request(&minimal().to_string()).unwrap();
    parsed.value.validate().unwrap();
}

// ---- shape errors (parsing) ----

#[test]
fn unknown_field_names_its_path_and_the_expected_fields() {
    assert_rejected(
        |d| {
            let t = &mut info(d)["TopicReplication"];
            t["TopicsToReplicat"] = json!(["x"]);
        },
        "ReplicationInfoList[0].TopicReplication.TopicsToReplicat",
        &[
            "unknown field `TopicsToReplicat`, expected one of",
            "`TopicsToReplicate`, `TopicsToExclude`, `CopyTopicConfigurations`",
            "line 1 column",
        ],
    );
    let mut doc = minimal();
    info(&mut doc)["TopicReplication"]["TopicsToReplicat"] = json!(["x"]);
    let err = error_for(&doc);
    assert!(!err.message().contains("`topicsToReplicate`"), "{err}");
}

#[test]
fn unknown_field_path_keeps_the_input_casing() {
    let doc = r#"{"replicatorName": "r", "kafkaClusters": [{"apacheKafkaCluster": {"apacheKafkaClusterId": "a", "bootstrapBrokers": "h:1"}}]}"#;
    let err = parse_create_replicator_request(doc).unwrap_err();
    assert_eq!(
        err.path(),
        "kafkaClusters[0].apacheKafkaCluster.bootstrapBrokers"
    );
    assert!(
        err.message().contains("unknown field `bootstrapBrokers`"),
        "{err}"
    );
}

#[test]
fn unknown_top_level_field() {
    assert_rejected(
        |d| d["ReplicatorArn"] = json!("x"),
        "ReplicatorArn",
        &["unknown field `ReplicatorArn`"],
    );
}

#[test]
fn unknown_log_delivery_field() {
    assert_rejected(
        |d| {
            d["LogDelivery"] =
                json!({"ReplicatorLogDelivery": {"S3": {"Enabled": true, "Buckets": "b"}}})
        },
        "LogDelivery.ReplicatorLogDelivery.S3.Buckets",
        &["unknown field `Buckets`"],
    );
}

#[test]
fn bad_enum_values_name_the_path_the_value_and_the_choices() {
    /// An edit, the path it breaks, and what the message must contain.
    type Case = (fn(&mut Value), &'static str, &'static [&'static str]);
    let cases: Vec<Case> = vec![
        (
            |d| info(d)["TargetCompressionType"] = json!("BROTLI"),
            "ReplicationInfoList[0].TargetCompressionType",
            &[
                "unknown variant `BROTLI`",
                "expected one of `NONE`, `GZIP`, `SNAPPY`, `LZ4`, `ZSTD`",
            ],
        ),
        (
            |d| info(d)["TopicReplication"]["StartingPosition"] = json!({"Type": "MIDDLE"}),
            "ReplicationInfoList[0].TopicReplication.StartingPosition.Type",
            &[
                "unknown variant `MIDDLE`",
                "expected `LATEST` or `EARLIEST`",
            ],
        ),
        (
            |d| info(d)["TopicReplication"]["TopicNameConfiguration"] = json!({"Type": "SUFFIXED"}),
            "ReplicationInfoList[0].TopicReplication.TopicNameConfiguration.Type",
            &[
                "unknown variant `SUFFIXED`",
                "expected one of `PREFIXED_WITH_SOURCE_CLUSTER_ALIAS`, `IDENTICAL`",
            ],
        ),
        (
            |d| info(d)["ConsumerGroupReplication"]["ConsumerGroupOffsetSyncMode"] = json!("FAST"),
            "ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupOffsetSyncMode",
            &["unknown variant `FAST`", "expected `LEGACY` or `ENHANCED`"],
        ),
        (
            |d| {
                cluster(d, 0)["ClientAuthentication"] =
                    json!({"SaslScram": {"Mechanism": "SHA1", "SecretArn": "s.json"}})
            },
            "KafkaClusters[0].ClientAuthentication.SaslScram.Mechanism",
            &["unknown variant `SHA1`", "expected `SHA256` or `SHA512`"],
        ),
        (
            |d| cluster(d, 1)["EncryptionInTransit"] = json!({"EncryptionType": "SSL"}),
            "KafkaClusters[1].EncryptionInTransit.EncryptionType",
            &["unknown variant `SSL`", "expected `TLS`"],
        ),
    ];
    for (edit, path, needles) in cases {
        assert_rejected(edit, path, needles);
    }
}

#[test]
fn missing_required_member_names_the_containing_path() {
    assert_rejected(
        |d| remove(&mut info(d)["TopicReplication"], "TopicsToReplicate"),
        "ReplicationInfoList[0].TopicReplication",
        &["missing field `TopicsToReplicate`"],
    );
    assert_rejected(
        |d| remove(info(d), "TargetCompressionType"),
        "ReplicationInfoList[0]",
        &["missing field `TargetCompressionType`"],
    );
    assert_rejected(
        |d| remove(d, "ReplicatorName"),
        "(document)",
        &["missing field `ReplicatorName`"],
    );
}

#[test]
fn wrong_type_names_the_path_and_value() {
    assert_rejected(
        |d| info(d)["TopicReplication"]["CopyTopicConfigurations"] = json!("yes"),
        "ReplicationInfoList[0].TopicReplication.CopyTopicConfigurations",
        &["invalid type: string \"yes\", expected a boolean"],
    );
    assert_rejected(
        |d| info(d)["TopicReplication"]["TopicsToReplicate"] = json!(["a", 7]),
        "ReplicationInfoList[0].TopicReplication.TopicsToReplicate[1]",
        &["invalid type: integer `7`, expected a string"],
    );
}

#[test]
fn trailing_content_and_bad_syntax_are_document_errors() {
    let text = format!("{} {{}}", minimal());
    let err = parse_create_replicator_request(&text).unwrap_err();
    assert_eq!(err.path(), "(document)");
    assert!(err.message().contains("trailing characters"), "{err}");

    let err = parse_create_replicator_request("{\"ReplicatorName\": ").unwrap_err();
    assert!(err.message().contains("EOF"), "{err}");
}

#[test]
fn separate_files_name_paths_from_the_array() {
    let err = parse_kafka_clusters(
        r#"[{"ApacheKafkaCluster": {"ApacheKafkaClusterId": "a", "BootstrapBrokerString": "h:1"}},
            {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "b", "BootstrapBrokers": "h:1"}}]"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "[1].ApacheKafkaCluster.BootstrapBrokers");
    assert!(
        err.message().contains("unknown field `BootstrapBrokers`"),
        "{err}"
    );

    let err = parse_replication_info_list(
        r#"[{"TargetCompressionType": "LZMA", "TopicReplication": {"TopicsToReplicate": []},
             "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": []}}]"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "[0].TargetCompressionType");
    assert!(err.message().contains("unknown variant `LZMA`"), "{err}");

    let err = parse_kafka_clusters(r#"{"KafkaClusters": []}"#).unwrap_err();
    assert_eq!(err.path(), "(document)");
    assert!(err.message().contains("expected a sequence"), "{err}");
}

// ---- meaning errors (validation) ----

#[test]
fn replicator_name_rules() {
    for bad in ["my_replicator", "-lead", "has space", "ünïcode"] {
        assert_rejected(
            |d| d["ReplicatorName"] = json!(bad),
            "ReplicatorName",
            &[&format!("{bad:?}"), "^[0-9A-Za-z][0-9A-Za-z-]{0,}$"],
        );
    }
    assert_rejected(
        |d| d["ReplicatorName"] = json!(""),
        "ReplicatorName",
        &["\"\" is 0 characters long; 1 to 128 are allowed"],
    );
    let long = "a".repeat(129);
    assert_rejected(
        |d| d["ReplicatorName"] = json!(long),
        "ReplicatorName",
        &[&format!("{long:?} is 129 characters long")],
    );
    let mut doc = minimal();
    doc["ReplicatorName"] = json!(format!("A-{}", "b".repeat(126)));
    let parsed = parse_create_replicator_request(&doc.to_string()).unwrap();
    parsed.value.validate().unwrap();
}

#[test]
fn description_limit() {
    assert_rejected(
        |d| d["Description"] = json!("d".repeat(1025)),
        "Description",
        &["is 1025 characters long; at most 1024"],
    );
}

#[test]
fn exactly_two_clusters() {
    assert_rejected(
        |d| {
            d["KafkaClusters"].as_array_mut().unwrap().pop();
        },
        "KafkaClusters",
        &["expected exactly 2 clusters", "found 1"],
    );
    assert_rejected(
        |d| {
            let extra = json!({"ApacheKafkaCluster": {"ApacheKafkaClusterId": "c", "BootstrapBrokerString": "h:1"}});
            d["KafkaClusters"].as_array_mut().unwrap().push(extra);
        },
        "KafkaClusters",
        &["found 3"],
    );
}

#[test]
fn each_cluster_is_exactly_one_kind() {
    assert_rejected(
        |d| remove(cluster(d, 1), "ApacheKafkaCluster"),
        "KafkaClusters[1]",
        &["exactly one of AmazonMskCluster and ApacheKafkaCluster; neither"],
    );
    assert_rejected(
        |d| {
            cluster(d, 0)["AmazonMskCluster"] =
                json!({"MskClusterArn": "arn:aws:kafka:r:1:cluster/x/y"})
        },
        "KafkaClusters[0]",
        &["not both"],
    );
}

#[test]
fn msk_cluster_by_arn_is_reached_with_iam_over_tls() {
    use crate::config::ClusterAuth;
    let arn = "arn:aws:kafka:eu-west-1:123456789012:cluster/prod/abcd-1";
    let mut doc = minimal();
    doc["KafkaClusters"][1] = json!({"AmazonMskCluster": {"MskClusterArn": arn}});
    remove(info(&mut doc), "TargetKafkaClusterId");
    info(&mut doc)["TargetKafkaClusterArn"] = json!(arn);
    let config = parse_create_replicator_request(&doc.to_string())
        .unwrap()
        .value
        .validate()
        .unwrap();
    let target = &config.target;
    assert_eq!(target.msk_cluster_arn.as_deref(), Some(arn));
    assert_eq!(target.id, arn);
    assert_eq!(target.alias, "prod");
    assert!(target.bootstrap.is_empty());
    assert_eq!(
        target.auth,
        Some(ClusterAuth::MskIam {
            region: "eu-west-1".into(),
            token_lifetime: std::time::Duration::from_secs(900)
        })
    );
    assert_eq!(target.tls.as_ref().map(|t| t.root_ca.is_none()), Some(true));
}

#[test]
fn msk_cluster_arn_with_placeholders_is_refused() {
    let arn = "arn:aws:kafka:<REGION>:<ACCOUNT_ID>:cluster/my-cluster/abc-123";
    assert_rejected(
        |d| {
            d["KafkaClusters"][1] = json!({"AmazonMskCluster": {"MskClusterArn": arn}});
            remove(info(d), "TargetKafkaClusterId");
            info(d)["TargetKafkaClusterArn"] = json!(arn);
        },
        "KafkaClusters[1].AmazonMskCluster.MskClusterArn",
        &[&format!("{arn:?}"), "region \"<REGION>\""],
    );
}

#[test]
fn cluster_id_and_bootstrap_rules() {
    let id = "KafkaClusters[0].ApacheKafkaCluster.ApacheKafkaClusterId";
    assert_rejected(
        |d| cluster(d, 0)["ApacheKafkaCluster"]["ApacheKafkaClusterId"] = json!(" "),
        id,
        &["is empty"],
    );
    let path = "KafkaClusters[1].ApacheKafkaCluster.BootstrapBrokerString";
    for (value, why) in [
        ("localhost", "no port"),
        ("h:1,:9092", "no host"),
        ("h:0", "port must be a number"),
        ("h:x", "port must be a number"),
        ("h:70000", "port must be a number"),
        ("::1:9092", "IPv6"),
    ] {
        assert_rejected(
            |d| cluster(d, 1)["ApacheKafkaCluster"]["BootstrapBrokerString"] = json!(value),
            path,
            &[why, &format!("{value:?}")],
        );
    }
    assert_rejected(
        |d| cluster(d, 1)["ApacheKafkaCluster"]["BootstrapBrokerString"] = json!(" , "),
        path,
        &["\" , \" lists no brokers"],
    );
}

#[test]
fn cluster_ids_must_differ() {
    assert_rejected(
        |d| cluster(d, 1)["ApacheKafkaCluster"]["ApacheKafkaClusterId"] = json!("a"),
        "KafkaClusters[1].ApacheKafkaCluster.ApacheKafkaClusterId",
        &["\"a\" is also the id of KafkaClusters[0]"],
    );
}

#[test]
fn client_authentication_is_exactly_one_kind() {
    assert_rejected(
        |d| cluster(d, 0)["ClientAuthentication"] = json!({}),
        "KafkaClusters[0].ClientAuthentication",
        &["exactly one of SaslScram and MTLS"],
    );
    assert_rejected(
        |d| {
            cluster(d, 0)["ClientAuthentication"] = json!({
                "SaslScram": {"Mechanism": "SHA256", "SecretArn": "s.json"},
                "mTLS": {"SecretArn": "c.json"}
            })
        },
        "KafkaClusters[0].ClientAuthentication",
        &["not both"],
    );
}

#[test]
fn bad_secret_references_name_the_member() {
    assert_rejected(
        |d| {
            cluster(d, 0)["ClientAuthentication"] =
                json!({"SaslScram": {"Mechanism": "SHA256", "SecretArn": "env:"}})
        },
        "KafkaClusters[0].ClientAuthentication.SaslScram.SecretArn",
        &["\"env:\"", "variable name"],
    );
    assert_rejected(
        |d| cluster(d, 1)["ClientAuthentication"] = json!({"MTLS": {"SecretArn": "file://"}}),
        "KafkaClusters[1].ClientAuthentication.MTLS.SecretArn",
        &["\"file://\""],
    );
    assert_rejected(
        |d| {
            cluster(d, 1)["EncryptionInTransit"] =
                json!({"EncryptionType": "TLS", "RootCaCertificate": ""})
        },
        "KafkaClusters[1].EncryptionInTransit.RootCaCertificate",
        &["\"\"", "empty"],
    );
}

#[test]
fn exactly_one_replication_info() {
    assert_rejected(
        |d| d["ReplicationInfoList"] = json!([]),
        "ReplicationInfoList",
        &["expected exactly 1 element, found 0"],
    );
    assert_rejected(
        |d| {
            let copy = d["ReplicationInfoList"][0].clone();
            d["ReplicationInfoList"].as_array_mut().unwrap().push(copy);
        },
        "ReplicationInfoList",
        &["found 2"],
    );
}

#[test]
fn cluster_references() {
    let p = "ReplicationInfoList[0]";
    assert_rejected(
        |d| info(d)["SourceKafkaClusterArn"] = json!("arn:aws:kafka:r:1:cluster/a/b"),
        &format!("{p}.SourceKafkaClusterArn"),
        &["either SourceKafkaClusterArn or SourceKafkaClusterId, not both"],
    );
    assert_rejected(
        |d| remove(info(d), "SourceKafkaClusterId"),
        p,
        &["missing SourceKafkaClusterId", "\"a\", \"b\""],
    );
    assert_rejected(
        |d| info(d)["TargetKafkaClusterId"] = json!("zzz"),
        &format!("{p}.TargetKafkaClusterId"),
        &[
            "\"zzz\" matches no ApacheKafkaCluster.ApacheKafkaClusterId",
            "\"a\", \"b\"",
        ],
    );
    assert_rejected(
        |d| {
            remove(info(d), "TargetKafkaClusterId");
            info(d)["TargetKafkaClusterArn"] = json!("arn:aws:kafka:r:1:cluster/q/r");
        },
        &format!("{p}.TargetKafkaClusterArn"),
        &["\"arn:aws:kafka:r:1:cluster/q/r\" matches no AmazonMskCluster.MskClusterArn"],
    );
    assert_rejected(
        |d| info(d)["TargetKafkaClusterId"] = json!("a"),
        &format!("{p}.TargetKafkaClusterId"),
        &["the target is the source cluster (\"a\")"],
    );
}

#[test]
fn topic_patterns() {
    let p = "ReplicationInfoList[0].TopicReplication";
    assert_rejected(
        |d| info(d)["TopicReplication"]["TopicsToReplicate"] = json!([]),
        &format!("{p}.TopicsToReplicate"),
        &["is empty"],
    );
    assert_rejected(
        |d| info(d)["TopicReplication"]["TopicsToReplicate"] = json!(["ok", "orders[", "x"]),
        &format!("{p}.TopicsToReplicate[1]"),
        &[
            "invalid regular expression \"orders[\"",
            "unclosed character class",
        ],
    );
    assert_rejected(
        |d| info(d)["TopicReplication"]["TopicsToExclude"] = json!(["(?P<x"]),
        &format!("{p}.TopicsToExclude[0]"),
        &["\"(?P<x\""],
    );
    let long = "t".repeat(250);
    assert_rejected(
        |d| info(d)["TopicReplication"]["TopicsToReplicate"] = json!([long]),
        &format!("{p}.TopicsToReplicate[0]"),
        &[&format!("{long:?} is 250 characters long; at most 249")],
    );
}

#[test]
fn group_patterns() {
    let p = "ReplicationInfoList[0].ConsumerGroupReplication";
    assert_rejected(
        |d| info(d)["ConsumerGroupReplication"]["ConsumerGroupsToExclude"] = json!(["a", "*b"]),
        &format!("{p}.ConsumerGroupsToExclude[1]"),
        &["invalid regular expression \"*b\""],
    );
    let long = "g".repeat(257);
    assert_rejected(
        |d| info(d)["ConsumerGroupReplication"]["ConsumerGroupsToReplicate"] = json!([long]),
        &format!("{p}.ConsumerGroupsToReplicate[0]"),
        &["is 257 characters long; at most 256"],
    );
}

#[test]
fn enhanced_offset_sync_needs_identical_names() {
    let path = "ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupOffsetSyncMode";
    assert_rejected(
        |d| info(d)["ConsumerGroupReplication"]["ConsumerGroupOffsetSyncMode"] = json!("ENHANCED"),
        path,
        &[
            "ENHANCED requires",
            "IDENTICAL",
            "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS (the default",
        ],
    );
    assert_rejected(
        |d| {
            info(d)["ConsumerGroupReplication"]["ConsumerGroupOffsetSyncMode"] = json!("ENHANCED");
            info(d)["TopicReplication"]["TopicNameConfiguration"] = json!({"Type": "PREFIXED"});
        },
        path,
        &["ENHANCED requires"],
    );

    let mut doc = minimal();
    info(&mut doc)["ConsumerGroupReplication"]["ConsumerGroupOffsetSyncMode"] = json!("ENHANCED");
    info(&mut doc)["TopicReplication"]["TopicNameConfiguration"] = json!({"Type": "IDENTICAL"});
    let parsed = parse_create_replicator_request(&doc.to_string()).unwrap();
    parsed.value.validate().unwrap();
    assert!(parsed
        .notices
        .iter()
        .any(|n| n.path == path && n.message.contains("second replicator")));
}

#[test]
fn prefixed_alias_must_be_usable_in_topic_names() {
    assert_rejected(
        |d| {
            cluster(d, 0)["ApacheKafkaCluster"]["ApacheKafkaClusterId"] = json!("my cluster");
            info(d)["SourceKafkaClusterId"] = json!("my cluster");
        },
        "ReplicationInfoList[0].TopicReplication.TopicNameConfiguration.Type",
        &["\"my cluster\"", "IDENTICAL"],
    );
    // With IDENTICAL names the id never reaches a topic name.
    let mut doc = minimal();
    cluster(&mut doc, 0)["ApacheKafkaCluster"]["ApacheKafkaClusterId"] = json!("my cluster");
    info(&mut doc)["SourceKafkaClusterId"] = json!("my cluster");
    info(&mut doc)["TopicReplication"]["TopicNameConfiguration"] = json!({"Type": "IDENTICAL"});
    let parsed = parse_create_replicator_request(&doc.to_string()).unwrap();
    parsed.value.validate().unwrap();
}
