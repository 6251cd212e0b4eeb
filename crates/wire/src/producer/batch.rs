//! Turning accumulated records (or a pass-through batch) into the bytes of one Produce batch.

use bytes::Bytes;

use super::identity::ProducerIdentity;
use super::record::ProducerRecord;
use crate::client::Error;
use kreplicate_codec::{Compression, RecordBatch, RecordBatchBuilder, RewriteFields};

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

    test_util_pub! {
        /// The batch.
        pub fn batch(&self) -> &RecordBatch {
            &self.0
        }
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
///
/// The transactional bit is cleared: a batch fetched from a committed transaction is written
/// by our idempotent, non-transactional producer, and Kafka refuses a transactional batch in a
/// Produce request without a transactional id (KafkaApis.scala, handleProduceRequest:
/// `RequestUtils.hasTransactionalRecords` with a null `transactionalId` answers
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the whole request). Only committed batches reach here: read_committed
/// fetches drop aborted ones, and control batches are refused by [`RawBatch::new`].
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
        transactional: Some(false),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kreplicate_codec::{RecordBatchBuilder, TimestampType};

    fn source_batch(compression: Compression, transactional: bool) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(compression);
        b.base_offset(1_000)
            .partition_leader_epoch(7)
            .producer(55, 3, 900)
            .transactional(transactional)
            .timestamp_type(TimestampType::LogAppendTime);
        for i in 0..5u8 {
            b.push(
                1_700_000_000_000 + i64::from(i),
                Some(&[i]),
                Some(&[i; 40]),
                &[],
            )
            .unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    #[test]
    fn a_committed_transactional_batch_is_written_as_a_plain_idempotent_one() {
        let identity = ProducerIdentity {
            producer_id: 4242,
            producer_epoch: 1,
        };
        for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
            for transactional in [true, false] {
                let source = source_batch(compression, transactional);
                assert_eq!(source.is_transactional(), transactional);
                let raw = RawBatch::new(source.clone()).unwrap();
                let out = RecordBatch::new(rewrite_raw(&raw, identity, 17))
                    .expect("the CRC is recomputed");
                assert!(!out.is_transactional(), "{compression:?}");
                assert_eq!(
                    (
                        out.base_offset(),
                        out.partition_leader_epoch(),
                        out.producer_id(),
                        out.producer_epoch(),
                        out.base_sequence()
                    ),
                    (0, -1, 4242, 1, 17)
                );
                // Codec and timestamp type stay; only the transactional bit changed.
                assert_eq!(out.attributes(), source.attributes() & !0x10);
                assert_eq!(out.compression(), compression);
                assert_eq!(out.timestamp_type(), TimestampType::LogAppendTime);
                // The records section is byte for byte the source's.
                assert_eq!(
                    out.raw()[kreplicate_codec::RECORD_BATCH_HEADER_SIZE..],
                    source.raw()[kreplicate_codec::RECORD_BATCH_HEADER_SIZE..]
                );
                assert_eq!(
                    (out.last_offset_delta(), out.record_count()),
                    (source.last_offset_delta(), source.record_count())
                );
            }
        }
    }
}
