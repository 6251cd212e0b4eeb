//! ListOffsets: the earliest or latest offset of partitions, or the first at a timestamp.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};

use super::rounds::Rounds;
use super::{str_bytes, Admin};
use crate::client::{Error, Result};
use crate::fetcher::IsolationLevel;
use crate::protocol::BrokerError;

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark, or last stable offset under read_committed): the
    /// offset the next record will get.
    Latest,
    /// The first offset whose record timestamp is at or after this time (ms since the epoch);
    /// -1 when there is none.
    Timestamp(i64),
}

impl OffsetSpec {
    /// The timestamp field of the request (-2 earliest, -1 latest).
    fn wire_timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// An offset a broker returned for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset found (-1 if none).
    pub offset: i64,
    /// The timestamp of the record found (-1 for earliest/latest on Kafka; Tansu 0.6 returns
    /// its append time).
    pub timestamp: i64,
    /// The leader epoch of that offset, when the broker tells (ListOffsets v4+).
    pub leader_epoch: Option<i32>,
}

/// A partition's outcome.
type Listed = Result<ListedOffset, BrokerError>;

impl Admin {
    /// Looks up `spec` for each of `partitions`, one request per leader broker (sent
    /// concurrently). Partitions whose leader moved (NOT_LEADER_OR_FOLLOWER and the like) are
    /// retried against the new leader after a metadata refresh, within the retry policy's
    /// deadline. An unknown topic or partition is that partition's error; only failing to
    /// reach a broker at all fails the whole call.
    pub async fn list_offsets(
        &self,
        partitions: &[(String, i32)],
        spec: OffsetSpec,
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<(String, i32), Result<ListedOffset, BrokerError>>> {
        if let OffsetSpec::Timestamp(t) = spec {
            if t < 0 {
                return Err(Error::Config(format!(
                    "ListOffsets timestamp {t} is negative; use OffsetSpec::Earliest or Latest"
                )));
            }
        }
        let mut outcomes: BTreeMap<(String, i32), Listed> = BTreeMap::new();
        let mut pending: Vec<(String, i32)> = partitions.to_vec();
        pending.sort();
        pending.dedup();
        let mut rounds = Rounds::new(self.client().retry_policy());
        loop {
            let mut failed: Option<Error> = None;
            // Route every pending partition to its leader.
            let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
            for (topic, partition) in std::mem::take(&mut pending) {
                match self.client().leader_id(&topic, partition).await {
                    Ok(leader) if leader >= 0 => {
                        by_leader
                            .entry(leader)
                            .or_default()
                            .push((topic, partition));
                    }
                    Ok(_) => {
                        self.client().invalidate_topic(&topic);
                        let e = BrokerError::new("ListOffsets", 5) // LEADER_NOT_AVAILABLE
                            .with_partition(topic.as_str(), partition);
                        outcomes.insert((topic.clone(), partition), Err(e));
                        pending.push((topic, partition));
                    }
                    Err(Error::UnknownTopic { .. } | Error::UnknownPartition { .. }) => {
                        let e = BrokerError::new("ListOffsets", 3) // UNKNOWN_TOPIC_OR_PARTITION
                            .with_partition(topic.as_str(), partition);
                        outcomes.insert((topic, partition), Err(e));
                    }
                    Err(e) if e.is_retriable() => {
                        failed = Some(e);
                        pending.push((topic, partition));
                    }
                    Err(e) => return Err(e),
                }
            }
            let requests = by_leader.into_iter().map(|(leader, parts)| async move {
                let result = self.list_on(leader, &parts, spec, isolation).await;
                (parts, result)
            });
            for (parts, result) in futures::future::join_all(requests).await {
                match result {
                    Ok(answers) => {
                        for (tp, answer) in answers {
                            match answer {
                                Err(e) if e.is_retriable() => {
                                    if e.invalidates_metadata() {
                                        self.client().invalidate_topic(&tp.0);
                                    }
                                    outcomes.insert(tp.clone(), Err(e));
                                    pending.push(tp);
                                }
                                answer => {
                                    outcomes.insert(tp, answer);
                                }
                            }
                        }
                    }
                    Err(e) if e.is_retriable() => {
                        for (topic, _) in &parts {
                            self.client().invalidate_topic(topic);
                        }
                        pending.extend(parts);
                        failed = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            if pending.is_empty() {
                break;
            }
            if !rounds.wait().await {
                // Out of time. Partitions that only ever saw a retriable broker code keep it
                // as their outcome; ones we never got an answer for fail the call.
                if let Some(e) = failed {
                    if pending.iter().any(|tp| !outcomes.contains_key(tp)) {
                        return Err(e);
                    }
                }
                break;
            }
        }
        Ok(outcomes)
    }

    /// One ListOffsets request to broker `leader` for `parts`.
    async fn list_on(
        &self,
        leader: i32,
        parts: &[(String, i32)],
        spec: OffsetSpec,
        isolation: IsolationLevel,
    ) -> Result<Vec<((String, i32), Listed)>> {
        let conn = self.client().broker_connection(leader).await?;
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in parts {
            topics.entry(t.as_str()).or_default().push(*p);
        }
        let build = |version: i16| {
            let request = ListOffsetsRequest::default()
                // -1: an ordinary consumer, not a follower replica.
                .with_replica_id(BrokerId(-1))
                .with_topics(
                    topics
                        .iter()
                        .map(|(t, ps)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(str_bytes(t)))
                                .with_partitions(
                                    ps.iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(*p)
                                                .with_timestamp(spec.wire_timestamp())
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            if version >= 2 {
                request.with_isolation_level(isolation.code())
            } else {
                request
            }
        };
        let (_, response) = conn.request_with(build).await?;
        let mut out = Vec::new();
        for t in response.topics {
            let topic = t.name.0.as_str().to_string();
            for p in t.partitions {
                let tp = (topic.clone(), p.partition_index);
                if !parts.contains(&tp) {
                    continue;
                }
                let answer = match BrokerError::from_code("ListOffsets", p.error_code) {
                    Some(e) => Err(e
                        .with_broker(conn.broker())
                        .with_partition(topic.as_str(), p.partition_index)),
                    None => Ok(ListedOffset {
                        offset: p.offset,
                        timestamp: p.timestamp,
                        leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                    }),
                };
                out.push((tp, answer));
            }
        }
        if let Some((t, p)) = parts
            .iter()
            .find(|tp| !out.iter().any(|(answered, _)| answered == *tp))
        {
            return Err(Error::protocol(
                "ListOffsets",
                conn.broker(),
                format!("the response has no result for {t}-{p}"),
            ));
        }
        Ok(out)
    }
}
