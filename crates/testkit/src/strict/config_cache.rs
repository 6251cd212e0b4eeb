//! Topic configs per topic, read from the upstream's DescribeConfigs once and dropped whenever a
//! CreateTopics, IncrementalAlterConfigs or DeleteTopics for the topic passes through the layer.

use std::collections::HashMap;
use std::sync::Mutex;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::DescribeConfigsRequest;
use kafka_protocol::protocol::StrBytes;

use super::topic_config::TopicConfig;
use super::upstream;

/// `ConfigResource.Type.TOPIC`.
const TOPIC_RESOURCE: i8 = 2;

#[derive(Debug, Default)]
pub(crate) struct ConfigCache {
    topics: Mutex<HashMap<String, TopicConfig>>,
}

impl ConfigCache {
    /// The topic's config: cached, else asked from `upstream`. A topic the upstream does not
    /// know (yet: Produce auto-creates on Tansu) gets Kafka's defaults, not cached.
    pub(crate) async fn get(&self, upstream: &str, topic: &str) -> TopicConfig {
        if let Some(c) = self.lock().get(topic) {
            return c.clone();
        }
        match fetch(upstream, topic).await {
            Ok(Some(config)) => {
                self.lock().insert(topic.to_string(), config.clone());
                config
            }
            Ok(None) => TopicConfig::default(),
            Err(e) => {
                tracing::warn!("strict: DescribeConfigs for {topic}: {e:#}; using Kafka defaults");
                TopicConfig::default()
            }
        }
    }

    /// Forgets `topic`: its next Produce reads the configs again.
    pub(crate) fn invalidate(&self, topic: &str) {
        self.lock().remove(topic);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TopicConfig>> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn fetch(upstream: &str, topic: &str) -> anyhow::Result<Option<TopicConfig>> {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(StrBytes::from_string(topic.to_string()))]);
    let response = upstream::call(upstream, 1, &request).await?;
    let Some(result) = response.results.into_iter().next() else {
        anyhow::bail!("DescribeConfigs answered no result");
    };
    if result.error_code != 0 {
        return Ok(None);
    }
    let set: HashMap<String, String> = result
        .configs
        .into_iter()
        .filter_map(|c| Some((c.name.to_string(), c.value?.to_string())))
        .collect();
    Ok(Some(TopicConfig::from_set(&set)))
}
