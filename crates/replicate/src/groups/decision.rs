//! What to do with one group partition in one sync round: commit the translated offset on the
//! target, or leave the target alone (and why). Pure, so every rule is tested here.
//!
//! Rules (see docs/offset-sync.md):
//! - `NotYetReplicated`: the answer depends on records the data path has not copied yet; skip
//!   this round (the next round, after the copy, is exact).
//! - `BeforeReplicationStart`: the group's next records were never replicated (replication
//!   started at LATEST after them, or they were pruned); no target position holds them, so
//!   nothing is committed: the consumer on the target starts by its own reset policy.
//! - `Exact(t)` with nothing committed on the target, or `t` past the target's committed
//!   offset: commit `t`.
//! - `Exact(t)` below the target's committed offset: only when the *source* moved back since
//!   the last round (an operator reset the group on the source); otherwise the target is ahead
//!   because consumers made progress there (the group moved, or is moving back) and moving it
//!   back would make them re-read.

use kreplicate_offsets::Translation;

/// Why a partition is left alone this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The target already holds the translated offset.
    UpToDate,
    /// The target is ahead and the source did not move back.
    TargetAhead { target: i64, translated: i64 },
    /// The translation needs records not replicated yet.
    NotYetReplicated { copied_up_to: i64 },
    /// The source position is before the first replicated offset.
    BeforeReplicationStart { start: i64 },
}

/// The outcome for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Commit this offset on the target.
    Commit(i64),
    /// Leave the target as it is.
    Skip(Skip),
}

/// Decides for a source position `source_offset` (translated to `translation`), the target's
/// committed offset `target_committed`, and the source offset seen in the previous round (or
/// last synced before a restart), `previous_source`.
pub(crate) fn decide(
    translation: Translation,
    source_offset: i64,
    previous_source: Option<i64>,
    target_committed: Option<i64>,
) -> Decision {
    let translated = match translation {
        Translation::Exact(t) => t,
        Translation::NotYetReplicated { copied_up_to } => {
            return Decision::Skip(Skip::NotYetReplicated { copied_up_to })
        }
        Translation::BeforeReplicationStart { start } => {
            return Decision::Skip(Skip::BeforeReplicationStart { start })
        }
    };
    match target_committed {
        None => Decision::Commit(translated),
        Some(target) if translated > target => Decision::Commit(translated),
        Some(target) if translated == target => Decision::Skip(Skip::UpToDate),
        Some(target) => {
            let source_moved_back = previous_source.is_some_and(|p| source_offset < p);
            if source_moved_back {
                Decision::Commit(translated)
            } else {
                Decision::Skip(Skip::TargetAhead { target, translated })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Translation::{BeforeReplicationStart, Exact, NotYetReplicated};

    #[test]
    fn commits_forward_and_when_nothing_is_committed() {
        assert_eq!(decide(Exact(10), 5, None, None), Decision::Commit(10));
        assert_eq!(decide(Exact(10), 5, Some(3), Some(8)), Decision::Commit(10));
        assert_eq!(
            decide(Exact(10), 5, Some(5), Some(10)),
            Decision::Skip(Skip::UpToDate)
        );
    }

    #[test]
    fn never_moves_the_target_back_unless_the_source_moved_back() {
        // Consumers progressed on the target; the source stayed where it was.
        assert_eq!(
            decide(Exact(10), 5, Some(5), Some(14)),
            Decision::Skip(Skip::TargetAhead {
                target: 14,
                translated: 10
            })
        );
        // Unknown history (first round, nothing in the ledger): do not move back.
        assert_eq!(
            decide(Exact(10), 5, None, Some(14)),
            Decision::Skip(Skip::TargetAhead {
                target: 14,
                translated: 10
            })
        );
        // The source group was reset from 9 to 5: follow it.
        assert_eq!(
            decide(Exact(10), 5, Some(9), Some(14)),
            Decision::Commit(10)
        );
        // The source moved forward but still translates behind the target: leave it.
        assert_eq!(
            decide(Exact(10), 6, Some(5), Some(14)),
            Decision::Skip(Skip::TargetAhead {
                target: 14,
                translated: 10
            })
        );
    }

    #[test]
    fn unknown_translations_commit_nothing() {
        assert_eq!(
            decide(NotYetReplicated { copied_up_to: 3 }, 7, None, None),
            Decision::Skip(Skip::NotYetReplicated { copied_up_to: 3 })
        );
        assert_eq!(
            decide(BeforeReplicationStart { start: 100 }, 7, Some(9), Some(2)),
            Decision::Skip(Skip::BeforeReplicationStart { start: 100 })
        );
    }
}
