//! Opening a stream to a broker: TCP connect, `TCP_NODELAY`, then TLS if configured.

use std::io;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::address::split_host_port;
use super::stream::Stream;
use super::tls_config::TlsConfig;
use super::tls_connector::TlsConnector;
use crate::connection::ConnectionError;

/// Connects to `broker` ("host:port"), with TLS when `tls` is set. The TLS connector for an
/// equal configuration is built once per process and reused (see `TlsConnector::cached`).
/// `timeout` bounds the TCP connect and the TLS handshake together.
pub async fn connect(
    broker: &str,
    tls: Option<&TlsConfig>,
    timeout: Duration,
) -> Result<Stream, ConnectionError> {
    let connector = tls.map(TlsConnector::cached).transpose()?;
    connect_with(broker, connector.as_ref(), timeout).await
}

/// Connects to `broker` ("host:port") with an already built TLS connector, or plaintext when
/// `tls` is `None`. A failed handshake is an error; there is no fallback to plaintext.
pub(crate) async fn connect_with(
    broker: &str,
    tls: Option<&TlsConnector>,
    timeout: Duration,
) -> Result<Stream, ConnectionError> {
    let started = Instant::now();
    let (host, port) = split_host_port(broker)?;
    // A bad TLS name is a configuration error: report it before touching the network.
    let server_name = tls.map(|t| t.server_name_for(host)).transpose()?;

    let tcp = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(source)) => {
            return Err(ConnectionError::Connect {
                broker: broker.to_string(),
                source: source.into(),
            })
        }
        Err(_) => {
            return Err(ConnectionError::Connect {
                broker: broker.to_string(),
                source: std::sync::Arc::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("TCP connect timed out after {timeout:?}"),
                )),
            })
        }
    };
    // Requests are small and latency-bound; Nagle would delay them behind unacked data.
    tcp.set_nodelay(true)
        .map_err(|source| ConnectionError::Io {
            broker: broker.to_string(),
            source: source.into(),
        })?;

    let (Some(tls), Some(server_name)) = (tls, server_name) else {
        return Ok(Stream::Plain(tcp));
    };
    let remaining = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(remaining, tls.handshake(broker, server_name, tcp)).await {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ConnectionError::Timeout {
            broker: broker.to_string(),
            api: "TLS handshake",
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn plaintext_connects_with_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut stream = connect(&addr, None, Duration::from_secs(5)).await.unwrap();
        assert!(!stream.is_tls());
        assert!(stream.tcp().nodelay().unwrap());
        stream.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn refused_connection_names_the_broker() {
        // Bind then drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let broker = format!("127.0.0.1:{port}");
        let err = connect(&broker, None, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectionError::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains(&broker), "{err}");
        assert!(err.is_retriable());
    }

    #[tokio::test]
    async fn tls_to_a_silent_server_times_out_instead_of_falling_back() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // Accept and never answer the ClientHello.
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
        });
        let err = connect(
            &addr,
            Some(&TlsConfig::default()),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectionError::Timeout {
                    api: "TLS handshake",
                    ..
                }
            ),
            "{err:?}"
        );
        server.abort();
    }

    #[tokio::test]
    async fn tls_to_a_plaintext_peer_is_a_tls_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // Answers the ClientHello with non-TLS bytes, like a plaintext Kafka listener would
        // answer garbage.
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 16];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"\0\0\0\x08garbage!").await;
        });
        let err = connect(&addr, Some(&TlsConfig::default()), Duration::from_secs(5))
            .await
            .unwrap_err();
        match &err {
            ConnectionError::Tls { broker, message } => {
                assert_eq!(broker, &addr);
                assert!(message.contains("is this port a TLS listener"), "{message}");
            }
            other => panic!("expected Tls error, got {other:?}"),
        }
        server.await.unwrap();
    }

    #[tokio::test]
    async fn bad_address_is_reported_before_connecting() {
        let err = connect("no-port", None, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid broker address \"no-port\""),
            "{err}"
        );
    }
}
