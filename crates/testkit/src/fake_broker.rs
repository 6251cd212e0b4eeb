//! A scriptable fake Kafka broker for what a real broker cannot be made to do on demand: APIs
//! Tansu lacks (ACLs, CreatePartitions), chosen error codes, slow or missing answers, malformed
//! frames.
//!
//! A handler closure sees each decoded request and returns a [`FakeReply`];
//! [`FakeReply::Default`] lets the built-in responder answer ApiVersions (every client-facing
//! API kafka-protocol supports), Metadata (this broker as the only node, leader of every
//! configured partition), FindCoordinator and DescribeCluster, so a test overrides only what
//! it is about. Every request is recorded
//! for assertions. Runs on its own tokio runtime; stops on drop.
//!
//! ```no_run
//! use kafka_protocol::messages::RequestKind;
//! use kreplicate_testkit::fake_broker::{FakeBroker, FakeReply};
//! let broker = FakeBroker::start(|_header, request| match request {
//!     RequestKind::CreatePartitions(_) => FakeReply::Close,
//!     _ => FakeReply::Default,
//! })?;
//! println!("bootstrap: {}", broker.addr());
//! # anyhow::Ok(())
//! ```

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, DescribeClusterResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, MetadataRequest, MetadataResponse, RequestHeader, RequestKind,
    ResponseHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

use crate::ports::try_free_port;

/// Largest request frame accepted; a bigger length is treated as garbage and closes the
/// connection.
const MAX_REQUEST: usize = 100 * 1024 * 1024;

/// Kafka's UNSUPPORTED_VERSION error code.
const UNSUPPORTED_VERSION: i16 = 35;
/// Kafka's UNKNOWN_TOPIC_OR_PARTITION error code.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// What the fake broker does with one request.
// Boxing `Respond` would make every handler noisier for a few hundred bytes per request in a
// test helper.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// Answer with the built-in responder: ApiVersions, Metadata, FindCoordinator and
    /// DescribeCluster (this broker is the only node, leader and coordinator of everything);
    /// any other API closes the connection (a test that sends it should script it).
    Default,
    /// Encode this response at the request's version, with the right response header.
    Respond(ResponseKind),
    /// Send a frame whose body is the correlation id followed by exactly these bytes (the
    /// response header's tagged fields, if its version has them, are part of these bytes).
    RespondRaw(Bytes),
    /// Write these bytes on the socket as they are, without a length prefix.
    WriteRaw(Bytes),
    /// Close the connection without answering.
    Close,
    /// Wait, then do the inner reply. Later requests on the connection wait too (Kafka answers
    /// in order).
    Delay(Duration, Box<FakeReply>),
    /// Send nothing and keep reading.
    NoReply,
}

/// One request as the fake broker received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Sequence number of the connection it came on (1 = first accepted).
    pub connection: u64,
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    /// The decoded body; `None` when the header or body could not be decoded.
    pub request: Option<RequestKind>,
}

/// A topic the default Metadata answer lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTopic {
    pub name: String,
    pub partitions: i32,
}

impl FakeTopic {
    pub fn new(name: &str, partitions: i32) -> Self {
        Self {
            name: name.to_string(),
            partitions,
        }
    }
}

/// Identity and contents of a fake broker.
#[derive(Debug, Clone)]
pub struct FakeBrokerOptions {
    /// Node id in Metadata (default 1).
    pub node_id: i32,
    /// Cluster id in Metadata (default "fake-cluster").
    pub cluster_id: String,
    /// Topics in the default Metadata answer.
    pub topics: Vec<FakeTopic>,
    /// APIs the default ApiVersions answer advertises; default [`default_api_versions`].
    pub api_versions: Vec<ApiVersion>,
}

impl Default for FakeBrokerOptions {
    fn default() -> Self {
        Self {
            node_id: 1,
            cluster_id: "fake-cluster".to_string(),
            topics: Vec::new(),
            api_versions: default_api_versions(),
        }
    }
}

/// Every client-facing API with the full version range kafka-protocol implements. Left out:
/// controller, KRaft and inter-broker APIs, and share groups — a real broker does not offer
/// those to clients either.
pub fn default_api_versions() -> Vec<ApiVersion> {
    ApiKey::iter()
        .filter(|key| is_client_facing(*key as i16))
        .map(|key| {
            let range = key.valid_versions();
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(range.min)
                .with_max_version(range.max)
        })
        .collect()
}

