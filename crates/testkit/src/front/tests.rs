//! Front tests: TLS through `kreplicate_wire::transport` (trust, names, expiry, mutual TLS) in
//! front of an echo server, and Kafka-level SASL logins through the front to a real Tansu broker.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeClusterRequest,
    DescribeClusterResponse, FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest,
    MetadataResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kreplicate_wire::sasl::{SaslStep, ScramClient, ScramHash, ScramSha256, ScramSha512};
use kreplicate_wire::transport::{connect, tls_error_from_io, Stream, TlsConfig};
use kreplicate_wire::ConnectionError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::*;
use crate::certs::TestCa;
use crate::tansu::TansuBroker;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// An upstream that echoes every byte back.
async fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

fn tls_to(ca: &TestCa) -> TlsConfig {
    TlsConfig {
        ca_pem: Some(ca.cert_pem()),
        ..TlsConfig::default()
    }
}

/// Sends one frame through the front and expects the echo server's copy back.
async fn echo_roundtrip(stream: &mut Stream) -> std::io::Result<()> {
    // An api key no rewrite applies to: the frame must come back byte for byte.
    let body: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(7) | 0x80).collect();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    let mut back = vec![0u8; frame.len()];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut back))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "echo timed out"))??;
    assert_eq!(back, frame);
    Ok(())
}

fn tls_message(err: ConnectionError, front: &Front) -> String {
    match err {
        ConnectionError::Tls { broker, message } => {
            assert_eq!(broker, front.addr());
            message
        }
        other => panic!("expected ConnectionError::Tls, got {other:?}"),
    }
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn tls_with_the_right_ca_relays_bytes() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let front = Front::start(FrontConfig::new(echo_upstream().await).with_tls(cert, key)).unwrap();

    let mut stream = connect(&front.addr(), Some(&tls_to(&ca)), IO_TIMEOUT)
        .await
        .unwrap();
    assert!(stream.is_tls());
    echo_roundtrip(&mut stream).await.unwrap();

    // By DNS name too (the certificate has both SANs).
    let by_name = format!("localhost:{}", front.port());
    let mut stream = connect(&by_name, Some(&tls_to(&ca)), IO_TIMEOUT)
        .await
        .unwrap();
    echo_roundtrip(&mut stream).await.unwrap();
    assert_eq!(front.connections(), 2);
    assert_eq!(front.tls_failures(), 0);
}

#[tokio::test]
async fn tls_with_another_ca_is_not_trusted() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let front = Front::start(FrontConfig::new(echo_upstream().await).with_tls(cert, key)).unwrap();

    let other = TestCa::new("someone else");
    let err = connect(&front.addr(), Some(&tls_to(&other)), IO_TIMEOUT)
        .await
        .unwrap_err();
    let message = tls_message(err, &front);
    assert!(
        message.starts_with("certificate not trusted: UnknownIssuer"),
        "{message}"
    );
    assert!(message.contains("is the right CA configured?"), "{message}");

    // Skipping the hostname check does not skip the chain check.
    let lax = TlsConfig {
        verify_hostname: false,
        ..tls_to(&other)
    };
    let err = connect(&front.addr(), Some(&lax), IO_TIMEOUT)
        .await
        .unwrap_err();
    assert!(tls_message(err, &front).contains("UnknownIssuer"));

    // The default roots (the system store) do not trust a private CA either.
    let err = connect(&front.addr(), Some(&TlsConfig::default()), IO_TIMEOUT)
        .await
        .unwrap_err();
    assert!(tls_message(err, &front).contains("UnknownIssuer"));
    wait_for("3 TLS failures on the front", || front.tls_failures() == 3).await;
}

