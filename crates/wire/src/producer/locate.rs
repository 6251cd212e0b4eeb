//! Finding where a batch landed when the broker only says it is a duplicate.
//!
//! Kafka answers a retried batch that it already wrote with that batch's original offset, as
//! long as it is among the producer's last five. Some brokers (Tansu 0.6) answer
//! DUPLICATE_SEQUENCE_NUMBER instead and give no offset. The producer promises every record's
//! offset, so it reads the partition forward from the last offset it knows was acknowledged and
//! finds the batch by (producer id, epoch, base sequence).

use crate::client::{Client, Result};
use crate::fetcher::{fetch_advancing, log_start_offset, FetchPosition, IsolationLevel};

use super::identity::ProducerIdentity;

/// Upper bound on fetch rounds for one lookup; each round advances by at least one batch.
const MAX_ROUNDS: usize = 10_000;

/// The base offset of the batch written by `identity` with `base_sequence`, searching from
/// `from` (or the log start when `from` is negative); `None` when the log does not hold it.
pub(super) async fn locate_batch(
    client: &Client,
    topic: &str,
    partition: i32,
    from: i64,
    identity: ProducerIdentity,
    base_sequence: i32,
) -> Result<Option<i64>> {
    let mut offset = if from >= 0 {
        from
    } else {
        log_start_offset(client, topic, partition, IsolationLevel::ReadUncommitted).await?
    };
    for _ in 0..MAX_ROUNDS {
        let position = FetchPosition {
            topic: topic.to_string(),
            partition,
            offset,
        };
        // A short fetch may come back empty below the end; `fetch_advancing` asks again with
        // longer waits, so a batch that is in the log is found. If the broker still shows
        // nothing at or after `offset`, the batch is not in the log (Tansu 0.6 killed
        // mid-write: the high watermark counts the batch, the batch is missing).
        let (_, visible) =
            fetch_advancing(client, &position, IsolationLevel::ReadUncommitted).await?;
        for batch in &visible.batches {
            if let Some(b) = batch.as_v2() {
                if b.producer_id() == identity.producer_id
                    && b.producer_epoch() == identity.producer_epoch
                    && b.base_sequence() == base_sequence
                {
                    return Ok(Some(b.base_offset()));
                }
            }
        }
        if visible.next_offset <= offset {
            break;
        }
        offset = visible.next_offset;
    }
    Ok(None)
}
