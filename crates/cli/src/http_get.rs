//! A plain-HTTP GET of one URL (what `status` needs to read `/status`), with a deadline.
//! Errors say which URL and why, on one line.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest body accepted (a metrics page with many partitions is a few MB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Fetches `url` (http:// only) and returns the body of a 200 response as text.
pub async fn get(url: &str, timeout: Duration) -> Result<String, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(format!(
                "{url}: only http:// URLs are supported, not {other}://"
            ))
        }
        None => {
            return Err(format!(
                "{url}: give a full URL such as http://127.0.0.1:9464/metrics"
            ))
        }
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: the URL has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| host.to_owned());
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    // Brackets of an IPv6 literal are part of the URL syntax, not of the address.
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();

    let fetch = async move {
        let stream = TcpStream::connect((connect_host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{url}: HTTP handshake failed: {e}"))?;
        // The connection future drives the socket; it ends when the response is read.
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, "kreplicate-status")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("{url}: cannot build the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: request failed: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("{url}: cannot read the response body: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let first = text.lines().next().unwrap_or("").trim();
            return Err(format!(
                "{url}: HTTP {status}{}",
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {first}")
                }
            ));
        }
        String::from_utf8(body.to_vec())
            .map_err(|_| format!("{url}: the response is not UTF-8 text"))
    };
    match tokio::time::timeout(timeout, fetch).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{url}: no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}
