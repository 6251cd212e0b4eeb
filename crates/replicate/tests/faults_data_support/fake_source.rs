//! A fake source cluster for data faults a real broker cannot be made to show on demand: a
//! batch with a bad CRC stored in the log, records removed by retention before the replicator
//! read them (Tansu cannot delete records), malformed or cut response frames.
//!
//! It holds one topic in memory, each partition a list of record batches, and answers what the
//! replicator asks a source for its data: Metadata, ApiVersions and DescribeCluster (the fake
//! broker's defaults), ListOffsets (earliest = log start, latest = end) and Fetch (whole batches
//! from the one holding the fetch offset, with the aborted transactions for read_committed;
//! OFFSET_OUT_OF_RANGE below the log start). Topic
//! configs and ACLs are not served: tests using it turn their copy off.
//!
//! Every record's content is a function of its partition and offset ([`FakeSource::expected`]),
//! so a test can check the target against what the source held, byte for byte.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, ProducerId,
    RequestHeader, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::Encodable;
use kreplicate_codec::{Compression, ControlKind, ControlRecord, Header, RecordBatchBuilder};
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};

const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// ListOffsets timestamps.
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;
/// How long a fetch with nothing to return waits (bounded well below the client's max_wait,
/// since the fake answers one request per connection at a time).
const EMPTY_FETCH_WAIT: Duration = Duration::from_millis(50);

/// What a record at `offset` of `partition` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRecord {
    pub key: Bytes,
    pub value: Bytes,
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

/// A broken answer to one Fetch of a partition (instead of its data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// A frame with a valid length and correlation id whose body is garbage bytes.
    Garbage,
    /// The first half of the real response's body, in a frame of that length.
    TruncatedBody,
    /// A frame of 2 bytes: shorter than the response header.
    ShorterThanHeader,
    /// A negative frame length.
    NegativeLength,
    /// A length prefix announcing 1000 bytes, 20 bytes of them, then the connection closes at
    /// the next request.
    CutThenClose,
}

#[derive(Debug, Default)]
struct PartitionLog {
    log_start: i64,
    /// `(base offset, batch bytes)`, in offset order, contiguous.
    batches: Vec<(i64, Bytes)>,
    end: i64,
    /// Fetches get no records while paused (the replicator lags behind).
    paused: bool,
    /// `(producer id, first offset, last offset)` of aborted transactions, for read_committed
    /// fetches.
    aborted: Vec<(i64, i64, i64)>,
    faults: VecDeque<FrameFault>,
}

#[derive(Debug, Default)]
struct State {
    topic: String,
    partitions: Vec<PartitionLog>,
    /// Close the next request, whatever it is (after [`FrameFault::CutThenClose`]).
    close_next: bool,
    /// Faults sent so far.
    faults_sent: Vec<(i32, FrameFault)>,
    /// Requests the fake does not serve (api key), to fail tests that rely on them.
    unserved: Vec<i16>,
}

/// A running fake source cluster.
pub struct FakeSource {
    broker: FakeBroker,
    state: Arc<Mutex<State>>,
    cluster_id: String,
}

impl FakeSource {
    /// A source cluster `cluster_id` with one topic of `partitions` empty partitions.
    pub fn start(cluster_id: &str, topic: &str, partitions: i32) -> FakeSource {
        let state = Arc::new(Mutex::new(State {
            topic: topic.to_string(),
            partitions: (0..partitions).map(|_| PartitionLog::default()).collect(),
            ..State::default()
        }));
        let options = FakeBrokerOptions {
            cluster_id: cluster_id.to_string(),
            topics: vec![FakeTopic::new(topic, partitions)],
            ..FakeBrokerOptions::default()
        };
        let handler_state = state.clone();
        let broker = FakeBroker::start_with(options, move |header, request| {
            answer(&mut lock(&handler_state), header, request)
        })
        .expect("fake source broker");
        FakeSource {
            broker,
            state,
            cluster_id: cluster_id.to_string(),
        }
    }

