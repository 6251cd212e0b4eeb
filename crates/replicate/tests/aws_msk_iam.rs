//! MSK IAM authentication against a front that verifies the token as MSK does, independently
//! (botocore recomputes the SigV4 signature): kreplicate's token from the default credential
//! chain is accepted and re-signed for each connection, sessions are renewed before the token
//! expires, and a wrong key, an expired token or a wrong action are refused with MSK's error.
//!
//! One test per binary: the AWS configuration is loaded once per process from the environment
//! this test sets.
#![cfg(feature = "aws")]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kreplicate_replicate::{connect, ClusterRole as Role};
use kreplicate_replicate::{ClusterAuth, ClusterConfig, SecretRef, TlsSettings};
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{botocore_msk_iam_token, Front, FrontConfig, FrontMskIam};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::TlsConfig;
use kreplicate_wire::{SaslCredentials, SaslMechanism};

const REGION: &str = "us-east-1";
const KEY_ID: &str = "AKIAKREPLICATETEST";
const SECRET: &str = "kreplicate/test+secret";
const ARN: &str = "arn:aws:kafka:us-east-1:123456789012:cluster/my-cluster/abc-123";

fn aws_env() {
    std::env::set_var("AWS_ACCESS_KEY_ID", KEY_ID);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    );
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_SESSION_TOKEN");
}

fn msk_cluster(front: &Front, ca_file: &std::path::Path, lifetime: Duration) -> ClusterConfig {
    ClusterConfig {
        id: ARN.into(),
        alias: "my-cluster".into(),
        bootstrap: vec![front.addr()],
        auth: Some(ClusterAuth::MskIam {
            region: REGION.into(),
            token_lifetime: lifetime,
        }),
        tls: Some(TlsSettings {
            root_ca: Some(SecretRef::File(ca_file.to_owned())),
        }),
        msk_cluster_arn: Some(ARN.into()),
    }
}

/// A client presenting a fixed token (not kreplicate's signer), to test the front's refusals.
async fn connect_with_token(front: &Front, ca: &TestCa, token: String) -> String {
    let mut config = ClientConfig::new(vec![front.addr()]);
    config.connection.tls = Some(TlsConfig {
        ca_pem: Some(ca.cert_pem()),
        ..TlsConfig::default()
    });
    config.connection.sasl = Some(Arc::new(SaslCredentials {
        mechanism: SaslMechanism::OAuthBearer,
        username: "test token".into(),
        password: token,
    }));
    Client::connect(config).await.unwrap_err().to_string()
}

#[tokio::test]
async fn msk_iam_tokens_are_accepted_refreshed_and_refused_like_msk() {
    aws_env();
    let broker = TansuBroker::memory().unwrap();
    let ca = TestCa::new("msk CA");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert.clone(), key.clone())
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, SECRET)),
    )
    .unwrap();

    // Tokens valid for 3 s: each session ends with its token, and the client reconnects with
    // a new one before that. Requests keep succeeding while sessions roll over.
    let client = connect(
        &msk_cluster(&front, &ca_file, Duration::from_secs(3)),
        Role::Target,
        "iam-test",
    )
    .await
    .unwrap();
    assert_eq!(front.auth_successes(), 1);
    let mut requests = 0;
    while front.auth_successes() < 4 {
        assert!(
            requests < 100,
            "no re-authentication after {requests} requests"
        );
        client.refresh_metadata(Some(&[])).await.unwrap();
        requests += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(front.auth_failures(), 0, "{:?}", front.last_auth_failure());

    // Temporary credentials (a role's): the session token is part of the signed token.
    std::env::set_var("AWS_SESSION_TOKEN", "session/token+from=sts");
    let with_session = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert.clone(), key.clone())
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, SECRET)),
    )
    .unwrap();
    connect(
        &msk_cluster(&with_session, &ca_file, Duration::from_secs(900)),
        Role::Source,
        "iam-test",
    )
    .await
    .unwrap();
    assert_eq!(with_session.auth_successes(), 1);
    std::env::remove_var("AWS_SESSION_TOKEN");

    // A front that holds another secret for the key: the signature does not verify.
    let other = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, "another secret")),
    )
    .unwrap();
    let err = connect(
        &msk_cluster(&other, &ca_file, Duration::from_secs(900)),
        Role::Target,
        "iam-test",
    )
    .await
    .unwrap_err()
    .to_string();
    let expected_start = format!(
        "target cluster {ARN}: SASL OAUTHBEARER authentication to broker {addr} failed: the broker rejected the OAUTHBEARER token (kafka-cluster:Connect by AWS access key {KEY_ID}): [",
        addr = other.addr()
    );
    assert!(err.starts_with(&expected_start), "{err}");
    assert!(err.ends_with("]: Access denied"), "{err}");
    assert_eq!(
        other.last_auth_failure().as_deref(),
        Some("signature mismatch")
    );

    // Tokens built by botocore, as the python signer library builds them.
    let now = SystemTime::now();
    let token = |action: &'static str, secret: &'static str, at: SystemTime| {
        botocore_msk_iam_token(REGION, KEY_ID, secret, action, Duration::from_secs(900), at)
    };
    let good = token("kafka-cluster:Connect", SECRET, now).await.unwrap();
    let mut config = ClientConfig::new(vec![front.addr()]);
    config.connection.tls = Some(TlsConfig {
        ca_pem: Some(ca.cert_pem()),
        ..TlsConfig::default()
    });
    config.connection.sasl = Some(Arc::new(SaslCredentials {
        mechanism: SaslMechanism::OAuthBearer,
        username: "botocore token".into(),
        password: good,
    }));
    Client::connect(config).await.unwrap();

    let cases = [
        (
            token("kafka-cluster:Connect", "wrong", now).await.unwrap(),
            "signature mismatch".to_owned(),
        ),
        (
            token(
                "kafka-cluster:Connect",
                SECRET,
                now - Duration::from_secs(901),
            )
            .await
            .unwrap(),
            "token expired at ".to_owned(),
        ),
        (
            token("kafka-cluster:WriteData", SECRET, now).await.unwrap(),
            "wrong action 'kafka-cluster:WriteData', expected 'kafka-cluster:Connect'".to_owned(),
        ),
    ];
    for (bad, reason) in cases {
        let failures = front.auth_failures();
        let err = connect_with_token(&front, &ca, bad).await;
        assert!(err.ends_with("]: Access denied"), "{err}");
        assert!(
            err.contains("the broker rejected the OAUTHBEARER token (test token): ["),
            "{err}"
        );
        assert_eq!(front.auth_failures(), failures + 1);
        let seen = front.last_auth_failure().unwrap();
        assert!(seen.starts_with(&reason), "{seen} (expected {reason})");
    }
    // Not base64url at all.
    let err = connect_with_token(&front, &ca, "a".into()).await;
    assert!(err.ends_with("]: Invalid authentication payload"), "{err}");
}
