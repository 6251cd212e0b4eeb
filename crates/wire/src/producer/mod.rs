//! The idempotent batching producer (acks=all, up to 5 batches in flight per partition, order
//! kept across retries), with bounded memory.

mod batch;
mod config;
mod config_error;
mod handle;
mod identity;
mod locate;
mod message_limit;
mod partition_worker;
mod record;

pub use batch::RawBatch;
pub use config::ProducerConfig;
pub use handle::Producer;
pub use identity::ProducerIdentity;
pub use record::{
    DeliveryFuture, ProduceError, ProducerRecord, RecordMetadata, RecordsDelivery, RecordsMetadata,
};
