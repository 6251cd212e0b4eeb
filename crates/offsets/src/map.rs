//! [`OffsetMap`]: exact source↔target offset translation for one partition.
//!
//! See the crate documentation for the model, the invariants and worked
//! examples; this file implements them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::OffsetMapError;
use crate::run::Run;
use crate::side::Side;
use crate::topic_partition::TopicPartition;
use crate::translation::Translation;

/// Runs per persisted chunk before a new chunk is started. A run encodes to
/// at most 30 bytes (3 to 6 typically), so a chunk value stays far below
/// Kafka's default 1 MiB message limit.
pub const DEFAULT_MAX_RUNS_PER_CHUNK: usize = 4096;

/// Distinguishes map instances so a [`Checkpoint`](crate::Checkpoint) is only
/// acknowledged on the map that produced it.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

pub(crate) fn new_instance() -> u64 {
    NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed)
}

/// Bookkeeping for one persisted chunk: a contiguous slice of the map, stored
/// under its own key so persisted values stay bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    /// Key of the chunk: the source offset where it was started. Stable for
    /// the chunk's life, even when pruning moves its start.
    pub(crate) id: i64,
    /// First source offset the chunk covers.
    pub(crate) source_start: i64,
    /// First target offset the chunk covers.
    pub(crate) target_start: i64,
    /// Index in `OffsetMap::runs` of the chunk's first run.
    pub(crate) first_run: usize,
    /// Index in `OffsetMap::echoes` of the chunk's first echo run.
    pub(crate) first_echo: usize,
    /// Epoch of the last change (0 = never changed since rebuilt).
    pub(crate) modified: u64,
    /// `modified` value last acknowledged as durably written.
    pub(crate) persisted: u64,
}

impl ChunkMeta {
    pub(crate) fn is_dirty(&self) -> bool {
        self.modified > self.persisted
    }
}

/// Exact offset translation between a source partition and the target
/// partition it is copied to.
///
/// The data path feeds it, in source-offset order, every copied record
/// ([`record`](Self::record)) and every source offset it deliberately did not
/// copy ([`record_skipped`](Self::record_skipped),
/// [`record_skipped_until`](Self::record_skipped_until)); consumer-offset sync
/// asks [`source_to_target`](Self::source_to_target) and
/// [`target_to_source`](Self::target_to_source). Memory is one [`Run`] per
/// gap, not per record. Equality (`==`) compares the mapping and chunk layout,
/// not checkpoint bookkeeping.
#[derive(Debug)]
pub struct OffsetMap {
    pub(crate) partition: TopicPartition,
    pub(crate) source_start: i64,
    pub(crate) source_end: i64,
    pub(crate) target_start: i64,
    pub(crate) target_end: i64,
    /// Canonical runs, sorted on both sides (see crate docs, invariant I2).
    pub(crate) runs: Vec<Run>,
    /// Echo runs: source records that are copies *of target records* (they
    /// came from the target through a reverse replicator), with the target
    /// offset of their original; sorted on both sides (see [`crate::echo`]).
    pub(crate) echoes: Vec<Run>,
    /// Never empty; chunk `i` covers runs `first_run[i] .. first_run[i + 1]`.
    pub(crate) chunks: Vec<ChunkMeta>,
    pub(crate) max_runs_per_chunk: usize,
    /// Current checkpoint epoch; changes are stamped with it.
    pub(crate) epoch: u64,
    /// Chunk ids dropped by pruning, with the epoch they were dropped in,
    /// until a checkpoint deleting them is acknowledged.
    pub(crate) pending_deletes: Vec<(i64, u64)>,
    pub(crate) instance: u64,
}

impl Clone for OffsetMap {
    /// A clone is a separate instance: checkpoints of one are not
    /// acknowledged on the other.
    fn clone(&self) -> Self {
        OffsetMap {
            partition: self.partition.clone(),
            source_start: self.source_start,
            source_end: self.source_end,
            target_start: self.target_start,
            target_end: self.target_end,
            runs: self.runs.clone(),
            echoes: self.echoes.clone(),
            chunks: self.chunks.clone(),
            max_runs_per_chunk: self.max_runs_per_chunk,
            epoch: self.epoch,
            pending_deletes: self.pending_deletes.clone(),
            instance: new_instance(),
        }
    }
}

