//! [`Run`]: a stretch of copied records that is contiguous on both sides.

use crate::side::Side;

/// A stretch of copied records that are consecutive on both sides: source
/// offsets `source .. source + len` were copied, in order, to target offsets
/// `target .. target + len`. Each run starts at a *breakpoint*: the first
/// copied record after a gap on either side (which is also where
/// `target - source` may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Run {
    /// Source offset of the first record of the run.
    pub source: i64,
    /// Target offset of the first record of the run.
    pub target: i64,
    /// Number of records in the run (at least 1).
    pub len: i64,
}

impl Run {
    /// One past the source offset of the last record of the run.
    pub fn source_end(&self) -> i64 {
        self.source + self.len
    }

    /// One past the target offset of the last record of the run.
    pub fn target_end(&self) -> i64 {
        self.target + self.len
    }

    /// `target - source` for every record of the run.
    pub fn delta(&self) -> i64 {
        self.target - self.source
    }

    /// First offset of the run on `side`.
    pub(crate) fn start_on(&self, side: Side) -> i64 {
        match side {
            Side::Source => self.source,
            Side::Target => self.target,
        }
    }
}
