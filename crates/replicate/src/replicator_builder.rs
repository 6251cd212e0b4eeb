//! Configuring a replicator from Rust. The builder writes the CreateReplicator request that
//! the same settings would be in JSON and validates it with
//! [`CreateReplicatorRequest::validate`], so both ways share one set of rules and defaults.

use crate::cluster::Cluster;
use crate::config::{
    ClusterAuth, ClusterConfig, Compression, ConfigError, ConsumerGroupReplication,
    CreateReplicatorRequest, OffsetSyncMode, ProvidedCredentials, ReplicationInfo,
    ReplicationStartingPosition, ReplicatorConfig, StartingPosition, TopicNameConfiguration,
    TopicNaming, TopicReplication,
};
use crate::engine::Replicator;
use crate::error::EngineError;
use crate::options::EngineOptions;

/// Why [`ReplicatorBuilder`] cannot produce a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// [`ReplicatorBuilder::source`] or [`ReplicatorBuilder::target`] was not called.
    #[error("no {0} cluster: call ReplicatorBuilder::{0}")]
    MissingCluster(&'static str),
    /// A setting breaks a rule; the path names it as in the CreateReplicator JSON.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

/// Settings of one replicator; [`start`](Self::start) connects and runs it. Defaults are
/// MSK Replicator's: every topic (`.*`), no consumer group, PREFIXED names, LATEST start,
/// no compression, LEGACY offset sync, topic configs and ACLs copied, new topics and groups
/// detected.
#[derive(Debug, Clone)]
pub struct ReplicatorBuilder {
    name: String,
    description: Option<String>,
    source: Option<Cluster>,
    target: Option<Cluster>,
    topics: TopicReplication,
    groups: ConsumerGroupReplication,
    compression: Compression,
    options: EngineOptions,
}

impl ReplicatorBuilder {
    /// A replicator named `name` (`^[0-9A-Za-z][0-9A-Za-z-]*$`: it keys its checkpoints).
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            source: None,
            target: None,
            topics: TopicReplication {
                topics_to_replicate: vec![".*".to_owned()],
                topics_to_exclude: Vec::new(),
                copy_topic_configurations: true,
                copy_access_control_lists_for_topics: true,
                detect_and_copy_new_topics: true,
                starting_position: ReplicationStartingPosition::default(),
                topic_name_configuration: TopicNameConfiguration::default(),
            },
            groups: ConsumerGroupReplication {
                consumer_groups_to_replicate: Vec::new(),
                consumer_groups_to_exclude: Vec::new(),
                synchronise_consumer_group_offsets: true,
                detect_and_copy_new_consumer_groups: true,
                consumer_group_offset_sync_mode: OffsetSyncMode::default(),
            },
            compression: Compression::None,
            options: EngineOptions::default(),
        }
    }

    /// Free text (at most 1024 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The cluster records are read from.
    pub fn source(mut self, cluster: Cluster) -> Self {
        self.source = Some(cluster);
        self
    }

    /// The cluster records are written to.
    pub fn target(mut self, cluster: Cluster) -> Self {
        self.target = Some(cluster);
        self
    }

    /// Topics to copy: regexes matching whole names (replaces the default `.*`).
    pub fn topics<S: Into<String>>(mut self, include: impl IntoIterator<Item = S>) -> Self {
        self.topics.topics_to_replicate = include.into_iter().map(Into::into).collect();
        self
    }

    /// Topics never to copy (wins over [`topics`](Self::topics)).
    pub fn exclude_topics<S: Into<String>>(mut self, exclude: impl IntoIterator<Item = S>) -> Self {
        self.topics.topics_to_exclude = exclude.into_iter().map(Into::into).collect();
        self
    }

    /// How target topics are named.
    pub fn naming(mut self, naming: TopicNaming) -> Self {
        self.topics.topic_name_configuration.r#type = naming;
        self
    }

    /// Where partitions without a checkpoint start.
    pub fn starting_position(mut self, position: StartingPosition) -> Self {
        self.topics.starting_position.r#type = position;
        self
    }

    /// Compression of batches written to the target.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Copy topic configurations and ACLs to the target (default true).
    pub fn copy_topic_metadata(mut self, configurations: bool, acls: bool) -> Self {
        self.topics.copy_topic_configurations = configurations;
        self.topics.copy_access_control_lists_for_topics = acls;
        self
    }

    /// Pick up topics created after start (default true).
    pub fn detect_new_topics(mut self, detect: bool) -> Self {
        self.topics.detect_and_copy_new_topics = detect;
        self
    }

    /// Consumer groups whose offsets are synced: include and exclude regexes (none by
    /// default; empty turns group sync off).
    pub fn groups<S: Into<String>>(
        mut self,
        include: impl IntoIterator<Item = S>,
        exclude: impl IntoIterator<Item = S>,
    ) -> Self {
        self.groups.consumer_groups_to_replicate = include.into_iter().map(Into::into).collect();
        self.groups.consumer_groups_to_exclude = exclude.into_iter().map(Into::into).collect();
        self
    }

    /// How group offsets are synced (ENHANCED needs IDENTICAL naming).
    pub fn offset_sync_mode(mut self, mode: OffsetSyncMode) -> Self {
        self.groups.consumer_group_offset_sync_mode = mode;
        self
    }

    /// Translate and commit group offsets on the target, and pick up new groups (both
    /// default true).
    pub fn group_sync(mut self, sync_offsets: bool, detect_new_groups: bool) -> Self {
        self.groups.synchronise_consumer_group_offsets = sync_offsets;
        self.groups.detect_and_copy_new_consumer_groups = detect_new_groups;
        self
    }

    /// Engine tuning (default: what the CLI uses).
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// The CreateReplicator request these settings are (what `--cli-input-json` would hold).
    pub(crate) fn request(&self) -> Result<CreateReplicatorRequest, BuildError> {
        let source = self
            .source
            .as_ref()
            .ok_or(BuildError::MissingCluster("source"))?;
        let target = self
            .target
            .as_ref()
            .ok_or(BuildError::MissingCluster("target"))?;
        let (source_arn, source_id) = source.reference();
        let (target_arn, target_id) = target.reference();
        Ok(CreateReplicatorRequest {
            replicator_name: self.name.clone(),
            description: self.description.clone(),
            service_execution_role_arn: None,
            kafka_clusters: vec![source.cluster.clone(), target.cluster.clone()],
            replication_info_list: vec![ReplicationInfo {
                source_kafka_cluster_arn: source_arn,
                source_kafka_cluster_id: source_id,
                target_kafka_cluster_arn: target_arn,
                target_kafka_cluster_id: target_id,
                target_compression_type: self.compression,
                topic_replication: self.topics.clone(),
                consumer_group_replication: self.groups.clone(),
            }],
            tags: None,
            log_delivery: None,
        })
    }

    /// The validated configuration (for [`plan`](crate::plan), [`validate`](crate::validate),
    /// [`verify`](crate::verify) or [`Replicator::start`]): exactly
    /// what validating the CreateReplicator request these settings are gives, with the
    /// credentials providers put in.
    pub fn build_config(&self) -> Result<ReplicatorConfig, BuildError> {
        let mut config = self.request()?.validate()?;
        let provided = |c: &Option<Cluster>| c.as_ref().and_then(|c| c.credentials.clone());
        put_credentials(&mut config.source, provided(&self.source));
        put_credentials(&mut config.target, provided(&self.target));
        Ok(config)
    }

    /// Validates, connects to both clusters and starts replicating in the background.
    pub async fn start(self) -> Result<Replicator, EngineError> {
        let config = self.build_config()?;
        Replicator::start(config, self.options).await
    }
}

fn put_credentials(cluster: &mut ClusterConfig, credentials: Option<ProvidedCredentials>) {
    if let Some(credentials) = credentials {
        cluster.auth = Some(ClusterAuth::Provided(credentials));
    }
}

// The builder against the JSON it stands for (looks at the validated configuration's
// crate-private members).
#[cfg(test)]
#[path = "replicator_builder_tests.rs"]
mod tests;
