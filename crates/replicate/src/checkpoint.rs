//! Per-partition checkpoints in a compacted internal topic on the target.
//!
//! A checkpoint says "every source offset below `source_next` is on the target or deliberately
//! skipped, and the target held `target_next` offsets when that was true". It is written only
//! for acknowledged positions, so it is never ahead of the data. It serves two things the
//! provenance header alone cannot:
//! - a partition that has not copied any record yet (a StartingPosition of LATEST resolved once
//!   must not be resolved again after a restart, or records produced in between are skipped);
//! - bounding the resume scan: only target records written after `target_next` are read.

use std::collections::HashMap;
use std::ops::ControlFlow;

use bytes::{Bytes, BytesMut};
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};
use kreplicate_wire::BrokerErrorKind;

use crate::provenance::ClusterFingerprint;

/// The internal topic (one partition, compacted) on the target.
pub(crate) const CHECKPOINT_TOPIC: &str = "__kreplicate-checkpoints";
const VERSION: u8 = 1;

/// Identifies one replicated partition across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CheckpointKey {
    pub replicator: String,
    pub source: ClusterFingerprint,
    pub topic: String,
    pub partition: i32,
}

/// A saved position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub source_next: i64,
    pub target_next: i64,
}

impl CheckpointKey {
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        out.extend_from_slice(&[VERSION]);
        for part in [self.replicator.as_bytes(), self.topic.as_bytes()] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&self.source.0.to_be_bytes());
        out.extend_from_slice(&self.partition.to_be_bytes());
        out.freeze()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut rest = bytes.strip_prefix(&[VERSION])?;
        let mut strings = Vec::new();
        for _ in 0..2 {
            let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            strings.push(String::from_utf8(rest.get(4..4 + len)?.to_vec()).ok()?);
            rest = &rest[4 + len..];
        }
        if rest.len() != 12 {
            return None;
        }
        Some(CheckpointKey {
            topic: strings.pop()?,
            replicator: strings.pop()?,
            source: ClusterFingerprint(u64::from_be_bytes(rest[..8].try_into().ok()?)),
            partition: i32::from_be_bytes(rest[8..].try_into().ok()?),
        })
    }
}

impl Checkpoint {
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(17);
        out.extend_from_slice(&[VERSION]);
        out.extend_from_slice(&self.source_next.to_be_bytes());
        out.extend_from_slice(&self.target_next.to_be_bytes());
        out.freeze()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(&[VERSION])?;
        if rest.len() != 16 {
            return None;
        }
        Some(Checkpoint {
            source_next: i64::from_be_bytes(rest[..8].try_into().ok()?),
            target_next: i64::from_be_bytes(rest[8..].try_into().ok()?),
        })
    }
}

/// Creates the checkpoint topic if it is missing.
pub(crate) async fn ensure_topic(target: &Client) -> Result<(), ClientError> {
    let mut topic = NewTopic::new(CHECKPOINT_TOPIC, 1, -1);
    topic
        .configs
        .insert("cleanup.policy".into(), "compact".into());
    let results = Admin::new(target.clone())
        .create_topics(&[topic], false)
        .await?;
    for (_, result) in results {
        if let Err(e) = result {
            if e.kind() != BrokerErrorKind::TopicAlreadyExists {
                // Already there is fine; anything else is not (the error names the topic).
                return Err(ClientError::Broker(e));
            }
        }
    }
    Ok(())
}

/// Reads every checkpoint of `replicator` (the last value per key wins).
pub(crate) async fn load_all(
    target: &Client,
    replicator: &str,
) -> Result<HashMap<CheckpointKey, Checkpoint>, ClientError> {
    let end = kreplicate_wire::fetcher::high_watermark(target, CHECKPOINT_TOPIC, 0).await?;
    let mut out = HashMap::new();
    scan_partition(
        target,
        CHECKPOINT_TOPIC,
        0,
        0,
        Some(end),
        IsolationLevel::ReadUncommitted,
        |r| {
            let key = r.key.as_deref().and_then(CheckpointKey::decode);
            if let Some(key) = key.filter(|k| k.replicator == replicator) {
                match r.value.as_deref().and_then(Checkpoint::decode) {
                    Some(cp) => out.insert(key, cp),
                    None => out.remove(&key),
                };
            }
            ControlFlow::Continue(())
        },
    )
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let key = CheckpointKey {
            replicator: "r1".into(),
            source: ClusterFingerprint::of("src"),
            topic: "orders".into(),
            partition: 3,
        };
        assert_eq!(CheckpointKey::decode(&key.encode()), Some(key.clone()));
        let cp = Checkpoint {
            source_next: 42,
            target_next: 17,
        };
        assert_eq!(Checkpoint::decode(&cp.encode()), Some(cp));
        let encoded = key.encode();
        for cut in 0..encoded.len() {
            assert_eq!(CheckpointKey::decode(&encoded[..cut]), None);
        }
        assert_eq!(Checkpoint::decode(&cp.encode()[..16]), None);
    }
}
