//! Every bad configuration gives one `error:` line naming what is wrong, and exit code 2.
//! These need no broker: validation fails before anything connects.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{plain_cluster, request, write};

const T: Duration = Duration::from_secs(20);

fn good_request() -> String {
    request(
        &plain_cluster("src", "127.0.0.1:9092"),
        "src",
        &plain_cluster("dst", "127.0.0.1:9093"),
        "dst",
        r#""orders.*""#,
    )
}

/// Runs `validate --cli-input-json file://<json>` and returns the error line (exit 2).
fn validate_error(dir: &Path, json: &str) -> String {
    let path = write(dir, "replicator.json", json);
    let arg = format!("file://{}", path.display());
    let out = common::run(&["validate", "--cli-input-json", &arg], T);
    assert_eq!(out.code, Some(2), "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    out.error_line().to_owned()
}

#[test]
fn valid_configuration_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "replicator.json", &good_request());
    let out = common::run(&["validate", "--cli-input-json", path.to_str().unwrap()], T);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("configuration is valid: replicator cli-test\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "  source:            src at 127.0.0.1:9092 (no authentication, plaintext)\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  topics:            orders.*; excluding (none)\n"),
        "{}",
        out.stdout
    );
    // The plaintext notice is a note, one line each, on stderr.
    let notes: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(notes.len(), 2, "{}", out.stderr);
    let expected = format!(
        "note: {}: KafkaClusters[0]: no EncryptionInTransit",
        path.display()
    );
    assert!(notes[0].starts_with(&expected), "{}", notes[0]);
}

#[test]
fn stdin_and_separate_files_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let clusters = write(
        dir.path(),
        "kafka-clusters.json",
        &format!(
            "[{}, {}]",
            plain_cluster("src", "127.0.0.1:9092"),
            plain_cluster("dst", "127.0.0.1:9093")
        ),
    );
    let infos = write(
        dir.path(),
        "replication-info.json",
        r#"[{"SourceKafkaClusterId": "src", "TargetKafkaClusterId": "dst", "TargetCompressionType": "LZ4",
             "TopicReplication": {"TopicsToReplicate": ["a", "b"]},
             "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": []}}]"#,
    );
    let out = common::run(
        &[
            "validate",
            "--replicator-name",
            "split",
            "--kafka-clusters",
            &format!("file://{}", clusters.display()),
            "--replication-info-list",
            infos.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("replicator split"), "{}", out.stdout);
    assert!(
        out.stdout.contains("target compression: LZ4"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "note: {}: [0]: no EncryptionInTransit",
            clusters.display()
        )),
        "{}",
        out.stderr
    );

    // The same request on standard input.
    let mut child = std::process::Command::new(common::bin())
        .args(["validate", "--cli-input-json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(good_request().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replicator cli-test"));
}

#[test]
fn unknown_field_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let json = good_request().replace(
        r#""TargetCompressionType": "NONE","#,
        r#""TargetCompressionType": "NONE", "Compresion": "LZ4","#,
    );
    let line = validate_error(dir.path(), &json);
    assert!(
        line.contains("ReplicationInfoList[0].Compresion: unknown field `Compresion`"),
        "{line}"
    );
    assert!(line.contains("replicator.json"), "{line}");
}

#[test]
fn bad_enum_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let json = good_request().replace(r#""NONE""#, r#""BROTLI""#);
    let line = validate_error(dir.path(), &json);
    assert!(
        line.contains("ReplicationInfoList[0].TargetCompressionType: unknown variant `BROTLI`"),
        "{line}"
    );
}

#[test]
fn bad_regex_names_the_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let json = good_request().replace(r#""orders.*""#, r#""orders.*", "pay(ments""#);
    let line = validate_error(dir.path(), &json);
    assert!(
        line.contains("ReplicationInfoList[0].TopicReplication.TopicsToReplicate[1]"),
        "{line}"
    );
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replicator.json");
    let line = validate_error(dir.path(), "{\n  \"ReplicatorName\": \"x\",\n}\n");
    assert_eq!(
        line,
        format!(
            "error: {}: invalid JSON: trailing comma at line 3 column 1",
            path.display()
        )
    );
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let out = common::run(
        &[
            "validate",
            "--cli-input-json",
            &format!("file://{}", missing.display()),
        ],
        T,
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.error_line(),
        format!(
            "error: --cli-input-json: cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

fn scram_cluster(id: &str, secret: &str) -> String {
    format!(
        r#"{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{id}", "BootstrapBrokerString": "127.0.0.1:9096"}},
            "ClientAuthentication": {{"SaslScram": {{"Mechanism": "SHA512", "SecretArn": "{secret}"}}}},
            "EncryptionInTransit": {{"EncryptionType": "TLS"}}}}"#
    )
}

#[test]
fn missing_secret_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("missing-secret.json");
    let json = request(
        &scram_cluster("src", &format!("file://{}", secret.display())),
        "src",
        &plain_cluster("dst", "127.0.0.1:9093"),
        "dst",
        r#"".*""#,
    );
    let line = validate_error(dir.path(), &json);
    assert_eq!(
        line,
        format!(
            "error: source cluster src: ClientAuthentication.SaslScram.SecretArn: cannot read secret file {}: No such file or directory (os error 2)",
            secret.display()
        )
    );
}

