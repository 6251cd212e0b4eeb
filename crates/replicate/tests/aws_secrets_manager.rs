//! Secrets Manager ARNs in `SecretArn` / `RootCaCertificate`, read from moto through the
//! default credential chain (environment variables here) and `AWS_ENDPOINT_URL`, in the
//! region the ARN names: one secret with username/password/certificate, or two secrets, as the
//! migration guide allows; a rotation is picked up by the next connection.
//!
//! One test per binary: the AWS configuration is loaded once per process from the environment
//! this test sets.
#![cfg(feature = "aws")]

use std::time::Duration;

use kreplicate_replicate::set_secret_cache_ttl as set_cache_ttl;
use kreplicate_replicate::{client_config, ClusterRole as Role};
use kreplicate_replicate::{ClusterAuth, ClusterConfig, ScramMechanism, SecretRef, TlsSettings};
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
use kreplicate_testkit::secrets_manager::{SecretsManagerExt, MOTO_ACCOUNT};
use kreplicate_testkit::tansu::{MotoServer, TansuBroker};
use kreplicate_wire::client::Client;

const REGION: &str = "eu-west-1";

fn scram_secret(password: &str, ca: Option<&str>) -> String {
    let mut secret = serde_json::json!({"username": "replicator", "password": password});
    if let Some(ca) = ca {
        secret["certificate"] = ca.into();
    }
    secret.to_string()
}

/// Points the default chain at fixed test keys and moto, and away from this machine's own
/// AWS files and from instance metadata (which is not on loopback).
fn aws_env(moto: &MotoServer) {
    std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint());
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    );
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_REGION");
}

fn scram_cluster(id: &str, bootstrap: String, creds: &str, ca: &str) -> ClusterConfig {
    ClusterConfig {
        id: id.to_owned(),
        alias: "src".into(),
        bootstrap: vec![bootstrap],
        auth: Some(ClusterAuth::SaslScram {
            mechanism: ScramMechanism::Sha512,
            secret: SecretRef::Arn(creds.to_owned()),
        }),
        tls: Some(TlsSettings {
            root_ca: Some(SecretRef::Arn(ca.to_owned())),
        }),
        msk_cluster_arn: None,
    }
}

#[tokio::test]
async fn secrets_manager_arns_are_read_and_rotation_is_picked_up() {
    let moto = MotoServer::start().unwrap();
    aws_env(&moto);
    // Every connection asks Secrets Manager again (the default caches for 10 s).
    set_cache_ttl(Duration::ZERO);
    let broker = TansuBroker::memory().unwrap();
    let ca = TestCa::new("guide CA");
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

    // One secret holding username, password and certificate, named by the partial ARN the
    // guide prints (no random suffix).
    let full_arn = moto
        .create_secret(
            REGION,
            "my-creds",
            &scram_secret("right", Some(&ca.cert_pem())),
        )
        .unwrap();
    let partial = format!("arn:aws:secretsmanager:{REGION}:{MOTO_ACCOUNT}:secret:my-creds");
    assert!(full_arn.starts_with(&format!("{partial}-")), "{full_arn}");
    let cluster = scram_cluster(broker.cluster_id(), front.addr(), &partial, &partial);
    let config = client_config(&cluster, Role::Source, "aws-test")
        .await
        .unwrap();
    assert_eq!(
        config.connection.tls.as_ref().unwrap().ca_pem.as_deref(),
        Some(ca.cert_pem().as_str())
    );
    let client = Client::connect(config).await.unwrap();
    assert_eq!(front.auth_successes(), 1);

    // Rotated in Secrets Manager to a password the broker does not (yet) accept: the next
    // connection reads it and fails.
    moto.put_secret_value(
        REGION,
        "my-creds",
        &scram_secret("rotated", Some(&ca.cert_pem())),
    )
    .unwrap();
    client.forget_connection(&front.addr());
    let err = client.connection(&front.addr()).await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_eq!(front.auth_failures(), 1);

    // Rotated back: the same client connects again.
    moto.put_secret_value(
        REGION,
        "my-creds",
        &scram_secret("right", Some(&ca.cert_pem())),
    )
    .unwrap();
    client.connection(&front.addr()).await.unwrap();
    assert_eq!(front.auth_successes(), 2);

    // Two secrets: SCRAM credentials without a certificate, the CA in another, by full ARN.
    let creds_arn = moto
        .create_secret(REGION, "scram-only", &scram_secret("right", None))
        .unwrap();
    let ca_arn = moto
        .create_secret(
            REGION,
            "ca-only",
            &serde_json::json!({"certificate": ca.cert_pem()}).to_string(),
        )
        .unwrap();
    let cluster = scram_cluster(broker.cluster_id(), front.addr(), &creds_arn, &ca_arn);
    let client = Client::connect(
        client_config(&cluster, Role::Source, "aws-test")
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    client.refresh_metadata(Some(&[])).await.unwrap();
    assert_eq!(front.auth_successes(), 3);

    // A secret that does not exist: Secrets Manager's error, naming the action and the ARN.
    let missing = format!("arn:aws:secretsmanager:{REGION}:{MOTO_ACCOUNT}:secret:nope");
    let cluster = scram_cluster(broker.cluster_id(), front.addr(), &missing, &ca_arn);
    let err = client_config(&cluster, Role::Source, "aws-test")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "source cluster {}: ClientAuthentication.SaslScram.SecretArn: secretsmanager:GetSecretValue on {missing} failed: ResourceNotFoundException: ",
            broker.cluster_id()
        )),
        "{err}"
    );
}
