//! [`Translation`]: the answer to "where is this consumer position on the other side?".

/// Result of translating a consumer position (a committed offset, i.e. the
/// next offset to read) from one side to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Translation {
    /// The position on the other side: a consumer that commits it there
    /// reads exactly the copied records it had not read yet, and none it had.
    Exact(i64),
    /// The position lies before the first offset the map covers on the
    /// queried side (`start`): records there were never replicated (e.g.
    /// replication started at LATEST, or they were pruned), so no exact
    /// answer exists. The caller chooses (e.g. the other side's start).
    BeforeReplicationStart {
        /// First offset the map covers on the queried side.
        start: i64,
    },
    /// The position lies beyond what the map knows on the queried side: the
    /// map knows every offset below `copied_up_to` and nothing at or above
    /// it, so the answer depends on records not replicated yet. Retry later.
    NotYetReplicated {
        /// Exclusive end of what the map knows on the queried side.
        copied_up_to: i64,
    },
}

impl Translation {
    /// The translated position, if it is exact.
    pub fn exact(self) -> Option<i64> {
        match self {
            Translation::Exact(offset) => Some(offset),
            _ => None,
        }
    }
}
