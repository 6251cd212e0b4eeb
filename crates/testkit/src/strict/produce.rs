//! Produce through the layer: each partition is checked as Kafka's broker checks it, in
//! Kafka's order (KafkaApis.handleProduceRequest, then UnifiedLog.analyzeAndValidateRecords,
//! LogValidator, UnifiedLog.analyzeAndValidateProducerState). Passing partitions are forwarded
//! (possibly rewritten), refused ones answered here, and the two answers merged in request order.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::batch::{BatchError, RawBatch};
use super::config_cache::Lookup;
use super::producer_state::SequenceCheck;
use super::reencode::{needs_reencoding, reencode};
use super::refusals::Rule;
use super::topic_config::TopicConfig;
use super::StrictState;

type Partition = (String, i32);

/// What to forward and what to answer locally for one Produce request.
#[derive(Debug, Default)]
pub(crate) struct ProducePlan {
    /// The passing partitions, `None` if every partition was answered here.
    pub(crate) forward: Option<ProduceRequest>,
    local: HashMap<Partition, PartitionProduceResponse>,
    order: Vec<(TopicName, Vec<i32>)>,
    tickets: HashMap<Partition, u64>,
    append_time: HashMap<Partition, i64>,
}

/// A partition's verdict.
enum Verdict {
    Forward {
        records: Bytes,
        ticket: Option<u64>,
        append_time: Option<i64>,
    },
    Answer(PartitionProduceResponse),
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn refused(index: i32, error: ResponseError, message: String) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(Some(StrBytes::from_string(message)))
}

pub(crate) async fn plan(state: &StrictState, request: ProduceRequest) -> ProducePlan {
    let mut plan = ProducePlan::default();
    let txn_without_id = request.transactional_id.is_none()
        && request.topic_data.iter().any(|t| {
            t.partition_data.iter().any(|p| {
                p.records
                    .as_ref()
                    .and_then(|r| RawBatch::single(r).ok())
                    .is_some_and(|b| b.is_transactional())
            })
        });
    let mut forwarded: Vec<TopicProduceData> = Vec::new();
    for topic in request.topic_data.iter() {
        let name = topic.name.to_string();
        plan.order.push((
            topic.name.clone(),
            topic.partition_data.iter().map(|p| p.index).collect(),
        ));
        let denied = state.rules.is_denied(&name);
        let mut lookup = if txn_without_id || denied {
            Lookup::Unavailable
        } else {
            state.configs.get(&state.upstream, &name).await
        };
        // A partition beyond the known count: ask again before refusing it.
        let highest = topic
            .partition_data
            .iter()
            .map(|p| p.index)
            .max()
            .unwrap_or(0);
        if matches!(&lookup, Lookup::Known(info) if highest >= info.partitions) {
            lookup = state.configs.refresh(&state.upstream, &name).await;
        }
        let (config, partitions) = match &lookup {
            Lookup::Known(info) => (info.config.clone(), Some(info.partitions)),
            Lookup::Unknown => (TopicConfig::default(), Some(0)),
            Lookup::Unavailable => (TopicConfig::default(), None),
        };
        let mut passing = Vec::new();
        for partition in &topic.partition_data {
            let key = (name.clone(), partition.index);
            let exists = partitions.is_none_or(|n| (0..n).contains(&partition.index));
            let verdict = if txn_without_id {
                // KafkaApis.handleProduceRequest: a transactional batch needs a (authorized)
                // transactional id; the whole request gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
                state.refusals.add(Rule::TransactionalIdAuthorization);
                Verdict::Answer(refused(
                    partition.index,
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "Transactional Id authorization failed.".into(),
                ))
            } else if denied {
                // KafkaApis.handleProduceRequest: filterByAuthorized(WRITE, TOPIC).
                state.refusals.add(Rule::TopicAuthorization);
                Verdict::Answer(refused(
                    partition.index,
                    ResponseError::TopicAuthorizationFailed,
                    format!("Not authorized to access topics: [{name}]"),
                ))
            } else if !exists {
                // KafkaApis.handleProduceRequest: `!metadataCache.contains(topicPartition)`;
                // Produce never creates a topic (Tansu stores it without listing the topic).
                state.refusals.add(Rule::UnknownTopicOrPartition);
                Verdict::Answer(refused(
                    partition.index,
                    ResponseError::UnknownTopicOrPartition,
                    "This server does not host this topic-partition.".into(),
                ))
            } else {
                check_partition(state, &name, partition, &config)
            };
            match verdict {
                Verdict::Answer(r) => {
                    plan.local.insert(key, r);
                }
                Verdict::Forward {
                    records,
                    ticket,
                    append_time,
                } => {
                    if let Some(t) = ticket {
                        plan.tickets.insert(key.clone(), t);
                    }
                    if let Some(t) = append_time {
                        plan.append_time.insert(key, t);
                    }
                    passing.push(
                        PartitionProduceData::default()
                            .with_index(partition.index)
                            .with_records(Some(records)),
                    );
                }
            }
        }
        if !passing.is_empty() {
            forwarded.push(
                TopicProduceData::default()
                    .with_name(topic.name.clone())
                    .with_topic_id(topic.topic_id)
                    .with_partition_data(passing),
            );
        }
    }
    if !forwarded.is_empty() {
        plan.forward = Some(
            ProduceRequest::default()
                .with_transactional_id(request.transactional_id.clone())
                .with_acks(request.acks)
                .with_timeout_ms(request.timeout_ms)
                .with_topic_data(forwarded),
        );
    }
    plan
}

