//! The Kafka APIs (request types) this client sends, and the versions of each it speaks: this
//! crate's own enum, so that no `kafka-protocol` type is part of the public API.
//!
//! Our versions are narrower than what `kafka-protocol` can encode: a few newer versions change
//! meaning (Fetch v13+, Produce v13+, OffsetCommit/OffsetFetch v10+ address topics by id instead
//! of by name), and we only speak versions whose fields our callers fill in correctly.

use kafka_protocol::messages::ApiKey;

/// Declares [`Api`], its `kafka-protocol` key and our version range for each, from one list.
macro_rules! kafka_apis {
    ($($api:ident $min:literal ..= $max:literal),* $(,)?) => {
        /// A Kafka API (request type) this client sends, by Kafka's name for it (`{:?}` prints
        /// that name, e.g. `CreatePartitions`). Used to ask a cluster what it offers
        /// ([`Admin::supports`](crate::admin::Admin::supports)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Api {
            $(
                #[doc = concat!("Kafka's `", stringify!($api), "` request.")]
                $api,
            )*
        }

        impl Api {
            /// `(api, min, max)` for every API this client sends.
            pub(crate) const OURS: &'static [(Api, i16, i16)] = &[$((Api::$api, $min, $max)),*];

            /// Its Kafka API key.
            pub(crate) fn key(self) -> i16 {
                self.api_key() as i16
            }

            fn api_key(self) -> ApiKey {
                match self {
                    $(Api::$api => ApiKey::$api,)*
                }
            }

            /// Kafka's name for it, as `{:?}` prints it.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Api::$api => stringify!($api),)*
                }
            }
        }
    };
}

kafka_apis! {
    Produce 3..=11,
    Fetch 4..=12,
    ListOffsets 1..=8,
    Metadata 1..=12,
    OffsetCommit 2..=9,
    OffsetFetch 1..=9,
    FindCoordinator 0..=3,
    JoinGroup 0..=9,
    Heartbeat 0..=4,
    LeaveGroup 0..=5,
    SyncGroup 0..=5,
    DescribeGroups 0..=5,
    ListGroups 0..=4,
    SaslHandshake 0..=1,
    ApiVersions 0..=3,
    CreateTopics 2..=7,
    DeleteTopics 1..=5,
    DeleteRecords 0..=2,
    InitProducerId 0..=4,
    DescribeAcls 1..=3,
    CreateAcls 1..=3,
    DescribeConfigs 1..=4,
    SaslAuthenticate 0..=2,
    CreatePartitions 0..=3,
    DeleteGroups 0..=2,
    IncrementalAlterConfigs 0..=1,
    DescribeCluster 0..=1,
}

impl Api {
    /// The API with Kafka API key `key`, if this client sends it.
    pub(crate) fn from_key(key: i16) -> Option<Api> {
        Self::OURS
            .iter()
            .map(|(api, _, _)| *api)
            .find(|api| api.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafka_protocols() {
        for (api, _, _) in Api::OURS {
            assert_eq!(format!("{api:?}"), format!("{:?}", api.api_key()));
            assert_eq!(api.name(), format!("{api:?}"));
            assert_eq!(Api::from_key(api.key()), Some(*api));
        }
        assert_eq!(Api::from_key(ApiKey::EndTxn as i16), None);
    }

    #[test]
    fn our_ranges_are_encodable_by_kafka_protocol() {
        for (api, min, max) in Api::OURS {
            let valid = api.api_key().valid_versions();
            assert!(
                valid.min <= *min && *max <= valid.max,
                "{api:?}: ours {min}..={max}, kafka-protocol {valid:?}"
            );
        }
    }
}
