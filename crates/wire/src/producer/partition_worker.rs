//! One task per partition: accumulates records into batches, numbers them, keeps up to N in
//! flight, and retries them **in order with the same sequence numbers**, so the broker drops
//! duplicates and nothing is reordered.
//!
//! Invariants:
//! - `unacked` holds every sealed batch not yet acknowledged, in sequence order; the first
//!   `sent` of them have a request in flight (`in_flight`, completing in the same order).
//! - A batch's bytes (and so its sequence) never change once sealed: a retry is byte-identical.
//! - On the first error at the head, every later in-flight result is dropped unread and all
//!   of `unacked` is resent from the head, one at a time until the head succeeds. The broker
//!   answers a batch it already has with its original offset, so "maybe written" is safe.
//! - A non-retriable error halts the partition: the failed batch and everything behind it fail
//!   with that error, and so does every later record, until the owner resets the partition
//!   ([`super::Producer::reset_partition`]). Other partitions are not affected.
//!
//! Resetting a halted partition (what Java's idempotent producer does for a failed batch,
//! adjusting the sequences behind it, instead of dying) must keep the broker's sequence check
//! satisfied. Kafka's rules (storage/.../ProducerAppendInfo.java, `checkSequence`): for the
//! same producer id and epoch a batch is appended only if its first sequence is the one after
//! the partition's last appended sequence; a producer id the partition has no state for is
//! accepted at any sequence. A batch refused by validation (LogValidator: MESSAGE_TOO_LARGE,
//! INVALID_RECORD, INVALID_TIMESTAMP, CORRUPT_MESSAGE) or before the log (KafkaApis:
//! authorization) never reached `ProducerStateManager`, so the broker's last sequence is that
//! of the last batch it acknowledged, and every batch sent behind the refused one was refused
//! as out of order. So a reset restarts numbering at the sequence after the last acknowledged
//! batch (`acked_sequence`). When the refusal was about the producer state itself (sequence or
//! epoch errors, unknown producer id), the broker's view and ours disagree: the partition then
//! continues under a fresh producer id, for which any sequence (we use 0) is accepted, and
//! requests of the old id still in flight can never be appended (their sequences stay behind
//! a gap that nobody fills).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::protocol::BrokerErrorKind;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::batch::{encode_records, rewrite_raw, RawBatch};
use super::identity::{advance_sequence, ProducerIdentity};
use super::locate::locate_batch;
use super::message_limit;
use super::record::{ProduceError, ProducerRecord, RecordMetadata, RecordsMetadata};
use super::ProducerConfig;
use crate::client::{Backoff, Client, Error};
use crate::lock::lock;
use crate::protocol::BrokerError;

pub(super) type RecordReply = oneshot::Sender<Result<RecordMetadata, ProduceError>>;
pub(super) type RecordsReply = oneshot::Sender<Result<RecordsMetadata, ProduceError>>;

/// Messages from the producer handle to a partition worker.
pub(super) enum Input {
    Record {
        record: ProducerRecord,
        permit: OwnedSemaphorePermit,
        reply: RecordReply,
    },
    /// A group of records answered once ([`super::Producer::send_all`]).
    Records {
        records: Vec<ProducerRecord>,
        permit: OwnedSemaphorePermit,
        reply: RecordsReply,
    },
    Raw {
        batch: RawBatch,
        permit: OwnedSemaphorePermit,
        reply: RecordReply,
    },
    Flush(oneshot::Sender<()>),
    /// Lift a halt (a no-op when not halted); answered once the partition accepts records.
    /// Answered with the identity the partition continues with (a fresh one after a
    /// producer-state error).
    Reset(oneshot::Sender<Result<ProducerIdentity, ProduceError>>),
}

