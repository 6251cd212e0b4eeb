//! Listing, describing and deleting consumer groups.

use std::collections::BTreeMap;

#[cfg(feature = "test-util")]
use kafka_protocol::messages::DeleteGroupsRequest;
use kafka_protocol::messages::{DescribeGroupsRequest, GroupId, ListGroupsRequest};

use super::consumer_protocol::{decode_assignment, CONSUMER_PROTOCOL_TYPE};
use super::coordinator::{by_coordinator, group_error};
use super::TopicPartitions;
use crate::admin::str_bytes;
use crate::client::{Client, Error, Result};
use crate::protocol::BrokerError;

/// Consumer-group admin operations on one cluster. Cheap to clone (it shares the client).
#[derive(Debug, Clone)]
pub struct GroupAdmin {
    client: Client,
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The consumer group id.
    pub group_id: String,
    /// "consumer" for consumer groups; empty for groups that only store offsets.
    pub protocol_type: String,
    /// E.g. "Stable", "Empty"; `None` when the broker does not report states.
    pub state: Option<String>,
}

test_util_pub! {
    /// One member of a described group.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MemberDescription {
        /// The member id the coordinator assigned.
        pub member_id: String,
        /// The client id the member sent.
        pub client_id: String,
        /// The host the member connected from.
        pub client_host: String,
        /// The member's partitions, decoded from the consumer protocol (empty for non-consumer
        /// groups and for members without an assignment yet).
        pub assignment: TopicPartitions,
    }
}

test_util_pub! {
    /// A group as DescribeGroups reports it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct GroupDescription {
        /// The consumer group id.
        pub group_id: String,
        /// "Stable", "Empty", "PreparingRebalance", "CompletingRebalance", "Dead".
        pub state: String,
        /// The group protocol type (`consumer` for consumer groups).
        pub protocol_type: String,
        /// The assignment strategy in use (e.g. "range"); empty when the group has no members.
        pub protocol: String,
        /// The members, in the order the coordinator lists them.
        pub members: Vec<MemberDescription>,
    }
}

impl GroupDescription {
    test_util_pub! {
        /// True when consumers are in the group: committing offsets for it from outside would
        /// race with them.
        pub fn has_active_members(&self) -> bool {
            !self.members.is_empty()
        }
    }
}

impl GroupAdmin {
    /// Group operations through `client`.
    pub fn new(client: Client) -> Self {
        GroupAdmin { client }
    }

    test_util_pub! {
        /// The client this admin sends through.
        pub fn client(&self) -> &Client {
            &self.client
        }
    }

    /// Every group of the cluster: ListGroups is sent to every broker (each knows only the
    /// groups it coordinates) and the answers merged, sorted by group id.
    pub async fn list_groups(&self) -> Result<Vec<ListedGroup>> {
        let metadata = self
            .client
            .retry(None, || self.client.refresh_metadata(Some(&[])))
            .await?;
        let requests = metadata
            .brokers
            .values()
            .map(|addr| self.list_groups_on(addr));
        let mut merged = BTreeMap::new();
        for answer in futures::future::join_all(requests).await {
            for group in answer? {
                merged.insert(group.group_id.clone(), group);
            }
        }
        Ok(merged.into_values().collect())
    }

    async fn list_groups_on(&self, addr: &str) -> Result<Vec<ListedGroup>> {
        self.client
            .retry(None, || async {
                let conn = self.client.connection(addr).await?;
                let response = conn.request(&ListGroupsRequest::default()).await?;
                if let Some(e) = BrokerError::from_code("ListGroups", response.error_code) {
                    return Err(e.with_broker(conn.broker()).into());
                }
                Ok(response
                    .groups
                    .into_iter()
                    .map(|g| ListedGroup {
                        group_id: g.group_id.0.as_str().to_string(),
                        protocol_type: g.protocol_type.as_str().to_string(),
                        state: Some(g.group_state.as_str().to_string()).filter(|s| !s.is_empty()),
                    })
                    .collect())
            })
            .await
    }

