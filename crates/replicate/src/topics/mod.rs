//! Topic metadata sync: which source topics are replicated, and making the target match —
//! topics created with the source's partition count and copied configs, partitions added as
//! the source grows, configs kept in step, topic ACLs copied. MSK Replicator's rules; the
//! config and ACL rules are in `docs/topic-configs.md`.
//!
//! `TopicSync::sync_once` is called periodically (MSK: about every 30 s). Failures that
//! concern one topic do not stop the others: each is logged, counted in
//! `replication_failures{topic}` and listed in `TopicSync::last_errors`; only not being able
//! to list the source's or the target's topics fails the whole sync.

mod acls;
mod configs;
mod creation;
mod discovery;
mod error;
mod message_limits;
mod plan;
mod validate_only_refusal;

#[cfg(test)]
mod fake_tests;
#[cfg(test)]
mod tansu_tests;

pub(crate) use configs::describe_ops;
pub(crate) use creation::ReplicationFactor;
pub(crate) use discovery::empty_selection_warning;
pub(crate) use error::TopicSyncError;
pub(crate) use plan::TopicPlan;
#[cfg(test)]
pub(crate) use plan::{ConfigChange, PartitionGrowth, TopicToCreate};
pub(crate) use validate_only_refusal::ValidateOnlyRefusal;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use kreplicate_wire::admin::Admin;
use kreplicate_wire::client::{Client, ClusterMetadata};

use crate::cluster_client::Role;
use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::metrics::{cluster_labels, topic_labels, ReplicatorMetrics};

use acls::AclSync;
use configs::ConfigSync;
use creation::{TopicCreator, Wanted};
use discovery::Discovery;
use error::Problems;

/// A source topic being replicated, and its name on the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ReplicatedTopic {
    /// Name on the source.
    pub(crate) source: String,
    /// Name on the target.
    pub(crate) target: String,
    /// Partitions to copy, 0..partitions, each to the same partition number on the target:
    /// the source's partition count — or the target's, while the target topic has fewer and
    /// cannot be grown (see `TopicSync::last_errors`).
    pub(crate) partitions: i32,
}

/// Settings of the metadata sync that are not part of the MSK request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TopicSyncOptions {
    /// Replicas per partition of created target topics (default: the target's default).
    pub(crate) replication_factor: ReplicationFactor,
}

/// One cluster as the sync sees it.
pub(crate) struct Side {
    pub(crate) role: Role,
    /// The cluster id, for messages.
    pub(crate) cluster: String,
    /// The alias, for metric labels.
    alias: String,
    pub(crate) admin: Admin,
    client: Client,
}

impl Side {
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// An error of `operation` on this cluster, about `topic` (its name here).
    pub(crate) fn error(
        &self,
        topic: Option<&str>,
        operation: impl Into<String>,
        message: impl Display,
    ) -> TopicSyncError {
        TopicSyncError {
            role: self.role,
            cluster: self.cluster.clone(),
            topic: topic.map(str::to_string),
            operation: operation.into(),
            message: message.to_string(),
        }
    }
}

/// Keeps the target's topics, partitions, configs and topic ACLs in step with the source.
pub(crate) struct TopicSync {
    source: Side,
    target: Side,
    config: Arc<ReplicatorConfig>,
    metrics: Arc<ReplicatorMetrics>,
    discovery: Discovery,
    creator: TopicCreator,
    configs: ConfigSync,
    acls: AclSync,
    last_errors: Vec<TopicSyncError>,
    /// Target topic → its max.message.bytes, as of the last round.
    max_message_bytes: BTreeMap<String, usize>,
    /// The problems of the last round, as logged.
    logged: std::collections::HashSet<String>,
    /// Whether the empty selection was warned about.
    warned_empty: bool,
    /// Off in a worker that does not hold the cluster tasks: it only reads which topics exist
    /// on both sides; another worker creates, grows and configures them.
    cluster_tasks: bool,
    /// See [`TopicSync::awaits_cluster_task_worker`].
    awaiting: bool,
}

// By hand: the clients and caches inside have nothing useful to print.
impl std::fmt::Debug for TopicSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicSync")
            .field("cluster_tasks", &self.cluster_tasks)
            .finish_non_exhaustive()
    }
}