enum Reply {
    /// One record at `index` within the batch.
    Record { index: usize, reply: RecordReply },
    /// A pass-through batch: the reply carries its base offset.
    Batch(RecordReply),
    /// The group's records from its `first` on start at `index` within the batch (and run to
    /// the batch's end or the group's end).
    Part {
        index: usize,
        first: usize,
        group: Arc<Mutex<Group>>,
    },
}

/// A group of records spread over one or more batches, answered when its last part is
/// acknowledged. Batches are acknowledged in order, so its runs arrive in order.
struct Group {
    partition: i32,
    len: usize,
    runs: Vec<(usize, i64)>,
    /// Parts not yet acknowledged; all are created before any can be acknowledged.
    parts: usize,
    reply: Option<RecordsReply>,
    /// Buffer memory held until the whole group is acknowledged.
    _permit: OwnedSemaphorePermit,
}

impl Group {
    fn acknowledged(&mut self, first: usize, offset: i64) {
        self.runs.push((first, offset));
        self.parts -= 1;
        if self.parts == 0 {
            if let Some(reply) = self.reply.take() {
                let _ = reply.send(Ok(RecordsMetadata {
                    partition: self.partition,
                    runs: std::mem::take(&mut self.runs),
                    len: self.len,
                }));
            }
        }
    }

    fn fail(&mut self, error: &ProduceError) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Err(error.clone()));
        }
    }
}

struct Sealed {
    bytes: Bytes,
    replies: Vec<Reply>,
    _permits: Vec<OwnedSemaphorePermit>,
    first_sent: Option<Instant>,
}

struct Open {
    records: Vec<ProducerRecord>,
    replies: Vec<Reply>,
    permits: Vec<OwnedSemaphorePermit>,
    bytes: usize,
    since: Instant,
}

pub(super) struct PartitionWorker {
    topic: String,
    partition: i32,
    client: Client,
    config: Arc<ProducerConfig>,
    identity: ProducerIdentity,
    next_sequence: i32,
    /// The sequence after the last acknowledged batch: where numbering restarts after a reset.
    acked_sequence: i32,
    open: Option<Open>,
    unacked: VecDeque<Sealed>,
    sent: usize,
    in_flight: FuturesOrdered<BoxFuture<'static, Result<i64, Error>>>,
    /// Whether the broker acknowledged a batch of this partition under the current producer
    /// id. Until it has, one batch at a time: see [`PartitionWorker::dispatch`].
    identity_acked: bool,
    /// Set while recovering from an error: send one batch at a time, after `resume_at`.
    recovering: Option<Backoff>,
    resume_at: Option<Instant>,
    halted: Option<ProduceError>,
    flush_waiters: Vec<oneshot::Sender<()>>,
    /// One past the last acknowledged offset (-1 until the first acknowledgement); where a
    /// duplicate batch is searched from.
    acked_end: Arc<std::sync::atomic::AtomicI64>,
    /// The topic's max.message.bytes (0: not known), which batches stay within.
    max_message_bytes: Arc<std::sync::atomic::AtomicUsize>,
}

impl PartitionWorker {
    pub(super) fn new(
        topic: String,
        partition: i32,
        client: Client,
        config: Arc<ProducerConfig>,
        identity: ProducerIdentity,
        max_message_bytes: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Self {
        PartitionWorker {
            max_message_bytes,
            topic,
            partition,
            client,
            config,
            identity,
            next_sequence: 0,
            acked_sequence: 0,
            open: None,
            unacked: VecDeque::new(),
            sent: 0,
            in_flight: FuturesOrdered::new(),
            identity_acked: false,
            recovering: None,
            resume_at: None,
            halted: None,
            flush_waiters: Vec::new(),
            acked_end: Arc::new(std::sync::atomic::AtomicI64::new(-1)),
        }
    }

    pub(super) async fn run(mut self, mut input: mpsc::Receiver<Input>) {
        let mut input_open = true;
        loop {
            let flushing = !self.flush_waiters.is_empty() || !input_open;
            self.seal_if_due(flushing);
            self.dispatch();
            if self.open.is_none() && self.unacked.is_empty() {
                for w in self.flush_waiters.drain(..) {
                    let _ = w.send(());
                }
                if !input_open {
                    return;
                }
            }
            let linger_deadline = self.open.as_ref().map(|o| o.since + self.config.linger);
            let resume_at = self.resume_at;
            tokio::select! {
                message = input.recv(), if input_open => match message {
                    Some(Input::Reset(done)) => {
                        let _ = done.send(self.reset().await);
                    }
                    Some(m) => self.accept(m),
                    None => input_open = false,
                },
                Some(result) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.complete_head(result);
                }
                _ = sleep_until(linger_deadline) => {}
                _ = sleep_until(resume_at) => { self.resume_at = None; }
            }
        }
    }

