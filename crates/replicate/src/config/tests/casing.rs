//! PascalCase (AWS CLI) and camelCase (REST wire) keys are both accepted
//! and mean the same thing.

use crate::config::{parse_create_replicator_request, parse_kafka_clusters, ClusterAuth, Mtls};
use serde_json::{json, Map, Value};

/// A request that sets every member the model has, in PascalCase.
fn every_member() -> Value {
    json!({
        "ReplicatorName": "r1",
        "Description": "all members",
        "ServiceExecutionRoleArn": "arn:aws:iam::1:role/r",
        "KafkaClusters": [
            {
                "AmazonMskCluster": {"MskClusterArn": "arn:aws:kafka:us-east-1:1:cluster/a/b"},
                "ApacheKafkaCluster": {"ApacheKafkaClusterId": "src", "BootstrapBrokerString": "h:1"},
                "VpcConfig": {"SubnetIds": ["s1", "s2"], "SecurityGroupIds": ["g"]},
                "ClientAuthentication": {
                    "SaslScram": {"Mechanism": "SHA256", "SecretArn": "file://s.json"},
                    "MTLS": {"SecretArn": "env:M"}
                },
                "EncryptionInTransit": {"EncryptionType": "TLS", "RootCaCertificate": "ca.pem"}
            },
            {
                "ApacheKafkaCluster": {"ApacheKafkaClusterId": "dst", "BootstrapBrokerString": "h:2"}
            }
        ],
        "ReplicationInfoList": [{
            "SourceKafkaClusterArn": "arn:aws:kafka:us-east-1:1:cluster/a/b",
            "SourceKafkaClusterId": "src",
            "TargetKafkaClusterArn": "arn:aws:kafka:us-east-1:1:cluster/c/d",
            "TargetKafkaClusterId": "dst",
            "TargetCompressionType": "ZSTD",
            "TopicReplication": {
                "TopicsToReplicate": ["a"],
                "TopicsToExclude": ["b"],
                "CopyTopicConfigurations": false,
                "CopyAccessControlListsForTopics": false,
                "DetectAndCopyNewTopics": false,
                "StartingPosition": {"Type": "EARLIEST"},
                "TopicNameConfiguration": {"Type": "IDENTICAL"}
            },
            "ConsumerGroupReplication": {
                "ConsumerGroupsToReplicate": ["g"],
                "ConsumerGroupsToExclude": ["h"],
                "SynchroniseConsumerGroupOffsets": false,
                "DetectAndCopyNewConsumerGroups": false,
                "ConsumerGroupOffsetSyncMode": "ENHANCED"
            }
        }],
        "Tags": {"Team": "data", "CostCenter": "42"},
        "LogDelivery": {"ReplicatorLogDelivery": {
            "CloudWatchLogs": {"Enabled": true, "LogGroup": "lg"},
            "Firehose": {"Enabled": false, "DeliveryStream": "ds"},
            "S3": {"Enabled": true, "Bucket": "bk", "Prefix": "px"}
        }}
    })
}

/// The wire spelling of a PascalCase member name.
fn camel(key: &str) -> String {
    if key == "MTLS" {
        return "mTLS".to_owned();
    }
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Renames every member key, leaving user data (tag keys) alone.
fn to_camel(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "Tags" { v.clone() } else { to_camel(v) };
                    (camel(k), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(to_camel).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_member_has_a_camel_case_spelling_with_the_same_meaning() {
    let pascal = every_member();
    let camel = to_camel(&pascal);
    assert!(camel.get("kafkaClusters").is_some());
    assert!(camel["kafkaClusters"][0]["clientAuthentication"]
        .get("mTLS")
        .is_some());
    assert!(camel["tags"].get("CostCenter").is_some());

    let a = parse_create_replicator_request(&pascal.to_string()).unwrap();
    let b = parse_create_replicator_request(&camel.to_string()).unwrap();
    assert_eq!(a.value, b.value);
    assert_eq!(a.notices, b.notices);
    // Nothing was dropped: writing the request back gives the input.
    assert_eq!(serde_json::to_value(&a.value).unwrap(), pascal);
}

#[test]
fn camel_case_example_validates_like_pascal_case() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/replicator.json"
    ))
    .unwrap();
    let pascal: Value = serde_json::from_str(&text).unwrap();
    let camel = to_camel(&pascal);
    assert!(camel["replicationInfoList"][0]
        .get("sourceKafkaClusterId")
        .is_some());
    let a = parse_create_replicator_request(&pascal.to_string()).unwrap();
    let b = parse_create_replicator_request(&camel.to_string()).unwrap();
    assert_eq!(a.value, b.value);
    assert_eq!(a.value.validate().unwrap(), b.value.validate().unwrap());
}

