//! Bringing a partition's offset map in line with where its data path resumes.
//!
//! Maps are saved every second or so, the data path's position is checkpointed on its own
//! schedule, and either can be the one a crash caught behind. Before a partition's copier
//! starts at source offset `start` (with the target partition ending at `target_end`), its
//! map — rebuilt from the last save, or kept in memory from before a data-path restart — ends
//! at source `map_end`:
//!
//! - `map_end == start`: the copier continues the map.
//! - `map_end < start` (the save lagged the data): the missing stretch is recovered exactly
//!   from the clusters themselves. Every copy on the target carries its source offset in the
//!   provenance header, so scanning the target from the map's target end to `target_end`
//!   finds each copy of a source offset in `map_end..start`, in order; with echoes (ENHANCED),
//!   scanning the source over `map_end..start` finds the records that came from the target and
//!   the target offset of their originals. Everything else in the stretch was passed without a
//!   copy. Copies of offsets the map already covers (late duplicate writes) are foreign.
//! - `map_end > start` (the checkpoint lagged, and the map saw the previous instance pass
//!   records without copying them, e.g. records that came from the target): if the map holds
//!   no copy at or after `start`, those offsets were only ever skipped, and the copier resumes
//!   at `map_end` — re-reading them would change nothing on the target.
//!
//! In batch mode copies carry no header: the stretch is recovered by the same walk that finds
//! the resume point ([`crate::resume::BatchResume::walk`]), started where the map ends — a
//! consistent position like a checkpoint — which pairs each copy with its source record.
//! With echoes (ENHANCED) a stretch holding records that came from the target is not
//! recovered (their originals are in the reverse replicator's map, which may have moved on).
//!
//! In every other case ( the source log no longer
//! holding the stretch, records that do not fit the map), the copier starts a fresh map at
//! `start`: positions before it become "before replication start" — unknown, never wrong.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use kreplicate_offsets::{OffsetMap, OffsetMapError, OffsetMaps};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{log_start_offset, scan_partition, IsolationLevel};

use super::error::RecoveryError;
use super::lock;
use crate::options::DataMode;
use crate::provenance::{ClusterFingerprint, Provenance};

/// One partition about to be copied.
#[derive(Debug, Clone)]
pub(crate) struct ResumingPartition<'a> {
    pub source_topic: &'a str,
    pub target_topic: &'a str,
    pub partition: i32,
    /// Where the copier resumes on the source.
    pub start: i64,
    /// The target partition's end when resuming.
    pub target_end: i64,
    pub source_fp: ClusterFingerprint,
    pub target_fp: ClusterFingerprint,
    /// Whether the data path records echoes (ENHANCED offset sync).
    pub echoes: bool,
    pub mode: DataMode,
}

/// What the stretch `map_end..start` held, in source order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Copied to this target offset.
    Copy { source: i64, target: i64 },
    /// Came from the target, where the original is at this offset.
    Echo { source: i64, target: i64 },
}

impl Found {
    fn source(&self) -> i64 {
        match *self {
            Found::Copy { source, .. } | Found::Echo { source, .. } => source,
        }
    }
}

/// Makes the partition's map (if any) end where the copier resumes, and returns the source
/// offset the copier should start at (`p.start`, or later when the map shows the offsets in
/// between were all skipped). When the map cannot be brought in line it is left as is, and
/// the copier replaces it with a fresh one.
pub(crate) async fn reconcile_offset_map(
    source: &Client,
    target: &Client,
    maps: &Arc<Mutex<OffsetMaps>>,
    p: &ResumingPartition<'_>,
    batch: Option<&crate::resume::BatchResume<'_>>,
) -> i64 {
    let Some((map_end, map_target_end, copies_from_start)) = ({
        let maps = lock(maps);
        maps.get(p.source_topic, p.partition).map(|m| {
            let last_copy_end = m.runs().last().map_or(m.source_start(), |r| r.source_end());
            (m.source_end(), m.target_end(), last_copy_end > p.start)
        })
    }) else {
        return p.start;
    };
    if map_end == p.start {
        return p.start;
    }
    if map_end > p.start {
        if !copies_from_start && map_target_end <= p.target_end {
            tracing::info!(topic = %p.source_topic, partition = p.partition, checkpoint = p.start, map_end,
                "the offset map shows source offsets {}..{map_end} were passed without copies; resuming after them", p.start);
            return map_end;
        }
        return p.start;
    }
    let recovered = match (p.mode, batch) {
        (DataMode::Header, _) => recover(source, target, p, map_end, map_target_end).await,
        (DataMode::Batch, Some(walk)) => recover_batch(walk, p, map_end, map_target_end).await,
        (DataMode::Batch, None) => return p.start,
    };
    match recovered {
        Ok(found) => {
            let mut maps = lock(maps);
            let applied = maps
                .get_mut(p.source_topic, p.partition)
                .filter(|m| m.source_end() == map_end)
                .map(|m| apply(m, &found, p.start));
            match applied {
                Some(Ok(())) => {
                    tracing::info!(topic = %p.source_topic, partition = p.partition, from = map_end, to = p.start,
                        copies = found.len(), "offset map brought up to date from the clusters");
                }
                Some(Err(e)) => {
                    tracing::warn!(topic = %p.source_topic, partition = p.partition, error = %e,
                        "the offset map cannot be brought up to date; a new map starts at the resume point");
                    maps.remove(p.source_topic, p.partition);
                }
                None => {}
            }
        }
        Err(e) => {
            tracing::warn!(topic = %p.source_topic, partition = p.partition, error = %e,
                "reading the clusters to bring the offset map up to date failed; a new map starts at the resume point");
        }
    }
    p.start
}

