//! Making sure each replicated topic exists on the target with at least the source's
//! partitions: missing topics are created (with the source's copied configs), topics with
//! fewer partitions are grown with CreatePartitions. Partition N is copied to partition N, so
//! while a target topic lacks partitions only the ones it has are replicated.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kreplicate_wire::admin::NewTopic;
use kreplicate_wire::client::{Error as ClientError, TopicMetadata};
use kreplicate_wire::{Api, BrokerErrorKind};

use super::configs::is_config_refusal;
use super::error::Problems;
use super::Side;

/// CreateTopics accepts replication factor -1 ("the broker's default") from this version on
/// (KIP-464, Kafka 2.4).
const CREATE_TOPICS_DEFAULT_RF_VERSION: i16 = 4;

/// How many replicas each partition of a created target topic gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReplicationFactor {
    /// The target's `default.replication.factor` (CreateTopics v4+ sends -1). A target too old
    /// for that (before Kafka 2.4) gets 1, with a warning.
    #[default]
    BrokerDefault,
    /// Exactly this many replicas.
    // Set only by the tests: no caller offers a replication factor yet.
    #[cfg_attr(not(test), allow(dead_code))]
    Fixed(i16),
}

/// One replicated topic as creation sees it.
#[derive(Debug, Clone)]
pub(crate) struct Wanted<'a> {
    pub(crate) source: &'a str,
    pub(crate) target: String,
    /// The source's partition count.
    pub(crate) partitions: i32,
    /// Configs to create the topic with (copied from the source).
    pub(crate) configs: BTreeMap<String, String>,
}

/// The target after creation and growth.
#[derive(Debug, Default)]
pub(crate) struct TargetState {
    /// Target topic → its partition count. A topic missing here does not exist on the target.
    pub(crate) partitions: BTreeMap<String, i32>,
    /// Target topics created by this sync, with the configs they were created with.
    pub(crate) created: BTreeMap<String, BTreeSet<String>>,
}

/// Creates and grows target topics.
#[derive(Debug, Default)]
pub(crate) struct TopicCreator {
    replication_factor: ReplicationFactor,
    /// Target topic → the partition count it could not be grown to because the target lacks
    /// CreatePartitions: reported once, not at every sync.
    growth_unsupported: HashMap<String, i32>,
    /// Whether the fallback to replication factor 1 was logged.
    rf_fallback_logged: bool,
}

impl TopicCreator {
    pub(crate) fn new(replication_factor: ReplicationFactor) -> Self {
        TopicCreator {
            replication_factor,
            ..TopicCreator::default()
        }
    }

    /// Creates the missing topics of `wanted` on `target` and grows those with fewer
    /// partitions than the source. Per-topic failures go to `problems`; the `Err` is the
    /// failure to read the target's topics at all (Metadata).
    pub(crate) async fn ensure(
        &mut self,
        target: &Side,
        wanted: &[Wanted<'_>],
        problems: &mut Problems,
    ) -> Result<TargetState, ClientError> {
        let mut state = TargetState::default();
        if wanted.is_empty() {
            return Ok(state);
        }
        let names: Vec<String> = wanted.iter().map(|w| w.target.clone()).collect();
        let metadata = target.client().refresh_metadata(Some(&names)).await?;
        for (name, t) in &metadata.topics {
            state.partitions.insert(name.clone(), count(t));
        }
        let missing: Vec<&Wanted> = wanted
            .iter()
            .filter(|w| !state.partitions.contains_key(&w.target))
            .collect();
        let mut recheck = self.create(target, &missing, &mut state, problems).await;
        self.grow(target, wanted, &mut state, problems).await;
        // Topics created by someone else meanwhile, or still settling: read them once more.
        recheck.retain(|name| !state.partitions.contains_key(name));
        if !recheck.is_empty() {
            if let Ok(m) = target.client().refresh_metadata(Some(&recheck)).await {
                for (name, t) in m.topics {
                    state.partitions.insert(name, count(&t));
                }
            }
        }
        Ok(state)
    }

    /// The replication factor to create topics with on `target`.
    pub(super) async fn replication_factor(&mut self, target: &Side) -> Result<i16, ClientError> {
        match self.replication_factor {
            ReplicationFactor::Fixed(rf) => Ok(rf),
            ReplicationFactor::BrokerDefault => {
                let (broker, versions) =
                    target.admin.controller_versions(Api::CreateTopics).await?;
                let max = versions.map_or(-1, |(_, max)| max);
                if max >= CREATE_TOPICS_DEFAULT_RF_VERSION {
                    return Ok(-1);
                }
                if !self.rf_fallback_logged {
                    self.rf_fallback_logged = true;
                    tracing::warn!(
                        cluster = %target.cluster, broker = %broker,
                        "target cluster {} offers CreateTopics only up to v{max}, which cannot \
                         ask for the broker's default replication factor; creating topics with \
                         replication factor 1 (set a fixed replication factor to override)",
                        target.cluster
                    );
                }
                Ok(1)
            }
        }
    }

    /// Creates `missing` in one request. Returns the topics to look up again (they existed
    /// after all). A topic the target refuses because of a config is created without configs
    /// (reported), so its records still flow; the config sync retries the configs later.
    async fn create(
        &mut self,
        target: &Side,
        missing: &[&Wanted<'_>],
        state: &mut TargetState,
        problems: &mut Problems,
    ) -> Vec<String> {
        const OPERATION: &str = "creating the topic (CreateTopics)";
        let mut recheck = Vec::new();
        if missing.is_empty() {
            return recheck;
        }
        let rf = match self.replication_factor(target).await {
            Ok(rf) => rf,
            Err(e) => {
                for w in missing {
                    problems.push(w.source, target.error(Some(&w.target), OPERATION, &e));
                }
                return recheck;
            }
        };
        let new: Vec<NewTopic> = missing
            .iter()
            .map(|w| NewTopic {
                name: w.target.clone(),
                partitions: w.partitions,
                replication_factor: rf,
                configs: w.configs.clone(),
            })
            .collect();
        let outcomes = match target.admin.create_topics(&new, false).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                for w in missing {
                    problems.push(w.source, target.error(Some(&w.target), OPERATION, &e));
                }
                return recheck;
            }
        };
        let mut without_configs = Vec::new();
        for ((name, outcome), w) in outcomes.into_iter().zip(missing) {
            match outcome {
                Ok(()) => {
                    tracing::info!(
                        topic = %name, partitions = w.partitions, replication_factor = rf,
                        configs = ?w.configs,
                        "created target topic for source topic '{}'", w.source
                    );
                    state.partitions.insert(name.clone(), w.partitions);
                    state
                        .created
                        .insert(name, w.configs.keys().cloned().collect());
                }
                Err(e) if e.kind() == BrokerErrorKind::TopicAlreadyExists => recheck.push(name),
                Err(e) if is_config_refusal(&e) && !w.configs.is_empty() => {
                    problems.push(
                        w.source,
                        target.error(
                            Some(&w.target),
                            OPERATION,
                            format!(
                                "{e}; the target refused the copied configs {:?}, creating the \
                                 topic without them",
                                w.configs
                            ),
                        ),
                    );
                    without_configs.push(*w);
                }
                Err(e) => problems.push(w.source, target.error(Some(&w.target), OPERATION, e)),
            }
        }
        if without_configs.is_empty() {
            return recheck;
        }
        let bare: Vec<NewTopic> = without_configs
            .iter()
            .map(|w| NewTopic::new(w.target.clone(), w.partitions, rf))
            .collect();
        match target.admin.create_topics(&bare, false).await {
            Ok(outcomes) => {
                for ((name, outcome), w) in outcomes.into_iter().zip(&without_configs) {
                    match outcome {
                        Ok(()) => {
                            state.partitions.insert(name.clone(), w.partitions);
                            state.created.insert(name, BTreeSet::new());
                        }
                        Err(e) if e.kind() == BrokerErrorKind::TopicAlreadyExists => {
                            recheck.push(name)
                        }
                        Err(e) => {
                            problems.push(w.source, target.error(Some(&w.target), OPERATION, e))
                        }
                    }
                }
            }
            Err(e) => {
                for w in &without_configs {
                    problems.push(w.source, target.error(Some(&w.target), OPERATION, &e));
                }
            }
        }
        recheck
    }

