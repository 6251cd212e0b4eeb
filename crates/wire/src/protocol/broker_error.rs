//! A Kafka error code from a broker response, with where it happened.

use std::fmt;

use super::BrokerErrorKind;

/// An error code a broker returned, with the API and — where the response says — the topic and
/// partition. Whether it is retriable follows the Kafka protocol's own classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerError {
    /// The API whose response carried the error.
    pub api: &'static str,
    /// The Kafka error code.
    pub code: i16,
    /// The broker that answered, when known.
    pub broker: Option<String>,
    /// The topic concerned, when known.
    pub topic: Option<String>,
    /// The partition concerned, when known.
    pub partition: Option<i32>,
    /// The broker's own error message, when the response carries one.
    pub message: Option<String>,
}

impl BrokerError {
    test_util_pub! {
        /// `None` when `code` is 0 (no error).
        pub fn from_code(api: &'static str, code: i16) -> Option<Self> {
            (code != 0).then(|| BrokerError::new(api, code))
        }
    }

    test_util_pub! {
        /// An error with `code` (callers have checked that it is not 0).
        pub fn new(api: &'static str, code: i16) -> Self {
            BrokerError {
                api,
                code,
                broker: None,
                topic: None,
                partition: None,
                message: None,
            }
        }
    }

    pub(crate) fn with_broker(mut self, broker: impl Into<String>) -> Self {
        self.broker = Some(broker.into());
        self
    }

    test_util_pub! {
        /// The same error, naming `topic`.
        pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
            self.topic = Some(topic.into());
            self
        }
    }

    test_util_pub! {
        /// The same error, naming `topic` and `partition`.
        pub fn with_partition(mut self, topic: impl Into<String>, partition: i32) -> Self {
            self.topic = Some(topic.into());
            self.partition = Some(partition);
            self
        }
    }

    pub(crate) fn with_message(mut self, message: Option<impl Into<String>>) -> Self {
        self.message = message.map(Into::into).filter(|m: &String| !m.is_empty());
        self
    }

    /// The protocol's classification of the code, by Kafka's name for it.
    pub fn kind(&self) -> BrokerErrorKind {
        BrokerErrorKind::from_code(self.code)
    }

    /// Retriable per the Kafka protocol (leader moves, coordinator loading, timeouts...).
    pub fn is_retriable(&self) -> bool {
        self.kind().is_retriable()
    }

    /// Errors after which cached metadata (leaders, coordinators) must be refreshed.
    pub(crate) fn invalidates_metadata(&self) -> bool {
        matches!(
            self.kind(),
            BrokerErrorKind::NotLeaderOrFollower
                | BrokerErrorKind::UnknownTopicOrPartition
                | BrokerErrorKind::LeaderNotAvailable
                | BrokerErrorKind::FencedLeaderEpoch
                | BrokerErrorKind::UnknownLeaderEpoch
                | BrokerErrorKind::NotCoordinator
                | BrokerErrorKind::CoordinatorNotAvailable
                | BrokerErrorKind::BrokerNotAvailable
                | BrokerErrorKind::ReplicaNotAvailable
                | BrokerErrorKind::NotController
                | BrokerErrorKind::KafkaStorageError
                | BrokerErrorKind::UnknownTopicId
        )
    }

    test_util_pub! {
        /// Authentication or authorization failures (never retried, counted as auth errors).
        pub fn is_auth(&self) -> bool {
            matches!(
                self.kind(),
                BrokerErrorKind::SaslAuthenticationFailed
                    | BrokerErrorKind::TopicAuthorizationFailed
                    | BrokerErrorKind::GroupAuthorizationFailed
                    | BrokerErrorKind::ClusterAuthorizationFailed
                    | BrokerErrorKind::TransactionalIdAuthorizationFailed
            )
        }
    }
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.api)?;
        if let Some(b) = &self.broker {
            write!(f, " on broker {b}")?;
        }
        match (&self.topic, self.partition) {
            (Some(t), Some(p)) => write!(f, " for {t}-{p}")?,
            (Some(t), None) => write!(f, " for topic {t}")?,
            _ => {}
        }
        write!(f, ": {:?} (code {})", self.kind(), self.code)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BrokerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_where_and_what() {
        let e = BrokerError::from_code("Fetch", 6)
            .unwrap()
            .with_broker("127.0.0.1:9092")
            .with_partition("orders", 2);
        assert_eq!(
            e.to_string(),
            "Fetch failed on broker 127.0.0.1:9092 for orders-2: NotLeaderOrFollower (code 6)"
        );
        assert!(e.is_retriable() && e.invalidates_metadata());
        assert!(BrokerError::from_code("Fetch", 0).is_none());
    }

    #[test]
    fn classifies_fatal_and_auth_codes() {
        let e = BrokerError::from_code("Produce", 29).unwrap();
        assert!(!e.is_retriable() && e.is_auth());
        let e = BrokerError::from_code("Produce", 10).unwrap(); // MESSAGE_TOO_LARGE
        assert!(!e.is_retriable());
        let e = BrokerError::from_code("Produce", 9999).unwrap();
        assert!(!e.is_retriable());
        assert!(e.to_string().contains("code 9999"));
    }
}
