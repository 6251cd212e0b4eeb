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

pub mod admin;
pub mod client;
pub mod codec;
pub mod connection;
pub mod fetcher;
pub mod frame;
pub mod group;
pub mod producer;
pub mod protocol;
pub mod sasl;
pub mod transport;
