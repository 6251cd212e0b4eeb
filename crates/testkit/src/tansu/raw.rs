//! A minimal blocking Kafka client over a plain `TcpStream`, for readiness probes and for
//! measuring what a broker (Tansu, the fake broker, a proxy) answers without going through the
//! product's own client. One request at a time; no version negotiation, no retries.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

/// Largest response frame accepted; far above anything a test asks for, small enough that a
/// corrupt length fails fast instead of allocating gigabytes.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One TCP connection speaking raw Kafka frames.
pub struct RawConnection {
    stream: TcpStream,
    addr: String,
    next_correlation_id: i32,
}

impl RawConnection {
    /// Connects to `addr` ("host:port"); `timeout` bounds the connect and every later read and
    /// write on this connection.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Self> {
        let sock = addr
            .to_socket_addrs()
            .with_context(|| format!("resolving {addr}"))?
            .next()
            .ok_or_else(|| anyhow!("{addr} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&sock, timeout)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            addr: addr.to_string(),
            next_correlation_id: 1,
        })
    }

    /// Sends `request` at `version` and decodes the matching response.
    pub fn call<R: Request>(&mut self, version: i16, request: &R) -> Result<R::Response> {
        let correlation_id = self.send(version, request)?;
        let mut frame = self
            .read_frame()?
            .ok_or_else(|| anyhow!("{} closed the connection before answering", self.addr))?;
        let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
            .with_context(|| format!("decoding the response header from {}", self.addr))?;
        if header.correlation_id != correlation_id {
            bail!(
                "{} answered correlation id {} to request {correlation_id}",
                self.addr,
                header.correlation_id
            );
        }
        let response = R::Response::decode(&mut frame, version).with_context(|| {
            format!(
                "decoding API key {} v{version} response from {}",
                R::KEY,
                self.addr
            )
        })?;
        if frame.has_remaining() {
            bail!(
                "{} left {} undecoded bytes in the API key {} v{version} response",
                self.addr,
                frame.remaining(),
                R::KEY
            );
        }
        Ok(response)
    }

    /// Encodes and writes one request frame; returns its correlation id.
    pub fn send<R: Request>(&mut self, version: i16, request: &R) -> Result<i32> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("kreplicate-testkit")));
        let mut body = BytesMut::new();
        header.encode(&mut body, R::header_version(version))?;
        request
            .encode(&mut body, version)
            .with_context(|| format!("encoding API key {} v{version}", R::KEY))?;
        self.write_frame(&body)?;
        Ok(correlation_id)
    }

    /// Writes `body` with its 4-byte length prefix.
    pub fn write_frame(&mut self, body: &[u8]) -> Result<()> {
        let len = i32::try_from(body.len()).context("frame longer than i32::MAX")?;
        let mut out = Vec::with_capacity(4 + body.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        self.write_raw(&out)
    }

    /// Writes `bytes` exactly as given (no length prefix): for malformed-frame tests.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .with_context(|| format!("writing to {}", self.addr))
    }

    /// Reads one length-prefixed frame. `Ok(None)` means the peer closed the connection cleanly
    /// before the first byte of a frame.
    pub fn read_frame(&mut self) -> Result<Option<Bytes>> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self
                .stream
                .read(&mut len[got..])
                .with_context(|| format!("reading a frame length from {}", self.addr))?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                bail!("{} closed the connection inside a frame length", self.addr);
            }
            got += n;
        }
        let len = i32::from_be_bytes(len);
        let len = usize::try_from(len)
            .map_err(|_| anyhow!("{} sent a negative frame length {len}", self.addr))?;
        if len > MAX_FRAME {
            bail!("{} sent a frame length {len} above {MAX_FRAME}", self.addr);
        }
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .with_context(|| format!("reading a {len}-byte frame from {}", self.addr))?;
        Ok(Some(Bytes::from(body)))
    }

    /// True when the peer has closed the connection: a read returns end-of-stream (or a reset)
    /// within the connection's timeout. Any bytes that do arrive are an error.
    pub fn is_closed_by_peer(&mut self) -> Result<bool> {
        let mut buf = [0u8; 1];
        match self.stream.read(&mut buf) {
            Ok(0) => Ok(true),
            Ok(_) => bail!("{} sent data while a close was expected", self.addr),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                Ok(true)
            }
            Err(e) => Err(e).with_context(|| format!("reading from {}", self.addr)),
        }
    }

    /// Changes the read timeout (e.g. a short one to check that nothing arrives).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.stream.set_read_timeout(Some(timeout))?;
        Ok(())
    }
}

/// One request on a fresh connection: connect, send `request` at `version`, decode the answer.
pub fn request<R: Request>(
    addr: &str,
    version: i16,
    request: &R,
    timeout: Duration,
) -> Result<R::Response> {
    RawConnection::connect(addr, timeout)?.call(version, request)
}
