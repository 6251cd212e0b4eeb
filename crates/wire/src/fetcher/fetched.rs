//! What a fetch returned for one partition, and the read_committed filter over it (sans-io).
//!
//! A Fetch answers with whole batches as stored, so it can start *before* the offset asked for
//! and end with a truncated batch. Under read_committed it also lists the aborted transactions
//! in range; removing their batches is the client's job (Kafka's own consumer does the same):
//! walking batches in offset order, a producer id enters the "aborted" set when the walk
//! reaches its first aborted offset, its transactional batches are dropped while it is in the
//! set, and its ABORT marker removes it again. Control batches are never returned.

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::PartitionData;

use super::config::IsolationLevel;
use super::fetcher::FetchPosition;
use crate::client::{Error, Result};
use kreplicate_codec::{Batch, ControlKind, Record, RecordSet};

/// One partition's share of a fetch response.
#[derive(Debug, Clone)]
pub struct FetchedPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The offset that was asked for.
    pub fetch_offset: i64,
    /// The partition's high watermark.
    pub high_watermark: i64,
    /// The last stable offset (read_committed reads up to it).
    pub last_stable_offset: i64,
    /// The log start offset.
    pub log_start_offset: i64,
    /// The record set as the broker sent it.
    pub raw: Bytes,
    /// `(producer id, first offset)` of aborted transactions in range (read_committed only).
    pub aborted: Vec<(i64, i64)>,
    /// The isolation level of the fetch.
    pub isolation: IsolationLevel,
}

/// The visible batches of a fetch and where the next fetch starts.
#[derive(Debug, Clone)]
pub struct VisibleBatches {
    /// Complete batches with at least one offset >= the fetch offset, aborted transactions and
    /// control batches removed, in offset order. The first may start before the fetch offset.
    pub batches: Vec<Batch>,
    /// One past the last offset covered by any complete batch (visible or not), or the fetch
    /// offset when no complete batch arrived.
    pub next_offset: i64,
    /// Offsets skipped because they belong to aborted transactions or are control records:
    /// `(first, last)` ranges, for offset translation and `verify`.
    pub skipped: Vec<(i64, i64)>,
}

impl FetchedPartition {
    pub(super) fn from_response(
        position: &FetchPosition,
        data: PartitionData,
        isolation: IsolationLevel,
    ) -> Self {
        let mut aborted: Vec<(i64, i64)> = data
            .aborted_transactions
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect();
        aborted.sort_by_key(|&(_, first)| first);
        FetchedPartition {
            topic: position.topic.clone(),
            partition: position.partition,
            fetch_offset: position.offset,
            high_watermark: data.high_watermark,
            last_stable_offset: data.last_stable_offset,
            log_start_offset: data.log_start_offset,
            raw: data.records.unwrap_or_default(),
            aborted,
            isolation,
        }
    }

    /// The batches a consumer at `fetch_offset` should see (see the module docs).
    pub fn visible_batches(&self) -> Result<VisibleBatches> {
        visible_batches(
            self.raw.clone(),
            self.fetch_offset,
            &self.aborted,
            self.isolation,
        )
        .map_err(|source| Error::Codec {
            context: format!(
                "cannot decode records of {}-{} fetched at offset {}",
                self.topic, self.partition, self.fetch_offset
            ),
            source,
        })
    }

    /// The visible records at or after the fetch offset, and the next offset to fetch.
    pub fn records(&self) -> Result<(Vec<Record>, i64)> {
        let visible = self.visible_batches()?;
        let mut out = Vec::new();
        for batch in &visible.batches {
            let records = batch.records().map_err(|source| Error::Codec {
                context: format!(
                    "cannot decode records of {}-{} in the batch at offset {}",
                    self.topic,
                    self.partition,
                    batch.last_offset()
                ),
                source,
            })?;
            out.extend(
                records
                    .into_iter()
                    .filter(|r| r.offset >= self.fetch_offset),
            );
        }
        Ok((out, visible.next_offset))
    }
}