impl PartialEq for OffsetMap {
    fn eq(&self, other: &Self) -> bool {
        let layout = |m: &OffsetMap| {
            m.chunks
                .iter()
                .map(|c| {
                    (
                        c.id,
                        c.source_start,
                        c.target_start,
                        c.first_run,
                        c.first_echo,
                    )
                })
                .collect::<Vec<_>>()
        };
        self.partition == other.partition
            && self.source_start == other.source_start
            && self.source_end == other.source_end
            && self.target_start == other.target_start
            && self.target_end == other.target_end
            && self.runs == other.runs
            && self.echoes == other.echoes
            && layout(self) == layout(other)
    }
}

impl Eq for OffsetMap {}

impl OffsetMap {
    /// An empty map for `partition` whose replication starts at source offset
    /// `source_start` (the first offset the replicator fetches: the log start
    /// for EARLIEST, the high watermark for LATEST) and target offset
    /// `target_start` (the target log end offset before the first copy, so
    /// every target offset below it pre-existed).
    pub fn new(
        partition: TopicPartition,
        source_start: i64,
        target_start: i64,
    ) -> Result<Self, OffsetMapError> {
        if let Some(reason) = partition.problem() {
            return Err(OffsetMapError::InvalidPartition { partition, reason });
        }
        for (side, value) in [(Side::Source, source_start), (Side::Target, target_start)] {
            if !(0..=i64::MAX).contains(&value) {
                return Err(OffsetMapError::InvalidOffset {
                    partition,
                    side,
                    offset: value,
                });
            }
        }
        Ok(OffsetMap {
            partition,
            source_start,
            source_end: source_start,
            target_start,
            target_end: target_start,
            runs: Vec::new(),
            echoes: Vec::new(),
            chunks: vec![ChunkMeta {
                id: source_start,
                source_start,
                target_start,
                first_run: 0,
                first_echo: 0,
                modified: 1,
                persisted: 0,
            }],
            max_runs_per_chunk: DEFAULT_MAX_RUNS_PER_CHUNK,
            epoch: 1,
            pending_deletes: Vec::new(),
            instance: new_instance(),
        })
    }

    /// Sets how many runs a persisted chunk holds before a new one starts
    /// (at least 1). Affects only chunks started from now on.
    pub fn with_max_runs_per_chunk(mut self, max_runs: usize) -> Self {
        self.set_max_runs_per_chunk(max_runs);
        self
    }

    /// See [`with_max_runs_per_chunk`](Self::with_max_runs_per_chunk).
    pub fn set_max_runs_per_chunk(&mut self, max_runs: usize) {
        self.max_runs_per_chunk = max_runs.max(1);
    }

    /// The partition this map translates.
    pub fn partition(&self) -> &TopicPartition {
        &self.partition
    }

    /// First source offset covered; positions below it are
    /// [`Translation::BeforeReplicationStart`].
    pub fn source_start(&self) -> i64 {
        self.source_start
    }

    /// Exclusive end of the known source range: every source offset below it
    /// is either in a run or known not copied. This is where the data path
    /// resumes fetching after a restart from a persisted map.
    pub fn source_end(&self) -> i64 {
        self.source_end
    }

    /// First target offset covered; positions below it are
    /// [`Translation::BeforeReplicationStart`].
    pub fn target_start(&self) -> i64 {
        self.target_start
    }

    /// Exclusive end of the known target range: every target offset below it
    /// is either in a run (ours) or foreign.
    pub fn target_end(&self) -> i64 {
        self.target_end
    }

