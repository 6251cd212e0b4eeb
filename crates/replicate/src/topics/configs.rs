//! Topic configurations (`CopyTopicConfigurations`): which of a source topic's configs are
//! copied, and keeping the target's copies in step.
//!
//! Only configs *explicitly set* on the source topic are copied; defaults stay the target's
//! own. Kafka marks those with source `DYNAMIC_TOPIC_CONFIG`. Tansu 0.6 lists only the configs
//! that were set and marks them `DEFAULT_CONFIG`, so the answer's shape is read first (see
//! [`ConfigListing`] and `docs/topic-configs.md`).
//!
//! Each sync compares the source's copyable configs with the target's explicitly set ones and
//! sends one IncrementalAlterConfigs per topic that differs: SET for changed or new values,
//! DELETE for keys this replicator copied earlier that the source no longer sets. Keys set on
//! the target by someone else are never deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kreplicate_wire::admin::{AlterOp, AlterOpKind, ConfigEntry, ConfigSource};
use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::BrokerErrorKind;

use super::discovery::SourceTopic;
use super::error::Problems;
use super::Side;

/// Topic configs never copied, with the reason (also in `docs/topic-configs.md`). A name
/// ending in `.` stands for every config starting with it.
pub(super) const SKIPPED_CONFIGS: &[(&str, &str)] = &[
    (
        "min.insync.replicas",
        "depends on the target topic's replication factor, which is the target's own \
         (its default unless configured); a copied value above it would make every acks=all \
         write fail with NOT_ENOUGH_REPLICAS, the replicator's own included",
    ),
    (
        "leader.replication.throttled.replicas",
        "lists source broker ids for a reassignment in progress; meaningless on the target",
    ),
    (
        "follower.replication.throttled.replicas",
        "lists source broker ids for a reassignment in progress; meaningless on the target",
    ),
    (
        "message.format.version",
        "tied to the source brokers' version; deprecated, and rejected by Kafka 4 targets",
    ),
    (
        "message.downconversion.enable",
        "broker-version specific; removed in Kafka 4, whose targets reject it",
    ),
    (
        "unclean.leader.election.enable",
        "an availability policy of the target cluster's operators, not a property of the data",
    ),
    (
        "remote.storage.enable",
        "tiered storage: only meaningful where the target has it set up (MSK does not copy \
         tiered-storage configs to a non-tiered target)",
    ),
    (
        "local.retention.",
        "tiered storage: local retention only exists alongside remote storage",
    ),
    (
        "remote.log.",
        "tiered storage: remote log copy/delete switches of the source's remote storage",
    ),
    (
        "confluent.",
        "Confluent Platform placement, tiering and schema-validation settings, specific to \
         the source cluster's brokers and racks",
    ),
    (
        "redpanda.remote.",
        "Redpanda tiered storage, specific to the source cluster's object store",
    ),
];

/// Why `name` is never copied, or `None` when it is copyable.
pub(super) fn skip_reason(name: &str) -> Option<&'static str> {
    SKIPPED_CONFIGS
        .iter()
        .find(|(pattern, _)| match pattern.strip_suffix('.') {
            Some(prefix) => name.starts_with(prefix) && name[prefix.len()..].starts_with('.'),
            None => name == *pattern,
        })
        .map(|(_, reason)| *reason)
}

/// Configs every complete DescribeConfigs answer for a topic lists (Kafka since 0.11 and
/// Redpanda list all topic configs). An answer reporting only `DEFAULT_CONFIG` that lacks one
/// of them lists only what was set: Tansu 0.6's way.
const COMPLETE_LISTING_KEYS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "max.message.bytes",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
];

/// How a cluster's DescribeConfigs answers tell which topic configs are set. Learned from
/// the answers themselves and sticky, so the reading of a cluster cannot flip between syncs
/// (a flip would turn into DELETEs of copied configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum ConfigListing {
    /// Nothing seen yet to tell; read like Kafka (set = `DYNAMIC_TOPIC_CONFIG`).
    #[default]
    Unknown,
    /// Kafka's way: every config listed, set ones with source `DYNAMIC_TOPIC_CONFIG`. Seen as
    /// soon as any config has a source other than `DEFAULT_CONFIG`.
    SourceAware,
    /// Tansu 0.6's way: only the set configs listed, all reported as `DEFAULT_CONFIG`. Seen
    /// when an answer is all `DEFAULT_CONFIG` and misses a config every complete answer has.
    OverridesOnly,
}