fn apply(map: &mut OffsetMap, found: &[Found], start: i64) -> Result<(), OffsetMapError> {
    for f in found {
        match *f {
            Found::Copy { source, target } => map.record(source, target)?,
            Found::Echo { source, target } => map.record_echo(source, target)?,
        }
    }
    map.record_skipped_until(start)
}

/// Batch mode: the copies of source offsets `map_end..p.start`, by walking from the map's end.
async fn recover_batch(
    walk: &crate::resume::BatchResume<'_>,
    p: &ResumingPartition<'_>,
    map_end: i64,
    map_target_end: i64,
) -> Result<Vec<Found>, RecoveryError> {
    let from = crate::checkpoint::Checkpoint {
        source_next: map_end,
        target_next: map_target_end,
    };
    let found = walk
        .walk(from, p.target_end)
        .await
        .map_err(|source| RecoveryError::Walk {
            topic: p.target_topic.to_owned(),
            partition: p.partition,
            source,
        })?;
    // Source offsets between the last copy and the resume point were passed without a copy
    // (e.g. transaction markers); with echoes they might have come from the target, which
    // only the reverse replicator's map could tell: not recovered then.
    if found.next > p.start || (p.echoes && (found.next != p.start || found.came_back)) {
        return Err(RecoveryError::WalkMisses {
            next: found.next,
            start: p.start,
            came_back: found.came_back,
        });
    }
    Ok(found
        .pairs
        .into_iter()
        .map(|(source, target)| Found::Copy { source, target })
        .collect())
}

/// Reads what happened to source offsets `map_end..p.start`.
async fn recover(
    source: &Client,
    target: &Client,
    p: &ResumingPartition<'_>,
    map_end: i64,
    map_target_end: i64,
) -> Result<Vec<Found>, RecoveryError> {
    let read_error = |cluster: &'static str, e: ClientError| RecoveryError::Read {
        cluster,
        topic: p.target_topic.to_owned(),
        partition: p.partition,
        source: Box::new(e),
    };
    let mut found = Vec::new();
    // Copies, from the target's provenance headers.
    let mut next_source = map_end;
    scan_partition(
        target,
        p.target_topic,
        p.partition,
        map_target_end,
        Some(p.target_end),
        IsolationLevel::ReadUncommitted,
        |r| {
            if let Some(Ok(prov)) = Provenance::find(&r.headers) {
                let ours = prov.source == p.source_fp && prov.partition == p.partition;
                if ours && prov.offset >= next_source && prov.offset < p.start {
                    found.push(Found::Copy {
                        source: prov.offset,
                        target: r.offset,
                    });
                    next_source = prov.offset + 1;
                }
            }
            ControlFlow::Continue(())
        },
    )
    .await
    .map_err(|e| read_error("the target", e))?;
    if p.echoes {
        let log_start = log_start_offset(
            source,
            p.source_topic,
            p.partition,
            IsolationLevel::ReadUncommitted,
        )
        .await
        .map_err(|e| read_error("the source", e))?;
        if log_start > map_end {
            return Err(RecoveryError::SourceGone {
                map_end,
                log_start,
                topic: p.source_topic.to_owned(),
                partition: p.partition,
            });
        }
        let mut echoes = Vec::new();
        scan_partition(
            source,
            p.source_topic,
            p.partition,
            map_end,
            Some(p.start),
            IsolationLevel::ReadUncommitted,
            |r| {
                // Exactly the copier's test: from the target, with the original's offset
                // there when the previous hop was the target itself.
                if let Some(Ok(prov)) = Provenance::find(&r.headers) {
                    if prov.origin == p.target_fp
                        && prov.source == p.target_fp
                        && prov.partition == p.partition
                    {
                        echoes.push(Found::Echo {
                            source: r.offset,
                            target: prov.offset,
                        });
                    }
                }
                ControlFlow::Continue(())
            },
        )
        .await
        .map_err(|e| read_error("the source", e))?;
        found.extend(echoes);
        found.sort_by_key(Found::source);
    }
    Ok(found)
}
