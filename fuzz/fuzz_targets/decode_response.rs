//! Arbitrary bytes as a Fetch, Metadata or Produce response body, decoded with
//! kafka-protocol's `Decodable` at the versions kreplicate negotiates; the records of every
//! decoded Fetch partition then go through our codec. Must never panic.
//!
//! Known kafka-protocol 0.18 limitation (see fuzz/README.md): its array decoders call
//! `Vec::with_capacity(count)` with the count read from the wire, so a few bytes declaring a
//! huge array make the allocator abort (libFuzzer reports "out-of-memory (malloc(...))").
//! That is not a panic and cannot be caught; run this target with `-fork=1 -ignore_ooms=1`
//! (or a `-malloc_limit_mb`) to keep fuzzing past it.
#![no_main]

use bytes::Bytes;
use kafka_protocol::messages::{FetchResponse, MetadataResponse, ProduceResponse};
use kafka_protocol::protocol::Decodable;
use kreplicate_codec::{Batch, RecordSet};
use libfuzzer_sys::fuzz_target;

const FETCH_VERSIONS: [i16; 6] = [4, 7, 11, 12, 13, 16];
const METADATA_VERSIONS: [i16; 5] = [1, 5, 9, 10, 12];
const PRODUCE_VERSIONS: [i16; 5] = [3, 7, 8, 9, 11];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let mut buf = Bytes::copy_from_slice(body);
    match selector % 3 {
        0 => {
            let version = FETCH_VERSIONS[(selector / 3) as usize % FETCH_VERSIONS.len()];
            if let Ok(resp) = FetchResponse::decode(&mut buf, version) {
                for topic in &resp.responses {
                    for partition in &topic.partitions {
                        if let Some(records) = &partition.records {
                            decode_records(records.clone());
                        }
                    }
                }
            }
        }
        1 => {
            let version = METADATA_VERSIONS[(selector / 3) as usize % METADATA_VERSIONS.len()];
            let _ = MetadataResponse::decode(&mut buf, version);
        }
        _ => {
            let version = PRODUCE_VERSIONS[(selector / 3) as usize % PRODUCE_VERSIONS.len()];
            let _ = ProduceResponse::decode(&mut buf, version);
        }
    }
});

fn decode_records(records: Bytes) {
    for batch in RecordSet::new(records).batches().flatten() {
        match batch {
            Batch::V2(b) => {
                if let Ok(rs) = b.records_with_limit(8 << 20) {
                    rs.for_each(drop);
                }
            }
            b @ Batch::Legacy(_) => {
                let _ = b.records_with_limit(8 << 20);
            }
        }
    }
}
