//! The replication engine.
#[cfg(feature = "aws")]
pub mod aws;
pub mod capabilities;
pub mod cluster_client;
pub mod config;
pub mod engine;
pub mod error;
pub mod groups;
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
pub mod workers;