    test_util_pub! {
        /// Describes `groups`, each through its coordinator (one request per coordinator).
        /// Returned in input order. A group the broker reports an error for fails the call,
        /// naming the group; an unknown group is described as "Dead" with no members, as Kafka
        /// does.
        pub async fn describe_groups(&self, groups: &[String]) -> Result<Vec<GroupDescription>> {
            let outcomes = by_coordinator(&self.client, "DescribeGroups", groups, |conn, batch| {
                let request = DescribeGroupsRequest::default()
                    .with_groups(batch.iter().map(|g| GroupId(str_bytes(g))).collect());
                async move {
                    let response = conn.request(&request).await?;
                    let broker = conn.broker();
                    let mut out = Vec::new();
                    for g in response.groups {
                        let group_id = g.group_id.0.as_str().to_string();
                        if !batch.contains(&group_id) {
                            continue;
                        }
                        if g.error_code != 0 {
                            let e = group_error(
                                "DescribeGroups",
                                g.error_code,
                                &group_id,
                                broker,
                                g.error_message.as_ref().map(|m| m.as_str()),
                            );
                            out.push((group_id, Err(e)));
                            continue;
                        }
                        let protocol_type = g.protocol_type.as_str().to_string();
                        let mut members = Vec::new();
                        for m in g.members {
                            let member_id = m.member_id.as_str().to_string();
                            let assignment = if protocol_type == CONSUMER_PROTOCOL_TYPE {
                                decode_assignment(&m.member_assignment).map_err(|e| {
                                    Error::protocol(
                                        "DescribeGroups",
                                        broker,
                                        format!("group '{group_id}' member '{member_id}': {e}"),
                                    )
                                })?
                            } else {
                                Vec::new()
                            };
                            members.push(MemberDescription {
                                member_id,
                                client_id: m.client_id.as_str().to_string(),
                                client_host: m.client_host.as_str().to_string(),
                                assignment,
                            });
                        }
                        let description = GroupDescription {
                            group_id: group_id.clone(),
                            state: g.group_state.as_str().to_string(),
                            protocol_type,
                            protocol: g.protocol_data.as_str().to_string(),
                            members,
                        };
                        out.push((group_id, Ok(description)));
                    }
                    Ok(out)
                }
            })
            .await?;
            let mut out = Vec::with_capacity(groups.len());
            for group in groups {
                match outcomes.get(group) {
                    Some(Ok(d)) => out.push(d.clone()),
                    Some(Err(e)) => return Err(e.clone().into()),
                    None => {
                        return Err(Error::protocol(
                            "DescribeGroups",
                            "coordinator",
                            format!("no description of group '{group}'"),
                        ))
                    }
                }
            }
            Ok(out)
        }
    }

    #[cfg(feature = "test-util")]
    /// Deletes `groups` (they must have no active members: NON_EMPTY_GROUP otherwise).
    /// Returns each group's outcome in input order.
    pub async fn delete_groups(
        &self,
        groups: &[String],
    ) -> Result<Vec<(String, Result<(), BrokerError>)>> {
        let outcomes = by_coordinator(&self.client, "DeleteGroups", groups, |conn, batch| {
            let request = DeleteGroupsRequest::default()
                .with_groups_names(batch.iter().map(|g| GroupId(str_bytes(g))).collect());
            async move {
                let response = conn.request(&request).await?;
                Ok(response
                    .results
                    .into_iter()
                    .map(|r| {
                        let group_id = r.group_id.0.as_str().to_string();
                        let result = match r.error_code {
                            0 => Ok(()),
                            code => Err(group_error(
                                "DeleteGroups",
                                code,
                                &group_id,
                                conn.broker(),
                                None,
                            )),
                        };
                        (group_id, result)
                    })
                    .collect())
            }
        })
        .await?;
        Ok(groups
            .iter()
            .map(|g| {
                let result = outcomes
                    .get(g)
                    .cloned()
                    .unwrap_or_else(|| Err(BrokerError::new("DeleteGroups", -1)));
                (g.clone(), result)
            })
            .collect())
    }

    /// Whether `group` has active members (false for an unknown or empty group).
    pub async fn has_active_members(&self, group: &str) -> Result<bool> {
        let description = self.describe_groups(&[group.to_string()]).await?;
        Ok(description.iter().any(GroupDescription::has_active_members))
    }
}
