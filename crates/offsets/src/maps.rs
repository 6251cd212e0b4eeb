//! [`OffsetMaps`]: the offset maps of every replicated partition, with
//! checkpointing and rebuilding from the compacted internal topic.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::checkpoint::{Checkpoint, PersistRecord};
use crate::encoding::{decode_chunk, decode_key, encode_chunk, write_key, Chunk};
use crate::error::RebuildError;
use crate::map::OffsetMap;
use crate::topic_partition::TopicPartition;
use crate::translation::Translation;

/// A persisted record, key and value (`None`: tombstone), owned.
type OwnedRecord = (Vec<u8>, Option<Vec<u8>>);

/// Offset maps keyed by topic and partition.
///
/// Replacing or removing a map schedules tombstones for every chunk the old
/// map may have persisted, written by the next [`checkpoint`](Self::checkpoint)
/// before the new map's chunks, so a rebuild never mixes the two.
#[derive(Debug, Default)]
pub struct OffsetMaps {
    maps: BTreeMap<TopicPartition, OffsetMap>,
    /// Chunk ids of removed or replaced maps still to delete, each with the
    /// stamp it was scheduled in.
    removed: BTreeMap<TopicPartition, Vec<(i64, u64)>>,
    /// Current removal stamp; a checkpoint closes it.
    stamp: u64,
}

impl OffsetMaps {
    /// An empty collection.
    pub fn new() -> Self {
        OffsetMaps::default()
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are no maps.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The map of `topic`/`partition`.
    pub fn get(&self, topic: &str, partition: i32) -> Option<&OffsetMap> {
        self.maps.get(&TopicPartition::new(topic, partition))
    }

    /// The map of `topic`/`partition`, for recording.
    pub fn get_mut(&mut self, topic: &str, partition: i32) -> Option<&mut OffsetMap> {
        self.maps.get_mut(&TopicPartition::new(topic, partition))
    }

    /// All maps, ordered by topic and partition.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &OffsetMap)> {
        self.maps.iter()
    }

    /// Adds `map` under its partition, returning the map it replaces (whose
    /// persisted chunks the next checkpoint deletes).
    pub fn insert(&mut self, map: OffsetMap) -> Option<OffsetMap> {
        let old = self.maps.insert(map.partition().clone(), map);
        if let Some(old) = &old {
            self.schedule_removal(old);
        }
        old
    }

    /// Removes the map of `topic`/`partition` (e.g. the topic was deleted);
    /// the next checkpoint deletes its persisted chunks.
    pub fn remove(&mut self, topic: &str, partition: i32) -> Option<OffsetMap> {
        let old = self.maps.remove(&TopicPartition::new(topic, partition));
        if let Some(old) = &old {
            self.schedule_removal(old);
        }
        old
    }

    /// [`OffsetMap::source_to_target`] for `topic`/`partition`, `None`
    /// without a map.
    pub fn source_to_target(
        &self,
        topic: &str,
        partition: i32,
        position: i64,
    ) -> Option<Translation> {
        self.get(topic, partition)
            .map(|m| m.source_to_target(position))
    }

    /// [`OffsetMap::target_to_source`] for `topic`/`partition`, `None`
    /// without a map.
    pub fn target_to_source(
        &self,
        topic: &str,
        partition: i32,
        position: i64,
    ) -> Option<Translation> {
        self.get(topic, partition)
            .map(|m| m.target_to_source(position))
    }

    /// Calls [`OffsetMap::prune_before`] on the map of `topic`/`partition`;
    /// returns whether anything changed.
    pub fn prune_before(&mut self, topic: &str, partition: i32, source_offset: i64) -> bool {
        self.get_mut(topic, partition)
            .is_some_and(|m| m.prune_before(source_offset))
    }

