//! Turning accumulated records (or a pass-through batch) into the bytes of one Produce batch.

use bytes::Bytes;

use super::identity::ProducerIdentity;
use super::record::ProducerRecord;
use crate::client::Error;
use crate::codec::{Compression, RecordBatch, RecordBatchBuilder, RewriteFields};

/// A v2 batch taken from a fetch, to be written to the target without decompressing it.
#[derive(Debug, Clone)]
pub struct RawBatch(RecordBatch);

impl RawBatch {
    /// Wraps a batch. Control batches are refused: they are written by transaction
    /// coordinators, never by producers.
    pub fn new(batch: RecordBatch) -> Result<Self, Error> {
        if batch.is_control() {
            return Err(Error::Config(format!(
                "the batch at offset {} is a control batch and cannot be produced",
                batch.base_offset()
            )));
        }
        Ok(RawBatch(batch))
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.0
    }

    pub(super) fn size(&self) -> usize {
        self.0.size()
    }

    /// How many sequence numbers the batch uses: one per offset it spans (compaction may have
    /// removed records inside, but the broker checks sequences against the offset span).
    pub(super) fn offset_count(&self) -> i32 {
        self.0.last_offset_delta() + 1
    }
}

/// Encodes `records` as one batch stamped with our producer identity and `base_sequence`.
pub(super) fn encode_records(
    records: &[ProducerRecord],
    compression: Compression,
    identity: ProducerIdentity,
    base_sequence: i32,
) -> Result<Bytes, Error> {
    let now = now_ms();
    let mut builder = RecordBatchBuilder::new(compression);
    builder.producer(identity.producer_id, identity.producer_epoch, base_sequence);
    for r in records {
        builder
            .push(
                r.timestamp.unwrap_or(now),
                r.key.as_deref(),
                r.value.as_deref(),
                &r.headers,
            )
            .map_err(|source| Error::Codec {
                context: "cannot encode a record".into(),
                source,
            })?;
    }
    builder.build().map_err(|source| Error::Codec {
        context: format!("cannot encode a batch of {} records", records.len()),
        source,
    })
}

/// Restamps a pass-through batch with our identity and sequence (CRC recomputed by the codec).
pub(super) fn rewrite_raw(
    batch: &RawBatch,
    identity: ProducerIdentity,
    base_sequence: i32,
) -> Bytes {
    batch.0.rewrite(RewriteFields {
        base_offset: Some(0),
        partition_leader_epoch: Some(-1),
        producer_id: Some(identity.producer_id),
        producer_epoch: Some(identity.producer_epoch),
        base_sequence: Some(base_sequence),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
