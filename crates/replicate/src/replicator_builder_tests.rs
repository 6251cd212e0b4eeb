//! `ReplicatorBuilder` is the CreateReplicator JSON in Rust: the same settings give the same
//! validated configuration, the same rules reject bad ones (naming the member), and a
//! credentials provider replaces the authentication JSON cannot express.

use crate::{
    BuildError, Cluster, Compression, OffsetSyncMode, Replicator, SaslCredentials, SaslMechanism,
    ScramMechanism, StartingPosition, TopicNaming,
};
use crate::{ClusterAuth, CreateReplicatorRequest};

const JSON: &str = r#"{
  "ReplicatorName": "orders-dr",
  "Description": "orders to the DR site",
  "KafkaClusters": [
    {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "src-id", "BootstrapBrokerString": "a:9092,b:9092"},
     "ClientAuthentication": {"SaslScram": {"Mechanism": "SHA512", "SecretArn": "file:///etc/k/scram.json"}},
     "EncryptionInTransit": {"EncryptionType": "TLS"}},
    {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "dst-id", "BootstrapBrokerString": "c:9093"},
     "EncryptionInTransit": {"EncryptionType": "TLS", "RootCaCertificate": "env:DST_CA"}}
  ],
  "ReplicationInfoList": [{
    "SourceKafkaClusterId": "src-id",
    "TargetKafkaClusterId": "dst-id",
    "TargetCompressionType": "GZIP",
    "TopicReplication": {
      "TopicsToReplicate": ["orders.*", "payments"],
      "TopicsToExclude": ["orders-tmp.*"],
      "CopyAccessControlListsForTopics": false,
      "StartingPosition": {"Type": "EARLIEST"},
      "TopicNameConfiguration": {"Type": "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"}
    },
    "ConsumerGroupReplication": {
      "ConsumerGroupsToReplicate": ["billing.*"],
      "ConsumerGroupsToExclude": ["billing-test"],
      "DetectAndCopyNewConsumerGroups": false,
      "ConsumerGroupOffsetSyncMode": "LEGACY"
    }
  }]
}"#;

fn builder() -> crate::ReplicatorBuilder {
    Replicator::builder("orders-dr")
        .description("orders to the DR site")
        .source(
            Cluster::new("src-id", "a:9092,b:9092")
                .sasl_scram(ScramMechanism::Sha512, "file:///etc/k/scram.json")
                .tls(),
        )
        .target(Cluster::new("dst-id", "c:9093").tls_root_ca("env:DST_CA"))
        .topics(["orders.*", "payments"])
        .exclude_topics(["orders-tmp.*"])
        .copy_topic_metadata(true, false)
        .starting_position(StartingPosition::Earliest)
        .naming(TopicNaming::PrefixedWithSourceClusterAlias)
        .compression(Compression::Gzip)
        .groups(["billing.*"], ["billing-test"])
        .group_sync(true, false)
        .offset_sync_mode(OffsetSyncMode::Legacy)
}

#[test]
fn builder_and_json_give_the_same_config() {
    let from_json = CreateReplicatorRequest::parse(JSON)
        .unwrap()
        .validate()
        .unwrap();
    let built = builder().build_config().unwrap();
    assert_eq!(built, from_json);
    // Not vacuous: the settings took effect.
    assert_eq!(built.target_topic("orders"), "src-id.orders");
    assert!(!built.topics.selects("orders-tmp1"));
    assert!(built.groups.selects("billing-eu"));
    assert!(!built.flags.copy_topic_acls);
    assert!(!built.flags.detect_new_groups);
    assert_eq!(built.compression, Compression::Gzip);
    // A different setting gives a different config.
    let other = builder()
        .compression(Compression::Zstd)
        .build_config()
        .unwrap();
    assert_ne!(other, from_json);
}

#[test]
fn the_json_rules_apply_and_name_the_member() {
    let e = builder()
        .naming(TopicNaming::PrefixedWithSourceClusterAlias)
        .offset_sync_mode(OffsetSyncMode::Enhanced)
        .build_config()
        .unwrap_err();
    let BuildError::Invalid(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        e.path(),
        "ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupOffsetSyncMode"
    );
    let e = builder().topics(["(unclosed"]).build_config().unwrap_err();
    assert!(
        e.to_string()
            .contains("ReplicationInfoList[0].TopicReplication.TopicsToReplicate"),
        "{e}"
    );
    let e = Replicator::builder("x")
        .source(Cluster::new("a", "a:1"))
        .build_config()
        .unwrap_err();
    assert!(matches!(e, BuildError::MissingCluster("target")), "{e:?}");
    assert_eq!(
        e.to_string(),
        "no target cluster: call ReplicatorBuilder::target"
    );
}

#[test]
fn a_credentials_provider_replaces_the_authentication() {
    let provider = SaslCredentials {
        mechanism: SaslMechanism::ScramSha256,
        username: "svc".into(),
        password: "hunter2".into(),
    };
    let config = builder()
        .target(Cluster::new("dst-id", "c:9093").credentials(provider))
        .build_config()
        .unwrap();
    assert!(
        matches!(config.target.auth, Some(ClusterAuth::Provided(_))),
        "{:?}",
        config.target.auth
    );
    // The source keeps its SCRAM secret; the password never shows in Debug.
    assert!(matches!(
        config.source.auth,
        Some(ClusterAuth::SaslScram { .. })
    ));
    assert!(!format!("{config:?}").contains("hunter2"));
}
