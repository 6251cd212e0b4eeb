//! The provenance header every copied record carries.
//!
//! Value layout (version 1), compact and fixed-order:
//! `[1u8 version][origin: u64 BE][source: u64 BE][partition: zigzag varint][offset: zigzag varlong]`
//!
//! - `origin`: fingerprint of the cluster where the record was first produced. A replicator
//!   never copies a record back to its origin, so two replicators in opposite directions on
//!   IDENTICAL names do not loop (and neither do longer cycles).
//! - `source`, `partition`, `offset`: where this copy was read from (the previous hop). Exact
//!   resume and offset translation use them: the last copied record on a target partition says
//!   exactly which source offset comes next.
//!
//! A fingerprint is the first 8 bytes of SHA-256 of the cluster id: cluster ids are unique per
//! cluster, and 64 bits make an accidental match between two clusters negligible.

use bytes::{BufMut, Bytes, BytesMut};
use kreplicate_codec::varint::{put_varint, put_varlong, read_varint, read_varlong};
use kreplicate_codec::Header;
use sha2::{Digest, Sha256};

/// Header key of the provenance header.
pub const HEADER_KEY: &str = "__kreplicate";
const VERSION: u8 = 1;

/// A cluster's 64-bit fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterFingerprint(
    /// The fingerprint's value (public with `test-util`, for tests that make one up).
    #[cfg(feature = "test-util")]
    pub u64,
    /// The fingerprint's value.
    #[cfg(not(feature = "test-util"))]
    pub(crate) u64,
);

impl ClusterFingerprint {
    /// The fingerprint of the cluster with this `ApacheKafkaClusterId` (first 8 bytes of its SHA-256).
    pub fn of(cluster_id: &str) -> Self {
        let digest = Sha256::digest(cluster_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        ClusterFingerprint(u64::from_be_bytes(first))
    }
}

/// Where a copied record came from. In header mode ([`crate::DataMode::Header`]) every copy
/// carries it in a header keyed [`HEADER_KEY`] (public as `PROVENANCE_HEADER_KEY`): read it
/// with [`decode`](Self::decode) from that header's value, whatever Kafka client consumed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The cluster the record was first produced on.
    pub origin: ClusterFingerprint,
    /// The cluster it was copied from (the previous hop).
    pub source: ClusterFingerprint,
    /// The partition on `source`.
    pub partition: i32,
    /// Its offset on `source`.
    pub offset: i64,
}

/// A provenance header that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {HEADER_KEY} header: {0}")]
pub struct ProvenanceError(String);

impl Provenance {
    /// The header value.
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(1 + 8 + 8 + 5 + 10);
        self.encode_into(&mut out);
        out.freeze()
    }

    /// Appends the encoded value to `out` (a buffer reused across records).
    pub(crate) fn encode_into<B: BufMut>(&self, out: &mut B) {
        out.put_u8(VERSION);
        out.put_u64(self.origin.0);
        out.put_u64(self.source.0);
        put_varint(out, self.partition);
        put_varlong(out, self.offset);
    }

    /// Reads the header's value (`Err`: not a provenance header this version can read).
    pub fn decode(value: &[u8]) -> Result<Self, ProvenanceError> {
        let bad = |m: &str| ProvenanceError(m.to_string());
        match value.first() {
            Some(&VERSION) => {}
            Some(v) => return Err(ProvenanceError(format!("unknown version {v}"))),
            None => return Err(bad("empty value")),
        }
        let fixed = value.get(1..17).ok_or_else(|| bad("too short"))?;
        let origin = u64::from_be_bytes(fixed[..8].try_into().map_err(|_| bad("origin"))?);
        let source = u64::from_be_bytes(fixed[8..].try_into().map_err(|_| bad("source"))?);
        let mut pos = 17;
        let partition =
            read_varint(value, &mut pos).map_err(|e| bad(&format!("partition: {e}")))?;
        let offset = read_varlong(value, &mut pos).map_err(|e| bad(&format!("offset: {e}")))?;
        if pos != value.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Provenance {
            origin: ClusterFingerprint(origin),
            source: ClusterFingerprint(source),
            partition,
            offset,
        })
    }

    test_util_pub! {
        /// The header kreplicate adds to a copy.
        pub fn header(&self) -> Header {
            Header::new(
                Bytes::from_static(HEADER_KEY.as_bytes()),
                Some(self.encode()),
            )
        }
    }

    test_util_pub! {
        /// The provenance header among `headers`, if any (the last one wins, as it is the newest
        /// hop's; older ones are stripped when copying, so there is at most one).
        pub fn find(headers: &[Header]) -> Option<Result<Provenance, ProvenanceError>> {
            headers
                .iter()
                .rev()
                .find(|h| h.key.as_ref() == HEADER_KEY.as_bytes())
                .map(|h| match &h.value {
                    Some(v) => Provenance::decode(v),
                    None => Err(ProvenanceError("null value".into())),
                })
        }
    }
}

test_util_pub! {
    /// True for our header (to strip it when a record is copied onwards).
    pub fn is_provenance(header: &Header) -> bool {
        header.key.as_ref() == HEADER_KEY.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            origin: ClusterFingerprint::of("clusterA"),
            source: ClusterFingerprint::of("clusterB"),
            partition: 7,
            offset: 123_456_789,
        }
    }

    #[test]
    fn round_trips_and_is_compact() {
        let p = sample();
        let bytes = p.encode();
        assert!(bytes.len() <= 1 + 16 + 1 + 4, "{} bytes", bytes.len());
        assert_eq!(Provenance::decode(&bytes), Ok(p));
    }

    #[test]
    fn fingerprints_differ_per_cluster_and_are_stable() {
        assert_ne!(ClusterFingerprint::of("a"), ClusterFingerprint::of("b"));
        assert_eq!(ClusterFingerprint::of("a"), ClusterFingerprint::of("a"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let good = sample().encode();
        for cut in 0..good.len() {
            assert!(Provenance::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = good.to_vec();
        extra.push(0);
        assert!(Provenance::decode(&extra).is_err());
        let mut wrong_version = good.to_vec();
        wrong_version[0] = 9;
        assert!(Provenance::decode(&wrong_version)
            .unwrap_err()
            .to_string()
            .contains("unknown version 9"));
    }

    #[test]
    fn finds_the_header_among_others() {
        let headers = vec![
            Header::new("h", Some(Bytes::from_static(b"x"))),
            sample().header(),
        ];
        assert_eq!(Provenance::find(&headers), Some(Ok(sample())));
        assert_eq!(Provenance::find(&headers[..1]), None);
    }
}