impl ConfigListing {
    /// Updates the reading from one DescribeConfigs answer (topic → its configs).
    pub(super) fn learn<'a>(&mut self, listings: impl IntoIterator<Item = &'a [ConfigEntry]>) {
        for entries in listings {
            let source_aware = entries
                .iter()
                .any(|e| !matches!(e.source, ConfigSource::Default | ConfigSource::Unknown));
            if source_aware {
                *self = ConfigListing::SourceAware;
                return;
            }
            let partial = COMPLETE_LISTING_KEYS
                .iter()
                .any(|key| !entries.iter().any(|e| e.name == *key));
            if partial && *self == ConfigListing::Unknown {
                *self = ConfigListing::OverridesOnly;
            }
        }
    }

    /// The configs explicitly set on a topic, by name. Read-only configs and values the broker
    /// hides (sensitive, or null) cannot be copied and are left out.
    pub(super) fn explicit(self, entries: &[ConfigEntry]) -> BTreeMap<String, String> {
        entries
            .iter()
            .filter(|e| match self {
                ConfigListing::OverridesOnly => true,
                ConfigListing::Unknown | ConfigListing::SourceAware => {
                    e.source == ConfigSource::DynamicTopic
                }
            })
            .filter(|e| !e.read_only && !e.is_sensitive)
            .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
            .collect()
    }
}

/// The explicit configs that are copied (everything not in [`SKIPPED_CONFIGS`]).
pub(super) fn copyable(explicit: BTreeMap<String, String>) -> BTreeMap<String, String> {
    explicit
        .into_iter()
        .filter(|(name, _)| skip_reason(name).is_none())
        .collect()
}

/// The changes that make the target's explicit configs match `source` (copyable configs of
/// the source topic): SET each key whose target value differs or is not set, DELETE each key
/// of `copied_before` the source no longer sets and the target still has. Keys the target
/// sets that this replicator never copied are left alone. Sorted by key.
pub(super) fn plan(
    source: &BTreeMap<String, String>,
    target: &BTreeMap<String, String>,
    copied_before: &BTreeSet<String>,
) -> Vec<AlterOp> {
    let mut ops: Vec<AlterOp> = source
        .iter()
        .filter(|(k, v)| target.get(*k) != Some(*v))
        .map(|(k, v)| AlterOp::set(k.clone(), v.clone()))
        .collect();
    ops.extend(
        copied_before
            .iter()
            .filter(|k| !source.contains_key(*k) && target.contains_key(*k))
            .map(|k| AlterOp::delete(k.clone())),
    );
    ops.sort_by(|a, b| a.name.cmp(&b.name));
    ops
}

/// The keys this replicator owns on a target topic after one sync: when the target is now in
/// step, exactly the source's copyable keys; otherwise the keys copied before that the target
/// still sets (a key gone from the target is no longer ours to delete later, whoever sets it
/// next), plus the keys whose values already match.
fn owned_after(
    source: &BTreeMap<String, String>,
    target: &BTreeMap<String, String>,
    copied_before: &BTreeSet<String>,
    in_step: bool,
) -> BTreeSet<String> {
    if in_step {
        return source.keys().cloned().collect();
    }
    copied_before
        .iter()
        .filter(|k| target.contains_key(*k))
        .chain(
            source
                .iter()
                .filter(|(k, v)| target.get(*k) == Some(*v))
                .map(|(k, _)| k),
        )
        .cloned()
        .collect()
}

