//! One source partition's data path: fetch → filter / rewrite → produce, with acknowledgements
//! tracked in source-offset order so the position that is checkpointed (and the offset map)
//! only ever covers records the target has acknowledged.
//!
//! Back-pressure: a partition stops fetching while more than its share of bytes is
//! unacknowledged; the producer's own buffer bounds the total.
//!
//! This file is the loop (fetch, choose a path per batch, send); the record path is in
//! `record_rewrite`, header mode's splicing in `header_splice`, what an acknowledgement does
//! (budget, position, metrics, offset map) in `accounting`, and checkpoints in `checkpointing`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use kreplicate_codec::{Compression, RecordSet};
use kreplicate_offsets::{OffsetMap, OffsetMaps, TopicPartition};
use kreplicate_wire::client::{Backoff, Error as ClientError};
use kreplicate_wire::fetcher::{FetchPosition, FetchedPartition, SharedFetcher};
use kreplicate_wire::producer::{ProduceError, Producer, RawBatch, RecordsMetadata};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointKey};
use crate::groups::reverse_maps::{ReverseCopy, ReverseMaps};
use crate::lock::lock;
use crate::metrics::{partition_labels, topic_labels, Labels, ReplicatorMetrics};
use crate::options::{DataMode, PanicHook};
use crate::producer_registry::{Registry, RegistryEntry};
use crate::provenance::{ClusterFingerprint, Provenance};
use crate::refusal::Refusal;

mod accounting;
mod checkpointing;
mod data_path_error;
mod header_splice;
mod record_rewrite;

pub(crate) use data_path_error::DataPathError;
use record_rewrite::Group;

/// Memory a record in flight holds besides its key and value (its decoded form and headers,
/// the producer's and this copier's bookkeeping: about 500 bytes measured), counted against
/// the unacknowledged-bytes budget: by key and value alone, a budget of 8 MiB let 110,000
/// small records per partition be in flight (the default budget is 32 MiB now).
const IN_FLIGHT_RECORD_COST: usize = 512;

/// How long (in all) a batch that came from the target waits for the reverse replicator's
/// saved offset map to cover it (ENHANCED in batch mode): the map is saved every group sync
/// interval (MSK: 5 s) after the copy is acknowledged.
const ECHO_WAIT: Duration = Duration::from_millis(100);
const ECHO_WAITS: u32 = 150;

/// Why a partition's copier stopped.
#[derive(Debug)]
pub(crate) enum CopierExit {
    /// Asked to stop; everything fetched was acknowledged (and checkpointed, unless the
    /// checkpoint itself failed: logged and counted).
    Stopped,
    /// The target could not be written at all (unreachable past the retry deadline, a
    /// coordinator error...): the whole data path restarts with a fresh producer and resumes
    /// exactly.
    DataPathFailed(Box<DataPathError>),
    /// The target refused a write (see [`crate::refusal`]): this partition stops at `offset`,
    /// everything below it acknowledged; the others are unaffected. `isolated`: the refused
    /// write held only the record (or pass-through batch) at `offset`. Otherwise the refused
    /// batch is somewhere in `offset..=reached`, and copying those records one at a time finds
    /// it.
    Refused {
        offset: i64,
        reached: i64,
        isolated: bool,
        refusal: Refusal,
    },
    /// This partition cannot continue (e.g. a corrupt batch); the others are unaffected.
    Halted { offset: i64, message: String },
}

