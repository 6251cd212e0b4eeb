//! `kreplicate-wire` — a native Kafka client, written for replication.
//!
//! What it offers, as modules:
//! - [`client`]: [`Client`](client::Client) connects to a cluster (bootstrap, metadata cache,
//!   leader routing, one retry policy); every other part sends through it.
//! - [`producer`]: an idempotent producer (acks=all) of records, or of whole batches passed
//!   through without decompression.
//! - [`fetcher`]: a read_committed fetcher, one that shares a Fetch request per broker, and
//!   helpers to scan a partition or read its offsets.
//! - [`admin`], [`group`]: topics, configs, ACLs, offsets; consumer groups (admin operations and
//!   membership).
//!
//! At the crate root: how to connect ([`ConnectionConfig`] with [`TlsConfig`],
//! [`SaslCredentials`] or a [`CredentialsProvider`]), the errors a connection or a broker
//! reports ([`ConnectionError`], [`BrokerError`]), and the record types of
//! [`kreplicate_codec`] that appear in this API. Inside, not public: TCP/TLS (rustls with the
//! ring provider), SASL PLAIN / SCRAM / OAUTHBEARER, framing, request encoding through
//! `kafka-protocol`, ApiVersions negotiation, and pipelined connections (a
//! [`BrokerConnection`] shows callers only its broker and the versions it negotiated).
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
//! use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
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
//! let fetcher = Fetcher::new(client, FetchConfig::default()); // read_committed
//! let position = FetchPosition { topic: "orders".into(), partition: 0, offset };
//! let (_, result) = fetcher.fetch(&[position]).await.remove(0);
//! let (records, next) = result?.records()?;
//! assert_eq!(records[0].value.as_deref(), Some(&b"hello"[..]));
//! assert_eq!(next, offset + 1);
//! # Ok(())
//! # }
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rustdoc::broken_intra_doc_links
)]

pub mod admin;
pub mod client;
pub mod fetcher;
pub mod group;
pub mod producer;

// Internal layers. `internals` (kreplicate-testkit's own tests only; no stability promise)
// makes the transport and SASL layers public.
mod connection;
mod frame;
mod protocol;
#[cfg(feature = "internals")]
pub mod sasl;
#[cfg(not(feature = "internals"))]
#[allow(unreachable_pub, unused_imports, dead_code)] // what only `internals` shows
mod sasl;
#[cfg(feature = "internals")]
pub mod transport;
#[cfg(not(feature = "internals"))]
#[allow(unreachable_pub, unused_imports, dead_code)] // what only `internals` shows
mod transport;

// What callers use from the internal layers, and the codec types in this crate's signatures.
pub use connection::{
    AsyncCredentials, BrokerConnection, ConnectionConfig, ConnectionError, Credentials,
    CredentialsProvider, NotKafka,
};
pub use kreplicate_codec::{Batch, CodecError, Compression, Header, Record, RecordBatch};
pub use protocol::{ApiVersionTable, BrokerError};
pub use sasl::{SaslCredentials, SaslMechanism};
pub use transport::{TlsConfig, TlsConnector};

// kafka-protocol's names for Kafka's APIs and error codes, kept in this API rather than
// wrapped: `BrokerError::kind` answers one of Kafka's ~120 error codes and callers match on
// them by name; a copy of that table here would have to follow every Kafka release by hand.
// Re-exported so that callers name the very version this crate uses.
pub use kafka_protocol::error::ResponseError;
pub use kafka_protocol::messages::ApiKey;

// The README's example is compiled as a doc test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
