//! `kreplicate run` against real Tansu brokers: a good configuration starts, serves
//! /metrics, /status, /healthz and /ready, and stops with exit 0 on SIGTERM; a wrong cluster
//! id and an unreachable broker fail with one clear line.

mod common;

use std::time::Duration;

use common::{plain_cluster, request, wait_for_status, write, Running};
use kreplicate_testkit::ports::free_port;
use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;

const T: Duration = Duration::from_secs(30);

#[test]
fn run_serves_metrics_and_stops_on_sigterm() {
    let source = TansuBroker::strict_memory().expect("tansu source");
    let target = TansuBroker::strict_memory().expect("tansu target");
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster(source.cluster_id(), &source.addr()),
        source.cluster_id(),
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        r#""cli-run-.*""#,
    );
    let config = write(dir.path(), "replicator.json", &json);
    // The selection matches none of the source's topics: `status` names them.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(python::create_topic(&source.addr(), "ledger", 1, &[]))
        .unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let running = Running::start(
        &[
            "run",
            "--cli-input-json",
            &format!("file://{}", config.display()),
            "--metrics-addr",
            &metrics_addr,
            "--topic-refresh-interval",
            "2s",
        ],
        dir.path(),
    );

    let ready = wait_for_status(&metrics_addr, "/ready", 200, T);
    assert_eq!(
        ready.as_ref().map(|(s, b)| (*s, b.as_str())),
        Some((200, "ready\n")),
        "stderr: {}",
        running.stderr()
    );
    let (status, body) = common::http_get(&metrics_addr, "/metrics").expect("/metrics");
    assert_eq!(status, 200);
    for line in [
        format!(
            "kreplicate_cluster_reachable{{cluster=\"{}\"}} 1",
            source.cluster_id()
        ),
        format!(
            "kreplicate_cluster_reachable{{cluster=\"{}\"}} 1",
            target.cluster_id()
        ),
    ] {
        assert!(body.lines().any(|l| l == line), "{line} not in:\n{body}");
    }
    assert!(
        body.lines()
            .any(|l| l.starts_with("kreplicate_bytes_in_total ")),
        "{body}"
    );
    // The first topic refresh names the unselected topic (bounded wait on that progress).
    let named = r#"kreplicate_unselected_source_topic{topic="ledger"} 1"#;
    let mut body = String::new();
    for _ in 0..300 {
        body = common::http_get(&metrics_addr, "/metrics").map_or_else(String::new, |a| a.1);
        if body.lines().any(|l| l == named) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(body.lines().any(|l| l == named), "{named} not in:\n{body}");
    // The typed status as JSON: both clusters reachable, nothing selected, nothing copied.
    let (code, body) = common::http_get(&metrics_addr, "/status").expect("/status");
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("/status is JSON");
    assert_eq!(
        json["clusters"],
        serde_json::json!([
            {"role": "source", "alias": source.cluster_id(), "reachable": true},
            {"role": "target", "alias": target.cluster_id(), "reachable": true}
        ]),
        "{body}"
    );
    assert_eq!(
        (
            &json["partitions"],
            &json["topics"],
            &json["records_copied"]
        ),
        (
            &serde_json::json!([]),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{body}"
    );
    let url = format!("http://{metrics_addr}/metrics");
    let status = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(
        status.stdout.lines().next(),
        Some(
            "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
             (kreplicate_topic_count is 0); the source has 1 topics: ledger"
        ),
        "{}{}",
        status.stdout,
        status.stderr
    );
    // Tansu 0.6 offers no CreatePartitions: named, once per cluster.
    let lacks = format!("WARNING: cluster {} does not offer ", target.cluster_id());
    let missing: Vec<&str> = status
        .stdout
        .lines()
        .filter(|l| l.starts_with(&lacks))
        .collect();
    assert_eq!(missing.len(), 1, "{}", status.stdout);
    assert!(missing[0].contains("CreatePartitions"), "{}", status.stdout);
    assert_eq!(
        common::http_get(&metrics_addr, "/healthz"),
        Some((200, "ok\n".to_owned()))
    );
    assert_eq!(
        common::http_get(&metrics_addr, "/nope").map(|(s, _)| s),
        Some(404)
    );

    running.signal("TERM");
    let out = running.wait(Duration::from_secs(15));
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("SIGTERM received"), "{}", out.stderr);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    assert!(
        common::http_get(&metrics_addr, "/healthz").is_none(),
        "endpoint still up"
    );
}

