//! Where a partition continues after any stop, kill -9 included, without transactions.
//!
//! Header mode ([`resume_point`]): the target itself is the record of what was copied: every copied record carries its source
//! offset in the provenance header, and records are copied in order. So the next source offset
//! is one past the source offset of the last record on the target partition whose provenance
//! names this source cluster and partition. Records written after the last checkpoint are
//! scanned forward from the checkpoint's target offset; without a checkpoint, the partition is
//! scanned backwards from its end in growing windows.

use std::collections::HashSet;
use std::ops::ControlFlow;

use kreplicate_codec::{Record, TimestampType};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{
    high_watermark, log_start_offset, scan_batches, scan_partition, IsolationLevel,
};
use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;
use crate::provenance::{is_provenance, ClusterFingerprint, Provenance};

const FIRST_WINDOW: i64 = 1000;

/// What the target says about one partition's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResumePoint {
    /// The next source offset to copy; `None` when nothing was ever copied or checkpointed.
    pub source_next: Option<i64>,
    /// The target partition's end offset when resuming.
    pub target_end: i64,
    /// Set when the target partition ends before the checkpoint's target offset: it lost
    /// copies the checkpoint vouches for (its topic was deleted and recreated, or it was
    /// truncated). The checkpoint is then not used: `source_next` comes from the copies the
    /// partition holds now, `None` when it holds none (a recreated topic, to copy again).
    pub behind_checkpoint: Option<Checkpoint>,
}

/// Finds where `source`/`partition` continues on `target_topic`.
pub(crate) async fn resume_point(
    target: &Client,
    target_topic: &str,
    partition: i32,
    source: ClusterFingerprint,
    checkpoint: Option<Checkpoint>,
) -> Result<ResumePoint, ClientError> {
    let start = log_start_offset(
        target,
        target_topic,
        partition,
        IsolationLevel::ReadUncommitted,
    )
    .await?;
    let end = high_watermark(target, target_topic, partition).await?;
    let scan = Scan {
        target,
        topic: target_topic,
        partition,
        source,
    };
    let behind_checkpoint = checkpoint.filter(|cp| end < cp.target_next);
    let source_next = match checkpoint {
        // The target lost records the checkpoint vouches for: only its copies tell.
        Some(cp) if end < cp.target_next => scan.last_copied_before(start, end).await?,
        Some(cp) => {
            let found = scan.last_copied(cp.target_next.max(start), end).await?;
            Some(found.map_or(cp.source_next, |next| next.max(cp.source_next)))
        }
        None => scan.last_copied_before(start, end).await?,
    };
    Ok(ResumePoint {
        source_next,
        target_end: end,
        behind_checkpoint,
    })
}

struct Scan<'a> {
    target: &'a Client,
    topic: &'a str,
    partition: i32,
    source: ClusterFingerprint,
}

