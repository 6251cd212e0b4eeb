//! Membership of a consumer group: join, sync, heartbeat, leave.
//!
//! A small explicit state machine:
//!
//! ```text
//!   Unjoined --JoinGroup--> AwaitingSync --SyncGroup--> Stable --LeaveGroup--> Unjoined
//!      ^                        |                          |
//!      +--- rebalance / unknown member / illegal generation+
//! ```
//!
//! [`GroupMember::join`] runs JoinGroup and SyncGroup (as leader it assigns partitions with
//! the range assignor) until the member is `Stable`; [`GroupMember::heartbeat`] keeps it
//! there or tells the caller to join again; [`GroupMember::leave`] leaves.
//!
//! The member talks to its coordinator over a connection of its own: a broker answers the
//! requests of one connection in order, so a JoinGroup that waits for the rebalance would
//! otherwise hold up every other request of the client (and other members' heartbeats).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::assign_error::AssignError;
use super::assignor::range_assign;
use super::consumer_protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
    CONSUMER_PROTOCOL_TYPE,
};
use super::coordinator::{group_error, is_coordinator_error};
use super::TopicPartitions;
use crate::admin::rounds::Rounds;
use crate::admin::str_bytes;
use crate::client::{Client, Error, Result};
use crate::connection::BrokerConnection;
use crate::protocol::BrokerError;

/// The only assignment strategy we offer.
const RANGE: &str = "range";

/// A group protocol other than the consumer's (Kafka Connect's way of using the coordinator):
/// the member's metadata in JoinGroup, and the leader's assignment over all members'
/// metadata, both opaque to the coordinator.
pub trait GroupProtocol: Send + Sync {
    /// The group's protocol type (every member must offer the same).
    fn protocol_type(&self) -> &str;
    /// The one protocol (strategy) name this member offers.
    fn name(&self) -> &str;
    /// This member's metadata for the next JoinGroup.
    fn metadata(&self) -> Bytes;
    /// As leader: each member's assignment, from `members` (member id, metadata). Every
    /// member id should be in the result; a missing one gets an empty assignment.
    fn assign(
        &self,
        members: &[(String, Bytes)],
    ) -> std::result::Result<BTreeMap<String, Bytes>, AssignError>;
}

/// Added to the rebalance timeout for the JoinGroup wait on the member's own connection.
const JOIN_SLACK: Duration = Duration::from_secs(5);

/// How a member joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberConfig {
    /// The group to join.
    pub group_id: String,
    /// The topics to subscribe to.
    pub topics: Vec<String>,
    /// Without a heartbeat for this long the coordinator drops the member. (Tansu 0.6
    /// answers JoinGroup after about half of it: keep it short in tests.)
    pub session_timeout: Duration,
    /// How long the coordinator waits for all members to rejoin during a rebalance.
    pub rebalance_timeout: Duration,
}

impl GroupMemberConfig {
    test_util_pub! {
        /// Kafka's consumer defaults: 45 s session, 5 min rebalance timeout.
        pub fn new(group_id: impl Into<String>, topics: Vec<String>) -> Self {
            GroupMemberConfig {
                group_id: group_id.into(),
                topics,
                session_timeout: Duration::from_secs(45),
                rebalance_timeout: Duration::from_secs(300),
            }
        }
    }
}

/// One generation of the group as this member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The generation id.
    pub generation_id: i32,
    /// The member id the coordinator assigned.
    pub member_id: String,
    /// The member id of the group leader.
    pub leader_id: String,
    /// The strategy the group agreed on ("range").
    pub protocol: String,
    /// This member's partitions (consumer protocol; empty with a custom [`GroupProtocol`]).
    pub assignment: TopicPartitions,
    /// The assignment as the leader encoded it (with a custom [`GroupProtocol`]).
    pub raw_assignment: Bytes,
}

impl Generation {
    /// True when this member computed the assignment.
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    /// The member is in good standing: keep heartbeating.
    Stable,
    /// The member must call [`GroupMember::join`] again; its assignment is void.
    Rejoin(RejoinReason),
}

