//! `kreplicate plan`: what one round of [`TopicSync`](super::TopicSync) would do to the target
//! now, found by reading only. The same selection, creation, config and ACL rules as the sync
//! (it calls the same pieces); the only request that could change anything, CreateTopics, is
//! sent with `validate_only` and only to a target that honours it.

use std::collections::{BTreeMap, BTreeSet};

use kreplicate_wire::admin::{AclBinding, AlterOp, NewTopic, Operation};
use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::Api;

use super::configs::is_config_refusal;
use super::error::{Problems, TopicSyncError};
use super::validate_only_refusal::{ChangesRefused, ValidateOnlyRefusal};
use super::TopicSync;
use crate::error::EngineError;

/// A target topic `run` would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicToCreate {
    /// The topic on the source.
    pub(crate) source: String,
    /// Its name on the target.
    pub(crate) target: String,
    /// Partitions it would have.
    pub(crate) partitions: i32,
    /// Replication factor sent (-1: the target's default).
    pub(crate) replication_factor: i16,
    /// Copied configs it would be created with.
    pub(crate) configs: BTreeMap<String, String>,
    /// What CreateTopics with `validate_only` answered: `None` when not asked (the target
    /// does not honour it), `Some(Ok)` accepted, `Some(Err(why))` refused.
    pub(crate) validated: Option<Result<(), ValidateOnlyRefusal>>,
}

/// A target topic with fewer partitions than its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionGrowth {
    /// The topic on the source.
    pub(crate) source: String,
    /// Its name on the target.
    pub(crate) target: String,
    /// Partitions the target has.
    pub(crate) from: i32,
    /// Partitions the source has.
    pub(crate) to: i32,
    /// Whether the target offers CreatePartitions; without it only `from` partitions are
    /// copied.
    pub(crate) possible: bool,
}

/// Config changes `run` would make on an existing target topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigChange {
    /// The topic on the source.
    pub(crate) source: String,
    /// Its name on the target.
    pub(crate) target: String,
    /// The config changes, as IncrementalAlterConfigs operations.
    pub(crate) ops: Vec<AlterOp>,
    /// What IncrementalAlterConfigs with `validate_only` answered, as for
    /// [`TopicToCreate::validated`]; a refusal names the changes refused.
    pub(crate) validated: Option<Result<(), ValidateOnlyRefusal>>,
}

/// What one round of the topic sync would do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TopicPlan {
    /// Selected source topics with their target names and the source's partition count.
    pub(crate) selected: Vec<(String, String, i32)>,
    /// Target topics that exist and need nothing.
    pub(crate) in_step: Vec<String>,
    /// Target topics to create.
    pub(crate) create: Vec<TopicToCreate>,
    /// Target topics to grow.
    pub(crate) grow: Vec<PartitionGrowth>,
    /// Target topic configs to change.
    pub(crate) alter: Vec<ConfigChange>,
    /// ACLs to create on the target.
    pub(crate) acls: Vec<AclBinding>,
    /// What `run` could not do or the plan could not read (as the sync would report it).
    pub(crate) problems: Vec<TopicSyncError>,
    /// What cannot be known before `run` does it.
    pub(crate) unknown: Vec<String>,
}

impl TopicPlan {
    /// True when nothing is known to fail: no problem, no refused creation, no growth the
    /// target cannot do.
    pub(crate) fn feasible(&self) -> bool {
        self.problems.is_empty()
            && self.grow.iter().all(|g| g.possible)
            && self
                .create
                .iter()
                .all(|c| !matches!(c.validated, Some(Err(_))))
            && self
                .alter
                .iter()
                .all(|a| !matches!(a.validated, Some(Err(_))))
    }
}

