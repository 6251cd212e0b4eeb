//! Minimal topic discovery used until the full metadata sync (`topics`) is wired in: selected
//! source topics, created on the target with the same partition count.

use std::sync::Arc;

use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::Client;

use crate::cluster_client::Role;
use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::metrics::ReplicatorMetrics;

/// A source topic being replicated, and its name on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedTopic {
    pub source: String,
    pub target: String,
    pub partitions: i32,
}

pub struct TopicSync {
    source: Client,
    target: Client,
    config: Arc<ReplicatorConfig>,
}

impl TopicSync {
    pub fn new(
        source: Client,
        target: Client,
        config: Arc<ReplicatorConfig>,
        _metrics: Arc<ReplicatorMetrics>,
    ) -> Self {
        TopicSync {
            source,
            target,
            config,
        }
    }

    pub async fn sync_once(&mut self) -> Result<Vec<ReplicatedTopic>, EngineError> {
        let metadata = self.source.metadata().await.map_err(|source| {
            EngineError::cluster(Role::Source, self.config.source.id.clone(), source)
        })?;
        let topics: Vec<ReplicatedTopic> = metadata
            .topics
            .values()
            .filter(|t| self.config.topics.selects(&t.name))
            .map(|t| ReplicatedTopic {
                source: t.name.clone(),
                target: self.config.target_topic(&t.name),
                partitions: t.partitions.len() as i32,
            })
            .collect();
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic::new(t.target.clone(), t.partitions, -1))
            .collect();
        if !new.is_empty() {
            let results = Admin::new(self.target.clone())
                .create_topics(&new, false)
                .await
                .map_err(|source| {
                    EngineError::cluster(Role::Target, self.config.target.id.clone(), source)
                })?;
            for (name, result) in results {
                if let Err(e) = result {
                    if !e.is_already_exists() {
                        tracing::warn!(topic = %name, error = %e, "cannot create the target topic");
                    }
                }
            }
        }
        Ok(topics)
    }
}
