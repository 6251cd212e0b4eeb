//! `verify`: proves a copy complete. Per replicated partition it walks the source (committed
//! records only; records that came from the target are skipped, as the replicator skips them)
//! and the target's copies of that partition, and compares them record by record: key, value,
//! headers (without our provenance header) and timestamp. Copies are found by their provenance
//! header (header mode) or by the producer ids replicators from the source registered on the
//! target (batch mode, see docs/guarantees.md); a batch-mode copy does not name its
//! source offset, so the `i`th copy stands for the `i`th source record compared. Records that
//! came from the target are told the same two ways.
//! Each side is folded into a rolling SHA-256 digest; the first source offset where they differ
//! — missing, duplicated, reordered or changed — is reported.

use std::collections::HashSet;
use std::ops::ControlFlow;

use kreplicate_codec::{Record, TimestampType};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{high_watermark, log_start_offset, scan_batches, IsolationLevel};
use sha2::{Digest, Sha256};

use crate::cluster_client::Role;
use crate::producer_registry::Registry;
use crate::provenance::{is_provenance, ClusterFingerprint, Provenance};

test_util_pub! {
    /// The result for one partition.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PartitionVerdict {
        /// The source topic.
        pub topic: String,
        /// Its name on the target.
        pub target_topic: String,
        /// The partition.
        pub partition: i32,
        /// Source offsets compared: `[from, to)`.
        pub from: i64,
        /// End of the compared range (exclusive).
        pub to: i64,
        /// Source records expected on the target.
        pub source_records: u64,
        /// Target records that are copies of records in the range.
        pub target_records: u64,
        /// Source records legitimately absent on the target (they came from the target).
        pub skipped: u64,
        /// SHA-256 over the compared source records.
        pub source_digest: String,
        /// SHA-256 over their copies on the target.
        pub target_digest: String,
        /// The first source offset where the two sides differ, with why.
        pub first_divergence: Option<(i64, String)>,
        /// The target stamped its copies with their append time (a `LogAppendTime` topic): the
        /// source's timestamps cannot be on the target, so timestamps were not compared.
        pub timestamps_replaced: bool,
    }
}

impl PartitionVerdict {
    test_util_pub! {
        /// Whether both sides hold the same records.
        pub fn is_equal(&self) -> bool {
            self.first_divergence.is_none()
        }
    }
}

/// What one partition is compared over.
#[derive(Debug, Clone)]
pub(crate) struct VerifyPartition {
    pub source_topic: String,
    pub target_topic: String,
    pub partition: i32,
    /// First source offset to compare; `None`: the first offset the target holds a copy of (or
    /// the source log start if it holds none).
    pub from: Option<i64>,
    /// End of the range; `None`: the source high watermark when verification starts.
    pub to: Option<i64>,
}

/// A partition that could not be read, and on which cluster.
#[derive(Debug, thiserror::Error)]
#[error("{role} cluster: {source}")]
pub(crate) struct VerifyError {
    /// The cluster that could not be read.
    pub(crate) role: Role,
    #[source]
    /// Why.
    pub(crate) source: ClientError,
}

impl VerifyError {
    fn on(role: Role) -> impl Fn(ClientError) -> Self {
        move |source| VerifyError { role, source }
    }

    /// The partition (or its whole topic) does not exist on that cluster.
    pub(crate) fn is_missing(&self) -> bool {
        crate::groups::internal_topic::is_missing_topic(&self.source)
    }
}

/// The producer ids that tell batch-mode copies apart: those replicators from the source
/// registered on the target (copies), and those replicators from the target registered on the
/// source (records that came from the target). Read once for all partitions.
#[derive(Debug, Clone, Default)]
pub(crate) struct CopyProducers {
    ours: HashSet<i64>,
    theirs: HashSet<i64>,
}

impl CopyProducers {
    /// Reads both producer registries to their end.
    pub(crate) async fn read(
        source: &Client,
        target: &Client,
        source_id: &str,
        target_id: &str,
    ) -> Result<Self, VerifyError> {
        let ours = Registry::new(target.clone())
            .producer_ids_from(ClusterFingerprint::of(source_id))
            .await
            .map_err(VerifyError::on(Role::Target))?;
        let theirs = Registry::new(source.clone())
            .producer_ids_from(ClusterFingerprint::of(target_id))
            .await
            .map_err(VerifyError::on(Role::Source))?;
        Ok(CopyProducers { ours, theirs })
    }
}

