//! Writing a map to, and rebuilding it from, its persisted chunks.
//!
//! A [`Checkpoint`] lists the records that bring the compacted topic up to
//! date: tombstones for dropped chunks first (ascending), then the changed
//! chunks (ascending). Produced in that order to one partition of the
//! internal topic, *every prefix* of the record stream rebuilds to a valid
//! map: deletes only ever remove a prefix of the chunks, and a sealed chunk
//! is written before the chunk after it exists. After a crash mid-checkpoint
//! the rebuilt map is an older state of the same partition, and the data path
//! resumes from its [`source_end`](OffsetMap::source_end); records it copies
//! again appear as foreign on the target, which keeps translation exact.
//!
//! Acknowledging ([`OffsetMap::checkpoint_written`]) only after the records
//! are durably written keeps unacknowledged changes in the next checkpoint.

use crate::encoding::{encode_chunk, write_key, Chunk};
use crate::error::RebuildError;
use crate::map::{new_instance, ChunkMeta, OffsetMap, DEFAULT_MAX_RUNS_PER_CHUNK};
use crate::topic_partition::TopicPartition;

/// One record for the compacted offset-map topic; `value: None` is a
/// tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistRecord {
    /// Encoded chunk key: `(topic, partition, chunk id)`, see the `encoding` module.
    pub key: Vec<u8>,
    /// Encoded chunk (a stretch of the map's runs), or `None` to delete the chunk.
    pub value: Option<Vec<u8>>,
}

/// The records that bring the persisted copy of one partition's map up to
/// date. Produce [`records`](Self::records) in order, all to the same
/// partition of the internal topic (e.g. chosen from
/// [`partition`](Self::partition), not from the key bytes), one checkpoint
/// after the other; then acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub(crate) partition: TopicPartition,
    /// `(map instance, epoch)` to acknowledge on the map.
    pub(crate) map_epoch: Option<(u64, u64)>,
    /// Stamp to acknowledge for tombstones of removed maps.
    pub(crate) removal_stamp: Option<u64>,
    pub(crate) records: Vec<PersistRecord>,
}

impl Checkpoint {
    /// The replicated partition these records describe.
    pub fn partition(&self) -> &TopicPartition {
        &self.partition
    }