/// Everything one copier needs.
pub(crate) struct CopierSetup {
    pub source_topic: String,
    pub target_topic: String,
    pub partition: i32,
    pub start: i64,
    pub target_end: i64,
    /// Shared by every copier of the source cluster: one Fetch request per broker.
    pub fetcher: SharedFetcher,
    pub producer: Arc<Producer>,
    pub source: ClusterFingerprint,
    pub target: ClusterFingerprint,
    pub mode: DataMode,
    /// TargetCompressionType: in batch mode a source batch with this codec is written as it is.
    pub compression: Compression,
    /// The source cluster's producer registry: in batch mode, batches of producer ids a
    /// replicator copying from our target registered there came from the target (not copied).
    pub source_registry: Arc<Registry>,
    /// Batch mode, ENHANCED: the reverse replicators' saved maps, which say where the batches
    /// that came from the target were copied from.
    pub reverse_maps: Arc<ReverseMaps>,
    pub metrics: Arc<ReplicatorMetrics>,
    /// The source cluster's alias, the `cluster` label of its auth-error count.
    pub source_alias: String,
    pub checkpoint_key: CheckpointKey,
    pub checkpoint_interval: Duration,
    pub max_unacked_bytes: usize,
    /// Source→target offset maps shared with consumer-group sync.
    pub offset_maps: Arc<Mutex<OffsetMaps>>,
    /// Whether records that came from the target are kept in the map as echoes of their originals (ENHANCED
    /// offset sync; see `kreplicate_offsets`' echo module).
    pub record_echoes: bool,
    /// Source offsets below this are written one record (or pass-through batch) at a time,
    /// each acknowledged before the next: after a refused batch of several records, this
    /// finds the record the target refuses, so the partition halts exactly there.
    pub careful_until: i64,
    /// Test hook (see [`crate::options::PanicHook`]).
    pub panic_hook: Option<PanicHook>,
}

enum Outcome {
    /// A group of records acknowledged: `source_offsets[i]` was written at the group's `i`th
    /// target offset.
    Copied {
        source_offsets: Vec<i64>,
        targets: RecordsMetadata,
        bytes: usize,
        timestamp: i64,
    },
    CopiedBatch {
        base_offset: i64,
        last_offset: i64,
        target_base: i64,
        bytes: usize,
        timestamp: i64,
    },
    Skipped {
        until: i64,
        filtered: u64,
    },
    /// A record that came from the target (not copied): the copy of target offset `original`.
    Echo {
        source_offset: i64,
        original: i64,
    },
    /// Source offsets `first..=last` were not written. `alone`: they were the only ones in
    /// the produced batch (a careful record, or a pass-through batch), so they are what the
    /// target refused; otherwise the refused batch may have held records of other groups.
    Failed {
        error: ProduceError,
        first: i64,
        last: i64,
        alone: bool,
    },
}

struct Copier {
    s: CopierSetup,
    labels: Labels,
    topic_labels: Labels,
    /// Next source offset to fetch.
    position: i64,
    /// Every source offset below this is acknowledged on the target or deliberately skipped.
    acked: i64,
    target_next: i64,
    /// The last checkpoint the target acknowledged.
    checkpointed: Option<Checkpoint>,
    /// The checkpoint on its way (at most one).
    checkpoint_delivery: FuturesOrdered<BoxFuture<'static, (Checkpoint, Result<(), ProduceError>)>>,
    /// The last checkpoint failed because its partition refused it: the producer's halt on
    /// that partition is lifted before the next one.
    checkpoint_reset: bool,
    pending: FuturesOrdered<BoxFuture<'static, Outcome>>,
    unacked_bytes: usize,
    /// Records decoded and rewritten, not yet handed to the producer (sent as one group).
    group: Group,
}