fn batch_error(state: &StrictState, index: i32, e: BatchError) -> Verdict {
    state.refusals.add(Rule::CorruptOrInvalidRecord);
    Verdict::Answer(refused(index, e.error(), e.to_string()))
}

fn check_partition(
    state: &StrictState,
    topic: &str,
    partition: &PartitionProduceData,
    config: &TopicConfig,
) -> Verdict {
    let index = partition.index;
    let records = partition.records.clone().unwrap_or_default();
    // ProduceRequest.validateRecords: exactly one v2 batch.
    let batch = match RawBatch::single(&records) {
        Ok(b) => b,
        Err(e) => return batch_error(state, index, e),
    };
    // UnifiedLog.analyzeAndValidateRecords: "The record batch size in the append to ... is
    // ... bytes which exceeds the maximum configured value of ..." (RecordTooLargeException).
    if batch.size() as i64 > config.max_message_bytes {
        state.refusals.add(Rule::MessageTooLarge);
        return Verdict::Answer(refused(
            index,
            ResponseError::MessageTooLarge,
            format!(
                "The record batch size in the append to {topic}-{index} is {} bytes which exceeds the maximum configured value of {}.",
                batch.size(),
                config.max_message_bytes
            ),
        ));
    }
    // UnifiedLog.analyzeAndValidateRecords: `batch.isValid` (CorruptRecordException).
    if let Err(e) = batch.verify_crc() {
        return batch_error(state, index, e);
    }
    // LogValidator.validateBatch: offset range and count agree, no control batch.
    if let Err(e) = batch.validate_client_batch() {
        return batch_error(state, index, e);
    }
    let decoded = match batch.decode() {
        Ok(r) => r,
        Err(e) => return batch_error(state, index, e),
    };
    if let Some(answer) = validate_records(state, topic, index, &batch, &decoded, config) {
        return Verdict::Answer(answer);
    }
    let mut stored = batch.clone();
    let offsets: Vec<i64> = decoded.iter().map(|r| r.offset).collect();
    if !batch.is_control() && needs_reencoding(&batch, &offsets, batch.base_offset()) {
        let max_timestamp = decoded.iter().map(|r| r.timestamp).max().unwrap_or(-1);
        stored = match reencode(&batch, max_timestamp) {
            Ok(b) => b,
            Err(e) => return batch_error(state, index, e),
        };
        state.refusals.add(Rule::Reencoded);
        // UnifiedLog.append: sizes are checked again when validation may have changed them.
        if stored.size() as i64 > config.max_message_bytes {
            state.refusals.add(Rule::MessageTooLarge);
            return Verdict::Answer(refused(
                index,
                ResponseError::MessageTooLarge,
                format!(
                    "Message batch size is {} bytes in append topartition {topic}-{index} which exceeds the maximum configured size of {}.",
                    stored.size(),
                    config.max_message_bytes
                ),
            ));
        }
    }
    let mut append_time = None;
    if config.log_append_time {
        // LogValidator: LOG_APPEND_TIME topics get `setMaxTimestamp(LOG_APPEND_TIME, now)`.
        let now = now_ms();
        stored = stored.with_log_append_time(now);
        append_time = Some(now);
        state.refusals.add(Rule::LogAppendTime);
    }
    let mut ticket = None;
    if batch.producer_id() >= 0 && !batch.is_control() {
        match state.producers.check(
            topic,
            index,
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
            batch.last_sequence(),
        ) {
            SequenceCheck::Append(t) => ticket = Some(t),
            SequenceCheck::Duplicate(offset) => {
                state.refusals.add(Rule::DuplicateSequence);
                return Verdict::Answer(
                    PartitionProduceResponse::default()
                        .with_index(index)
                        .with_base_offset(offset)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(-1),
                );
            }
            SequenceCheck::Refused(error) => {
                let rule = if error == ResponseError::InvalidProducerEpoch {
                    Rule::InvalidProducerEpoch
                } else {
                    Rule::OutOfOrderSequence
                };
                state.refusals.add(rule);
                return Verdict::Answer(refused(
                    index,
                    error,
                    format!(
                        "{error} for producer {} epoch {} at sequence {} in {topic}-{index}",
                        batch.producer_id(),
                        batch.producer_epoch(),
                        batch.base_sequence()
                    ),
                ));
            }
        }
    }
    Verdict::Forward {
        records: stored.bytes().clone(),
        ticket,
        append_time,
    }
}

