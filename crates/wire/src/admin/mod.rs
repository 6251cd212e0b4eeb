//! Cluster administration: topics, topic configs, ACLs and what the cluster offers.
//!
//! [`Admin`] wraps a [`Client`] and adds nothing but the admin requests: routing (controller,
//! partition leaders, any broker), retries and metadata all come from the client. Consumer
//! groups live in [`crate::group`].
//!
//! Operations on many items (topics, partitions) report a result per item, so one bad topic
//! does not hide what happened to the others; failures that concern the whole request
//! (no broker reachable, a malformed response) are the outer `Err`.

mod acls;
mod cluster;
mod configs;
#[cfg(feature = "test-util")]
mod offsets;
pub(crate) mod rounds;
mod topics;

pub use acls::{AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType};
#[cfg(feature = "test-util")]
pub use cluster::{BrokerInfo, ClusterDescription};
pub use configs::{AlterOp, AlterOpKind, ConfigEntry, ConfigSource};
#[cfg(feature = "test-util")]
pub use offsets::{ListedOffset, OffsetSpec};
pub use topics::NewTopic;

use kafka_protocol::protocol::StrBytes;

use crate::client::Client;

/// Admin operations on one cluster. Cheap to clone (it shares the client).
#[derive(Debug, Clone)]
pub struct Admin {
    client: Client,
}

impl Admin {
    /// Wraps `client`; every request goes through its connections and retry policy.
    pub fn new(client: Client) -> Self {
        Admin { client }
    }

    test_util_pub! {
        /// The client this admin sends through.
        pub fn client(&self) -> &Client {
            &self.client
        }
    }
}

/// A request string from a Rust string.
pub(crate) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A broker's optional error message as an owned string.
pub(crate) fn message(m: Option<StrBytes>) -> Option<String> {
    m.map(|m| m.as_str().to_string())
}
