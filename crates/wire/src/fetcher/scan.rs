//! Reading a range of one partition from start to end, a fetch at a time — what resume,
//! checkpoint loading and `verify` all need, as opposed to the replicator's long-running fetch.

use std::ops::ControlFlow;
use std::time::Duration;

use super::{FetchConfig, FetchPosition, Fetcher, IsolationLevel};
use crate::client::{Client, Error, Result};
use crate::codec::Record;

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
    let fetcher = Fetcher::new(
        client.clone(),
        FetchConfig {
            isolation,
            // Short, but not zero: Tansu 0.6 omits every partition from a 0 ms fetch.
            max_wait: Duration::from_millis(10),
            ..FetchConfig::default()
        },
    );
    let end = to.unwrap_or(i64::MAX);
    let mut position = FetchPosition {
        topic: topic.to_string(),
        partition,
        offset: from,
    };
    while position.offset < end {
        let (_, result) = fetcher
            .fetch(std::slice::from_ref(&position))
            .await
            .pop()
            .ok_or_else(|| Error::protocol("Fetch", "", "empty fetch result"))?;
        let (records, next) = result?.records()?;
        for r in records.iter().filter(|r| r.offset < end) {
            if visit(r).is_break() {
                return Ok(r.offset);
            }
        }
        if next <= position.offset {
            break;
        }
        position.offset = next;
    }
    Ok(position.offset.min(end))
}
