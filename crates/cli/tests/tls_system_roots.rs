//! TLS without a configured CA trusts the operating system's store: a private CA placed in a
//! trust store named by `SSL_CERT_FILE` (set for the `kreplicate` child only) is trusted, and
//! without it the handshake fails naming the untrusted certificate. The bundled Mozilla roots
//! alone (the behaviour before) never trust a private CA, so the first case fails there.

mod common;

use std::path::Path;
use std::time::Duration;

use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig};
use kreplicate_testkit::tansu::TansuBroker;

const T: Duration = Duration::from_secs(30);

/// `kreplicate cluster-id` over TLS (no CA in the properties) with the trust store variables
/// set to `cert_file` / unset.
fn cluster_id_with_store(front: &Front, props: &Path, cert_file: &str) -> common::Output {
    cluster_id_with_env(
        front,
        props,
        &[("SSL_CERT_FILE", Some(cert_file)), ("SSL_CERT_DIR", None)],
    )
}

fn cluster_id_with_env(
    front: &Front,
    props: &Path,
    env: &[(&str, Option<&str>)],
) -> common::Output {
    common::Running::start_with_env(
        &[
            "cluster-id",
            "--bootstrap-server",
            &front.addr(),
            "--command-config",
            props.to_str().unwrap(),
            "--timeout",
            "10s",
        ],
        Path::new("."),
        env,
    )
    .wait(T)
}

#[test]
fn a_ca_in_the_system_store_is_trusted_without_root_ca_certificate() {
    let broker = TansuBroker::memory().expect("tansu");
    let ca = TestCa::new("kreplicate corporate root");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let front = Front::start(FrontConfig::new(broker.addr()).with_tls(cert, key)).expect("front");
    let dir = tempfile::tempdir().unwrap();
    // TLS and nothing else: no ssl.truststore.*, so the default roots decide.
    let props = common::write(dir.path(), "tls.properties", "security.protocol=SSL\n");
    let unrelated = TestCa::new("some other root").cert_pem();

    // A store as a distribution builds it: several CAs in one bundle, ours among them.
    let with_ca = common::write(
        dir.path(),
        "with-ca.pem",
        &format!("{unrelated}{}", ca.cert_pem()),
    );
    let out = cluster_id_with_store(&front, &props, with_ca.to_str().unwrap());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));
    assert!(out.stderr.is_empty(), "{}", out.stderr);

    // A certificate directory (SSL_CERT_DIR, as `/etc/ssl/certs`) holding our CA does too.
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).unwrap();
    common::write(&certs_dir, "corporate-root.pem", &ca.cert_pem());
    let out = cluster_id_with_env(
        &front,
        &props,
        &[
            ("SSL_CERT_FILE", None),
            ("SSL_CERT_DIR", Some(certs_dir.to_str().unwrap())),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{}\n", broker.cluster_id()));

    // The same store without our CA: the chain is not trusted, and the error says so.
    let without_ca = common::write(dir.path(), "without-ca.pem", &unrelated);
    let out = cluster_id_with_store(&front, &props, without_ca.to_str().unwrap());
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.contains(&format!(
            "TLS handshake with broker {} failed: certificate not trusted: UnknownIssuer",
            front.addr()
        )),
        "{line}"
    );
    assert_eq!(
        front.tls_failures(),
        1,
        "exactly the second run was refused"
    );

    // A store named explicitly but unreadable is a configuration error naming the variable,
    // never a silent switch to the bundled roots.
    let missing = dir.path().join("missing.pem");
    let out = cluster_id_with_store(&front, &props, missing.to_str().unwrap());
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.contains(&format!(
            "no usable CA certificate in the trust store named by SSL_CERT_FILE={}",
            missing.display()
        )),
        "{line}"
    );
    assert_eq!(front.tls_failures(), 1, "no handshake was even tried");
}
