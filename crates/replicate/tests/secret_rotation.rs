//! Secrets are re-read on every new connection: a rotated password is used without a restart.
//! Through the TLS + SCRAM front (Tansu has no SCRAM user store), with the MSK secret format.

use kreplicate_replicate::{client_config, ClusterRole as Role};
use kreplicate_replicate::{ClusterAuth, ClusterConfig, ScramMechanism, SecretRef, TlsSettings};
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, Error};
use kreplicate_wire::ConnectionError;

fn write_secret(path: &std::path::Path, password: &str, ca: &str) {
    let secret =
        serde_json::json!({"username": "replicator", "password": password, "certificate": ca});
    std::fs::write(path, secret.to_string()).unwrap();
}

/// A Tansu broker behind the TLS + SCRAM front, and a client of it whose SCRAM password and CA
/// are in the secret file at `dir/secret.json` (re-read on every new connection).
struct Secured {
    _broker: TansuBroker,
    front: Front,
    ca: TestCa,
    secret_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    client: Client,
}

async fn secured(test: &str) -> Secured {
    let broker = TansuBroker::strict_memory().unwrap();
    let ca = TestCa::new("rotation CA");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("replicator", "right")],
                &[FrontMechanism::ScramSha512],
            )),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("secret.json");
    write_secret(&secret_path, "right", &ca.cert_pem());
    let secret = SecretRef::File(secret_path.clone());
    let cluster = ClusterConfig {
        id: broker.cluster_id().to_string(),
        alias: "src".into(),
        bootstrap: vec![front.addr()],
        auth: Some(ClusterAuth::SaslScram {
            mechanism: ScramMechanism::Sha512,
            secret: secret.clone(),
        }),
        tls: Some(TlsSettings {
            root_ca: Some(secret),
        }),
        msk_cluster_arn: None,
    };
    let config = client_config(&cluster, Role::Source, test).await.unwrap();
    let client = Client::connect(config).await.unwrap();
    Secured {
        _broker: broker,
        front,
        ca,
        secret_path,
        _dir: dir,
        client,
    }
}

#[tokio::test]
async fn a_rotated_password_is_picked_up_by_the_next_connection() {
    // Bound whole: the broker and the secret's directory live to the end of the test.
    let cluster = secured("rotation-test").await;
    let Secured {
        front,
        ca,
        secret_path,
        client,
        ..
    } = &cluster;
    assert_eq!(front.auth_successes(), 1);

    // The operator rotates the password in the secret, but the broker still expects the old
    // one: the next connection fails with an auth error (and the file is read again for it).
    write_secret(secret_path, "rotated-too-early", &ca.cert_pem());
    client.forget_connection(&front.addr());
    let err = client.connection(&front.addr()).await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_eq!(front.auth_failures(), 1);

    // Put back the password the broker accepts: the same client, not restarted, connects.
    write_secret(secret_path, "right", &ca.cert_pem());
    client.connection(&front.addr()).await.unwrap();
    assert_eq!(front.auth_successes(), 2);
    client.refresh_metadata(Some(&[])).await.unwrap();
}

#[tokio::test]
async fn a_secret_file_removed_after_start_up_is_named_by_the_next_connection() {
    let cluster = secured("removed-secret-test").await;
    let Secured {
        front,
        secret_path,
        client,
        ..
    } = &cluster;
    assert_eq!(front.auth_successes(), 1);

    std::fs::remove_file(secret_path).unwrap();
    client.forget_connection(&front.addr());
    let err = client.connection(&front.addr()).await.unwrap_err();
    assert!(
        matches!(err, Error::Connection(ConnectionError::Credentials { .. })),
        "{err:?}"
    );
    // The secret provider's message, unchanged since it was a String.
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load credentials for broker {}: cannot read secret file {}: No such file \
             or directory (os error 2)",
            front.addr(),
            secret_path.display()
        )
    );
    assert_eq!(front.auth_successes() + front.auth_failures(), 1);
}