#[tokio::test]
async fn hostname_mismatch_names_the_name() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_server(&["kafka-1.other.example"]);
    let front = Front::start(FrontConfig::new(echo_upstream().await).with_tls(cert, key)).unwrap();

    let err = connect(&front.addr(), Some(&tls_to(&ca)), IO_TIMEOUT)
        .await
        .unwrap_err();
    let message = tls_message(err, &front);
    assert!(
        message.contains("certificate name does not match \"127.0.0.1\""),
        "{message}"
    );
    assert!(message.contains("kafka-1.other.example"), "{message}");

    // Overriding the verification name makes it match.
    let named = TlsConfig {
        server_name: Some("kafka-1.other.example".into()),
        ..tls_to(&ca)
    };
    let mut stream = connect(&front.addr(), Some(&named), IO_TIMEOUT)
        .await
        .unwrap();
    echo_roundtrip(&mut stream).await.unwrap();

    // So does turning the (dangerous) hostname check off.
    let lax = TlsConfig {
        verify_hostname: false,
        ..tls_to(&ca)
    };
    let mut stream = connect(&front.addr(), Some(&lax), IO_TIMEOUT)
        .await
        .unwrap();
    echo_roundtrip(&mut stream).await.unwrap();
}

#[tokio::test]
async fn expired_certificate_is_reported_as_expired() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_expired_server(&["127.0.0.1"]);
    let front = Front::start(FrontConfig::new(echo_upstream().await).with_tls(cert, key)).unwrap();
    let err = connect(&front.addr(), Some(&tls_to(&ca)), IO_TIMEOUT)
        .await
        .unwrap_err();
    let message = tls_message(err, &front);
    assert!(message.contains("has expired"), "{message}");
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_right_ca() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let clients = TestCa::new("client ca");
    let front = Front::start(
        FrontConfig::new(echo_upstream().await)
            .with_tls(cert, key)
            .with_client_ca(clients.cert_pem()),
    )
    .unwrap();

    let (client_cert, client_key) = clients.issue_client("replicator");
    let with_cert = TlsConfig {
        client_cert_pem: Some(client_cert),
        client_key_pem: Some(client_key),
        ..tls_to(&ca)
    };
    let mut stream = connect(&front.addr(), Some(&with_cert), IO_TIMEOUT)
        .await
        .unwrap();
    echo_roundtrip(&mut stream).await.unwrap();

    // Without a certificate, or with one from another CA: with TLS 1.3 the client finishes its
    // side of the handshake first, so the rejection shows either there or on first use.
    let (stranger_cert, stranger_key) = TestCa::new("stranger").issue_client("mallory");
    let stranger = TlsConfig {
        client_cert_pem: Some(stranger_cert),
        client_key_pem: Some(stranger_key),
        ..tls_to(&ca)
    };
    for config in [tls_to(&ca), stranger] {
        match connect(&front.addr(), Some(&config), IO_TIMEOUT).await {
            Err(e) => assert!(matches!(e, ConnectionError::Tls { .. }), "{e:?}"),
            Ok(mut stream) => {
                let err = echo_roundtrip(&mut stream).await.unwrap_err();
                // The alert is recognisable as a TLS failure, not a retriable I/O error.
                match tls_error_from_io(&front.addr(), &err) {
                    Some(ConnectionError::Tls { message, .. }) => {
                        assert!(message.contains("client certificate"), "{message}")
                    }
                    other => panic!("expected a TLS alert, got {err:?} -> {other:?}"),
                }
            }
        }
    }
    wait_for("2 TLS failures on the front", || front.tls_failures() == 2).await;
}

