//! Fetcher settings.

use std::time::Duration;

/// Which records a fetch may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Everything up to the high watermark, including records of open or aborted transactions.
    ReadUncommitted,
    /// Only up to the last stable offset, with aborted transactions removed.
    #[default]
    ReadCommitted,
}

impl IsolationLevel {
    pub(crate) fn code(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// How much one fetch asks for and how long it may wait.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The broker answers once `min_bytes` are available or after this long.
    pub max_wait: Duration,
    /// Minimum bytes the broker waits for (up to the max wait).
    pub min_bytes: i32,
    /// Cap on one response (the broker still returns one whole batch if it is larger).
    pub max_bytes: i32,
    /// Cap per partition within a response.
    pub partition_max_bytes: i32,
    /// Which records are visible.
    pub isolation: IsolationLevel,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 52_428_800,
            partition_max_bytes: 1_048_576,
            isolation: IsolationLevel::ReadCommitted,
        }
    }
}
