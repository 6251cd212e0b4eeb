//! Creating and deleting topics, and adding partitions.
//!
//! These go to the controller. A topic is reported created only once Metadata shows it with
//! all its partitions (and deleted once Metadata no longer shows it), so a caller can produce
//! to, or re-create, the topic right away.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::BrokerErrorKind;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
#[cfg(feature = "test-util")]
use kafka_protocol::messages::DeleteTopicsRequest;
use kafka_protocol::messages::{CreatePartitionsRequest, CreateTopicsRequest, TopicName};

use super::rounds::Rounds;
use super::{message, str_bytes, Admin};
use crate::client::{Error, Result};
use crate::connection::BrokerConnection;
use crate::protocol::BrokerError;

/// How often Metadata is polled while waiting for a topic change to show.
const METADATA_POLL: Duration = Duration::from_millis(100);

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Number of partitions; -1 for the broker default.
    pub partitions: i32,
    /// Replicas per partition; -1 for the broker default.
    pub replication_factor: i16,
    /// Topic-level config overrides (e.g. `retention.ms`).
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with no config overrides.
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: BTreeMap::new(),
        }
    }

    #[cfg(feature = "test-util")]
    /// Adds a config override.
    pub fn with_config(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(name.into(), value.into());
        self
    }
}

impl BrokerError {
    test_util_pub! {
        /// TOPIC_ALREADY_EXISTS: a create found the topic there already.
        pub fn is_already_exists(&self) -> bool {
            self.kind() == BrokerErrorKind::TopicAlreadyExists
        }
    }

    test_util_pub! {
        /// UNKNOWN_TOPIC_OR_PARTITION: the topic (or partition) does not exist.
        pub fn is_unknown_topic(&self) -> bool {
            self.kind() == BrokerErrorKind::UnknownTopicOrPartition
        }
    }
}

/// One topic's outcome in a controller request.
type TopicOutcome = (String, Result<(), BrokerError>);