/// Compares one partition.
pub(crate) async fn verify_partition(
    source: &Client,
    target: &Client,
    source_id: &str,
    target_id: &str,
    producers: &CopyProducers,
    p: &VerifyPartition,
) -> Result<PartitionVerdict, VerifyError> {
    let on_source = VerifyError::on(Role::Source);
    let on_target = VerifyError::on(Role::Target);
    let source_fp = ClusterFingerprint::of(source_id);
    let target_fp = ClusterFingerprint::of(target_id);
    let CopyProducers { ours, theirs } = producers;
    // The target's copies of this partition, in target order: (source offset when the copy
    // names it, record hash with the timestamp, without it).
    let mut copies: Vec<(Option<i64>, [u8; 32], [u8; 32])> = Vec::new();
    let mut timestamps_replaced = false;
    let target_end = high_watermark(target, &p.target_topic, p.partition)
        .await
        .map_err(&on_target)?;
    let target_start = log_start_offset(
        target,
        &p.target_topic,
        p.partition,
        IsolationLevel::ReadUncommitted,
    )
    .await
    .map_err(&on_target)?;
    for_each_record(
        target,
        &p.target_topic,
        p.partition,
        target_start,
        target_end,
        IsolationLevel::ReadUncommitted,
        |producer_id, r| {
            let named = Provenance::find(&r.headers)
                .and_then(Result::ok)
                .filter(|prov| prov.source == source_fp && prov.partition == p.partition)
                .map(|prov| prov.offset);
            if named.is_some() || ours.contains(&producer_id) {
                timestamps_replaced |= r.timestamp_type == TimestampType::LogAppendTime;
                copies.push((named, record_hash(r, true), record_hash(r, false)));
            }
        },
    )
    .await
    .map_err(&on_target)?;
    let source_start = log_start_offset(
        source,
        &p.source_topic,
        p.partition,
        IsolationLevel::ReadCommitted,
    )
    .await
    .map_err(&on_source)?;
    let to = match p.to {
        Some(to) => to,
        None => high_watermark(source, &p.source_topic, p.partition)
            .await
            .map_err(&on_source)?,
    };
    // A batch-mode first copy names no offset: the comparison then starts at the first source
    // record equal to it (found below).
    let first_named = match copies.first() {
        Some((named, _, _)) => *named,
        None => Some(source_start),
    };
    let scan_from = p
        .from
        .or(first_named)
        .unwrap_or(source_start)
        .max(source_start);
    copies.retain(|(offset, _, _)| offset.is_none_or(|o| o >= scan_from && o < to));
    // A LogAppendTime target replaces every timestamp it stores (Kafka's LogValidator): then
    // both sides are compared without them, and the verdict says so.
    let copies: Vec<(Option<i64>, [u8; 32])> = copies
        .into_iter()
        .map(|(offset, with, without)| (offset, if timestamps_replaced { without } else { with }))
        .collect();

    let mut originals = Vec::new();
    let mut skipped = Vec::new();
    for_each_record(
        source,
        &p.source_topic,
        p.partition,
        scan_from,
        to,
        IsolationLevel::ReadCommitted,
        |producer_id, r| {
            let from_target = theirs.contains(&producer_id)
                || Provenance::find(&r.headers)
                    .and_then(Result::ok)
                    .is_some_and(|prov| prov.origin == target_fp);
            if from_target {
                skipped.push(r.offset);
            } else {
                originals.push((r.offset, record_hash(r, !timestamps_replaced)));
            }
        },
    )
    .await
    .map_err(&on_source)?;
    let mut from = scan_from;
    // A batch-mode first copy names no source offset: it stands for the first source record
    // equal to it. From the replicator's start, the comparison begins there; from the log
    // start, the source records before it are missing on the target.
    let mut align = 0;
    if first_named.is_none() {
        let first = copies.first().map(|c| c.1);
        if let Some(i) = originals.iter().position(|o| Some(o.1) == first) {
            if p.from.is_none() {
                from = originals[i].0;
                originals.drain(..i);
                skipped.retain(|&o| o >= from);
            } else {
                align = i;
            }
        }
    }
    let skipped = skipped.len() as u64;
    // A copy without a named offset stands for the source record at its position.
    let copies: Vec<(i64, [u8; 32])> = copies
        .into_iter()
        .enumerate()
        .map(|(i, (named, hash))| {
            let at = named.unwrap_or_else(|| originals.get(align + i).map_or(to, |o| o.0));
            (at, hash)
        })
        .collect();

    let first_divergence = first_divergence(&originals, &copies);
    Ok(PartitionVerdict {
        topic: p.source_topic.clone(),
        target_topic: p.target_topic.clone(),
        partition: p.partition,
        from,
        to,
        source_records: originals.len() as u64,
        target_records: copies.len() as u64,
        skipped,
        source_digest: digest(&originals),
        target_digest: digest(&copies),
        first_divergence,
        timestamps_replaced,
    })
}