/// Runs one partition until stopped or failed.
pub(crate) async fn run_copier(setup: CopierSetup, mut stop: watch::Receiver<bool>) -> CopierExit {
    // Continue the partition's offset map if it ends where we start; otherwise the map is
    // stale (e.g. rebuilt from an older save) and a fresh one starts here.
    {
        let mut maps = lock(&setup.offset_maps);
        let continues = maps
            .get(&setup.source_topic, setup.partition)
            .is_some_and(|m| m.source_end() == setup.start && m.target_end() <= setup.target_end);
        if !continues {
            match OffsetMap::new(
                TopicPartition {
                    topic: setup.source_topic.clone(),
                    partition: setup.partition,
                },
                setup.start,
                setup.target_end,
            ) {
                Ok(m) => {
                    maps.insert(m);
                }
                Err(e) => {
                    return CopierExit::Halted {
                        offset: setup.start,
                        message: e.to_string(),
                    }
                }
            }
        }
    }
    let mut c = Copier {
        labels: partition_labels(&setup.source_topic, setup.partition),
        topic_labels: topic_labels(&setup.source_topic),
        position: setup.start,
        acked: setup.start,
        target_next: setup.target_end,
        checkpointed: None,
        checkpoint_delivery: FuturesOrdered::new(),
        checkpoint_reset: false,
        pending: FuturesOrdered::new(),
        unacked_bytes: 0,
        group: Group::default(),
        s: setup,
    };
    c.s.metrics
        .board
        .started(&c.s.source_topic, c.s.partition, c.acked, c.target_next);
    // Record the starting point at once: a LATEST start must survive a restart. In batch mode
    // the copies after the last checkpoint are what resume matches against the source, so no
    // copy may land before a checkpoint vouches for where they start.
    if c.s.mode == DataMode::Batch {
        c.checkpoint_and_wait().await;
        if c.checkpointed.is_none() {
            return CopierExit::DataPathFailed(Box::new(DataPathError::StartingCheckpoint {
                topic: c.s.source_topic.clone(),
                partition: c.s.partition,
            }));
        }
    } else {
        c.checkpoint().await;
    }
    let mut ticker = tokio::time::interval(c.s.checkpoint_interval);
    let mut fetching: Option<BoxFuture<'static, Result<FetchedPartition, ClientError>>> = None;
    let mut backoff: Option<Backoff> = None;
    let mut stopping = *stop.borrow();
    loop {
        if stopping && fetching.is_none() && c.pending.is_empty() {
            c.checkpoint_and_wait().await;
            return CopierExit::Stopped;
        }
        if !stopping && fetching.is_none() && c.unacked_bytes < c.s.max_unacked_bytes {
            let fetcher = c.s.fetcher.clone();
            let position = FetchPosition {
                topic: c.s.source_topic.clone(),
                partition: c.s.partition,
                offset: c.position,
            };
            let wait = backoff.as_mut().map(Backoff::next_wait);
            fetching = Some(Box::pin(async move {
                if let Some(wait) = wait {
                    tokio::time::sleep(wait).await;
                }
                fetcher.fetch(position).await
            }));
        }
        tokio::select! {
            result = async { fetching.as_mut().expect("guarded").await }, if fetching.is_some() => {
                fetching = None;
                match result {
                    Ok(fetched) => {
                        backoff = None;
                        if let Err(exit) = c.handle_fetch(fetched).await {
                            return c.finish(exit).await;
                        }
                    }
                    Err(e) => {
                        if let Some(exit) = c.handle_fetch_error(e) {
                            return exit;
                        }
                        backoff.get_or_insert_with(|| c.s.fetcher.client().config().retry.backoff());
                    }
                }
            }
            Some(outcome) = c.pending.next(), if !c.pending.is_empty() => {
                if let Err(exit) = c.handle_outcome(outcome) {
                    return c.finish(exit).await;
                }
            }
            Some((cp, result)) = c.checkpoint_delivery.next(), if !c.checkpoint_delivery.is_empty() => {
                c.checkpoint_done(cp, result);
            }
            _ = ticker.tick() => c.checkpoint().await,
            _ = stop.changed(), if !stopping => stopping = true,
        }
    }
}

