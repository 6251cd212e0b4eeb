//! Errors of the client layer (protocol and broker), the layer applications see.

use crate::connection::ConnectionError;
use crate::protocol::BrokerError;
use kreplicate_codec::CodecError;

use super::retry::Retriable;

/// Why a client operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to a broker failed (network, TLS, SASL, timeout).
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A broker answered with an error code.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// Record bytes could not be decoded or encoded.
    #[error("{context}: {source}")]
    Codec {
        /// What was being decoded or encoded.
        context: String,
        /// The codec error.
        #[source]
        source: CodecError,
    },
    /// No bootstrap server could be reached.
    #[error("none of the bootstrap servers [{servers}] could be used: {errors}")]
    Bootstrap {
        /// The servers tried, comma-separated.
        servers: String,
        /// Why each failed.
        errors: String,
    },
    /// The topic does not exist on the cluster.
    #[error("topic '{topic}' does not exist on the cluster")]
    UnknownTopic {
        /// Topic name.
        topic: String,
    },
    /// The partition does not exist (the topic has fewer partitions).
    #[error(
        "partition {topic}-{partition} does not exist (the topic has {partitions} partitions)"
    )]
    UnknownPartition {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// How many partitions the topic has.
        partitions: usize,
    },
    /// A fetch asked for an offset outside the partition's log.
    #[error("offset {offset} is out of range for {topic}-{partition} (valid: {log_start_offset}..{high_watermark})")]
    OffsetOutOfRange {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The offset.
        offset: i64,
        /// -1 when the broker did not tell and a ListOffsets failed too.
        log_start_offset: i64,
        /// The partition's high watermark (-1 when unknown).
        high_watermark: i64,
    },
    /// The response did not contain what was asked for (a broker bug or a protocol mismatch).
    #[error("unexpected {api} response from broker {broker}: {message}")]
    Protocol {
        /// The API (request type) concerned, e.g. `Produce`.
        api: &'static str,
        /// The broker (`host:port`).
        broker: String,
        /// What went wrong, as the broker or library said it.
        message: String,
    },
    /// The client was configured wrongly.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The producer or fetcher was shut down while the operation was pending.
    #[error("{0} is shut down")]
    Shutdown(&'static str),
}

impl Retriable for Error {
    fn is_retriable(&self) -> bool {
        Error::is_retriable(self)
    }
}

impl Error {
    /// Whether trying again may succeed (the client's retry policy does so within its deadline).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connection(e) => e.is_retriable(),
            Error::Broker(e) => e.is_retriable(),
            // Metadata can lag topic creation for a moment.
            Error::UnknownTopic { .. } | Error::UnknownPartition { .. } => true,
            Error::Bootstrap { .. } => true,
            _ => false,
        }
    }

    /// True when cached metadata should be refreshed before retrying.
    pub(crate) fn invalidates_metadata(&self) -> bool {
        match self {
            Error::Connection(e) => e.is_retriable(),
            Error::Broker(e) => e.invalidates_metadata(),
            Error::UnknownTopic { .. } | Error::UnknownPartition { .. } => true,
            _ => false,
        }
    }

    /// Authentication or authorization failures.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Connection(e) => e.is_auth(),
            Error::Broker(e) => e.is_auth(),
            _ => false,
        }
    }

    pub(crate) fn protocol(
        api: &'static str,
        broker: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Protocol {
            api,
            broker: broker.into(),
            message: message.into(),
        }
    }
}

/// Shorthand for client-layer results.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
