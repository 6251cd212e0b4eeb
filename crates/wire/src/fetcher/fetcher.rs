//! Fetch rounds: one Fetch request per leader broker covering all of its partitions we read,
//! sent concurrently; results come back per partition.

use std::collections::BTreeMap;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::config::FetchConfig;
use super::fetched::FetchedPartition;
use crate::client::{Client, Error, Result};
use crate::protocol::BrokerError;

const OFFSET_OUT_OF_RANGE: i16 = 1;

/// Where to read one partition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPosition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The next offset to read.
    pub offset: i64,
}

test_util_pub! {
    /// Reads from many partitions of one cluster, one round at a time: what [`SharedFetcher`]
    /// sends its requests with.
    ///
    /// [`SharedFetcher`]: super::SharedFetcher
    #[derive(Debug, Clone)]
    pub struct Fetcher {
        client: Client,
        config: FetchConfig,
    }
}

/// The outcome for one partition of a round.
pub(crate) type PartitionResult = (FetchPosition, Result<FetchedPartition>);

// Without `test-util` the type is crate-private, so its `pub` methods are too.
#[cfg_attr(not(feature = "test-util"), allow(unreachable_pub))]
impl Fetcher {
    /// A fetcher sending through `client`.
    pub fn new(client: Client, config: FetchConfig) -> Self {
        Fetcher { client, config }
    }

    /// The client it sends through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Its configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Fetches once from every position. Partitions whose leader cannot be found or whose
    /// broker fails get an error result (and their cached metadata is invalidated); the others
    /// are unaffected. OFFSET_OUT_OF_RANGE comes back as [`Error::OffsetOutOfRange`] with the
    /// partition's valid range.
    pub async fn fetch(&self, positions: &[FetchPosition]) -> Vec<PartitionResult> {
        let mut by_leader: BTreeMap<i32, Vec<FetchPosition>> = BTreeMap::new();
        let mut results = Vec::new();
        for p in positions {
            match self.client.leader_id(&p.topic, p.partition).await {
                Ok(leader) if leader >= 0 => by_leader.entry(leader).or_default().push(p.clone()),
                Ok(_) => {
                    self.client.invalidate_topic(&p.topic);
                    results.push((
                        p.clone(),
                        Err(BrokerError::new("Fetch", 5)
                            .with_partition(&p.topic, p.partition)
                            .into()),
                    ))
                }
                Err(e) => results.push((p.clone(), Err(e))),
            }
        }
        let rounds = by_leader
            .into_iter()
            .map(|(leader, positions)| self.fetch_from(leader, positions));
        for round in futures::future::join_all(rounds).await {
            results.extend(round);
        }
        results
    }

    async fn fetch_from(&self, leader: i32, positions: Vec<FetchPosition>) -> Vec<PartitionResult> {
        let conn = match self.client.broker_connection(leader).await {
            Ok(c) => c,
            Err(e) => return fail_all(positions, &e),
        };
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for p in &positions {
            topics.entry(&p.topic).or_default().push(
                FetchPartition::default()
                    .with_partition(p.partition)
                    .with_current_leader_epoch(-1)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_fetch_offset(p.offset)
                    .with_partition_max_bytes(self.config.partition_max_bytes),
            );
        }
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(self.config.max_wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(self.config.min_bytes)
            .with_max_bytes(self.config.max_bytes)
            .with_isolation_level(self.config.isolation.code())
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, parts)| {
                        FetchTopic::default()
                            .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partitions(parts)
                    })
                    .collect(),
            );
        // A failed request broke its connection; the pool replaces it on next use.
        let response = match conn.request(&request).await {
            Ok(r) => r,
            Err(e) => return fail_all(positions, &Error::Connection(e)),
        };
        // Honour the broker's quota: nothing more is sent to this broker until it passed.
        conn.throttle(response.throttle_time_ms);
        self.client.note_throttle(response.throttle_time_ms);
        if let Some(e) = BrokerError::from_code("Fetch", response.error_code) {
            return fail_all(positions, &Error::Broker(e.with_broker(conn.broker())));
        }
        let mut data = BTreeMap::new();
        for topic in response.responses {
            for part in topic.partitions {
                data.insert((topic.topic.0.to_string(), part.partition_index), part);
            }
        }
        let mut results = Vec::with_capacity(positions.len());
        for p in positions {
            let Some(part) = data.remove(&(p.topic.clone(), p.partition)) else {
                let e = Error::protocol(
                    "Fetch",
                    conn.broker(),
                    format!("no data for {}-{} in the response", p.topic, p.partition),
                );
                results.push((p, Err(e)));
                continue;
            };
            let result = if part.error_code == OFFSET_OUT_OF_RANGE {
                Err(self.out_of_range(&p).await)
            } else if let Some(e) = BrokerError::from_code("Fetch", part.error_code) {
                if e.invalidates_metadata() {
                    self.client.invalidate_topic(&p.topic);
                }
                Err(e
                    .with_broker(conn.broker())
                    .with_partition(&p.topic, p.partition)
                    .into())
            } else {
                Ok(FetchedPartition::from_response(
                    &p,
                    part,
                    self.config.isolation,
                ))
            };
            results.push((p, result));
        }
        results
    }

    /// Builds the typed out-of-range error, asking the leader for the valid range.
    async fn out_of_range(&self, p: &FetchPosition) -> Error {
        let (log_start_offset, high_watermark) = match super::offsets::log_range(
            &self.client,
            &p.topic,
            p.partition,
        )
        .await
        {
            Ok(range) => range,
            Err(e) => {
                tracing::warn!(topic = %p.topic, partition = p.partition, error = %e, "cannot list offsets after OFFSET_OUT_OF_RANGE");
                (-1, -1)
            }
        };
        Error::OffsetOutOfRange {
            topic: p.topic.clone(),
            partition: p.partition,
            offset: p.offset,
            log_start_offset,
            high_watermark,
        }
    }
}

fn fail_all(positions: Vec<FetchPosition>, error: &Error) -> Vec<PartitionResult> {
    positions
        .into_iter()
        .map(|p| {
            let e = match error {
                Error::Broker(b) => Error::Broker(b.clone().with_partition(&p.topic, p.partition)),
                other => other.clone(),
            };
            (p, Err(e))
        })
        .collect()
}
