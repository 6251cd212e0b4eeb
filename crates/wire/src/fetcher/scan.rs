//! Reading a range of one partition from start to end, a fetch at a time — what resume,
//! checkpoint loading and `verify` all need, as opposed to the replicator's long-running fetch.

use std::ops::ControlFlow;
use std::time::Duration;

use super::{
    FetchConfig, FetchPosition, FetchedPartition, Fetcher, IsolationLevel, VisibleBatches,
};
use crate::client::{Client, Error, Result};
use kreplicate_codec::{Batch, Record};

/// The wait of each fetch [`fetch_advancing`] sends at one offset, in turn. The first is short,
/// but not zero (Tansu 0.6 omits every partition from a 0 ms fetch); an answer without records
/// below the partition's end is asked again with a longer wait. Together about 5 s before an
/// offset the broker keeps answering empty is an error.
const WAITS_MS: [u64; 8] = [10, 40, 160, 640, 1000, 1000, 1000, 1000];

/// Visits the records of `topic`-`partition` with offsets in `[from, to)` in offset order
/// (`to = None`: up to the end at the time of reading). `visit` may stop early. Returns the
/// offset the scan stopped at.
pub async fn scan_partition(
    client: &Client,
    topic: &str,
    partition: i32,
    from: i64,
    to: Option<i64>,
    isolation: IsolationLevel,
    mut visit: impl FnMut(&Record) -> ControlFlow<()>,
) -> Result<i64> {
    let end = to.unwrap_or(i64::MAX);
    let mut position = FetchPosition {
        topic: topic.to_string(),
        partition,
        offset: from,
    };
    while position.offset < end {
        let (fetched, visible) = fetch_advancing(client, &position, isolation).await?;
        if visible.next_offset <= position.offset {
            let partition_end = partition_end(&fetched);
            if position.offset < partition_end.min(end) {
                return Err(Error::protocol(
                    "Fetch",
                    "",
                    format!(
                        "{topic}-{partition} at offset {}: {} fetches (waiting up to {} ms) \
                         returned no records, although the partition ends at {partition_end}",
                        position.offset,
                        WAITS_MS.len(),
                        WAITS_MS[WAITS_MS.len() - 1],
                    ),
                ));
            }
            break;
        }
        let (records, next) = fetched.records()?;
        for r in records.iter().filter(|r| r.offset < end) {
            if visit(r).is_break() {
                return Ok(r.offset);
            }
        }
        position.offset = next;
    }
    Ok(position.offset.min(end))
}

/// Visits the visible batches (read_committed filtering as `isolation` says; control batches
/// never) of `topic`-`partition` that hold offsets in `[from, to)`, in offset order, with the
/// offset each visit starts at (a batch may begin before `from`). For readers that judge a
/// batch by its header (its producer id) before its records. `visit` may stop early.
pub async fn scan_batches(
    client: &Client,
    topic: &str,
    partition: i32,
    from: i64,
    to: i64,
    isolation: IsolationLevel,
    mut visit: impl FnMut(&Batch) -> ControlFlow<()>,
) -> Result<()> {
    let mut position = FetchPosition {
        topic: topic.to_string(),
        partition,
        offset: from,
    };
    while position.offset < to {
        let (fetched, visible) = fetch_advancing(client, &position, isolation).await?;
        if visible.next_offset <= position.offset {
            let partition_end = partition_end(&fetched);
            if position.offset < partition_end.min(to) {
                return Err(Error::protocol(
                    "Fetch",
                    "",
                    format!(
                        "{topic}-{partition} at offset {}: fetches returned no records, although \
                         the partition ends at {partition_end}",
                        position.offset
                    ),
                ));
            }
            break;
        }
        for batch in &visible.batches {
            let first = batch
                .as_v2()
                .map_or(batch.last_offset(), |b| b.base_offset());
            if first >= to {
                return Ok(());
            }
            if visit(batch).is_break() {
                return Ok(());
            }
        }
        position.offset = visible.next_offset;
    }
    Ok(())
}

/// One fetch at `position` whose answer holds a complete batch at or after the offset, or
/// shows that the partition ends there (the offset is at or past the high watermark, or under
/// read_committed the last stable offset). Whether it advanced: `visible.next_offset >
/// position.offset`.
///
/// A fetch may come back without records although the offset is below the partition's end:
/// the broker's wait ran out before its storage answered (Tansu 0.6 on s3 storage does this
/// for a good share of 10 ms fetches, more after a restart; Kafka does it for tiered-storage
/// reads that overrun `remote.fetch.max.wait.ms`, and for throttled fetches). Taking such an
/// answer for the end silently cuts a read short: `verify` then reports records as missing or
/// duplicated, a resume point is found too early (a duplicate), a written batch is not found.
/// So the offset is asked again with longer waits (about 5 s in all). If every answer is still
/// empty, the last is returned: the caller decides (`scan_partition` fails naming the offset;
/// a duplicate lookup concludes the batch is not in the log). Tansu 0.6 does this for good
/// where a kill interrupted a write: the high watermark counts the batch, the batch is missing.
pub(crate) async fn fetch_advancing(
    client: &Client,
    position: &FetchPosition,
    isolation: IsolationLevel,
) -> Result<(FetchedPartition, VisibleBatches)> {
    let mut answer = None;
    for wait in WAITS_MS {
        let fetcher = Fetcher::new(
            client.clone(),
            FetchConfig {
                isolation,
                max_wait: Duration::from_millis(wait),
                ..FetchConfig::default()
            },
        );
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(position))
            .await
            .pop()
            .ok_or_else(|| Error::protocol("Fetch", "", "empty fetch result"))?;
        let fetched = result?;
        let visible = fetched.visible_batches()?;
        if visible.next_offset > position.offset || position.offset >= partition_end(&fetched) {
            return Ok((fetched, visible));
        }
        answer = Some((fetched, visible));
    }
    answer.ok_or_else(|| Error::protocol("Fetch", "", "no fetch was sent"))
}

/// Where the partition ends for the fetch's reader: the last stable offset under
/// read_committed (when the broker gives one), else the high watermark.
fn partition_end(fetched: &FetchedPartition) -> i64 {
    match fetched.isolation {
        IsolationLevel::ReadCommitted if fetched.last_stable_offset >= 0 => {
            fetched.last_stable_offset
        }
        _ => fetched.high_watermark,
    }
}
