//! The largest batch a topic accepts: its `max.message.bytes`.
//!
//! Kafka refuses a whole batch larger than the topic's `max.message.bytes` with
//! MESSAGE_TOO_LARGE (UnifiedLog.analyzeAndValidateRecords checks `batch.sizeInBytes()`), even
//! when every record in it is small. A producer batching up to 1 MiB would so get small records
//! refused by a topic configured lower: the batches built for a topic stay within its limit,
//! counted pessimistically, so only a record too large on its own can be refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kreplicate_codec::Compression;

use crate::lock::lock;

/// A v2 batch's header (RecordBatch fields up to `records count`).
const BATCH_OVERHEAD: usize = 61;

/// How much a record's encoding may exceed [`ProducerRecord::size_estimate`]
/// (crate::producer::ProducerRecord): the estimate counts 21 bytes of varints and attributes,
/// their worst case is 36 (length 5, attributes 1, timestamp delta 10, offset delta 5, key and
/// value lengths 5 each, header count 5).
const RECORD_SLACK: usize = 15;

/// The limit of every topic the producer has been told about; 0 means "not known".
#[derive(Debug, Default)]
pub(super) struct MessageLimits {
    topics: Mutex<HashMap<String, Arc<AtomicUsize>>>,
}

impl MessageLimits {
    /// The limit cell of `topic`, shared with its partition workers so a change reaches them.
    pub(super) fn cell(&self, topic: &str) -> Arc<AtomicUsize> {
        let mut topics = lock(&self.topics);
        topics.entry(topic.to_string()).or_default().clone()
    }

    pub(super) fn set(&self, topic: &str, max_message_bytes: usize) {
        self.cell(topic).store(max_message_bytes, Ordering::Relaxed);
    }

    pub(super) fn get(&self, topic: &str) -> Option<usize> {
        match self.cell(topic).load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }
}

/// Whether a batch of `records` whose [`size_estimate`](crate::producer::ProducerRecord::size_estimate)s
/// add up to `estimated` bytes is sure to encode within `max_message_bytes` (0: no limit).
///
/// Compressed batches are counted as if compression could grow the records by a sixth (Snappy's
/// worst case, the largest of the codecs) plus a frame: real data shrinks, so this only makes
/// batches of incompressible records somewhat smaller than they could be.
pub(super) fn fits(
    max_message_bytes: usize,
    compression: Compression,
    records: usize,
    estimated: usize,
) -> bool {
    if max_message_bytes == 0 {
        return true;
    }
    let plain = estimated + records * RECORD_SLACK;
    let encoded = match compression {
        Compression::None => plain,
        _ => plain + plain / 6 + 64,
    };
    BATCH_OVERHEAD + encoded <= max_message_bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use kreplicate_codec::RecordBatchBuilder;

    /// The bound holds for the worst-case record encoding (large timestamp deltas, many
    /// headers): a batch `fits` accepts never encodes larger than the limit.
    #[test]
    fn batches_that_fit_encode_within_the_limit() {
        let headers: Vec<kreplicate_codec::Header> = (0..3)
            .map(|i| kreplicate_codec::Header {
                key: format!("h{i}").into(),
                value: Some(vec![7u8; 20].into()),
            })
            .collect();
        let record = crate::producer::ProducerRecord {
            key: Some(vec![1u8; 30].into()),
            value: Some(vec![2u8; 300].into()),
            headers: headers.clone(),
            timestamp: None,
        };
        let size = record.size_estimate();
        for compression in [Compression::None, Compression::Lz4, Compression::Snappy] {
            let limit = 64 * 1024;
            let mut n = 0;
            while fits(limit, compression, n + 1, (n + 1) * size) {
                n += 1;
            }
            assert!(
                n > 100,
                "{compression:?}: only {n} records fit in {limit} bytes"
            );
            let mut builder = RecordBatchBuilder::new(compression);
            for i in 0..n {
                // Timestamps far apart: the longest timestamp-delta varints.
                let ts = if i % 2 == 0 { 0 } else { i64::MAX / 4 };
                builder
                    .push(ts, record.key.as_deref(), record.value.as_deref(), &headers)
                    .unwrap();
            }
            let encoded = builder.build().unwrap();
            assert!(
                encoded.len() <= limit,
                "{compression:?}: {n} records encoded to {} bytes, over {limit}",
                encoded.len()
            );
        }
    }

    #[test]
    fn no_limit_fits_everything_and_a_tiny_limit_nothing() {
        assert!(fits(0, Compression::None, 1_000_000, usize::MAX / 2));
        assert!(!fits(60, Compression::None, 1, 1));
        assert!(fits(61 + 16, Compression::None, 1, 1));
    }
}
