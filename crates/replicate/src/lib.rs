//! The replication engine.
#![warn(
    unreachable_pub,
    missing_debug_implementations,
    missing_docs,
    rustdoc::broken_intra_doc_links
)]
#[cfg(feature = "aws")]
pub mod aws;
mod capabilities;
pub mod cluster_client;
pub mod config;
pub mod engine;
pub mod error;
pub mod groups;
mod lock;
pub mod metrics;
pub mod options;
mod run;

pub use engine::Replicator;
pub use error::EngineError;
pub use options::{DataMode, EngineOptions, WorkerGroupOptions};
mod checkpoint;
mod copier;
mod producer_registry;
pub mod provenance;
mod refusal;
mod resume;
pub mod topics;
pub mod verify;
mod workers;
