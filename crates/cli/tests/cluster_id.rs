//! `kreplicate cluster-id` against real Tansu brokers: plaintext, and SASL/SCRAM over TLS
//! through the test front (configured with a Kafka client properties file).

mod common;

use std::time::Duration;

use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
use kreplicate_testkit::tansu::TansuBroker;

const T: Duration = Duration::from_secs(30);

#[test]
fn prints_the_cluster_id_exactly() {
    let broker = TansuBroker::strict_memory().expect("tansu");
    let out = common::run(&["cluster-id", "--bootstrap-server", &broker.addr()], T);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn plaintext_properties_with_unknown_keys_warn() {
    let broker = TansuBroker::strict_memory().expect("tansu");
    let dir = tempfile::tempdir().unwrap();
    let props = common::write(
        dir.path(),
        "client.properties",
        "# kafka-topics.sh style\nsecurity.protocol=PLAINTEXT\nlinger.ms=5\n",
    );
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            &broker.addr(),
            "--command-config",
            props.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));
    assert_eq!(
        out.stderr,
        format!(
            "warning: {}:3: property linger.ms ignored: not used by kreplicate\n",
            props.display()
        )
    );
}

fn scram_properties(ca: &std::path::Path, password: &str) -> String {
    format!(
        "security.protocol=SASL_SSL\n\
         sasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n  \
         username=\"replicator\" \\\n  password=\"{password}\";\n\
         ssl.truststore.location={}\n",
        ca.display()
    )
}

#[test]
fn sasl_ssl_through_properties_and_auth_failure() {
    let broker = TansuBroker::strict_memory().expect("tansu");
    let ca = TestCa::new("kreplicate cli test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("replicator", "s3cret")],
                &[FrontMechanism::ScramSha512],
            )),
    )
    .expect("front");
    let dir = tempfile::tempdir().unwrap();
    let ca_path = common::write(dir.path(), "ca.pem", &ca.cert_pem());

    let good = common::write(
        dir.path(),
        "good.properties",
        &scram_properties(&ca_path, "s3cret"),
    );
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            &front.addr(),
            "--command-config",
            good.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));

    let bad = common::write(
        dir.path(),
        "bad.properties",
        &scram_properties(&ca_path, "wrong"),
    );
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            &front.addr(),
            "--command-config",
            bad.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.contains(&format!(
            "SASL SCRAM-SHA-512 authentication to broker {} failed",
            front.addr()
        )),
        "{line}"
    );
    assert!(!line.contains("wrong"), "password leaked: {line}");
}

/// Mutual TLS from a Java-style PEM keystore (certificate and an encrypted PKCS#8 key in one
/// file, KIP-651) with `ssl.key.password`: the key openssl encrypted is read and the front,
/// which requires a client certificate, lets the request through.
#[test]
fn mutual_tls_through_a_pem_keystore_with_an_encrypted_key() {
    let broker = TansuBroker::strict_memory().expect("tansu");
    let ca = TestCa::new("kreplicate cli test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let clients = TestCa::new("kreplicate cli client ca");
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_client_ca(clients.cert_pem()),
    )
    .expect("front");
    let (client_cert, client_key) = clients.issue_client("replicator");
    let encrypted =
        kreplicate_testkit::certs::openssl_encrypted_key(&client_key, "k3y-pa55", &["-scrypt"]);
    let dir = tempfile::tempdir().unwrap();
    let ca_path = common::write(dir.path(), "ca.pem", &ca.cert_pem());
    let keystore = common::write(
        dir.path(),
        "keystore.pem",
        &format!("{client_cert}{encrypted}"),
    );
    let props = common::write(
        dir.path(),
        "client.properties",
        &format!(
            "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             ssl.keystore.type=PEM\nssl.keystore.location={}\nssl.key.password=k3y-pa55\n",
            ca_path.display(),
            keystore.display()
        ),
    );
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            &front.addr(),
            "--command-config",
            props.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(front.tls_failures(), 0);
}

#[test]
fn unreachable_broker_exits_1() {
    let port = kreplicate_testkit::ports::free_port();
    let addr = format!("127.0.0.1:{port}");
    let out = common::run(
        &["cluster-id", "--bootstrap-server", &addr, "--timeout", "5s"],
        T,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.contains(&format!("cannot connect to broker {addr}")),
        "{line}"
    );
}

#[test]
fn bad_properties_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let props = common::write(dir.path(), "c.properties", "\nsecurity.protocol=TLS\n");
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--command-config",
            props.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.error_line(),
        format!(
            "error: {}:2: security.protocol: \"TLS\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
            props.display()
        )
    );
    let missing = dir.path().join("none.properties");
    let out = common::run(
        &[
            "cluster-id",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--command-config",
            missing.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.error_line().starts_with(&format!(
            "error: --command-config: cannot read {}",
            missing.display()
        )),
        "{}",
        out.stderr
    );
}
