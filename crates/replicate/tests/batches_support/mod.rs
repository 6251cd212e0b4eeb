//! Shared by the test binaries that assert on what a broker stores: the v2 batches of one
//! partition, read as they are (no decompression, no filtering) — codecs, record counts,
//! producer fields, records sections. One helper instead of a fetch loop per test file.

use std::time::Duration;

use kreplicate_codec::{RecordBatch, RecordSet};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{
    high_watermark, FetchConfig, FetchPosition, Fetcher, IsolationLevel,
};

/// The v2 batches (control batches included) of `topic`-`partition` at `bootstrap`
/// (comma-separated addresses), from offset 0 to the high watermark. A fetch may answer with
/// fewer batches than the log holds, so it reads on (bounded); it stops at the first batch
/// that does not parse (librdkafka's mock writes its markers without a CRC).
pub async fn stored_batches(bootstrap: &str, topic: &str, partition: i32) -> Vec<RecordBatch> {
    let client = Client::connect(ClientConfig::new(bootstrap.split(',')))
        .await
        .expect("connect");
    let end = high_watermark(&client, topic, partition)
        .await
        .expect("high watermark");
    let fetcher = Fetcher::new(
        client,
        FetchConfig {
            isolation: IsolationLevel::ReadUncommitted,
            max_wait: Duration::from_millis(20),
            ..FetchConfig::default()
        },
    );
    let mut stored = Vec::new();
    let mut offset = 0;
    for _ in 0..1000 {
        if offset >= end {
            break;
        }
        let (_, result) = fetcher
            .fetch(&[FetchPosition {
                topic: topic.into(),
                partition,
                offset,
            }])
            .await
            .pop()
            .expect("one answer");
        let before = offset;
        for batch in RecordSet::new(result.expect("fetch").raw).batches() {
            let Ok(batch) = batch else {
                return stored;
            };
            offset = batch.next_offset();
            if let Some(b) = batch.as_v2() {
                stored.push(b.clone());
            }
        }
        if offset == before {
            break;
        }
    }
    stored
}
