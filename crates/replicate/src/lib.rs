//! The kreplicate engine as a library: copies Kafka topics, topic configs, ACLs and
//! consumer-group offsets from one cluster to another, exactly once, the way Amazon MSK
//! Replicator does (its CreateReplicator JSON is accepted as is, see
//! [`CreateReplicatorRequest`]).
//!
//! Build a [`Replicator`] with [`Replicator::builder`] (or from the JSON with
//! [`CreateReplicatorRequest::parse`], [`CreateReplicatorRequest::validate`] and
//! [`Replicator::start`]), watch it with
//! [`Replicator::status`] and its Prometheus metrics ([`ReplicatorMetrics::register`]), ask
//! it where a source offset landed with [`Replicator::translate`], and stop it with a
//! [`ShutdownHandle`].
//!
//! ```no_run
//! use kreplicate_replicate::{Cluster, Replicator, StartingPosition, TopicNaming};
//!
//! # async fn example() -> Result<(), kreplicate_replicate::EngineError> {
//! let mut replicator = Replicator::builder("orders-to-dr")
//!     .source(Cluster::new("source-cluster-id", "source-broker:9092"))
//!     .target(Cluster::new("target-cluster-id", "target-broker:9092").tls())
//!     .topics(["orders.*"])
//!     .naming(TopicNaming::Identical)
//!     .starting_position(StartingPosition::Earliest)
//!     .start()
//!     .await?;
//! let stop = replicator.shutdown_handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     stop.shutdown();
//! });
//! for p in replicator.status().partitions {
//!     println!("{}-{}: {:?}, lag {:?}", p.topic, p.partition, p.state, p.lag);
//! }
//! replicator.wait().await
//! # }
//! ```
#![warn(
    unreachable_pub,
    missing_debug_implementations,
    missing_docs,
    rustdoc::broken_intra_doc_links
)]
/// Public with the `test-util` feature (what only tests call), crate-private without it.
macro_rules! test_util_pub {
    ($(#[$attr:meta])* pub $($item:tt)*) => {
        #[cfg(feature = "test-util")]
        $(#[$attr])*
        pub $($item)*
        #[cfg(not(feature = "test-util"))]
        #[allow(unreachable_pub, dead_code)]
        $(#[$attr])*
        pub(crate) $($item)*
    };
}

#[cfg(feature = "aws")]
mod aws;
mod capabilities;
mod cluster;
mod cluster_client;
mod config;
mod engine;
mod error;
mod groups;
mod lock;
mod metrics;
mod options;
mod plan;
mod replicator_builder;
mod run;
mod shutdown;
mod status;
mod status_board;

// The API, deliberately: everything public is re-exported here; the modules are private.

// Running a replicator: the builder and its clusters, or the CreateReplicator JSON.
pub use cluster::Cluster;
pub use config::{
    ClusterConfig, Compression, ConfigError, CreateReplicatorRequest, Notice, OffsetSyncMode,
    ReplicatorConfig, ScramMechanism, Severity, StartingPosition, TopicNaming,
};
// Only with `test-util`: how a cluster's credentials and TLS are held, for tests that build
// or change a `ClusterConfig` by hand, and the MSK booleans.
#[cfg(feature = "test-util")]
pub use config::{ClusterAuth, ProvidedCredentials, ReplicationFlags, SecretRef, TlsSettings};
pub use engine::Replicator;
pub use error::EngineError;
pub use kreplicate_wire::{CredentialsError, CredentialsProvider, SaslCredentials, SaslMechanism};
#[cfg(feature = "test-util")]
pub use options::PanicHook;
pub use options::{DataMode, EngineOptions, WorkerGroupOptions};
pub use replicator_builder::{BuildError, ReplicatorBuilder};
pub use shutdown::ShutdownHandle;

// Watching it.
pub use metrics::ReplicatorMetrics;
pub use status::{
    ClusterStatus, ConsumerLag, GroupOffset, GroupStatus, MissingApi, PartitionState,
    PartitionStatus, Status, WorkerMember, WorkerStatus,
};

// Checking before and after: what `validate`, `plan` and `verify` report.
pub use plan::{plan, Plan};
pub use validation::{validate, Validation};
pub use verify::VerifyFrom;
pub use verify_report::{verify, VerifyOptions, VerifyReport};
// Only with `test-util`: the verdicts themselves, for tests that assert on their fields.
#[cfg(feature = "test-util")]
pub use verify::{verify_replicator, verify_replicator_from, PartitionVerdict};

// The provenance header a copy carries in header mode (`DataMode::Header`).
pub use cluster_client::Role as ClusterRole;
pub use provenance::{
    ClusterFingerprint, Provenance, ProvenanceError, HEADER_KEY as PROVENANCE_HEADER_KEY,
};

// Only with `test-util` (what tests call): one cluster's client, as the engine builds it
// (secrets read, MSK brokers looked up), and telling a provenance header by its key.
#[cfg(all(feature = "aws", feature = "test-util"))]
pub use aws::secrets_manager::set_cache_ttl as set_secret_cache_ttl;
#[cfg(feature = "test-util")]
pub use cluster_client::{client_config, connect};
#[cfg(feature = "test-util")]
pub use provenance::is_provenance;

mod checkpoint;
mod copier;
mod producer_registry;
mod provenance;
mod refusal;
mod resume;
mod table;
mod topics;
mod validation;
mod verify;
mod verify_report;
mod workers;
