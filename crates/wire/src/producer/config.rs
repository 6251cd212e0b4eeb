//! Producer settings.

use std::time::Duration;

use kreplicate_codec::Compression;

use super::config_error::ProducerConfigError;

/// How the producer batches, compresses and bounds memory. Always `acks=all` and idempotent:
/// a replicator that may write a record twice or lose an acknowledged one is not one.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Codec for the batches we build (pass-through batches keep theirs).
    pub compression: Compression,
    /// How long a partition's first record waits for company before its batch is sent.
    pub linger: Duration,
    /// A batch is sent once its records reach this many (uncompressed) bytes.
    pub max_batch_bytes: usize,
    /// Produce requests in flight per partition (Kafka keeps order for up to 5 with idempotence).
    pub max_in_flight_per_partition: usize,
    /// Total bytes of records accepted but not yet acknowledged; `send` waits beyond it.
    pub buffer_bytes: usize,
    /// The broker-side timeout put in each Produce request.
    pub produce_timeout: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            compression: Compression::None,
            linger: Duration::from_millis(5),
            max_batch_bytes: 1024 * 1024,
            max_in_flight_per_partition: 5,
            buffer_bytes: 64 * 1024 * 1024,
            produce_timeout: Duration::from_secs(30),
        }
    }
}

impl ProducerConfig {
    pub(crate) fn validate(&self) -> Result<(), ProducerConfigError> {
        if !(1..=5).contains(&self.max_in_flight_per_partition) {
            return Err(ProducerConfigError::MaxInFlight(
                self.max_in_flight_per_partition,
            ));
        }
        if self.max_batch_bytes == 0 || self.max_batch_bytes > self.buffer_bytes {
            return Err(ProducerConfigError::BatchBytes {
                max_batch_bytes: self.max_batch_bytes,
                buffer_bytes: self.buffer_bytes,
            });
        }
        if self.buffer_bytes > u32::MAX as usize {
            return Err(ProducerConfigError::BufferBytes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_which_setting_and_why() {
        assert_eq!(ProducerConfig::default().validate(), Ok(()));
        let with = |f: fn(&mut ProducerConfig)| {
            let mut config = ProducerConfig::default();
            f(&mut config);
            let error = config.validate().unwrap_err();
            (error.clone(), error.to_string())
        };
        assert_eq!(
            with(|c| c.max_in_flight_per_partition = 6),
            (
                ProducerConfigError::MaxInFlight(6),
                "max_in_flight_per_partition must be 1..=5 with idempotence, got 6".to_string()
            )
        );
        assert_eq!(
            with(|c| c.max_batch_bytes = c.buffer_bytes + 1),
            (
                ProducerConfigError::BatchBytes {
                    max_batch_bytes: 67_108_865,
                    buffer_bytes: 67_108_864
                },
                "max_batch_bytes (67108865) must be > 0 and <= buffer_bytes (67108864)".to_string()
            )
        );
        assert_eq!(
            with(|c| {
                c.buffer_bytes = u32::MAX as usize + 1;
            }),
            (
                ProducerConfigError::BufferBytes,
                "buffer_bytes must fit in 32 bits".to_string()
            )
        );
    }
}