/// MSK's mTLS secret may hold an encrypted PKCS#8 key with its `privateKeyPassword`: the key
/// openssl encrypted (PBKDF2 and scrypt) is decrypted and the handshake completes; without
/// the password, or with a wrong one, the connection is refused before any byte is sent, with
/// a message that says which.
#[tokio::test]
async fn mutual_tls_with_an_encrypted_private_key_and_its_password() {
    let ca = TestCa::new("front ca");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let clients = TestCa::new("client ca");
    let front = Front::start(
        FrontConfig::new(echo_upstream().await)
            .with_tls(cert, key)
            .with_client_ca(clients.cert_pem()),
    )
    .unwrap();
    let (client_cert, client_key) = clients.issue_client("replicator");
    for scheme in [&["-v2", "aes-256-cbc"][..], &["-scrypt"][..]] {
        let encrypted = crate::certs::openssl_encrypted_key(&client_key, "k3y-pa55", scheme);
        let config = |password: Option<&str>| TlsConfig {
            client_cert_pem: Some(client_cert.clone()),
            client_key_pem: Some(encrypted.clone()),
            client_key_password: password.map(str::to_string),
            ..tls_to(&ca)
        };
        let mut stream = connect(&front.addr(), Some(&config(Some("k3y-pa55"))), IO_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
        echo_roundtrip(&mut stream).await.unwrap();

        for (password, expected) in [
            (
                None,
                "is encrypted (ENCRYPTED PRIVATE KEY) and no password was given",
            ),
            (
                Some("wrong"),
                "cannot decrypt the client private key with the password given",
            ),
        ] {
            match connect(&front.addr(), Some(&config(password)), IO_TIMEOUT).await {
                Err(ConnectionError::TlsConfig(message)) => {
                    assert!(message.contains(expected), "{scheme:?}: {message}")
                }
                Err(other) => {
                    panic!("{scheme:?} {password:?}: expected a TLS config error, got {other:?}")
                }
                Ok(_) => panic!("{scheme:?} {password:?}: connected"),
            }
        }
    }
    // Only the two good connections reached the front; the refused ones never left.
    assert_eq!((front.connections(), front.tls_failures()), (2, 0));
}

// ---------------------------------------------------------------------------------------------
// Kafka-level SASL through the front to a real Tansu broker.

/// A minimal Kafka client over any stream, for driving the front by hand.
struct RawKafka<S> {
    stream: S,
    next_correlation_id: i32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawKafka<S> {
    fn new(stream: S) -> Self {
        RawKafka {
            stream,
            next_correlation_id: 1,
        }
    }

    /// Sends a request and returns the response body (header checked and stripped).
    async fn call<Req, Resp>(&mut self, api: ApiKey, version: i16, body: &Req) -> Resp
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.try_call(api, version, body)
            .await
            .unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"))
    }

    async fn try_call<Req, Resp>(
        &mut self,
        api: ApiKey,
        version: i16,
        body: &Req,
    ) -> std::io::Result<Resp>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("front-test")))
            .encode(&mut buf, Req::header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        frames::write_frame(&mut self.stream, &buf).await?;
        let frame = tokio::time::timeout(IO_TIMEOUT, frames::read_frame(&mut self.stream))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response"))??
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed")
            })?;
        let mut frame: Bytes = frame;
        let header = ResponseHeader::decode(&mut frame, Resp::header_version(version)).unwrap();
        assert_eq!(header.correlation_id, correlation_id);
        Ok(Resp::decode(&mut frame, version).unwrap())
    }

    /// True when the front closed the connection (EOF within the timeout).
    async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    async fn handshake(&mut self, version: i16, mechanism: &'static str) -> SaslHandshakeResponse {
        self.call(
            ApiKey::SaslHandshake,
            version,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
        )
        .await
    }

    async fn authenticate(&mut self, bytes: Vec<u8>) -> SaslAuthenticateResponse {
        self.call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)),
        )
        .await
    }

    /// Full SCRAM login with the wire client; returns the last SaslAuthenticate response.
    async fn scram_login<H: ScramHash>(
        &mut self,
        user: &str,
        password: &str,
    ) -> SaslAuthenticateResponse {
        let hs = self.handshake(1, H::MECHANISM).await;
        assert_eq!(hs.error_code, 0);
        let mut client = ScramClient::<H>::new(user, password).unwrap();
        let first = self.authenticate(client.client_first()).await;
        assert_eq!(first.error_code, 0, "{:?}", first.error_message);
        let SaslStep::Send(client_final) = client.step(&first.auth_bytes).unwrap() else {
            panic!("SCRAM client finished early")
        };
        let last = self.authenticate(client_final).await;
        if last.error_code == 0 {
            assert_eq!(client.step(&last.auth_bytes), Ok(SaslStep::Done));
        }
        last
    }

    async fn max_version(&mut self, api: ApiKey, ours: i16) -> i16 {
        let versions: ApiVersionsResponse = self
            .call(ApiKey::ApiVersions, 3, &api_versions_request())
            .await;
        let entry = versions
            .api_keys
            .iter()
            .find(|a| a.api_key == api as i16)
            .unwrap_or_else(|| panic!("{api:?} not offered"));
        entry.max_version.min(ours)
    }
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("front-test"))
        .with_client_software_version(StrBytes::from_static_str("1"))
}

