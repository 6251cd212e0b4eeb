//! Why a producer configuration is refused. [`Producer::new`](super::Producer::new) reports it
//! as [`Error::Config`](crate::client::Error::Config), whose text is this error's.

/// What is wrong with a [`ProducerConfig`](super::ProducerConfig).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProducerConfigError {
    /// Idempotence keeps order for at most 5 requests in flight per partition.
    #[error("max_in_flight_per_partition must be 1..=5 with idempotence, got {0}")]
    MaxInFlight(usize),
    /// A batch must hold something and fit in the buffer.
    #[error(
        "max_batch_bytes ({max_batch_bytes}) must be > 0 and <= buffer_bytes ({buffer_bytes})"
    )]
    BatchBytes {
        max_batch_bytes: usize,
        buffer_bytes: usize,
    },
    /// A send takes up to `buffer_bytes` permits at once, and tokio counts them in a u32.
    #[error("buffer_bytes must fit in 32 bits")]
    BufferBytes,
}
