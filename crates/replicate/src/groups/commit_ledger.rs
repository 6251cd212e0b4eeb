//! The commit ledger: a compacted topic, `__kreplicate-group-commits`, on the cluster where a
//! replicator commits offsets (its target), with one record per group and partition it
//! committed: the offset, the source offset it was translated from, and who wrote it.
//!
//! It serves two readers:
//! - the replicator itself, after a restart: the source offset it last synced per group and
//!   partition, which tells an operator's reset of the source group (the source moved back)
//!   from a consumer that is simply ahead on the target;
//! - a replicator in the opposite direction, which reads this cluster as its *source*: a
//!   committed offset equal to the ledger's is a replicator's commit, not a consumer's, and is
//!   never synced back (anti ping-pong). This works on brokers that drop commit metadata
//!   (Tansu 0.6), where the [`commit marker`](super::commit_marker) is lost.
//!
//! The entry is written (and acknowledged) *before* the commit: a crash in between leaves an
//! entry without a commit, which can at worst make one consumer commit of exactly that offset
//! look like ours (it is then not synced until the consumer commits another offset); the
//! other order could leave our commit unrecognised, and synced back.
//!
//! Key, version 1: `[1][u16 group length][group][u16 topic length][topic][i32 partition]`.
//! Value, version 1: `[1][i64 offset][i64 source offset][u64 source fingerprint]
//! [u16 replicator length][replicator]`. All integers big-endian.

use std::collections::HashMap;
use std::ops::ControlFlow;

use bytes::{BufMut, Bytes, BytesMut};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerRecord};

use super::error::{GroupSyncError, Step};
use super::internal_topic::{readable_range, topic_exists};
use crate::provenance::ClusterFingerprint;

/// The ledger topic (one partition, compacted), on the cluster commits are written to.
pub(crate) const GROUP_COMMITS_TOPIC: &str = "__kreplicate-group-commits";
const VERSION: u8 = 1;

/// A group's partition on the cluster where the commit was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LedgerKey {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

/// One commit a replicator wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LedgerEntry {
    /// The committed offset.
    pub offset: i64,
    /// The source position it was translated from.
    pub source_offset: i64,
    /// Fingerprint of the cluster the position was read on.
    pub source: ClusterFingerprint,
    /// Name of the replicator that wrote it.
    pub replicator: String,
}

fn put_str(out: &mut BytesMut, s: &str) -> Option<()> {
    out.put_u16(u16::try_from(s.len()).ok()?);
    out.put_slice(s.as_bytes());
    Some(())
}

fn take_str(rest: &mut &[u8]) -> Option<String> {
    let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let s = std::str::from_utf8(rest.get(2..2 + len)?).ok()?.to_string();
    *rest = &rest[2 + len..];
    Some(s)
}

fn take_i64(rest: &mut &[u8]) -> Option<i64> {
    let v = i64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    *rest = &rest[8..];
    Some(v)
}

impl LedgerKey {
    /// The key bytes; `None` for a group or topic longer than 65535 bytes (Kafka refuses such
    /// names long before).
    pub(crate) fn encode(&self) -> Option<Bytes> {
        let mut out = BytesMut::with_capacity(9 + self.group.len() + self.topic.len());
        out.put_u8(VERSION);
        put_str(&mut out, &self.group)?;
        put_str(&mut out, &self.topic)?;
        out.put_i32(self.partition);
        Some(out.freeze())
    }

    /// Reads a key; `None` for anything that is not a version 1 ledger key.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut rest = bytes.strip_prefix(&[VERSION])?;
        let group = take_str(&mut rest)?;
        let topic = take_str(&mut rest)?;
        let partition = i32::from_be_bytes(rest.try_into().ok()?);
        Some(LedgerKey {
            group,
            topic,
            partition,
        })
    }
}

impl LedgerEntry {
    /// The value bytes; `None` for a replicator name longer than 65535 bytes.
    pub(crate) fn encode(&self) -> Option<Bytes> {
        let mut out = BytesMut::with_capacity(27 + self.replicator.len());
        out.put_u8(VERSION);
        out.put_i64(self.offset);
        out.put_i64(self.source_offset);
        out.put_u64(self.source.0);
        put_str(&mut out, &self.replicator)?;
        Some(out.freeze())
    }

    /// Reads a value; `None` for anything that is not a version 1 ledger value.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut rest = bytes.strip_prefix(&[VERSION])?;
        let offset = take_i64(&mut rest)?;
        let source_offset = take_i64(&mut rest)?;
        let source = ClusterFingerprint(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?));
        rest = &rest[8..];
        let replicator = take_str(&mut rest)?;
        rest.is_empty().then_some(LedgerEntry {
            offset,
            source_offset,
            source,
            replicator,
        })
    }
}

/// The ledger of one cluster, read incrementally.
#[derive(Debug)]
pub(crate) struct Ledger {
    client: Client,
    /// Next offset of the ledger topic to read.
    next: i64,
    entries: HashMap<LedgerKey, LedgerEntry>,
}

