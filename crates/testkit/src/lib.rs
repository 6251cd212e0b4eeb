//! Test support for kreplicate. Nothing here ships in the product.
//!
//! - [`tansu`]: real Tansu brokers on free 127.0.0.1 ports, killed by pid on drop.
//! - [`certs`]: a private CA and leaf certificates generated at test time.
//! - [`scram_server`], [`front`]: a TLS + SASL/SCRAM-terminating front that forwards to a broker
//!   (Tansu 0.6 has neither working TLS nor a SCRAM user store).
//! - [`fault_proxy`]: a TCP proxy that drops, stalls, slows or half-opens connections on demand.
//! - [`fake_broker`]: a scriptable broker for APIs and errors a real broker cannot give on demand.
//! - [`mock_cluster`]: librdkafka's mock cluster, a second broker implementation with several
//!   brokers, moving leaders and brokers that go down.
//! - [`strict`]: a layer in front of Tansu that enforces Apache Kafka's broker-side rules
//!   (sizes, keys, timestamps, sequences, authorization, config policies).
//! - [`python`]: runs the confluent-kafka helper scripts (an independent librdkafka peer).
//! - [`test_child`]: a test binary re-executed as a child process, to kill and restart it.
//! - [`continuous_load`]: a steady produce load on a source topic while a test runs.
//! - [`stored_records`]: what a broker stores (records, end offsets, last writers), for asserts.
//! - [`registered_producers`]: the producer ids a kreplicate process logged, to name writers.

pub mod certs;
pub mod continuous_load;
pub mod fake_broker;
pub mod fake_msk_api;
pub mod fault_proxy;
pub mod front;
pub mod lock;
pub mod mock_cluster;
pub mod msk;
pub mod ports;
pub mod python;
pub mod registered_producers;
pub mod scram_server;
pub mod secrets_manager;
pub mod stored_records;
pub mod strict;
pub mod tansu;
pub mod test_child;