    /// The runs (one breakpoint each), sorted by source and by target offset.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Number of runs (= breakpoints) held: the map's memory is proportional
    /// to it.
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Number of persisted chunks the map is split into.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Records that the record at `source` was copied to `target`, after the
    /// target acknowledged it. Calls must come in increasing source order,
    /// with increasing target offsets. Every source offset between the
    /// previous call and this one that was not reported becomes known not
    /// copied (a compaction hole), every target offset in between foreign.
    /// O(1) amortized; stores a new run only after a gap on either side.
    pub fn record(&mut self, source: i64, target: i64) -> Result<(), OffsetMapError> {
        self.check_offset(Side::Source, source)?;
        self.check_offset(Side::Target, target)?;
        self.check_order(Side::Source, source)?;
        self.check_order(Side::Target, target)?;
        // A run of a sealed chunk is never extended (its chunk would change).
        let extends = self.open_chunk_first_run() < self.runs.len()
            && self
                .runs
                .last()
                .is_some_and(|last| last.source_end() == source && last.target_end() == target);
        match self.runs.last_mut() {
            Some(last) if extends => last.len += 1,
            _ => {
                self.start_chunk_if_full();
                self.runs.push(Run {
                    source,
                    target,
                    len: 1,
                });
            }
        }
        self.source_end = source + 1;
        self.target_end = target + 1;
        self.touch();
        Ok(())
    }

    /// Records that source offset `source` was deliberately not copied
    /// (aborted transaction, control batch, loop-prevention filter). Same
    /// ordering rules as [`record`](Self::record).
    pub fn record_skipped(&mut self, source: i64) -> Result<(), OffsetMapError> {
        self.check_offset(Side::Source, source)?;
        self.check_order(Side::Source, source)?;
        self.source_end = source + 1;
        self.touch();
        Ok(())
    }

    /// Records that every source offset below `source_end` not reported as
    /// copied is not copied: for a skipped range (`first..=last` →
    /// `record_skipped_until(last + 1)`), or for compacted-away records at the
    /// tail of a fetched batch (`batch.last_offset + 1`). Calling it with the
    /// current [`source_end`](Self::source_end) is a no-op; a smaller value is
    /// an error.
    pub fn record_skipped_until(&mut self, source_end: i64) -> Result<(), OffsetMapError> {
        self.check_end(Side::Source, source_end)?;
        if source_end < self.source_end {
            return Err(OffsetMapError::OutOfOrder {
                partition: self.partition.clone(),
                side: Side::Source,
                offset: source_end,
                known_end: self.source_end,
            });
        }
        if source_end > self.source_end {
            self.source_end = source_end;
            self.touch();
        }
        Ok(())
    }

    /// Records that every target offset below `target_end` is either a
    /// recorded copy or foreign. Call it only when no produce whose offset is
    /// unknown is in flight (all acknowledged copies recorded), e.g. with the
    /// target's log end offset observed then. Values not above the current
    /// [`target_end`](Self::target_end) are ignored (a stale observation
    /// carries no news). Lets `target_to_source` answer exactly for target
    /// consumers that read foreign records past the last copy.
    pub fn record_target_end(&mut self, target_end: i64) -> Result<(), OffsetMapError> {
        self.check_end(Side::Target, target_end)?;
        if target_end > self.target_end {
            self.target_end = target_end;
            self.touch();
        }
        Ok(())
    }

    /// Translates a source consumer position (next offset to read) to the
    /// target: the target offset of the first copied record with source
    /// offset `>= position`; past the last copy, the target end if the source
    /// is known up to `position`.
    pub fn source_to_target(&self, position: i64) -> Translation {
        self.translate(Side::Source, position)
    }

    /// Translates a target consumer position to the source: the source
    /// offset of the first copied record with target offset `>= position`
    /// (foreign target records are holes); past the last copy, the source end
    /// if the target is known up to `position`.
    pub fn target_to_source(&self, position: i64) -> Translation {
        self.translate(Side::Target, position)
    }

