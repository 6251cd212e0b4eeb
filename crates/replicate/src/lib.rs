//! The kreplicate engine as a library: copies Kafka topics, topic configs, ACLs and
//! consumer-group offsets from one cluster to another, exactly once, the way Amazon MSK
//! Replicator does (its CreateReplicator JSON is accepted as is, see [`config`]).
//!
//! Build a [`Replicator`] with [`Replicator::builder`] (or from the JSON with
//! [`config::parse_create_replicator_request`] and [`Replicator::start`]), watch it with
//! [`Replicator::status`] and its Prometheus metrics ([`ReplicatorMetrics::register`]), ask
//! it where a source offset landed with [`Replicator::translate`], and stop it with a
//! [`ShutdownHandle`].
//!
//! ```no_run
//! use kreplicate_replicate::{Cluster, Replicator, StartingPosition, TopicNaming};
//!
//! # async fn example() -> Result<(), kreplicate_replicate::EngineError> {
//! let replicator = Replicator::builder("orders-to-dr")
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
//! replicator.run().await
//! # }
//! ```
#![warn(
    unreachable_pub,
    missing_debug_implementations,
    missing_docs,
    rustdoc::broken_intra_doc_links
)]
#[cfg(feature = "aws")]
pub mod aws;
mod capabilities;
mod cluster;
mod cluster_client;
pub mod config;
mod engine;
mod error;
mod groups;
mod lock;
mod metrics;
mod options;
mod replicator_builder;
mod run;
mod shutdown;
mod status;
mod status_board;

pub use cluster::Cluster;
pub use cluster_client::{client_config, connect, Role};
pub use config::{Compression, OffsetSyncMode, ScramMechanism, StartingPosition, TopicNaming};
pub use engine::Replicator;
pub use error::{AwsNeed, EngineError};
pub use groups::planned::{plan_groups, PlannedGroup, PlannedPosition, Translation};
pub use kreplicate_wire::CredentialsProvider;
pub use kreplicate_wire::{SaslCredentials, SaslMechanism};
pub use metrics::ReplicatorMetrics;
pub use options::{DataMode, EngineOptions, PanicHook, WorkerGroupOptions};
pub use replicator_builder::{BuildError, ReplicatorBuilder};
pub use shutdown::ShutdownHandle;
pub use status::{
    ClusterRole, ClusterStatus, ConsumerLag, GroupOffset, GroupStatus, MissingApi, PartitionState,
    PartitionStatus, Status, WorkerMember, WorkerStatus,
};
pub use verify::{
    verify_groups, verify_replicator, verify_replicator_from, GroupPositionVerdict,
    PartitionVerdict, VerifyError, VerifyFrom,
};
mod checkpoint;
mod copier;
mod producer_registry;
pub mod provenance;
mod refusal;
mod resume;
pub mod topics;
mod verify;
mod workers;
