//! Secrets are re-read on every new connection: a rotated password is used without a restart.
//! Through the TLS + SCRAM front (Tansu has no SCRAM user store), with the MSK secret format.

use kreplicate_replicate::{client_config, ClusterRole as Role};
use kreplicate_replicate::{ClusterAuth, ClusterConfig, ScramMechanism, SecretRef, TlsSettings};
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::Client;

fn write_secret(path: &std::path::Path, password: &str, ca: &str) {
    let secret =
        serde_json::json!({"username": "replicator", "password": password, "certificate": ca});
    std::fs::write(path, secret.to_string()).unwrap();
}

#[tokio::test]
async fn a_rotated_password_is_picked_up_by_the_next_connection() {
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
    let config = client_config(&cluster, Role::Source, "rotation-test")
        .await
        .unwrap();
    let client = Client::connect(config).await.unwrap();
    assert_eq!(front.auth_successes(), 1);

    // The operator rotates the password in the secret, but the broker still expects the old
    // one: the next connection fails with an auth error (and the file is read again for it).
    write_secret(&secret_path, "rotated-too-early", &ca.cert_pem());
    client.forget_connection(&front.addr());
    let err = client.connection(&front.addr()).await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_eq!(front.auth_failures(), 1);

    // Put back the password the broker accepts: the same client, not restarted, connects.
    write_secret(&secret_path, "right", &ca.cert_pem());
    client.connection(&front.addr()).await.unwrap();
    assert_eq!(front.auth_successes(), 2);
    client.refresh_metadata(Some(&[])).await.unwrap();
}
