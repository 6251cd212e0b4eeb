//! Where a partition continues after any stop, kill -9 included, without transactions.
//!
//! The target itself is the record of what was copied: every copied record carries its source
//! offset in the provenance header, and records are copied in order. So the next source offset
//! is one past the source offset of the last record on the target partition whose provenance
//! names this source cluster and partition. Records written after the last checkpoint are
//! scanned forward from the checkpoint's target offset; without a checkpoint, the partition is
//! scanned backwards from its end in growing windows.

use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::offsets::{high_watermark, list_offset, EARLIEST};
use std::ops::ControlFlow;

use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};

use crate::checkpoint::Checkpoint;
use crate::provenance::{ClusterFingerprint, Provenance};

const FIRST_WINDOW: i64 = 1000;

/// What the target says about one partition's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
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
pub async fn resume_point(
    target: &Client,
    target_topic: &str,
    partition: i32,
    source: ClusterFingerprint,
    checkpoint: Option<Checkpoint>,
) -> Result<ResumePoint, ClientError> {
    let start = list_offset(target, target_topic, partition, EARLIEST, 0).await?;
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
