//! What the layer knows of each topic (partition count, configs), read from the upstream once
//! (Metadata without auto-creation, then DescribeConfigs) and dropped whenever a CreateTopics,
//! CreatePartitions, IncrementalAlterConfigs or DeleteTopics for the topic passes through the
//! layer. Unknown topics are not cached: the next Produce asks again.

use std::collections::HashMap;
use std::sync::Mutex;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{DescribeConfigsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::topic_config::TopicConfig;
use super::upstream;

/// `ConfigResource.Type.TOPIC`.
const TOPIC_RESOURCE: i8 = 2;

/// A topic as the layer's rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicInfo {
    pub(crate) partitions: i32,
    pub(crate) config: TopicConfig,
}

/// What the upstream says of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Known(TopicInfo),
    /// Metadata answered UNKNOWN_TOPIC_OR_PARTITION.
    Unknown,
    /// The upstream could not be asked: the layer checks with Kafka's defaults and lets the
    /// upstream decide whether the topic exists.
    Unavailable,
}

#[derive(Debug, Default)]
pub(crate) struct ConfigCache {
    topics: Mutex<HashMap<String, TopicInfo>>,
}

impl ConfigCache {
    /// The topic: cached, else asked from `upstream`.
    pub(crate) async fn get(&self, upstream: &str, topic: &str) -> Lookup {
        if let Some(info) = self.lock().get(topic) {
            return Lookup::Known(info.clone());
        }
        self.fetch(upstream, topic).await
    }

    /// Asks the upstream again (a partition beyond the cached count may have been added
    /// behind the layer's back).
    pub(crate) async fn refresh(&self, upstream: &str, topic: &str) -> Lookup {
        self.invalidate(topic);
        self.fetch(upstream, topic).await
    }

    async fn fetch(&self, upstream: &str, topic: &str) -> Lookup {
        match fetch(upstream, topic).await {
            Ok(Some(info)) => {
                self.lock().insert(topic.to_string(), info.clone());
                Lookup::Known(info)
            }
            Ok(None) => Lookup::Unknown,
            Err(e) => {
                tracing::warn!("strict: reading topic {topic} from {upstream}: {e:#}");
                Lookup::Unavailable
            }
        }
    }

    /// Forgets `topic`: its next Produce reads it again.
    pub(crate) fn invalidate(&self, topic: &str) {
        self.lock().remove(topic);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TopicInfo>> {
        crate::lock::lock(&self.topics)
    }
}

async fn fetch(upstream: &str, topic: &str) -> anyhow::Result<Option<TopicInfo>> {
    let name = || StrBytes::from_string(topic.to_string());
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(TopicName(name())))
        ]))
        .with_allow_auto_topic_creation(false);
    let metadata = upstream::call(upstream, 9, &metadata).await?;
    let Some(t) = metadata.topics.into_iter().next() else {
        anyhow::bail!("Metadata answered no topic");
    };
    if t.error_code == ResponseError::UnknownTopicOrPartition.code() {
        return Ok(None);
    }
    if t.error_code != 0 {
        anyhow::bail!("Metadata answered error code {}", t.error_code);
    }
    let partitions = t.partitions.len() as i32;
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(name())]);
    let response = upstream::call(upstream, 1, &request).await?;
    let Some(result) = response.results.into_iter().next() else {
        anyhow::bail!("DescribeConfigs answered no result");
    };
    if result.error_code != 0 {
        anyhow::bail!("DescribeConfigs answered error code {}", result.error_code);
    }
    let set: HashMap<String, String> = result
        .configs
        .into_iter()
        .filter_map(|c| Some((c.name.to_string(), c.value?.to_string())))
        .collect();
    Ok(Some(TopicInfo {
        partitions,
        config: TopicConfig::from_set(&set),
    }))
}