fn sasl_front(broker: &TansuBroker, tls: Option<&TestCa>) -> Front {
    let mut config = FrontConfig::new(broker.addr()).with_sasl(FrontSasl::new(
        &[("alice", "alice-secret"), ("bob", "bob-secret")],
        &[
            FrontMechanism::ScramSha256,
            FrontMechanism::ScramSha512,
            FrontMechanism::Plain,
        ],
    ));
    if let Some(ca) = tls {
        let (cert, key) = ca.issue_server(&["127.0.0.1"]);
        config = config.with_tls(cert, key);
    }
    Front::start(config).unwrap()
}

async fn plain_client(front: &Front) -> RawKafka<Stream> {
    RawKafka::new(connect(&front.addr(), None, IO_TIMEOUT).await.unwrap())
}

/// After login, checks that Metadata, DescribeCluster and FindCoordinator point at the front.
async fn assert_addresses_rewritten<S: AsyncRead + AsyncWrite + Unpin>(
    kafka: &mut RawKafka<S>,
    front: &Front,
    broker: &TansuBroker,
) {
    let version = kafka.max_version(ApiKey::Metadata, 12).await;
    let metadata: MetadataResponse = kafka
        .call(ApiKey::Metadata, version, &MetadataRequest::default())
        .await;
    assert_eq!(metadata.brokers.len(), 1, "{metadata:?}");
    assert_eq!(metadata.brokers[0].host.as_str(), "127.0.0.1");
    assert_eq!(metadata.brokers[0].port, i32::from(front.port()));
    assert_ne!(metadata.brokers[0].port, i32::from(broker.port()));
    assert_eq!(
        metadata.cluster_id.as_ref().map(|c| c.as_str()),
        Some(broker.cluster_id())
    );

    let version = kafka.max_version(ApiKey::DescribeCluster, 1).await;
    let cluster: DescribeClusterResponse = kafka
        .call(
            ApiKey::DescribeCluster,
            version,
            &DescribeClusterRequest::default(),
        )
        .await;
    assert_eq!(cluster.error_code, 0);
    assert!(!cluster.brokers.is_empty());
    for b in &cluster.brokers {
        assert_eq!(
            (b.host.as_str(), b.port),
            ("127.0.0.1", i32::from(front.port()))
        );
    }

    let version = kafka.max_version(ApiKey::FindCoordinator, 4).await;
    let request = if version >= 4 {
        FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![StrBytes::from_static_str("front-test-group")])
    } else {
        FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("front-test-group"))
    };
    let found: FindCoordinatorResponse =
        kafka.call(ApiKey::FindCoordinator, version, &request).await;
    let (host, port) = if version >= 4 {
        assert_eq!(found.coordinators.len(), 1, "{found:?}");
        assert_eq!(found.coordinators[0].error_code, 0, "{found:?}");
        (
            found.coordinators[0].host.as_str().to_string(),
            found.coordinators[0].port,
        )
    } else {
        assert_eq!(found.error_code, 0, "{found:?}");
        (found.host.as_str().to_string(), found.port)
    };
    assert_eq!(
        (host.as_str(), port),
        ("127.0.0.1", i32::from(front.port()))
    );
}

