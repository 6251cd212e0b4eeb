//! What can go wrong while syncing consumer groups, saving offset maps or bringing a map up to
//! date. The loop that meets one logs it (and counts it) and carries on: one group's or one
//! partition's failure never stops the others. The texts are the ones the logs have always had.

use std::fmt;

use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::producer::ProduceError;
use kreplicate_wire::BrokerError;

use super::commit_ledger::GROUP_COMMITS_TOPIC;
use super::map_store::OFFSET_MAP_TOPIC;
use crate::resume::BatchResumeError;

/// What was being done when a cluster call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    CreateLedgerTopic,
    ReadOwnLedger,
    ReadReverseLedger,
    CreateLedgerProducer,
    FetchSourceOffsets,
    FetchTargetOffsets,
    DescribeTargetGroup,
    DescribeSourceGroup,
    CommitOnTarget,
    WriteLedger,
    CreateMapProducer,
    WriteMaps,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateLedgerTopic => write!(f, "creating {GROUP_COMMITS_TOPIC} on the target"),
            Step::ReadOwnLedger => write!(f, "reading {GROUP_COMMITS_TOPIC} on the target"),
            Step::ReadReverseLedger => write!(f, "reading {GROUP_COMMITS_TOPIC} on the source"),
            Step::CreateLedgerProducer => f.write_str("creating the commit-ledger producer"),
            Step::FetchSourceOffsets => f.write_str("fetching the source offsets"),
            Step::FetchTargetOffsets => f.write_str("fetching the target offsets"),
            Step::DescribeTargetGroup => f.write_str("describing the group on the target"),
            Step::DescribeSourceGroup => f.write_str("describing the group on the source"),
            Step::CommitOnTarget => f.write_str("committing on the target"),
            Step::WriteLedger => f.write_str("writing the commit ledger"),
            Step::CreateMapProducer => f.write_str("creating the offset-map producer"),
            Step::WriteMaps => write!(f, "writing {OFFSET_MAP_TOPIC}"),
        }
    }
}

/// Why a group-sync round, one group's sync or an offset-map save failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GroupSyncError {
    /// A cluster call failed.
    #[error("{step}: {source}")]
    Cluster {
        step: Step,
        #[source]
        source: Box<ClientError>,
    },
    /// A produced record (commit ledger, offset map) was not acknowledged.
    #[error("{step}: {source}")]
    Produce {
        step: Step,
        #[source]
        source: ProduceError,
    },
    /// Listing the source's groups failed (the caller says what was being done).
    #[error(transparent)]
    ListGroups(Box<ClientError>),
    /// The ledger producer is gone (a previous failure closed it; the next round makes one).
    #[error("no commit-ledger producer")]
    NoLedgerProducer,
    /// A group or topic name does not fit the ledger's 16-bit length prefix.
    #[error("group '{group}' {topic}-{partition}: name too long for the commit ledger")]
    LedgerNameTooLong {
        group: String,
        topic: String,
        partition: i32,
    },
    /// The target refused the commit of some partitions.
    #[error("committing on the target: {}", refused_list(.0))]
    CommitRefused(Vec<(String, i32, BrokerError)>),
}

fn refused_list(refused: &[(String, i32, BrokerError)]) -> String {
    let each: Vec<String> = refused
        .iter()
        .map(|(t, p, e)| format!("{t}-{p}: {e}"))
        .collect();
    each.join("; ")
}

impl GroupSyncError {
    /// `step` failed with `source`; for `map_err`.
    pub(crate) fn cluster(step: Step) -> impl FnOnce(ClientError) -> Self {
        move |source| GroupSyncError::Cluster {
            step,
            source: Box::new(source),
        }
    }

    /// A record written during `step` was not acknowledged; for `map_err`.
    pub(crate) fn produce(step: Step) -> impl FnOnce(ProduceError) -> Self {
        move |source| GroupSyncError::Produce { step, source }
    }
}

/// Why a lagging offset map could not be completed from the clusters (the copier then starts
/// a fresh map at the resume point).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecoveryError {
    /// Reading a partition failed.
    #[error("reading {cluster} {topic}-{partition}: {source}")]
    Read {
        /// "the source" or "the target".
        cluster: &'static str,
        topic: String,
        partition: i32,
        #[source]
        source: Box<ClientError>,
    },
    /// Batch mode: walking the target's copies from the map's end failed.
    #[error("walking {topic}-{partition} from the map's end: {source}")]
    Walk {
        topic: String,
        partition: i32,
        #[source]
        source: BatchResumeError,
    },
    /// Batch mode: the copies after the map's end do not end at the resume point.
    #[error(
        "the copies after the map's end lead to source offset {next}, the resume point is {start}{}",
        if *.came_back { " (records that came from the target in between)" } else { "" }
    )]
    WalkMisses {
        next: i64,
        start: i64,
        came_back: bool,
    },
    /// With echoes: the source no longer holds the stretch, so which records came from the
    /// target is unknown.
    #[error("source offsets {map_end}..{log_start} of {topic}-{partition} are gone (retention): which of them came from the target is unknown")]
    SourceGone {
        map_end: i64,
        log_start: i64,
        topic: String,
        partition: i32,
    },
}
