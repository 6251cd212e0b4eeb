//! The replication engine.
pub mod config;
pub mod metrics;
pub mod cluster_client;
pub mod error;
pub mod options;
pub mod engine;
mod run;

pub use engine::Replicator;
pub use error::EngineError;
pub use options::{DataMode, EngineOptions};
