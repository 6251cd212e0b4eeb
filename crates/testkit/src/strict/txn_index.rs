//! read_committed Fetch as Apache Kafka answers it, where Tansu 0.6 lists no aborted transaction.
//!
//! Kafka keeps per partition an index of aborted transactions, fed by the batches it appends: a
//! producer's first transactional batch opens its transaction at that batch's base offset, and
//! its COMMIT or ABORT marker closes it (ProducerAppendInfo.append / appendEndTxnMarker give a
//! CompletedTxn with firstOffset and lastOffset = the marker's offset; an aborted one goes to the
//! TransactionIndex through LogSegment.updateTxnIndex). A read_committed Fetch
//! (FetchIsolation.TXN_COMMITTED) reads up to the last stable offset (UnifiedLog.read:
//! `fetchLastStableOffsetMetadata`) and lists every aborted transaction with
//! `lastOffset >= fetchOffset && firstOffset < upperBoundOffset`
//! (TransactionIndex.collectAbortedTxns, called by LocalLog.addAbortedTransactions: the upper
//! bound is the offset after the returned data); an empty read lists none
//! (LocalLog.emptyFetchDataInfo).
//!
//! The layer builds the same index from the upstream's own log: before answering, it reads the
//! partition itself (read_uncommitted, from where it stopped last time) up to the answer's high
//! watermark, so every marker the broker wrote before answering is indexed, whatever the timing.
//! It never serves a read_committed client data it has not indexed: the last stable offset is the
//! lowest of Tansu's, the first offset of an open transaction, and the end of what it indexed.

use std::collections::HashMap;
use std::sync::Mutex;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::AbortedTransaction;
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId};
use kafka_protocol::protocol::StrBytes;

use super::batch::{BatchError, RawBatch};
use super::upstream;
use super::StrictState;

/// FetchIsolation.TXN_COMMITTED on the wire (`isolation_level`).
const READ_COMMITTED: i8 = 1;
/// Fetch v4 introduced isolation levels and aborted transactions.
const FIRST_TXN_VERSION: i16 = 4;
/// One read of the layer's own scan: Tansu returns whole batches, all of them if they fit.
const SCAN_BYTES: i32 = 16 << 20;
/// Long enough that Tansu on s3 answers with the data below the high watermark.
const SCAN_WAIT_MS: i32 = 100;
/// Answers in a row without a new batch before the scan stops (a hole ends the log for now).
const SCAN_EMPTY_ANSWERS: usize = 3;
/// Reads per scan, at most.
const SCAN_READS: usize = 1000;

/// A partition as a Fetch names it: by name (v4-v12) or by topic id (v13+).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PartitionKey {
    topic: String,
    topic_id: uuid::Uuid,
    partition: i32,
}

/// A completed, aborted transaction: `first` is its first batch's base offset, `last` its
/// ABORT marker's offset (AbortedTxn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AbortedTxn {
    producer_id: i64,
    first: i64,
    last: i64,
}

/// One partition's transactions, as far as the log was read.
#[derive(Debug, Clone, Default)]
struct PartitionTxns {
    /// The offset after the last batch indexed.
    indexed_to: i64,
    /// Producer id -> first offset of its open transaction.
    open: HashMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

impl PartitionTxns {
    /// ProducerAppendInfo.append for one batch of the log.
    fn append(&mut self, batch: &RawBatch) -> Result<(), BatchError> {
        let producer_id = batch.producer_id();
        if let Some(abort) = batch.is_abort_marker()? {
            // appendEndTxnMarker: only a marker that closes a transaction with data completes
            // one.
            if let Some(first) = self.open.remove(&producer_id) {
                if abort {
                    self.aborted.push(AbortedTxn {
                        producer_id,
                        first,
                        last: batch.base_offset(),
                    });
                }
            }
        } else if batch.is_transactional() && !batch.is_control() {
            // appendDataBatch: "Began a new transaction" at the first transactional batch.
            self.open.entry(producer_id).or_insert(batch.base_offset());
        }
        self.indexed_to = batch.last_offset() + 1;
        Ok(())
    }

