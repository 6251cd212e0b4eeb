//! What the strict layer refuses beyond Kafka's own defaults: topics the test denies (an ACL a
//! real cluster would have) and topic configs the target refuses (as managed services do).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use kafka_protocol::ResponseError;

/// Test-chosen refusals. `Default` refuses nothing beyond Kafka's broker rules.
#[derive(Debug, Clone, Default)]
pub struct StrictRules {
    /// Topics whose Produce, Metadata, CreateTopics, DescribeConfigs and
    /// IncrementalAlterConfigs answer TOPIC_AUTHORIZATION_FAILED.
    pub denied_topics: BTreeSet<String>,
    /// Topic config names refused on CreateTopics / IncrementalAlterConfigs, with the error
    /// (INVALID_CONFIG or POLICY_VIOLATION, as MSK and Confluent Cloud answer).
    pub refused_configs: BTreeMap<String, ResponseError>,
}

impl StrictRules {
    /// Denies every access to `topic`.
    pub fn deny_topic(mut self, topic: impl Into<String>) -> Self {
        self.denied_topics.insert(topic.into());
        self
    }

    /// Refuses `config` on create and alter with `error`.
    pub fn refuse_config(mut self, config: impl Into<String>, error: ResponseError) -> Self {
        self.refused_configs.insert(config.into(), error);
        self
    }
}

/// Changes the rules of a running layer; every connection sees a change at its next request.
#[derive(Debug, Clone, Default)]
pub struct StrictRulesHandle {
    inner: Arc<RwLock<StrictRules>>,
}

impl StrictRulesHandle {
    pub(crate) fn new(rules: StrictRules) -> Self {
        StrictRulesHandle {
            inner: Arc::new(RwLock::new(rules)),
        }
    }

    /// Denies `topic` from now on.
    pub fn deny_topic(&self, topic: &str) {
        self.write(|r| {
            r.denied_topics.insert(topic.to_string());
        });
    }

    /// Allows `topic` again.
    pub fn allow_topic(&self, topic: &str) {
        self.write(|r| {
            r.denied_topics.remove(topic);
        });
    }

    /// Refuses the topic config `config` with `error` from now on.
    pub fn refuse_config(&self, config: &str, error: ResponseError) {
        self.write(|r| {
            r.refused_configs.insert(config.to_string(), error);
        });
    }

    /// Accepts the topic config `config` again.
    pub fn accept_config(&self, config: &str) {
        self.write(|r| {
            r.refused_configs.remove(config);
        });
    }

    /// The rules as they are now.
    pub fn snapshot(&self) -> StrictRules {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn is_denied(&self, topic: &str) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .denied_topics
            .contains(topic)
    }

    pub(crate) fn config_refusal(&self, config: &str) -> Option<ResponseError> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .refused_configs
            .get(config)
            .copied()
    }

    fn write(&self, f: impl FnOnce(&mut StrictRules)) {
        f(&mut self.inner.write().unwrap_or_else(|p| p.into_inner()));
    }
}
