//! The record path: source records rewritten for the target (header mode's provenance
//! header; batch mode's records as they are) and sent in groups, one acknowledgement each.

use bytes::Bytes;
use kreplicate_codec::Header;
use kreplicate_wire::producer::ProducerRecord;

use super::{Copier, CopierExit, DataPathError, Outcome, IN_FLIGHT_RECORD_COST};
use crate::options::DataMode;
use crate::provenance::{is_provenance, Provenance};

/// The most a group of records sent together may count against the budget (in the units of
/// `IN_FLIGHT_RECORD_COST`), and its share of the partition's budget: big enough that the
/// per-group work (a channel message, an acknowledgement, a future) is spread over hundreds of
/// records, small enough that several groups are in flight within the budget.
const MAX_GROUP_COST: usize = 1 << 20;
const GROUPS_PER_BUDGET: usize = 4;

/// Records collected to be sent with one
/// [`Producer::send_all`](kreplicate_wire::producer::Producer::send_all).
#[derive(Default)]
pub(super) struct Group {
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

impl Copier {
    /// Rewrites `record` for the target and adds it to the group, sending the group once it
    /// holds its share of the budget.
    pub(super) async fn add_record(
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
    pub(super) async fn send_group(&mut self) -> Result<(), CopierExit> {
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
            .map_err(|e| CopierExit::DataPathFailed(Box::new(DataPathError::Send(e))))?;
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
}