impl TopicSync {
    /// What a sync round would do now, found without changing either
    /// cluster: the same reads, then CreateTopics with `validate_only` where the target
    /// honours it. Fails only when the source's or the target's topics cannot be listed.
    pub(crate) async fn plan(&mut self) -> Result<TopicPlan, EngineError> {
        let mut problems = Problems::default();
        let mut plan = TopicPlan::default();
        let metadata = self.source.client().metadata().await.map_err(|e| {
            EngineError::from(
                self.source
                    .error(None, "listing source topics (Metadata)", e),
            )
        })?;
        let selected = self.discovery.select(&metadata, &self.config);
        let flags = self.config.flags;
        let source_configs = if flags.copy_topic_configurations {
            self.configs
                .read_source(&self.source, &selected, &mut problems)
                .await
        } else {
            BTreeMap::new()
        };
        let names: Vec<String> = selected
            .iter()
            .map(|t| self.config.target_topic(&t.name))
            .collect();
        let existing = if names.is_empty() {
            BTreeMap::new()
        } else {
            let target_metadata = self
                .target
                .client()
                .refresh_metadata(Some(&names))
                .await
                .map_err(|e| {
                    EngineError::from(self.target.error(
                        None,
                        "listing target topics (Metadata)",
                        e,
                    ))
                })?;
            target_metadata
                .topics
                .iter()
                .map(|(name, t)| (name.clone(), t.partitions.len() as i32))
                .collect::<BTreeMap<String, i32>>()
        };
        // CreatePartitions is also what tells a target that honours `validate_only` (see
        // `validate_creation`).
        let can_grow = self
            .target
            .admin
            .supports(Api::CreatePartitions)
            .await
            .unwrap_or(false);
        let mut to_create = Vec::new();
        let mut existing_pairs = Vec::new();
        for (topic, target) in selected.iter().zip(&names) {
            plan.selected
                .push((topic.name.clone(), target.clone(), topic.partitions));
            match existing.get(target) {
                None => to_create.push(TopicToCreate {
                    source: topic.name.clone(),
                    target: target.clone(),
                    partitions: topic.partitions,
                    replication_factor: -1,
                    configs: source_configs.get(&topic.name).cloned().unwrap_or_default(),
                    validated: None,
                }),
                Some(&partitions) => {
                    existing_pairs.push((topic.name.clone(), target.clone()));
                    if partitions < topic.partitions {
                        plan.grow.push(PartitionGrowth {
                            source: topic.name.clone(),
                            target: target.clone(),
                            from: partitions,
                            to: topic.partitions,
                            possible: can_grow,
                        });
                    }
                }
            }
        }
        if !to_create.is_empty() {
            self.validate_creation(&mut to_create, can_grow, &mut plan.unknown)
                .await;
        }
        plan.create = to_create;
        if flags.copy_topic_configurations {
            for (source, target, ops) in self
                .configs
                .planned(
                    &self.target,
                    &existing_pairs,
                    &source_configs,
                    &mut problems,
                )
                .await
            {
                let honours_validate_only = can_grow;
                let validated = if honours_validate_only {
                    Some(self.validate_changes(&target, &ops).await)
                } else {
                    None
                };
                plan.alter.push(ConfigChange {
                    source,
                    target,
                    ops,
                    validated,
                });
            }
        }
        if flags.copy_topic_acls {
            let names: BTreeMap<String, String> = plan
                .selected
                .iter()
                .map(|(source, target, _)| (source.clone(), target.clone()))
                .collect();
            plan.acls = self
                .acls
                .missing(&self.source, &self.target, &names, &mut problems)
                .await
                .into_iter()
                .map(|(binding, _)| binding)
                .collect();
            if !plan.acls.is_empty() {
                self.check_acl_permission(plan.acls.len(), &mut problems, &mut plan.unknown)
                    .await;
            }
        }
        let changed: BTreeSet<&str> = plan
            .create
            .iter()
            .map(|c| c.target.as_str())
            .chain(plan.grow.iter().map(|g| g.target.as_str()))
            .chain(plan.alter.iter().map(|a| a.target.as_str()))
            .collect();
        plan.in_step = existing_pairs
            .iter()
            .map(|(_, target)| target.clone())
            .filter(|t| !changed.contains(t.as_str()))
            .collect();
        plan.problems = problems.list.into_iter().map(|(_, e)| e).collect();
        Ok(plan)
    }