fn is_client_facing(key: i16) -> bool {
    matches!(key, 0..=3 | 8..=26 | 28..=51 | 55 | 57 | 60 | 61 | 65 | 66 | 68 | 69 | 71 | 72 | 74 | 75)
}

type Handler = dyn Fn(&RequestHeader, RequestKind) -> FakeReply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    options: FakeBrokerOptions,
    port: u16,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicU64,
}

/// A running fake broker.
pub struct FakeBroker {
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
}

impl FakeBroker {
    /// Starts a fake broker with default options on a free 127.0.0.1 port.
    pub fn start<F>(handler: F) -> Result<Self>
    where
        F: Fn(&RequestHeader, RequestKind) -> FakeReply + Send + Sync + 'static,
    {
        Self::start_with(FakeBrokerOptions::default(), handler)
    }

    /// A fake broker that only gives default answers.
    pub fn start_default(options: FakeBrokerOptions) -> Result<Self> {
        Self::start_with(options, |_, _| FakeReply::Default)
    }

    /// Starts a fake broker with `options` on a free 127.0.0.1 port.
    pub fn start_with<F>(options: FakeBrokerOptions, handler: F) -> Result<Self>
    where
        F: Fn(&RequestHeader, RequestKind) -> FakeReply + Send + Sync + 'static,
    {
        let port = try_free_port().context("choosing a port for the fake broker")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-broker")
            .enable_all()
            .build()
            .context("building the fake broker runtime")?;
        let std_listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .with_context(|| format!("fake broker binding 127.0.0.1:{port}"))?;
        std_listener.set_nonblocking(true)?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            options,
            port,
            requests: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            shared,
            runtime: Some(runtime),
        })
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.shared.port)
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// Node id this broker reports.
    pub fn node_id(&self) -> i32 {
        self.shared.options.node_id
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Requests received so far for one API.
    pub fn requests_for(&self, api_key: ApiKey) -> Vec<RecordedRequest> {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.api_key == api_key as i16)
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The built-in answer to `request` (what [`FakeReply::Default`] sends), for handlers that
    /// want to adjust it.
    pub fn default_reply(&self, header: &RequestHeader, request: &RequestKind) -> FakeReply {
        default_reply(&self.shared, header, request)
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

use crate::lock::lock;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, id, &shared).await {
                        tracing::debug!("fake broker connection {id}: {e:#}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("fake broker accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// What to do after a reply.
enum Next {
    Continue,
    Close,
}

async fn serve(mut stream: TcpStream, connection: u64, shared: &Shared) -> Result<()> {
    let _ = stream.set_nodelay(true);
    loop {
        let mut len = [0u8; 4];
        match stream.read_exact(&mut len).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let len = i32::from_be_bytes(len);
        let Ok(len) = usize::try_from(len) else {
            anyhow::bail!("negative request length {len}");
        };
        if len > MAX_REQUEST {
            anyhow::bail!("request length {len} above {MAX_REQUEST}");
        }
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await?;
        let body = Bytes::from(body);
        let (header, request) = match decode(connection, body, shared) {
            Some(decoded) => decoded,
            None => return Ok(()),
        };
        let reply = match request {
            Some(request) => {
                let reply = (shared.handler)(&header, request.clone());
                resolve_default(reply, shared, &header, &request)
            }
            // A version kafka-protocol cannot decode: only ApiVersions gets here (see decode).
            None => unsupported_api_versions(shared),
        };
        if let Next::Close = send_reply(&mut stream, &header, reply).await? {
            return Ok(());
        }
    }
}

/// Decodes and records one request. `None`: undecodable, close the connection. A `None`
/// request with a header: ApiVersions at a version newer than known, which Kafka answers
/// with UNSUPPORTED_VERSION in v0 format.
fn decode(
    connection: u64,
    mut body: Bytes,
    shared: &Shared,
) -> Option<(RequestHeader, Option<RequestKind>)> {
    let raw_key = (body.len() >= 2).then(|| i16::from_be_bytes([body[0], body[1]]));
    let raw_version = (body.len() >= 4).then(|| i16::from_be_bytes([body[2], body[3]]));
    let raw_correlation =
        (body.len() >= 8).then(|| i32::from_be_bytes([body[4], body[5], body[6], body[7]]));
    let record = |header: Option<&RequestHeader>, request: Option<RequestKind>| {
        lock(&shared.requests).push(RecordedRequest {
            connection,
            api_key: header.map_or(raw_key.unwrap_or(-1), |h| h.request_api_key),
            api_version: header.map_or(raw_version.unwrap_or(-1), |h| h.request_api_version),
            correlation_id: header.map_or(raw_correlation.unwrap_or(-1), |h| h.correlation_id),
            client_id: header.and_then(|h| h.client_id.as_ref().map(|c| c.as_str().to_string())),
            request,
        });
    };

    let api_key = raw_key.and_then(|k| ApiKey::try_from(k).ok());
    let too_new_api_versions = api_key == Some(ApiKey::ApiVersions)
        && raw_version.is_some_and(|v| v > ApiKey::ApiVersions.valid_versions().max);
    if too_new_api_versions {
        // The header of an unknown ApiVersions version may be flexible or not; Kafka reads only
        // key, version and correlation id, and so do we.
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(0)
            .with_correlation_id(raw_correlation.unwrap_or(-1));
        record(None, None);
        return Some((header, None));
    }
    let header = match decode_request_header_from_buffer(&mut body) {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!("fake broker: undecodable request header: {e:#}");
            record(None, None);
            return None;
        }
    };
    let Some(api_key) = api_key else {
        record(Some(&header), None);
        return None;
    };
    match RequestKind::decode(api_key, &mut body, header.request_api_version) {
        Ok(request) if !body.has_remaining() => {
            record(Some(&header), Some(request.clone()));
            Some((header, Some(request)))
        }
        Ok(_) => {
            tracing::debug!(
                "fake broker: {} trailing bytes after {api_key:?} v{}",
                body.remaining(),
                header.request_api_version
            );
            record(Some(&header), None);
            None
        }
        Err(e) => {
            tracing::debug!(
                "fake broker: undecodable {api_key:?} v{}: {e:#}",
                header.request_api_version
            );
            record(Some(&header), None);
            None
        }
    }
}

/// Replaces `Default`, also inside `Delay`, with the built-in answer.
fn resolve_default(
    reply: FakeReply,
    shared: &Shared,
    header: &RequestHeader,
    request: &RequestKind,
) -> FakeReply {
    match reply {
        FakeReply::Default => default_reply(shared, header, request),
        FakeReply::Delay(d, inner) => FakeReply::Delay(
            d,
            Box::new(resolve_default(*inner, shared, header, request)),
        ),
        other => other,
    }
}

fn unsupported_api_versions(shared: &Shared) -> FakeReply {
    FakeReply::Respond(ResponseKind::ApiVersions(
        ApiVersionsResponse::default()
            .with_error_code(UNSUPPORTED_VERSION)
            .with_api_keys(shared.options.api_versions.clone()),
    ))
}

async fn send_reply(
    stream: &mut TcpStream,
    header: &RequestHeader,
    mut reply: FakeReply,
) -> Result<Next> {
    loop {
        match reply {
            FakeReply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            FakeReply::Close => return Ok(Next::Close),
            FakeReply::NoReply => return Ok(Next::Continue),
            // Resolved before sending; kept total for safety.
            FakeReply::Default => return Ok(Next::Close),
            FakeReply::WriteRaw(bytes) => {
                stream.write_all(&bytes).await?;
                return Ok(Next::Continue);
            }
            FakeReply::RespondRaw(bytes) => {
                let mut frame = BytesMut::with_capacity(8 + bytes.len());
                frame.put_i32(i32::try_from(4 + bytes.len()).context("raw reply too long")?);
                frame.put_i32(header.correlation_id);
                frame.put_slice(&bytes);
                stream.write_all(&frame).await?;
                return Ok(Next::Continue);
            }
            FakeReply::Respond(response) => {
                let frame = encode_response(header, &response)?;
                stream.write_all(&frame).await?;
                return Ok(Next::Continue);
            }
        }
    }
}

fn encode_response(header: &RequestHeader, response: &ResponseKind) -> Result<Bytes> {
    let version = header.request_api_version;
    let api_key = ApiKey::try_from(header.request_api_key)
        .map_err(|()| anyhow::anyhow!("response to unknown API key {}", header.request_api_key))?;
    let mut body = BytesMut::new();
    body.put_i32(0); // length, patched below
    ResponseHeader::default()
        .with_correlation_id(header.correlation_id)
        .encode(&mut body, api_key.response_header_version(version))?;
    response
        .encode(&mut body, version)
        .with_context(|| format!("encoding the {api_key:?} v{version} response"))?;
    let len = i32::try_from(body.len() - 4).context("response too long")?;
    body[..4].copy_from_slice(&len.to_be_bytes());
    Ok(body.freeze())
}

fn default_reply(shared: &Shared, header: &RequestHeader, request: &RequestKind) -> FakeReply {
    match request {
        RequestKind::ApiVersions(_) => FakeReply::Respond(ResponseKind::ApiVersions(
            ApiVersionsResponse::default().with_api_keys(shared.options.api_versions.clone()),
        )),
        RequestKind::Metadata(req) => {
            FakeReply::Respond(ResponseKind::Metadata(default_metadata(shared, req)))
        }
        RequestKind::FindCoordinator(req) => FakeReply::Respond(ResponseKind::FindCoordinator(
            default_find_coordinator(shared, header.request_api_version, req),
        )),
        RequestKind::DescribeCluster(_) => {
            let node = BrokerId(shared.options.node_id);
            FakeReply::Respond(ResponseKind::DescribeCluster(
                DescribeClusterResponse::default()
                    .with_cluster_id(StrBytes::from_string(shared.options.cluster_id.clone()))
                    .with_controller_id(node)
                    .with_brokers(vec![DescribeClusterBroker::default()
                        .with_broker_id(node)
                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                        .with_port(i32::from(shared.port))]),
            ))
        }
        _ => {
            tracing::debug!(
                "fake broker: no default answer for API key {} v{}; closing",
                header.request_api_key,
                header.request_api_version
            );
            FakeReply::Close
        }
    }
}

/// This broker coordinates every group and transaction. Versions 0-3 answer one key in
/// top-level fields, 4+ a list; kafka-protocol refuses fields of the other layout.
fn default_find_coordinator(
    shared: &Shared,
    version: i16,
    request: &FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let node = BrokerId(shared.options.node_id);
    let host = StrBytes::from_static_str("127.0.0.1");
    let port = i32::from(shared.port);
    if version >= 4 {
        FindCoordinatorResponse::default().with_coordinators(
            request
                .coordinator_keys
                .iter()
                .map(|key| {
                    Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id(node)
                        .with_host(host.clone())
                        .with_port(port)
                })
                .collect(),
        )
    } else {
        FindCoordinatorResponse::default()
            .with_node_id(node)
            .with_host(host)
            .with_port(port)
    }
}

fn default_metadata(shared: &Shared, request: &MetadataRequest) -> MetadataResponse {
    let options = &shared.options;
    let node = BrokerId(options.node_id);
    let topic = |t: &FakeTopic| {
        let partitions = (0..t.partitions)
            .map(|p| {
                MetadataResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(node)
                    .with_leader_epoch(0)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node])
            })
            .collect();
        let mut out = MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
            .with_partitions(partitions);
        // The field's type is kafka-protocol's Uuid; parsing lets inference name it.
        if let Ok(id) = topic_id_for(&t.name).parse() {
            out.topic_id = id;
        }
        out
    };
    let topics = match &request.topics {
        None => options.topics.iter().map(topic).collect(),
        Some(wanted) => wanted
            .iter()
            .filter_map(|w| w.name.as_ref())
            .map(
                |name| match options.topics.iter().find(|t| t.name == name.0.as_str()) {
                    Some(t) => topic(t),
                    None => MetadataResponseTopic::default()
                        .with_name(Some(name.clone()))
                        .with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                },
            )
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(StrBytes::from_static_str("127.0.0.1"))
            .with_port(i32::from(shared.port))])
        .with_cluster_id(Some(StrBytes::from_string(options.cluster_id.clone())))
        .with_controller_id(node)
        .with_topics(topics)
}

/// A non-nil topic id derived from the name (the same for the same name within one build), in
/// UUID text form: what the default Metadata answer reports for a [`FakeTopic`].
pub fn topic_id_for(name: &str) -> String {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        name.hash(&mut h);
        h.finish()
    };
    let (a, b) = (half(1), half(2));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}
