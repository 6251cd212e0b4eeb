//! The topic configs Kafka's broker-side rules depend on, with Kafka's defaults for the ones the
//! topic does not set (Tansu's DescribeConfigs answers only the ones that were set).

use std::collections::HashMap;

/// `LogConfig.DEFAULT_MAX_MESSAGE_BYTES` = 1 MiB + `Records.LOG_OVERHEAD` (12).
pub(crate) const DEFAULT_MAX_MESSAGE_BYTES: i64 = 1024 * 1024 + 12;

/// What LogValidator and UnifiedLog read from a topic's LogConfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicConfig {
    /// `max.message.bytes`: largest batch (with its 12-byte log overhead) UnifiedLog appends.
    pub(crate) max_message_bytes: i64,
    /// `cleanup.policy` contains `compact`.
    pub(crate) compacted: bool,
    /// `message.timestamp.type=LogAppendTime`.
    pub(crate) log_append_time: bool,
    /// LogConfig.getMessageTimestampBeforeMaxMs: `before.max.ms`, else the deprecated
    /// `difference.max.ms`.
    pub(crate) timestamp_before_max_ms: i64,
    /// LogConfig.getMessageTimestampAfterMaxMs, likewise.
    pub(crate) timestamp_after_max_ms: i64,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            compacted: false,
            log_append_time: false,
            // ServerLogConfigs.LOG_MESSAGE_TIMESTAMP_{BEFORE,AFTER,DIFFERENCE}_MAX_MS_DEFAULT.
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
        }
    }
}

impl TopicConfig {
    /// From the (name → value) pairs a topic sets; unset or unparsable ones keep Kafka's default.
    pub(crate) fn from_set(configs: &HashMap<String, String>) -> Self {
        let long = |name: &str| configs.get(name).and_then(|v| v.trim().parse::<i64>().ok());
        let defaults = TopicConfig::default();
        let difference = long("message.timestamp.difference.max.ms").unwrap_or(i64::MAX);
        // LogConfig: the new setting wins unless it still has its default (Long.MAX_VALUE).
        let pick = |value: Option<i64>| match value {
            Some(v) if v != i64::MAX => v,
            _ => difference,
        };
        TopicConfig {
            max_message_bytes: long("max.message.bytes").unwrap_or(defaults.max_message_bytes),
            compacted: configs
                .get("cleanup.policy")
                .is_some_and(|p| p.split(',').any(|p| p.trim() == "compact")),
            log_append_time: configs
                .get("message.timestamp.type")
                .is_some_and(|t| t.trim() == "LogAppendTime"),
            timestamp_before_max_ms: pick(long("message.timestamp.before.max.ms")),
            timestamp_after_max_ms: pick(long("message.timestamp.after.max.ms")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unset_configs_take_kafka_defaults() {
        let c = TopicConfig::from_set(&HashMap::new());
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert!(!c.compacted && !c.log_append_time);
        assert_eq!(c.timestamp_before_max_ms, i64::MAX);
    }

    #[test]
    fn set_configs_are_read_and_the_deprecated_difference_is_a_fallback() {
        let c = TopicConfig::from_set(&set(&[
            ("max.message.bytes", "2000"),
            ("cleanup.policy", "delete,compact"),
            ("message.timestamp.type", "LogAppendTime"),
            ("message.timestamp.difference.max.ms", "5000"),
            ("message.timestamp.after.max.ms", "100"),
        ]));
        assert_eq!(c.max_message_bytes, 2000);
        assert!(c.compacted && c.log_append_time);
        assert_eq!(c.timestamp_before_max_ms, 5000);
        assert_eq!(c.timestamp_after_max_ms, 100);
    }
}