#[test]
fn wrong_cluster_id_is_named() {
    let source = TansuBroker::strict_memory().expect("tansu source");
    let target = TansuBroker::strict_memory().expect("tansu target");
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster("not-the-source", &source.addr()),
        "not-the-source",
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        r#"".*""#,
    );
    let config = write(dir.path(), "replicator.json", &json);
    let out = common::run_in(
        dir.path(),
        &[
            "run",
            "--cli-input-json",
            config.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        T,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.error_line(),
        format!(
            "error: source cluster: the configuration says ApacheKafkaClusterId 'not-the-source', but the brokers at {} report cluster id '{}'",
            source.addr(),
            source.cluster_id()
        )
    );
}

#[test]
fn unreachable_broker_exits_1() {
    let target = TansuBroker::strict_memory().expect("tansu target");
    let closed = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster("src", &closed),
        "src",
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        r#"".*""#,
    );
    let config = write(dir.path(), "replicator.json", &json);
    let out = common::run_in(
        dir.path(),
        &[
            "run",
            "--cli-input-json",
            config.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        T,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.error_line();
    assert!(line.starts_with("error: source cluster src: "), "{line}");
    assert!(
        line.contains(&format!("cannot connect to broker {closed}")),
        "{line}"
    );
}

#[test]
fn metrics_address_in_use_is_named() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster("src", "127.0.0.1:9"),
        "src",
        &plain_cluster("dst", "127.0.0.1:9"),
        "dst",
        r#"".*""#,
    );
    let config = write(dir.path(), "replicator.json", &json);
    let out = common::run_in(
        dir.path(),
        &[
            "run",
            "--cli-input-json",
            config.to_str().unwrap(),
            "--metrics-addr",
            &addr,
        ],
        T,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.error_line()
            .starts_with(&format!("error: --metrics-addr {addr}: cannot listen: ")),
        "{}",
        out.stderr
    );
}

/// SASL/SCRAM over TLS from the MSK-shaped configuration (secret file with username, password
/// and CA), through the test front: the right password gets to ready, a wrong one fails with
/// exit 1 and a line that says so (without the password).
#[test]
fn scram_over_tls_from_secret_files() {
    use kreplicate_testkit::certs::TestCa;
    use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};

    let source = TansuBroker::strict_memory().expect("tansu source");
    let target = TansuBroker::strict_memory().expect("tansu target");
    let ca = TestCa::new("kreplicate cli run test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let front = Front::start(
        FrontConfig::new(source.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("replicator", "s3cret")],
                &[FrontMechanism::ScramSha512],
            )),
    )
    .expect("front");
    let dir = tempfile::tempdir().unwrap();
    for (password, expected_code) in [("s3cret", 0), ("wrong-pw", 1)] {
        let secret = serde_json::json!({
            "username": "replicator",
            "password": password,
            "certificate": ca.cert_pem(),
        });
        let secret_path = write(dir.path(), "scram.json", &secret.to_string());
        let secret_ref = format!("file://{}", secret_path.display());
        let source_cluster = format!(
            r#"{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{}", "BootstrapBrokerString": "{}"}},
                "ClientAuthentication": {{"SaslScram": {{"Mechanism": "SHA512", "SecretArn": "{secret_ref}"}}}},
                "EncryptionInTransit": {{"EncryptionType": "TLS", "RootCaCertificate": "{secret_ref}"}}}}"#,
            source.cluster_id(),
            front.addr()
        );
        let json = request(
            &source_cluster,
            source.cluster_id(),
            &plain_cluster(target.cluster_id(), &target.addr()),
            target.cluster_id(),
            r#""cli-scram-.*""#,
        );
        let config = write(dir.path(), "replicator.json", &json);
        let out = run_until_ready_or_exit(&config, dir.path(), expected_code);
        if expected_code == 0 {
            assert!(out.stderr.contains("SIGINT received"), "{}", out.stderr);
        } else {
            let line = out.error_line();
            assert!(
                line.starts_with(&format!(
                    "error: source cluster {}: SASL SCRAM-SHA-512 authentication to broker {} failed",
                    source.cluster_id(),
                    front.addr()
                )),
                "{line}"
            );
            assert!(
                !out.stderr.contains(password),
                "password leaked: {}",
                out.stderr
            );
        }
    }
}

