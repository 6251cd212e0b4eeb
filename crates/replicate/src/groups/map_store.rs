//! The offset maps' persisted copy: a compacted topic, `__kreplicate-offset-maps`, on the
//! target, written from [`OffsetMaps::checkpoint`] and rebuilt on start.
//!
//! Each record's key is this replicator's prefix — `[1][u16 name length][replicator name]
//! [u64 source fingerprint]` — followed by the offsets crate's chunk key, so replicators sharing
//! a target never read each other's maps. Values are the crate's chunk values.
//!
//! Writing follows the crate's rules: one checkpoint round at a time; every record of a
//! partition's checkpoint goes, in order, to the topic's only partition through one idempotent
//! producer; a checkpoint is acknowledged (`checkpoint_written`) only once every one of its
//! records is acknowledged, so an unwritten change is written again next round. Whatever
//! prefix of the records a crash leaves, a partition either rebuilds to an older, valid state
//! of its map, or fails to rebuild and is left out ("unknown": its positions are not
//! translated until the data path starts a new map). It is never rebuilt into a map that
//! translates wrongly. A rebuilt map that ends before the data path's resume point is brought
//! up to date by [`super::map_recovery`].

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kreplicate_offsets::OffsetMaps;
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{log_start_offset, scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};
use tokio::sync::watch;

use super::error::{GroupSyncError, Step};
use super::internal_topic::{ensure_compacted_topic, readable_range};
use super::{lock, stop_requested};
use crate::provenance::ClusterFingerprint;

/// The offset-map topic (one partition, compacted) on the target.
pub(crate) const OFFSET_MAP_TOPIC: &str = "__kreplicate-offset-maps";
const PREFIX_VERSION: u8 = 1;

/// Key prefix of the records of replicator `replicator` copying from the cluster with
/// fingerprint `source`.
pub(crate) fn key_prefix(replicator: &str, source: ClusterFingerprint) -> Vec<u8> {
    let name = replicator.as_bytes();
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(11 + name.len());
    out.push(PREFIX_VERSION);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&name[..usize::from(len)]);
    out.extend_from_slice(&source.0.to_be_bytes());
    out
}

/// Creates the topic if needed and rebuilds this replicator's maps from it. Partitions whose
/// records do not rebuild are left out (logged), never guessed.
pub(crate) async fn load_offset_maps(
    target: &Client,
    replicator: &str,
    source: ClusterFingerprint,
) -> Result<OffsetMaps, ClientError> {
    ensure_compacted_topic(target, OFFSET_MAP_TOPIC).await?;
    read_offset_maps(target, replicator, source).await
}

/// Rebuilds the maps from [`OFFSET_MAP_TOPIC`], which must exist; writes nothing.
pub(crate) async fn read_offset_maps(
    target: &Client,
    replicator: &str,
    source: ClusterFingerprint,
) -> Result<OffsetMaps, ClientError> {
    let maps = rebuild_offset_maps(target, replicator, source).await?;
    tracing::info!(
        maps = maps.len(),
        "offset maps rebuilt from {OFFSET_MAP_TOPIC}"
    );
    Ok(maps)
}