/// Why a member must rejoin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejoinReason {
    /// The member is not in the group (never joined, or left).
    NotJoined,
    /// REBALANCE_IN_PROGRESS: membership changed.
    RebalanceInProgress,
    /// UNKNOWN_MEMBER_ID: the coordinator dropped the member (e.g. its session expired); it
    /// rejoins as a new member.
    UnknownMember,
    /// ILLEGAL_GENERATION: the member's generation is stale.
    IllegalGeneration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Not in the group: initially, after leaving, or after the coordinator asked to rejoin.
    Unjoined,
    /// JoinGroup answered for this generation; SyncGroup not yet.
    AwaitingSync { generation_id: i32 },
    /// SyncGroup answered: the assignment is in force.
    Stable(Generation),
}

/// A consumer-group member (see the module docs for the life cycle). Dropping it without
/// [`leave`](Self::leave) leaves the coordinator to expire the member after the session
/// timeout.
pub struct GroupMember {
    client: Client,
    config: GroupMemberConfig,
    /// Our own connection to the coordinator; replaced when it breaks or the coordinator moves.
    conn: Option<Arc<BrokerConnection>>,
    /// Empty until the coordinator gives us one.
    member_id: String,
    state: State,
    /// `None`: the consumer protocol with the range assignor.
    protocol: Option<Arc<dyn GroupProtocol>>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("group", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("state", &self.state)
            .finish()
    }
}

/// One step of the join loop.
enum Step<T> {
    Done(T),
    /// Start over with JoinGroup, right away.
    Rejoin,
    /// Start over with JoinGroup after a backoff; the error is reported if time runs out.
    Retry(Error),
}

impl GroupMember {
    test_util_pub! {
        /// A member that has not joined yet.
        pub fn new(client: Client, config: GroupMemberConfig) -> Result<Self> {
            if config.group_id.is_empty() {
                return Err(Error::Config(
                    "a group member needs a non-empty group id".into(),
                ));
            }
            for (name, d) in [
                ("session timeout", config.session_timeout),
                ("rebalance timeout", config.rebalance_timeout),
            ] {
                if d.is_zero() || i32::try_from(d.as_millis()).is_err() {
                    return Err(Error::Config(format!(
                        "group '{}': {name} {d:?} is out of range",
                        config.group_id
                    )));
                }
            }
            Ok(GroupMember {
                client,
                config,
                conn: None,
                member_id: String::new(),
                state: State::Unjoined,
                protocol: None,
            })
        }
    }

    /// A member of a group of `protocol`'s type (`config.topics` is unused).
    pub fn with_protocol(
        client: Client,
        config: GroupMemberConfig,
        protocol: Arc<dyn GroupProtocol>,
    ) -> Result<Self> {
        let mut member = Self::new(client, config)?;
        member.protocol = Some(protocol);
        Ok(member)
    }

    fn protocol_type(&self) -> StrBytes {
        match &self.protocol {
            Some(p) => str_bytes(p.protocol_type()),
            None => StrBytes::from_static_str(CONSUMER_PROTOCOL_TYPE),
        }
    }

    fn protocol_name(&self) -> String {
        match &self.protocol {
            Some(p) => p.name().to_string(),
            None => RANGE.to_string(),
        }
    }

    test_util_pub! {
        /// The id the coordinator gave us (empty before the first join).
        pub fn member_id(&self) -> &str {
            &self.member_id
        }
    }

    test_util_pub! {
        /// The current generation, while the member is stable.
        pub fn generation(&self) -> Option<&Generation> {
            match &self.state {
                State::Stable(g) => Some(g),
                _ => None,
            }
        }
    }

    /// Joins (or rejoins) the group and waits for this member's assignment: JoinGroup
    /// (resending with the assigned member id on MEMBER_ID_REQUIRED), then SyncGroup — as
    /// leader with a range assignment over the members' subscriptions. Rebalances that
    /// interrupt it are followed by a new JoinGroup; coordinator moves and connection
    /// failures are retried within the client's retry policy.
    pub async fn join(&mut self) -> Result<Generation> {
        let mut rounds = Rounds::new(self.client.retry_policy());
        loop {
            let step = match self.join_group().await {
                Ok(Step::Done(joined)) => self.sync_group(joined).await,
                Ok(Step::Rejoin) => Ok(Step::Rejoin),
                Ok(Step::Retry(e)) => Ok(Step::Retry(e)),
                Err(e) => Err(e),
            };
            let error = match step {
                Ok(Step::Done(generation)) => return Ok(generation),
                // Rejoining at once is the protocol (a new member id, a rebalance that
                // overtook SyncGroup); the deadline still bounds a group that never settles.
                Ok(Step::Rejoin) if !rounds.out_of_time() => continue,
                Ok(Step::Rejoin) => None,
                Ok(Step::Retry(e)) => Some(e),
                Err(e) if e.is_retriable() => {
                    self.lose_coordinator();
                    Some(e)
                }
                Err(e) => {
                    self.state = State::Unjoined;
                    return Err(e);
                }
            };
            // Even immediate rejoins count against the deadline, so a group that
            // rebalances forever cannot keep us here forever.
            if !rounds.wait().await {
                self.state = State::Unjoined;
                return Err(error.unwrap_or_else(|| {
                    Error::Broker(group_error(
                        "JoinGroup",
                        27, // REBALANCE_IN_PROGRESS
                        &self.config.group_id,
                        self.conn.as_ref().map_or("coordinator", |c| c.broker()),
                        Some("the group kept rebalancing until the retry deadline"),
                    ))
                }));
            }
        }
    }

