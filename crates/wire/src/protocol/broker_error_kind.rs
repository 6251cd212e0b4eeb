//! What a Kafka error code means, by Kafka's name for it: this crate's own enum, so that no
//! `kafka-protocol` type is part of the public API (a `kafka-protocol` upgrade is then not a
//! breaking change for callers).

use kafka_protocol::error::ResponseError;

/// Declares [`BrokerErrorKind`] and its conversions to and from `kafka-protocol`'s
/// `ResponseError` from one list of names. The conversions match exhaustively, so a
/// `kafka-protocol` upgrade that adds a code does not compile until the name is listed here.
macro_rules! broker_error_kinds {
    ($($kind:ident),* $(,)?) => {
        /// The kind of error a broker returned: the error codes of
        /// [Kafka's protocol](https://kafka.apache.org/protocol#protocol_error_codes), by the
        /// names Kafka's `Errors` enum gives them (in CamelCase: `NOT_LEADER_OR_FOLLOWER` is
        /// `NotLeaderOrFollower`). `{:?}` prints that name, as logs and messages show it.
        ///
        /// Kafka adds codes over time: a code this version does not know is
        /// `Unknown(code)`, and new variants may be added (`#[non_exhaustive]`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum BrokerErrorKind {
            /// A code this version does not know (or 0, which is no error).
            Unknown(i16),
            $(
                #[doc = concat!("Kafka's `", stringify!($kind), "` error.")]
                $kind,
            )*
        }

        impl BrokerErrorKind {
            fn from_response_error(error: ResponseError) -> Self {
                match error {
                    ResponseError::Unknown(code) => Self::Unknown(code),
                    $(ResponseError::$kind => Self::$kind,)*
                }
            }

            fn response_error(self) -> ResponseError {
                match self {
                    Self::Unknown(code) => ResponseError::Unknown(code),
                    $(Self::$kind => ResponseError::$kind,)*
                }
            }
        }
    };
}

broker_error_kinds! {
    UnknownServerError,
    OffsetOutOfRange,
    CorruptMessage,
    UnknownTopicOrPartition,
    InvalidFetchSize,
    LeaderNotAvailable,
    NotLeaderOrFollower,
    RequestTimedOut,
    BrokerNotAvailable,
    ReplicaNotAvailable,
    MessageTooLarge,
    StaleControllerEpoch,
    OffsetMetadataTooLarge,
    NetworkException,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    NotCoordinator,
    InvalidTopicException,
    RecordListTooLarge,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    InvalidRequiredAcks,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidGroupId,
    UnknownMemberId,
    InvalidSessionTimeout,
    RebalanceInProgress,
    InvalidCommitOffsetSize,
    TopicAuthorizationFailed,
    GroupAuthorizationFailed,
    ClusterAuthorizationFailed,
    InvalidTimestamp,
    UnsupportedSaslMechanism,
    IllegalSaslState,
    UnsupportedVersion,
    TopicAlreadyExists,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidReplicaAssignment,
    InvalidConfig,
    NotController,
    InvalidRequest,
    UnsupportedForMessageFormat,
    PolicyViolation,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    InvalidTxnState,
    InvalidProducerIdMapping,
    InvalidTransactionTimeout,
    ConcurrentTransactions,
    TransactionCoordinatorFenced,
    TransactionalIdAuthorizationFailed,
    SecurityDisabled,
    OperationNotAttempted,
    KafkaStorageError,
    LogDirNotFound,
    SaslAuthenticationFailed,
    UnknownProducerId,
    ReassignmentInProgress,
    DelegationTokenAuthDisabled,
    DelegationTokenNotFound,
    DelegationTokenOwnerMismatch,
    DelegationTokenRequestNotAllowed,
    DelegationTokenAuthorizationFailed,
    DelegationTokenExpired,
    InvalidPrincipalType,
    NonEmptyGroup,
    GroupIdNotFound,
    FetchSessionIdNotFound,
    InvalidFetchSessionEpoch,
    ListenerNotFound,
    TopicDeletionDisabled,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    UnsupportedCompressionType,
    StaleBrokerEpoch,
    OffsetNotAvailable,
    MemberIdRequired,
    PreferredLeaderNotAvailable,
    GroupMaxSizeReached,
    FencedInstanceId,
    EligibleLeadersNotAvailable,
    ElectionNotNeeded,
    NoReassignmentInProgress,
    GroupSubscribedToTopic,
    InvalidRecord,
    UnstableOffsetCommit,
    ThrottlingQuotaExceeded,
    ProducerFenced,
    ResourceNotFound,
    DuplicateResource,
    UnacceptableCredential,
    InconsistentVoterSet,
    InvalidUpdateVersion,
    FeatureUpdateFailed,
    PrincipalDeserializationFailure,
    SnapshotNotFound,
    PositionOutOfRange,
    UnknownTopicId,
    DuplicateBrokerRegistration,
    BrokerIdNotRegistered,
    InconsistentTopicId,
    InconsistentClusterId,
    TransactionalIdNotFound,
    FetchSessionTopicIdError,
    IneligibleReplica,
    NewLeaderElected,
    OffsetMovedToTieredStorage,
    FencedMemberEpoch,
    UnreleasedInstanceId,
    UnsupportedAssignor,
    StaleMemberEpoch,
    MismatchedEndpointType,
    UnsupportedEndpointType,
    UnknownControllerId,
    UnknownSubscriptionId,
    TelemetryTooLarge,
    InvalidRegistration,
    TransactionAbortable,
    InvalidRecordState,
    ShareSessionNotFound,
    InvalidShareSessionEpoch,
    FencedStateEpoch,
    InvalidVoterKey,
    DuplicateVoter,
    VoterNotFound,
    InvalidRegularExpression,
    RebootstrapRequired,
    StreamsInvalidTopology,
    StreamsInvalidTopologyEpoch,
    StreamsTopologyFenced,
    ShareSessionLimitReached,
}