    /// The last stable offset as far as indexed: the first offset of the earliest open
    /// transaction, else the end of what was read.
    fn last_stable(&self) -> i64 {
        self.open
            .values()
            .copied()
            .min()
            .unwrap_or(self.indexed_to)
            .min(self.indexed_to)
    }

    /// TransactionIndex.collectAbortedTxns(fetchOffset, upperBoundOffset).
    fn aborted_between(&self, fetch_offset: i64, upper_bound: i64) -> Vec<AbortedTransaction> {
        self.aborted
            .iter()
            .filter(|t| t.last >= fetch_offset && t.first < upper_bound)
            .map(|t| {
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(t.producer_id))
                    .with_first_offset(t.first)
            })
            .collect()
    }
}

/// What a read_committed Fetch asked: its version and each partition's fetch offset.
#[derive(Debug)]
pub(crate) struct ReadCommitted {
    version: i16,
    offsets: HashMap<PartitionKey, i64>,
}

/// The request's read_committed details, `None` for read_uncommitted (left as the upstream
/// answers it).
pub(crate) fn read_committed(request: &FetchRequest, version: i16) -> Option<ReadCommitted> {
    if version < FIRST_TXN_VERSION || request.isolation_level != READ_COMMITTED {
        return None;
    }
    let mut offsets = HashMap::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            let key = PartitionKey {
                topic: topic.topic.to_string(),
                topic_id: topic.topic_id,
                partition: p.partition,
            };
            offsets.insert(key, p.fetch_offset);
        }
    }
    Some(ReadCommitted { version, offsets })
}

/// Every partition's aborted transactions, per producer, as the layer read them from the log.
#[derive(Debug, Default)]
pub(crate) struct TxnIndex {
    partitions: Mutex<HashMap<PartitionKey, PartitionTxns>>,
}

impl TxnIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionKey, PartitionTxns>> {
        crate::lock::lock(&self.partitions)
    }

    /// A deleted topic's index is dropped (a topic of the same name starts a new log).
    pub(crate) fn forget_topic(&self, topic: &str) {
        self.lock().retain(|k, _| k.topic != topic);
    }

    /// Every index is dropped: the broker behind restarted (memory storage starts empty).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The partition's index, read from the upstream up to `high_watermark` if it can be.
    async fn indexed(
        &self,
        upstream: &str,
        version: i16,
        key: &PartitionKey,
        high_watermark: i64,
    ) -> PartitionTxns {
        // An index beyond `high_watermark` (another connection read further since this answer
        // was made) is still right below it: the log only grows.
        let mut txns = self.lock().get(key).cloned().unwrap_or_default();
        if txns.indexed_to < high_watermark {
            scan(upstream, version, key, &mut txns, high_watermark).await;
        }
        let mut partitions = self.lock();
        let stored = partitions.entry(key.clone()).or_default();
        if stored.indexed_to < txns.indexed_to {
            *stored = txns.clone();
        }
        txns
    }
}

/// Reads the partition from `txns.indexed_to` (read_uncommitted) and indexes each batch, until
/// `until` or until the log ends for now.
async fn scan(
    upstream: &str,
    version: i16,
    key: &PartitionKey,
    txns: &mut PartitionTxns,
    until: i64,
) {
    let mut empty = 0;
    for _ in 0..SCAN_READS {
        if txns.indexed_to >= until || empty >= SCAN_EMPTY_ANSWERS {
            return;
        }
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(SCAN_WAIT_MS)
            .with_min_bytes(1)
            .with_max_bytes(SCAN_BYTES)
            .with_isolation_level(0)
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(StrBytes::from_string(key.topic.clone()).into())
                .with_topic_id(key.topic_id)
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(key.partition)
                    .with_current_leader_epoch(-1)
                    .with_fetch_offset(txns.indexed_to)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(SCAN_BYTES)])]);
        let response = match upstream::call(upstream, version, &request).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(?key, "strict: reading the log for its transactions: {e:#}");
                return;
            }
        };
        let Some(partition) = response
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .find(|p| p.partition_index == key.partition)
        else {
            empty += 1;
            continue;
        };
        if partition.error_code != 0 {
            tracing::warn!(
                ?key,
                "strict: reading the log for its transactions: error {}",
                partition.error_code
            );
            return;
        }
        let records = partition.records.clone().unwrap_or_default();
        let before = txns.indexed_to;
        for batch in RawBatch::split(&records).0 {
            // Tansu answers a read inside a batch with the whole batch.
            if batch.last_offset() < txns.indexed_to {
                continue;
            }
            if let Err(e) = txns.append(&batch) {
                tracing::warn!(?key, "strict: batch at {}: {e}", batch.base_offset());
                return;
            }
        }
        if txns.indexed_to == before {
            empty += 1;
        } else {
            empty = 0;
        }
    }
}