#[test]
fn missing_key_in_secret_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "secret.json", r#"{"username": "replicator"}"#);
    let json = request(
        &scram_cluster("src", &format!("file://{}", secret.display())),
        "src",
        &plain_cluster("dst", "127.0.0.1:9093"),
        "dst",
        r#"".*""#,
    );
    let line = validate_error(dir.path(), &json);
    assert_eq!(
        line,
        format!(
            "error: source cluster src: ClientAuthentication.SaslScram.SecretArn: secret file {}: missing key \"password\"",
            secret.display()
        )
    );
}

#[test]
fn run_fails_the_same_way_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let json = good_request().replace(r#""NONE""#, r#""BROTLI""#);
    let path = write(dir.path(), "replicator.json", &json);
    let out = common::run(
        &[
            "run",
            "--cli-input-json",
            path.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        T,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.error_line().contains("unknown variant `BROTLI`"),
        "{}",
        out.stderr
    );
}

fn tls_cluster(id: &str, bootstrap: &str, root_ca: &str) -> String {
    format!(
        r#"{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{id}", "BootstrapBrokerString": "{bootstrap}"}},
            "EncryptionInTransit": {{"EncryptionType": "TLS", "RootCaCertificate": "{root_ca}"}}}}"#
    )
}

/// `validate` of a request whose source trusts the CA in `ca_text` (written to ca.pem).
fn validate_with_ca(ca_text: &str) -> common::Output {
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", ca_text);
    let json = request(
        &tls_cluster("src", "127.0.0.1:9094", &format!("file://{}", ca.display())),
        "src",
        &plain_cluster("dst", "127.0.0.1:9093"),
        "dst",
        r#"".*""#,
    );
    let path = write(dir.path(), "replicator.json", &json);
    common::run(&["validate", "--cli-input-json", path.to_str().unwrap()], T)
}

#[test]
fn a_root_ca_that_is_not_pem_is_named_as_such() {
    let out = validate_with_ca("this is not a certificate\n");
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.starts_with(
            "error: source cluster src: EncryptionInTransit.RootCaCertificate file://"
        ),
        "{line}"
    );
    assert!(
        line.ends_with(
            "ca.pem: holds neither a PEM certificate (-----BEGIN CERTIFICATE-----) nor a secret JSON with a \"certificate\" key"
        ),
        "{line}"
    );
    assert!(!line.contains("not valid JSON"), "{line}");
}

#[test]
fn a_root_ca_secret_whose_certificate_is_garbage_is_rejected_by_validate() {
    let out = validate_with_ca(r#"{"certificate": "garbage"}"#);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.contains("EncryptionInTransit.RootCaCertificate file://"),
        "{line}"
    );
    assert!(
        line.ends_with(
            "no certificate found in CA PEM (expected -----BEGIN CERTIFICATE----- blocks)"
        ),
        "{line}"
    );
    // A PEM block that is not a certificate a CA store takes.
    let out = validate_with_ca("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.error_line()
            .contains("EncryptionInTransit.RootCaCertificate"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_real_root_ca_is_accepted() {
    let ca = kreplicate_testkit::certs::TestCa::new("kreplicate test root");
    let out = validate_with_ca(&ca.cert_pem());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("TLS, CA from file://"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_listener_prefix_in_bootstrap_is_dropped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster(
            "src",
            "PLAINTEXT://127.0.0.1:9092, PLAINTEXT://127.0.0.1:9095",
        ),
        "src",
        &plain_cluster("dst", "SASL_SSL://127.0.0.1:9096"),
        "dst",
        r#"".*""#,
    );
    let path = write(dir.path(), "replicator.json", &json);
    let out = common::run(&["validate", "--cli-input-json", path.to_str().unwrap()], T);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("  source:            src at 127.0.0.1:9092,127.0.0.1:9095 (no authentication, plaintext)\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "  target:            dst at 127.0.0.1:9096 (no authentication, plaintext)\n"
        ),
        "{}",
        out.stdout
    );
    let file = path.display();
    assert!(
        out.stderr.contains(&format!(
            "note: {file}: KafkaClusters[0].ApacheKafkaCluster.BootstrapBrokerString: \"PLAINTEXT://127.0.0.1:9092\": the listener prefix PLAINTEXT:// is dropped (connecting to 127.0.0.1:9092)"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: {file}: KafkaClusters[1].ApacheKafkaCluster.BootstrapBrokerString: \"SASL_SSL://127.0.0.1:9096\": the listener prefix SASL_SSL:// is dropped"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("it names a TLS listener, but the cluster has no EncryptionInTransit"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("IPv6"), "{}", out.stderr);
}