impl Scan<'_> {
    /// One past the source offset of the last copy in `[start, end)`, scanning backwards from
    /// `end` in growing windows.
    async fn last_copied_before(&self, start: i64, end: i64) -> Result<Option<i64>, ClientError> {
        let mut hi = end;
        let mut window = FIRST_WINDOW;
        loop {
            let lo = (hi - window).max(start);
            if let Some(next) = self.last_copied(lo, hi).await? {
                return Ok(Some(next));
            }
            if lo <= start {
                return Ok(None);
            }
            hi = lo;
            window = window.saturating_mul(4);
        }
    }

    /// One past the source offset of the last record in `[from, to)` copied from our source
    /// partition.
    async fn last_copied(&self, from: i64, to: i64) -> Result<Option<i64>, ClientError> {
        let mut last = None;
        scan_partition(
            self.target,
            self.topic,
            self.partition,
            from,
            Some(to),
            IsolationLevel::ReadUncommitted,
            |r| {
                if let Some(Ok(p)) = Provenance::find(&r.headers) {
                    if p.source == self.source && p.partition == self.partition {
                        last = Some(p.offset + 1);
                    }
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        Ok(last)
    }
}

/// Batch mode ([`batch_resume_point`]): copies carry no header, so the target's copies are
/// told by their producer ids (the replicator's own, from the target's producer registry) and
/// matched with the source's records. From the last checkpoint `(S, T)` — every source
/// offset below `S` copied to below `T`, and copies made in order — the copies at or after `T`
/// are copies of the records the data path would copy from `S` on, in order: the source's
/// records from `S`, without those that came from the target (loop prevention, decided by the
/// same registry) and aborted or control batches. Walking both together, each copy must equal
/// the next such source record (key, value, headers, timestamp); the partition resumes one
/// past the last matched record. Records are compared, not batches: a batch split or
/// re-encoded on its way (too large for the target, compacted with holes, another codec, or
/// re-encoded by the broker) still matches record for record.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum BatchResumeError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "the copy at target offset {target_offset} does not match source offset {source_offset} \
         (the next record the replicator would copy after its last checkpoint): the target or \
         the source partition was changed behind the replicator"
    )]
    Mismatch {
        target_offset: i64,
        source_offset: i64,
    },
    #[error(
        "the target holds {copies} copies after the last checkpoint, but the source partition \
         holds only {matched} records to match them after source offset {from}: was the source \
         topic deleted and recreated?"
    )]
    SourceShort {
        copies: usize,
        matched: usize,
        from: i64,
    },
}

/// What batch-mode resume needs to know besides the partition.
pub(crate) struct BatchResume<'a> {
    pub source: &'a Client,
    pub target: &'a Client,
    pub source_topic: &'a str,
    pub target_topic: &'a str,
    pub partition: i32,
    /// The replicator's producer ids on the target.
    pub own_producer_ids: &'a HashSet<i64>,
    /// Whether a source batch of this producer id came from the target (not copied).
    pub from_target: &'a HashSet<i64>,
}