    pub fn addr(&self) -> String {
        self.broker.addr()
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// What the record at `offset` of `partition` holds (whether or not it exists).
    pub fn expected(partition: i32, offset: i64) -> ExpectedRecord {
        ExpectedRecord {
            key: Bytes::from(format!("p{partition}-k{offset}")),
            value: Bytes::from(format!("p{partition}-value-{offset:08}-{}", "v".repeat(32))),
            timestamp: 1_700_000_000_000 + offset,
            headers: vec![Header::new(
                "origin-offset",
                Some(Bytes::from(offset.to_string())),
            )],
        }
    }

    /// Appends one batch of `count` records to `partition`; returns its offsets.
    pub fn append(&self, partition: i32, count: usize) -> Range<i64> {
        self.append_batch(partition, count, false)
    }

    /// Appends one batch of `count` records whose stored CRC does not match its content.
    pub fn append_corrupt(&self, partition: i32, count: usize) -> Range<i64> {
        self.append_batch(partition, count, true)
    }

    /// Appends a legacy message set (magic 0 or 1, uncompressed) of `count` records: the
    /// expected keys and values, no headers (the format has none), and for magic 1 the expected
    /// timestamps.
    /// Appends one transactional batch of `count` records from `producer_id`, then its COMMIT
    /// (`commit`) or ABORT marker; returns the records' offsets. An aborted transaction is
    /// listed in read_committed fetches, as Kafka lists it (FetchResponse AbortedTransactions).
    #[allow(dead_code)] // used by read_committed_fake.rs, not by faults_data.rs
    pub fn append_transaction(
        &self,
        partition: i32,
        count: usize,
        producer_id: i64,
        commit: bool,
    ) -> Range<i64> {
        let mut state = lock(&self.state);
        let log = &mut state.partitions[partition as usize];
        let base = log.end;
        let mut builder = RecordBatchBuilder::new(Compression::Lz4);
        builder
            .base_offset(base)
            .producer(producer_id, 0, 0)
            .transactional(true);
        for offset in base..base + count as i64 {
            let r = Self::expected(partition, offset);
            builder
                .push(r.timestamp, Some(&r.key), Some(&r.value), &r.headers)
                .expect("a small record fits a batch");
        }
        log.batches
            .push((base, builder.build().expect("transactional batch")));
        let marker_offset = base + count as i64;
        let marker = ControlRecord {
            kind: if commit {
                ControlKind::Commit
            } else {
                ControlKind::Abort
            },
            coordinator_epoch: 0,
        };
        let mut control = RecordBatchBuilder::new(Compression::None);
        control
            .base_offset(marker_offset)
            .producer(producer_id, 0, -1)
            .transactional(true)
            .control(true);
        control
            .push(
                1_700_000_000_000 + marker_offset,
                Some(&marker.encode_key()),
                Some(&marker.encode_value()),
                &[],
            )
            .expect("a marker");
        log.batches
            .push((marker_offset, control.build().expect("control batch")));
        if !commit {
            log.aborted.push((producer_id, base, marker_offset - 1));
        }
        log.end = marker_offset + 1;
        base..marker_offset
    }

    #[allow(dead_code)] // used by pass_through_batches.rs, not by faults_data.rs
    pub fn append_legacy(&self, partition: i32, count: usize, magic: i8) -> Range<i64> {
        let mut state = lock(&self.state);
        let log = &mut state.partitions[partition as usize];
        let base = log.end;
        let mut set = BytesMut::new();
        for offset in base..base + count as i64 {
            let r = Self::expected(partition, offset);
            // crc u32 | magic i8 | attributes i8 | [timestamp i64] | key | value
            let mut body = BytesMut::new();
            body.put_i8(magic);
            body.put_i8(0);
            if magic == 1 {
                body.put_i64(r.timestamp);
            }
            for field in [&r.key, &r.value] {
                body.put_i32(field.len() as i32);
                body.put_slice(field);
            }
            let mut crc = flate2::Crc::new();
            crc.update(&body);
            set.put_i64(offset);
            set.put_i32(4 + body.len() as i32);
            set.put_u32(crc.sum());
            set.put_slice(&body);
        }
        log.batches.push((base, set.freeze()));
        log.end = base + count as i64;
        base..log.end
    }

    fn append_batch(&self, partition: i32, count: usize, corrupt: bool) -> Range<i64> {
        let mut state = lock(&self.state);
        let log = &mut state.partitions[partition as usize];
        let base = log.end;
        let mut builder = RecordBatchBuilder::new(Compression::None);
        builder.base_offset(base);
        for offset in base..base + count as i64 {
            let r = Self::expected(partition, offset);
            builder
                .push(r.timestamp, Some(&r.key), Some(&r.value), &r.headers)
                .expect("a small record fits a batch");
        }
        let mut bytes = builder.build().expect("batch").to_vec();
        if corrupt {
            // The last byte is inside the CRC-covered records section.
            let last = bytes.len() - 1;
            bytes[last] ^= 0x55;
        }
        log.batches.push((base, Bytes::from(bytes)));
        log.end = base + count as i64;
        base..log.end
    }

    /// Retention: removes every batch that ends before `offset` (a batch boundary) and moves
    /// the log start there.
    pub fn delete_before(&self, partition: i32, offset: i64) {
        let mut state = lock(&self.state);
        let log = &mut state.partitions[partition as usize];
        assert!(
            offset == log.end || log.batches.iter().any(|(base, _)| *base == offset),
            "{offset} is not a batch boundary"
        );
        log.batches.retain(|(base, _)| *base >= offset);
        log.log_start = offset;
    }

    /// While paused, fetches of `partition` return no records (as if the replicator lagged).
    pub fn pause(&self, partition: i32, paused: bool) {
        lock(&self.state).partitions[partition as usize].paused = paused;
    }

    /// The next fetches of `partition` are answered with these faults, one each, in order.
    pub fn inject(&self, partition: i32, faults: &[FrameFault]) {
        lock(&self.state).partitions[partition as usize]
            .faults
            .extend(faults.iter().copied());
    }

    /// Faults sent so far, in order.
    pub fn faults_sent(&self) -> Vec<(i32, FrameFault)> {
        lock(&self.state).faults_sent.clone()
    }

    /// API keys of requests the fake did not serve (it closed the connection on them).
    pub fn unserved(&self) -> Vec<i16> {
        lock(&self.state).unserved.clone()
    }
}

use kreplicate_testkit::lock::lock;

fn answer(state: &mut State, header: &RequestHeader, request: RequestKind) -> FakeReply {
    if std::mem::take(&mut state.close_next) {
        return FakeReply::Close;
    }
    match request {
        RequestKind::Fetch(req) => fetch(state, header, &req),
        RequestKind::ListOffsets(req) => {
            FakeReply::Respond(ResponseKind::ListOffsets(list_offsets(state, &req)))
        }
        RequestKind::ApiVersions(_)
        | RequestKind::Metadata(_)
        | RequestKind::DescribeCluster(_)
        | RequestKind::FindCoordinator(_) => FakeReply::Default,
        _ => {
            state.unserved.push(header.request_api_key);
            FakeReply::Close
        }
    }
}

fn list_offsets(state: &State, req: &ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let response = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match partition_log(state, &t.name, p.partition_index) {
                        None => response.with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                        Some(log) => match p.timestamp {
                            EARLIEST => response.with_offset(log.log_start),
                            LATEST => response.with_offset(log.end),
                            // Timestamp search is not modelled: "no such record".
                            _ => response.with_offset(-1).with_timestamp(-1),
                        },
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

fn partition_log<'a>(
    state: &'a State,
    topic: &TopicName,
    partition: i32,
) -> Option<&'a PartitionLog> {
    if topic.0.as_str() != state.topic {
        return None;
    }
    usize::try_from(partition)
        .ok()
        .and_then(|p| state.partitions.get(p))
}

fn fetch(state: &mut State, header: &RequestHeader, req: &FetchRequest) -> FakeReply {
    // A scripted fault for any partition asked for replaces the whole answer.
    for t in &req.topics {
        for p in &t.partitions {
            let fault = match partition_log(state, &t.topic, p.partition) {
                Some(_) => state.partitions[p.partition as usize].faults.pop_front(),
                None => None,
            };
            if let Some(fault) = fault {
                state.faults_sent.push((p.partition, fault));
                return fault_reply(state, header, fetch_response(state, req), fault);
            }
        }
    }
    let response = fetch_response(state, req);
    let empty = response.responses.iter().all(|t| {
        t.partitions
            .iter()
            .all(|p| p.records.as_ref().is_none_or(Bytes::is_empty))
    });
    let reply = FakeReply::Respond(ResponseKind::Fetch(response));
    if empty {
        // Long polling, shortened: nothing new to return.
        FakeReply::Delay(EMPTY_FETCH_WAIT, Box::new(reply))
    } else {
        reply
    }
}

fn fetch_response(state: &State, req: &FetchRequest) -> FetchResponse {
    let responses = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let data = PartitionData::default().with_partition_index(p.partition);
                    let Some(log) = partition_log(state, &t.topic, p.partition) else {
                        return data.with_error_code(UNKNOWN_TOPIC_OR_PARTITION);
                    };
                    let data = data
                        .with_high_watermark(log.end)
                        .with_last_stable_offset(log.end)
                        .with_log_start_offset(log.log_start);
                    if p.fetch_offset < log.log_start || p.fetch_offset > log.end {
                        return data.with_error_code(OFFSET_OUT_OF_RANGE);
                    }
                    if log.paused {
                        return data.with_records(Some(Bytes::new()));
                    }
                    // Whole batches from the one holding the fetch offset, at least one, then
                    // up to the partition's byte limit.
                    let limit = usize::try_from(p.partition_max_bytes).unwrap_or(0);
                    let mut records = BytesMut::new();
                    for (base, bytes) in &log.batches {
                        let next = log
                            .batches
                            .iter()
                            .find(|(b, _)| b > base)
                            .map_or(log.end, |(b, _)| *b);
                        if next <= p.fetch_offset {
                            continue;
                        }
                        if !records.is_empty() && records.len() + bytes.len() > limit {
                            break;
                        }
                        records.put_slice(bytes);
                    }
                    let data = data.with_records(Some(records.freeze()));
                    // read_committed: the aborted transactions the returned range may hold
                    // (Kafka: those ending at or after the fetch offset).
                    let aborted: Vec<AbortedTransaction> = log
                        .aborted
                        .iter()
                        .filter(|(_, _, last)| req.isolation_level == 1 && *last >= p.fetch_offset)
                        .map(|(producer_id, first, _)| {
                            AbortedTransaction::default()
                                .with_producer_id(ProducerId(*producer_id))
                                .with_first_offset(*first)
                        })
                        .collect();
                    if aborted.is_empty() {
                        data
                    } else {
                        data.with_aborted_transactions(Some(aborted))
                    }
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    FetchResponse::default().with_responses(responses)
}

fn fault_reply(
    state: &mut State,
    header: &RequestHeader,
    response: FetchResponse,
    fault: FrameFault,
) -> FakeReply {
    match fault {
        FrameFault::Garbage => FakeReply::RespondRaw(Bytes::from_static(&[0xff; 7])),
        FrameFault::TruncatedBody => {
            let mut body = BytesMut::new();
            // Fetch v12+ responses use the flexible response header: an empty tagged-field
            // section after the correlation id.
            if header.request_api_version >= 12 {
                body.put_u8(0);
            }
            response
                .encode(&mut body, header.request_api_version)
                .expect("encode the fetch response");
            let half = body.len() / 2;
            FakeReply::RespondRaw(body.freeze().slice(..half))
        }
        FrameFault::ShorterThanHeader => {
            FakeReply::WriteRaw(Bytes::from_static(&[0, 0, 0, 2, 0xab, 0xcd]))
        }
        FrameFault::NegativeLength => {
            FakeReply::WriteRaw(Bytes::from_static(&[0xff, 0xff, 0xff, 0xf0]))
        }
        FrameFault::CutThenClose => {
            state.close_next = true;
            let mut frame = BytesMut::new();
            frame.put_i32(1000);
            frame.put_i32(header.correlation_id);
            frame.put_slice(&[0u8; 16]);
            FakeReply::WriteRaw(frame.freeze())
        }
    }
}

/// Source offsets `range` of `partition` as the target should hold them, in order.
pub fn expected_range(partition: i32, range: Range<i64>) -> Vec<(i64, ExpectedRecord)> {
    range
        .map(|o| (o, FakeSource::expected(partition, o)))
        .collect()
}