    /// Grows each existing target topic with fewer partitions than its source. Without
    /// CreatePartitions on the target (Tansu 0.6) each topic is reported once; its partitions
    /// beyond the target's count wait.
    async fn grow(
        &mut self,
        target: &Side,
        wanted: &[Wanted<'_>],
        state: &mut TargetState,
        problems: &mut Problems,
    ) {
        let short: Vec<(&Wanted, i32)> = wanted
            .iter()
            .filter_map(|w| {
                let have = *state.partitions.get(&w.target)?;
                (have < w.partitions).then_some((w, have))
            })
            .collect();
        if short.is_empty() {
            return;
        }
        let supported = match target.admin.supports(Api::CreatePartitions).await {
            Ok(s) => s,
            Err(e) => {
                for (w, have) in &short {
                    problems.push(
                        w.source,
                        target.error(Some(&w.target), grow_operation(*have, w.partitions), &e),
                    );
                }
                return;
            }
        };
        for (w, have) in short {
            let operation = grow_operation(have, w.partitions);
            if !supported {
                if self.growth_unsupported.get(&w.target) != Some(&w.partitions) {
                    self.growth_unsupported
                        .insert(w.target.clone(), w.partitions);
                    problems.push(
                        w.source,
                        target.error(
                            Some(&w.target),
                            operation,
                            format!(
                                "the target cluster does not offer CreatePartitions (Tansu 0.6 \
                                 does not); partitions {have}..{} of source topic '{}' are not \
                                 replicated until the target topic has {} partitions \
                                 (partitions 0..{} keep replicating). Reported once.",
                                w.partitions - 1,
                                w.source,
                                w.partitions,
                                have - 1
                            ),
                        ),
                    );
                }
                continue;
            }
            match target
                .admin
                .create_partitions(&w.target, w.partitions)
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        topic = %w.target, from = have, to = w.partitions,
                        "grew target topic to the partition count of source topic '{}'", w.source
                    );
                    self.growth_unsupported.remove(&w.target);
                    state.partitions.insert(w.target.clone(), w.partitions);
                }
                Err(e) => problems.push(w.source, target.error(Some(&w.target), operation, e)),
            }
        }
    }
}

/// A topic's partition count as the protocol counts them.
fn count(topic: &TopicMetadata) -> i32 {
    i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX)
}

fn grow_operation(from: i32, to: i32) -> String {
    format!("adding partitions {from} -> {to} (CreatePartitions)")
}

/// The target topics of `wanted` that exist, and their partition counts, changing nothing.
pub(crate) async fn observe(
    target: &Side,
    wanted: &[Wanted<'_>],
) -> Result<TargetState, ClientError> {
    let mut state = TargetState::default();
    if wanted.is_empty() {
        return Ok(state);
    }
    let names: Vec<String> = wanted.iter().map(|w| w.target.clone()).collect();
    let metadata = target.client().refresh_metadata(Some(&names)).await?;
    for (name, t) in &metadata.topics {
        state.partitions.insert(name.clone(), count(t));
    }
    Ok(state)
}
