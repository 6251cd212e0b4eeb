//! The cluster client: bootstrap, metadata, leader routing, retries.

mod cluster;
mod error;
mod metadata;
mod retry;

pub use cluster::{Client, ClientConfig};
pub use error::{Error, Result};
pub use metadata::{ClusterMetadata, PartitionMetadata, TopicMetadata};
pub use retry::{Backoff, Retriable, RetryPolicy};
