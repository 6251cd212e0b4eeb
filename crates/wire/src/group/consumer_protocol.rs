//! The consumer protocol: what consumers put in JoinGroup metadata (their subscription) and
//! what the leader hands out in SyncGroup (each member's partitions).
//!
//! Both are a big-endian i16 version followed by the message at that version. Newer versions
//! only append fields, so a message of a version newer than we know is read at the newest
//! version we know and the rest ignored, as Kafka's own clients do.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::{self, ConsumerProtocolAssignment};
use kafka_protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

use super::TopicPartitions;

/// The JoinGroup protocol type of consumers.
pub(crate) const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The version we write. v0 is understood by every consumer, old or new; we have nothing
/// to say in the later fields (owned partitions, rack).
const WRITE_VERSION: i16 = 0;

test_util_pub! {
    /// Consumer protocol bytes that cannot be read or written.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("invalid consumer protocol {what}: {message}")]
    pub struct ConsumerProtocolError {
        /// "subscription" or "assignment".
        pub what: &'static str,
        /// What is wrong.
        pub message: String,
    }
}

fn error(what: &'static str, message: impl Into<String>) -> ConsumerProtocolError {
    ConsumerProtocolError {
        what,
        message: message.into(),
    }
}

/// Encodes a subscription to `topics` (JoinGroup protocol metadata).
pub(crate) fn encode_subscription(topics: &[String]) -> Result<Bytes, ConsumerProtocolError> {
    let subscription = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.clone()))
            .collect(),
    );
    encode("subscription", &subscription)
}

/// Decodes a member's subscription: the topics it wants.
pub(crate) fn decode_subscription(bytes: &[u8]) -> Result<Vec<String>, ConsumerProtocolError> {
    let subscription: ConsumerProtocolSubscription = decode("subscription", bytes)?;
    Ok(subscription
        .topics
        .into_iter()
        .map(|t| t.as_str().to_string())
        .collect())
}

test_util_pub! {
    /// Encodes a member's assignment (SyncGroup).
    pub fn encode_assignment(assignment: &TopicPartitions) -> Result<Bytes, ConsumerProtocolError> {
        let message = ConsumerProtocolAssignment::default().with_assigned_partitions(
            assignment
                .iter()
                .map(|(topic, partitions)| {
                    consumer_protocol_assignment::TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                        .with_partitions(partitions.clone())
                })
                .collect(),
        );
        encode("assignment", &message)
    }
}

/// Decodes a member's assignment. Empty bytes (a member the leader gave nothing, or a
/// group between generations) are an empty assignment.
pub(crate) fn decode_assignment(bytes: &[u8]) -> Result<TopicPartitions, ConsumerProtocolError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let assignment: ConsumerProtocolAssignment = decode("assignment", bytes)?;
    Ok(assignment
        .assigned_partitions
        .into_iter()
        .map(|tp| (tp.topic.0.as_str().to_string(), tp.partitions))
        .collect())
}

fn encode<M: Encodable>(what: &'static str, message: &M) -> Result<Bytes, ConsumerProtocolError> {
    let size = message
        .compute_size(WRITE_VERSION)
        .map_err(|e| error(what, e.to_string()))?;
    let mut buf = BytesMut::with_capacity(2 + size);
    buf.put_i16(WRITE_VERSION);
    message
        .encode(&mut buf, WRITE_VERSION)
        .map_err(|e| error(what, e.to_string()))?;
    Ok(buf.freeze())
}

fn decode<M: Decodable + Message>(
    what: &'static str,
    bytes: &[u8],
) -> Result<M, ConsumerProtocolError> {
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.len() < 2 {
        return Err(error(
            what,
            format!("{} bytes, too short for the version", buf.len()),
        ));
    }
    let version = buf.get_i16();
    if version < 0 {
        return Err(error(what, format!("negative version {version}")));
    }
    let read_as = version.min(M::VERSIONS.max);
    M::decode(&mut buf, read_as).map_err(|e| error(what, format!("version {version}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_round_trips_with_exact_bytes() {
        let bytes = encode_subscription(&["ab".into(), "c".into()]).unwrap();
        // version 0, array of 2 strings, null user data
        assert_eq!(
            bytes.as_ref(),
            &[0, 0, 0, 0, 0, 2, 0, 2, b'a', b'b', 0, 1, b'c', 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(decode_subscription(&bytes).unwrap(), vec!["ab", "c"]);
    }

    #[test]
    fn assignment_round_trips_with_exact_bytes() {
        let assignment = vec![("t".to_string(), vec![0, 2])];
        let bytes = encode_assignment(&assignment).unwrap();
        assert_eq!(
            bytes.as_ref(),
            &[
                0, 0, // version
                0, 0, 0, 1, // one topic
                0, 1, b't', // name
                0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, // partitions [0, 2]
                0xff, 0xff, 0xff, 0xff, // null user data
            ]
        );
        assert_eq!(decode_assignment(&bytes).unwrap(), assignment);
        assert_eq!(decode_assignment(&[]).unwrap(), vec![]);
    }

    #[test]
    fn newer_versions_are_read_as_the_newest_known() {
        // A v3 subscription as a Java consumer sends it, followed by a field from a
        // hypothetical v4 that we must ignore.
        let v3 = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("orders")])
            .with_generation_id(7)
            .with_rack_id(Some(StrBytes::from_static_str("r1")));
        let mut buf = BytesMut::new();
        buf.put_i16(4);
        v3.encode(&mut buf, 3).unwrap();
        buf.put_u32(0xdead_beef);
        assert_eq!(decode_subscription(&buf).unwrap(), vec!["orders"]);
    }

    #[test]
    fn garbage_is_an_error_naming_what() {
        let e = decode_assignment(&[0]).unwrap_err();
        assert_eq!(e.what, "assignment");
        assert!(e.to_string().contains("too short"), "{e}");
        let e = decode_subscription(&[0, 0, 0, 0, 0, 9, 0]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid consumer protocol subscription: version 0"),
            "{e}"
        );
        let e = decode_assignment(&[0xff, 0xff, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("negative version -1"), "{e}");
    }
}
