//! The compacted internal topics offset sync keeps on a cluster: creating them, and telling
//! whether one exists (a reverse replicator's topic may not).

use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::fetcher::{high_watermark, log_start_offset, IsolationLevel};
use kreplicate_wire::BrokerErrorKind;

/// Creates `topic` (one partition, `cleanup.policy=compact`) unless it exists.
pub(crate) async fn ensure_compacted_topic(
    client: &Client,
    topic: &str,
) -> Result<(), ClientError> {
    let mut new = NewTopic::new(topic, 1, -1);
    new.configs
        .insert("cleanup.policy".into(), "compact".into());
    let results = Admin::new(client.clone())
        .create_topics(&[new], false)
        .await?;
    for (_, result) in results {
        if let Err(e) = result {
            // The error names the topic.
            if e.kind() != BrokerErrorKind::TopicAlreadyExists {
                return Err(ClientError::Broker(e));
            }
        }
    }
    Ok(())
}

/// Whether `topic` exists, asked of the cluster (not the cache).
pub(crate) async fn topic_exists(client: &Client, topic: &str) -> Result<bool, ClientError> {
    let metadata = client.refresh_metadata(Some(&[topic.to_string()])).await?;
    Ok(metadata.topics.contains_key(topic))
}

/// `(log start, high watermark)` of partition 0 of an internal topic: the range to read.
pub(crate) async fn readable_range(
    client: &Client,
    topic: &str,
) -> Result<(i64, i64), ClientError> {
    let start = log_start_offset(client, topic, 0, IsolationLevel::ReadUncommitted).await?;
    let end = high_watermark(client, topic, 0).await?;
    Ok((start, end))
}

/// The error says the topic (or its partition) does not exist on the cluster.
pub(crate) fn is_missing_topic(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::UnknownTopic { .. } | ClientError::UnknownPartition { .. }
    ) || matches!(e, ClientError::Broker(b) if b.kind() == BrokerErrorKind::UnknownTopicOrPartition)
}
