//! What a failed write to the target means for replication, decided in one place: which Kafka
//! rule refused it, what stops (one partition, or the data path), and what the operator can do.
//!
//! A refusal about a record, a batch or a partition halts only that partition; a refusal about
//! a topic (authorization) halts each of the topic's partitions as they are refused. Such a
//! partition is retried with backoff and resumes by itself once the cause is fixed. Only
//! connection, deadline and coordinator errors (and the producer being shut down) restart the
//! data path: those are not about any one partition.

use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::BrokerErrorKind;

/// What a failed write stops.
#[derive(Debug, Clone)]
pub(crate) enum WriteFailure {
    /// The target refused the write under one of its rules.
    Refused(Refusal),
    /// The target could not be written at all (connection, deadline, coordinator): the data
    /// path restarts with a fresh producer.
    DataPath(ClientError),
}

/// What a refusal concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One record, batch or partition.
    Partition,
    /// The whole target topic (e.g. authorization): each of its partitions halts when refused.
    Topic,
}

/// A write the target refused, explained.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub scope: Scope,
    /// The rule that refused it, e.g. "the target topic's max.message.bytes".
    pub rule: &'static str,
    /// What the operator can do about it.
    pub remedy: String,
    /// The error as the client reported it (the broker's own message included).
    pub detail: String,
}

impl Refusal {
    /// The one line an operator reads: rule, where, the source offset, and what to do.
    pub(crate) fn describe(
        &self,
        source_topic: &str,
        target_topic: &str,
        partition: i32,
        offset: i64,
    ) -> String {
        let scope = match self.scope {
            Scope::Partition => "",
            Scope::Topic => " (this concerns the whole topic)",
        };
        format!(
            "the target refused the copy of source offset {offset} of {source_topic}-{partition} \
             to {target_topic}-{partition}: {rule}{scope} [{detail}]. {remedy}; the partition is \
             retried with backoff and resumes by itself once the cause is fixed (nothing after \
             offset {offset} is copied until then)",
            rule = self.rule,
            detail = self.detail,
            remedy = self.remedy,
        )
    }
}