    /// Records to produce, in this order.
    pub fn records(&self) -> &[PersistRecord] {
        &self.records
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl OffsetMap {
    /// Whether some change is not yet covered by an acknowledged checkpoint.
    pub fn has_unwritten_changes(&self) -> bool {
        !self.pending_deletes.is_empty() || self.chunks.iter().any(ChunkMeta::is_dirty)
    }

    /// The records that persist every change not yet acknowledged. Changes
    /// made after this call go to the next checkpoint.
    pub fn checkpoint(&mut self) -> Checkpoint {
        let (epoch, deletes, puts) = self.take_changes();
        let records = deletes
            .into_iter()
            .map(|id| PersistRecord {
                key: write_key(&self.partition, id),
                value: None,
            })
            .chain(puts.into_iter().map(|(id, chunk)| PersistRecord {
                key: write_key(&self.partition, id),
                value: Some(encode_chunk(&chunk)),
            }))
            .collect();
        Checkpoint {
            partition: self.partition.clone(),
            map_epoch: Some((self.instance, epoch)),
            removal_stamp: None,
            records,
        }
    }

    /// Acknowledges that `checkpoint`'s records are durably written. A
    /// checkpoint from another map (or another instance of this partition's
    /// map) is ignored; returns whether it applied.
    pub fn checkpoint_written(&mut self, checkpoint: &Checkpoint) -> bool {
        match checkpoint.map_epoch {
            Some((instance, epoch))
                if instance == self.instance && checkpoint.partition == self.partition =>
            {
                for chunk in &mut self.chunks {
                    if chunk.modified <= epoch {
                        chunk.persisted = chunk.modified;
                    }
                }
                self.pending_deletes
                    .retain(|(_, dropped_in)| *dropped_in > epoch);
                true
            }
            _ => false,
        }
    }

    /// Ids of every chunk the persisted copy may hold: live chunks and
    /// dropped ones whose deletion is not acknowledged.
    pub(crate) fn persisted_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .chunks
            .iter()
            .map(|chunk| chunk.id)
            .chain(self.pending_deletes.iter().map(|(id, _)| *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Closes the current epoch and returns it with the chunk ids to delete
    /// and the changed chunks, both ascending.
    pub(crate) fn take_changes(&mut self) -> (u64, Vec<i64>, Vec<(i64, Chunk)>) {
        let epoch = self.epoch;
        self.epoch += 1;
        let mut deletes: Vec<i64> = self.pending_deletes.iter().map(|(id, _)| *id).collect();
        deletes.sort_unstable();
        deletes.dedup();
        let puts = (0..self.chunks.len())
            .filter(|&index| self.chunks[index].is_dirty())
            .map(|index| (self.chunks[index].id, self.chunk_at(index)))
            .collect();
        (epoch, deletes, puts)
    }

    /// The persisted form of chunk `index`.
    pub(crate) fn chunk_at(&self, index: usize) -> Chunk {
        let Some(meta) = self.chunks.get(index) else {
            return Chunk {
                source_start: self.source_end,
                source_end: self.source_end,
                target_start: self.target_end,
                target_end: self.target_end,
                runs: Vec::new(),
                echoes: Vec::new(),
            };
        };
        let (source_end, target_end, runs_end, echoes_end) = match self.chunks.get(index + 1) {
            Some(next) => (
                next.source_start,
                next.target_start,
                next.first_run,
                next.first_echo,
            ),
            None => (
                self.source_end,
                self.target_end,
                self.runs.len(),
                self.echoes.len(),
            ),
        };
        Chunk {
            source_start: meta.source_start,
            source_end,
            target_start: meta.target_start,
            target_end,
            runs: self
                .runs
                .get(meta.first_run..runs_end)
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            echoes: self
                .echoes
                .get(meta.first_echo..echoes_end)
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
        }
    }

    /// Reassembles a map from its persisted chunks, sorted by id. Every
    /// chunk must start at or after its id, and each must start exactly
    /// where the previous one ends on both sides.
    pub(crate) fn from_chunks(
        partition: TopicPartition,
        chunks: Vec<(i64, Chunk)>,
    ) -> Result<OffsetMap, RebuildError> {
        let inconsistent = |chunk: i64, reason: String| RebuildError::Inconsistent {
            partition: partition.clone(),
            chunk,
            reason,
        };
        let (first_id, first) = chunks
            .first()
            .ok_or_else(|| inconsistent(0, "no chunks to rebuild from".to_string()))?;
        let mut map = OffsetMap {
            partition: partition.clone(),
            source_start: first.source_start,
            source_end: first.source_start,
            target_start: first.target_start,
            target_end: first.target_start,
            runs: Vec::new(),
            echoes: Vec::new(),
            chunks: Vec::with_capacity(chunks.len()),
            max_runs_per_chunk: DEFAULT_MAX_RUNS_PER_CHUNK,
            epoch: 1,
            pending_deletes: Vec::new(),
            instance: new_instance(),
        };
        let mut previous_id = first_id - 1;
        for (id, chunk) in chunks {
            if id <= previous_id {
                return Err(inconsistent(
                    id,
                    format!("id is not above the previous chunk id {previous_id}"),
                ));
            }
            if chunk.source_start < id {
                return Err(inconsistent(
                    id,
                    format!(
                        "covers source offsets from {}, before its own id",
                        chunk.source_start
                    ),
                ));
            }
            if chunk.source_start != map.source_end || chunk.target_start != map.target_end {
                return Err(inconsistent(
                    id,
                    format!(
                        "starts at source {} / target {} but the previous chunk ends at source {} / target {}",
                        chunk.source_start, chunk.target_start, map.source_end, map.target_end
                    ),
                ));
            }
            if let (Some(last), Some(first)) = (map.echoes.last(), chunk.echoes.first()) {
                if first.target < last.target_end() {
                    return Err(inconsistent(
                        id,
                        format!(
                            "its first echo (target offset {}) is not after the previous chunk's last echo (target offset {})",
                            first.target,
                            last.target_end() - 1
                        ),
                    ));
                }
            }
            map.chunks.push(ChunkMeta {
                id,
                source_start: chunk.source_start,
                target_start: chunk.target_start,
                first_run: map.runs.len(),
                first_echo: map.echoes.len(),
                modified: 0,
                persisted: 0,
            });
            map.runs.extend_from_slice(&chunk.runs);
            map.echoes.extend_from_slice(&chunk.echoes);
            map.source_end = chunk.source_end;
            map.target_end = chunk.target_end;
            previous_id = id;
        }
        // Copies of earlier chunks may lie after an echo's target offset
        // (the two clusters ordered them differently): no echo may name a
        // target record that is a copy.
        for echo in &map.echoes {
            if let Some((target, source)) = map.copy_in_target_range(echo.target, echo.target_end())
            {
                return Err(RebuildError::Inconsistent {
                    partition: partition.clone(),
                    chunk: map.chunk_id_at(echo.source),
                    reason: format!(
                        "the echo of target offset {target} names a record that is the copy of source offset {source}"
                    ),
                });
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode_chunk, decode_key};
    use crate::run::Run;

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 3)
    }

    fn decoded(records: &[PersistRecord]) -> Vec<(i64, Option<Chunk>)> {
        records
            .iter()
            .map(|r| {
                let key = decode_key(&r.key).unwrap();
                assert_eq!(key.partition, tp());
                (
                    key.chunk,
                    r.value.as_deref().map(|v| decode_chunk(v).unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn checkpoint_writes_only_changes_and_acks_by_epoch() {
        let mut m = OffsetMap::new(tp(), 0, 0)
            .unwrap()
            .with_max_runs_per_chunk(2);
        assert!(m.has_unwritten_changes());
        m.record(0, 0).unwrap();
        m.record(2, 1).unwrap();
        let first = m.checkpoint();
        assert_eq!(
            decoded(first.records()),
            vec![(
                0,
                Some(Chunk {
                    source_start: 0,
                    source_end: 3,
                    target_start: 0,
                    target_end: 2,
                    echoes: Vec::new(),
                    runs: vec![
                        Run {
                            source: 0,
                            target: 0,
                            len: 1
                        },
                        Run {
                            source: 2,
                            target: 1,
                            len: 1
                        }
                    ],
                })
            )]
        );
        // A change after the checkpoint stays dirty after the ack.
        m.record(4, 2).unwrap(); // opens chunk 3
        assert!(m.checkpoint_written(&first));
        assert!(m.has_unwritten_changes());
        let second = m.checkpoint();
        assert_eq!(
            decoded(second.records())
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>(),
            vec![3]
        );
        // Not acknowledged (produce failed): everything is written again.
        let third = m.checkpoint();
        assert_eq!(third.records(), second.records());
        assert!(m.checkpoint_written(&third));
        assert!(!m.has_unwritten_changes());
        assert!(m.checkpoint().is_empty());
        // Another instance's checkpoint is ignored.
        let mut other = m.clone();
        other.record(6, 3).unwrap();
        let foreign = other.checkpoint();
        assert!(!m.checkpoint_written(&foreign));
    }

    #[test]
    fn prune_emits_tombstones_before_the_trimmed_chunk() {
        let mut m = OffsetMap::new(tp(), 0, 0)
            .unwrap()
            .with_max_runs_per_chunk(1);
        for s in 0..3 {
            m.record(s * 2, s).unwrap();
        }
        let cp = m.checkpoint();
        assert!(m.checkpoint_written(&cp));
        assert!(m.prune_before(5));
        let cp = m.checkpoint();
        let records = decoded(cp.records());
        assert_eq!(records.len(), 3);
        assert_eq!((records[0].0, records[0].1.is_none()), (0, true));
        assert_eq!((records[1].0, records[1].1.is_none()), (1, true));
        assert_eq!(records[2].0, 3);
        assert_eq!(
            records[2].1,
            Some(Chunk {
                source_start: 5,
                source_end: 5,
                target_start: 3,
                target_end: 3,
                runs: Vec::new(),
                echoes: Vec::new(),
            })
        );
    }

    #[test]
    fn from_chunks_rejects_gaps_and_ids_after_start() {
        let chunk = |ss, se, ts, te| Chunk {
            source_start: ss,
            source_end: se,
            target_start: ts,
            target_end: te,
            runs: Vec::new(),
            echoes: Vec::new(),
        };
        let err =
            OffsetMap::from_chunks(tp(), vec![(0, chunk(0, 5, 0, 5)), (6, chunk(6, 9, 5, 8))])
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "offset map orders/3, chunk 6: starts at source 6 / target 5 but the previous chunk ends at source 5 / target 5"
        );
        let err = OffsetMap::from_chunks(tp(), vec![(4, chunk(3, 5, 0, 5))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "offset map orders/3, chunk 4: covers source offsets from 3, before its own id"
        );
        let m = OffsetMap::from_chunks(tp(), vec![(0, chunk(2, 5, 0, 5)), (5, chunk(5, 9, 5, 8))])
            .unwrap();
        assert_eq!(
            (m.source_start(), m.source_end(), m.target_end()),
            (2, 9, 8)
        );
        assert!(!m.has_unwritten_changes());
    }
}