/// The read_committed filter (see the module docs), as a pure function.
pub(crate) fn visible_batches(
    raw: Bytes,
    fetch_offset: i64,
    aborted: &[(i64, i64)],
    isolation: IsolationLevel,
) -> Result<VisibleBatches, kreplicate_codec::CodecError> {
    let filter = isolation == IsolationLevel::ReadCommitted;
    let mut next_aborted = aborted.iter().peekable();
    let mut aborting: Vec<i64> = Vec::new();
    let mut out = VisibleBatches {
        batches: Vec::new(),
        next_offset: fetch_offset,
        skipped: Vec::new(),
    };
    for batch in RecordSet::new(raw).batches() {
        let batch = batch?;
        let last = batch.last_offset();
        let first = batch.as_v2().map_or(last, |b| b.base_offset());
        if last < fetch_offset {
            continue;
        }
        out.next_offset = out.next_offset.max(last + 1);
        if filter {
            while let Some(&&(pid, first_offset)) = next_aborted.peek() {
                if first_offset > last {
                    break;
                }
                aborting.push(pid);
                next_aborted.next();
            }
        }
        if let Some(v2) = batch.as_v2() {
            if v2.is_control() {
                if let Some(control) = v2.control_record()? {
                    if control.kind == ControlKind::Abort {
                        aborting.retain(|&p| p != v2.producer_id());
                    }
                }
                out.skipped.push((first, last));
                continue;
            }
            if filter && v2.is_transactional() && aborting.contains(&v2.producer_id()) {
                out.skipped.push((first, last));
                continue;
            }
        }
        out.batches.push(batch);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kreplicate_codec::{Compression, ControlRecord, RecordBatchBuilder};

    fn data(base: i64, pid: i64, transactional: bool, n: usize) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.base_offset(base)
            .producer(pid, 0, 0)
            .transactional(transactional);
        for i in 0..n {
            b.push(
                1000 + i as i64,
                None,
                Some(format!("{base}+{i}").as_bytes()),
                &[],
            )
            .unwrap();
        }
        b.build().unwrap()
    }

    fn marker(offset: i64, pid: i64, kind: ControlKind) -> Bytes {
        let control = ControlRecord {
            kind,
            coordinator_epoch: 0,
        };
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.base_offset(offset)
            .producer(pid, 0, -1)
            .transactional(true)
            .control(true);
        b.push(
            1000,
            Some(&control.encode_key()),
            Some(&control.encode_value()),
            &[],
        )
        .unwrap();
        b.build().unwrap()
    }

    /// pid 7 aborts offsets 0..=2 (marker at 5) and commits 6..=7 (marker at 8); pid 8 writes
    /// 3..=4 outside any transaction.
    fn log() -> Bytes {
        let mut out = BytesMut::new();
        for part in [
            data(0, 7, true, 3),
            data(3, 8, false, 2),
            marker(5, 7, ControlKind::Abort),
            data(6, 7, true, 2),
            marker(8, 7, ControlKind::Commit),
        ] {
            out.extend_from_slice(&part);
        }
        out.freeze()
    }

    fn offsets(v: &VisibleBatches) -> Vec<i64> {
        v.batches
            .iter()
            .flat_map(|b| b.records().unwrap())
            .map(|r| r.offset)
            .collect()
    }

    #[test]
    fn read_committed_removes_aborted_transactions_and_markers() {
        let v = visible_batches(log(), 0, &[(7, 0)], IsolationLevel::ReadCommitted).unwrap();
        assert_eq!(offsets(&v), vec![3, 4, 6, 7]);
        assert_eq!(v.skipped, vec![(0, 2), (5, 5), (8, 8)]);
        assert_eq!(v.next_offset, 9);
    }

    #[test]
    fn read_uncommitted_keeps_aborted_records_but_never_markers() {
        let v = visible_batches(log(), 0, &[], IsolationLevel::ReadUncommitted).unwrap();
        assert_eq!(offsets(&v), vec![0, 1, 2, 3, 4, 6, 7]);
        assert_eq!(v.skipped, vec![(5, 5), (8, 8)]);
    }

    #[test]
    fn batches_before_the_fetch_offset_are_dropped_and_a_cut_tail_is_ignored() {
        let full = log();
        let cut = full.slice(..full.len() - 10);
        let v = visible_batches(cut, 4, &[(7, 0)], IsolationLevel::ReadCommitted).unwrap();
        // The batch 3..=4 straddles the fetch offset and is kept whole (callers skip offset 3);
        // the truncated commit marker at 8 is not counted.
        assert_eq!(offsets(&v), vec![3, 4, 6, 7]);
        assert_eq!(v.next_offset, 8);
    }

    #[test]
    fn a_corrupt_batch_is_an_error() {
        let mut bytes = BytesMut::from(&log()[..]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(visible_batches(bytes.freeze(), 0, &[], IsolationLevel::ReadCommitted).is_err());
    }
}