/// The base offset of a truncated batch, `i64::MAX` if not even that arrived.
fn tail_base(tail: &[u8]) -> i64 {
    tail.get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(i64::MAX, i64::from_be_bytes)
}

/// Makes a read_committed Fetch answer Kafka's: data up to the last stable offset, the aborted
/// transactions of the returned range listed.
pub(crate) async fn apply(state: &StrictState, plan: &ReadCommitted, response: &mut FetchResponse) {
    for topic in &mut response.responses {
        for p in &mut topic.partitions {
            let key = PartitionKey {
                topic: topic.topic.to_string(),
                topic_id: topic.topic_id,
                partition: p.partition_index,
            };
            let Some(&fetch_offset) = plan.offsets.get(&key) else {
                continue;
            };
            if p.error_code != 0 {
                continue;
            }
            let txns = state
                .txns
                .indexed(&state.upstream, plan.version, &key, p.high_watermark)
                .await;
            let mut last_stable = txns.last_stable().min(p.high_watermark);
            if p.last_stable_offset >= 0 {
                last_stable = last_stable.min(p.last_stable_offset);
            }
            let Some(records) = p.records.take() else {
                // No data: Kafka's empty read lists no aborted transaction.
                p.aborted_transactions = Some(Vec::new());
                p.last_stable_offset = last_stable;
                continue;
            };
            let (batches, complete) = RawBatch::split(&records);
            let kept = batches
                .iter()
                .take_while(|b| b.last_offset() < last_stable)
                .count();
            let (records, upper_bound) = if kept < batches.len() {
                let end: usize = batches[..kept].iter().map(RawBatch::size).sum();
                let upper = batches[..kept].last().map(|b| b.last_offset() + 1);
                (records.slice(..end), upper)
            } else if complete < records.len() && tail_base(&records[complete..]) < last_stable {
                // A truncated last batch (size limit) below the last stable offset is returned
                // as Kafka returns it; the bound is then the last stable offset (Kafka's is at
                // or above it).
                (records, Some(last_stable))
            } else if complete < records.len() {
                let upper = batches.last().map(|b| b.last_offset() + 1);
                (records.slice(..complete), upper)
            } else {
                let upper = batches.last().map(|b| b.last_offset() + 1);
                (records, upper)
            };
            p.aborted_transactions = Some(match upper_bound {
                Some(upper) => txns.aborted_between(fetch_offset, upper),
                None => Vec::new(),
            });
            p.records = Some(records);
            p.last_stable_offset = last_stable;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_aborted_txns_uses_kafkas_overlap_rule() {
        let txns = PartitionTxns {
            indexed_to: 30,
            open: HashMap::new(),
            aborted: vec![
                AbortedTxn {
                    producer_id: 7,
                    first: 0,
                    last: 4,
                },
                AbortedTxn {
                    producer_id: 8,
                    first: 10,
                    last: 20,
                },
            ],
        };
        let pids = |fetch, upper| -> Vec<(i64, i64)> {
            txns.aborted_between(fetch, upper)
                .iter()
                .map(|t| (t.producer_id.0, t.first_offset))
                .collect()
        };
        // lastOffset >= fetchOffset && firstOffset < upperBoundOffset
        assert_eq!(pids(0, 10), [(7, 0)]);
        assert_eq!(pids(0, 11), [(7, 0), (8, 10)]);
        assert_eq!(pids(4, 11), [(7, 0), (8, 10)]);
        assert_eq!(pids(5, 11), [(8, 10)]);
        assert_eq!(pids(20, 30), [(8, 10)]);
        assert_eq!(pids(21, 30), Vec::<(i64, i64)>::new());
    }
}
