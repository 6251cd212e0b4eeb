//! The idempotent producer's identity: a producer id and epoch from InitProducerId. Brokers use
//! (producer id, epoch, partition, sequence) to drop duplicates of retried batches.

use kafka_protocol::messages::{InitProducerIdRequest, ProducerId};

use crate::client::{Client, Result};
use crate::protocol::BrokerError;

/// Producer id and epoch stamped on every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
}

impl ProducerIdentity {
    test_util_pub! {
        /// Asks the cluster for a fresh producer id (idempotent, non-transactional).
        pub async fn init(client: &Client) -> Result<Self> {
            client
                .retry(None, || async {
                    let conn = client.any_connection().await?;
                    let response = conn
                        .request(
                            &InitProducerIdRequest::default()
                                .with_transactional_id(None)
                                .with_transaction_timeout_ms(-1)
                                .with_producer_id(ProducerId(-1))
                                .with_producer_epoch(-1),
                        )
                        .await?;
                    if let Some(e) = BrokerError::from_code("InitProducerId", response.error_code) {
                        return Err(e.with_broker(conn.broker()).into());
                    }
                    Ok(ProducerIdentity {
                        producer_id: response.producer_id.0,
                        producer_epoch: response.producer_epoch,
                    })
                })
                .await
        }
    }
}

/// Kafka sequence numbers wrap from `i32::MAX` to 0.
pub(super) fn advance_sequence(sequence: i32, count: i32) -> i32 {
    ((sequence as i64 + count as i64) % (i32::MAX as i64 + 1)) as i32
}

#[cfg(test)]
mod tests {
    use super::advance_sequence;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(advance_sequence(0, 5), 5);
        assert_eq!(advance_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(advance_sequence(i32::MAX, 1), 0);
        assert_eq!(advance_sequence(i32::MAX - 2, 5), 2);
    }
}
