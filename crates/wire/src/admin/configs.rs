//! Topic configs: describing them and changing them one key at a time.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};

use super::{message, str_bytes, Admin};
use crate::client::{Error, Result};
use crate::protocol::BrokerError;

/// The config resource type of a topic in DescribeConfigs and friends.
const RESOURCE_TOPIC: i8 = 2;

/// Where a config value comes from, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigSource {
    /// 0: the broker did not say.
    Unknown,
    /// 1: a topic-level override.
    DynamicTopic,
    /// 2: a per-broker dynamic config.
    DynamicBroker,
    /// 3: a cluster-wide dynamic broker default.
    DynamicDefaultBroker,
    /// 4: the broker's static configuration file.
    StaticBroker,
    /// 5: the built-in default (Tansu 0.6 reports topic overrides with this source too).
    Default,
    /// 6: a dynamic broker logger level.
    DynamicBrokerLogger,
    /// A code this client does not know.
    Other(i8),
}

impl ConfigSource {
    test_util_pub! {
        /// The Kafka wire code.
        pub fn code(self) -> i8 {
            match self {
                ConfigSource::Unknown => 0,
                ConfigSource::DynamicTopic => 1,
                ConfigSource::DynamicBroker => 2,
                ConfigSource::DynamicDefaultBroker => 3,
                ConfigSource::StaticBroker => 4,
                ConfigSource::Default => 5,
                ConfigSource::DynamicBrokerLogger => 6,
                ConfigSource::Other(c) => c,
            }
        }
    }

    test_util_pub! {
        /// The source for a wire code.
        pub fn from_code(code: i8) -> Self {
            match code {
                0 => ConfigSource::Unknown,
                1 => ConfigSource::DynamicTopic,
                2 => ConfigSource::DynamicBroker,
                3 => ConfigSource::DynamicDefaultBroker,
                4 => ConfigSource::StaticBroker,
                5 => ConfigSource::Default,
                6 => ConfigSource::DynamicBrokerLogger,
                c => ConfigSource::Other(c),
            }
        }
    }
}

/// One config of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Config name, e.g. `retention.ms`.
    pub name: String,
    /// `None` for sensitive values the broker hides, and for configs without a value.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether the value is sensitive (the broker then returns no value).
    pub is_sensitive: bool,
    /// Whether the config is read-only.
    pub read_only: bool,
}

/// What to do to one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterOpKind {
    /// Sets the key to the value (wire operation 0).
    Set(String),
    /// Removes the override so the default applies again (wire operation 1).
    Delete,
}

/// One change in an incremental config alteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterOp {
    /// Config name.
    pub name: String,
    /// Set or delete.
    pub op: AlterOpKind,
}

impl AlterOp {
    /// Sets `name` to `value`.
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        AlterOp {
            name: name.into(),
            op: AlterOpKind::Set(value.into()),
        }
    }

    /// Removes the override of `name`.
    pub fn delete(name: impl Into<String>) -> Self {
        AlterOp {
            name: name.into(),
            op: AlterOpKind::Delete,
        }
    }
}

impl Admin {
    /// The configs of each topic in `topics` (DescribeConfigs, no synonyms). Which configs
    /// are listed is the broker's choice: Kafka lists all, Tansu 0.6 only the overrides.
    /// A topic the broker reports an error for fails the whole call, naming the topic.
    pub async fn describe_topic_configs(
        &self,
        topics: &[String],
    ) -> Result<BTreeMap<String, Vec<ConfigEntry>>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let resources: Vec<DescribeConfigsResource> = topics
            .iter()
            .map(|t| {
                DescribeConfigsResource::default()
                    .with_resource_type(RESOURCE_TOPIC)
                    .with_resource_name(str_bytes(t))
                    .with_configuration_keys(None)
            })
            .collect();
        // Only the transport is retried: a per-topic error (e.g. an unknown topic) is an
        // answer, not a reason to ask again.
        let (broker, response) = self
            .client()
            .retry(None, || {
                let resources = resources.clone();
                async move {
                    let conn = self.client().any_connection().await?;
                    let (_, response) = conn
                        .request_with(|_| {
                            DescribeConfigsRequest::default()
                                .with_resources(resources)
                                .with_include_synonyms(false)
                        })
                        .await?;
                    Ok((conn.broker().to_string(), response))
                }
            })
            .await?;
        let mut out = BTreeMap::new();
        for result in response.results {
            let name = result.resource_name.as_str().to_string();
            if let Some(e) = BrokerError::from_code("DescribeConfigs", result.error_code) {
                return Err(e
                    .with_broker(broker.as_str())
                    .with_topic(name)
                    .with_message(message(result.error_message))
                    .into());
            }
            let entries = result
                .configs
                .into_iter()
                .map(|c| ConfigEntry {
                    name: c.name.as_str().to_string(),
                    value: message(c.value),
                    source: ConfigSource::from_code(c.config_source),
                    is_sensitive: c.is_sensitive,
                    read_only: c.read_only,
                })
                .collect();
            out.insert(name, entries);
        }
        if let Some(missing) = topics.iter().find(|t| !out.contains_key(*t)) {
            return Err(Error::protocol(
                "DescribeConfigs",
                broker,
                format!("the response has no result for topic '{missing}'"),
            ));
        }
        Ok(out)
    }

    /// Applies `ops` to `topic`'s configs in one IncrementalAlterConfigs request; keys not
    /// named keep their values.
    pub async fn incremental_alter_topic_configs(
        &self,
        topic: &str,
        ops: &[AlterOp],
    ) -> Result<()> {
        self.alter_topic_configs(topic, ops, false).await
    }

    /// Asks whether the broker would apply `ops` to `topic` (IncrementalAlterConfigs with
    /// `validate_only`), changing nothing on a broker that honours the flag (Kafka does;
    /// brokers that ignore it apply the change, so ask only one known to honour it).
    pub async fn validate_topic_config_changes(&self, topic: &str, ops: &[AlterOp]) -> Result<()> {
        self.alter_topic_configs(topic, ops, true).await
    }

    async fn alter_topic_configs(
        &self,
        topic: &str,
        ops: &[AlterOp],
        validate_only: bool,
    ) -> Result<()> {
        let configs: Vec<AlterableConfig> = ops
            .iter()
            .map(|op| {
                let (operation, value) = match &op.op {
                    AlterOpKind::Set(v) => (0, Some(str_bytes(v))),
                    AlterOpKind::Delete => (1, None),
                };
                AlterableConfig::default()
                    .with_name(str_bytes(&op.name))
                    .with_config_operation(operation)
                    .with_value(value)
            })
            .collect();
        let request = IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(RESOURCE_TOPIC)
                .with_resource_name(str_bytes(topic))
                .with_configs(configs)]);
        let (broker, response) = self
            .client()
            .retry(None, || async {
                let conn = self.client().any_connection().await?;
                let response = conn.request(&request).await?;
                Ok((conn.broker().to_string(), response))
            })
            .await?;
        let result = response
            .responses
            .into_iter()
            .find(|r| r.resource_name.as_str() == topic)
            .ok_or_else(|| {
                Error::protocol(
                    "IncrementalAlterConfigs",
                    broker.as_str(),
                    format!("the response has no result for topic '{topic}'"),
                )
            })?;
        match BrokerError::from_code("IncrementalAlterConfigs", result.error_code) {
            None => Ok(()),
            Some(e) => Err(e
                .with_broker(broker)
                .with_topic(topic)
                .with_message(message(result.error_message))
                .into()),
        }
    }
}