/// Mutual TLS from the MSK-shaped configuration with an encrypted PKCS#8 client key (the
/// secret's `privateKeyPassword`, as MSK Replicator takes it), through the test front that
/// requires a client certificate: the key openssl encrypted gets to ready; a wrong password
/// is a configuration error (exit 2) before connecting, with a line that says so (without the
/// password).
#[test]
fn mutual_tls_from_a_secret_file_with_an_encrypted_key() {
    use kreplicate_testkit::certs::{openssl_encrypted_key, TestCa};
    use kreplicate_testkit::front::{Front, FrontConfig};

    let source = TansuBroker::strict_memory().expect("tansu source");
    let target = TansuBroker::strict_memory().expect("tansu target");
    let ca = TestCa::new("kreplicate cli mtls test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let clients = TestCa::new("kreplicate cli mtls client ca");
    let front = Front::start(
        FrontConfig::new(source.addr())
            .with_tls(cert, key)
            .with_client_ca(clients.cert_pem()),
    )
    .expect("front");
    let (client_cert, client_key) = clients.issue_client("replicator");
    let encrypted = openssl_encrypted_key(&client_key, "k3y-pa55", &["-v2", "aes-256-cbc"]);
    let dir = tempfile::tempdir().unwrap();
    let ca_secret = write(
        dir.path(),
        "ca.json",
        &serde_json::json!({ "certificate": ca.cert_pem() }).to_string(),
    );
    for (password, expected_code) in [("k3y-pa55", 0), ("wrong-pw", 2)] {
        let secret = serde_json::json!({
            "certificate": client_cert,
            "privateKey": encrypted,
            "privateKeyPassword": password,
        });
        let secret_path = write(dir.path(), "mtls.json", &secret.to_string());
        let source_cluster = format!(
            r#"{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{}", "BootstrapBrokerString": "{}"}},
                "ClientAuthentication": {{"MTLS": {{"SecretArn": "file://{}"}}}},
                "EncryptionInTransit": {{"EncryptionType": "TLS", "RootCaCertificate": "file://{}"}}}}"#,
            source.cluster_id(),
            front.addr(),
            secret_path.display(),
            ca_secret.display()
        );
        let json = request(
            &source_cluster,
            source.cluster_id(),
            &plain_cluster(target.cluster_id(), &target.addr()),
            target.cluster_id(),
            r#""cli-mtls-.*""#,
        );
        let config = write(dir.path(), "replicator.json", &json);
        let out = run_until_ready_or_exit(&config, dir.path(), expected_code);
        if expected_code == 0 {
            assert!(
                front.connections() >= 1,
                "the source was read through the front"
            );
            assert_eq!(front.tls_failures(), 0);
        } else {
            let line = out.error_line();
            assert!(
                line.contains("cannot decrypt the client private key with the password given"),
                "{line}"
            );
            assert!(!out.stderr.contains(password), "{}", out.stderr);
        }
    }
}

/// `kreplicate run --cli-input-json CONFIG` with a metrics address. With `expected_code` 0 it
/// must reach `/ready` and then stop on SIGINT; otherwise it must exit by itself. Either way
/// its exit code must be `expected_code`; its output is returned for the caller's checks.
fn run_until_ready_or_exit(
    config: &std::path::Path,
    dir: &std::path::Path,
    expected_code: i32,
) -> common::Output {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let running = Running::start(
        &[
            "run",
            "--cli-input-json",
            config.to_str().unwrap(),
            "--metrics-addr",
            &metrics_addr,
        ],
        dir,
    );
    let out = if expected_code == 0 {
        let ready = wait_for_status(&metrics_addr, "/ready", 200, T);
        assert_eq!(
            ready.map(|(s, _)| s),
            Some(200),
            "stderr: {}",
            running.stderr()
        );
        running.signal("INT");
        running.wait(Duration::from_secs(15))
    } else {
        running.wait(T)
    };
    assert_eq!(out.code, Some(expected_code), "stderr: {}", out.stderr);
    out
}
