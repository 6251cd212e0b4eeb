//! The replication engine.
