//! `kreplicate-wire` — a native Kafka client, written for replication.
//!
//! What it offers, as modules:
//! - [`client`]: [`Client`](client::Client) connects to a cluster (bootstrap, metadata cache,
//!   leader routing, one retry policy); every other part sends through it.
//! - [`producer`]: an idempotent producer (acks=all) of records, or of whole batches passed
//!   through without decompression.
//! - [`fetcher`]: a read_committed fetcher shared by one reader per partition, which sends
//!   one Fetch request per broker and prefetches, and helpers to scan a partition or read its
//!   offsets.
//! - [`admin`], [`group`]: topics, configs, ACLs; consumer groups (listing, committed offsets,
//!   membership).
//!
//! At the crate root: how to connect ([`ConnectionConfig`] with [`TlsConfig`],
//! [`SaslCredentials`] or a [`CredentialsProvider`], which fails with a [`CredentialsError`])
//! and the errors a connection or a broker reports ([`ConnectionError`], [`BrokerError`]).
//! Records are [`kreplicate_codec`]'s types (depend on that crate to name them). Kafka's APIs
//! and error codes are this crate's own enums, by Kafka's names: [`Api`] (what
//! [`Admin::supports`](admin::Admin::supports) asks about) and [`BrokerErrorKind`] (what
//! [`BrokerError::kind`] answers); no `kafka-protocol` type is in any public signature.
//! Inside, not public: TCP/TLS (rustls with the ring
//! provider), SASL PLAIN / SCRAM / OAUTHBEARER, framing, request encoding through
//! `kafka-protocol`, ApiVersions negotiation, and pipelined connections.
//!
//! The record format itself (RecordBatch v2, legacy message sets, compression) is the sans-io
//! crate [`kreplicate_codec`]; this crate adds the network.
//!
//! # Example: produce, then fetch
//!
//! (The same code runs against a real broker in `examples/produce_fetch.rs`:
//! `cargo run -p kreplicate-wire --example produce_fetch -- 127.0.0.1:9092`.)
//!
//! ```no_run
//! use bytes::Bytes;
//! use kreplicate_wire::client::{Client, ClientConfig};
//! use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, SharedFetcher};
//! use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(ClientConfig::from_bootstrap_string("127.0.0.1:9092")?).await?;
//! let producer = Producer::new(client.clone(), ProducerConfig::default()).await?;
//! let delivery = producer
//!     .send("orders", 0, ProducerRecord {
//!         value: Some(Bytes::from_static(b"hello")),
//!         ..ProducerRecord::default()
//!     })
//!     .await?;
//! let offset = delivery.await?.offset; // acks=all, idempotent
//!
//! let fetcher = SharedFetcher::new(client, FetchConfig::default()); // read_committed
//! let position = FetchPosition { topic: "orders".into(), partition: 0, offset };
//! let (records, next) = fetcher.fetch(position).await?.records()?;
//! assert_eq!(records[0].value.as_deref(), Some(&b"hello"[..]));
//! assert_eq!(next, offset + 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `test-util` (off by default; for tests and `kreplicate-testkit`, no stability promise):
//!   makes public what only tests call — the connection, transport and SASL layers, admin and
//!   group requests the replicator does not send (`Admin::describe_cluster`,
//!   `Admin::list_offsets`, `GroupAdmin::describe_groups`, ...), the one-round `Fetcher` under
//!   `SharedFetcher`, and a few accessors.

#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rustdoc::broken_intra_doc_links
)]

/// Declares an item `pub` with the `test-util` feature and `pub(crate)` without: what this crate
/// uses itself and only tests call from outside (as tokio's `test-util` does).
macro_rules! test_util_pub {
    ($(#[$attr:meta])* pub $($item:tt)*) => {
        #[cfg(feature = "test-util")]
        $(#[$attr])*
        pub $($item)*
        #[cfg(not(feature = "test-util"))]
        #[allow(unreachable_pub, dead_code, unused_imports)] // pub fields, test-only parts
        $(#[$attr])*
        pub(crate) $($item)*
    };
}

pub mod admin;
pub mod client;
pub mod fetcher;
pub mod group;
pub mod producer;

// Internal layers. `test-util` (tests and kreplicate-testkit only; no stability promise) makes
// the connection, transport and SASL layers public.
mod connection;
mod frame;
mod lock;
mod protocol;
#[cfg(feature = "test-util")]
pub mod sasl;
#[cfg(not(feature = "test-util"))]
#[allow(unreachable_pub, unused_imports, dead_code)] // what only `test-util` shows
mod sasl;
#[cfg(feature = "test-util")]
pub mod transport;
#[cfg(not(feature = "test-util"))]
#[allow(unreachable_pub, unused_imports, dead_code)] // what only `test-util` shows
mod transport;

// What callers use from the internal layers.
#[cfg(feature = "test-util")]
pub use connection::BrokerConnection;
pub use connection::{
    AsyncCredentials, ConnectionConfig, ConnectionError, CredentialsError, CredentialsProvider,
    NotKafka,
};
#[cfg(feature = "test-util")]
pub use protocol::ApiVersionTable;
pub use protocol::{Api, BrokerError, BrokerErrorKind};
pub use sasl::{SaslCredentials, SaslMechanism};
pub use transport::TlsConfig;
#[cfg(feature = "test-util")]
pub use transport::TlsConnector;

// The README's example is compiled as a doc test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
