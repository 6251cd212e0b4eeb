//! One source partition's data path: fetch → filter / rewrite → produce, with acknowledgements
//! tracked in source-offset order so the position that is checkpointed (and the offset map)
//! only ever covers records the target has acknowledged.
//!
//! Back-pressure: a partition stops fetching while more than its share of bytes is
//! unacknowledged; the producer's own buffer bounds the total.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use kreplicate_codec::{Compression, Header, RecordSet};
use kreplicate_offsets::{OffsetMap, OffsetMaps, TopicPartition};
use kreplicate_wire::client::{Backoff, Error as ClientError, Retriable};
use kreplicate_wire::fetcher::{FetchPosition, FetchedPartition, SharedFetcher};
use kreplicate_wire::producer::{
    ProduceError, Producer, ProducerRecord, RawBatch, RecordsMetadata,
};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointKey, CHECKPOINT_TOPIC};
use crate::groups::reverse_maps::{ReverseCopy, ReverseMaps};
use crate::metrics::{partition_labels, topic_labels, Labels, ReplicatorMetrics};
use crate::options::{DataMode, PanicHook};
use crate::producer_registry::{Registry, RegistryEntry};
use crate::provenance::{is_provenance, ClusterFingerprint, Provenance};
use crate::refusal::{classify, Refusal, Scope, WriteFailure};

mod header_splice;

/// Memory a record in flight holds besides its key and value (its decoded form and headers,
/// the producer's and this copier's bookkeeping: about 500 bytes measured), counted against
/// the unacknowledged-bytes budget: by key and value alone, a budget of 8 MiB let 110,000
/// small records per partition be in flight.
const IN_FLIGHT_RECORD_COST: usize = 512;

/// The most a group of records sent together may count against the budget (in the units of
/// `IN_FLIGHT_RECORD_COST`), and its share of the partition's budget: big enough that the
/// per-group work (a channel message, an acknowledgement, a future) is spread over hundreds of
/// records, small enough that several groups are in flight within the budget.
const MAX_GROUP_COST: usize = 1 << 20;
const GROUPS_PER_BUDGET: usize = 4;

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
    DataPathFailed(String),
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

/// Records collected to be sent with one [`Producer::send_all`].
#[derive(Default)]
struct Group {
    records: Vec<ProducerRecord>,
    source_offsets: Vec<i64>,
    /// Key and value bytes.
    bytes: usize,
    timestamp: i64,
}

impl Group {
    /// What the group counts against the partition's unacknowledged-bytes budget.
    fn cost(&self) -> usize {
        self.bytes + self.records.len() * IN_FLIGHT_RECORD_COST
    }
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
            return CopierExit::DataPathFailed(format!(
                "the starting checkpoint of {}-{} was not acknowledged",
                c.s.source_topic, c.s.partition
            ));
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
                        backoff.get_or_insert_with(|| c.s.fetcher.fetcher().client().retry_policy().backoff());
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Rewrites `record` for the target and adds it to the group, sending the group once it
    /// holds its share of the budget.
    async fn add_record(
        &mut self,
        record: kreplicate_codec::Record,
        provenance: Option<Provenance>,
    ) -> Result<(), CopierExit> {
        if let Some(hook) = &self.s.panic_hook {
            hook.check(&self.s.source_topic, self.s.partition, record.offset);
        }
        // Batch mode copies records as they are (any header included); header mode replaces
        // the previous hop's provenance with its own.
        let mut headers: Vec<Header> = record.headers;
        if self.s.mode == DataMode::Header {
            headers.retain(|h| !is_provenance(h));
            headers.push(
                Provenance {
                    origin: provenance.map_or(self.s.source, |p| p.origin),
                    source: self.s.source,
                    partition: self.s.partition,
                    offset: record.offset,
                }
                .header(),
            );
        }
        let g = &mut self.group;
        g.bytes +=
            record.key.as_ref().map_or(0, Bytes::len) + record.value.as_ref().map_or(0, Bytes::len);
        g.timestamp = g.timestamp.max(record.timestamp);
        g.source_offsets.push(record.offset);
        g.records.push(ProducerRecord {
            key: record.key,
            value: record.value,
            headers,
            timestamp: Some(record.timestamp),
        });
        self.position = record.offset + 1;
        let limit = (self.s.max_unacked_bytes / GROUPS_PER_BUDGET).min(MAX_GROUP_COST);
        if g.cost() >= limit || record.offset < self.s.careful_until {
            self.send_group().await?;
            self.settle(record.offset).await?;
        }
        Ok(())
    }