#[test]
fn mixed_casing_in_one_document_is_accepted() {
    let doc = json!([{
        "apacheKafkaCluster": {"ApacheKafkaClusterId": "x", "bootstrapBrokerString": "h:1"},
        "ClientAuthentication": {"saslScram": {"mechanism": "SHA512", "SecretArn": "env:S"}}
    }]);
    let parsed = parse_kafka_clusters(&doc.to_string()).unwrap().value;
    let apache = parsed.0[0].apache_kafka_cluster.as_ref().unwrap();
    assert_eq!(apache.apache_kafka_cluster_id, "x");
    assert_eq!(apache.bootstrap_broker_string, "h:1");
}

#[test]
fn mtls_is_read_under_both_spellings() {
    for key in ["MTLS", "mTLS"] {
        let doc = format!(
            r#"[{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "x", "BootstrapBrokerString": "h:1"}},
                 "ClientAuthentication": {{"{key}": {{"SecretArn": "file://client.json"}}}}}}]"#
        );
        let parsed = parse_kafka_clusters(&doc).unwrap().value;
        let auth = parsed.0[0].client_authentication.as_ref().unwrap();
        assert_eq!(
            auth.mtls,
            Some(Mtls {
                secret_arn: "file://client.json".into()
            }),
            "{key}"
        );
        assert_eq!(auth.sasl_scram, None);
    }
}

#[test]
fn mtls_in_other_casings_is_rejected() {
    for key in ["Mtls", "mtls", "MTls"] {
        let doc = format!(r#"[{{"ClientAuthentication": {{"{key}": {{"SecretArn": "x"}}}}}}]"#);
        let err = parse_kafka_clusters(&doc).unwrap_err();
        assert_eq!(
            err.path(),
            format!("[0].ClientAuthentication.{key}"),
            "{err}"
        );
        assert!(
            err.message().contains(&format!("unknown field `{key}`")),
            "{err}"
        );
    }
}

#[test]
fn mtls_cluster_gets_tls_implicitly() {
    let mut doc = every_member();
    let cluster = &mut doc["KafkaClusters"][0];
    cluster.as_object_mut().unwrap().remove("AmazonMskCluster");
    cluster
        .as_object_mut()
        .unwrap()
        .remove("EncryptionInTransit");
    cluster["ClientAuthentication"]
        .as_object_mut()
        .unwrap()
        .remove("SaslScram");
    let info = &mut doc["ReplicationInfoList"][0];
    info.as_object_mut()
        .unwrap()
        .remove("SourceKafkaClusterArn");
    info.as_object_mut()
        .unwrap()
        .remove("TargetKafkaClusterArn");
    let config = parse_create_replicator_request(&doc.to_string())
        .unwrap()
        .value
        .validate()
        .unwrap();
    assert!(matches!(
        config.source.auth,
        Some(ClusterAuth::MutualTls { .. })
    ));
    assert_eq!(config.source.tls.unwrap().root_ca, None);
}

#[test]
fn the_same_member_in_both_casings_is_a_duplicate() {
    let doc = r#"{"ReplicatorName": "a", "replicatorName": "b", "KafkaClusters": [], "ReplicationInfoList": []}"#;
    let err = parse_create_replicator_request(doc).unwrap_err();
    assert!(
        err.message().contains("duplicate field `ReplicatorName`"),
        "{err}"
    );
}

#[test]
fn notices_use_pascal_case_paths_whatever_the_input() {
    let camel = to_camel(&every_member());
    let parsed = parse_create_replicator_request(&camel.to_string()).unwrap();
    let paths: Vec<&str> = parsed.notices.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "ServiceExecutionRoleArn",
            "KafkaClusters[0].VpcConfig",
            "KafkaClusters[1]",
            "ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupOffsetSyncMode",
            "Tags",
            "LogDelivery",
        ]
    );
}