    /// Sends one heartbeat. A rebalance, an unknown member id or a stale generation make
    /// the member `Unjoined` and are returned as [`HeartbeatOutcome::Rejoin`]; coordinator
    /// moves and connection failures are retried.
    pub async fn heartbeat(&mut self) -> Result<HeartbeatOutcome> {
        let State::Stable(generation) = &self.state else {
            return Ok(HeartbeatOutcome::Rejoin(RejoinReason::NotJoined));
        };
        let generation_id = generation.generation_id;
        let mut rounds = Rounds::new(self.client.retry_policy());
        loop {
            let error = match self.send_heartbeat(generation_id).await {
                Ok(code) => match ResponseError::try_from_code(code) {
                    None => return Ok(HeartbeatOutcome::Stable),
                    Some(ResponseError::RebalanceInProgress) => {
                        return Ok(self.must_rejoin(RejoinReason::RebalanceInProgress))
                    }
                    Some(ResponseError::UnknownMemberId) => {
                        self.member_id.clear();
                        return Ok(self.must_rejoin(RejoinReason::UnknownMember));
                    }
                    Some(ResponseError::IllegalGeneration) => {
                        return Ok(self.must_rejoin(RejoinReason::IllegalGeneration))
                    }
                    Some(_) => {
                        let e = self.error("Heartbeat", code);
                        if !is_coordinator_error(&e) {
                            return Err(e.into());
                        }
                        self.lose_coordinator();
                        Error::Broker(e)
                    }
                },
                Err(e) if e.is_retriable() => {
                    self.lose_coordinator();
                    e
                }
                Err(e) => return Err(e),
            };
            if !rounds.wait().await {
                return Err(error);
            }
        }
    }

    /// Leaves the group (LeaveGroup), so the others rebalance at once instead of after the
    /// session timeout. Leaving when not in the group, or when the coordinator no longer
    /// knows the member, succeeds.
    pub async fn leave(&mut self) -> Result<()> {
        if self.member_id.is_empty() {
            self.state = State::Unjoined;
            return Ok(());
        }
        let mut rounds = Rounds::new(self.client.retry_policy());
        let result = loop {
            let error = match self.send_leave().await {
                Ok(code) => match ResponseError::try_from_code(code) {
                    None | Some(ResponseError::UnknownMemberId) => break Ok(()),
                    Some(_) => {
                        let e = self.error("LeaveGroup", code);
                        if !is_coordinator_error(&e) {
                            break Err(e.into());
                        }
                        self.lose_coordinator();
                        Error::Broker(e)
                    }
                },
                Err(e) if e.is_retriable() => {
                    self.lose_coordinator();
                    e
                }
                Err(e) => break Err(e),
            };
            if !rounds.wait().await {
                break Err(error);
            }
        };
        self.member_id.clear();
        self.state = State::Unjoined;
        self.conn = None;
        result
    }

    fn must_rejoin(&mut self, reason: RejoinReason) -> HeartbeatOutcome {
        self.state = State::Unjoined;
        HeartbeatOutcome::Rejoin(reason)
    }

    fn error(&self, api: &'static str, code: i16) -> BrokerError {
        group_error(
            api,
            code,
            &self.config.group_id,
            self.conn.as_ref().map_or("coordinator", |c| c.broker()),
            Some(&format!("member '{}'", self.member_id)),
        )
    }