/// Bytes of the complete, valid batches at the start of `raw` (up to the first bad one).
fn good_prefix_len(raw: &Bytes) -> usize {
    RecordSet::new(raw.clone())
        .batches()
        .map_while(Result::ok)
        .map(|b| b.raw().len())
        .sum()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Copier {
    async fn handle_fetch(&mut self, fetched: FetchedPartition) -> Result<(), CopierExit> {
        let end = if fetched.last_stable_offset >= 0 {
            fetched.last_stable_offset
        } else {
            fetched.high_watermark
        };
        self.s.metrics.bytes_in.inc_by(fetched.raw.len() as u64);
        // A corrupt batch fails the whole record set, but the batches before it are good: they
        // are copied first, so the partition halts exactly at the bad batch (nothing before it
        // left behind, nothing after it skipped).
        let (visible, corrupt) = match fetched.visible_batches() {
            Ok(visible) => (visible, None),
            Err(e) => {
                let good = FetchedPartition {
                    raw: fetched.raw.slice(..good_prefix_len(&fetched.raw)),
                    ..fetched.clone()
                };
                let visible = good.visible_batches().map_err(|e| CopierExit::Halted {
                    offset: self.position,
                    message: e.to_string(),
                })?;
                (visible, Some(e.to_string()))
            }
        };
        for batch in &visible.batches {
            let v2 = batch.as_v2();
            // A batch larger than the target topic accepts is re-batched from its records: the
            // target would refuse it whole (MESSAGE_TOO_LARGE) though each record fits.
            let limit = self
                .s
                .producer
                .max_message_bytes(&self.s.target_topic)
                .unwrap_or(usize::MAX);
            if self.s.mode == DataMode::Batch {
                if let Some(b) = v2 {
                    if let Some(writer) = self.came_from_target(b.producer_id()).await? {
                        // Acknowledgements are handled in offset order: what was collected goes first.
                        self.send_group().await?;
                        if self.s.record_echoes && self.echo_batch(b, &writer).await? {
                            continue;
                        }
                        let skipped = b.next_offset().max(self.position) - self.position;
                        let count = (b.record_count() as i64).min(skipped).max(0) as u64;
                        self.skip(b.next_offset(), count);
                        continue;
                    }
                }
            }
            // Written as it is only when Kafka accepts it as it is: contiguous inner offsets (a
            // compacted batch with holes would be stored re-encoded), the target's codec, within
            // the target topic's size limit, and wholly after the position (a resume inside a
            // batch copies its remaining records). After a refused batch its records go one
            // at a time (careful mode), to find the one the target refuses.
            // (Header mode splices such a batch into one target batch in any codec.)
            let whole = v2.is_some_and(|b| {
                b.base_offset() >= self.position
                    && b.base_offset() >= self.s.careful_until
                    && b.record_count() as i64 == b.last_offset_delta() as i64 + 1
                    && b.size() <= limit
            });
            let same_codec = v2.is_some_and(|b| b.compression() == self.s.compression);
            if self.s.mode == DataMode::Batch && whole && same_codec {
                let b = v2.expect("checked").clone();
                self.send_raw(b).await?;
                continue;
            }
            // Another codec: the records section is re-compressed as it is, without decoding
            // the records (one target batch per source batch, as above). A batch that grows
            // past the limit, or whose section does not decompress, takes the record path,
            // which splits it or names what is wrong.
            if self.s.mode == DataMode::Batch && whole {
                let recompressed = v2
                    .expect("checked")
                    .recompress(self.s.compression)
                    .ok()
                    .and_then(|raw| kreplicate_codec::RecordBatch::new(raw).ok())
                    .filter(|b| b.size() <= limit);
                if let Some(b) = recompressed {
                    self.send_raw(b).await?;
                    continue;
                }
            }
            if self.s.mode == DataMode::Header
                && whole
                && self.send_spliced(v2.expect("checked"), limit).await?
            {
                continue;
            }
            let records = batch.records().map_err(|e| CopierExit::Halted {
                offset: batch.as_v2().map_or(self.position, |b| b.base_offset()),
                message: format!("cannot decode the batch: {e}"),
            })?;
            let from = self.position;
            for record in records.into_iter().filter(|r| r.offset >= from) {
                if self.s.mode == DataMode::Batch {
                    self.add_record(record, None).await?;
                    continue;
                }
                let provenance = Provenance::find(&record.headers).and_then(Result::ok);
                if let Some(p) = provenance.filter(|p| p.origin == self.s.target) {
                    // It came from the target: copying it back would loop. When the previous
                    // hop was the target itself, the header names the original there.
                    let direct = p.source == self.s.target && p.partition == self.s.partition;
                    // Acknowledgements are handled in offset order: what was collected goes first.
                    self.send_group().await?;
                    if self.s.record_echoes && direct {
                        self.echo(record.offset, p.offset);
                    } else {
                        self.skip(record.offset + 1, 1);
                    }
                    continue;
                }
                self.add_record(record, provenance).await?;
            }
            self.send_group().await?;
        }
        // Offsets the fetch covered without a copied record: control batches, aborted
        // transactions, compaction holes, filtered records at the end.
        if visible.next_offset > self.position {
            self.skip(visible.next_offset, 0);
        }
        let lag = (end - self.position).max(0);
        self.s
            .metrics
            .message_lag
            .get_or_create(&self.labels)
            .set(lag);
        // Caught up with nothing in flight: no record is waiting, so there is no latency to
        // report; the last copied record's latency would otherwise stay forever on an idle
        // source (`status` NOT READY after a backlog copy). The next copy sets it again.
        let caught_up = end <= self.position && self.acked >= self.position;
        if caught_up {
            self.s.metrics.replication_latency_ms.remove(&self.labels);
        }
        self.s
            .metrics
            .board
            .fetched(&self.s.source_topic, self.s.partition, end, lag, caught_up);
        match corrupt {
            Some(message) => Err(CopierExit::Halted {
                offset: self.position,
                message,
            }),
            None => Ok(()),
        }
    }

    /// Before exiting on a halt, waits for the writes already sent (the records before the
    /// halting offset) and checkpoints them. After a refusal, what is still pending was sent
    /// behind the refused write and fails with it (the producer halted the partition): it is
    /// dropped, and the acknowledged position checkpointed. A data-path failure exits at once.
    async fn finish(&mut self, exit: CopierExit) -> CopierExit {
        match exit {
            CopierExit::Halted { .. } => {
                while let Some(outcome) = self.pending.next().await {
                    if let Err(failed) = self.handle_outcome(outcome) {
                        return Box::pin(self.finish(failed)).await;
                    }
                }
            }
            CopierExit::Refused { .. } => self.pending = FuturesOrdered::new(),
            CopierExit::Stopped | CopierExit::DataPathFailed(_) => return exit,
        }
        self.checkpoint_and_wait().await;
        exit
    }

    /// In careful mode (see [`CopierSetup::careful_until`]), waits until everything sent is
    /// acknowledged.
    async fn settle(&mut self, offset: i64) -> Result<(), CopierExit> {
        if offset >= self.s.careful_until {
            return Ok(());
        }
        while let Some(outcome) = self.pending.next().await {
            self.handle_outcome(outcome)?;
        }
        Ok(())
    }

    async fn send_raw(&mut self, batch: kreplicate_codec::RecordBatch) -> Result<(), CopierExit> {
        let (base_offset, last_offset) = (batch.base_offset(), batch.last_offset());
        let timestamp = batch.max_timestamp();
        let bytes = batch.size();
        let raw = RawBatch::new(batch).map_err(|e| CopierExit::Halted {
            offset: base_offset,
            message: e.to_string(),
        })?;
        self.wait_for_budget().await?;
        let delivery = self
            .s
            .producer
            .send_raw(&self.s.target_topic, self.s.partition, raw)
            .await
            .map_err(|e| CopierExit::DataPathFailed(Box::new(DataPathError::Send(e))))?;
        self.unacked_bytes += bytes;
        self.position = last_offset + 1;
        self.pending.push_back(Box::pin(async move {
            match delivery.await {
                Ok(meta) => Outcome::CopiedBatch {
                    base_offset,
                    last_offset,
                    target_base: meta.offset,
                    bytes,
                    timestamp,
                },
                // A batch is written whole or not at all. Of several records, the refused one is
                // found by copying them one at a time (careful mode).
                Err(error) => Outcome::Failed {
                    error,
                    first: base_offset,
                    last: last_offset,
                    alone: last_offset == base_offset,
                },
            }
        }));
        self.settle(base_offset).await
    }

    /// Batch mode's loop prevention: whether batches of `producer_id` were written by a
    /// replicator copying from our target (see [`crate::producer_registry`]).
    async fn came_from_target(
        &mut self,
        producer_id: i64,
    ) -> Result<Option<RegistryEntry>, CopierExit> {
        // Only owned values across the await: the copier itself is not `Sync`.
        let (registry, target) = (self.s.source_registry.clone(), self.s.target);
        let answer = registry
            .written_by_replicator_from(producer_id, target)
            .await;
        answer.map_err(|source| {
            CopierExit::DataPathFailed(Box::new(DataPathError::ProducerRegistry {
                topic: self.s.source_topic.clone(),
                partition: self.s.partition,
                source,
            }))
        })
    }

    /// Batch mode, ENHANCED: records `batch` (written by the reverse replicator `writer`) as
    /// echoes of its originals on the target, found through the reverse replicator's saved
    /// offset map. That map is saved shortly after the copy was acknowledged: this waits for
    /// it (bounded). False when it does not come: the batch is then passed as skipped, and
    /// translation around it is that of LEGACY (logged).
    async fn echo_batch(
        &mut self,
        batch: &kreplicate_codec::RecordBatch,
        writer: &RegistryEntry,
    ) -> Result<bool, CopierExit> {
        let offsets: Vec<i64> =
            if batch.record_count() as i64 == batch.last_offset_delta() as i64 + 1 {
                (batch.base_offset()..=batch.last_offset()).collect()
            } else {
                // Compacted on the source: only the records say which offsets remain.
                match batch.records() {
                    Ok(records) => records.filter_map(Result::ok).map(|r| r.offset).collect(),
                    Err(_) => return Ok(false),
                }
            };
        let offsets: Vec<i64> = offsets
            .into_iter()
            .filter(|&o| o >= self.position)
            .collect();
        if offsets.is_empty() {
            return Ok(false);
        }
        let reverse = self.s.reverse_maps.clone();
        let (topic, partition) = (self.s.target_topic.clone(), self.s.partition);
        for _ in 0..ECHO_WAITS {
            let copy = ReverseCopy {
                replicator: &writer.replicator,
                origin: writer.source,
                topic: &topic,
                partition,
                offsets: &offsets,
            };
            let found = reverse.originals(&copy).await.map_err(|source| {
                CopierExit::DataPathFailed(Box::new(DataPathError::ReverseMaps {
                    topic: self.s.source_topic.clone(),
                    partition: self.s.partition,
                    source,
                }))
            })?;
            if let Some(originals) = found {
                for (copy, original) in offsets.iter().zip(originals) {
                    self.echo(*copy, original);
                }
                return Ok(true);
            }
            tokio::time::sleep(ECHO_WAIT).await;
        }
        tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, offset = offsets[0],
            replicator = %writer.replicator,
            "the reverse replicator's saved offset map does not cover the records it copied to \
             {}-{} at offsets {}..={}: they are passed without echoes (is its offset sync ENHANCED?)",
            self.s.source_topic, self.s.partition, offsets[0], offsets[offsets.len() - 1]);
        Ok(false)
    }

    /// Returns an exit for errors that end this copier; retriable ones return `None`.
    fn handle_fetch_error(&mut self, e: ClientError) -> Option<CopierExit> {
        match e {
            ClientError::OffsetOutOfRange {
                log_start_offset,
                high_watermark,
                ..
            } if log_start_offset > self.position => {
                // Retention removed records we had not copied: a gap. Never silent.
                let lost = log_start_offset - self.position;
                tracing::error!(
                    topic = %self.s.source_topic,
                    partition = self.s.partition,
                    first = self.position,
                    last = log_start_offset - 1,
                    "GAP: source offsets {}..={} of {}-{} were removed by retention before they were copied ({lost} offsets)",
                    self.position, log_start_offset - 1, self.s.source_topic, self.s.partition
                );
                self.s
                    .metrics
                    .gap_records
                    .get_or_create(&self.labels)
                    .inc_by(lost as u64);
                let _ = high_watermark;
                self.skip(log_start_offset, 0);
                None
            }
            ClientError::OffsetOutOfRange {
                offset,
                log_start_offset,
                high_watermark,
                ..
            } => Some(CopierExit::Halted {
                offset,
                message: format!(
                    "the source partition's log is now {log_start_offset}..{high_watermark}, \
                     behind the replicator's position: was the source topic deleted and recreated?"
                ),
            }),
            ClientError::Codec { context, source } => Some(CopierExit::Halted {
                offset: self.position,
                message: format!("{context}: {source}"),
            }),
            e if e.is_retriable() => {
                tracing::debug!(topic = %self.s.source_topic, partition = self.s.partition, error = %e, "fetch failed; retrying");
                None
            }
            e => {
                if e.is_auth() {
                    // Counted where it is seen, so a rotated-away password shows at once
                    // (MSK AuthError), not at the next topic refresh.
                    self.s
                        .metrics
                        .auth_errors
                        .get_or_create(&crate::metrics::cluster_labels(&self.s.source_alias))
                        .inc();
                }
                self.s
                    .metrics
                    .failures
                    .get_or_create(&self.topic_labels)
                    .inc();
                tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, error = %e, "fetch failed; retrying");
                None
            }
        }
    }
}
