//! What a broker stores, read back for assertions: every record of a topic's partitions with
//! the producer id of the batch it is in, so a test can say which writer put each record there
//! (kreplicate's instances are known by the producer ids they register).

use std::time::Duration;

use kreplicate_codec::Record;
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{
    high_watermark, FetchConfig, FetchPosition, Fetcher, IsolationLevel,
};

/// For each partition `0..partitions` of `topic`, every record from offset 0 to the high
/// watermark (read uncommitted), in offset order, with its batch's producer id (-1 for a
/// legacy message set). Panics on any fetch error: it is for tests.
pub async fn records_with_producer_ids(
    client: &Client,
    topic: &str,
    partitions: i32,
) -> Vec<Vec<(i64, Record)>> {
    let fetcher = Fetcher::new(
        client.clone(),
        FetchConfig {
            isolation: IsolationLevel::ReadUncommitted,
            max_wait: Duration::from_millis(10),
            ..FetchConfig::default()
        },
    );
    let mut out = Vec::new();
    for partition in 0..partitions {
        let end = high_watermark(client, topic, partition)
            .await
            .expect("high watermark");
        let mut position = FetchPosition {
            topic: topic.into(),
            partition,
            offset: 0,
        };
        let mut records = Vec::new();
        while position.offset < end {
            let (_, result) = fetcher
                .fetch(std::slice::from_ref(&position))
                .await
                .pop()
                .expect("one answer per position");
            let visible = result
                .expect("fetch")
                .visible_batches()
                .expect("decodable batches");
            for batch in &visible.batches {
                let pid = batch.as_v2().map_or(-1, |b| b.producer_id());
                for r in batch.records().expect("decodable records") {
                    if r.offset >= position.offset {
                        records.push((pid, r));
                    }
                }
            }
            position.offset = visible.next_offset;
        }
        out.push(records);
    }
    out
}