impl TopicSync {
    /// A sync with default options (target topics get the target's default replication
    /// factor).
    pub(crate) fn new(
        source: Client,
        target: Client,
        config: Arc<ReplicatorConfig>,
        metrics: Arc<ReplicatorMetrics>,
    ) -> Self {
        Self::with_options(source, target, config, metrics, TopicSyncOptions::default())
    }

    /// A sync with `options`.
    pub(crate) fn with_options(
        source: Client,
        target: Client,
        config: Arc<ReplicatorConfig>,
        metrics: Arc<ReplicatorMetrics>,
        options: TopicSyncOptions,
    ) -> Self {
        TopicSync {
            source: Side {
                role: Role::Source,
                cluster: config.source.id.clone(),
                alias: config.source.alias.clone(),
                admin: Admin::new(source.clone()),
                client: source,
            },
            target: Side {
                role: Role::Target,
                cluster: config.target.id.clone(),
                alias: config.target.alias.clone(),
                admin: Admin::new(target.clone()),
                client: target,
            },
            config,
            metrics,
            discovery: Discovery::default(),
            creator: TopicCreator::new(options.replication_factor),
            configs: ConfigSync::default(),
            acls: AclSync::default(),
            last_errors: Vec::new(),
            max_message_bytes: BTreeMap::new(),
            logged: std::collections::HashSet::new(),
            warned_empty: false,
            cluster_tasks: true,
            awaiting: false,
        }
    }

    /// Whether this sync creates, grows and configures target topics and copies ACLs (the
    /// default), or only reads them (a worker without the cluster tasks).
    pub(crate) fn set_cluster_tasks(&mut self, on: bool) {
        self.cluster_tasks = on;
    }

    /// Whether the last round, without the cluster tasks, found a selected topic whose target
    /// another worker has yet to create or grow: worth another look soon.
    pub(crate) fn awaits_cluster_task_worker(&self) -> bool {
        self.awaiting
    }

    /// One round: lists the selected source topics, creates or grows their target topics,
    /// copies configs and topic ACLs as the replication flags say, and returns the topics to
    /// replicate (sorted by source name; topics whose target topic does not exist yet are
    /// left out until a later round creates it). Sets the `topic_count` metric.
    ///
    /// Fails only when the source's or the target's topics cannot be listed (counted in
    /// `replication_failures{topic=""}`, the message naming cluster and operation); per-topic
    /// failures are in `last_errors`.
    pub(crate) async fn sync_once(&mut self) -> Result<Vec<ReplicatedTopic>, EngineError> {
        self.last_errors.clear();
        let mut problems = Problems::default();
        let result = self.sync(&mut problems).await;
        // The same problem every round (a source without DescribeConfigs, a policy) is logged
        // at WARN when it appears, then quietly while it lasts; it is still counted each time.
        let previous = std::mem::take(&mut self.logged);
        for (source_topic, error) in problems.list {
            let line = error.to_string();
            if previous.contains(&line) {
                tracing::debug!("{line} (again)");
            } else {
                tracing::warn!("{line}");
            }
            self.logged.insert(line);
            self.metrics
                .failures
                .get_or_create(&topic_labels(&source_topic))
                .inc();
            self.last_errors.push(error);
        }
        let topics = result.map_err(|e| {
            // Logged by the caller, which decides what to do; counted here like the others.
            self.metrics.failures.get_or_create(&topic_labels("")).inc();
            EngineError::from(e)
        })?;
        self.metrics.topic_count.set(topics.len() as i64);
        Ok(topics)
    }

    /// The per-topic problems of the last [`sync_once`](Self::sync_once), each already logged
    /// and counted. A problem that cannot go away by itself (the target lacks
    /// CreatePartitions) is listed only in the round that first found it.
    #[cfg(test)]
    pub(crate) fn last_errors(&self) -> &[TopicSyncError] {
        &self.last_errors
    }

    /// The target topic's `max.message.bytes` as of the last round (Kafka's default where the
    /// target does not list it): the largest batch the target accepts for it.
    pub(crate) fn target_max_message_bytes(&self, target_topic: &str) -> usize {
        self.max_message_bytes
            .get(target_topic)
            .copied()
            .unwrap_or(message_limits::KAFKA_DEFAULT_MAX_MESSAGE_BYTES)
    }