#[tokio::test]
async fn scram_login_then_relay_with_rewritten_addresses() {
    let broker = TansuBroker::memory().unwrap();
    let front = sasl_front(&broker, None);
    let mut kafka = plain_client(&front).await;

    // ApiVersions is answered before authentication and lists the SASL APIs.
    let versions: ApiVersionsResponse = kafka
        .call(ApiKey::ApiVersions, 3, &api_versions_request())
        .await;
    assert_eq!(versions.error_code, 0);
    let range = |key: ApiKey| {
        versions
            .api_keys
            .iter()
            .find(|a| a.api_key == key as i16)
            .map(|a| (a.min_version, a.max_version))
    };
    assert_eq!(range(ApiKey::SaslHandshake), Some((0, 1)));
    assert_eq!(range(ApiKey::SaslAuthenticate), Some((0, 2)));
    assert!(range(ApiKey::Metadata).is_some());

    let done = kafka
        .scram_login::<ScramSha512>("alice", "alice-secret")
        .await;
    assert_eq!(done.error_code, 0);
    assert_eq!(front.auth_successes(), 1);
    assert_eq!(front.auth_failures(), 0);

    assert_addresses_rewritten(&mut kafka, &front, &broker).await;

    // SHA-256 on a second connection.
    let mut kafka = plain_client(&front).await;
    let done = kafka.scram_login::<ScramSha256>("bob", "bob-secret").await;
    assert_eq!(done.error_code, 0);
    assert_eq!(front.auth_successes(), 2);
}

#[tokio::test]
async fn tls_and_scram_together() {
    let broker = TansuBroker::memory().unwrap();
    let ca = TestCa::new("front ca");
    let front = sasl_front(&broker, Some(&ca));
    let stream = connect(&front.addr(), Some(&tls_to(&ca)), IO_TIMEOUT)
        .await
        .unwrap();
    let mut kafka = RawKafka::new(stream);
    let done = kafka
        .scram_login::<ScramSha256>("alice", "alice-secret")
        .await;
    assert_eq!(done.error_code, 0);
    assert_addresses_rewritten(&mut kafka, &front, &broker).await;
    assert_eq!(front.auth_successes(), 1);
}

#[tokio::test]
async fn wrong_password_gets_kafkas_error_and_a_closed_connection() {
    let broker = TansuBroker::memory().unwrap();
    let front = sasl_front(&broker, None);

    let mut kafka = plain_client(&front).await;
    let failed = kafka
        .scram_login::<ScramSha256>("alice", "not-her-password")
        .await;
    assert_eq!(
        failed.error_code,
        ResponseError::SaslAuthenticationFailed.code()
    );
    assert_eq!(
        failed.error_message.as_ref().map(|m| m.as_str()),
        Some(
            "Authentication failed during authentication due to invalid credentials with SASL \
             mechanism SCRAM-SHA-256"
        )
    );
    assert!(kafka.is_closed().await);

    // Unknown user: same answer, no hint that the user does not exist.
    let mut kafka = plain_client(&front).await;
    let hs = kafka.handshake(1, "SCRAM-SHA-512").await;
    assert_eq!(hs.error_code, 0);
    let mut client = ScramClient::<ScramSha512>::new("mallory", "x").unwrap();
    let failed = kafka.authenticate(client.client_first()).await;
    assert_eq!(
        failed.error_code,
        ResponseError::SaslAuthenticationFailed.code()
    );
    assert!(failed
        .error_message
        .as_ref()
        .is_some_and(|m| m.as_str().ends_with("SCRAM-SHA-512")));
    assert!(kafka.is_closed().await);

    // PLAIN with a wrong password.
    let mut kafka = plain_client(&front).await;
    assert_eq!(kafka.handshake(1, "PLAIN").await.error_code, 0);
    let failed = kafka.authenticate(b"\0alice\0nope".to_vec()).await;
    assert_eq!(
        failed.error_code,
        ResponseError::SaslAuthenticationFailed.code()
    );
    assert_eq!(
        failed.error_message.as_ref().map(|m| m.as_str()),
        Some("Authentication failed: Invalid username or password")
    );
    assert_eq!(front.auth_failures(), 3);
    assert_eq!(front.auth_successes(), 0);
}

