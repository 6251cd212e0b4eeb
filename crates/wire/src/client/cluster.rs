//! The client for one Kafka cluster: bootstrap, connection pool, metadata cache, leader and
//! coordinator routing.
//!
//! Connections are keyed by broker *address*, not node id: node ids are only unique within one
//! cluster (every Tansu broker is node 111), and a replicator talks to two clusters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{
    metadata_request::MetadataRequestTopic, FindCoordinatorRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::metadata::{ClusterMetadata, TopicMetadata};
use super::retry::RetryPolicy;
use super::{Error, Result};
use crate::connection::{BrokerConnection, ConnectionConfig, ConnectionError};
use crate::lock::lock;
use crate::protocol::BrokerError;

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// "host:port" addresses tried in order until one answers.
    pub bootstrap_servers: Vec<String>,
    /// How to connect to each broker (TLS, SASL, timeouts).
    pub connection: ConnectionConfig,
    /// How requests are retried.
    pub retry: RetryPolicy,
    /// Cached metadata older than this is refreshed on next use.
    pub metadata_max_age: Duration,
}

impl ClientConfig {
    /// A configuration with these bootstrap servers (`host:port`) and defaults.
    pub fn new(bootstrap_servers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        ClientConfig {
            bootstrap_servers: bootstrap_servers.into_iter().map(Into::into).collect(),
            connection: ConnectionConfig::default(),
            retry: RetryPolicy::default(),
            metadata_max_age: Duration::from_secs(300),
        }
    }

    /// Parses a comma-separated bootstrap string ("h1:9092,h2:9092").
    pub fn from_bootstrap_string(bootstrap: &str) -> Result<Self> {
        let servers: Vec<String> = bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if servers.is_empty() {
            return Err(Error::Config("the bootstrap server list is empty".into()));
        }
        for s in &servers {
            match s.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => {
                    return Err(Error::Config(format!(
                        "bootstrap server '{s}' is not of the form host:port"
                    )))
                }
            }
        }
        Ok(Self::new(servers))
    }
}

#[derive(Default)]
struct Cache {
    metadata: ClusterMetadata,
    refreshed: Option<Instant>,
    coordinators: HashMap<String, String>,
}

/// One slot per broker address, for the client's life: at most one live connection each.
#[derive(Default)]
struct Slot {
    /// Held while connecting, so concurrent callers share one connect.
    connecting: tokio::sync::Mutex<()>,
    current: Mutex<Option<Arc<BrokerConnection>>>,
}

impl Slot {
    fn usable(&self) -> Option<Arc<BrokerConnection>> {
        lock(&self.current)
            .as_ref()
            .filter(|c| c.is_usable())
            .cloned()
    }
}

struct Inner {
    config: ClientConfig,
    cache: Mutex<Cache>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// The largest `throttle_time_ms` a broker of this cluster answered since it was last taken.
    throttle_ms: std::sync::atomic::AtomicU64,
}

/// A cheap-to-clone handle on one cluster.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bootstrap", &self.inner.config.bootstrap_servers)
            .finish()
    }
}

