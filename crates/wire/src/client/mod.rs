//! The cluster client: bootstrap, metadata, leader routing, retries.

mod cluster;
mod error;
mod metadata;
mod retry;

pub use cluster::{Client, ClientConfig};
pub use error::Error;
pub(crate) use error::Result;
pub use metadata::{ClusterMetadata, PartitionMetadata, TopicMetadata};
pub use retry::{Backoff, RetryPolicy};
test_util_pub! {
    pub use retry::Retriable;
}