#[tokio::test]
async fn protocol_violations_before_authentication() {
    let broker = TansuBroker::memory().unwrap();
    let front = Front::start(FrontConfig::new(broker.addr()).with_sasl(FrontSasl::new(
        &[("alice", "pw")],
        &[FrontMechanism::ScramSha512],
    )))
    .unwrap();

    // Unknown or disabled mechanism: error 33 and the enabled list; the connection stays open.
    let mut kafka = plain_client(&front).await;
    for mechanism in ["GSSAPI", "PLAIN"] {
        let hs = kafka.handshake(1, mechanism).await;
        assert_eq!(
            hs.error_code,
            ResponseError::UnsupportedSaslMechanism.code()
        );
        let offered: Vec<&str> = hs.mechanisms.iter().map(|m| m.as_str()).collect();
        assert_eq!(offered, vec!["SCRAM-SHA-512"]);
    }
    let hs = kafka.handshake(1, "SCRAM-SHA-512").await;
    assert_eq!(hs.error_code, 0);

    // A request other than ApiVersions/SASL before authentication closes the connection.
    let mut kafka = plain_client(&front).await;
    let err = kafka
        .try_call::<_, MetadataResponse>(ApiKey::Metadata, 4, &MetadataRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");

    // SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE, then closed.
    let mut kafka = plain_client(&front).await;
    let r = kafka.authenticate(b"n,,n=alice,r=abc".to_vec()).await;
    assert_eq!(r.error_code, ResponseError::IllegalSaslState.code());
    assert!(kafka.is_closed().await);
    assert_eq!(front.auth_successes() + front.auth_failures(), 0);
}

#[tokio::test]
async fn legacy_v0_handshake_with_raw_plain_token() {
    let broker = TansuBroker::memory().unwrap();
    let front = sasl_front(&broker, None);
    let mut kafka = plain_client(&front).await;
    let hs = kafka.handshake(0, "PLAIN").await;
    assert_eq!(hs.error_code, 0);
    // After a v0 handshake the token goes as a bare frame and the answer is a bare frame.
    frames::write_frame(&mut kafka.stream, b"\0alice\0alice-secret")
        .await
        .unwrap();
    let reply = tokio::time::timeout(IO_TIMEOUT, frames::read_frame(&mut kafka.stream))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(reply.is_empty());
    assert_eq!(front.auth_successes(), 1);
    assert_addresses_rewritten(&mut kafka, &front, &broker).await;
}

#[tokio::test]
async fn plain_relay_without_tls_or_sasl_rewrites_too() {
    let broker = TansuBroker::memory().unwrap();
    let front = Front::start(FrontConfig::new(broker.addr())).unwrap();
    let mut kafka = plain_client(&front).await;
    assert_addresses_rewritten(&mut kafka, &front, &broker).await;
    assert_eq!(front.auth_successes(), 0);
}

#[test]
fn front_starts_and_stops_from_sync_code() {
    let front = Front::start(FrontConfig::new("127.0.0.1:1")).unwrap();
    let addr = front.addr();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(front);
    // The listener is gone once drop returns.
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[test]
fn mutual_tls_needs_tls() {
    let err = Front::start(FrontConfig::new("127.0.0.1:1").with_client_ca("x")).unwrap_err();
    assert!(err.to_string().contains("needs tls"), "{err}");
}