/// A record's content as compared at resume: key, value, headers (but a `__kreplicate`
/// provenance header, which header mode adds and replaces) and timestamp (unless the target
/// stamps its own, LogAppendTime).
fn digest(r: &Record, with_timestamp: bool) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [r.key.as_deref(), r.value.as_deref()] {
        match part {
            Some(b) => {
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    for header in r.headers.iter().filter(|h| !is_provenance(h)) {
        h.update((header.key.len() as u64).to_be_bytes());
        h.update(&header.key);
        match &header.value {
            Some(v) => {
                h.update((v.len() as u64).to_be_bytes());
                h.update(v);
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    if with_timestamp {
        h.update(r.timestamp.to_be_bytes());
    }
    h.finalize().into()
}

/// A copy on the target after the checkpoint.
struct Copy {
    offset: i64,
    digest: [u8; 32],
    digest_without_timestamp: [u8; 32],
    log_append_time: bool,
}

/// What a walk from a consistent position found.
pub(crate) struct Walk {
    /// `(source offset, target offset)` of each copy, in order.
    pub pairs: Vec<(i64, i64)>,
    /// One past the last matched source record (the start when there was no copy).
    pub next: i64,
    /// Whether records that came from the target lie between the start and `next`.
    pub came_back: bool,
}

impl BatchResume<'_> {
    /// Where the partition continues, from the last checkpoint.
    pub(crate) async fn resume_after(
        &self,
        checkpoint: Checkpoint,
        target_end: i64,
    ) -> Result<i64, BatchResumeError> {
        let walk = self.walk(checkpoint, target_end).await?;
        if !walk.pairs.is_empty() {
            tracing::info!(topic = %self.source_topic, partition = self.partition, copies = walk.pairs.len(),
                from = checkpoint.source_next, next = walk.next, "copies after the checkpoint matched with the source");
        }
        Ok(walk.next)
    }

    /// Walks our copies in `[from.target_next, target_end)` and the source records the data
    /// path copies from `from.source_next` together (see the type's docs). `from` must be a
    /// consistent position: a checkpoint, or where an offset map ends.
    pub(crate) async fn walk(
        &self,
        from: Checkpoint,
        target_end: i64,
    ) -> Result<Walk, BatchResumeError> {
        let checkpoint = from;
        let copies = self.copies(checkpoint.target_next, target_end).await?;
        if copies.is_empty() {
            return Ok(Walk {
                pairs: Vec::new(),
                next: checkpoint.source_next,
                came_back: false,
            });
        }
        let source_end = high_watermark(self.source, self.source_topic, self.partition).await?;
        let mut matched = 0usize;
        let mut next = checkpoint.source_next;
        let mut pairs = Vec::with_capacity(copies.len());
        let mut came_back = false;
        let mut mismatch = None;
        let mut failed = None;
        scan_batches(
            self.source,
            self.source_topic,
            self.partition,
            checkpoint.source_next,
            source_end,
            IsolationLevel::ReadCommitted,
            |batch| {
                if batch
                    .as_v2()
                    .is_some_and(|b| self.from_target.contains(&b.producer_id()))
                {
                    came_back = true;
                    return ControlFlow::Continue(());
                }
                let records = match batch.records() {
                    Ok(r) => r,
                    Err(e) => {
                        failed = Some(e);
                        return ControlFlow::Break(());
                    }
                };
                let from = next;
                for r in records.iter().filter(|r| r.offset >= from) {
                    let copy = &copies[matched];
                    let same = if copy.log_append_time {
                        digest(r, false) == copy.digest_without_timestamp
                    } else {
                        digest(r, true) == copy.digest
                    };
                    if !same {
                        mismatch = Some(BatchResumeError::Mismatch {
                            target_offset: copy.offset,
                            source_offset: r.offset,
                        });
                        return ControlFlow::Break(());
                    }
                    pairs.push((r.offset, copy.offset));
                    matched += 1;
                    next = r.offset + 1;
                    if matched == copies.len() {
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        if let Some(e) = failed {
            return Err(BatchResumeError::Client(ClientError::Codec {
                context: format!(
                    "cannot decode a batch of {}-{} read to resume",
                    self.source_topic, self.partition
                ),
                source: e,
            }));
        }
        if let Some(e) = mismatch {
            return Err(e);
        }
        if matched < copies.len() {
            return Err(BatchResumeError::SourceShort {
                copies: copies.len(),
                matched,
                from: checkpoint.source_next,
            });
        }
        Ok(Walk {
            pairs,
            next,
            came_back,
        })
    }

    /// Whether the target partition holds any copy of ours in `[from, to)`.
    pub(crate) async fn holds_copies(&self, from: i64, to: i64) -> Result<bool, ClientError> {
        let mut found = false;
        scan_batches(
            self.target,
            self.target_topic,
            self.partition,
            from,
            to,
            IsolationLevel::ReadUncommitted,
            |b| {
                found = b
                    .as_v2()
                    .is_some_and(|b| self.own_producer_ids.contains(&b.producer_id()));
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await?;
        Ok(found)
    }

    /// Our copies on the target in `[from, to)`, in order.
    async fn copies(&self, from: i64, to: i64) -> Result<Vec<Copy>, ClientError> {
        let mut copies = Vec::new();
        let mut failed = None;
        scan_batches(
            self.target,
            self.target_topic,
            self.partition,
            from,
            to,
            IsolationLevel::ReadUncommitted,
            |batch| {
                let Some(b) = batch.as_v2() else {
                    return ControlFlow::Continue(());
                };
                if !self.own_producer_ids.contains(&b.producer_id()) {
                    return ControlFlow::Continue(());
                }
                let log_append_time = b.timestamp_type() == TimestampType::LogAppendTime;
                match batch.records() {
                    Ok(records) => copies.extend(
                        records
                            .iter()
                            .filter(|r| r.offset >= from && r.offset < to)
                            .map(|r| Copy {
                                offset: r.offset,
                                digest: digest(r, true),
                                digest_without_timestamp: digest(r, false),
                                log_append_time,
                            }),
                    ),
                    Err(e) => {
                        failed = Some(e);
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        match failed {
            Some(source) => Err(ClientError::Codec {
                context: format!(
                    "cannot decode a batch of {}-{} read to resume",
                    self.target_topic, self.partition
                ),
                source,
            }),
            None => Ok(copies),
        }
    }
}