/// [`read_offset_maps`] without the log line: for reading another replicator's maps often.
pub(crate) async fn rebuild_offset_maps(
    client: &Client,
    replicator: &str,
    source: ClusterFingerprint,
) -> Result<OffsetMaps, ClientError> {
    let (start, end) = readable_range(client, OFFSET_MAP_TOPIC).await?;
    let prefix = key_prefix(replicator, source);
    let mut records: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    if start < end {
        scan_partition(
            client,
            OFFSET_MAP_TOPIC,
            0,
            start,
            Some(end),
            IsolationLevel::ReadUncommitted,
            |r| {
                if let Some(key) = r.key.as_deref().and_then(|k| k.strip_prefix(&prefix[..])) {
                    records.push((key.to_vec(), r.value.as_ref().map(|v| v.to_vec())));
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
    }
    let (maps, problems) = OffsetMaps::rebuild_each(records);
    for problem in problems {
        tracing::warn!(topic = OFFSET_MAP_TOPIC, error = %problem,
            "an offset map could not be rebuilt; its partition's positions are unknown until copying resumes");
    }
    Ok(maps)
}

/// Writes the maps' changes to the topic, and prunes maps below the source log start.
pub(crate) struct MapWriter {
    target: Client,
    source: Client,
    maps: Arc<Mutex<OffsetMaps>>,
    prefix: Vec<u8>,
    producer: Option<Producer>,
}

impl MapWriter {
    /// A writer for replicator `replicator` copying from `source` (fingerprint
    /// `source_fp`) to `target`.
    pub(crate) fn new(
        source: Client,
        target: Client,
        maps: Arc<Mutex<OffsetMaps>>,
        replicator: &str,
        source_fp: ClusterFingerprint,
    ) -> Self {
        MapWriter {
            target,
            source,
            maps,
            prefix: key_prefix(replicator, source_fp),
            producer: None,
        }
    }

    /// Writes every change not yet written; returns how many records were written. On failure
    /// the changes stay pending for the next call (and a fresh producer is used).
    pub(crate) async fn save(&mut self) -> Result<usize, GroupSyncError> {
        if self.producer.is_none() {
            let producer = Producer::new(self.target.clone(), ProducerConfig::default())
                .await
                .map_err(GroupSyncError::cluster(Step::CreateMapProducer))?;
            self.producer = Some(producer);
        }
        let Some(producer) = self.producer.as_ref() else {
            return Ok(0);
        };
        let checkpoints = lock(&self.maps).checkpoint();
        let mut pending = Vec::with_capacity(checkpoints.len());
        let mut failure = None;
        'send: for checkpoint in &checkpoints {
            let mut deliveries = Vec::with_capacity(checkpoint.records().len());
            for record in checkpoint.records() {
                let mut key = self.prefix.clone();
                key.extend_from_slice(&record.key);
                let sent = producer
                    .send(
                        OFFSET_MAP_TOPIC,
                        0,
                        ProducerRecord {
                            key: Some(Bytes::from(key)),
                            value: record.value.clone().map(Bytes::from),
                            ..ProducerRecord::default()
                        },
                    )
                    .await;
                match sent {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(e) => {
                        failure = Some(GroupSyncError::cluster(Step::WriteMaps)(e));
                        break 'send;
                    }
                }
            }
            pending.push((checkpoint, deliveries));
        }
        let mut written = Vec::new();
        let mut count = 0;
        for (checkpoint, deliveries) in pending {
            let mut all = deliveries.len() == checkpoint.records().len();
            for delivery in deliveries {
                if let Err(e) = delivery.await {
                    all = false;
                    failure.get_or_insert_with(|| GroupSyncError::produce(Step::WriteMaps)(e));
                }
            }
            if all {
                count += checkpoint.records().len();
                written.push(checkpoint.clone());
            }
        }
        lock(&self.maps).checkpoint_written(&written);
        match failure {
            Some(e) => {
                // Sequence numbers may be out of step after a failure: start over.
                if let Some(producer) = self.producer.take() {
                    producer.close().await;
                }
                Err(e)
            }
            None => Ok(count),
        }
    }

    /// Forgets, in every map, what lies below the source partition's log start: no group can
    /// be positioned there any more. Keeps memory bounded by the source's retention.
    pub(crate) async fn prune(&self) {
        let partitions: Vec<(String, i32)> = lock(&self.maps)
            .iter()
            .map(|(tp, _)| (tp.topic.clone(), tp.partition))
            .collect();
        for (topic, partition) in partitions {
            match log_start_offset(
                &self.source,
                &topic,
                partition,
                IsolationLevel::ReadUncommitted,
            )
            .await
            {
                Ok(start) => {
                    lock(&self.maps).prune_before(&topic, partition, start);
                }
                Err(e) => {
                    tracing::debug!(%topic, partition, error = %e, "cannot read the log start to prune the offset map")
                }
            }
        }
    }
}

/// Saves every `interval` (pruning every `prune_interval`) until `stop`, then saves a last time
/// (the data path has stopped by then, so the saved maps are complete).
pub(crate) async fn run_map_writer(
    mut writer: MapWriter,
    interval: Duration,
    prune_interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut save = tokio::time::interval(interval);
    let mut prune = tokio::time::interval(prune_interval);
    prune.tick().await;
    loop {
        tokio::select! {
            _ = save.tick() => {
                if let Err(e) = writer.save().await {
                    tracing::warn!(error = %e, "saving the offset maps failed; retrying");
                }
            }
            _ = prune.tick() => writer.prune().await,
            _ = stop_requested(&mut stop) => break,
        }
    }
    for _ in 0..3 {
        match writer.save().await {
            Ok(_) => break,
            Err(e) => tracing::warn!(error = %e, "saving the offset maps at shutdown failed"),
        }
    }
    if let Some(producer) = writer.producer.take() {
        producer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_exact_and_separates_replicators() {
        assert_eq!(
            key_prefix("ab", ClusterFingerprint(0x0102)),
            vec![1, 0, 2, b'a', b'b', 0, 0, 0, 0, 0, 0, 1, 2]
        );
        // A name that is a prefix of another never yields a prefix of its key.
        let short = key_prefix("a", ClusterFingerprint(7));
        let long = key_prefix("ab", ClusterFingerprint(7));
        assert!(!long.starts_with(&short));
        assert_ne!(
            key_prefix("a", ClusterFingerprint(7)),
            key_prefix("a", ClusterFingerprint(8))
        );
    }
}
