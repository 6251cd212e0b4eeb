//! Consumer groups: listing, describing, deleting, committed offsets ([`GroupAdmin`]) and
//! joining a group as a consumer ([`GroupMember`]).
//!
//! Every group request goes to the group's coordinator. NOT_COORDINATOR,
//! COORDINATOR_NOT_AVAILABLE and COORDINATOR_LOAD_IN_PROGRESS make the client forget the cached
//! coordinator and ask again, within the client's retry policy.

mod admin;
mod assign_error;
mod assignor;
mod consumer_protocol;
mod coordinator;
mod member;
mod offsets;

pub use admin::{GroupAdmin, ListedGroup};
pub use assign_error::AssignError;
test_util_pub! {
    pub use admin::{GroupDescription, MemberDescription};
}
test_util_pub! {
    pub use consumer_protocol::{encode_assignment, ConsumerProtocolError};
}
pub use member::{
    Generation, GroupMember, GroupMemberConfig, GroupProtocol, HeartbeatOutcome, RejoinReason,
};
pub use offsets::{CommittedOffset, OffsetToCommit};

test_util_pub! {
    /// A topic's partitions, as assigned to a member.
    pub type TopicPartitions = Vec<(String, Vec<i32>)>;
}