    /// `source_topic_count`, and while nothing is selected the source's topics by name.
    fn expose_source_topics(&self, metadata: &ClusterMetadata, none_selected: bool) {
        let names = discovery::user_topics(metadata);
        self.metrics.source_topic_count.set(names.len() as i64);
        self.metrics.unselected_source_topics.clear();
        let named: Vec<String> = if none_selected {
            names
                .iter()
                .take(discovery::NAMED_UNSELECTED)
                .map(|name| name.to_string())
                .collect()
        } else {
            Vec::new()
        };
        for name in &named {
            self.metrics
                .unselected_source_topics
                .get_or_create(&topic_labels(name))
                .set(1);
        }
        self.metrics.board.set_source_topics(names.len(), named);
    }

    async fn sync(
        &mut self,
        problems: &mut Problems,
    ) -> Result<Vec<ReplicatedTopic>, TopicSyncError> {
        let metadata = self.source.client().metadata().await.map_err(|e| {
            self.count_auth_error(&self.source, &e);
            self.source
                .error(None, "listing source topics (Metadata)", e)
        })?;
        let selected = self.discovery.select(&metadata, &self.config);
        // Said once while it lasts, again if it comes back.
        let warning = discovery::empty_selection_warning(&metadata, &self.config);
        self.expose_source_topics(&metadata, warning.is_some());
        match warning {
            Some(warning) if !self.warned_empty => {
                tracing::warn!("{warning}");
                self.warned_empty = true;
            }
            Some(_) => {}
            None => self.warned_empty = false,
        }
        let flags = self.config.flags;
        let source_configs = if flags.copy_topic_configurations && self.cluster_tasks {
            self.configs
                .read_source(&self.source, &selected, problems)
                .await
        } else {
            BTreeMap::new()
        };
        let wanted: Vec<Wanted> = selected
            .iter()
            .map(|t| Wanted {
                source: &t.name,
                target: self.config.target_topic(&t.name),
                partitions: t.partitions,
                configs: source_configs.get(&t.name).cloned().unwrap_or_default(),
            })
            .collect();
        let state = if self.cluster_tasks {
            self.creator.ensure(&self.target, &wanted, problems).await
        } else {
            creation::observe(&self.target, &wanted).await
        };
        let state = state.map_err(|e| {
            self.count_auth_error(&self.target, &e);
            self.target
                .error(None, "listing target topics (Metadata)", e)
        })?;
        self.awaiting = !self.cluster_tasks
            && wanted.iter().any(|w| {
                state
                    .partitions
                    .get(&w.target)
                    .is_none_or(|&target| target < w.partitions)
            });
        let mut replicated = Vec::new();
        let mut existing = Vec::new();
        for w in &wanted {
            let Some(&target_partitions) = state.partitions.get(&w.target) else {
                continue;
            };
            match state.created.get(&w.target) {
                Some(keys) => self.configs.created(w.source, keys.iter().cloned()),
                None => existing.push((w.source.to_string(), w.target.clone())),
            }
            replicated.push(ReplicatedTopic {
                source: w.source.to_string(),
                target: w.target.clone(),
                partitions: w.partitions.min(target_partitions),
            });
        }
        if flags.copy_topic_configurations && self.cluster_tasks {
            self.configs
                .sync(&self.target, &existing, &source_configs, problems)
                .await;
        }
        if flags.copy_topic_acls && self.cluster_tasks {
            let names: BTreeMap<String, String> = replicated
                .iter()
                .map(|t| (t.source.clone(), t.target.clone()))
                .collect();
            self.acls
                .sync(&self.source, &self.target, &names, problems)
                .await;
        }
        let targets: Vec<String> = replicated.iter().map(|t| t.target.clone()).collect();
        // Config sync just described the existing targets: their listings serve the batch
        // limits too, so each target topic is described once per refresh.
        let known = self.configs.take_target_listings();
        self.max_message_bytes =
            message_limits::read(&self.target, &targets, &self.max_message_bytes, known).await;
        Ok(replicated)
    }

    fn count_auth_error(&self, side: &Side, e: &kreplicate_wire::client::Error) {
        if e.is_auth() {
            self.metrics
                .auth_errors
                .get_or_create(&cluster_labels(&side.alias))
                .inc();
        }
    }
}