/// Classifies a failed write to `target_topic` (the producer's error).
pub(crate) fn classify(error: &ClientError, target_topic: &str) -> WriteFailure {
    let detail = error.to_string();
    let refused = |scope, rule, remedy: String| {
        WriteFailure::Refused(Refusal {
            scope,
            rule,
            remedy,
            detail: detail.clone(),
        })
    };
    let broker = match error {
        ClientError::Broker(b) if !b.is_retriable() => b,
        // Encoding failed before anything was sent: only this partition's records are at stake.
        ClientError::Codec { .. } | ClientError::Config(_) => {
            return refused(
                Scope::Partition,
                "kreplicate could not encode the record for the target",
                "report it with the log line".into(),
            )
        }
        // Retriable broker errors past the deadline, connections, metadata, shutdown.
        _ => return WriteFailure::DataPath(error.clone()),
    };
    let kind = broker.kind();
    use BrokerErrorKind as E;
    let (scope, rule, remedy) = match kind {
        // Errors about the cluster or its coordinators: nothing to do with one partition.
        E::NotCoordinator
        | E::CoordinatorNotAvailable
        | E::CoordinatorLoadInProgress
        | E::ClusterAuthorizationFailed
        | E::UnsupportedVersion
        | E::UnsupportedForMessageFormat => return WriteFailure::DataPath(error.clone()),
        // LogValidator.validateMessagesAndAssignOffsets / UnifiedLog.analyzeAndValidateRecords:
        // a batch over the topic's max.message.bytes.
        E::MessageTooLarge => (
            Scope::Partition,
            "the batch is larger than the target topic's max.message.bytes (or the broker's \
             message.max.bytes)",
            format!(
                "raise max.message.bytes on topic {target_topic} (kafka-configs --alter \
                 --entity-type topics --entity-name {target_topic} --add-config \
                 max.message.bytes=...)"
            ),
        ),
        // KafkaApis / SocketServer: the whole request over the broker's limits.
        E::RecordListTooLarge => (
            Scope::Partition,
            "the produce request is larger than the target broker's message.max.bytes / \
             socket.request.max.bytes",
            "raise message.max.bytes (and socket.request.max.bytes) on the target brokers".into(),
        ),
        // LogValidator: e.g. a record without a key on a compacted topic.
        E::InvalidRecord => (
            Scope::Partition,
            "the target's record validation (e.g. a record without a key on a topic with \
             cleanup.policy=compact)",
            format!("change the configuration of topic {target_topic} to accept the record"),
        ),
        // LogValidator.validateTimestamp.
        E::InvalidTimestamp => (
            Scope::Partition,
            "the record's timestamp is outside the target topic's \
             message.timestamp.before.max.ms / message.timestamp.after.max.ms",
            format!("raise those settings on topic {target_topic}"),
        ),
        E::CorruptMessage | E::InvalidRequiredAcks => (
            Scope::Partition,
            "the target's batch validation (CRC, sizes, attributes)",
            "report it with the log line: the batch kreplicate wrote did not validate".into(),
        ),
        // KafkaApis.handleProduceRequest: a transactional batch from a producer without a
        // transactional id.
        E::TransactionalIdAuthorizationFailed => (
            Scope::Partition,
            "Kafka refuses a transactional batch produced without a transactional id",
            "copy this topic with `--provenance header` (records re-encoded)".into(),
        ),
        // ProducerAppendInfo.checkSequence / checkProducerEpoch.
        E::OutOfOrderSequenceNumber
        | E::DuplicateSequenceNumber
        | E::InvalidProducerEpoch
        | E::ProducerFenced
        | E::UnknownProducerId
        | E::InvalidProducerIdMapping => (
            Scope::Partition,
            "the target's idempotent-producer state for the partition (sequence or epoch)",
            "nothing to do: the partition continues under a fresh producer id".into(),
        ),
        // KafkaApis.handleProduceRequest: WRITE on the topic is not authorized.
        E::TopicAuthorizationFailed => (
            Scope::Topic,
            "the target cluster's ACLs: the replicator may not write to the topic",
            format!(
                "allow WRITE on topic {target_topic} to the replicator's principal (a Kafka \
                 ACL), or, on an MSK cluster with IAM authentication, allow \
                 kafka-cluster:WriteData and kafka-cluster:DescribeTopic on the topic's ARN \
                 (arn:aws:kafka:REGION:ACCOUNT:topic/CLUSTER-NAME/CLUSTER-UUID/{target_topic}; \
                 docs/aws.md)"
            ),
        ),
        E::PolicyViolation | E::InvalidConfig => (
            Scope::Topic,
            "the target's policy or configuration for the topic",
            format!("change the configuration or policy of topic {target_topic}"),
        ),
        _ => (
            Scope::Partition,
            "the target broker refused the write",
            "see the broker's error above".into(),
        ),
    };
    refused(scope, rule, remedy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kreplicate_wire::BrokerError;

    fn broker(code: i16) -> ClientError {
        BrokerError::new("Produce", code)
            .with_partition("t", 3)
            .into()
    }

    #[test]
    fn record_and_topic_refusals_halt_partitions_others_restart_the_data_path() {
        // MESSAGE_TOO_LARGE (10), INVALID_TIMESTAMP (32), TOPIC_AUTHORIZATION_FAILED (29),
        // REQUEST_TIMED_OUT (7, retriable: past the deadline), NOT_COORDINATOR (16).
        let WriteFailure::Refused(r) = classify(&broker(10), "t") else {
            panic!("MESSAGE_TOO_LARGE must halt the partition")
        };
        assert_eq!(r.scope, Scope::Partition);
        assert!(r.detail.contains("MessageTooLarge"), "{}", r.detail);
        let line = r.describe("s", "t", 3, 41);
        for part in [
            "max.message.bytes",
            "source offset 41",
            "s-3",
            "t-3",
            "raise",
        ] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
        let WriteFailure::Refused(r) = classify(&broker(32), "t") else {
            panic!("INVALID_TIMESTAMP must halt the partition")
        };
        assert_eq!(r.scope, Scope::Partition);
        let WriteFailure::Refused(r) = classify(&broker(29), "t") else {
            panic!("TOPIC_AUTHORIZATION_FAILED must halt the topic's partitions")
        };
        assert_eq!(r.scope, Scope::Topic);
        // Both ways a target authorizes: Kafka ACLs and MSK IAM.
        assert!(r.remedy.contains("allow WRITE on topic t"), "{}", r.remedy);
        assert!(
            r.remedy.contains("kafka-cluster:WriteData")
                && r.remedy.contains("topic/CLUSTER-NAME/CLUSTER-UUID/t"),
            "{}",
            r.remedy
        );
        assert!(matches!(
            classify(&broker(7), "t"),
            WriteFailure::DataPath(_)
        ));
        assert!(matches!(
            classify(&broker(16), "t"),
            WriteFailure::DataPath(_)
        ));
        assert!(matches!(
            classify(&ClientError::Shutdown("producer"), "t"),
            WriteFailure::DataPath(_)
        ));
    }
}
