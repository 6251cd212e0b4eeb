//! Echoes: source records that came *from the target*.
//!
//! With two replicators in opposite directions (A→B and B→A, the same topic
//! names), A's partition holds A's own records and copies of B's own
//! records written by B→A. The A→B data path does not copy the latter back
//! (loop prevention), so to a plain map they are "skipped". But a consumer
//! on A reads them, and each one *is* a record of B: the provenance header
//! B→A wrote names its offset on B. [`OffsetMap::record_echo`] records that
//! correspondence, so a consumer position on A translates to B exactly even
//! after producers moved to B and their records were copied back to A.
//!
//! Echoes are kept in their own runs ([`OffsetMap::echoes`]), sorted on both
//! sides like copy runs, and persisted in the same chunks (so a map and its
//! echoes are always saved and rebuilt together). An echo's target offset
//! raises the known target end: no later copy can land at or below it (the
//! original was on the target before B→A read it, and A→B fetches later
//! records only after this one).
//!
//! # Translating with echoes
//!
//! A position `p` on one side translates to the *smallest* other-side
//! offset of the first copy at or after `p` and the first echo at or after
//! `p` (each list is sorted on both sides, so those are the smallest of
//! their list). When both clusters ordered the records the same way — every
//! migration where producers switch clusters after replication caught up —
//! that is exactly the next unread record. When they did not (records
//! produced on both clusters at once), no position is exact on both; the
//! minimum never skips an unread copy or echo, at the price of re-reading
//! records of the other kind that sit between.
//!
//! Worked example (partition of `orders`, A→B map, B's own records at B
//! offsets 2 and 3 copied back to A at 2 and 3, then A produces again):
//!
//! | A offset | record | B offset |
//! |---|---|---|
//! | 0, 1 | A's own, copied | 0, 1 |
//! | 2, 3 | echoes of B's 2, 3 | 2, 3 |
//! | 4 | A's own, copied | 4 |
//!
//! Copy runs `(0→0, 2)`, `(4→4, 1)`; echo run `(2→2, 2)`. A position 2 (read
//! A's 0, 1) → B 2; 3 → B 3; 5 → B 5 (end). Without the echo run, position
//! 2 would map to B 4 and skip B's own records 2 and 3.

use crate::error::OffsetMapError;
use crate::map::OffsetMap;
use crate::run::Run;
use crate::side::Side;

impl OffsetMap {
    /// Records that source offset `source` holds a record that came from the
    /// target (loop-filtered, not copied): the copy of the target record at
    /// `target`, as its provenance says. Same ordering rules on the source
    /// as [`record`](Self::record).
    ///
    /// An echo whose target offset is not after the previous echo's (a
    /// duplicate of an already echoed record on the source, e.g. written
    /// twice by a restarted reverse replicator) is recorded as skipped. An
    /// echo naming a target record that this map knows as a copy is an
    /// error ([`OffsetMapError::EchoOfCopy`]): the two cannot both be true.
    pub fn record_echo(&mut self, source: i64, target: i64) -> Result<(), OffsetMapError> {
        self.check_offset(Side::Source, source)?;
        self.check_offset(Side::Target, target)?;
        self.check_order(Side::Source, source)?;
        if let Some((_, copied_from)) = self.copy_in_target_range(target, target + 1) {
            return Err(OffsetMapError::EchoOfCopy {
                partition: self.partition.clone(),
                source_offset: source,
                target,
                copied_from,
            });
        }
        if self
            .echoes
            .last()
            .is_some_and(|last| target < last.target_end())
        {
            return self.record_skipped(source);
        }
        let extends = self.open_chunk_first_echo() < self.echoes.len()
            && self
                .echoes
                .last()
                .is_some_and(|last| last.source_end() == source && last.target_end() == target);
        match self.echoes.last_mut() {
            Some(last) if extends => last.len += 1,
            _ => {
                self.start_chunk_if_full();
                self.echoes.push(Run {
                    source,
                    target,
                    len: 1,
                });
            }
        }
        self.source_end = source + 1;
        self.target_end = self.target_end.max(target + 1);
        self.touch();
        Ok(())
    }

    /// The echo runs: source records that are copies of target records,
    /// sorted by source and by target offset.
    pub fn echoes(&self) -> &[Run] {
        &self.echoes
    }

    /// Number of echo runs held.
    pub fn echo_count(&self) -> usize {
        self.echoes.len()
    }

    /// The first target offset in `start..end` that is a copy, with the
    /// source offset it was copied from.
    pub(crate) fn copy_in_target_range(&self, start: i64, end: i64) -> Option<(i64, i64)> {
        let index = self.runs.partition_point(|run| run.target_end() <= start);
        let run = self.runs.get(index)?;
        let target = run.target.max(start);
        (target < end).then(|| (target, run.source + (target - run.target)))
    }

    /// Id of the chunk covering source offset `source` (for messages).
    pub(crate) fn chunk_id_at(&self, source: i64) -> i64 {
        let index = self
            .chunks
            .partition_point(|chunk| chunk.source_start <= source)
            .saturating_sub(1);
        self.chunks.get(index).map_or(source, |chunk| chunk.id)
    }
}

#[cfg(test)]
mod tests {
    use crate::translation::Translation::{BeforeReplicationStart, Exact, NotYetReplicated};
    use crate::{OffsetMap, OffsetMapError, OffsetMaps, Run, TopicPartition};

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    /// The module's worked example.
    fn example() -> OffsetMap {
        let mut m = OffsetMap::new(tp(), 0, 0).unwrap();
        m.record(0, 0).unwrap();
        m.record(1, 1).unwrap();
        m.record_echo(2, 2).unwrap();
        m.record_echo(3, 3).unwrap();
        m.record(4, 4).unwrap();
        m
    }

