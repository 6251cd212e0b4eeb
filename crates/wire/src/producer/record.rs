//! What goes in and what comes back.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::client::Error;
use kreplicate_codec::Header;

/// One record to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    /// Record key (`None`: null).
    pub key: Option<Bytes>,
    /// Record value (`None`: null, a tombstone).
    pub value: Option<Bytes>,
    /// Order and duplicates are kept.
    pub headers: Vec<Header>,
    /// CreateTime in ms; `None` means now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// Bytes this record counts against the producer's buffer (and batch size).
    pub(crate) fn size_estimate(&self) -> usize {
        // Fixed per-record overhead: varints for length, attributes, deltas, counts.
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len) + 10)
            .sum();
        21 + self.key.as_ref().map_or(0, Bytes::len)
            + self.value.as_ref().map_or(0, Bytes::len)
            + headers
    }
}

/// Where an acknowledged record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Partition written to.
    pub partition: i32,
    /// The record's offset in the partition.
    pub offset: i64,
}

/// Where an acknowledged group of records ([`super::Producer::send_all`]) landed. A group may
/// span several produced batches, so its offsets are runs: record `i` of the group is at
/// `base + (i - first)` for the last run whose `first` is at most `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordsMetadata {
    /// Partition written to.
    pub partition: i32,
    /// `(first record index in the group, its offset)`, in order; the first run starts at 0.
    pub runs: Vec<(usize, i64)>,
    /// Records in the group.
    pub len: usize,
}

impl RecordsMetadata {
    /// The offset of every record of the group, in order.
    pub fn offsets(&self) -> impl Iterator<Item = i64> + '_ {
        self.runs
            .iter()
            .enumerate()
            .flat_map(move |(i, &(first, base))| {
                let end = self.runs.get(i + 1).map_or(self.len, |r| r.0);
                (0..end.saturating_sub(first)).map(move |k| base + k as i64)
            })
    }
}

/// Why a record was not acknowledged. Shared by all records of a failed batch.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct ProduceError(pub Arc<Error>);

/// Resolves when the record is acknowledged (acks=all) or has definitively failed.
pub struct DeliveryFuture {
    pub(super) receiver: oneshot::Receiver<Result<RecordMetadata, ProduceError>>,
}

/// Resolves when every record of a group is acknowledged, or when one has definitively failed.
pub struct RecordsDelivery {
    pub(super) receiver: oneshot::Receiver<Result<RecordsMetadata, ProduceError>>,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RecordsDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordsDelivery").finish_non_exhaustive()
    }
}

impl std::future::Future for RecordsDelivery {
    type Output = Result<RecordsMetadata, ProduceError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(ProduceError(Arc::new(Error::Shutdown("producer"))))))
    }
}

impl std::future::Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ProduceError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(ProduceError(Arc::new(Error::Shutdown("producer"))))))
    }
}