/// LogValidator.validateRecord: a key on compacted topics (validateKey), timestamps within
/// before/after.max.ms on CreateTime topics and no producer-set LogAppendTime
/// (validateTimestamp); every record's error is listed, as processRecordErrors throws them.
fn validate_records(
    state: &StrictState,
    topic: &str,
    index: i32,
    batch: &RawBatch,
    records: &[kafka_protocol::records::Record],
    config: &TopicConfig,
) -> Option<PartitionProduceResponse> {
    if batch.is_control() {
        return None;
    }
    let now = now_ms();
    let mut errors = Vec::new();
    let mut timestamp_error = false;
    for (i, record) in records.iter().enumerate() {
        let message = if config.compacted && record.key.is_none() {
            format!("Compacted topic cannot accept message without key in topic partition {topic}-{index}")
        } else if !config.log_append_time && record.timestamp != -1 {
            let diff = now.saturating_sub(record.timestamp);
            if diff > config.timestamp_before_max_ms
                || diff.saturating_neg() > config.timestamp_after_max_ms
            {
                timestamp_error = true;
                format!(
                    "Timestamp {} of message with offset {} is out of range. The timestamp should be within [{}, {}]",
                    record.timestamp,
                    record.offset,
                    now.saturating_sub(config.timestamp_before_max_ms),
                    now.saturating_add(config.timestamp_after_max_ms)
                )
            } else {
                continue;
            }
        } else if config.log_append_time && batch.is_log_append_time() {
            timestamp_error = true;
            "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".to_string()
        } else {
            continue;
        };
        errors.push(
            BatchIndexAndErrorMessage::default()
                .with_batch_index(i as i32)
                .with_batch_index_error_message(Some(StrBytes::from_string(message))),
        );
    }
    if errors.is_empty() {
        return None;
    }
    let (error, message) = if timestamp_error {
        state.refusals.add(Rule::InvalidTimestamp);
        (
            ResponseError::InvalidTimestamp,
            "One or more records have been rejected due to invalid timestamp".to_string(),
        )
    } else {
        state.refusals.add(Rule::CompactedWithoutKey);
        (
            ResponseError::InvalidRecord,
            format!(
                "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: {:?}",
                errors.len(),
                errors
                    .iter()
                    .take(3)
                    .map(|e| e.batch_index_error_message.as_deref().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            ),
        )
    };
    Some(refused(index, error, message).with_record_errors(errors))
}

/// The response: every partition in request order, from the upstream's answer or the layer's.
/// Settles the producer state with what the upstream accepted.
pub(crate) fn merge(
    state: &StrictState,
    plan: ProducePlan,
    upstream: Option<ProduceResponse>,
) -> ProduceResponse {
    let mut throttle = 0;
    let mut answered: HashMap<Partition, PartitionProduceResponse> = HashMap::new();
    if let Some(up) = upstream {
        throttle = up.throttle_time_ms;
        for t in up.responses {
            for p in t.partition_responses {
                answered.insert((t.name.to_string(), p.index), p);
            }
        }
    }
    let mut local = plan.local;
    let mut responses = Vec::new();
    for (name, partitions) in plan.order {
        let mut out = Vec::new();
        for index in partitions {
            let key = (name.to_string(), index);
            let response = if let Some(r) = local.remove(&key) {
                r
            } else {
                let mut r = answered.remove(&key).unwrap_or_else(|| {
                    refused(
                        index,
                        ResponseError::UnknownServerError,
                        "the upstream did not answer this partition".into(),
                    )
                });
                if let Some(ticket) = plan.tickets.get(&key) {
                    state
                        .producers
                        .settle(*ticket, (r.error_code == 0).then_some(r.base_offset));
                }
                if let Some(t) = plan.append_time.get(&key) {
                    if r.error_code == 0 {
                        r.log_append_time_ms = *t;
                    }
                }
                r
            };
            out.push(response);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(name)
                .with_partition_responses(out),
        );
    }
    ProduceResponse::default()
        .with_throttle_time_ms(throttle)
        .with_responses(responses)
}

/// Settles in-flight producer state when the upstream's answer never comes (connection lost):
/// the outcome is unknown, so the batches are forgotten and a retry is checked afresh.
pub(crate) fn abandon(state: &StrictState, plan: &ProducePlan) {
    for ticket in plan.tickets.values() {
        state.producers.settle(*ticket, None);
    }
}
