//! Tansu 0.6 stamps its own append time into the first and max timestamp of a batch whose
//! timestamp type is LogAppendTime but leaves the CRC as it was, so every such batch it serves
//! fails a CRC check. Kafka keeps the CRC valid (DefaultRecordBatch.setMaxTimestamp recomputes
//! it); the layer makes Fetch answers look like Kafka's by recomputing the CRC of those batches.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::FetchResponse;

const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const HEADER: usize = 61;
const TIMESTAMP_TYPE_BIT: u8 = 1 << 3;

/// Repairs every LogAppendTime batch of `response`; true if anything changed.
pub(crate) fn repair(response: &mut FetchResponse) -> bool {
    let mut changed = false;
    for topic in &mut response.responses {
        for partition in &mut topic.partitions {
            if let Some(records) = &partition.records {
                if let Some(fixed) = repair_records(records) {
                    partition.records = Some(fixed);
                    changed = true;
                }
            }
        }
    }
    changed
}

/// The records with stale CRCs of LogAppendTime v2 batches recomputed, or `None` if none is.
/// A truncated last batch (fetch size limit) is left as it is.
fn repair_records(records: &Bytes) -> Option<Bytes> {
    let mut out: Option<BytesMut> = None;
    let mut pos = 0usize;
    while pos + HEADER <= records.len() {
        let b = &records[pos..];
        let length = i32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        let Some(total) = usize::try_from(length).ok().map(|l| l + 12) else {
            break;
        };
        if total < HEADER || pos + total > records.len() {
            break;
        }
        let batch = &b[..total];
        let stale = batch[MAGIC_AT] == 2
            && batch[ATTRIBUTES_AT + 1] & TIMESTAMP_TYPE_BIT != 0
            && crc32c::crc32c(&batch[ATTRIBUTES_AT..])
                != u32::from_be_bytes([
                    batch[CRC_AT],
                    batch[CRC_AT + 1],
                    batch[CRC_AT + 2],
                    batch[CRC_AT + 3],
                ]);
        if stale {
            let buf = out.get_or_insert_with(|| BytesMut::from(&records[..]));
            let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
            buf[pos + CRC_AT..pos + CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        }
        pos += total;
    }
    out.map(BytesMut::freeze)
}
