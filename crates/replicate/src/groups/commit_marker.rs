//! The commit metadata that marks an offset commit as written by a replicator.
//!
//! A commit kreplicate writes on a target carries `kreplicate:<replicator>:<source fingerprint>`
//! as its metadata. A replicator syncing in the other direction (ENHANCED) reads that cluster as
//! its source and never syncs a marked commit back: the commit is a copy of a position, not a
//! consumer's progress, so syncing it back could only make offsets ping-pong. Brokers that do
//! not store commit metadata (Tansu 0.6 returns null) are covered by the commit ledger
//! ([`super::commit_ledger`]), which recognises our commits by value.

use crate::provenance::ClusterFingerprint;

/// Every marker starts with this.
pub(crate) const MARKER_PREFIX: &str = "kreplicate:";

/// The metadata of commits replicator `replicator` writes for positions read on the cluster
/// with fingerprint `source`.
pub(crate) fn commit_marker(replicator: &str, source: ClusterFingerprint) -> String {
    format!("{MARKER_PREFIX}{replicator}:{:016x}", source.0)
}

/// Whether commit metadata marks a commit written by a replicator (any kreplicate).
pub(crate) fn is_marked(metadata: Option<&str>) -> bool {
    metadata.is_some_and(|m| m.starts_with(MARKER_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_names_replicator_and_source_and_is_recognised() {
        let marker = commit_marker("east-to-west", ClusterFingerprint(0x0123_4567_89ab_cdef));
        assert_eq!(marker, "kreplicate:east-to-west:0123456789abcdef");
        assert!(is_marked(Some(&marker)));
        assert!(!is_marked(None));
        assert!(!is_marked(Some("")));
        assert!(!is_marked(Some("consumer metadata kreplicate:")));
    }
}
