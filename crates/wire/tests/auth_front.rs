//! SASL/SCRAM over TLS with a private CA, end to end: our client → the in-repo TLS + SCRAM front
//! (Tansu 0.6 has neither broker TLS nor a SCRAM user store) → a real Tansu broker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::{Client, ClientConfig, Error};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};
use kreplicate_wire::TlsConfig;
use kreplicate_wire::{ConnectionError, CredentialsError};
use kreplicate_wire::{SaslCredentials, SaslMechanism};

struct Secured {
    _broker: TansuBroker,
    front: Front,
    ca: TestCa,
}

fn secured_cluster() -> Secured {
    let broker = TansuBroker::memory().unwrap();
    let ca = TestCa::new("kreplicate test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("replicator", "s3cret")],
                &[FrontMechanism::ScramSha256, FrontMechanism::ScramSha512],
            )),
    )
    .unwrap();
    Secured {
        _broker: broker,
        front,
        ca,
    }
}

fn config(front: &Front, ca_pem: String, mechanism: SaslMechanism, password: &str) -> ClientConfig {
    let mut config = ClientConfig::new([front.addr()]);
    config.connection.tls = Some(TlsConfig {
        ca_pem: Some(ca_pem),
        ..TlsConfig::default()
    });
    config.connection.sasl = Some(Arc::new(SaslCredentials {
        mechanism,
        username: "replicator".into(),
        password: password.into(),
    }));
    config.connection.connect_timeout = Duration::from_secs(5);
    config
}

#[tokio::test]
async fn scram_256_and_512_over_tls_produce_and_fetch() {
    let cluster = secured_cluster();
    for (mechanism, topic) in [
        (SaslMechanism::ScramSha256, "scram256"),
        (SaslMechanism::ScramSha512, "scram512"),
    ] {
        let client = Client::connect(config(
            &cluster.front,
            cluster.ca.cert_pem(),
            mechanism,
            "s3cret",
        ))
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        // Every connection (bootstrap and the leader the metadata points at) went through the
        // front, so it authenticated.
        kreplicate_wire::admin::Admin::new(client.clone())
            .create_topics(&[kreplicate_wire::admin::NewTopic::new(topic, 1, 1)], false)
            .await
            .unwrap();
        let producer = Producer::new(client.clone(), ProducerConfig::default())
            .await
            .unwrap();
        let delivery = producer
            .send(
                topic,
                0,
                ProducerRecord {
                    key: Some(Bytes::from_static(b"k")),
                    value: Some(Bytes::from(mechanism.name())),
                    timestamp: Some(1_700_000_000_123),
                    ..ProducerRecord::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(delivery.await.unwrap().offset, 0);
        let fetcher = Fetcher::new(client.clone(), FetchConfig::default());
        let (_, result) = fetcher
            .fetch(&[FetchPosition {
                topic: topic.into(),
                partition: 0,
                offset: 0,
            }])
            .await
            .pop()
            .unwrap();
        let (records, next) = result.unwrap().records().unwrap();
        assert_eq!(next, 1);
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].value.as_deref(),
            Some(mechanism.name().as_bytes())
        );
        assert_eq!(records[0].timestamp, 1_700_000_000_123);
    }
    assert!(cluster.front.auth_successes() >= 2);
    assert_eq!(cluster.front.auth_failures(), 0);
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_that_says_so() {
    let cluster = secured_cluster();
    let err = Client::connect(config(
        &cluster.front,
        cluster.ca.cert_pem(),
        SaslMechanism::ScramSha512,
        "wrong",
    ))
    .await
    .unwrap_err();
    assert!(err.is_auth(), "{err}");
    match &err {
        Error::Connection(ConnectionError::Auth {
            mechanism, message, ..
        }) => {
            assert_eq!(mechanism, "SCRAM-SHA-512");
            assert!(
                message.contains("rejected the credentials of user 'replicator'"),
                "{message}"
            );
            assert!(message.contains("invalid credentials"), "{message}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert_eq!(
        cluster.front.auth_failures(),
        1,
        "no retry of a wrong password"
    );
}

#[tokio::test]
async fn wrong_ca_is_a_tls_error_that_says_so() {
    let cluster = secured_cluster();
    let other_ca = TestCa::new("someone else's root");
    let err = Client::connect(config(
        &cluster.front,
        other_ca.cert_pem(),
        SaslMechanism::ScramSha256,
        "s3cret",
    ))
    .await
    .unwrap_err();
    match &err {
        Error::Connection(ConnectionError::Tls { message, broker }) => {
            assert_eq!(broker, &cluster.front.addr());
            assert!(message.contains("not trusted"), "{message}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert_eq!(
        cluster.front.auth_successes() + cluster.front.auth_failures(),
        0
    );
}

#[tokio::test]
async fn a_mechanism_the_broker_does_not_offer_is_named() {
    let cluster = secured_cluster();
    let err = Client::connect(config(
        &cluster.front,
        cluster.ca.cert_pem(),
        SaslMechanism::Plain,
        "s3cret",
    ))
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("does not offer SASL mechanism PLAIN"),
        "{text}"
    );
    assert!(text.contains("SCRAM-SHA-256"), "{text}");
}

/// What a provider's own error type looks like (e.g. a secret file it cannot read).
#[derive(Debug, thiserror::Error)]
#[error("cannot read secret file /run/kreplicate/scram.json")]
struct SecretUnreadable(#[source] std::io::Error);

#[tokio::test]
async fn a_provider_that_cannot_load_credentials_is_named_with_its_cause() {
    let cluster = secured_cluster();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut config = config(
        &cluster.front,
        cluster.ca.cert_pem(),
        SaslMechanism::ScramSha256,
        "s3cret",
    );
    let counted = calls.clone();
    config.connection.sasl = Some(Arc::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        Err(CredentialsError::new(SecretUnreadable(
            std::io::ErrorKind::PermissionDenied.into(),
        )))
    }));
    let err = Client::connect(config).await.unwrap_err();
    let Error::Connection(e @ ConnectionError::Credentials { broker, source }) = &err else {
        panic!("expected a credentials error, got {err:?}");
    };
    assert_eq!(broker, &cluster.front.addr());
    assert_eq!(
        e.to_string(),
        format!(
            "cannot load credentials for broker {}: cannot read secret file \
             /run/kreplicate/scram.json",
            cluster.front.addr()
        )
    );
    // The provider's error is there to downcast, and its cause follows in the chain.
    assert!(source.get_ref().is::<SecretUnreadable>());
    let chain: Vec<String> = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        chain,
        [
            "cannot read secret file /run/kreplicate/scram.json",
            "permission denied"
        ]
    );
    // Asked once (a credentials error is not retried), and nothing reached the SASL exchange.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        cluster.front.auth_successes() + cluster.front.auth_failures(),
        0
    );
}