    /// Hands the collected records to the producer as one group (once the partition is within
    /// its budget) and queues the acknowledgement in offset order.
    async fn send_group(&mut self) -> Result<(), CopierExit> {
        if self.group.records.is_empty() {
            return Ok(());
        }
        self.wait_for_budget().await?;
        let group = std::mem::take(&mut self.group);
        let cost = group.cost();
        let (source_offsets, bytes, timestamp) =
            (group.source_offsets, group.bytes, group.timestamp);
        // In careful mode each record is sent, and acknowledged, alone.
        let alone = source_offsets.len() == 1 && source_offsets[0] < self.s.careful_until;
        let delivery = self
            .s
            .producer
            .send_all(&self.s.target_topic, self.s.partition, group.records)
            .await
            .map_err(|e| CopierExit::DataPathFailed(e.to_string()))?;
        self.unacked_bytes += cost;
        self.pending.push_back(Box::pin(async move {
            match delivery.await {
                Ok(targets) => Outcome::Copied {
                    source_offsets,
                    targets,
                    bytes,
                    timestamp,
                },
                Err(error) => Outcome::Failed {
                    error,
                    first: source_offsets.first().copied().unwrap_or(-1),
                    last: source_offsets.last().copied().unwrap_or(-1),
                    alone,
                },
            }
        }));
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
            .map_err(|e| CopierExit::DataPathFailed(e.to_string()))?;
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
        answer.map_err(|e| {
            CopierExit::DataPathFailed(format!(
                "reading the source's producer registry for {}-{} failed: {e}",
                self.s.source_topic, self.s.partition
            ))
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
            let found = reverse.originals(&copy).await.map_err(|e| {
                CopierExit::DataPathFailed(format!(
                    "reading the reverse replicator's offset maps for {}-{} failed: {e}",
                    self.s.source_topic, self.s.partition
                ))
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

    /// Waits, handling acknowledgements, while this partition holds its share of unacknowledged
    /// bytes. Checking before each fetch is not enough: one fetch of compressed small records
    /// decodes to many times its size (a 1 MiB response of 75-byte LZ4 records put 237,000
    /// records in flight, 280 MiB resident for 4 partitions, `faults_data.rs`).
    async fn wait_for_budget(&mut self) -> Result<(), CopierExit> {
        while self.unacked_bytes >= self.s.max_unacked_bytes {
            let Some(outcome) = self.pending.next().await else {
                break;
            };
            self.handle_outcome(outcome)?;
        }
        Ok(())
    }

    /// Marks source offsets up to `until` as passed without a copy (in order with copies).
    fn skip(&mut self, until: i64, filtered: u64) {
        self.position = self.position.max(until);
        self.pending.push_back(Box::pin(
            async move { Outcome::Skipped { until, filtered } },
        ));
    }

    /// Marks a record that came from the target as an echo of `original` (in order with copies).
    fn echo(&mut self, source_offset: i64, original: i64) {
        self.position = self.position.max(source_offset + 1);
        self.pending.push_back(Box::pin(async move {
            Outcome::Echo {
                source_offset,
                original,
            }
        }));
    }

    fn handle_outcome(&mut self, outcome: Outcome) -> Result<(), CopierExit> {
        let m = &self.s.metrics;
        // Set for copied records: their source timestamp to acknowledgement.
        let mut latency = None;
        match outcome {
            Outcome::Copied {
                source_offsets,
                targets,
                bytes,
                timestamp,
            } => {
                let count = source_offsets.len();
                let (Some(&first_source), Some(&last_source)) =
                    (source_offsets.first(), source_offsets.last())
                else {
                    return Ok(());
                };
                let target_offsets: Vec<i64> = targets.offsets().collect();
                let (Some(&first_target), Some(&last_target)) =
                    (target_offsets.first(), target_offsets.last())
                else {
                    return Err(CopierExit::DataPathFailed(format!(
                        "the producer acknowledged {count} records on {}-{} without offsets",
                        self.s.target_topic, self.s.partition
                    )));
                };
                if target_offsets.len() != count {
                    return Err(CopierExit::DataPathFailed(format!(
                        "the producer acknowledged {count} records on {}-{} with {} offsets",
                        self.s.target_topic,
                        self.s.partition,
                        target_offsets.len()
                    )));
                }
                if first_target < self.target_next {
                    return Err(self.target_went_back(first_source, first_target));
                }
                self.unacked_bytes -= bytes + count * IN_FLIGHT_RECORD_COST;
                self.acked = last_source + 1;
                self.target_next = last_target + 1;
                self.with_map(|m| {
                    source_offsets
                        .iter()
                        .zip(&target_offsets)
                        .try_for_each(|(&s, &t)| m.record(s, t))
                });
                m.replicated_records
                    .get_or_create(&self.topic_labels)
                    .inc_by(count as u64);
                m.replicated_bytes
                    .get_or_create(&self.topic_labels)
                    .inc_by(bytes as u64);
                latency = Some((now_ms() - timestamp).max(0));
            }
            Outcome::CopiedBatch {
                base_offset,
                last_offset,
                target_base,
                bytes,
                timestamp,
            } => {
                if target_base < self.target_next {
                    return Err(self.target_went_back(base_offset, target_base));
                }
                self.unacked_bytes -= bytes;
                self.acked = last_offset + 1;
                self.target_next = target_base + (last_offset - base_offset) + 1;
                self.with_map(|m| {
                    (0..=(last_offset - base_offset))
                        .try_for_each(|i| m.record(base_offset + i, target_base + i))
                });
                m.replicated_records
                    .get_or_create(&self.topic_labels)
                    .inc_by((last_offset - base_offset + 1) as u64);
                m.replicated_bytes
                    .get_or_create(&self.topic_labels)
                    .inc_by(bytes as u64);
                latency = Some((now_ms() - timestamp).max(0));
            }
            Outcome::Skipped { until, filtered } => {
                self.acked = self.acked.max(until);
                self.with_map(|m| m.record_skipped_until(until));
                if filtered > 0 {
                    m.filtered_records
                        .get_or_create(&self.topic_labels)
                        .inc_by(filtered);
                }
            }
            Outcome::Echo {
                source_offset,
                original,
            } => {
                self.acked = self.acked.max(source_offset + 1);
                self.with_map(|m| m.record_echo(source_offset, original));
                m.filtered_records.get_or_create(&self.topic_labels).inc();
            }
            Outcome::Failed {
                error,
                first,
                last,
                alone,
            } => {
                m.failures.get_or_create(&self.topic_labels).inc();
                return Err(match classify(&error.0, &self.s.target_topic) {
                    WriteFailure::DataPath(reason) => CopierExit::DataPathFailed(format!(
                        "writing {}-{} to the target failed: {reason}",
                        self.s.target_topic, self.s.partition
                    )),
                    WriteFailure::Refused(refusal) => {
                        // A topic-wide refusal is not about any record: no use isolating one.
                        let isolated = alone || refusal.scope == Scope::Topic;
                        CopierExit::Refused {
                            offset: if alone { first } else { self.acked },
                            reached: last,
                            isolated,
                            refusal,
                        }
                    }
                });
            }
        }
        if let Some(latency) = latency {
            m.replication_latency_ms
                .get_or_create(&self.labels)
                .set(latency);
        }
        m.board.acked(
            &self.s.source_topic,
            self.s.partition,
            self.acked,
            self.target_next,
            latency,
        );
        Ok(())
    }

    /// A copy acknowledged below a target offset already acknowledged: the target partition
    /// lost records (its topic was deleted and recreated under us, or it was truncated). The
    /// copies it held are gone and cannot be put back before the ones now in it, so the
    /// partition halts, loudly, instead of carrying on as if nothing was lost. Nothing more is
    /// checkpointed: on restart `resume` sees the target behind the checkpoint.
    fn target_went_back(&self, source_offset: i64, target_offset: i64) -> CopierExit {
        CopierExit::Halted {
            offset: source_offset,
            message: format!(
                "the target partition {}-{} went back: the copy of source offset {source_offset} \
                 was written at target offset {target_offset}, but target offsets up to {} were \
                 already acknowledged. The target topic was deleted (or truncated) while \
                 replicating, and the copies of source offsets up to {} it held are gone. To copy \
                 the partition again in full: stop the replicator, delete the target topic, start \
                 the replicator (see docs/guarantees.md)",
                self.s.target_topic,
                self.s.partition,
                self.target_next - 1,
                self.acked - 1,
            ),
        }
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

    /// Applies an update to this partition's offset map. A map that refuses an update (it
    /// would break its ordering invariants) is dropped: translation then reports the partition
    /// as unknown rather than translating wrongly.
    fn with_map(
        &self,
        update: impl FnOnce(&mut OffsetMap) -> Result<(), kreplicate_offsets::OffsetMapError>,
    ) {
        let mut maps = lock(&self.s.offset_maps);
        if let Some(map) = maps.get_mut(&self.s.source_topic, self.s.partition) {
            if let Err(e) = update(map) {
                tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, error = %e, "offset map dropped");
                maps.remove(&self.s.source_topic, self.s.partition);
            }
        }
    }

    /// Sends the acknowledged position as a checkpoint, unless the target already acknowledged
    /// it or one is on its way. It counts as written only once acknowledged
    /// ([`Self::checkpoint_done`]); a failed one is sent again at the next tick.
    async fn checkpoint(&mut self) {
        if !self.checkpoint_delivery.is_empty() {
            return;
        }
        let cp = Checkpoint {
            source_next: self.acked,
            target_next: self.target_next,
        };
        if self.checkpointed == Some(cp) {
            return;
        }
        let producer = &self.s.producer;
        if std::mem::take(&mut self.checkpoint_reset) {
            if let Err(e) = producer.reset_partition(CHECKPOINT_TOPIC, 0).await {
                self.checkpoint_reset = true;
                self.checkpoint_failed(&e.to_string());
                return;
            }
        }
        let sent = producer
            .send(
                CHECKPOINT_TOPIC,
                0,
                ProducerRecord {
                    key: Some(self.s.checkpoint_key.encode()),
                    value: Some(cp.encode()),
                    ..ProducerRecord::default()
                },
            )
            .await;
        match sent {
            Ok(delivery) => self
                .checkpoint_delivery
                .push_back(Box::pin(async move { (cp, delivery.await.map(|_| ())) })),
            Err(e) => self.checkpoint_failed(&e.to_string()),
        }
    }

    fn checkpoint_done(&mut self, cp: Checkpoint, result: Result<(), ProduceError>) {
        match result {
            Ok(()) => self.checkpointed = Some(cp),
            Err(e) => {
                // Whatever failed it (a refusal, the retry deadline), the producer halted the
                // checkpoint partition: lift the halt before the next one.
                self.checkpoint_reset = true;
                self.checkpoint_failed(&e.to_string());
            }
        }
    }

    fn checkpoint_failed(&self, error: &str) {
        self.s.metrics.checkpoint_failures.inc();
        tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, %error,
            "writing the checkpoint of {}-{} failed; retrying at the next checkpoint",
            self.s.source_topic, self.s.partition);
    }

    /// Checkpoints the acknowledged position and waits for the answer (before exiting).
    async fn checkpoint_and_wait(&mut self) {
        // One already on its way may be older than the position: answer it, then send again.
        for _ in 0..2 {
            if let Some((cp, result)) = self.checkpoint_delivery.next().await {
                self.checkpoint_done(cp, result);
            }
            self.checkpoint().await;
        }
        if let Some((cp, result)) = self.checkpoint_delivery.next().await {
            self.checkpoint_done(cp, result);
        }
    }
}
