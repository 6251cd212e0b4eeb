//! The target topics' `max.message.bytes`, which the producer's batches must stay within.
//!
//! Kafka refuses a batch larger than the topic's `max.message.bytes` whole (MESSAGE_TOO_LARGE),
//! however small its records: a target topic configured lower than the source's batches would
//! otherwise refuse records that fit it one by one. Read every topic refresh, so raising the
//! limit on the target lets a partition halted on a large record resume.

use std::collections::BTreeMap;

use kreplicate_wire::admin::ConfigEntry;

use super::Side;

/// Kafka's default `max.message.bytes` (`message.max.bytes`, LogConfig /
/// ServerLogConfigs.MAX_MESSAGE_BYTES_DEFAULT = 1024 * 1024 + 12), assumed where the target
/// does not list the config: Tansu lists only the configs that were set, and a principal
/// without DescribeConfigs sees none.
pub(crate) const KAFKA_DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024 + 12;

pub(crate) const MAX_MESSAGE_BYTES: &str = "max.message.bytes";

/// Each of `topics`' `max.message.bytes` on the target, keyed by target topic name: as listed,
/// else Kafka's default. `known` holds listings this refresh already read (config sync's);
/// only the other topics are described. A failed read keeps `previous` for the topics it knew
/// (and the default for others): the limit is a batching bound, not worth failing the refresh
/// for.
pub(crate) async fn read(
    target: &Side,
    topics: &[String],
    previous: &BTreeMap<String, usize>,
    known: BTreeMap<String, Vec<ConfigEntry>>,
) -> BTreeMap<String, usize> {
    let unknown: Vec<String> = topics
        .iter()
        .filter(|t| !known.contains_key(*t))
        .cloned()
        .collect();
    let mut listed = known;
    if !unknown.is_empty() {
        match target.admin.describe_topic_configs(&unknown).await {
            Ok(listings) => listed.extend(listings),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the target topics' max.message.bytes; keeping what was known");
            }
        }
    }
    topics
        .iter()
        .map(|topic| {
            let value = listed
                .get(topic)
                .and_then(|entries| entries.iter().find(|e| e.name == MAX_MESSAGE_BYTES))
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse::<usize>().ok())
                .or_else(|| {
                    previous
                        .get(topic)
                        .copied()
                        .filter(|_| !listed.contains_key(topic))
                })
                .unwrap_or(KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
            (topic.clone(), value)
        })
        .collect()
}
