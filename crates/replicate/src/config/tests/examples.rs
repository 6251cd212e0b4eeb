//! The files in `examples/` parse, validate, and agree with each other.

use std::path::PathBuf;

use crate::config::{
    parse_create_replicator_request, parse_kafka_clusters, parse_replication_info_list,
    ClusterAuth, Compression, CreateReplicatorRequest, OffsetSyncMode, ScramMechanism, SecretRef,
    Severity, StartingPosition, TlsSettings, TopicNaming,
};

fn example(name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    (path, text)
}

#[test]
fn replicator_example_validates_to_the_expected_config() {
    let (_, text) = example("replicator.json");
    let parsed = parse_create_replicator_request(&text).unwrap();
    let config = parsed.value.validate().unwrap();

    assert_eq!(config.name, "demo-replicator");
    assert_eq!(
        config.description.as_deref(),
        Some("Self-managed Kafka (SASL/SCRAM over TLS) to a second Kafka cluster")
    );
    assert_eq!(config.source.id, "demo-source");
    assert_eq!(config.source.alias, "demo-source");
    assert_eq!(config.source.bootstrap, vec!["127.0.0.1:9096".to_string()]);
    let secret = SecretRef::File(PathBuf::from("examples/secret.json"));
    assert_eq!(
        config.source.auth,
        Some(ClusterAuth::SaslScram {
            mechanism: ScramMechanism::Sha512,
            secret: secret.clone(),
        })
    );
    assert_eq!(
        config.source.tls,
        Some(TlsSettings {
            root_ca: Some(secret)
        })
    );
    assert_eq!(config.target.id, "demo-target");
    assert_eq!(config.target.bootstrap, vec!["127.0.0.1:9092".to_string()]);
    assert_eq!(config.target.auth, None);
    assert_eq!(config.target.tls, None);

    assert_eq!(config.compression, Compression::Lz4);
    assert_eq!(config.starting_position, StartingPosition::Earliest);
    assert_eq!(config.naming, TopicNaming::PrefixedWithSourceClusterAlias);
    assert_eq!(config.offset_sync_mode, OffsetSyncMode::Legacy);
    assert_eq!(config.topics.include_patterns(), ["orders.*", "payments"]);
    assert_eq!(config.topics.exclude_patterns(), ["orders-scratch.*"]);
    assert!(config.topics.selects("orders"));
    assert!(config.topics.selects("orders-eu"));
    assert!(config.topics.selects("payments"));
    assert!(!config.topics.selects("payments-v2"));
    assert!(!config.topics.selects("orders-scratch-1"));
    assert!(config.groups.selects("billing"));
    assert!(!config.groups.selects("console-consumer-4711"));
    assert_eq!(config.target_topic("orders"), "demo-source.orders");

    let notices: Vec<String> = parsed.notices.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notices,
        [
            "note: ServiceExecutionRoleArn: ignored: kreplicate does not assume this role; AWS calls and MSK IAM use the default AWS credential chain (see docs/aws.md)",
            "note: KafkaClusters[1]: no EncryptionInTransit: kreplicate connects without TLS (MSK Replicator would use TLS); add \"EncryptionInTransit\": {\"EncryptionType\": \"TLS\"} to use TLS",
        ]
    );
    assert!(parsed.notices.iter().all(|n| n.severity == Severity::Info));
}

#[test]
fn separate_files_match_the_full_request() {
    let (_, full) = example("replicator.json");
    let full = parse_create_replicator_request(&full).unwrap().value;
    let (_, clusters_json) = example("kafka-clusters.json");
    let clusters = parse_kafka_clusters(&clusters_json).unwrap();
    let (_, infos_json) = example("replication-info.json");
    let infos = parse_replication_info_list(&infos_json).unwrap();

    assert_eq!(clusters.value.0, full.kafka_clusters);
    assert_eq!(infos.value.0, full.replication_info_list);
    let notices: Vec<String> = clusters.notices.iter().map(|n| n.to_string()).collect();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].starts_with("note: [1]: no EncryptionInTransit"),
        "{notices:?}"
    );
    assert!(infos.notices.is_empty());

    // Assembled as the CLI would from --replicator-name and the two files.
    let assembled = CreateReplicatorRequest::from_parts(
        full.replicator_name.clone(),
        full.description.clone(),
        None,
        &clusters_json,
        &infos_json,
    )
    .unwrap();
    assert_eq!(assembled.validate().unwrap(), full.validate().unwrap());
}

#[test]
fn secret_example_resolves_to_scram_credentials_and_ca() {
    let (path, _) = example("secret.json");
    let secret = SecretRef::File(path.clone()).resolve().unwrap();
    assert_eq!(secret.username().unwrap(), "kreplicate");
    assert_eq!(secret.password().unwrap(), "change-me");
    assert!(secret
        .certificate()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(
        secret.origin(),
        format!("secret file {}", path.display()).as_str()
    );
}

#[test]
fn example_secret_reference_resolves_from_the_repo_root() {
    // The examples use paths relative to the repository root, where the
    // demo runs; relative_to anchors them there.
    let (_, text) = example("replicator.json");
    let config = parse_create_replicator_request(&text)
        .unwrap()
        .value
        .validate()
        .unwrap();
    let Some(ClusterAuth::SaslScram { secret, .. }) = config.source.auth else {
        panic!("source should use SASL/SCRAM");
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let secret = secret.relative_to(&root).resolve().unwrap();
    assert_eq!(secret.username().unwrap(), "kreplicate");
}

#[test]
fn example_round_trips_through_serialize() {
    let (_, text) = example("replicator.json");
    let request = parse_create_replicator_request(&text).unwrap().value;
    let json = serde_json::to_string(&request).unwrap();
    let again = parse_create_replicator_request(&json).unwrap().value;
    assert_eq!(again, request);
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    let written: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(written, original, "the example spells out every default");
}
