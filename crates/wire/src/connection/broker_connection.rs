//! One pipelined connection to one broker.
//!
//! Many requests may be in flight at once; responses are matched to callers by correlation id.
//! A writer task owns the write half and a reader task owns the read half, so a caller that
//! gives up (drops its future) can never leave half a frame on the socket.
//!
//! A connection that fails in any way — I/O error, EOF, an undecodable frame, a request timeout —
//! is *broken*: every pending request fails with a retriable error and the connection is never
//! used again. The client layer replaces it. (Kafka answers requests on a connection in order,
//! so one timed-out request means everything behind it is stuck as well.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::handshake::handshake;
use super::{ConnectionConfig, ConnectionError};
use crate::frame::decode_frame;
use crate::lock::lock;
use crate::protocol::{
    api_name, decode_response, encode_request, peek_correlation_id, ApiVersionTable,
    NoCommonVersion,
};

/// Frames queued for the writer task. Small: callers wait (back-pressure) rather than queue
/// unbounded bytes in memory.
const WRITE_QUEUE: usize = 64;

type Reply = oneshot::Sender<Result<Bytes, ConnectionError>>;

#[derive(Default)]
struct Pending {
    waiting: HashMap<i32, Reply>,
    /// Set once the connection is broken; the reason is repeated to every later caller.
    broken: Option<String>,
}

struct Shared {
    broker: String,
    pending: Mutex<Pending>,
    /// A broker quota asked us to send nothing more on this connection until then (KIP-219:
    /// the broker answers at once with `throttle_time_ms` and expects the client to wait).
    throttled_until: Mutex<Option<tokio::time::Instant>>,
}

impl Shared {
    /// Marks the connection broken and fails everything in flight. Idempotent.
    fn break_with(&self, reason: String) {
        let waiting = {
            let mut pending = lock(&self.pending);
            if pending.broken.is_none() {
                tracing::debug!(broker = %self.broker, %reason, "connection broken");
                pending.broken = Some(reason.clone());
            }
            std::mem::take(&mut pending.waiting)
        };
        for (_, reply) in waiting {
            let _ = reply.send(Err(self.closed(Some(reason.clone()))));
        }
    }

    fn closed(&self, reason: Option<String>) -> ConnectionError {
        ConnectionError::Closed {
            broker: self.broker.clone(),
            reason,
        }
    }
}

test_util_pub! {
    /// A live, authenticated connection to one broker.
    pub struct BrokerConnection {
        shared: Arc<Shared>,
        versions: ApiVersionTable,
        client_id: Arc<str>,
        request_timeout: Duration,
        next_correlation_id: AtomicI32,
        outgoing: mpsc::Sender<Bytes>,
        reauth_deadline: Option<Instant>,
        reader: JoinHandle<()>,
        writer: JoinHandle<()>,
    }
}