    /// One checkpoint per partition with something to write (see
    /// [`Checkpoint`] for how to produce them). For a partition whose map was
    /// replaced, the old map's tombstones come first.
    pub fn checkpoint(&mut self) -> Vec<Checkpoint> {
        let stamp = self.stamp;
        self.stamp += 1;
        let partitions: BTreeSet<TopicPartition> = self
            .maps
            .keys()
            .chain(self.removed.keys())
            .cloned()
            .collect();
        let mut checkpoints = Vec::new();
        for partition in partitions {
            let mut deletes: Vec<i64> = self
                .removed
                .get(&partition)
                .map(|ids| ids.iter().map(|(id, _)| *id).collect())
                .unwrap_or_default();
            let (map_epoch, puts) = match self.maps.get_mut(&partition) {
                Some(map) => {
                    let (epoch, map_deletes, puts) = map.take_changes();
                    deletes.extend(map_deletes);
                    (Some((map.instance, epoch)), puts)
                }
                None => (None, Vec::new()),
            };
            deletes.sort_unstable();
            deletes.dedup();
            let records: Vec<PersistRecord> = deletes
                .into_iter()
                .map(|id| PersistRecord {
                    key: write_key(&partition, id),
                    value: None,
                })
                .chain(puts.into_iter().map(|(id, chunk)| PersistRecord {
                    key: write_key(&partition, id),
                    value: Some(encode_chunk(&chunk)),
                }))
                .collect();
            if !records.is_empty() {
                checkpoints.push(Checkpoint {
                    partition,
                    map_epoch,
                    removal_stamp: Some(stamp),
                    records,
                });
            }
        }
        checkpoints
    }

    /// Acknowledges checkpoints whose records are durably written.
    pub fn checkpoint_written(&mut self, checkpoints: &[Checkpoint]) {
        for checkpoint in checkpoints {
            if let Some(map) = self.maps.get_mut(&checkpoint.partition) {
                map.checkpoint_written(checkpoint);
            }
            if let (Some(stamp), Entry::Occupied(mut entry)) = (
                checkpoint.removal_stamp,
                self.removed.entry(checkpoint.partition.clone()),
            ) {
                entry.get_mut().retain(|(_, scheduled)| *scheduled > stamp);
                if entry.get().is_empty() {
                    entry.remove();
                }
            }
        }
    }

