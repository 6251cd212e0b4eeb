//! The replication engine.
pub mod config;
pub mod metrics;
