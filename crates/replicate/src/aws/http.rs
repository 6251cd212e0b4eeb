//! One signed HTTPS (or, for a local endpoint, HTTP) GET with a bounded time, for the calls
//! made without an SDK client (GetBootstrapBrokers). Native roots, rustls on ring.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Bound on one request, connect to last body byte.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Status and body of a GET to `url` with `headers`; `Err` is a message for
/// [`AwsError::Unreachable`](super::AwsError::Unreachable).
pub(super) async fn get(url: &str, headers: &[(String, String)]) -> Result<(u16, Bytes), String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .map_err(|e| format!("loading the system's root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = http::Request::get(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| format!("building the request: {e}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| super::error::error_chain(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {TIMEOUT:?}"))?
}
