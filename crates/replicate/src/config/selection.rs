//! Which topics and consumer groups to replicate: include and exclude
//! regular expressions, each matching the whole name.

use std::fmt;

use regex::{Regex, RegexSet};

use super::error::ConfigError;

/// Longest topic pattern MSK accepts.
pub(crate) const MAX_TOPIC_PATTERN_LEN: usize = 249;
/// Longest consumer-group pattern MSK accepts.
pub(crate) const MAX_GROUP_PATTERN_LEN: usize = 256;

/// Names that are never replicated, whatever the patterns say: Kafka's own
/// internal topics, and the bookkeeping of kreplicate and MSK Replicator
/// (copying those would corrupt the target's state or loop).
pub(crate) fn is_internal_name(name: &str) -> bool {
    matches!(name, "__consumer_offsets" | "__transaction_state")
        || name.starts_with("__kreplicate")
        || name.starts_with("__amazon_msk_replicator")
}

/// Include/exclude pattern sets shared by topics and groups.
#[derive(Clone)]
struct NameSelection {
    include: RegexSet,
    exclude: RegexSet,
    include_patterns: Vec<String>,
    exclude_patterns: Vec<String>,
}

impl NameSelection {
    /// Compiles both lists; errors name `include_path[i]` / `exclude_path[i]`.
    fn compile(
        include_path: &str,
        include: &[String],
        exclude_path: &str,
        exclude: &[String],
        max_len: usize,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            include: compile_set(include_path, include, max_len)?,
            exclude: compile_set(exclude_path, exclude, max_len)?,
            include_patterns: include.to_vec(),
            exclude_patterns: exclude.to_vec(),
        })
    }

    fn selects(&self, name: &str) -> bool {
        !is_internal_name(name) && self.include.is_match(name) && !self.exclude.is_match(name)
    }
}

/// Anchors each pattern (`^(?:p)$`) so it must match the whole name, as
/// MSK's Java patterns do.
fn compile_set(path: &str, patterns: &[String], max_len: usize) -> Result<RegexSet, ConfigError> {
    for (i, pattern) in patterns.iter().enumerate() {
        let at = || format!("{path}[{i}]");
        if pattern.is_empty() {
            return Err(ConfigError::new(
                at(),
                "empty pattern (it would match no name)",
            ));
        }
        let len = pattern.chars().count();
        if len > max_len {
            return Err(ConfigError::new(
                at(),
                format!(
                    "pattern {pattern:?} is {len} characters long; at most {max_len} are allowed"
                ),
            ));
        }
        // Checked unanchored first so the error shows the user's own text
        // and offsets, and so `a)|(b` cannot slip through the wrapping.
        if let Err(e) = Regex::new(pattern) {
            return Err(ConfigError::new(
                at(),
                format!("invalid regular expression {pattern:?}: {e}"),
            ));
        }
    }
    RegexSet::new(patterns.iter().map(|p| format!("^(?:{p})$")))
        .map_err(|e| ConfigError::new(path, format!("cannot compile the patterns: {e}")))
}

macro_rules! selection_type {
    ($(#[$doc:meta])* $name:ident, $include:literal, $exclude:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub(crate) struct $name(NameSelection);

        impl $name {
            #[doc = concat!("Compiles the lists; errors name `", $include, "[i]` or `", $exclude, "[i]`.")]
            #[cfg(test)]
            pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Self, ConfigError> {
                Self::at($include, $exclude, include, exclude)
            }

            /// Like `new`, with errors naming the given paths.
            pub(crate) fn at(
                include_path: &str,
                exclude_path: &str,
                include: &[String],
                exclude: &[String],
            ) -> Result<Self, ConfigError> {
                NameSelection::compile(include_path, include, exclude_path, exclude, $max).map(Self)
            }

            /// Whether `name` is replicated: it matches an include pattern
            /// in full, no exclude pattern (exclusion wins), and is not an
            /// internal name (Kafka's `__consumer_offsets` and `__transaction_state`,
            /// `__kreplicate*`, `__amazon_msk_replicator*`).
            pub(crate) fn selects(&self, name: &str) -> bool {
                self.0.selects(name)
            }

            /// The include patterns as written.
            pub(crate) fn include_patterns(&self) -> &[String] {
                &self.0.include_patterns
            }

            /// The exclude patterns as written.
            pub(crate) fn exclude_patterns(&self) -> &[String] {
                &self.0.exclude_patterns
            }
        }

        // Equal when written the same; compiled sets are not comparable.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.include_patterns() == other.include_patterns()
                    && self.exclude_patterns() == other.exclude_patterns()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("include", &self.include_patterns())
                    .field("exclude", &self.exclude_patterns())
                    .finish()
            }
        }
    };
}