fn first_divergence(
    originals: &[(i64, [u8; 32])],
    copies: &[(i64, [u8; 32])],
) -> Option<(i64, String)> {
    for (i, (o, c)) in originals.iter().zip(copies).enumerate() {
        if o.0 != c.0 {
            let why = if c.0 < o.0 {
                format!(
                    "the target's copy #{i} is of source offset {} (duplicated or out of order)",
                    c.0
                )
            } else {
                "missing on the target".to_string()
            };
            return Some((o.0.min(c.0), why));
        }
        if o.1 != c.1 {
            return Some((
                o.0,
                "content differs (key, value, headers or timestamp)".into(),
            ));
        }
    }
    match originals.len().cmp(&copies.len()) {
        std::cmp::Ordering::Greater => {
            // The tail is missing (e.g. a halted partition): name the whole range.
            let missing = &originals[copies.len()..];
            let (first, last) = (missing[0].0, missing[missing.len() - 1].0);
            Some((
                first,
                format!(
                    "missing on the target: {} records, source offsets {first}..={last}",
                    missing.len()
                ),
            ))
        }
        std::cmp::Ordering::Less => Some((
            copies[originals.len()].0,
            "the target has a copy the source does not have in range (duplicate)".into(),
        )),
        std::cmp::Ordering::Equal => None,
    }
}

/// A record's identity for comparison: key, value, headers without provenance, and the
/// timestamp when `with_timestamp`. Lengths are included so field boundaries cannot blur; null
/// and empty differ.
fn record_hash(r: &Record, with_timestamp: bool) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |b: Option<&[u8]>| match b {
        None => h.update((-1i64).to_be_bytes()),
        Some(b) => {
            h.update((b.len() as i64).to_be_bytes());
            h.update(b);
        }
    };
    field(r.key.as_deref());
    field(r.value.as_deref());
    for header in r.headers.iter().filter(|h| !is_provenance(h)) {
        field(Some(&header.key));
        field(header.value.as_deref());
    }
    if with_timestamp {
        field(Some(&r.timestamp.to_be_bytes()));
    }
    h.finalize().into()
}