    /// Our connection to the coordinator, opened if needed.
    async fn coordinator(&mut self) -> Result<Arc<BrokerConnection>> {
        if let Some(conn) = &self.conn {
            if conn.is_usable() {
                return Ok(conn.clone());
            }
        }
        let address = self
            .client
            .coordinator(&self.config.group_id)
            .await?
            .broker()
            .to_string();
        // JoinGroup legitimately waits up to the rebalance timeout for the other members.
        let mut config = self.client.config().connection.clone();
        config.request_timeout = config
            .request_timeout
            .max(self.config.rebalance_timeout + JOIN_SLACK);
        let conn = Arc::new(BrokerConnection::connect(&address, &config).await?);
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    fn lose_coordinator(&mut self) {
        self.conn = None;
        self.client.invalidate_coordinator(&self.config.group_id);
    }

    /// JoinGroup once. `Done` carries the successful response.
    async fn join_group(&mut self) -> Result<Step<JoinGroupResponse>> {
        self.state = State::Unjoined;
        let conn = self.coordinator().await?;
        let metadata = match &self.protocol {
            Some(p) => p.metadata(),
            None => encode_subscription(&self.config.topics)
                .map_err(|e| Error::Config(format!("group '{}': {e}", self.config.group_id)))?,
        };
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.config.group_id)))
            .with_session_timeout_ms(millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis(self.config.rebalance_timeout))
            .with_member_id(str_bytes(&self.member_id))
            .with_protocol_type(self.protocol_type())
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(str_bytes(&self.protocol_name()))
                .with_metadata(metadata)]);
        let response = conn.request(&request).await?;
        match ResponseError::try_from_code(response.error_code) {
            None => {
                self.member_id = response.member_id.as_str().to_string();
                self.state = State::AwaitingSync {
                    generation_id: response.generation_id,
                };
                Ok(Step::Done(response))
            }
            // KIP-394: the coordinator hands out the id; join again with it.
            Some(ResponseError::MemberIdRequired) => {
                self.member_id = response.member_id.as_str().to_string();
                Ok(Step::Rejoin)
            }
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                Ok(Step::Rejoin)
            }
            Some(ResponseError::RebalanceInProgress) => Ok(Step::Retry(
                self.error("JoinGroup", response.error_code).into(),
            )),
            Some(_) => {
                let e = self.error("JoinGroup", response.error_code);
                if is_coordinator_error(&e) {
                    self.lose_coordinator();
                    Ok(Step::Retry(e.into()))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// SyncGroup for the generation `joined` describes; as leader, with the assignment.
    async fn sync_group(&mut self, joined: JoinGroupResponse) -> Result<Step<Generation>> {
        let protocol = joined
            .protocol_name
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let leader_id = joined.leader.as_str().to_string();
        let assignments = if leader_id == self.member_id {
            let offered = self.protocol_name();
            if protocol != offered {
                return Err(Error::protocol(
                    "JoinGroup",
                    self.conn.as_ref().map_or("coordinator", |c| c.broker()),
                    format!(
                        "group '{}' chose protocol '{protocol}', but we only offered '{offered}'",
                        self.config.group_id
                    ),
                ));
            }
            self.assign(&joined).await?
        } else {
            Vec::new()
        };
        let conn = self.coordinator().await?;
        let (group_id, member_id) = (self.config.group_id.clone(), self.member_id.clone());
        let protocol_for_request = protocol.clone();
        let protocol_type = self.protocol_type();
        let (_, response) = conn
            .request_with(move |version| {
                let request = SyncGroupRequest::default()
                    .with_group_id(GroupId(str_bytes(&group_id)))
                    .with_generation_id(joined.generation_id)
                    .with_member_id(str_bytes(&member_id))
                    .with_assignments(assignments);
                if version >= 5 {
                    request
                        .with_protocol_type(Some(protocol_type.clone()))
                        .with_protocol_name(Some(str_bytes(&protocol_for_request)))
                } else {
                    request
                }
            })
            .await?;
        match ResponseError::try_from_code(response.error_code) {
            None => {
                let assignment = if self.protocol.is_some() {
                    Vec::new()
                } else {
                    decode_assignment(&response.assignment).map_err(|e| {
                        Error::protocol(
                            "SyncGroup",
                            conn.broker(),
                            format!("group '{}': {e}", self.config.group_id),
                        )
                    })?
                };
                let generation = Generation {
                    generation_id: joined.generation_id,
                    member_id: self.member_id.clone(),
                    leader_id,
                    protocol,
                    assignment,
                    raw_assignment: response.assignment.clone(),
                };
                self.state = State::Stable(generation.clone());
                Ok(Step::Done(generation))
            }
            Some(ResponseError::RebalanceInProgress | ResponseError::IllegalGeneration) => {
                self.state = State::Unjoined;
                Ok(Step::Rejoin)
            }
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                self.state = State::Unjoined;
                Ok(Step::Rejoin)
            }
            Some(_) => {
                self.state = State::Unjoined;
                let e = self.error("SyncGroup", response.error_code);
                if is_coordinator_error(&e) {
                    self.lose_coordinator();
                    Ok(Step::Retry(e.into()))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// The leader's range assignment over the members in `joined`, encoded per member.
    async fn assign(&self, joined: &JoinGroupResponse) -> Result<Vec<SyncGroupRequestAssignment>> {
        if let Some(p) = &self.protocol {
            let members: Vec<(String, Bytes)> = joined
                .members
                .iter()
                .map(|m| (m.member_id.as_str().to_string(), m.metadata.clone()))
                .collect();
            let assigned = p.assign(&members).map_err(|e| {
                Error::protocol(
                    "JoinGroup",
                    self.conn.as_ref().map_or("coordinator", |c| c.broker()),
                    format!("group '{}': cannot assign: {e}", self.config.group_id),
                )
            })?;
            return Ok(members
                .iter()
                .map(|(id, _)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(str_bytes(id))
                        .with_assignment(assigned.get(id).cloned().unwrap_or_default())
                })
                .collect());
        }
        let mut subscriptions = BTreeMap::new();
        for m in &joined.members {
            let member_id = m.member_id.as_str().to_string();
            let topics = decode_subscription(&m.metadata).map_err(|e| {
                Error::protocol(
                    "JoinGroup",
                    self.conn.as_ref().map_or("coordinator", |c| c.broker()),
                    format!("group '{}' member '{member_id}': {e}", self.config.group_id),
                )
            })?;
            subscriptions.insert(member_id, topics);
        }
        let mut topics: Vec<String> = subscriptions.values().flatten().cloned().collect();
        topics.sort();
        topics.dedup();
        let metadata = self.client.refresh_metadata(Some(&topics)).await?;
        // Topics that do not exist (yet) get no partitions; a later rebalance picks them up.
        let counts: BTreeMap<String, i32> = metadata
            .topics
            .iter()
            .filter(|(name, _)| topics.contains(name))
            .map(|(name, t)| (name.clone(), t.partitions.len() as i32))
            .collect();
        range_assign(&subscriptions, &counts)
            .into_iter()
            .map(|(member_id, assignment)| {
                let bytes = encode_assignment(&assignment)
                    .map_err(|e| Error::Config(format!("group '{}': {e}", self.config.group_id)))?;
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member_id))
                    .with_assignment(bytes))
            })
            .collect()
    }

    /// Heartbeat once; returns the response's error code.
    async fn send_heartbeat(&mut self, generation_id: i32) -> Result<i16> {
        let conn = self.coordinator().await?;
        let response = conn
            .request(
                &HeartbeatRequest::default()
                    .with_group_id(GroupId(str_bytes(&self.config.group_id)))
                    .with_generation_id(generation_id)
                    .with_member_id(str_bytes(&self.member_id)),
            )
            .await?;
        Ok(response.error_code)
    }

    /// LeaveGroup once; returns the first error code of the response (group, then member).
    async fn send_leave(&mut self) -> Result<i16> {
        let conn = self.coordinator().await?;
        let (group_id, member_id) = (self.config.group_id.clone(), self.member_id.clone());
        let (_, response) = conn
            .request_with(move |version| {
                let request =
                    LeaveGroupRequest::default().with_group_id(GroupId(str_bytes(&group_id)));
                if version >= 3 {
                    request.with_members(vec![
                        MemberIdentity::default().with_member_id(str_bytes(&member_id))
                    ])
                } else {
                    request.with_member_id(str_bytes(&member_id))
                }
            })
            .await?;
        if response.error_code != 0 {
            return Ok(response.error_code);
        }
        Ok(response
            .members
            .iter()
            .map(|m| m.error_code)
            .find(|c| *c != 0)
            .unwrap_or(0))
    }
}

fn millis(d: Duration) -> i32 {
    // Range-checked in `GroupMember::new`.
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