impl Client {
    /// Connects to the cluster: reaches a bootstrap server and loads the broker list.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        if config.bootstrap_servers.is_empty() {
            return Err(Error::Config("no bootstrap servers given".into()));
        }
        let client = Client {
            inner: Arc::new(Inner {
                config,
                cache: Mutex::new(Cache::default()),
                slots: Mutex::new(HashMap::new()),
                throttle_ms: std::sync::atomic::AtomicU64::new(0),
            }),
        };
        client.refresh_metadata(Some(&[])).await?;
        Ok(client)
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    test_util_pub! {
        /// The retry policy of every request.
        pub fn retry_policy(&self) -> &RetryPolicy {
            &self.inner.config.retry
        }
    }

    /// Records a broker's `throttle_time_ms` (for metrics; the wait itself is the
    /// connection's, see [`BrokerConnection::throttle`]).
    pub(crate) fn note_throttle(&self, throttle_time_ms: i32) {
        if throttle_time_ms > 0 {
            self.inner.throttle_ms.fetch_max(
                throttle_time_ms as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }

    /// The largest throttle time (ms) this cluster's brokers asked for since the last call
    /// (MSK `ThrottleTime`); resets it.
    pub fn take_throttle_ms(&self) -> u64 {
        self.inner
            .throttle_ms
            .swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// The cluster id the brokers report (Metadata v2+).
    pub fn cluster_id(&self) -> Option<String> {
        lock(&self.inner.cache).metadata.cluster_id.clone()
    }

    test_util_pub! {
        /// A connection to `addr`, reusing a live one or opening (and authenticating) a new one.
        /// A broken connection is dropped and replaced here.
        ///
        /// At most one connection per address is live: a connection leaves its slot only broken,
        /// after every request in flight on it failed (rskafka's rule: a poisoned connection fails
        /// all its requests). So a partition's in-flight produce requests, sent in order, never
        /// span two connections, and none can overtake another (Kafka's Java client: one
        /// connection per node, and `NetworkClient.disconnect` cancels all its in-flight requests).
        pub async fn connection(&self, addr: &str) -> Result<Arc<BrokerConnection>> {
            let slot = lock(&self.inner.slots)
                .entry(addr.to_string())
                .or_default()
                .clone();
            if let Some(conn) = slot.usable() {
                return Ok(conn);
            }
            let _connecting = slot.connecting.lock().await;
            if let Some(conn) = slot.usable() {
                return Ok(conn);
            }
            if let Some(old) = lock(&slot.current).take() {
                // Unusable but maybe not broken (its SASL session is about to end): fail what is
                // in flight on it before anything is sent on its replacement.
                old.close("replaced: its SASL session is about to expire");
            }
            let conn =
                Arc::new(BrokerConnection::connect(addr, &self.inner.config.connection).await?);
            *lock(&slot.current) = Some(conn.clone());
            Ok(conn)
        }
    }

    test_util_pub! {
        /// Closes the pooled connection to `addr`, so the next use opens a new one (e.g. with
        /// rotated credentials). Every request in flight on it fails, as on a broken connection.
        ///
        /// The slot itself stays: removing it would let a caller already waiting on it open a
        /// second live connection to the same broker, while later callers open a third.
        pub fn forget_connection(&self, addr: &str) {
            let slot = lock(&self.inner.slots).get(addr).cloned();
            if let Some(conn) = slot.as_ref().and_then(|s| lock(&s.current).clone()) {
                conn.close("closed by the client");
            }
        }
    }

    /// A connection to any broker: known brokers first, then the bootstrap list.
    pub(crate) async fn any_connection(&self) -> Result<Arc<BrokerConnection>> {
        let mut candidates: Vec<String> = lock(&self.inner.cache)
            .metadata
            .brokers
            .values()
            .cloned()
            .collect();
        for s in &self.inner.config.bootstrap_servers {
            if !candidates.contains(s) {
                candidates.push(s.clone());
            }
        }
        let mut errors = Vec::new();
        for addr in &candidates {
            match self.connection(addr).await {
                Ok(conn) => return Ok(conn),
                // Auth and TLS failures will not get better on another broker of the same
                // cluster; report them as they are rather than as "no broker reachable".
                Err(Error::Connection(e)) if !e.is_retriable() => return Err(e.into()),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(Error::Bootstrap {
            servers: self.inner.config.bootstrap_servers.join(","),
            errors: errors.join("; "),
        })
    }

    /// A connection to node `node_id`.
    pub(crate) async fn broker_connection(&self, node_id: i32) -> Result<Arc<BrokerConnection>> {
        let addr = self.broker_address(node_id).await?;
        self.connection(&addr).await
    }

    async fn broker_address(&self, node_id: i32) -> Result<String> {
        if let Some(addr) = lock(&self.inner.cache).metadata.brokers.get(&node_id) {
            return Ok(addr.clone());
        }
        self.refresh_metadata(Some(&[])).await?;
        lock(&self.inner.cache)
            .metadata
            .brokers
            .get(&node_id)
            .cloned()
            .ok_or_else(|| Error::Protocol {
                api: "Metadata",
                broker: "cluster".into(),
                message: format!("node {node_id} is not in the broker list"),
            })
    }

    /// Fetches metadata for `topics` (`None` = all topics, `Some(&[])` = brokers only) and
    /// merges it into the cache.
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata> {
        let requested: Option<Vec<MetadataRequestTopic>> = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                })
                .collect()
        });
        let request = MetadataRequest::default()
            .with_topics(requested)
            // Metadata must never create topics as a side effect.
            .with_allow_auto_topic_creation(false);
        // A connection can close under a request that was sent on it in time: its SASL session
        // ended (KIP-368: the broker closes a connection whose session has expired) or the
        // broker went away. Metadata changes nothing, so it is asked once more on a fresh
        // connection, as Kafka's clients do, before the caller sees the error.
        let mut attempts_left = 2;
        let response = loop {
            attempts_left -= 1;
            let conn = self.any_connection().await?;
            match conn.request(&request).await {
                Ok(r) => break r,
                Err(e) => {
                    // The failed request broke its connection (the pool replaces it on next
                    // use); closing by address here could close a healthy successor instead.
                    // Not after a timeout: the caller's deadline already covers one.
                    let closed_under_it = matches!(
                        e,
                        ConnectionError::Closed { .. } | ConnectionError::Io { .. }
                    );
                    if attempts_left == 0 || !closed_under_it {
                        return Err(e.into());
                    }
                }
            }
        };
        let fresh = ClusterMetadata::from_response(response);
        let mut cache = lock(&self.inner.cache);
        if !fresh.brokers.is_empty() {
            cache.metadata.brokers = fresh.brokers.clone();
        }
        if fresh.cluster_id.is_some() {
            cache.metadata.cluster_id = fresh.cluster_id.clone();
        }
        cache.metadata.controller = fresh.controller.or(cache.metadata.controller);
        match topics {
            None => {
                cache.metadata.topics = fresh.topics.clone();
                cache.refreshed = Some(Instant::now());
            }
            Some(_) => {
                for (name, t) in &fresh.topics {
                    cache.metadata.topics.insert(name.clone(), t.clone());
                }
                for name in fresh.topic_errors.keys() {
                    cache.metadata.topics.remove(name);
                }
            }
        }
        Ok(fresh)
    }

    /// Metadata for all topics, fresh from the cluster.
    pub async fn metadata(&self) -> Result<ClusterMetadata> {
        self.refresh_metadata(None).await
    }

    test_util_pub! {
        /// A topic's metadata: from the cache if present and fresh enough, else from the cluster.
        pub async fn topic(&self, topic: &str) -> Result<TopicMetadata> {
            {
                let cache = lock(&self.inner.cache);
                let fresh = cache
                    .refreshed
                    .is_some_and(|t| t.elapsed() < self.inner.config.metadata_max_age);
                if let Some(t) = cache.metadata.topics.get(topic) {
                    if fresh || cache.refreshed.is_none() {
                        return Ok(t.clone());
                    }
                }
            }
            let fresh = self.refresh_metadata(Some(&[topic.to_string()])).await?;
            if let Some(t) = fresh.topics.get(topic) {
                return Ok(t.clone());
            }
            match fresh.topic_errors.get(topic) {
                Some(3) | None => Err(Error::UnknownTopic {
                    topic: topic.to_string(),
                }),
                Some(&code) => Err(BrokerError::new("Metadata", code).with_topic(topic).into()),
            }
        }
    }

    /// Forgets what is cached about `topic`, so the next use asks the cluster.
    pub(crate) fn invalidate_topic(&self, topic: &str) {
        lock(&self.inner.cache).metadata.topics.remove(topic);
    }

    /// The leader of `topic`-`partition` and a connection to it.
    pub(crate) async fn leader(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<BrokerConnection>> {
        let meta = self.topic(topic).await?;
        let Some(p) = meta.partition(partition) else {
            self.invalidate_topic(topic);
            return Err(Error::UnknownPartition {
                topic: topic.to_string(),
                partition,
                partitions: meta.partitions.len(),
            });
        };
        if p.leader < 0 {
            self.invalidate_topic(topic);
            return Err(BrokerError::new("Metadata", 5) // LEADER_NOT_AVAILABLE
                .with_partition(topic, partition)
                .into());
        }
        self.broker_connection(p.leader).await
    }

    test_util_pub! {
        /// The node id of the leader of `topic`-`partition`, from cached metadata.
        pub async fn leader_id(&self, topic: &str, partition: i32) -> Result<i32> {
            let meta = self.topic(topic).await?;
            meta.partition(partition)
                .map(|p| p.leader)
                .ok_or_else(|| Error::UnknownPartition {
                    topic: topic.to_string(),
                    partition,
                    partitions: meta.partitions.len(),
                })
        }
    }

    test_util_pub! {
        /// A connection to the controller (for CreateTopics and friends); any broker if the
        /// cluster does not report one (KRaft brokers forward to the controller themselves).
        pub async fn controller_connection(&self) -> Result<Arc<BrokerConnection>> {
            let controller = lock(&self.inner.cache).metadata.controller;
            match controller {
                Some(id) => match self.broker_connection(id).await {
                    Ok(c) => Ok(c),
                    Err(_) => self.any_connection().await,
                },
                None => self.any_connection().await,
            }
        }
    }

    /// A connection to the group coordinator of `group` (cached until invalidated).
    pub(crate) async fn coordinator(&self, group: &str) -> Result<Arc<BrokerConnection>> {
        let cached = lock(&self.inner.cache).coordinators.get(group).cloned();
        if let Some(addr) = cached {
            return self.connection(&addr).await;
        }
        let conn = self.any_connection().await?;
        let (version, response) = conn
            .request_with(|v| {
                let r = FindCoordinatorRequest::default().with_key_type(0);
                if v >= 4 {
                    r.with_coordinator_keys(vec![StrBytes::from_string(group.to_string())])
                } else {
                    r.with_key(StrBytes::from_string(group.to_string()))
                }
            })
            .await?;
        let (code, message, host, port) = if version >= 4 {
            let c = response.coordinators.into_iter().next().ok_or_else(|| {
                Error::protocol("FindCoordinator", conn.broker(), "no coordinator returned")
            })?;
            (c.error_code, c.error_message, c.host, c.port)
        } else {
            (
                response.error_code,
                response.error_message,
                response.host,
                response.port,
            )
        };
        if let Some(e) = BrokerError::from_code("FindCoordinator", code) {
            return Err(e
                .with_broker(conn.broker())
                .with_message(message.map(|m| format!("group '{group}': {m}")))
                .into());
        }
        let addr = format!("{}:{}", host.as_str(), port);
        lock(&self.inner.cache)
            .coordinators
            .insert(group.to_string(), addr.clone());
        self.connection(&addr).await
    }

    /// Forgets the cached coordinator of `group` (after NOT_COORDINATOR and the like).
    pub(crate) fn invalidate_coordinator(&self, group: &str) {
        lock(&self.inner.cache).coordinators.remove(group);
    }

    test_util_pub! {
        /// Runs `op` under the client's retry policy, invalidating what `topic` routing caches
        /// when an error calls for it.
        pub async fn retry<T, Fut>(&self, topic: Option<&str>, op: impl FnMut() -> Fut) -> Result<T>
        where
            Fut: std::future::Future<Output = Result<T>>,
        {
            self.inner
                .config
                .retry
                .run(op, |e: &Error| {
                    tracing::debug!(error = %e, "retrying");
                    if e.invalidates_metadata() {
                        if let Some(t) = topic {
                            self.invalidate_topic(t);
                        }
                    }
                })
                .await
        }
    }
}
