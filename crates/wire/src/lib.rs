//! `kreplicate-wire` — a native Kafka client, written for replication.
//!
//! Layers, bottom to top (each has its own error type):
//! - [`codec`]: the RecordBatch v2 codec (sans-io, zero-copy over [`bytes::Bytes`]), plus legacy
//!   v0/v1 message sets. Batches can be passed through without decompression.
//! - [`frame`], [`protocol`]: length-prefixed framing, request/response encoding via the
//!   `kafka-protocol` crate, ApiVersions negotiation, broker error codes.
//! - [`transport`], [`sasl`], [`connection`]: TCP / TLS (rustls with the ring provider), SASL
//!   PLAIN and SCRAM, and a pipelined connection matching responses by correlation id.
//! - [`client`]: bootstrap, metadata cache, leader routing, retry policy.
//! - [`producer`], [`fetcher`], [`admin`], [`group`]: what applications use.
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

pub mod admin;
pub mod client;
pub mod connection;
pub mod fetcher;
pub mod frame;
pub mod group;
pub mod producer;
pub mod protocol;
pub mod sasl;
pub mod transport;
