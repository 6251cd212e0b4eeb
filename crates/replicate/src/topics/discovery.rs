//! Which source topics are replicated: those the selection picks (include patterns match the
//! whole name, exclusion wins, internal topics never), and — when `DetectAndCopyNewTopics` is
//! off — only among the topics that were there at the first sync.

use std::collections::BTreeSet;

use kreplicate_wire::client::ClusterMetadata;

use crate::config::ReplicatorConfig;

/// A selected source topic and its partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceTopic {
    pub(crate) name: String,
    pub(crate) partitions: i32,
}

/// The selection, frozen after the first sync unless new topics are detected.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    /// With `DetectAndCopyNewTopics` off: the names selected at the first sync. Only those are
    /// ever replicated by this instance (a restart takes a new snapshot).
    frozen: Option<BTreeSet<String>>,
}

impl Discovery {
    /// The selected topics of `metadata`, sorted by name. Topics the broker lists without
    /// partitions (still being created) wait for a later sync.
    pub(crate) fn select(
        &mut self,
        metadata: &ClusterMetadata,
        config: &ReplicatorConfig,
    ) -> Vec<SourceTopic> {
        let selected: Vec<SourceTopic> = metadata
            .topics
            .values()
            .filter(|t| !t.is_internal && config.topics.selects(&t.name))
            .filter(|t| self.frozen.as_ref().is_none_or(|f| f.contains(&t.name)))
            .filter_map(|t| {
                let partitions = i32::try_from(t.partitions.len()).ok()?;
                (partitions > 0).then(|| SourceTopic {
                    name: t.name.clone(),
                    partitions,
                })
            })
            .collect();
        if !config.flags.detect_new_topics && self.frozen.is_none() {
            self.frozen = Some(selected.iter().map(|t| t.name.clone()).collect());
        }
        selected
    }
}

/// How many of the source's topics an empty selection's warning (and metric) names.
pub(crate) const NAMED_UNSELECTED: usize = 20;

/// The source's topics an operator could mean to select (not internal, not `__`-prefixed),
/// sorted by name.
pub(crate) fn user_topics(metadata: &ClusterMetadata) -> Vec<&str> {
    let mut names: Vec<&str> = metadata
        .topics
        .values()
        .filter(|t| !t.is_internal && !t.name.starts_with("__"))
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    names
}

/// The warning for a topic selection that matches none of the source's topics (naming the
/// ones it has, at most 20), or `None` when it matches some. A silent empty selection looks
/// like a healthy replicator that copies nothing.
pub(crate) fn empty_selection_warning(
    metadata: &ClusterMetadata,
    config: &ReplicatorConfig,
) -> Option<String> {
    let names = user_topics(metadata);
    if names.iter().any(|n| config.topics.selects(n)) {
        return None;
    }
    let shown = names.len().min(NAMED_UNSELECTED);
    let more = if names.len() > shown {
        format!(" and {} more", names.len() - shown)
    } else {
        String::new()
    };
    Some(format!(
        "TopicsToReplicate/TopicsToExclude select no topic on the source cluster {}, so nothing \
         is replicated; it has {} topics: {}{more}",
        config.source.id,
        names.len(),
        if names.is_empty() {
            "none".to_string()
        } else {
            names[..shown].join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_create_replicator_request, TopicSelection};
    use kreplicate_wire::client::{PartitionMetadata, TopicMetadata};

    fn config(include: &[&str], exclude: &[&str], detect: bool) -> ReplicatorConfig {
        let json = r#"{
          "ReplicatorName": "r",
          "KafkaClusters": [
            {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "a", "BootstrapBrokerString": "h:1"}},
            {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "b", "BootstrapBrokerString": "h:2"}}
          ],
          "ReplicationInfoList": [{
            "SourceKafkaClusterId": "a", "TargetKafkaClusterId": "b",
            "TargetCompressionType": "NONE",
            "TopicReplication": {"TopicsToReplicate": [".*"]},
            "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": []}
          }]
        }"#;
        let mut config = parse_create_replicator_request(json)
            .unwrap()
            .value
            .validate()
            .unwrap();
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        config.topics = TopicSelection::new(&strings(include), &strings(exclude)).unwrap();
        config.flags.detect_new_topics = detect;
        config
    }

    fn metadata(topics: &[(&str, i32, bool)]) -> ClusterMetadata {
        let mut m = ClusterMetadata::default();
        for (name, partitions, internal) in topics {
            m.topics.insert(
                name.to_string(),
                TopicMetadata {
                    name: name.to_string(),
                    is_internal: *internal,
                    partitions: (0..*partitions)
                        .map(|p| PartitionMetadata {
                            partition: p,
                            leader: 1,
                            leader_epoch: 0,
                            replicas: vec![1],
                            isr: vec![1],
                            error_code: 0,
                        })
                        .collect(),
                },
            );
        }
        m
    }

    fn names(topics: &[SourceTopic]) -> Vec<(&str, i32)> {
        topics
            .iter()
            .map(|t| (t.name.as_str(), t.partitions))
            .collect()
    }

    #[test]
    fn selects_whole_names_exclusion_wins_internal_never() {
        let config = config(&["orders.*", "pay"], &["orders-tmp"], true);
        let m = metadata(&[
            ("orders", 3, false),
            ("orders-eu", 2, false),
            ("orders-tmp", 1, false),
            ("payments", 1, false),
            ("pay", 1, false),
            ("orders-internal", 1, true),
            ("empty-orders", 1, false),
            ("orders-new", 0, false),
        ]);
        let got = Discovery::default().select(&m, &config);
        assert_eq!(names(&got), [("orders", 3), ("orders-eu", 2), ("pay", 1)]);
    }

    #[test]
    fn without_detection_only_the_first_snapshot_is_replicated() {
        let config = config(&[".*"], &[], false);
        let mut d = Discovery::default();
        let first = d.select(&metadata(&[("a", 1, false)]), &config);
        assert_eq!(names(&first), [("a", 1)]);
        // A new topic is ignored; an existing one keeps its new partition count.
        let later = d.select(&metadata(&[("a", 2, false), ("b", 1, false)]), &config);
        assert_eq!(names(&later), [("a", 2)]);
    }

    #[test]
    fn with_detection_new_topics_appear() {
        let config = config(&[".*"], &[], true);
        let mut d = Discovery::default();
        d.select(&metadata(&[("a", 1, false)]), &config);
        let later = d.select(&metadata(&[("a", 1, false), ("b", 1, false)]), &config);
        assert_eq!(names(&later), [("a", 1), ("b", 1)]);
    }
}