impl std::fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("broker", &self.shared.broker)
            .field("broken", &self.broken_reason())
            .finish()
    }
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl BrokerConnection {
    test_util_pub! {
        /// Connects to `broker` ("host:port"), with TLS and SASL as configured.
        pub async fn connect(
            broker: &str,
            config: &ConnectionConfig,
        ) -> Result<Self, ConnectionError> {
            let stream =
                crate::transport::connect(broker, config.tls.as_ref(), config.connect_timeout)
                    .await?;
            Self::establish(broker, stream, config).await
        }
    }

    /// Runs the handshake on an already open stream and starts the reader and writer tasks.
    pub(crate) async fn establish<S>(
        broker: &str,
        mut stream: S,
        config: &ConnectionConfig,
    ) -> Result<Self, ConnectionError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let hs = handshake(
            &mut stream,
            broker,
            &config.client_id,
            config.request_timeout,
            config.sasl.as_deref(),
        )
        .await?;
        let shared = Arc::new(Shared {
            broker: broker.to_string(),
            pending: Mutex::new(Pending::default()),
            throttled_until: Mutex::new(None),
        });
        let (read_half, write_half) = tokio::io::split(stream);
        let (outgoing, queue) = mpsc::channel(WRITE_QUEUE);
        let reader = tokio::spawn(read_loop(read_half, shared.clone(), config.max_frame_bytes));
        let writer = tokio::spawn(write_loop(write_half, queue, shared.clone()));
        Ok(BrokerConnection {
            shared,
            versions: hs.versions,
            client_id: config.client_id.as_str().into(),
            request_timeout: config.request_timeout,
            // The handshake used the first few ids on the raw stream; any start works.
            next_correlation_id: AtomicI32::new(1000),
            outgoing,
            reauth_deadline: hs.reauth_deadline,
            reader,
            writer,
        })
    }

    test_util_pub! {
        /// The broker's address as configured or advertised ("host:port").
        pub fn broker(&self) -> &str {
            &self.shared.broker
        }
    }

    test_util_pub! {
        /// What the broker advertised in ApiVersions.
        pub fn versions(&self) -> &ApiVersionTable {
            &self.versions
        }
    }

    /// Why the connection is unusable, if it is.
    pub(crate) fn broken_reason(&self) -> Option<String> {
        lock(&self.shared.pending).broken.clone()
    }

    /// False once the connection broke or its SASL session is about to expire.
    pub(crate) fn is_usable(&self) -> bool {
        self.broken_reason().is_none()
            && self
                .reauth_deadline
                .is_none_or(|deadline| Instant::now() < deadline)
    }

    /// Marks the connection broken (e.g. the caller saw a protocol violation in a response).
    pub(crate) fn close(&self, reason: impl Into<String>) {
        self.shared.break_with(reason.into());
    }

    /// Honours a response's `throttle_time_ms`: requests sent on this connection after this
    /// call wait until the throttle has passed. Requests already in flight are not affected.
    pub(crate) fn throttle(&self, throttle_time_ms: i32) {
        if throttle_time_ms <= 0 {
            return;
        }
        let until = tokio::time::Instant::now() + Duration::from_millis(throttle_time_ms as u64);
        let mut throttled = lock(&self.shared.throttled_until);
        *throttled = Some(throttled.map_or(until, |t| t.max(until)));
    }

    /// When the connection may send again, if a throttle is running.
    pub(crate) fn throttled_until(&self) -> Option<tokio::time::Instant> {
        let until = *lock(&self.shared.throttled_until);
        until.filter(|t| *t > tokio::time::Instant::now())
    }

    /// The version `R` would be sent at.
    pub(crate) fn version_of<R: Request>(&self) -> Result<i16, ConnectionError> {
        self.versions
            .choose(R::KEY)
            .map_err(|e| ConnectionError::unsupported(self.broker(), e))
    }

    /// Sends `request` at the highest common version and waits for its response.
    pub(crate) async fn request<R: Request>(
        &self,
        request: &R,
    ) -> Result<R::Response, ConnectionError> {
        let version = self.version_of::<R>()?;
        self.request_at(request, version).await.map(|(_, r)| r)
    }

    /// Like [`request`](Self::request), but builds the request for the chosen version (for
    /// messages whose fields differ between versions). Returns the version used.
    pub(crate) async fn request_with<R: Request>(
        &self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<(i16, R::Response), ConnectionError> {
        let version = self.version_of::<R>()?;
        self.request_at(&build(version), version).await
    }

    /// Sends `request` at exactly `version`.
    pub(crate) async fn request_at<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<(i16, R::Response), ConnectionError> {
        let api = api_name(R::KEY);
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame =
            encode_request(request, version, correlation_id, &self.client_id).map_err(|error| {
                ConnectionError::Encode {
                    broker: self.broker().to_string(),
                    api,
                    message: error.to_string(),
                }
            })?;
        let response = self.round_trip(api, correlation_id, frame).await?;
        let (got, body) = decode_response::<R>(response, version).map_err(|error| {
            // A frame we cannot decode leaves us unsure where the stream stands.
            self.close(format!("undecodable {api} response"));
            ConnectionError::Malformed {
                broker: self.broker().to_string(),
                api,
                message: error.to_string(),
            }
        })?;
        debug_assert_eq!(got, correlation_id);
        Ok((version, body))
    }

    async fn round_trip(
        &self,
        api: &'static str,
        correlation_id: i32,
        frame: Bytes,
    ) -> Result<Bytes, ConnectionError> {
        // A throttle is not part of the request timeout: the broker asked for the wait.
        while let Some(until) = self.throttled_until() {
            tokio::time::sleep_until(until).await;
        }
        let (reply, response) = oneshot::channel();
        {
            let mut pending = lock(&self.shared.pending);
            if let Some(reason) = &pending.broken {
                return Err(self.shared.closed(Some(reason.clone())));
            }
            pending.waiting.insert(correlation_id, reply);
        }
        // Remove our entry whatever happens next (timeout, caller gives up, error).
        let _guard = PendingGuard {
            shared: &self.shared,
            correlation_id,
        };
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        let sent = tokio::time::timeout_at(deadline, self.outgoing.send(frame)).await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(self.shared.closed(self.broken_reason())),
            Err(_) => return Err(self.timed_out(api)),
        }
        match tokio::time::timeout_at(deadline, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.shared.closed(self.broken_reason())),
            Err(_) => Err(self.timed_out(api)),
        }
    }

    fn timed_out(&self, api: &'static str) -> ConnectionError {
        self.close(format!(
            "{api} request timed out after {:?}",
            self.request_timeout
        ));
        ConnectionError::Timeout {
            broker: self.broker().to_string(),
            api,
            timeout: self.request_timeout,
        }
    }
}