impl Admin {
    /// Creates `topics` on the controller. Returns each topic's outcome in input order (an
    /// error names its topic); an existing topic's error is of kind
    /// [`BrokerErrorKind::TopicAlreadyExists`]. Unless
    /// `validate_only`, returns only after Metadata shows every created topic with its
    /// partitions (bounded by the connection's request timeout).
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<(), BrokerError>)>> {
        for t in topics {
            if t.name.is_empty() {
                return Err(Error::Config(
                    "cannot create a topic with an empty name".into(),
                ));
            }
        }
        let by_name: BTreeMap<&str, &NewTopic> =
            topics.iter().map(|t| (t.name.as_str(), t)).collect();
        let timeout_ms = self.request_timeout_ms();
        let outcomes = self
            .controller_rounds("CreateTopics", names(topics), |conn, pending| {
                let request = CreateTopicsRequest::default()
                    .with_timeout_ms(timeout_ms)
                    .with_validate_only(validate_only)
                    .with_topics(
                        pending
                            .iter()
                            .filter_map(|n| by_name.get(n.as_str()))
                            .map(|t| creatable(t))
                            .collect(),
                    );
                async move {
                    let response = conn.request(&request).await?;
                    Ok(response
                        .topics
                        .into_iter()
                        .map(|t| {
                            let name = t.name.0.as_str().to_string();
                            let result = match BrokerError::from_code("CreateTopics", t.error_code)
                            {
                                None => Ok(()),
                                Some(e) => Err(e
                                    .with_broker(conn.broker())
                                    .with_topic(name.as_str())
                                    .with_message(message(t.error_message))),
                            };
                            (name, result)
                        })
                        .collect())
                }
            })
            .await?;
        if !validate_only {
            let created: Vec<(String, i32)> = topics
                .iter()
                .filter(|t| matches!(outcomes.get(&t.name), Some(Ok(()))))
                .map(|t| (t.name.clone(), t.partitions))
                .collect();
            self.await_metadata("CreateTopics", &created).await?;
        }
        Ok(in_order(topics.iter().map(|t| t.name.as_str()), outcomes))
    }

    #[cfg(feature = "test-util")]
    /// Deletes `topics` on the controller. Returns each topic's outcome in input order
    /// ([`BrokerError::is_unknown_topic`] for a topic that was not there), after Metadata no
    /// longer shows the deleted ones.
    pub async fn delete_topics(
        &self,
        topics: &[String],
    ) -> Result<Vec<(String, Result<(), BrokerError>)>> {
        let timeout_ms = self.request_timeout_ms();
        let outcomes = self
            .controller_rounds("DeleteTopics", topics.to_vec(), |conn, pending| {
                let request = DeleteTopicsRequest::default()
                    .with_timeout_ms(timeout_ms)
                    .with_topic_names(pending.iter().map(|n| TopicName(str_bytes(n))).collect());
                async move {
                    let response = conn.request(&request).await?;
                    let mut out = Vec::new();
                    for t in response.responses {
                        let Some(name) = t.name.map(|n| n.0.as_str().to_string()) else {
                            return Err(Error::protocol(
                                "DeleteTopics",
                                conn.broker(),
                                "a topic result without a name",
                            ));
                        };
                        let result = match BrokerError::from_code("DeleteTopics", t.error_code) {
                            None => Ok(()),
                            Some(e) => Err(e
                                .with_broker(conn.broker())
                                .with_topic(name.as_str())
                                .with_message(message(t.error_message))),
                        };
                        out.push((name, result));
                    }
                    Ok(out)
                }
            })
            .await?;
        let deleted: Vec<String> = topics
            .iter()
            .filter(|t| matches!(outcomes.get(*t), Some(Ok(()))))
            .cloned()
            .collect();
        self.await_deleted(&deleted).await?;
        Ok(in_order(topics.iter().map(String::as_str), outcomes))
    }

    /// Grows `topic` to `new_total` partitions (CreatePartitions). Fails with
    /// [`ConnectionError::UnsupportedVersion`](crate::connection::ConnectionError) naming the
    /// broker when it does not offer CreatePartitions (Tansu 0.6 does not). Returns once
    /// Metadata shows the new partitions.
    pub async fn create_partitions(&self, topic: &str, new_total: i32) -> Result<()> {
        let timeout_ms = self.request_timeout_ms();
        let outcomes = self
            .controller_rounds("CreatePartitions", vec![topic.to_string()], |conn, _| {
                let request = CreatePartitionsRequest::default()
                    .with_timeout_ms(timeout_ms)
                    .with_topics(vec![CreatePartitionsTopic::default()
                        .with_name(TopicName(str_bytes(topic)))
                        .with_count(new_total)
                        // Null, not the default empty list: the broker places the replicas.
                        .with_assignments(None)]);
                async move {
                    // Not advertised at all is the common case (Tansu): say so plainly rather
                    // than as a failed request.
                    conn.version_of::<CreatePartitionsRequest>()?;
                    let response = conn.request(&request).await?;
                    Ok(response
                        .results
                        .into_iter()
                        .map(|r| {
                            let name = r.name.0.as_str().to_string();
                            let result =
                                match BrokerError::from_code("CreatePartitions", r.error_code) {
                                    None => Ok(()),
                                    Some(e) => Err(e
                                        .with_broker(conn.broker())
                                        .with_topic(name.as_str())
                                        .with_message(message(r.error_message))),
                                };
                            (name, result)
                        })
                        .collect())
                }
            })
            .await?;
        match outcomes.into_iter().next() {
            Some((_, Ok(()))) => {
                self.await_metadata("CreatePartitions", &[(topic.to_string(), new_total)])
                    .await
            }
            Some((_, Err(e))) => Err(e.into()),
            None => Err(Error::protocol(
                "CreatePartitions",
                "controller",
                format!("no result for topic '{topic}'"),
            )),
        }
    }

    /// The timeout the broker is given for topic changes: our own request timeout, so the
    /// broker answers (perhaps with REQUEST_TIMED_OUT) before we give up on the connection.
    fn request_timeout_ms(&self) -> i32 {
        let ms = self
            .client()
            .config()
            .connection
            .request_timeout
            .as_millis();
        i32::try_from(ms).unwrap_or(i32::MAX)
    }

    /// Sends `send(controller, pending names)` in rounds: topics answered NOT_CONTROLLER (or
    /// another retriable code), or lost to a retriable connection failure, are resent to the
    /// controller found by refreshed metadata, until the retry policy's deadline. Topics
    /// that succeeded or failed for good are not sent again.
    async fn controller_rounds<F, Fut>(
        &self,
        api: &'static str,
        topics: Vec<String>,
        send: F,
    ) -> Result<BTreeMap<String, Result<(), BrokerError>>>
    where
        F: Fn(Arc<BrokerConnection>, Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<TopicOutcome>>>,
    {
        let mut outcomes = BTreeMap::new();
        let mut pending: Vec<String> = topics
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut rounds = Rounds::new(self.client().retry_policy());
        while !pending.is_empty() {
            let round = match self.client().controller_connection().await {
                Ok(conn) => send(conn, pending.clone()).await,
                Err(e) => Err(e),
            };
            let mut failed: Option<Error> = None;
            match round {
                Ok(results) => {
                    let mut answered = BTreeSet::new();
                    for (name, result) in results {
                        if !pending.contains(&name) {
                            continue;
                        }
                        answered.insert(name.clone());
                        match result {
                            Err(e)
                                if e.kind() == BrokerErrorKind::NotController
                                    // "Retriable" for produce and fetch, but the final
                                    // answer to deleting a topic that is not there.
                                    || (e.is_retriable() && !e.is_unknown_topic()) =>
                            {
                                outcomes.insert(name, Err(e));
                            }
                            final_result => {
                                pending.retain(|p| *p != name);
                                outcomes.insert(name, final_result);
                            }
                        }
                    }
                    if let Some(missing) = pending.iter().find(|p| !answered.contains(*p)) {
                        return Err(Error::protocol(
                            api,
                            "controller",
                            format!("the response has no result for topic '{missing}'"),
                        ));
                    }
                }
                Err(e) if e.is_retriable() => failed = Some(e),
                Err(e) => return Err(e),
            }
            if pending.is_empty() {
                break;
            }
            if !rounds.wait().await {
                // Out of time: retriable broker codes stay as the topics' outcomes; a
                // connection failure means we do not know them at all.
                if let Some(e) = failed {
                    return Err(e);
                }
                break;
            }
            // The controller may have moved; a failed refresh shows up in the next round.
            let _ = self.client().refresh_metadata(Some(&[])).await;
        }
        Ok(outcomes)
    }

    /// Waits until Metadata shows each `(topic, partitions)` (partitions < 1: any count).
    async fn await_metadata(&self, api: &'static str, topics: &[(String, i32)]) -> Result<()> {
        if topics.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = topics.iter().map(|(n, _)| n.clone()).collect();
        let deadline =
            tokio::time::Instant::now() + self.client().config().connection.request_timeout;
        loop {
            let metadata = self.client().refresh_metadata(Some(&names)).await?;
            let missing =
                topics
                    .iter()
                    .find(|(name, partitions)| match metadata.topics.get(name) {
                        Some(t) => {
                            *partitions > 0
                                && (t.partitions.len() != *partitions as usize
                                    || t.partitions.iter().any(|p| p.leader < 0))
                        }
                        None => true,
                    });
            let Some((name, partitions)) = missing else {
                return Ok(());
            };
            if tokio::time::Instant::now() + METADATA_POLL > deadline {
                return Err(Error::protocol(
                    api,
                    "cluster",
                    format!(
                        "topic '{name}' did not show in metadata with {partitions} partitions \
                         (all with a leader) within {:?}",
                        self.client().config().connection.request_timeout
                    ),
                ));
            }
            tokio::time::sleep(METADATA_POLL).await;
        }
    }

    #[cfg(feature = "test-util")]
    /// Waits until Metadata no longer shows any of `topics`.
    async fn await_deleted(&self, topics: &[String]) -> Result<()> {
        if topics.is_empty() {
            return Ok(());
        }
        let deadline =
            tokio::time::Instant::now() + self.client().config().connection.request_timeout;
        loop {
            let metadata = self.client().refresh_metadata(Some(topics)).await?;
            let Some(name) = topics.iter().find(|t| metadata.topics.contains_key(*t)) else {
                return Ok(());
            };
            if tokio::time::Instant::now() + METADATA_POLL > deadline {
                return Err(Error::protocol(
                    "DeleteTopics",
                    "cluster",
                    format!(
                        "topic '{name}' still shows in metadata {:?} after its deletion",
                        self.client().config().connection.request_timeout
                    ),
                ));
            }
            tokio::time::sleep(METADATA_POLL).await;
        }
    }
}

fn names(topics: &[NewTopic]) -> Vec<String> {
    topics.iter().map(|t| t.name.clone()).collect()
}

fn creatable(t: &NewTopic) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(str_bytes(&t.name)))
        .with_num_partitions(t.partitions)
        .with_replication_factor(t.replication_factor)
        .with_configs(
            t.configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(str_bytes(k))
                        .with_value(Some(str_bytes(v)))
                })
                .collect(),
        )
}

/// Outcomes in the caller's order (a name given twice is reported twice).
fn in_order<'a>(
    names: impl Iterator<Item = &'a str>,
    outcomes: BTreeMap<String, Result<(), BrokerError>>,
) -> Vec<TopicOutcome> {
    names
        .map(|n| {
            let result = outcomes.get(n).cloned().unwrap_or_else(|| {
                // Unreachable by construction (controller_rounds answers every name or
                // fails), kept as an error rather than a panic.
                Err(BrokerError::new("Admin", -1).with_topic(n))
            });
            (n.to_string(), result)
        })
        .collect()
}