    /// CreateAcls needs Alter on the cluster (AclApis.scala handleCreateAcls:
    /// `authorizeClusterOperation(request, ALTER)`): where
    /// the target reports its authorized operations, a missing Alter is a refusal known now.
    async fn check_acl_permission(
        &self,
        count: usize,
        problems: &mut Problems,
        unknown: &mut Vec<String>,
    ) {
        const CREATE_ACLS: &str = "creating topic ACLs (CreateAcls)";
        match self.target.admin.cluster_allows(Operation::Alter).await {
            Ok(Some(true)) => {}
            Ok(Some(false)) => problems.push(
                "",
                self.target.error(
                    None,
                    CREATE_ACLS,
                    format!(
                        "the target reports that this principal lacks Alter on the cluster, which \
                         CreateAcls needs: the {count} ACL(s) would be refused"
                    ),
                ),
            ),
            Ok(None) => unknown.push(format!(
                "whether target cluster {} lets this principal create the {count} ACL(s): it does \
                 not report its authorized operations",
                self.target.cluster
            )),
            Err(e) => unknown.push(format!(
                "whether target cluster {} lets this principal create the {count} ACL(s): {e}",
                self.target.cluster
            )),
        }
    }

    /// Asks the target (one that honours `validate_only`, see
    /// [`validate_creation`](Self::validate_creation)) whether it would apply `ops` to
    /// `topic`. A config refusal of several changes is narrowed down change by change, as the
    /// sync applies them.
    async fn validate_changes(
        &self,
        topic: &str,
        ops: &[AlterOp],
    ) -> Result<(), ValidateOnlyRefusal> {
        let admin = &self.target.admin;
        let refusal = |e: &ClientError| matches!(e, ClientError::Broker(b) if is_config_refusal(b));
        match admin.validate_topic_config_changes(topic, ops).await {
            Ok(()) => Ok(()),
            Err(e) if refusal(&e) && ops.len() > 1 => {
                let mut refused = Vec::new();
                for op in ops {
                    match admin
                        .validate_topic_config_changes(topic, std::slice::from_ref(op))
                        .await
                    {
                        Ok(()) => {}
                        Err(source) => refused.push(ChangesRefused {
                            ops: vec![op.clone()],
                            source,
                        }),
                    }
                }
                // Each accepted alone but not together: the refusal is of them all.
                if refused.is_empty() {
                    refused.push(ChangesRefused {
                        ops: ops.to_vec(),
                        source: e,
                    });
                }
                Err(ValidateOnlyRefusal::Changes(refused))
            }
            Err(source) => Err(ValidateOnlyRefusal::Changes(vec![ChangesRefused {
                ops: ops.to_vec(),
                source,
            }])),
        }
    }

    /// Asks the target whether it would create `topics` (CreateTopics with `validate_only`),
    /// only where that cannot create anything: a broker that offers CreatePartitions is
    /// taken to implement Kafka's admin API, `validate_only` included (Kafka since 1.0);
    /// Tansu 0.6 offers neither and would create the topic.
    async fn validate_creation(
        &mut self,
        topics: &mut [TopicToCreate],
        honours_validate_only: bool,
        unknown: &mut Vec<String>,
    ) {
        let rf = match self.creator.replication_factor(&self.target).await {
            Ok(rf) => rf,
            Err(e) => {
                unknown.push(format!(
                    "the replication factor of created topics: asking the target's controller failed: {e}"
                ));
                -1
            }
        };
        for t in topics.iter_mut() {
            t.replication_factor = rf;
        }
        if !honours_validate_only {
            unknown.push(format!(
                "whether target cluster {} accepts the {} topic(s) to create with their configs: \
                 it does not offer CreatePartitions, so it may ignore CreateTopics validate_only \
                 (Tansu creates the topic), and the plan does not ask",
                self.target.cluster,
                topics.len()
            ));
            return;
        }
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic {
                name: t.target.clone(),
                partitions: t.partitions,
                replication_factor: rf,
                configs: t.configs.clone(),
            })
            .collect();
        match self.target.admin.create_topics(&new, true).await {
            Ok(outcomes) => {
                for (t, (_, outcome)) in topics.iter_mut().zip(outcomes) {
                    t.validated = Some(outcome.map_err(ValidateOnlyRefusal::Creation));
                }
            }
            Err(e) => unknown.push(format!(
                "whether the target accepts the topics to create: CreateTopics validate_only failed: {e}"
            )),
        }
    }
}
