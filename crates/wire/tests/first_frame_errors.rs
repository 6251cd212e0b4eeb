//! What the client says when the port it was given is not a plaintext Kafka listener: a TLS
//! listener (the in-repo TLS front), an HTTP server, some other service, a plaintext port
//! reached with TLS, and a broker without SASL reached with SCRAM (Tansu).

use std::sync::Arc;
use std::time::Duration;

use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::TlsConfig;
use kreplicate_wire::{BrokerConnection, ConnectionConfig, ConnectionError, NotKafka};
use kreplicate_wire::{SaslCredentials, SaslMechanism};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn config() -> ConnectionConfig {
    ConnectionConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        ..ConnectionConfig::default()
    }
}

/// A one-connection server on loopback that reads the request, answers `answer` and closes.
async fn answering(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(answer).await;
        let _ = s.shutdown().await;
    });
    addr
}

async fn connect_err(addr: &str, config: &ConnectionConfig) -> ConnectionError {
    match BrokerConnection::connect(addr, config).await {
        Ok(_) => panic!("{addr} accepted as a Kafka broker"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_tls_port_reached_in_plaintext_says_to_add_encryption_in_transit() {
    let ca = TestCa::new("kreplicate test root");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    // Upstream is never reached: the TLS handshake fails first.
    let front = Front::start(FrontConfig::new("127.0.0.1:9").with_tls(cert, key)).unwrap();
    let err = connect_err(&front.addr(), &config()).await;
    match &err {
        ConnectionError::NotKafka { broker, answer } => {
            assert_eq!(broker, &front.addr());
            assert_eq!(answer, &NotKafka::Tls);
        }
        other => panic!("expected NotKafka, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("this port speaks TLS: add EncryptionInTransit (ClientBroker TLS)"),
        "{text}"
    );
    assert!(!text.contains("frame length"), "{text}");
    assert!(!err.is_retriable());
}

#[tokio::test]
async fn an_http_server_is_named_as_such() {
    for answer in [
        &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"[..],
        b"<!DOCTYPE html><html><body>hello</body></html>",
        b"<html><body>hello</body></html>",
    ] {
        let addr = answering(answer).await;
        let err = connect_err(&addr, &config()).await;
        assert!(
            matches!(
                &err,
                ConnectionError::NotKafka {
                    answer: NotKafka::Http,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("broker {addr} did not answer as a Kafka broker: this is an HTTP server, not a Kafka broker")
        );
    }
}

#[tokio::test]
async fn another_service_gets_its_bytes_quoted() {
    let addr = answering(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let err = connect_err(&addr, &config()).await;
    assert_eq!(
        err.to_string(),
        format!(
            "broker {addr} did not answer as a Kafka broker: the first frame's length 1397966893 \
             is implausible for a Kafka response (read \"SSH-2.0-OpenSSH_\"): is this a Kafka \
             broker's port?"
        )
    );
}

#[tokio::test]
async fn a_tls_handshake_timeout_asks_whether_the_port_is_plaintext() {
    // A plaintext listener waits for the rest of the "frame" the ClientHello's first bytes
    // announce, and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        while s.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
    });
    let config = ConnectionConfig {
        tls: Some(TlsConfig::default()),
        connect_timeout: Duration::from_millis(300),
        ..config()
    };
    let err = connect_err(&addr, &config).await;
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("TLS handshake request to broker {addr} timed out")),
        "{text}"
    );
    assert!(text.contains("is this a plaintext port?"), "{text}");
    server.abort();
}

#[tokio::test]
async fn scram_against_a_broker_without_sasl_says_sasl_is_not_enabled() {
    let broker = TansuBroker::memory().unwrap();
    let config = ConnectionConfig {
        sasl: Some(Arc::new(SaslCredentials {
            mechanism: SaslMechanism::ScramSha512,
            username: "replicator".into(),
            password: "pw".into(),
        })),
        ..config()
    };
    let err = connect_err(&broker.addr(), &config).await;
    match &err {
        ConnectionError::SaslNotEnabled {
            broker: b,
            mechanism,
            ..
        } => {
            assert_eq!(b, &broker.addr());
            assert_eq!(mechanism, "SCRAM-SHA-512");
        }
        other => panic!("expected SaslNotEnabled, got {other:?}"),
    }
    let text = err.to_string();
    assert!(!text.contains("does not offer"), "{text}");
    assert!(text.contains("SASL is not enabled on this port"), "{text}");
    assert!(err.is_auth());
}

#[tokio::test]
async fn a_port_that_closes_without_answering_asks_about_tls() {
    let addr = answering(b"").await;
    let err = connect_err(&addr, &config()).await;
    assert!(matches!(err, ConnectionError::Closed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "connection to broker {addr} is closed: broker closed the connection without \
             answering ApiVersions, the first request: is this a TLS port (add \
             EncryptionInTransit) or not a Kafka port?"
        )
    );
}