selection_type!(
    /// Topics to replicate (`TopicsToReplicate` / `TopicsToExclude`).
    TopicSelection,
    "TopicsToReplicate",
    "TopicsToExclude",
    MAX_TOPIC_PATTERN_LEN
);

selection_type!(
    /// Consumer groups to replicate (`ConsumerGroupsToReplicate` /
    /// `ConsumerGroupsToExclude`). An empty include list selects nothing.
    GroupSelection,
    "ConsumerGroupsToReplicate",
    "ConsumerGroupsToExclude",
    MAX_GROUP_PATTERN_LEN
);

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn topics(include: &[&str], exclude: &[&str]) -> TopicSelection {
        TopicSelection::new(&strings(include), &strings(exclude)).unwrap()
    }

    #[test]
    fn patterns_match_the_whole_name() {
        let sel = topics(&["orders"], &[]);
        assert!(sel.selects("orders"));
        assert!(!sel.selects("orders-v2"));
        assert!(!sel.selects("old-orders"));
        let sel = topics(&["orders.*"], &[]);
        assert!(sel.selects("orders-v2"));
        assert!(!sel.selects("old-orders"));
    }

    #[test]
    fn alternation_is_anchored_as_a_whole() {
        // Without the (?:…) group, `^a|b$` would select "bx" and "xb"...
        let sel = topics(&["a|b"], &[]);
        assert!(sel.selects("a"));
        assert!(sel.selects("b"));
        assert!(!sel.selects("ax"));
        assert!(!sel.selects("xb"));
    }

    #[test]
    fn exclude_wins() {
        let sel = topics(&[".*"], &["tmp-.*", "scratch"]);
        assert!(sel.selects("orders"));
        assert!(!sel.selects("tmp-1"));
        assert!(!sel.selects("scratch"));
        assert!(sel.selects("scratch2"));
    }

    #[test]
    fn internal_names_are_never_selected() {
        let sel = topics(&[".*", "__consumer_offsets"], &[]);
        for name in [
            "__consumer_offsets",
            "__transaction_state",
            "__kreplicate_heartbeats",
            "__kreplicate",
            "__amazon_msk_replicator_status_r_1",
        ] {
            assert!(!sel.selects(name), "{name}");
        }
        assert!(sel.selects("__other"));
        assert!(sel.selects("_kreplicate"));
        let groups = GroupSelection::new(&strings(&[".*"]), &[]).unwrap();
        assert!(!groups.selects("__kreplicate-worker"));
        assert!(groups.selects("payments"));
    }

    #[test]
    fn empty_include_selects_nothing() {
        let groups = GroupSelection::new(&[], &[]).unwrap();
        assert!(!groups.selects("payments"));
        assert!(!groups.selects(""));
    }

    #[test]
    fn bad_regex_names_the_index_and_pattern() {
        let err = TopicSelection::new(&strings(&["ok", "bad("]), &[]).unwrap_err();
        assert_eq!(err.path(), "TopicsToReplicate[1]");
        assert!(
            err.message()
                .starts_with("invalid regular expression \"bad(\": "),
            "{err}"
        );
    }

    #[test]
    fn unbalanced_pattern_cannot_escape_anchoring() {
        let err = TopicSelection::new(&strings(&["a)|(b"]), &[]).unwrap_err();
        assert_eq!(err.path(), "TopicsToReplicate[0]");
    }

    #[test]
    fn length_limits_differ_for_topics_and_groups() {
        let p250 = "a".repeat(250);
        let p249 = "a".repeat(249);
        let p257 = "a".repeat(257);
        assert!(TopicSelection::new(&[p249], &[]).is_ok());
        let err = TopicSelection::new(&[], std::slice::from_ref(&p250)).unwrap_err();
        assert_eq!(err.path(), "TopicsToExclude[0]");
        assert!(
            err.message().contains("250 characters long; at most 249"),
            "{err}"
        );
        assert!(GroupSelection::new(&[p250], &[]).is_ok());
        let err = GroupSelection::new(&[p257], &[]).unwrap_err();
        assert_eq!(err.path(), "ConsumerGroupsToReplicate[0]");
        assert!(err.message().contains("at most 256"), "{err}");
    }

    #[test]
    fn empty_pattern_is_rejected() {
        let err = TopicSelection::new(&strings(&[""]), &[]).unwrap_err();
        assert_eq!(err.path(), "TopicsToReplicate[0]");
    }

    #[test]
    fn equality_compares_patterns() {
        assert_eq!(topics(&["a"], &["b"]), topics(&["a"], &["b"]));
        assert_ne!(topics(&["a"], &["b"]), topics(&["a"], &[]));
    }
}