    fn accept(&mut self, message: Input) {
        match message {
            Input::Flush(w) => self.flush_waiters.push(w),
            Input::Reset(done) => {
                // Handled in `run` (it may ask the cluster for a producer id).
                let _ = done.send(Ok(self.identity));
            }
            Input::Record {
                record,
                permit,
                reply,
            } => {
                if let Some(e) = &self.halted {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                let size = record.size_estimate();
                if self.open.as_ref().is_some_and(|o| !self.fits(o, size)) {
                    self.seal();
                }
                let open = self.open.get_or_insert_with(|| Open {
                    records: Vec::new(),
                    replies: Vec::new(),
                    permits: Vec::new(),
                    bytes: 0,
                    since: Instant::now(),
                });
                open.replies.push(Reply::Record {
                    index: open.records.len(),
                    reply,
                });
                open.records.push(record);
                open.permits.push(permit);
                open.bytes += size;
                if open.bytes >= self.config.max_batch_bytes {
                    self.seal();
                }
            }
            Input::Records {
                records,
                permit,
                reply,
            } => {
                if let Some(e) = &self.halted {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                if records.is_empty() {
                    let _ = reply.send(Ok(RecordsMetadata {
                        partition: self.partition,
                        runs: Vec::new(),
                        len: 0,
                    }));
                    return;
                }
                let group = Arc::new(Mutex::new(Group {
                    partition: self.partition,
                    len: records.len(),
                    runs: Vec::new(),
                    parts: 0,
                    reply: Some(reply),
                    _permit: permit,
                }));
                for (first, record) in records.into_iter().enumerate() {
                    let size = record.size_estimate();
                    if self.open.as_ref().is_some_and(|o| !self.fits(o, size)) {
                        self.seal();
                    }
                    let open = self.open.get_or_insert_with(|| Open {
                        records: Vec::new(),
                        replies: Vec::new(),
                        permits: Vec::new(),
                        bytes: 0,
                        since: Instant::now(),
                    });
                    // A new part where the group starts and wherever a batch was sealed under it.
                    let starts_part = first == 0
                        || !matches!(open.replies.last(), Some(Reply::Part { group: g, .. }) if Arc::ptr_eq(g, &group));
                    if starts_part {
                        lock(&group).parts += 1;
                        open.replies.push(Reply::Part {
                            index: open.records.len(),
                            first,
                            group: group.clone(),
                        });
                    }
                    open.records.push(record);
                    open.bytes += size;
                    if open.bytes >= self.config.max_batch_bytes {
                        self.seal();
                    }
                }
            }
            Input::Raw {
                batch,
                permit,
                reply,
            } => {
                if let Some(e) = &self.halted {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                // A pass-through batch travels alone, after whatever was accumulated before it.
                self.seal();
                let sequence = self.next_sequence;
                self.next_sequence = advance_sequence(sequence, batch.offset_count());
                self.unacked.push_back(Sealed {
                    bytes: rewrite_raw(&batch, self.identity, sequence),
                    replies: vec![Reply::Batch(reply)],
                    _permits: vec![permit],
                    first_sent: None,
                });
            }
        }
    }

    fn seal_if_due(&mut self, flushing: bool) {
        let due = self
            .open
            .as_ref()
            .is_some_and(|o| flushing || o.since.elapsed() >= self.config.linger);
        if due {
            self.seal();
        }
    }

    /// Encodes the open batch with the next sequence numbers.
    /// Whether a record of `size` estimated bytes may join the open batch: within the
    /// configured batch size and sure to encode within the topic's max.message.bytes.
    fn fits(&self, open: &Open, size: usize) -> bool {
        let bytes = open.bytes + size;
        bytes <= self.config.max_batch_bytes
            && message_limit::fits(
                self.max_message_bytes
                    .load(std::sync::atomic::Ordering::Relaxed),
                self.config.compression,
                open.records.len() + 1,
                bytes,
            )
    }

    fn seal(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let sequence = self.next_sequence;
        match encode_records(
            &open.records,
            self.config.compression,
            self.identity,
            sequence,
        ) {
            Ok(bytes) => {
                self.next_sequence = advance_sequence(sequence, open.records.len() as i32);
                self.unacked.push_back(Sealed {
                    bytes,
                    replies: open.replies,
                    _permits: open.permits,
                    first_sent: None,
                });
            }
            Err(e) => {
                // Nothing was numbered, so later batches are unaffected: fail just these.
                let error = ProduceError(Arc::new(e));
                for reply in open.replies {
                    reply.fail(&error);
                }
            }
        }
    }

    fn dispatch(&mut self) {
        if self.resume_at.is_some() {
            return;
        }
        // The first batch under a producer id goes alone. Kafka accepts a producer id new to
        // the partition at *any* sequence (ProducerAppendInfo.checkSequence: no current
        // epoch, no check), so a second batch that overtook the first (on another connection)
        // would be appended first and the first refused: records out of order, and copied
        // again after the reset. Once the partition holds state for the id, an overtaking
        // batch is refused as out of order instead (a halt and a reset, nothing appended).
        let limit = if self.recovering.is_some() || !self.identity_acked {
            1
        } else {
            self.config.max_in_flight_per_partition
        };
        while self.sent < self.unacked.len() && self.in_flight.len() < limit {
            let batch = &mut self.unacked[self.sent];
            batch.first_sent.get_or_insert_with(Instant::now);
            let request = produce_request(
                &self.topic,
                self.partition,
                batch.bytes.clone(),
                self.config.produce_timeout,
            );
            let client = self.client.clone();
            let topic = self.topic.clone();
            let partition = self.partition;
            let acked_end = self.acked_end.clone();
            let identity = self.identity;
            let base_sequence = batch_base_sequence(&batch.bytes);
            self.in_flight.push_back(Box::pin(async move {
                let result = send(&client, &topic, partition, request).await;
                // Did an earlier attempt of this batch land? Kafka answers a duplicate with its
                // original offset; other brokers answer DUPLICATE_SEQUENCE_NUMBER, an offset of
                // -1, or OUT_OF_ORDER_SEQUENCE_NUMBER (when they only remember the last batch).
                // The log itself is the authority: look the batch up.
                let ambiguous = match &result {
                    Ok(-1) => true,
                    Err(Error::Broker(e)) => {
                        matches!(
                            e.kind(),
                            BrokerErrorKind::DuplicateSequenceNumber
                                | BrokerErrorKind::OutOfOrderSequenceNumber
                        )
                    }
                    _ => false,
                };
                if !ambiguous {
                    return result;
                }
                let from = acked_end.load(std::sync::atomic::Ordering::Relaxed);
                match locate_batch(&client, &topic, partition, from, identity, base_sequence).await
                {
                    Ok(Some(offset)) => Ok(offset),
                    Ok(None) => match result {
                        Ok(_) => Err(Error::protocol(
                            "Produce",
                            "",
                            format!(
                                "the broker acknowledged a batch on {topic}-{partition} without \
                                 an offset, and the batch is not in the log"
                            ),
                        )),
                        err => err,
                    },
                    Err(lookup) => {
                        tracing::debug!(%lookup, "cannot look up a possibly duplicated batch");
                        // Unknown either way: retry the batch (the broker dedups it).
                        Err(Error::Connection(
                            crate::connection::ConnectionError::Closed {
                                broker: format!("leader of {topic}-{partition}"),
                                reason: Some(format!("duplicate lookup failed: {lookup}")),
                            },
                        ))
                    }
                }
            }));
            self.sent += 1;
        }
    }

    fn complete_head(&mut self, result: Result<i64, Error>) {
        self.sent -= 1;
        match result {
            Ok(base_offset) => {
                self.recovering = None;
                self.identity_acked = true;
                if let Some(batch) = self.unacked.pop_front() {
                    let span = batch_offset_span(&batch.bytes);
                    self.acked_end
                        .store(base_offset + span, std::sync::atomic::Ordering::Relaxed);
                    self.acked_sequence =
                        advance_sequence(batch_base_sequence(&batch.bytes), span as i32);
                    deliver(batch, base_offset, self.partition);
                }
            }
            Err(e) if self.retriable(&e) => {
                tracing::debug!(topic = %self.topic, partition = self.partition, error = %e, "produce failed; resending unacknowledged batches in order");
                if e.invalidates_metadata() {
                    self.client.invalidate_topic(&self.topic);
                }
                // Results behind the head are meaningless now; resend everything from the head.
                self.in_flight = FuturesOrdered::new();
                self.sent = 0;
                let backoff = self
                    .recovering
                    .get_or_insert_with(|| self.client.retry_policy().backoff());
                self.resume_at = Some(Instant::now() + backoff.next_wait());
            }
            Err(e) => self.halt(e),
        }
    }

    fn retriable(&self, e: &Error) -> bool {
        let within_deadline = match (self.client.retry_policy().deadline, self.unacked.front()) {
            (Some(deadline), Some(head)) => head.first_sent.is_none_or(|t| t.elapsed() < deadline),
            _ => true,
        };
        // OUT_OF_ORDER_SEQUENCE_NUMBER at the head is only benign while recovering (an earlier
        // attempt of an earlier batch may still be landing); otherwise the broker lost state.
        let out_of_order_benign = matches!(e, Error::Broker(b) if b.kind() == BrokerErrorKind::OutOfOrderSequenceNumber)
            && self.recovering.is_some();
        within_deadline && (e.is_retriable() || out_of_order_benign)
    }

    fn halt(&mut self, error: Error) {
        // Every record concerned fails with the error: the owner reports it (once, with what
        // it means), and decides whether to reset the partition.
        tracing::debug!(topic = %self.topic, partition = self.partition, %error, "partition halted");
        let error = ProduceError(Arc::new(error));
        self.in_flight = FuturesOrdered::new();
        self.sent = 0;
        for batch in self.unacked.drain(..) {
            for reply in batch.replies {
                reply.fail(&error);
            }
        }
        if let Some(open) = self.open.take() {
            for reply in open.replies {
                reply.fail(&error);
            }
        }
        self.halted = Some(error);
    }
}

impl PartitionWorker {
    /// Lifts a halt so the partition accepts records again (see the module comment for the
    /// sequence it continues at). Nothing is in flight while halted.
    async fn reset(&mut self) -> Result<ProducerIdentity, ProduceError> {
        let Some(error) = self.halted.take() else {
            return Ok(self.identity);
        };
        if is_producer_state_error(&error.0) {
            match ProducerIdentity::init(&self.client).await {
                Ok(identity) => {
                    self.identity = identity;
                    self.acked_sequence = 0;
                    self.identity_acked = false;
                }
                Err(e) => {
                    // Still halted, with the original error: the owner tries again later.
                    self.halted = Some(error);
                    return Err(ProduceError(Arc::new(e)));
                }
            }
        }
        self.next_sequence = self.acked_sequence;
        self.recovering = None;
        self.resume_at = None;
        tracing::info!(topic = %self.topic, partition = self.partition, sequence = self.next_sequence,
            producer_id = self.identity.producer_id, "partition reset after a halt");
        Ok(self.identity)
    }
}

/// Errors that say the broker's producer state for the partition disagrees with ours.
fn is_producer_state_error(error: &Error) -> bool {
    matches!(error, Error::Broker(b) if matches!(
        b.kind(),
        BrokerErrorKind::OutOfOrderSequenceNumber
            | BrokerErrorKind::DuplicateSequenceNumber
            | BrokerErrorKind::InvalidProducerEpoch
            | BrokerErrorKind::ProducerFenced
            | BrokerErrorKind::UnknownProducerId
            | BrokerErrorKind::InvalidProducerIdMapping
    ))
}

impl Reply {
    fn fail(self, error: &ProduceError) {
        match self {
            Reply::Record { reply, .. } | Reply::Batch(reply) => {
                let _ = reply.send(Err(error.clone()));
            }
            Reply::Part { group, .. } => lock(&group).fail(error),
        }
    }
}

fn deliver(batch: Sealed, base_offset: i64, partition: i32) {
    let at = |index: usize| {
        if base_offset >= 0 {
            base_offset + index as i64
        } else {
            base_offset
        }
    };
    for reply in batch.replies {
        match reply {
            Reply::Record { index, reply } => {
                let offset = at(index);
                let _ = reply.send(Ok(RecordMetadata { partition, offset }));
            }
            Reply::Batch(reply) => {
                let _ = reply.send(Ok(RecordMetadata {
                    partition,
                    offset: base_offset,
                }));
            }
            Reply::Part {
                index,
                first,
                group,
            } => lock(&group).acknowledged(first, at(index)),
        }
    }
}

/// Base sequence of an encoded batch (header bytes 53..57).
fn batch_base_sequence(batch: &Bytes) -> i32 {
    batch
        .get(53..57)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(-1)
}

/// Offsets a batch spans: last offset delta (header bytes 23..27) + 1.
fn batch_offset_span(batch: &Bytes) -> i64 {
    batch
        .get(23..27)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64 + 1)
        .unwrap_or(1)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn produce_request(
    topic: &str,
    partition: i32,
    records: Bytes,
    timeout: Duration,
) -> ProduceRequest {
    ProduceRequest::default()
        .with_transactional_id(None)
        .with_acks(-1)
        .with_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

/// Sends one Produce request to the partition's current leader; returns the base offset.
async fn send(
    client: &Client,
    topic: &str,
    partition: i32,
    request: ProduceRequest,
) -> Result<i64, Error> {
    let conn = client.leader(topic, partition).await?;
    // A failed request broke its connection, failing everything else in flight on it; the
    // pool replaces it on next use. Forgetting it here by address could take a successor, with
    // requests of other partitions in flight on it, out of the pool while it stays live.
    let response = conn.request(&request).await?;
    // Honour the broker's quota: nothing more is sent to this broker until it passed.
    conn.throttle(response.throttle_time_ms);
    client.note_throttle(response.throttle_time_ms);
    let p = response
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition)
        .ok_or_else(|| {
            Error::protocol(
                "Produce",
                conn.broker(),
                format!("no result for {topic}-{partition}"),
            )
        })?;
    if let Some(e) = BrokerError::from_code("Produce", p.error_code) {
        let detail = p
            .record_errors
            .iter()
            .filter_map(|r| {
                r.batch_index_error_message
                    .as_ref()
                    .map(|m| format!("record {}: {}", r.batch_index, m.as_str()))
            })
            .chain(p.error_message.as_ref().map(|m| m.to_string()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(e
            .with_broker(conn.broker())
            .with_partition(topic, partition)
            .with_message(Some(detail))
            .into());
    }
    Ok(p.base_offset)
}
