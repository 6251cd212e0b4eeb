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