impl Ledger {
    /// The ledger on the cluster `client` talks to; nothing read yet.
    pub(crate) fn new(client: Client) -> Self {
        Ledger {
            client,
            next: 0,
            entries: HashMap::new(),
        }
    }

    /// Reads the records written since the last refresh. A cluster without the ledger topic
    /// has an empty ledger (no replicator commits there).
    pub(crate) async fn refresh(&mut self) -> Result<(), ClientError> {
        if !topic_exists(&self.client, GROUP_COMMITS_TOPIC).await? {
            return Ok(());
        }
        let (start, end) = readable_range(&self.client, GROUP_COMMITS_TOPIC).await?;
        let from = self.next.max(start);
        if from >= end {
            return Ok(());
        }
        let entries = &mut self.entries;
        scan_partition(
            &self.client,
            GROUP_COMMITS_TOPIC,
            0,
            from,
            Some(end),
            IsolationLevel::ReadUncommitted,
            |r| {
                if let Some(key) = r.key.as_deref().and_then(LedgerKey::decode) {
                    match r.value.as_deref().and_then(LedgerEntry::decode) {
                        Some(entry) => entries.insert(key, entry),
                        None => entries.remove(&key),
                    };
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        self.next = end;
        Ok(())
    }

    /// The last entry written for `key`.
    pub(crate) fn get(&self, key: &LedgerKey) -> Option<&LedgerEntry> {
        self.entries.get(key)
    }

    /// Whether `offset` is what a replicator last committed for `key`: then the committed
    /// offset is a replicator's, not a consumer's.
    pub(crate) fn is_replicator_commit(&self, key: &LedgerKey, offset: i64) -> bool {
        self.entries.get(key).is_some_and(|e| e.offset == offset)
    }

    /// Records an entry this process wrote (so it need not be read back).
    pub(crate) fn remember(&mut self, key: LedgerKey, entry: LedgerEntry) {
        self.entries.insert(key, entry);
    }
}

/// Writes `entries` to the ledger topic through `producer` and waits until every one is
/// acknowledged.
pub(crate) async fn write_entries(
    producer: &Producer,
    entries: &[(LedgerKey, LedgerEntry)],
) -> Result<(), GroupSyncError> {
    let mut deliveries = Vec::with_capacity(entries.len());
    for (key, entry) in entries {
        let (Some(k), Some(v)) = (key.encode(), entry.encode()) else {
            return Err(GroupSyncError::LedgerNameTooLong {
                group: key.group.clone(),
                topic: key.topic.clone(),
                partition: key.partition,
            });
        };
        let record = ProducerRecord {
            key: Some(k),
            value: Some(v),
            ..ProducerRecord::default()
        };
        let delivery = producer
            .send(GROUP_COMMITS_TOPIC, 0, record)
            .await
            .map_err(GroupSyncError::cluster(Step::WriteLedger))?;
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        delivery
            .await
            .map_err(GroupSyncError::produce(Step::WriteLedger))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip_with_exact_bytes() {
        let key = LedgerKey {
            group: "g".into(),
            topic: "ab".into(),
            partition: 2,
        };
        let bytes = key.encode().unwrap();
        assert_eq!(
            bytes.as_ref(),
            &[1, 0, 1, b'g', 0, 2, b'a', b'b', 0, 0, 0, 2]
        );
        assert_eq!(LedgerKey::decode(&bytes), Some(key));
        let entry = LedgerEntry {
            offset: 258,
            source_offset: 7,
            source: ClusterFingerprint(1),
            replicator: "r".into(),
        };
        let bytes = entry.encode().unwrap();
        assert_eq!(
            bytes.as_ref(),
            &[
                1, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1,
                b'r'
            ]
        );
        assert_eq!(LedgerEntry::decode(&bytes), Some(entry));
    }

    #[test]
    fn anything_else_is_not_a_ledger_record() {
        let key = LedgerKey {
            group: "group".into(),
            topic: "orders".into(),
            partition: 0,
        }
        .encode()
        .unwrap();
        for cut in 0..key.len() {
            assert_eq!(LedgerKey::decode(&key[..cut]), None, "cut at {cut}");
        }
        let mut longer = key.to_vec();
        longer.push(0);
        assert_eq!(LedgerKey::decode(&longer), None);
        let value = LedgerEntry {
            offset: 1,
            source_offset: 2,
            source: ClusterFingerprint(3),
            replicator: "r".into(),
        }
        .encode()
        .unwrap();
        for cut in 0..value.len() {
            assert_eq!(LedgerEntry::decode(&value[..cut]), None, "cut at {cut}");
        }
        let mut wrong_version = value.to_vec();
        wrong_version[0] = 2;
        assert_eq!(LedgerEntry::decode(&wrong_version), None);
    }
}