struct PendingGuard<'a> {
    shared: &'a Shared,
    correlation_id: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.pending)
            .waiting
            .remove(&self.correlation_id);
    }
}

async fn write_loop<S: AsyncWrite>(
    mut write_half: WriteHalf<S>,
    mut queue: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
) {
    while let Some(frame) = queue.recv().await {
        // A broken connection's requests have all failed and are being resent elsewhere: a
        // frame still queued must not reach the broker after (and overtake) its resend.
        if lock(&shared.pending).broken.is_some() {
            return;
        }
        let mut result = write_half.write_all(&frame).await;
        // Flush only when nothing else is queued, so pipelined requests share syscalls.
        if result.is_ok() && queue.is_empty() {
            result = write_half.flush().await;
        }
        if let Err(e) = result {
            shared.break_with(format!("write failed: {e}"));
            return;
        }
    }
}

async fn read_loop<S: AsyncRead>(
    mut read_half: ReadHalf<S>,
    shared: Arc<Shared>,
    max_frame_bytes: usize,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            let frame = match decode_frame(&mut buf, max_frame_bytes) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    shared.break_with(format!("bad frame from broker: {e}"));
                    return;
                }
            };
            let Some(correlation_id) = peek_correlation_id(&frame) else {
                shared.break_with("response frame shorter than its header".into());
                return;
            };
            let reply = lock(&shared.pending).waiting.remove(&correlation_id);
            match reply {
                Some(reply) => {
                    let _ = reply.send(Ok(frame));
                }
                // The caller gave up (timeout or dropped future) after sending: the
                // connection is already broken by the timeout, or the caller just left.
                None => {
                    tracing::trace!(broker = %shared.broker, correlation_id, "response without a waiting caller")
                }
            }
        }
        match read_half.read_buf(&mut buf).await {
            Ok(0) => {
                shared.break_with("the broker closed the connection".into());
                return;
            }
            Ok(_) => {}
            Err(e) => {
                shared.break_with(format!("read failed: {e}"));
                return;
            }
        }
    }
}

impl ConnectionError {
    pub(crate) fn unsupported(broker: &str, e: NoCommonVersion) -> Self {
        ConnectionError::UnsupportedVersion {
            broker: broker.to_string(),
            api: e.api,
            our_min: e.our_min,
            our_max: e.our_max,
            offered: e.offered,
        }
    }
}