/// A short human form of `ops` for logs: `retention.ms=1000, -max.message.bytes`.
pub(crate) fn describe_ops(ops: &[AlterOp]) -> String {
    ops.iter()
        .map(|op| match &op.op {
            AlterOpKind::Set(v) => format!("{}={v}", op.name),
            AlterOpKind::Delete => format!("-{}", op.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Config sync state: how each cluster lists configs, and which keys were copied per topic.
#[derive(Debug, Default)]
pub(crate) struct ConfigSync {
    source_listing: ConfigListing,
    target_listing: ConfigListing,
    /// Source topic → the keys this replicator set on its target topic. Only these are ever
    /// deleted from the target. Kept in memory: after a restart, keys set on both sides with
    /// equal values are taken as copied again.
    copied: HashMap<String, BTreeSet<String>>,
    /// Source topic → the changes its target refused as configs (INVALID_CONFIG,
    /// POLICY_VIOLATION: managed services refuse many topic configs). Left out of later plans
    /// until the source's value changes, so they are reported once, not every round.
    refused: HashMap<String, Vec<AlterOp>>,
    /// The target listings the last [`sync`](Self::sync) read, by target name, minus those of
    /// topics whose `max.message.bytes` it then changed: the topic refresh takes them for the
    /// producer's batch limits instead of describing the same topics again.
    target_listings: BTreeMap<String, Vec<ConfigEntry>>,
}

impl ConfigSync {
    /// The copyable explicit configs of each of `topics` on the source. Topics whose configs
    /// cannot be read are reported and left out (their target is then neither created with
    /// configs nor altered this time).
    pub(crate) async fn read_source(
        &mut self,
        source: &Side,
        topics: &[SourceTopic],
        problems: &mut Problems,
    ) -> BTreeMap<String, BTreeMap<String, String>> {
        let names: Vec<(String, String)> = topics
            .iter()
            .map(|t| (t.name.clone(), t.name.clone()))
            .collect();
        let listings = describe(source, &names, problems).await;
        self.source_listing
            .learn(listings.values().map(|entries| entries.as_slice()));
        let listing = self.source_listing;
        listings
            .into_iter()
            .map(|(topic, entries)| (topic, copyable(listing.explicit(&entries))))
            .collect()
    }

    /// The explicitly set configs of `topics` (source name, target name) on the target, by
    /// target name. Topics whose configs cannot be read are reported and left out.
    async fn read_target(
        &mut self,
        target: &Side,
        topics: &[(String, String)],
        problems: &mut Problems,
    ) -> BTreeMap<String, BTreeMap<String, String>> {
        let listings = describe(target, topics, problems).await;
        self.target_listing
            .learn(listings.values().map(|entries| entries.as_slice()));
        let listing = self.target_listing;
        self.target_listings = listings.clone();
        listings
            .into_iter()
            .map(|(topic, entries)| (topic, listing.explicit(&entries)))
            .collect()
    }

    /// The target listings the last sync read and did not change `max.message.bytes` of
    /// (taken: a later round reads afresh).
    pub(crate) fn take_target_listings(&mut self) -> BTreeMap<String, Vec<ConfigEntry>> {
        std::mem::take(&mut self.target_listings)
    }

    /// What [`sync`](Self::sync) would send for `topics` (source name, target name), without
    /// sending it: per topic whose target differs, the changes, by source name.
    pub(crate) async fn planned(
        &mut self,
        target: &Side,
        topics: &[(String, String)],
        wanted: &BTreeMap<String, BTreeMap<String, String>>,
        problems: &mut Problems,
    ) -> Vec<(String, String, Vec<AlterOp>)> {
        let topics: Vec<(String, String)> = topics
            .iter()
            .filter(|(source, _)| wanted.contains_key(source))
            .cloned()
            .collect();
        if topics.is_empty() {
            return Vec::new();
        }
        let listings = self.read_target(target, &topics, problems).await;
        topics
            .into_iter()
            .filter_map(|(source_topic, target_topic)| {
                let current = listings.get(&target_topic)?;
                let copied_before = self.copied.get(&source_topic).cloned().unwrap_or_default();
                let ops = plan(wanted.get(&source_topic)?, current, &copied_before);
                (!ops.is_empty()).then_some((source_topic, target_topic, ops))
            })
            .collect()
    }

    /// Records that `source_topic`'s target was created with `keys` set.
    pub(crate) fn created(&mut self, source_topic: &str, keys: impl IntoIterator<Item = String>) {
        self.copied
            .insert(source_topic.to_string(), keys.into_iter().collect());
    }

    /// Brings the target configs of `topics` (source name, target name) in line with
    /// `wanted` (source name → copyable configs). Topics missing from `wanted` are skipped.
    pub(crate) async fn sync(
        &mut self,
        target: &Side,
        topics: &[(String, String)],
        wanted: &BTreeMap<String, BTreeMap<String, String>>,
        problems: &mut Problems,
    ) {
        self.target_listings.clear();
        let topics: Vec<(String, String)> = topics
            .iter()
            .filter(|(source, _)| wanted.contains_key(source))
            .cloned()
            .collect();
        if topics.is_empty() {
            return;
        }
        let listings = self.read_target(target, &topics, problems).await;
        for (source_topic, target_topic) in &topics {
            let (Some(source), Some(current)) =
                (wanted.get(source_topic), listings.get(target_topic))
            else {
                continue;
            };
            let current = current.clone();
            let copied_before = self.copied.get(source_topic).cloned().unwrap_or_default();
            let mut ops = plan(source, &current, &copied_before);
            let refused = self.refused.entry(source_topic.clone()).or_default();
            // A refusal stands until the source asks for something else.
            refused.retain(|r| ops.contains(r));
            ops.retain(|op| !refused.contains(op));
            // The listing no longer tells this topic's batch limit.
            if ops
                .iter()
                .any(|op| op.name == super::message_limits::MAX_MESSAGE_BYTES)
            {
                self.target_listings.remove(target_topic);
            }
            let result = if ops.is_empty() {
                Ok(())
            } else {
                target
                    .admin
                    .incremental_alter_topic_configs(target_topic, &ops)
                    .await
            };
            // The target applies a resource's changes all or nothing: when it refuses a
            // config, each change is tried alone so the others are still copied.
            let result = match result {
                Err(ClientError::Broker(e)) if is_config_refusal(&e) && ops.len() > 1 => {
                    let mut applied = Vec::new();
                    for op in &ops {
                        match target
                            .admin
                            .incremental_alter_topic_configs(target_topic, std::slice::from_ref(op))
                            .await
                        {
                            Ok(()) => applied.push(op.clone()),
                            Err(ClientError::Broker(e)) if is_config_refusal(&e) => {
                                refused.push(op.clone());
                                report_refusal(
                                    target,
                                    source_topic,
                                    target_topic,
                                    op,
                                    &e,
                                    problems,
                                );
                            }
                            Err(e) => problems.push(
                                source_topic,
                                target.error(Some(target_topic), ALTER_OPERATION, e),
                            ),
                        }
                    }
                    if !applied.is_empty() {
                        tracing::info!(
                            topic = %target_topic, changes = %describe_ops(&applied),
                            "target topic configs updated from source topic '{source_topic}'"
                        );
                    }
                    // In step for everything but what was refused: counted as not in step,
                    // so only keys that match are owned.
                    Ok(false)
                }
                Err(ClientError::Broker(e)) if is_config_refusal(&e) => {
                    if let Some(op) = ops.first() {
                        refused.push(op.clone());
                        report_refusal(target, source_topic, target_topic, op, &e, problems);
                    }
                    Ok(false)
                }
                other => other.map(|()| true),
            };
            let in_step = match result {
                Ok(in_step) => {
                    if in_step && !ops.is_empty() {
                        tracing::info!(
                            topic = %target_topic, changes = %describe_ops(&ops),
                            "target topic configs updated from source topic '{source_topic}'"
                        );
                    }
                    in_step && refused.is_empty()
                }
                Err(e) => {
                    problems.push(
                        source_topic,
                        target.error(
                            Some(target_topic),
                            ALTER_OPERATION,
                            format!("{e} (wanted: {})", describe_ops(&ops)),
                        ),
                    );
                    false
                }
            };
            let copied = owned_after(source, &current, &copied_before, in_step);
            self.copied.insert(source_topic.clone(), copied);
        }
    }
}

const ALTER_OPERATION: &str = "altering topic configs (IncrementalAlterConfigs)";

/// Whether the broker refused a change because of the config itself (as managed services do
/// for configs they reserve), not because of the cluster's state.
pub(super) fn is_config_refusal(e: &kreplicate_wire::BrokerError) -> bool {
    matches!(
        e.kind(),
        BrokerErrorKind::InvalidConfig | BrokerErrorKind::PolicyViolation
    )
}

/// Reports a refused config change once (it is not retried until the source value changes).
fn report_refusal(
    target: &Side,
    source_topic: &str,
    target_topic: &str,
    op: &AlterOp,
    e: &kreplicate_wire::BrokerError,
    problems: &mut Problems,
) {
    problems.push(
        source_topic,
        target.error(
            Some(target_topic),
            ALTER_OPERATION,
            format!(
                "the target refuses {} ({e}); the topic's other configs are copied, this one is \
                 left as the target has it and tried again only when the source's value changes",
                describe_ops(std::slice::from_ref(op))
            ),
        ),
    );
}

/// DescribeConfigs of `topics` (label, name on `side`) on `side`, keyed by name on `side`. One
/// request for all; if the broker refuses one topic (e.g. deleted meanwhile, or not
/// authorised), each topic is asked alone so the others still sync. Failures are reported
/// against the label (the source topic name).
async fn describe(
    side: &Side,
    topics: &[(String, String)],
    problems: &mut Problems,
) -> BTreeMap<String, Vec<ConfigEntry>> {
    const OPERATION: &str = "reading topic configs (DescribeConfigs)";
    let names: Vec<String> = topics.iter().map(|(_, name)| name.clone()).collect();
    match side.admin.describe_topic_configs(&names).await {
        Ok(listings) => listings,
        Err(e @ ClientError::Broker(_)) => {
            tracing::debug!(error = %e, "{} cluster: DescribeConfigs of several topics failed; asking one topic at a time", side.role);
            let mut out = BTreeMap::new();
            for (label, name) in topics {
                match side
                    .admin
                    .describe_topic_configs(std::slice::from_ref(name))
                    .await
                {
                    Ok(listing) => out.extend(listing),
                    Err(e) => problems.push(label, side.error(Some(name), OPERATION, e)),
                }
            }
            out
        }
        Err(e) => {
            problems.push(
                "",
                side.error(None, OPERATION, format!("{e} (for {} topics)", names.len())),
            );
            BTreeMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            is_sensitive: false,
            read_only: false,
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A complete Kafka-style listing: every marker key at its default, plus `extra`.
    fn kafka_listing(extra: &[ConfigEntry]) -> Vec<ConfigEntry> {
        let mut v: Vec<ConfigEntry> = COMPLETE_LISTING_KEYS
            .iter()
            .filter(|k| !extra.iter().any(|e| e.name == **k))
            .map(|k| entry(k, "default", ConfigSource::Default))
            .collect();
        v.extend(extra.iter().cloned());
        v
    }

    #[test]
    fn skip_list_matches_names_and_prefixes_only() {
        assert!(skip_reason("min.insync.replicas").is_some());
        assert!(skip_reason("local.retention.ms").is_some());
        assert!(skip_reason("local.retention.bytes").is_some());
        assert!(skip_reason("confluent.placement.constraints").is_some());
        assert!(skip_reason("remote.storage.enable").is_some());
        assert!(skip_reason("retention.ms").is_none());
        assert!(skip_reason("cleanup.policy").is_none());
        assert!(skip_reason("min.insync.replicas2").is_none());
        // A prefix entry matches whole dotted segments only.
        assert!(skip_reason("local.retentionx").is_none());
        assert!(skip_reason("confluentx.a").is_none());
        for (name, reason) in SKIPPED_CONFIGS {
            assert!(!reason.is_empty(), "{name} has no reason");
        }
    }

    #[test]
    fn every_skipped_config_is_documented() {
        let doc = include_str!("../../../../docs/topic-configs.md");
        for (name, _) in SKIPPED_CONFIGS {
            assert!(
                doc.contains(&format!("| `{name}`")),
                "{name} is missing from docs/topic-configs.md"
            );
        }
    }

    #[test]
    fn kafka_listing_copies_only_dynamic_topic_configs() {
        let entries = kafka_listing(&[
            entry("retention.ms", "1000", ConfigSource::DynamicTopic),
            entry("segment.bytes", "1024", ConfigSource::StaticBroker),
            entry("flush.ms", "5", ConfigSource::DynamicDefaultBroker),
        ]);
        let mut listing = ConfigListing::default();
        listing.learn([entries.as_slice()]);
        assert_eq!(listing, ConfigListing::SourceAware);
        assert_eq!(listing.explicit(&entries), map(&[("retention.ms", "1000")]));
    }

    #[test]
    fn complete_listing_all_default_means_nothing_set() {
        let entries = kafka_listing(&[]);
        let mut listing = ConfigListing::default();
        listing.learn([entries.as_slice()]);
        assert_eq!(listing, ConfigListing::Unknown);
        assert!(listing.explicit(&entries).is_empty());
    }

    #[test]
    fn overrides_only_listing_copies_everything_listed() {
        // Tansu 0.6: the set configs only, reported as DEFAULT_CONFIG.
        let entries = vec![
            entry("retention.ms", "1000", ConfigSource::Default),
            entry("cleanup.policy", "compact", ConfigSource::Default),
        ];
        let mut listing = ConfigListing::default();
        listing.learn([entries.as_slice(), &[]]);
        assert_eq!(listing, ConfigListing::OverridesOnly);
        assert_eq!(
            listing.explicit(&entries),
            map(&[("cleanup.policy", "compact"), ("retention.ms", "1000")])
        );
    }

    #[test]
    fn reading_is_sticky() {
        let mut listing = ConfigListing::default();
        listing.learn([&[] as &[ConfigEntry]]);
        assert_eq!(listing, ConfigListing::OverridesOnly);
        // A Tansu topic with every marker set still reads as set configs.
        let all = kafka_listing(&[]);
        listing.learn([all.as_slice()]);
        assert_eq!(listing, ConfigListing::OverridesOnly);
        assert_eq!(listing.explicit(&all).len(), COMPLETE_LISTING_KEYS.len());
        // Evidence of source-awareness wins for good.
        let mut kafka = ConfigListing::default();
        kafka.learn([
            kafka_listing(&[entry("a", "1", ConfigSource::DynamicTopic)]).as_slice(),
            &[],
        ]);
        assert_eq!(kafka, ConfigListing::SourceAware);
        kafka.learn([&[] as &[ConfigEntry]]);
        assert_eq!(kafka, ConfigListing::SourceAware);
    }

    #[test]
    fn hidden_and_read_only_values_are_not_copied() {
        let mut sensitive = entry("a", "x", ConfigSource::DynamicTopic);
        sensitive.is_sensitive = true;
        let mut read_only = entry("b", "x", ConfigSource::DynamicTopic);
        read_only.read_only = true;
        let mut hidden = entry("c", "x", ConfigSource::DynamicTopic);
        hidden.value = None;
        let ok = entry("d", "x", ConfigSource::DynamicTopic);
        let entries = [sensitive, read_only, hidden, ok];
        assert_eq!(
            ConfigListing::SourceAware.explicit(&entries),
            map(&[("d", "x")])
        );
    }

    #[test]
    fn copyable_drops_skipped_configs() {
        let explicit = map(&[
            ("retention.ms", "1"),
            ("min.insync.replicas", "2"),
            ("confluent.tier.enable", "true"),
        ]);
        assert_eq!(copyable(explicit), map(&[("retention.ms", "1")]));
    }

    #[test]
    fn plan_sets_changes_and_deletes_only_what_was_copied() {
        let source = map(&[("retention.ms", "2000"), ("cleanup.policy", "compact")]);
        let target = map(&[
            ("retention.ms", "1000"),
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "9"),
            ("segment.ms", "7"),
        ]);
        let copied: BTreeSet<String> = ["retention.ms", "max.message.bytes", "flush.ms"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            plan(&source, &target, &copied),
            vec![
                AlterOp::delete("max.message.bytes"),
                AlterOp::set("retention.ms", "2000"),
            ]
        );
        // In step: nothing to do.
        assert!(plan(&source, &source, &copied).is_empty());
    }

    #[test]
    fn ownership_follows_what_is_on_the_target() {
        let source = map(&[("retention.ms", "2000"), ("cleanup.policy", "compact")]);
        let target = map(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]);
        let before: BTreeSet<String> = ["retention.ms", "flush.ms"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            owned_after(&source, &target, &before, true),
            keys(&["cleanup.policy", "retention.ms"])
        );
        // The alteration failed: flush.ms is gone from the target, so someone setting it
        // there later must not see it deleted.
        assert_eq!(
            owned_after(&source, &target, &before, false),
            keys(&["cleanup.policy", "retention.ms"])
        );
        assert_eq!(owned_after(&source, &map(&[]), &before, false), keys(&[]));
    }
}