    /// Translates a consumer position on side `from` to the other side.
    pub fn translate(&self, from: Side, position: i64) -> Translation {
        let (start, end, other_end) = match from {
            Side::Source => (self.source_start, self.source_end, self.target_end),
            Side::Target => (self.target_start, self.target_end, self.source_end),
        };
        if position < start {
            return Translation::BeforeReplicationStart { start };
        }
        if position > end {
            return Translation::NotYetReplicated { copied_up_to: end };
        }
        // In each list, the first run not entirely below `position` holds
        // the first record at or after `position` (runs are sorted on both
        // sides). Of the copy and the echo found, the one earlier on the
        // other side is where the reader continues: every unread record is
        // at or after it there (see `crate::echo` for why the minimum).
        let first_at_or_after = |list: &[Run]| {
            let index = list.partition_point(|run| run.start_on(from) + run.len <= position);
            list.get(index).map(|run| {
                let into = (position - run.start_on(from)).max(0);
                run.start_on(from.other()) + into
            })
        };
        match (
            first_at_or_after(&self.runs),
            first_at_or_after(&self.echoes),
        ) {
            (Some(copy), Some(echo)) => Translation::Exact(copy.min(echo)),
            (Some(found), None) | (None, Some(found)) => Translation::Exact(found),
            (None, None) => Translation::Exact(other_end),
        }
    }

    /// Drops what no consumer position at or above `source_offset` needs
    /// (e.g. below the source log start offset), keeping memory bounded.
    ///
    /// With `p = min(source_offset, source_end)`: afterwards source positions
    /// below `p` translate to `BeforeReplicationStart`, and so do target
    /// positions whose source translation was exactly below `p`; every other
    /// translation, in both directions, is unchanged. Dropped chunks are
    /// deleted (tombstoned) by the next checkpoint. Returns whether anything
    /// changed.
    pub fn prune_before(&mut self, source_offset: i64) -> bool {
        let p = source_offset.min(self.source_end);
        if p <= self.source_start {
            return false;
        }
        let first_kept = self.runs.partition_point(|run| run.source_end() <= p);
        let first_kept_echo = self.echoes.partition_point(|run| run.source_end() <= p);
        // The target start moves to just after the last copy or echo below
        // `p`, so foreign records between it and the next copy still map to
        // that copy, and every target position that translated below `p`
        // (some dropped record is at or after it) is now before the start.
        let new_target_start = [
            dropped_target_end(&self.runs, first_kept, p),
            dropped_target_end(&self.echoes, first_kept_echo, p),
        ]
        .into_iter()
        .flatten()
        .fold(self.target_start, i64::max);
        trim_front(&mut self.runs, first_kept, p);
        trim_front(&mut self.echoes, first_kept_echo, p);

        // Keep the chunk containing `p` (or the last one) and all after it.
        let first_chunk = self
            .chunks
            .partition_point(|chunk| chunk.source_start <= p)
            .saturating_sub(1);
        let epoch = self.epoch;
        for dropped in self.chunks.drain(..first_chunk) {
            self.pending_deletes.push((dropped.id, epoch));
        }
        for chunk in &mut self.chunks {
            chunk.first_run = chunk.first_run.saturating_sub(first_kept);
            chunk.first_echo = chunk.first_echo.saturating_sub(first_kept_echo);
        }
        if let Some(first) = self.chunks.first_mut() {
            first.source_start = p;
            first.target_start = new_target_start;
            first.first_run = 0;
            first.first_echo = 0;
            first.modified = epoch;
        }
        self.source_start = p;
        self.target_start = new_target_start;
        true
    }

    /// Before pushing a new run: starts a new chunk at the current ends if
    /// the open chunk is full (copy and echo runs together), so runs never
    /// straddle chunks and sealed chunks never change again.
    pub(crate) fn start_chunk_if_full(&mut self) {
        let full = self.chunks.last().is_some_and(|open| {
            (self.runs.len() - open.first_run) + (self.echoes.len() - open.first_echo)
                >= self.max_runs_per_chunk
        });
        if full {
            self.chunks.push(ChunkMeta {
                id: self.source_end,
                source_start: self.source_end,
                target_start: self.target_end,
                first_run: self.runs.len(),
                first_echo: self.echoes.len(),
                modified: self.epoch,
                persisted: 0,
            });
        }
    }

