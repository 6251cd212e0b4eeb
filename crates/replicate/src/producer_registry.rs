//! The producer ids replicators write with, in a compacted internal topic on each target
//! cluster: batch mode's provenance (see docs/guarantees.md, "Batch mode").
//!
//! A replicator writes an entry for each producer id it is given (at start and after a
//! partition reset that needed a fresh one) and waits for it to be acknowledged before it
//! produces anything with that id. So any batch on a cluster whose producer id belongs to a
//! replicator has its entry in that cluster's registry by the time the batch can be read, and
//! producer ids are never reused within a cluster (InitProducerId hands out increasing ids;
//! docs/test-brokers.md says what the test brokers do). Two uses:
//! - loop prevention: the opposite replicator, whose source is this cluster, skips every batch
//!   whose producer id is registered by a replicator whose source is its own target, by the
//!   batch header alone (no decompression);
//! - exact resume: a replicator finds its own copies on the target by their producer ids.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use bytes::{Bytes, BytesMut};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};
use kreplicate_wire::producer::{ProduceError, Producer, ProducerRecord};
use tokio::sync::Mutex;

use crate::groups::internal_topic::{ensure_compacted_topic, is_missing_topic, readable_range};
use crate::provenance::ClusterFingerprint;

/// The internal topic (one partition, compacted) on every target.
pub(crate) const PRODUCER_REGISTRY_TOPIC: &str = "__kreplicate-producers";
const VERSION: u8 = 1;

/// One producer id a replicator writes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryEntry {
    pub replicator: String,
    pub producer_id: i64,
    /// The cluster the replicator copies from, and the one it writes to (this one).
    pub source: ClusterFingerprint,
    pub target: ClusterFingerprint,
}

impl RegistryEntry {
    fn key(&self) -> Bytes {
        let mut out = BytesMut::new();
        out.extend_from_slice(&[VERSION]);
        out.extend_from_slice(&(self.replicator.len() as u32).to_be_bytes());
        out.extend_from_slice(self.replicator.as_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.freeze()
    }

    fn value(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(17);
        out.extend_from_slice(&[VERSION]);
        out.extend_from_slice(&self.source.0.to_be_bytes());
        out.extend_from_slice(&self.target.0.to_be_bytes());
        out.freeze()
    }

    fn decode(key: &[u8], value: &[u8]) -> Option<Self> {
        let rest = key.strip_prefix(&[VERSION])?;
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let replicator = String::from_utf8(rest.get(4..4 + len)?.to_vec()).ok()?;
        let pid = rest.get(4 + len..)?;
        let value = value.strip_prefix(&[VERSION])?;
        if pid.len() != 8 || value.len() != 16 {
            return None;
        }
        Some(RegistryEntry {
            replicator,
            producer_id: i64::from_be_bytes(pid.try_into().ok()?),
            source: ClusterFingerprint(u64::from_be_bytes(value[..8].try_into().ok()?)),
            target: ClusterFingerprint(u64::from_be_bytes(value[8..].try_into().ok()?)),
        })
    }
}

/// Creates the registry topic on the target if it is missing.
pub(crate) async fn ensure_topic(target: &Client) -> Result<(), ClientError> {
    ensure_compacted_topic(target, PRODUCER_REGISTRY_TOPIC).await
}

/// Writes `entry` and waits until the target acknowledged it. Call before producing anything
/// with its producer id. A failed write halts the registry partition in the producer: it is
/// reset so the next try can go through.
pub(crate) async fn register(
    producer: &Producer,
    entry: &RegistryEntry,
) -> Result<(), ProduceError> {
    let record = ProducerRecord {
        key: Some(entry.key()),
        value: Some(entry.value()),
        ..ProducerRecord::default()
    };
    let result = match producer.send(PRODUCER_REGISTRY_TOPIC, 0, record).await {
        Ok(delivery) => delivery.await.map(|_| ()),
        Err(e) => Err(ProduceError(std::sync::Arc::new(e))),
    };
    if result.is_err() {
        let _ = producer.reset_partition(PRODUCER_REGISTRY_TOPIC, 0).await;
    }
    result
}

/// One cluster's registry as read so far, read further on demand.
pub(crate) struct Registry {
    client: Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The next registry offset to read.
    next: i64,
    entries: HashMap<i64, RegistryEntry>,
    /// Producer ids seen on batches and found in no entry after reading the registry to its
    /// end: never a replicator's (ids are not reused, and entries precede use).
    foreign: HashSet<i64>,
}

impl Registry {
    pub(crate) fn new(client: Client) -> Self {
        Registry {
            client,
            state: Mutex::new(State::default()),
        }
    }

