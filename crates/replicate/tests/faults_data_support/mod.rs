//! Support for `faults_data.rs`: a fake source cluster whose log the test edits while the
//! replicator reads it (see [`fake_source`]).

pub mod fake_source;