    /// Index of the open chunk's first copy run.
    fn open_chunk_first_run(&self) -> usize {
        self.chunks.last().map_or(0, |open| open.first_run)
    }

    /// Index of the open chunk's first echo run.
    pub(crate) fn open_chunk_first_echo(&self) -> usize {
        self.chunks.last().map_or(0, |open| open.first_echo)
    }

    /// Marks the open chunk as changed in the current epoch.
    pub(crate) fn touch(&mut self) {
        if let Some(open) = self.chunks.last_mut() {
            open.modified = self.epoch;
        }
    }

    /// Offsets of records: `0 ..= i64::MAX - 1`, so that `offset + 1` exists.
    pub(crate) fn check_offset(&self, side: Side, offset: i64) -> Result<(), OffsetMapError> {
        if (0..i64::MAX).contains(&offset) {
            Ok(())
        } else {
            Err(OffsetMapError::InvalidOffset {
                partition: self.partition.clone(),
                side,
                offset,
            })
        }
    }

    /// Exclusive ends: `0 ..= i64::MAX`.
    fn check_end(&self, side: Side, end: i64) -> Result<(), OffsetMapError> {
        if end >= 0 {
            Ok(())
        } else {
            Err(OffsetMapError::InvalidOffset {
                partition: self.partition.clone(),
                side,
                offset: end,
            })
        }
    }

    pub(crate) fn check_order(&self, side: Side, offset: i64) -> Result<(), OffsetMapError> {
        let known_end = match side {
            Side::Source => self.source_end,
            Side::Target => self.target_end,
        };
        if offset >= known_end {
            Ok(())
        } else {
            Err(OffsetMapError::OutOfOrder {
                partition: self.partition.clone(),
                side,
                offset,
                known_end,
            })
        }
    }
}

/// The target offset just after what pruning at source offset `p` drops
/// from `list` (runs before `first_kept`, and the part of a straddling run
/// below `p`); `None` when nothing is dropped.
fn dropped_target_end(list: &[Run], first_kept: usize, p: i64) -> Option<i64> {
    match list.get(first_kept) {
        Some(run) if run.source < p => Some(run.target + (p - run.source)),
        _ => list[..first_kept].last().map(Run::target_end),
    }
}

