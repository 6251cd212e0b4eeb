//! Arbitrary bytes as the `records` field of a Fetch partition: split into batches, verify
//! CRCs, decompress (bounded) and decode every record and control record. Must never panic,
//! loop or allocate without bound.
#![no_main]

use bytes::Bytes;
use kreplicate_codec::{Batch, RecordBatch, RecordSet};
use libfuzzer_sys::fuzz_target;

/// Keeps decompression bombs from turning into fuzzer OOM reports: the limit is what is tested.
const LIMIT: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    exercise(RecordSet::new(bytes.clone()));

    // Random bytes almost never carry a valid CRC32C, which would stop decoding at the CRC
    // check. Also try the input with its v2 CRC fixed up, so the record decoder, the
    // decompressors and the control-record parser see arbitrary (CRC-valid) data too.
    if data.len() >= 61 && data[16] == 2 {
        let mut fixed = data.to_vec();
        let crc = crc32c::crc32c(&fixed[21..]);
        fixed[17..21].copy_from_slice(&crc.to_be_bytes());
        // Make the length field frame the whole input as one batch.
        let len = (fixed.len() - 12) as i32;
        fixed[8..12].copy_from_slice(&len.to_be_bytes());
        let fixed = Bytes::from(fixed);
        if let Ok(batch) = RecordBatch::new(fixed.clone()) {
            decode_v2(&batch);
        }
        exercise(RecordSet::new(fixed));
    }
});

fn exercise(set: RecordSet) {
    let mut batches = set.batches();
    for batch in batches.by_ref() {
        match batch {
            Ok(Batch::V2(b)) => decode_v2(&b),
            Ok(b @ Batch::Legacy(_)) => {
                let _ = b.records_with_limit(LIMIT);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    if let Some(tail) = batches.truncated_tail() {
        assert!(tail.position + tail.available == set.len());
    }
}

fn decode_v2(b: &RecordBatch) {
    assert!(
        b.verify_crc().is_ok(),
        "a constructed RecordBatch has a valid CRC"
    );
    let _ = (
        b.compression(),
        b.timestamp_type(),
        b.last_offset(),
        b.delete_horizon_ms(),
    );
    if let Ok(records) = b.records_with_limit(LIMIT) {
        let declared = b.record_count() as usize;
        // At most the declared records plus one trailing error, then the iterator is done.
        assert!(records.count() <= declared + 1);
    }
    let _ = b.control_record();
    let rewritten = b.with_base_offset(7);
    assert!(RecordBatch::new(rewritten).is_ok());
}
