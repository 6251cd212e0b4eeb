//! Target topic naming (`TopicNameConfiguration.Type`).

use serde::{Deserialize, Serialize};

/// How a source topic is named on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TopicNaming {
    /// `<source alias>.<topic>` (the MSK default, as in MirrorMaker 2).
    #[default]
    #[serde(rename = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS")]
    PrefixedWithSourceClusterAlias,
    /// The source name unchanged.
    #[serde(rename = "IDENTICAL")]
    Identical,
}

impl TopicNaming {
    /// Name on the target of source topic `topic` from the cluster whose
    /// alias is `source_alias`.
    pub(crate) fn target_topic(&self, source_alias: &str, topic: &str) -> String {
        match self {
            Self::PrefixedWithSourceClusterAlias => format!("{source_alias}.{topic}"),
            Self::Identical => topic.to_owned(),
        }
    }

    /// The MSK enum spelling, for messages.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Self::PrefixedWithSourceClusterAlias => "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS",
            Self::Identical => "IDENTICAL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_joins_alias_and_topic_with_a_dot() {
        let naming = TopicNaming::PrefixedWithSourceClusterAlias;
        assert_eq!(naming.target_topic("src", "orders"), "src.orders");
        assert_eq!(naming.target_topic("a.b", "x.y"), "a.b.x.y");
    }

    #[test]
    fn identical_keeps_the_name() {
        assert_eq!(
            TopicNaming::Identical.target_topic("src", "orders"),
            "orders"
        );
    }

    #[test]
    fn default_is_prefixed() {
        assert_eq!(
            TopicNaming::default(),
            TopicNaming::PrefixedWithSourceClusterAlias
        );
    }
}
