//! What a broker stores, read back (read uncommitted) for assertions: every record of a topic's
//! partitions, with or without the producer id of the batch it is in, so a test can say which
//! writer put each record there (kreplicate's instances are known by the producer ids they
//! register); for the polling loops of tests, the partitions' end offsets and the writer of
//! each partition's last batch.

use std::ops::ControlFlow;
use std::time::Duration;

use kreplicate_codec::Record;
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{
    high_watermark, scan_batches, FetchConfig, FetchPosition, Fetcher, IsolationLevel,
};

/// For each partition `0..partitions` of `topic`, every record from offset 0 to the high
/// watermark (read uncommitted), in offset order, with its batch's producer id (-1 for a
/// legacy message set). Panics on any fetch error: it is for tests.
pub async fn records_with_producer_ids(
    client: &Client,
    topic: &str,
    partitions: i32,
) -> Vec<Vec<(i64, Record)>> {
    let mut out = Vec::new();
    for partition in 0..partitions {
        let end = high_watermark(client, topic, partition)
            .await
            .expect("high watermark");
        let mut records = Vec::new();
        scan_batches(
            client,
            topic,
            partition,
            0,
            end,
            IsolationLevel::ReadUncommitted,
            |batch| {
                let pid = batch.as_v2().map_or(-1, |b| b.producer_id());
                let batch_records = batch.records().expect("decodable records");
                records.extend(
                    batch_records
                        .into_iter()
                        .filter(|r| r.offset < end)
                        .map(|r| (pid, r)),
                );
                ControlFlow::Continue(())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("reading {topic}-{partition}: {e}"));
        out.push(records);
    }
    out
}

/// For each partition `0..partitions` of `topic`, every record from offset 0 to the high
/// watermark, in offset order: [`records_with_producer_ids`] without the producer ids.
pub async fn records(client: &Client, topic: &str, partitions: i32) -> Vec<Vec<Record>> {
    records_with_producer_ids(client, topic, partitions)
        .await
        .into_iter()
        .map(|p| p.into_iter().map(|(_, r)| r).collect())
        .collect()
}

/// The high watermark of each partition `0..partitions` of `topic`; 0 where it cannot be read
/// (the topic does not exist yet).
pub async fn end_offsets(client: &Client, topic: &str, partitions: i32) -> Vec<i64> {
    let mut out = Vec::new();
    for partition in 0..partitions {
        out.push(high_watermark(client, topic, partition).await.unwrap_or(0));
    }
    out
}

/// Polls (at most 600 times, 100 ms apart) until the end offsets of `topic`'s partitions add
/// up to `total` or more. Returns whether they did.
pub async fn caught_up(client: &Client, topic: &str, partitions: i32, total: usize) -> bool {
    for _ in 0..600 {
        let copied: i64 = end_offsets(client, topic, partitions).await.iter().sum();
        if copied >= total as i64 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// For each partition `0..partitions` of `topic`: its end offset, and the producer id of its
/// last batch (`None` while the partition is empty or the batch cannot be read).
pub async fn last_writers(
    client: &Client,
    topic: &str,
    partitions: i32,
) -> Vec<(i64, Option<i64>)> {
    // One fetch each, not `scan_batches`: its retries of an empty answer (seconds) would slow
    // the callers' polling where Tansu lost a batch the high watermark counts (a killed write).
    let fetcher = Fetcher::new(
        client.clone(),
        FetchConfig {
            isolation: IsolationLevel::ReadUncommitted,
            // Never 0: Tansu leaves every partition out of a Fetch with `max_wait_ms = 0`.
            max_wait: Duration::from_millis(10),
            ..FetchConfig::default()
        },
    );
    let mut out = Vec::new();
    for (partition, end) in (0..partitions).zip(end_offsets(client, topic, partitions).await) {
        if end == 0 {
            out.push((0, None));
            continue;
        }
        let position = FetchPosition {
            topic: topic.into(),
            partition,
            offset: end - 1,
        };
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(&position))
            .await
            .pop()
            .expect("one answer per position");
        let pid = result
            .ok()
            .and_then(|f| f.visible_batches().ok())
            .and_then(|v| {
                v.batches
                    .last()
                    .and_then(|b| b.as_v2())
                    .map(|b| b.producer_id())
            });
        out.push((end, pid));
    }
    out
}
