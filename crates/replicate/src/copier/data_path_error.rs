//! Why a partition's copier gave up on the data path: the whole path restarts with a fresh
//! producer and resumes exactly (see [`CopierExit::DataPathFailed`](super::CopierExit)).

use kreplicate_wire::client::Error as ClientError;

/// A failure that is not about one partition's records.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DataPathError {
    /// The producer would not take the records.
    #[error("{0}")]
    Send(#[source] ClientError),
    /// The target could not be written (past the retry deadline, a coordinator error...).
    #[error("writing {topic}-{partition} to the target failed: {source}")]
    Write {
        /// The target topic.
        topic: String,
        partition: i32,
        #[source]
        source: ClientError,
    },
    /// Batch mode copies nothing before a checkpoint vouches for where it starts.
    #[error("the starting checkpoint of {topic}-{partition} was not acknowledged")]
    StartingCheckpoint {
        /// The source topic.
        topic: String,
        partition: i32,
    },
    /// The source's producer registry (who wrote a batch) could not be read.
    #[error("reading the source's producer registry for {topic}-{partition} failed: {source}")]
    ProducerRegistry {
        /// The source topic.
        topic: String,
        partition: i32,
        #[source]
        source: ClientError,
    },
    /// The reverse replicator's offset maps could not be read.
    #[error(
        "reading the reverse replicator's offset maps for {topic}-{partition} failed: {source}"
    )]
    ReverseMaps {
        /// The source topic.
        topic: String,
        partition: i32,
        #[source]
        source: ClientError,
    },
    /// The producer acknowledged records without their offsets.
    #[error("the producer acknowledged {count} records on {topic}-{partition} without offsets")]
    AckWithoutOffsets {
        count: usize,
        /// The target topic.
        topic: String,
        partition: i32,
    },
    /// The producer acknowledged records with another number of offsets.
    #[error(
        "the producer acknowledged {count} records on {topic}-{partition} with {offsets} offsets"
    )]
    AckOffsetCount {
        count: usize,
        /// The target topic.
        topic: String,
        partition: i32,
        offsets: usize,
    },
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use kreplicate_wire::BrokerError;

    use super::*;

    #[test]
    fn a_failed_write_names_the_partition_and_chains_to_the_client_error() {
        // NOT_COORDINATOR (16): about the cluster, not the partition.
        let broker = BrokerError::new("Produce", 16).with_partition("src.orders", 3);
        let e = DataPathError::Write {
            topic: "src.orders".into(),
            partition: 3,
            source: broker.clone().into(),
        };
        assert_eq!(
            e.to_string(),
            "writing src.orders-3 to the target failed: Produce failed for src.orders-3: \
             NotCoordinator (code 16)"
        );
        assert!(
            matches!(e.source().and_then(|s| s.downcast_ref::<ClientError>()), Some(ClientError::Broker(b)) if *b == broker),
            "{e:?}"
        );
    }
}
