//! One request/response exchange with the upstream broker on a connection of its own, for what
//! the layer needs to know itself (topic configs).

use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::BytesMut;
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::net::TcpStream;

use crate::front::frames::{read_frame, write_frame};

/// Upper bound for one exchange: Tansu answers in milliseconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `request` at `version` to `addr` and returns the decoded response.
pub(crate) async fn call<R: Request>(
    addr: &str,
    version: i16,
    request: &R,
) -> anyhow::Result<R::Response> {
    tokio::time::timeout(CALL_TIMEOUT, exchange(addr, version, request))
        .await
        .with_context(|| format!("strict: no answer from {addr} within {CALL_TIMEOUT:?}"))?
}

async fn exchange<R: Request>(
    addr: &str,
    version: i16,
    request: &R,
) -> anyhow::Result<R::Response> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("strict: connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("kreplicate-strict")))
        .encode(&mut body, R::header_version(version))?;
    request.encode(&mut body, version)?;
    write_frame(&mut stream, &body).await?;
    let Some(mut frame) = read_frame(&mut stream).await? else {
        bail!("strict: {addr} closed the connection before answering");
    };
    let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))?;
    if header.correlation_id != 1 {
        bail!(
            "strict: {addr} answered correlation id {}",
            header.correlation_id
        );
    }
    R::Response::decode(&mut frame, version).context("strict: decoding the upstream answer")
}