impl BrokerErrorKind {
    /// The kind of Kafka error `code` (`Unknown(code)` for a code this version does not know,
    /// and for 0).
    pub(crate) fn from_code(code: i16) -> Self {
        ResponseError::try_from_code(code).map_or(Self::Unknown(code), Self::from_response_error)
    }

    /// The Kafka error code.
    pub fn code(self) -> i16 {
        self.response_error().code()
    }

    /// Retriable per the Kafka protocol (leader moves, coordinator loading, timeouts...); an
    /// unknown code is not.
    pub(crate) fn is_retriable(self) -> bool {
        self.response_error().is_retriable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code kafka-protocol knows has its own kind, with kafka-protocol's name and the
    /// same code back: a kafka-protocol upgrade that adds a code fails here (and does not
    /// compile) until the code is listed, rather than becoming `Unknown`.
    #[test]
    fn every_code_kafka_protocol_knows_round_trips() {
        let mut known = 0;
        for code in i16::MIN..=i16::MAX {
            let kind = BrokerErrorKind::from_code(code);
            assert_eq!(kind.code(), code, "{kind:?}");
            match ResponseError::try_from_code(code) {
                None => assert_eq!(kind, BrokerErrorKind::Unknown(0)),
                Some(ResponseError::Unknown(_)) => {
                    assert_eq!(kind, BrokerErrorKind::Unknown(code))
                }
                Some(error) => {
                    known += 1;
                    assert_eq!(format!("{kind:?}"), format!("{error:?}"));
                    assert_eq!(kind.is_retriable(), error.is_retriable(), "{kind:?}");
                    assert_eq!(kind.response_error(), error);
                }
            }
        }
        // kafka-protocol 0.18 knows -1 and 1..=133 (Kafka 4.1).
        assert!(known >= 134, "{known}");
        assert_eq!(
            BrokerErrorKind::from_code(6),
            BrokerErrorKind::NotLeaderOrFollower
        );
        assert_eq!(
            format!("{:?}", BrokerErrorKind::from_code(9999)),
            "Unknown(9999)"
        );
    }
}
