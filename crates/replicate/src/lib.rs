//! The replication engine.
pub mod config;