    #[test]
    fn echoes_translate_to_their_originals() {
        let m = example();
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 0,
                    target: 0,
                    len: 2
                },
                Run {
                    source: 4,
                    target: 4,
                    len: 1
                }
            ]
        );
        assert_eq!(
            m.echoes(),
            &[Run {
                source: 2,
                target: 2,
                len: 2
            }]
        );
        let expected = [
            (0, Exact(0)),
            (1, Exact(1)),
            (2, Exact(2)),
            (3, Exact(3)),
            (4, Exact(4)),
            (5, Exact(5)),
            (6, NotYetReplicated { copied_up_to: 5 }),
        ];
        for (position, want) in expected {
            assert_eq!(m.source_to_target(position), want, "A position {position}");
            // The same stream read on B goes back to the same A position.
            assert_eq!(m.target_to_source(position), want, "B position {position}");
        }
    }

    #[test]
    fn producers_on_the_target_only_the_end_moves_with_echoes() {
        // Producers moved to B: B's own records 5..8 were copied back to A
        // at 2..5 after A's own 0, 1. A reader at A's end has read them all.
        let mut m = OffsetMap::new(tp(), 0, 3).unwrap();
        m.record(0, 3).unwrap();
        m.record(1, 4).unwrap();
        for (a, b) in [(2, 5), (3, 6), (4, 7)] {
            m.record_echo(a, b).unwrap();
        }
        assert_eq!((m.source_end(), m.target_end()), (5, 8));
        assert_eq!(m.source_to_target(2), Exact(5));
        assert_eq!(m.source_to_target(4), Exact(7));
        assert_eq!(m.source_to_target(5), Exact(8));
        assert_eq!(m.source_to_target(0), Exact(3));
        assert_eq!(m.target_to_source(2), BeforeReplicationStart { start: 3 });
        assert_eq!(m.target_to_source(6), Exact(3));
        assert_eq!(m.target_to_source(8), Exact(5));
        // A copy after the echoes must land after their originals.
        assert!(matches!(
            m.record(5, 7),
            Err(OffsetMapError::OutOfOrder { known_end: 8, .. })
        ));
        m.record(5, 8).unwrap();
        assert_eq!(m.source_to_target(5), Exact(8));
    }

    #[test]
    fn orders_that_differ_never_skip_an_unread_record() {
        // A: a0 a1 b' (b' is the echo of B offset 1)   B: a0' b a1'
        // b was produced on B before a1 was copied there, so the clusters
        // order a1 and b differently.
        let mut m = OffsetMap::new(tp(), 0, 0).unwrap();
        m.record(0, 0).unwrap();
        m.record(1, 2).unwrap();
        m.record_echo(2, 1).unwrap();
        assert_eq!(m.target_end(), 3);
        // Unread on A: a1 (B 2) and b (B 1) → B 1: exactly the unread set.
        assert_eq!(m.source_to_target(1), Exact(1));
        // Unread: b only → B 1 (a1' at B 2 is read again: no exact answer).
        assert_eq!(m.source_to_target(2), Exact(1));
        assert_eq!(m.source_to_target(3), Exact(3));
    }

    #[test]
    fn duplicate_echoes_are_skipped_and_echoes_of_copies_rejected() {
        let mut m = OffsetMap::new(tp(), 0, 0).unwrap();
        m.record(0, 0).unwrap();
        m.record_echo(1, 1).unwrap();
        m.record_echo(2, 1).unwrap(); // the same B record copied to A twice
        assert_eq!(m.echo_count(), 1);
        assert_eq!(m.source_end(), 3);
        assert_eq!(m.source_to_target(2), Exact(2));
        let before = m.clone();
        assert_eq!(
            m.record_echo(3, 0),
            Err(OffsetMapError::EchoOfCopy {
                partition: tp(),
                source_offset: 3,
                target: 0,
                copied_from: 0
            })
        );
        assert_eq!(m, before);
        assert!(matches!(
            m.record_echo(2, 9),
            Err(OffsetMapError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn pruning_drops_echoes_and_moves_the_target_start_past_them() {
        let mut m = example();
        assert!(m.prune_before(3));
        assert_eq!((m.source_start(), m.target_start()), (3, 3));
        assert_eq!(
            m.echoes(),
            &[Run {
                source: 3,
                target: 3,
                len: 1
            }]
        );
        assert_eq!(m.source_to_target(3), Exact(3));
        assert_eq!(m.target_to_source(2), BeforeReplicationStart { start: 3 });
        assert!(m.prune_before(5));
        assert_eq!(m.echo_count(), 0);
        assert_eq!(m.source_to_target(5), Exact(5));
    }

    #[test]
    fn echoes_persist_and_rebuild_with_the_copies() {
        let mut m = OffsetMap::new(tp(), 0, 0)
            .unwrap()
            .with_max_runs_per_chunk(1);
        m.record(0, 0).unwrap();
        m.record_echo(1, 1).unwrap(); // a new chunk: the open one is full
        m.record(2, 2).unwrap(); // touches the copy run of the sealed chunk
        m.record_echo(3, 5).unwrap();
        assert_eq!(m.chunk_count(), 4);
        let checkpoint = m.checkpoint();
        let log: Vec<(Vec<u8>, Option<Vec<u8>>)> = checkpoint
            .records()
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect();
        let rebuilt = OffsetMaps::rebuild_from(log).unwrap();
        assert_eq!(rebuilt.get("orders", 0), Some(&m));
        for p in 0..=5 {
            assert_eq!(
                rebuilt.source_to_target("orders", 0, p),
                Some(m.source_to_target(p)),
                "A position {p}"
            );
        }
    }
}
