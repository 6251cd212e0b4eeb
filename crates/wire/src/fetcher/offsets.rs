//! A partition's valid offset range, asked of its leader with ListOffsets. The fetcher needs it
//! to say *where* an out-of-range partition's log now starts and ends.

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::IsolationLevel;
use crate::client::{Client, Error, Result};
use crate::protocol::BrokerError;

/// ListOffsets' timestamp for the log start.
const EARLIEST: i64 = -2;
/// ListOffsets' timestamp for the log end (the high watermark).
const LATEST: i64 = -1;

/// The partition's log start offset (the first offset it still stores), asked of its leader
/// with ListOffsets at `isolation` (Kafka answers the log start whatever the level).
pub async fn log_start_offset(
    client: &Client,
    topic: &str,
    partition: i32,
    isolation: IsolationLevel,
) -> Result<i64> {
    list_offset(client, topic, partition, EARLIEST, isolation.code()).await
}

/// The offset for `timestamp` (or [`EARLIEST`] / [`LATEST`]) of one partition.
async fn list_offset(
    client: &Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
    isolation: i8,
) -> Result<i64> {
    let conn = client.leader(topic, partition).await?;
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_current_leader_epoch(-1)
                .with_timestamp(timestamp)])]);
    let response = conn.request(&request).await?;
    let p = response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| {
            Error::protocol(
                "ListOffsets",
                conn.broker(),
                format!("no result for {topic}-{partition}"),
            )
        })?;
    if let Some(e) = BrokerError::from_code("ListOffsets", p.error_code) {
        if e.invalidates_metadata() {
            client.invalidate_topic(topic);
        }
        return Err(e
            .with_broker(conn.broker())
            .with_partition(topic, partition)
            .into());
    }
    Ok(p.offset)
}

/// `(log start offset, high watermark)` of one partition.
pub(crate) async fn log_range(client: &Client, topic: &str, partition: i32) -> Result<(i64, i64)> {
    let start = list_offset(client, topic, partition, EARLIEST, 0).await?;
    let end = list_offset(client, topic, partition, LATEST, 0).await?;
    Ok((start, end))
}

/// The partition's high watermark (one past its last committed offset), read from a Fetch
/// response. ListOffsets(LATEST) should give the same, but some brokers (Tansu 0.6) answer the
/// last *batch's* base offset + 1; the high watermark in a fetch response is what consumers use,
/// so it is the value to trust. The probe fetch reads at most the last batch.
pub async fn high_watermark(client: &Client, topic: &str, partition: i32) -> Result<i64> {
    use super::{FetchConfig, FetchPosition, Fetcher};
    let latest = list_offset(client, topic, partition, LATEST, 0).await?;
    let fetcher = Fetcher::new(
        client.clone(),
        FetchConfig {
            isolation: IsolationLevel::ReadUncommitted,
            // Not zero: Tansu 0.6 leaves every partition out of a Fetch with max_wait 0.
            max_wait: std::time::Duration::from_millis(10),
            ..FetchConfig::default()
        },
    );
    let position = FetchPosition {
        topic: topic.to_string(),
        partition,
        offset: (latest - 1).max(0),
    };
    let (_, result) = fetcher
        .fetch(std::slice::from_ref(&position))
        .await
        .pop()
        .ok_or_else(|| Error::protocol("Fetch", "", "empty fetch result"))?;
    Ok(result?.high_watermark.max(latest))
}