fn digest(records: &[(i64, [u8; 32])]) -> String {
    let mut h = Sha256::new();
    for (_, record) in records {
        h.update(record);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Visits the records in `[from, to)` with the producer id of their batch (-1 for legacy
/// message sets).
async fn for_each_record(
    client: &Client,
    topic: &str,
    partition: i32,
    from: i64,
    to: i64,
    isolation: IsolationLevel,
    mut visit: impl FnMut(i64, &Record),
) -> Result<(), ClientError> {
    let mut failed = None;
    scan_batches(client, topic, partition, from, to, isolation, |batch| {
        let producer_id = batch.as_v2().map_or(-1, |b| b.producer_id());
        match batch.records() {
            Ok(records) => {
                for r in records.iter().filter(|r| r.offset >= from && r.offset < to) {
                    visit(producer_id, r);
                }
                ControlFlow::Continue(())
            }
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        }
    })
    .await?;
    match failed {
        Some(source) => Err(ClientError::Codec {
            context: format!("cannot decode a batch of {topic}-{partition}"),
            source,
        }),
        None => Ok(()),
    }
}

/// Where each partition's comparison starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VerifyFrom {
    /// The source log start: every record the source still holds must be on the target, so
    /// records written before the replicator started and never copied are found too.
    #[default]
    LogStart,
    /// The first source offset the target holds a copy of (a replicator started at LATEST is
    /// not blamed for what came before it).
    ReplicatorStart,
}

test_util_pub! {
    /// Verifies every partition of every topic `config` replicates (as the source lists them now),
    /// from where the replicator started copying ([`VerifyFrom::ReplicatorStart`]).
    pub async fn verify_replicator(
        config: &crate::config::ReplicatorConfig,
        client_id: &str,
    ) -> Result<Vec<PartitionVerdict>, crate::error::EngineError> {
        verify_replicator_from(config, client_id, VerifyFrom::ReplicatorStart).await
    }
}

test_util_pub! {
    /// Verifies every partition of every topic `config` replicates (as the source lists them now),
    /// each from `from`. A partition that cannot be read (e.g. its target topic is missing) gets a
    /// verdict saying so; the others are still verified.
    pub async fn verify_replicator_from(
        config: &crate::config::ReplicatorConfig,
        client_id: &str,
        from: VerifyFrom,
    ) -> Result<Vec<PartitionVerdict>, crate::error::EngineError> {
        use crate::cluster_client::connect;
        use crate::error::EngineError;
        let source = connect(&config.source, Role::Source, client_id).await?;
        let target = connect(&config.target, Role::Target, client_id).await?;
        let metadata = source
            .metadata()
            .await
            .map_err(|e| EngineError::cluster(Role::Source, config.source.id.clone(), e))?;
        let producers =
            CopyProducers::read(&source, &target, &config.source.id, &config.target.id).await;
        let mut verdicts = Vec::new();
        for topic in metadata
            .topics
            .values()
            .filter(|t| config.topics.selects(&t.name))
        {
            for p in &topic.partitions {
                let mut part = VerifyPartition {
                    source_topic: topic.name.clone(),
                    target_topic: config.target_topic(&topic.name),
                    partition: p.partition,
                    from: None,
                    to: None,
                };
                if from == VerifyFrom::LogStart {
                    part.from = match log_start_offset(
                        &source,
                        &topic.name,
                        p.partition,
                        IsolationLevel::ReadCommitted,
                    )
                    .await
                    {
                        Ok(start) => Some(start),
                        Err(e) => {
                            let e = VerifyError::on(Role::Source)(e);
                            verdicts.push(PartitionVerdict::unreadable(&part, &e));
                            continue;
                        }
                    };
                }
                let verdict = match &producers {
                    Ok(producers) => match verify_partition(
                        &source,
                        &target,
                        &config.source.id,
                        &config.target.id,
                        producers,
                        &part,
                    )
                    .await
                    {
                        Ok(v) => v,
                        Err(e) => PartitionVerdict::unreadable(&part, &e),
                    },
                    Err(e) => PartitionVerdict::unreadable(&part, e),
                };
                verdicts.push(verdict);
            }
        }
        Ok(verdicts)
    }
}

/// One committed position of a synced group, checked on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupPositionVerdict {
    /// The group id.
    pub(crate) group: String,
    /// The topic on the source.
    pub(crate) source_topic: String,
    /// Its name on the target.
    pub(crate) target_topic: String,
    /// The partition.
    pub(crate) partition: i32,
    /// The group's committed offset on the source.
    pub(crate) source_offset: i64,
    /// Its translation through the saved offset map, when exact.
    pub(crate) expected: Option<i64>,
    /// The group's committed offset on the target, if any.
    pub(crate) target_offset: Option<i64>,
    /// Why no exact translation exists (nothing copied that far yet, or before the start).
    pub(crate) unknown: Option<String>,
}

impl GroupPositionVerdict {
    /// The target holds exactly the translation of the source commit.
    pub(crate) fn is_equal(&self) -> bool {
        self.expected.is_some() && self.expected == self.target_offset
    }
}

/// For each group the configuration syncs, whether its committed offset on the target is the
/// exact translation of its source commit (through the offset maps the replicator saved on
/// the target), partition by partition. Commits the replicator itself wrote on the source
/// (a reverse replicator's) are left out, as the sync leaves them.
pub(crate) async fn verify_groups(
    config: &crate::config::ReplicatorConfig,
    client_id: &str,
) -> Result<Vec<GroupPositionVerdict>, crate::error::EngineError> {
    use crate::cluster_client::connect;
    use crate::error::EngineError;
    use kreplicate_offsets::Translation;
    let source = connect(&config.source, Role::Source, client_id).await?;
    let target = connect(&config.target, Role::Target, client_id).await?;
    let (groups, _) = crate::groups::planned::plan_groups(&source, &target, config)
        .await
        .map_err(|e| EngineError::cluster(Role::Source, config.source.id.clone(), e))?;
    let target_admin = kreplicate_wire::group::GroupAdmin::new(target.clone());
    let mut verdicts = Vec::new();
    for group in groups {
        let on_target = target_admin
            .fetch_offsets(&group.group, None)
            .await
            .map_err(|e| EngineError::cluster(Role::Target, config.target.id.clone(), e))?;
        for p in group.positions {
            let (expected, unknown) = match p.translation {
                Some(Translation::Exact(offset)) => (Some(offset), None),
                Some(Translation::NotYetReplicated { copied_up_to }) => (
                    None,
                    Some(format!(
                        "not copied that far yet (the map knows source offsets below {copied_up_to})"
                    )),
                ),
                Some(Translation::BeforeReplicationStart { start }) => (
                    None,
                    Some(format!(
                        "before the replicated range (which starts at source offset {start})"
                    )),
                ),
                None => (None, Some("no offset map for the partition (nothing copied)".into())),
            };
            verdicts.push(GroupPositionVerdict {
                target_offset: on_target
                    .get(&(p.target_topic.clone(), p.partition))
                    .map(|c| c.offset),
                group: group.group.clone(),
                source_topic: p.source_topic,
                target_topic: p.target_topic,
                partition: p.partition,
                source_offset: p.source_offset,
                expected,
                unknown,
            });
        }
    }
    Ok(verdicts)
}

impl PartitionVerdict {
    /// The verdict for a partition that could not be read.
    fn unreadable(p: &VerifyPartition, e: &VerifyError) -> Self {
        let (topic, what) = match e.role {
            Role::Source => (&p.source_topic, "source"),
            Role::Target => (&p.target_topic, "target"),
        };
        let why = if e.is_missing() {
            format!(
                "MISSING on the {what}: {topic}-{} does not exist ({})",
                p.partition, e.source
            )
        } else {
            format!(
                "cannot read {topic}-{} on the {what}: {}",
                p.partition, e.source
            )
        };
        PartitionVerdict {
            topic: p.source_topic.clone(),
            target_topic: p.target_topic.clone(),
            partition: p.partition,
            from: p.from.unwrap_or(0),
            to: p.to.unwrap_or(0),
            source_records: 0,
            target_records: 0,
            skipped: 0,
            source_digest: String::new(),
            target_digest: String::new(),
            first_divergence: Some((p.from.unwrap_or(0), why)),
            timestamps_replaced: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn finds_the_first_divergence() {
        let s = vec![(0, h(0)), (1, h(1)), (2, h(2))];
        assert_eq!(first_divergence(&s, &s), None);
        let missing = vec![(0, h(0)), (2, h(2))];
        assert_eq!(first_divergence(&s, &missing).unwrap().0, 1);
        let duplicated = vec![(0, h(0)), (1, h(1)), (1, h(1)), (2, h(2))];
        assert_eq!(first_divergence(&s, &duplicated).unwrap().0, 1);
        let changed = vec![(0, h(0)), (1, h(9)), (2, h(2))];
        let (offset, why) = first_divergence(&s, &changed).unwrap();
        assert_eq!((offset, why.contains("content")), (1, true));
        let tail = vec![(0, h(0))];
        assert_eq!(
            first_divergence(&s, &tail),
            Some((
                1,
                "missing on the target: 2 records, source offsets 1..=2".to_string()
            ))
        );
        let tail = vec![(0, h(0)), (1, h(1))];
        assert_eq!(first_divergence(&s, &tail).unwrap().0, 2);
        assert_eq!(first_divergence(&tail, &s).unwrap().0, 2);
    }

    #[test]
    fn record_hash_distinguishes_null_empty_and_ignores_provenance() {
        use bytes::Bytes;
        use kreplicate_codec::Header;
        let base = Record {
            offset: 5,
            timestamp: 1,
            timestamp_type: TimestampType::CreateTime,
            key: None,
            value: Some(Bytes::from_static(b"v")),
            headers: vec![],
        };
        let mut empty_key = base.clone();
        empty_key.key = Some(Bytes::new());
        assert_ne!(record_hash(&base, true), record_hash(&empty_key, true));
        let mut with_prov = base.clone();
        with_prov.headers.push(
            Provenance {
                origin: ClusterFingerprint(1),
                source: ClusterFingerprint(1),
                partition: 0,
                offset: 5,
            }
            .header(),
        );
        assert_eq!(record_hash(&base, true), record_hash(&with_prov, true));
        let mut other_header = base.clone();
        other_header.headers.push(Header::new("h", None));
        assert_ne!(record_hash(&base, true), record_hash(&other_header, true));
        let mut later = base.clone();
        later.timestamp = 2;
        assert_ne!(record_hash(&base, true), record_hash(&later, true));
        assert_eq!(record_hash(&base, false), record_hash(&later, false));
    }
}
