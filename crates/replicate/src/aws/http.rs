//! One signed HTTPS (or, for a local endpoint, HTTP) GET with a bounded time, for the calls
//! made without an SDK client (GetBootstrapBrokers). Native roots, rustls on ring.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::HttpError;

/// Bound on one request, connect to last body byte.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Status and body of a GET to `url` with `headers`; `Err` is the source of
/// [`AwsError::Unreachable`](super::AwsError::Unreachable).
pub(super) async fn get(
    url: &str,
    headers: &[(String, String)],
) -> Result<(u16, Bytes), HttpError> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .map_err(HttpError::RootCertificates)?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = http::Request::get(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(Empty::new()).map_err(HttpError::Request)?;
    let exchange = async {
        let response = client.request(request).await.map_err(HttpError::Exchange)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Body(Box::new(e)))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|source| HttpError::Timeout {
            timeout: TIMEOUT,
            source,
        })?
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::aws::AwsError;

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_with_hypers_error_as_source() {
        // A loopback port nobody listens on any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1/clusters/x/bootstrap-brokers");
        let e = get(&url, &[]).await.unwrap_err();
        assert!(matches!(e, HttpError::Exchange(_)), "{e:?}");
        // hyper's own message is only "client error (Connect)": the causes follow on the line.
        let text = e.to_string();
        assert!(text.starts_with("client error (Connect): "), "{text}");
        assert!(text.contains("refused"), "{text}");
        let hyper = e.source().expect("hyper's error");
        assert!(hyper.is::<hyper_util::client::legacy::Error>(), "{hyper:?}");
        let e = AwsError::Unreachable {
            action: "kafka:GetBootstrapBrokers",
            resource: "arn:x".into(),
            endpoint: format!("http://127.0.0.1:{port}"),
            source: Box::new(e),
        };
        assert_eq!(
            e.to_string(),
            format!(
                "kafka:GetBootstrapBrokers on arn:x: cannot reach http://127.0.0.1:{port}: {text}"
            )
        );
        assert!(e.source().is_some_and(|s| s.is::<HttpError>()), "{e:?}");
    }

    #[tokio::test]
    async fn a_bad_header_is_named_with_https_error_as_source() {
        let headers = [("bad header".to_string(), "v".to_string())];
        let e = get("http://127.0.0.1:9/", &headers).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "building the request: invalid HTTP header name"
        );
        assert!(e.source().is_some_and(|s| s.is::<http::Error>()), "{e:?}");
    }
}