/// Drops the runs before `first_kept` and the part of the next run below
/// source offset `p`, giving memory back after large prunes so the map
/// stays bounded.
fn trim_front(list: &mut Vec<Run>, first_kept: usize, p: i64) {
    if let Some(run) = list.get_mut(first_kept) {
        if run.source < p {
            let cut = p - run.source;
            run.source = p;
            run.target += cut;
            run.len -= cut;
        }
    }
    list.drain(..first_kept);
    if list.capacity() > 2 * list.len() + 64 {
        list.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translation::Translation::{BeforeReplicationStart, Exact, NotYetReplicated};

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 3)
    }

    fn map(source_start: i64, target_start: i64) -> OffsetMap {
        OffsetMap::new(tp(), source_start, target_start).expect("valid anchors")
    }

    /// Crate-doc example 1: compaction holes, an aborted record, a control
    /// record, and 100 records already on the target.
    fn example_holes() -> OffsetMap {
        let mut m = map(0, 100);
        for (s, t) in [(0, 100), (1, 101), (2, 102)] {
            m.record(s, t).unwrap();
        }
        // 3 and 4 were compacted away: never reported.
        m.record(5, 103).unwrap();
        m.record(6, 104).unwrap();
        m.record_skipped(7).unwrap(); // aborted transaction
        m.record_skipped(8).unwrap(); // commit marker
        m.record(9, 105).unwrap();
        m
    }

    #[test]
    fn compaction_holes_and_aborted_records_forward() {
        let m = example_holes();
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 0,
                    target: 100,
                    len: 3
                },
                Run {
                    source: 5,
                    target: 103,
                    len: 2
                },
                Run {
                    source: 9,
                    target: 105,
                    len: 1
                },
            ]
        );
        assert_eq!((m.source_end(), m.target_end()), (10, 106));
        let expected = [
            (0, Exact(100)),
            (1, Exact(101)),
            (3, Exact(103)), // in the compaction hole: next copy is 5 → 103
            (4, Exact(103)),
            (5, Exact(103)),
            (6, Exact(104)),
            (7, Exact(105)), // aborted 7 and marker 8 are never on the target
            (8, Exact(105)),
            (9, Exact(105)),
            (10, Exact(106)), // caught up: target end
            (11, NotYetReplicated { copied_up_to: 10 }),
            (-1, BeforeReplicationStart { start: 0 }),
        ];
        for (position, want) in expected {
            assert_eq!(
                m.source_to_target(position),
                want,
                "source position {position}"
            );
        }
    }

    #[test]
    fn compaction_holes_and_aborted_records_reverse() {
        let m = example_holes();
        let expected = [
            (99, BeforeReplicationStart { start: 100 }), // pre-existing target records
            (100, Exact(0)),
            (102, Exact(2)),
            (103, Exact(5)),
            (105, Exact(9)),
            (106, Exact(10)), // read everything: source end, past the skipped tail
            (107, NotYetReplicated { copied_up_to: 106 }),
        ];
        for (position, want) in expected {
            assert_eq!(
                m.target_to_source(position),
                want,
                "target position {position}"
            );
        }
    }

    #[test]
    fn foreign_target_records_are_holes_in_reverse() {
        // Crate-doc example 2: someone produces target offsets 2 and 3 directly.
        let mut m = map(0, 0);
        m.record(0, 0).unwrap();
        m.record(1, 1).unwrap();
        m.record(2, 4).unwrap();
        m.record(3, 5).unwrap();
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 0,
                    target: 0,
                    len: 2
                },
                Run {
                    source: 2,
                    target: 4,
                    len: 2
                }
            ]
        );
        assert_eq!(m.target_to_source(2), Exact(2));
        assert_eq!(m.target_to_source(3), Exact(2));
        assert_eq!(m.target_to_source(4), Exact(2));
        assert_eq!(m.target_to_source(5), Exact(3));
        assert_eq!(m.source_to_target(2), Exact(4));
        assert_eq!(m.target_to_source(6), Exact(4));
        assert_eq!(m.target_to_source(7), NotYetReplicated { copied_up_to: 6 });
        // Foreign records after the last copy become known once the data path
        // observes the target end with nothing in flight.
        m.record_target_end(9).unwrap();
        assert_eq!(m.target_to_source(8), Exact(4));
        assert_eq!(m.target_to_source(9), Exact(4));
        assert_eq!(m.source_to_target(4), Exact(9));
        assert_eq!(m.target_to_source(10), NotYetReplicated { copied_up_to: 9 });
        // A stale (lower) observation changes nothing.
        m.record_target_end(7).unwrap();
        assert_eq!(m.target_end(), 9);
        assert_eq!(
            m.record(4, 8),
            Err(OffsetMapError::OutOfOrder {
                partition: tp(),
                side: Side::Target,
                offset: 8,
                known_end: 9
            })
        );
    }

    #[test]
    fn loop_filtered_records_are_skipped_both_ways() {
        // Source offsets 10..13 came from the target originally (loop
        // prevention): not copied, but present on the source.
        let mut m = map(0, 50);
        for s in 0..10 {
            m.record(s, 50 + s).unwrap();
        }
        m.record_skipped_until(13).unwrap();
        m.record(13, 60).unwrap();
        assert_eq!(m.run_count(), 2);
        assert_eq!(m.source_to_target(10), Exact(60));
        assert_eq!(m.source_to_target(12), Exact(60));
        // A group that read target 50..=59 moves back past the filtered
        // records, which it already saw on the target where they originated.
        assert_eq!(m.target_to_source(60), Exact(13));
        assert_eq!(m.target_to_source(61), Exact(14));
    }

    #[test]
    fn started_at_latest() {
        // Crate-doc example 3: source high watermark 500 at start, target empty.
        let mut m = map(500, 0);
        assert_eq!(
            m.source_to_target(499),
            BeforeReplicationStart { start: 500 }
        );
        assert_eq!(m.source_to_target(500), Exact(0)); // caught up, nothing copied
        assert_eq!(
            m.source_to_target(501),
            NotYetReplicated { copied_up_to: 500 }
        );
        assert_eq!(m.target_to_source(0), Exact(500));
        m.record_skipped(500).unwrap(); // aborted
        m.record(501, 0).unwrap();
        assert_eq!(m.source_to_target(500), Exact(0));
        assert_eq!(m.source_to_target(501), Exact(0));
        assert_eq!(m.source_to_target(502), Exact(1));
        assert_eq!(m.target_to_source(0), Exact(501));
        assert_eq!(m.target_to_source(1), Exact(502));
    }

    #[test]
    fn delta_change_without_gap_on_source_starts_a_run() {
        let mut m = map(0, 0);
        m.record(0, 0).unwrap();
        m.record(1, 7).unwrap(); // target gap only
        m.record(5, 8).unwrap(); // source gap only
        m.record(9, 16).unwrap(); // both, same delta as before (+7)
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 0,
                    target: 0,
                    len: 1
                },
                Run {
                    source: 1,
                    target: 7,
                    len: 1
                },
                Run {
                    source: 5,
                    target: 8,
                    len: 1
                },
                Run {
                    source: 9,
                    target: 16,
                    len: 1
                },
            ]
        );
        assert_eq!(m.source_to_target(6), Exact(16));
        assert_eq!(m.target_to_source(9), Exact(9));
    }

    #[test]
    fn one_million_contiguous_records_are_one_run() {
        let mut m = map(0, 42);
        for s in 0..1_000_000 {
            m.record(s, s + 42).unwrap();
        }
        assert_eq!(m.run_count(), 1);
        assert_eq!(m.chunk_count(), 1);
        assert_eq!(
            m.runs()[0],
            Run {
                source: 0,
                target: 42,
                len: 1_000_000
            }
        );
        assert_eq!(m.source_to_target(999_999), Exact(1_000_041));
        assert_eq!(m.source_to_target(1_000_000), Exact(1_000_042));
        assert_eq!(m.target_to_source(500_042), Exact(500_000));
    }

    #[test]
    fn rejects_bad_input_and_leaves_the_map_unchanged() {
        let mut m = example_holes();
        let before = m.clone();
        assert_eq!(
            m.record(9, 200),
            Err(OffsetMapError::OutOfOrder {
                partition: tp(),
                side: Side::Source,
                offset: 9,
                known_end: 10
            })
        );
        assert!(matches!(
            m.record(10, 105),
            Err(OffsetMapError::OutOfOrder {
                side: Side::Target,
                offset: 105,
                known_end: 106,
                ..
            })
        ));
        assert!(matches!(
            m.record(-1, 200),
            Err(OffsetMapError::InvalidOffset {
                side: Side::Source,
                offset: -1,
                ..
            })
        ));
        assert!(matches!(
            m.record(10, i64::MAX),
            Err(OffsetMapError::InvalidOffset {
                side: Side::Target,
                ..
            })
        ));
        assert!(matches!(
            m.record_skipped(3),
            Err(OffsetMapError::OutOfOrder { .. })
        ));
        assert!(matches!(
            m.record_skipped_until(9),
            Err(OffsetMapError::OutOfOrder { .. })
        ));
        assert!(matches!(
            m.record_target_end(-5),
            Err(OffsetMapError::InvalidOffset { .. })
        ));
        assert_eq!(m, before);
        m.record_skipped_until(10).unwrap(); // equal: no-op
        assert_eq!(m, before);
        let err = OffsetMap::new(TopicPartition::new("", 0), 0, 0).unwrap_err();
        assert_eq!(err.to_string(), "offset map /0: topic name is empty");
        let err = OffsetMap::new(tp(), -1, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "offset map orders/3: source offset -1 is invalid (offsets must be between 0 and i64::MAX - 1; end positions between 0 and i64::MAX)"
        );
    }

    #[test]
    fn prune_inside_a_run_keeps_later_translations() {
        let mut m = example_holes();
        assert!(m.prune_before(1));
        assert_eq!(m.source_start(), 1);
        assert_eq!(m.target_start(), 101);
        assert_eq!(
            m.runs()[0],
            Run {
                source: 1,
                target: 101,
                len: 2
            }
        );
        assert_eq!(m.source_to_target(0), BeforeReplicationStart { start: 1 });
        assert_eq!(m.source_to_target(1), Exact(101));
        assert_eq!(
            m.target_to_source(100),
            BeforeReplicationStart { start: 101 }
        );
        assert_eq!(m.target_to_source(101), Exact(1));
        assert!(!m.prune_before(1));
    }

    #[test]
    fn prune_in_a_hole_keeps_foreign_records_before_the_next_copy() {
        let mut m = map(0, 0);
        m.record(0, 0).unwrap();
        m.record(1, 1).unwrap();
        m.record(5, 10).unwrap(); // source 2..5 skipped, target 2..10 foreign
        assert!(m.prune_before(3));
        assert_eq!((m.source_start(), m.target_start()), (3, 2));
        assert_eq!(
            m.runs(),
            &[Run {
                source: 5,
                target: 10,
                len: 1
            }]
        );
        assert_eq!(m.target_to_source(1), BeforeReplicationStart { start: 2 });
        assert_eq!(m.target_to_source(2), Exact(5));
        assert_eq!(m.target_to_source(10), Exact(5));
        assert_eq!(m.source_to_target(3), Exact(10));
    }

    #[test]
    fn prune_past_the_known_end_stops_at_the_end() {
        let mut m = example_holes();
        assert!(m.prune_before(1_000));
        assert_eq!((m.source_start(), m.source_end()), (10, 10));
        assert_eq!((m.target_start(), m.target_end()), (106, 106));
        assert_eq!(m.run_count(), 0);
        assert_eq!(m.source_to_target(10), Exact(106));
        assert_eq!(
            m.source_to_target(11),
            NotYetReplicated { copied_up_to: 10 }
        );
        assert_eq!(m.target_to_source(106), Exact(10));
        m.record(12, 110).unwrap();
        assert_eq!(m.source_to_target(11), Exact(110));
    }

    #[test]
    fn periodic_pruning_keeps_a_holey_stream_bounded() {
        let mut m = map(0, 0).with_max_runs_per_chunk(100);
        for i in 0..100_000 {
            m.record(2 * i, i).unwrap(); // a compaction hole before every record
            if i % 1_000 == 999 {
                m.prune_before(2 * i - 1_000); // log start trails by 500 records
            }
        }
        assert_eq!(m.source_start(), 2 * 99_999 - 1_000);
        assert_eq!(m.run_count(), 501);
        assert!(
            m.runs.capacity() <= 2 * 501 + 64 + 1_000,
            "capacity {}",
            m.runs.capacity()
        );
        assert!(m.chunk_count() <= 7, "chunks {}", m.chunk_count());
        assert_eq!(m.source_to_target(2 * 99_999), Exact(99_999));
        assert_eq!(m.source_to_target(2 * 99_999 - 1), Exact(99_999));
    }

    #[test]
    fn chunks_start_when_full_and_prune_drops_whole_chunks() {
        let mut m = map(0, 0).with_max_runs_per_chunk(2);
        for s in 0..6 {
            m.record(s * 2, s).unwrap(); // every record its own run
        }
        assert_eq!(m.run_count(), 6);
        let ids: Vec<i64> = m.chunks.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![0, 3, 7]);
        assert!(m.prune_before(8));
        let ids: Vec<i64> = m.chunks.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![7]);
        assert_eq!(m.pending_deletes, vec![(0, 1), (3, 1)]);
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 8,
                    target: 4,
                    len: 1
                },
                Run {
                    source: 10,
                    target: 5,
                    len: 1
                }
            ]
        );
        assert_eq!(m.chunks[0].source_start, 8);
        assert_eq!(m.chunks[0].first_run, 0);
    }
}