    /// The registry entry of `producer_id` when its batches were written by a replicator
    /// copying from `cluster`. An id not known yet makes the registry be read to its end
    /// first, once per id.
    pub(crate) async fn written_by_replicator_from(
        &self,
        producer_id: i64,
        cluster: ClusterFingerprint,
    ) -> Result<Option<RegistryEntry>, ClientError> {
        // Non-idempotent producers have no id; ours always have one.
        if producer_id < 0 {
            return Ok(None);
        }
        let mut state = self.state.lock().await;
        if state.foreign.contains(&producer_id) {
            return Ok(None);
        }
        if !state.entries.contains_key(&producer_id) {
            self.read_to_end(&mut state).await?;
        }
        match state.entries.get(&producer_id) {
            Some(e) => Ok(Some(e).filter(|e| e.source == cluster).cloned()),
            None => {
                state.foreign.insert(producer_id);
                Ok(None)
            }
        }
    }

    /// Every producer id `replicator` registered for copies from `source`, read to the end.
    pub(crate) async fn producer_ids_of(
        &self,
        replicator: &str,
        source: ClusterFingerprint,
    ) -> Result<HashSet<i64>, ClientError> {
        let mut state = self.state.lock().await;
        self.read_to_end(&mut state).await?;
        Ok(state
            .entries
            .values()
            .filter(|e| e.replicator == replicator && e.source == source)
            .map(|e| e.producer_id)
            .collect())
    }

    /// Every producer id registered by a replicator copying from `cluster`, read to the end.
    pub(crate) async fn producer_ids_from(
        &self,
        cluster: ClusterFingerprint,
    ) -> Result<HashSet<i64>, ClientError> {
        let mut state = self.state.lock().await;
        self.read_to_end(&mut state).await?;
        Ok(state
            .entries
            .values()
            .filter(|e| e.source == cluster)
            .map(|e| e.producer_id)
            .collect())
    }

    async fn read_to_end(&self, state: &mut State) -> Result<(), ClientError> {
        let (start, end) = match readable_range(&self.client, PRODUCER_REGISTRY_TOPIC).await {
            Ok(range) => range,
            // No replicator writes to this cluster (yet): nothing registered.
            Err(e) if is_missing_topic(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let from = state.next.max(start);
        if from >= end {
            return Ok(());
        }
        let mut found = Vec::new();
        scan_partition(
            &self.client,
            PRODUCER_REGISTRY_TOPIC,
            0,
            from,
            Some(end),
            IsolationLevel::ReadUncommitted,
            |r| {
                if let (Some(k), Some(v)) = (&r.key, &r.value) {
                    if let Some(e) = RegistryEntry::decode(k, v) {
                        found.push(e);
                    }
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        for e in found {
            state.foreign.remove(&e.producer_id);
            state.entries.insert(e.producer_id, e);
        }
        state.next = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_garbage_is_refused() {
        let e = RegistryEntry {
            replicator: "r1".into(),
            producer_id: 4242,
            source: ClusterFingerprint::of("a"),
            target: ClusterFingerprint::of("b"),
        };
        let (k, v) = (e.key(), e.value());
        assert_eq!(RegistryEntry::decode(&k, &v), Some(e));
        for cut in 0..k.len() {
            assert_eq!(RegistryEntry::decode(&k[..cut], &v), None);
        }
        for cut in 0..v.len() {
            assert_eq!(RegistryEntry::decode(&k, &v[..cut]), None);
        }
    }
}
