//! Exact offset translation between a source partition and the target
//! partition kreplicate copies it to, and its persisted form.
//!
//! Pure data structures: no I/O, no async.
//!
//! # Model
//!
//! kreplicate copies every committed record of a source partition, in order,
//! to the same partition number on the target. Offsets diverge:
//!
//! - some source offsets produce no target record: compaction holes (never
//!   fetched), aborted-transaction records and control batches (fetched, not
//!   copied), records filtered for loop prevention (fetched, not copied);
//! - the target may hold records that are not copies of this source: records
//!   that existed before replication started, records produced directly on
//!   the target, copies of another cluster, transaction markers, duplicates
//!   from a replicator restart.
//!
//! An [`OffsetMap`] tracks, per partition, a *known range* on each side,
//! `source_start..source_end` and `target_start..target_end`, and the
//! copied records inside them, compressed into [`Run`]s: maximal stretches
//! where consecutive copies are consecutive on both sides. Each run begins at
//! a *breakpoint*, the first copy after a gap on either side — which is also
//! every point where `target - source` can change.
//!
//! Inside the known ranges, every source offset that is not in a run is known
//! **not copied** (whichever the reason: the map does not need to tell them
//! apart), and every target offset not in a run is known **foreign**
//! ("not ours"). Outside them nothing is known.
//!
//! One kind of "not copied" source record is told apart: an **echo**, a
//! record that came *from the target* (a reverse replicator copied it), with
//! the target offset of its original ([`OffsetMap::record_echo`], module
//! `echo`). Echoes let a position translate exactly when both clusters hold
//! each other's records (ENHANCED offset sync, rollback after producers
//! moved).
//!
//! # Invariants
//!
//! - **I1 (ordered reporting).** The data path reports every source offset
//!   it passes exactly once, in increasing order: [`OffsetMap::record`] for a
//!   copy (after the target acknowledged it, so the target offset is real),
//!   [`OffsetMap::record_skipped`] / [`OffsetMap::record_skipped_until`] for
//!   offsets deliberately not copied. Offsets it never saw between two
//!   reports are compaction holes; so the map knows the whole source range
//!   below `source_end`. Target offsets of copies increase too; target
//!   offsets between two copies are foreign. Violations are errors and leave
//!   the map unchanged.
//! - **I2 (canonical runs).** Runs have `len >= 1`, are sorted and disjoint on
//!   both sides, and two consecutive runs never touch on both sides (else they
//!   would be one run) unless a chunk boundary separates them (a sealed
//!   chunk never changes). Echo runs follow the same rules among themselves,
//!   share no source offset with copy runs and name no copied target offset. Hence a new run is stored exactly when a copy does
//!   not directly follow the previous copy on both sides, and memory grows
//!   with gaps, not records: 1,000,000 contiguous copies are one run.
//! - **I3 (bounds).** `source_start <= run.source`, `run.source_end() <=
//!   source_end`, likewise on the target; all offsets are in `0..i64::MAX`.
//! - **I4 (restart).** After a restart from a persisted map, the data path
//!   resumes fetching at `source_end`. Copies it produced after the persisted
//!   state and produces again become foreign target records: still exact.
//!
//! # Translating consumer positions
//!
//! A consumer position (committed offset) `p` means "every record below `p`
//! was read, `p` is next". From side X to side Y, with `first copy at or
//! after p` taken on X:
//!
//! 1. `p < X.start` → [`Translation::BeforeReplicationStart`]: unread records
//!    there were never replicated; the caller decides.
//! 2. a copy (or echo) at or after `p` exists → `Exact(its offset on Y)`,
//!    the smaller of the first copy's and the first echo's. The reader
//!    then has read, on Y, exactly the copies it had read on X: nothing
//!    unread is skipped, nothing read is re-read (with echoes, when both
//!    clusters order the records alike; otherwise nothing unread is
//!    skipped). Records between the
//!    previous copy and this one on Y are not copies of anything read on X
//!    and are skipped (foreign records going to the target; aborted, control
//!    or loop-filtered records going back to the source).
//! 3. otherwise, if `p <= X.end` (X is known up to `p`) →
//!    `Exact(Y.end)`: every later copy lands at or after `Y.end`. On the
//!    target `Y.end` is `last copy + 1` unless the data path declared later
//!    foreign records with [`OffsetMap::record_target_end`].
//! 4. otherwise → [`Translation::NotYetReplicated`] `{ copied_up_to: X.end }`:
//!    the answer depends on records the map has not seen yet.
//!
//! The same rules apply in both directions ([`OffsetMap::source_to_target`],
//! [`OffsetMap::target_to_source`]), so a group that moved to the target can
//! move back (rollback).
//!
//! # Worked examples
//!
//! **1. Compaction holes, an aborted record, a commit marker, 100 records
//! already on the target.** `OffsetMap::new(tp, 0, 100)`; source 0, 1, 2
//! copied to 100, 101, 102; 3 and 4 compacted away (never reported); 5, 6
//! copied to 103, 104; 7 aborted and 8 its marker (`record_skipped`); 9
//! copied to 105. Runs: `(0→100, len 3)`, `(5→103, len 2)`, `(9→105, len 1)`;
//! known source `0..10`, target `100..106`.
//!
//! | source position | target | | target position | source |
//! |---|---|---|---|---|
//! | 0 | 100 | | 99 | before start (100) |
//! | 3, 4, 5 | 103 | | 103 | 5 |
//! | 7, 8, 9 | 105 | | 105 | 9 |
//! | 10 | 106 (end) | | 106 | 10 (end) |
//! | 11 | not yet (10) | | 107 | not yet (106) |
//!
//! **2. Foreign records on the target.** Copies `0→0, 1→1`; someone produces
//! target offsets 2 and 3; copies `2→4, 3→5`. Runs `(0→0, 2)`, `(2→4, 2)`.
//! Target positions 2, 3 and 4 all map to source 2 (the foreign records are
//! holes); source position 2 maps to target 4.
//!
//! **3. Replication started at LATEST.** Source high watermark 500, target
//! empty: `OffsetMap::new(tp, 500, 0)`. Source position 499 →
//! `BeforeReplicationStart { start: 500 }`; 500 → `Exact(0)` even before any
//! copy; 501 → `NotYetReplicated { copied_up_to: 500 }`.
//!
//! ```
//! use kreplicate_offsets::{OffsetMap, TopicPartition, Translation};
//!
//! let mut map = OffsetMap::new(TopicPartition::new("orders", 0), 0, 100)?;
//! map.record(0, 100)?;
//! map.record(1, 101)?;
//! map.record_skipped(2)?; // aborted transaction
//! map.record(3, 102)?;
//! assert_eq!(map.source_to_target(2), Translation::Exact(102));
//! assert_eq!(map.target_to_source(102), Translation::Exact(3));
//! assert_eq!(map.source_to_target(4), Translation::Exact(103));
//! assert_eq!(map.source_to_target(5), Translation::NotYetReplicated { copied_up_to: 4 });
//! # Ok::<(), kreplicate_offsets::OffsetMapError>(())
//! ```
//!
//! # Pruning
//!
//! [`OffsetMap::prune_before`]`(p)` forgets everything below source offset
//! `p` (e.g. the source log start: no group can still be positioned there).
//! Positions that translated to or from source offsets below `p` become
//! `BeforeReplicationStart`; all others are unchanged.
//!
//! # Persistence
//!
//! See the `encoding` module for the format and [`Checkpoint`] for write ordering: the
//! map is stored in bounded chunks under `(topic, partition, chunk id)` keys
//! of a compacted topic; the latest value per key is enough to rebuild
//! ([`OffsetMaps::rebuild_from`]).

#![warn(
    unreachable_pub,
    missing_debug_implementations,
    missing_docs,
    rustdoc::broken_intra_doc_links
)]

mod checkpoint;
mod echo;
mod encoding;
mod error;
mod map;
mod maps;
mod run;
mod side;
mod topic_partition;
mod translation;
mod wire_format;

#[cfg(test)]
mod echo_proptests;
#[cfg(test)]
mod proptests;

pub use checkpoint::{Checkpoint, PersistRecord};
pub use error::{DecodeError, OffsetMapError, RebuildError};
pub use map::{OffsetMap, DEFAULT_MAX_RUNS_PER_CHUNK};
pub use maps::OffsetMaps;
pub use run::Run;
pub use side::Side;
pub use topic_partition::{TopicPartition, MAX_TOPIC_LEN};
pub use translation::Translation;