    /// Rebuilds every map from the records of the compacted offset-map topic,
    /// read from the beginning in order: for each key the last value wins and
    /// a tombstone (`None`) deletes it. Only the surviving values are
    /// decoded, so a superseded value never fails the rebuild. Any key that
    /// is not an offset-map key, or surviving chunks that do not fit
    /// together, fail it with an error naming the record or partition.
    pub fn rebuild_from<I, K, V>(records: I) -> Result<OffsetMaps, RebuildError>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut latest: BTreeMap<TopicPartition, BTreeMap<i64, Vec<u8>>> = BTreeMap::new();
        for (index, (key, value)) in records.into_iter().enumerate() {
            let key =
                decode_key(key.as_ref()).map_err(|source| RebuildError::Key { index, source })?;
            match value {
                Some(value) => {
                    latest
                        .entry(key.partition)
                        .or_default()
                        .insert(key.chunk, value.as_ref().to_vec());
                }
                None => {
                    if let Entry::Occupied(mut chunks) = latest.entry(key.partition) {
                        chunks.get_mut().remove(&key.chunk);
                        if chunks.get().is_empty() {
                            chunks.remove();
                        }
                    }
                }
            }
        }
        let mut maps = OffsetMaps::new();
        for (partition, values) in latest {
            let chunks = values
                .into_iter()
                .map(|(chunk, bytes)| {
                    decode_chunk(&bytes)
                        .map(|decoded| (chunk, decoded))
                        .map_err(|source| RebuildError::Value {
                            partition: partition.clone(),
                            chunk,
                            source,
                        })
                })
                .collect::<Result<Vec<(i64, Chunk)>, RebuildError>>()?;
            let map = OffsetMap::from_chunks(partition.clone(), chunks)?;
            maps.maps.insert(partition, map);
        }
        Ok(maps)
    }

    /// Like [`rebuild_from`](Self::rebuild_from), but a bad record or a
    /// partition whose chunks do not fit together only costs that record or
    /// partition: the others are rebuilt, and every problem is returned. A
    /// partition left out is *unknown* (its positions do not translate),
    /// never translated from a broken map.
    pub fn rebuild_each<I, K, V>(records: I) -> (OffsetMaps, Vec<RebuildError>)
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut problems = Vec::new();
        let mut by_partition: BTreeMap<TopicPartition, Vec<OwnedRecord>> = BTreeMap::new();
        for (index, (key, value)) in records.into_iter().enumerate() {
            match decode_key(key.as_ref()) {
                Ok(decoded) => by_partition
                    .entry(decoded.partition)
                    .or_default()
                    .push((key.as_ref().to_vec(), value.map(|v| v.as_ref().to_vec()))),
                Err(source) => problems.push(RebuildError::Key { index, source }),
            }
        }
        let mut maps = OffsetMaps::new();
        for (partition, records) in by_partition {
            match OffsetMaps::rebuild_from(records) {
                Ok(mut one) => {
                    if let Some(map) = one.maps.remove(&partition) {
                        maps.maps.insert(partition, map);
                    }
                }
                Err(e) => problems.push(e),
            }
        }
        (maps, problems)
    }

    fn schedule_removal(&mut self, old: &OffsetMap) {
        let stamp = self.stamp;
        self.removed
            .entry(old.partition().clone())
            .or_default()
            .extend(old.persisted_ids().into_iter().map(|id| (id, stamp)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::encode_key;
    use crate::encoding::ChunkKey;
    use crate::error::DecodeError;

    fn log_of(checkpoints: &[Checkpoint]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        checkpoints
            .iter()
            .flat_map(|cp| {
                cp.records()
                    .iter()
                    .map(|r| (r.key.clone(), r.value.clone()))
            })
            .collect()
    }

    #[test]
    fn rebuild_restores_every_partition_exactly() {
        let mut maps = OffsetMaps::new();
        let mut a = OffsetMap::new(TopicPartition::new("a", 0), 0, 10).unwrap();
        a.record(0, 10).unwrap();
        a.record(3, 11).unwrap();
        let mut b = OffsetMap::new(TopicPartition::new("b", 5), 100, 0).unwrap();
        b.record_skipped(100).unwrap();
        b.record(101, 0).unwrap();
        assert!(maps.insert(a).is_none());
        assert!(maps.insert(b).is_none());
        let cps = maps.checkpoint();
        assert_eq!(cps.len(), 2);
        maps.checkpoint_written(&cps);
        assert!(maps.checkpoint().is_empty());
        let rebuilt = OffsetMaps::rebuild_from(log_of(&cps)).unwrap();
        assert_eq!(rebuilt.len(), 2);
        for (tp, map) in maps.iter() {
            assert_eq!(rebuilt.get(&tp.topic, tp.partition), Some(map));
        }
        assert_eq!(
            rebuilt.source_to_target("a", 0, 1),
            Some(Translation::Exact(11))
        );
        assert_eq!(
            rebuilt.target_to_source("b", 5, 0),
            Some(Translation::Exact(101))
        );
        assert_eq!(rebuilt.source_to_target("c", 0, 1), None);
    }

    #[test]
    fn replacing_a_map_deletes_the_old_chunks_first() {
        let tp = TopicPartition::new("t", 1);
        let mut maps = OffsetMaps::new();
        let mut old = OffsetMap::new(tp.clone(), 0, 0)
            .unwrap()
            .with_max_runs_per_chunk(1);
        old.record(0, 0).unwrap();
        old.record(2, 1).unwrap(); // chunk 1
        maps.insert(old);
        let mut log = log_of(&maps.checkpoint()); // not acknowledged: no matter
        let mut new = OffsetMap::new(tp.clone(), 0, 5).unwrap();
        new.record(0, 5).unwrap();
        let replaced = maps.insert(new).unwrap();
        assert_eq!(replaced.run_count(), 2);
        let cps = maps.checkpoint();
        assert_eq!(cps.len(), 1);
        let kinds: Vec<(i64, bool)> = cps[0]
            .records()
            .iter()
            .map(|r| (decode_key(&r.key).unwrap().chunk, r.value.is_some()))
            .collect();
        assert_eq!(kinds, vec![(0, false), (1, false), (0, true)]);
        maps.checkpoint_written(&cps);
        assert!(maps.checkpoint().is_empty());
        log.extend(log_of(&cps));
        let rebuilt = OffsetMaps::rebuild_from(log).unwrap();
        assert_eq!(rebuilt.get("t", 1), maps.get("t", 1));

        // Removing writes tombstones only, and the rebuild has no map.
        assert!(maps.remove("t", 1).is_some());
        let cps = maps.checkpoint();
        assert_eq!(cps[0].records().len(), 1);
        assert_eq!(cps[0].records()[0].value, None);
        let mut log = log_of(&cps);
        log.insert(
            0,
            (
                encode_key(&ChunkKey {
                    partition: tp,
                    chunk: 0,
                })
                .unwrap(),
                Some(vec![1, 0, 0, 0, 0, 0]),
            ),
        );
        assert!(OffsetMaps::rebuild_from(log).unwrap().is_empty());
    }

    #[test]
    fn rebuild_each_keeps_the_good_partitions() {
        let mut good = OffsetMap::new(TopicPartition::new("good", 0), 0, 0).unwrap();
        good.record(0, 0).unwrap();
        let mut maps = OffsetMaps::new();
        maps.insert(good.clone());
        let mut log = log_of(&maps.checkpoint());
        let bad_key = encode_key(&ChunkKey {
            partition: TopicPartition::new("bad", 1),
            chunk: 0,
        })
        .unwrap();
        log.push((bad_key, Some(vec![1u8, 0])));
        log.push((vec![7u8], None));
        let (rebuilt, problems) = OffsetMaps::rebuild_each(log);
        assert_eq!(rebuilt.len(), 1);
        assert_eq!(rebuilt.get("good", 0), Some(&good));
        assert_eq!(rebuilt.get("bad", 1), None);
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "offset-map record #2: offset-map key: format version 7 is not supported (this build reads versions up to 1)",
                "offset map bad/1, chunk 0: offset-map value: input ends inside source length (byte 2)",
            ]
        );
    }

    #[test]
    fn rebuild_names_bad_records() {
        let err = OffsetMaps::rebuild_from(vec![(vec![9u8], None::<Vec<u8>>)]).unwrap_err();
        assert_eq!(
            err,
            RebuildError::Key {
                index: 0,
                source: DecodeError::UnsupportedVersion {
                    what: "key",
                    found: 9,
                    supported: 1
                }
            }
        );
        let key = encode_key(&ChunkKey {
            partition: TopicPartition::new("t", 2),
            chunk: 7,
        })
        .unwrap();
        // A garbage value superseded by a good one is fine…
        let good = vec![1u8, 7, 0, 0, 0, 0];
        let ok = OffsetMaps::rebuild_from(vec![
            (key.clone(), Some(vec![0xff])),
            (key.clone(), Some(good)),
        ])
        .unwrap();
        assert_eq!(ok.get("t", 2).map(OffsetMap::source_start), Some(7));
        // …the latest one being garbage is not.
        let err = OffsetMaps::rebuild_from(vec![(key, Some(vec![1u8, 7]))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "offset map t/2, chunk 7: offset-map value: input ends inside source length (byte 2)"
        );
    }
}
