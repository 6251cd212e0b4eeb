//! Committed offsets of a group: fetching them, and committing them from outside the group.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};

use super::admin::GroupAdmin;
use super::coordinator::{group_error, is_coordinator_error, with_coordinator};
use crate::admin::str_bytes;
use crate::client::{Error, Result};
use crate::protocol::BrokerError;

/// A group's committed position in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The next offset the group will consume.
    pub offset: i64,
    /// The metadata string committed with the offset.
    pub metadata: Option<String>,
    /// The leader epoch of the record before `offset`, when the committer gave it.
    pub leader_epoch: Option<i32>,
}

/// One partition's offset to commit with [`GroupAdmin::commit_offsets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetToCommit {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The next offset the group will consume (never negative).
    pub offset: i64,
    /// The metadata string to commit with the offset; `None` commits none.
    pub metadata: Option<String>,
}

/// One partition's row of an OffsetFetch answer: its error or its offset.
type FetchedRow = (
    (String, i32),
    std::result::Result<CommittedOffset, BrokerError>,
);

/// One partition of an OffsetFetch response, whichever its version's shape.
struct RawRow {
    topic: String,
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: Option<String>,
    error_code: i16,
}

/// The OffsetFetch request for `version`: v1-7 name one group at the top level, v8+ a list
/// of groups. `None` topics asks for every partition the group has committed to.
fn offset_fetch_request(
    version: i16,
    group: &str,
    wanted: Option<BTreeMap<String, Vec<i32>>>,
) -> OffsetFetchRequest {
    let group_id = GroupId(str_bytes(group));
    if version >= 8 {
        let topics = wanted.map(|w| {
            w.into_iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopics::default()
                        .with_name(TopicName(str_bytes(&t)))
                        .with_partition_indexes(ps)
                })
                .collect()
        });
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(group_id)
            .with_topics(topics)])
    } else {
        let topics = wanted.map(|w| {
            w.into_iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopic::default()
                        .with_name(TopicName(str_bytes(&t)))
                        .with_partition_indexes(ps)
                })
                .collect()
        });
        OffsetFetchRequest::default()
            .with_group_id(group_id)
            .with_topics(topics)
    }
}

/// The group-level error code and the partition rows of `response` (either shape).
fn fetched_rows(response: OffsetFetchResponse, group: &str) -> (i16, Vec<RawRow>) {
    let mut rows = Vec::new();
    if response.groups.is_empty() {
        for t in response.topics {
            let topic = t.name.0.as_str().to_string();
            rows.extend(t.partitions.into_iter().map(|p| RawRow {
                topic: topic.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.metadata.map(|m| m.as_str().to_string()),
                error_code: p.error_code,
            }));
        }
        return (response.error_code, rows);
    }
    let mut code = 0;
    for g in response.groups {
        if g.group_id.0.as_str() != group {
            continue;
        }
        code = g.error_code;
        for t in g.topics {
            let topic = t.name.0.as_str().to_string();
            rows.extend(t.partitions.into_iter().map(|p| RawRow {
                topic: topic.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.metadata.map(|m| m.as_str().to_string()),
                error_code: p.error_code,
            }));
        }
    }
    (code, rows)
}

impl GroupAdmin {
    /// The offsets `group` has committed, for `partitions` or (with `None`) for every
    /// partition it has committed to. Partitions without a committed offset are absent.
    /// A partition-level error fails the call, naming the topic and partition.
    pub async fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<BTreeMap<(String, i32), CommittedOffset>> {
        let wanted: Option<BTreeMap<String, Vec<i32>>> = partitions.map(|ps| {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (t, p) in ps {
                by_topic.entry(t.clone()).or_default().push(*p);
            }
            by_topic
        });
        let rows = with_coordinator(self.client(), group, |conn| {
            let wanted = wanted.clone();
            async move {
                let broker = conn.broker();
                if wanted.is_none() && conn.version_of::<OffsetFetchRequest>()? < 2 {
                    return Err(Error::protocol(
                        "OffsetFetch",
                        broker,
                        "the broker cannot fetch all of a group's offsets (OffsetFetch v2+ needed)",
                    ));
                }
                let (_, response) = conn
                    .request_with(|version| offset_fetch_request(version, group, wanted))
                    .await?;
                let (group_code, fetched) = fetched_rows(response, group);
                if group_code != 0 {
                    let e = group_error("OffsetFetch", group_code, group, broker, None);
                    return Err(e.into());
                }
                let mut rows: Vec<FetchedRow> = Vec::new();
                for row in fetched {
                    let result = match BrokerError::from_code("OffsetFetch", row.error_code) {
                        // v1 reports group-level errors on every partition.
                        Some(e) if is_coordinator_error(&e) => {
                            return Err(group_error(
                                "OffsetFetch",
                                row.error_code,
                                group,
                                broker,
                                None,
                            )
                            .into())
                        }
                        Some(e) => Err(e
                            .with_broker(broker)
                            .with_partition(row.topic.as_str(), row.partition)
                            .with_message(Some(format!("group '{group}'")))),
                        None => Ok(CommittedOffset {
                            offset: row.offset,
                            metadata: row.metadata,
                            leader_epoch: (row.leader_epoch >= 0).then_some(row.leader_epoch),
                        }),
                    };
                    rows.push(((row.topic, row.partition), result));
                }
                Ok(rows)
            }
        })
        .await?;
        let mut out = BTreeMap::new();
        for (tp, row) in rows {
            let committed = row?;
            // -1: nothing committed for this partition.
            if committed.offset >= 0 {
                out.insert(tp, committed);
            }
        }
        Ok(out)
    }

    /// Commits `offsets` for `group` from outside the group (generation -1, no member id), as tools that reset or copy offsets do. The
    /// group must have no active members (the coordinator rejects the commit otherwise).
    /// Returns each partition's outcome; coordinator moves are retried.
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &[OffsetToCommit],
    ) -> Result<BTreeMap<(String, i32), Result<(), BrokerError>>> {
        if let Some(c) = offsets.iter().find(|c| c.offset < 0 || c.partition < 0) {
            return Err(Error::Config(format!(
                "cannot commit offset {} for {}-{} of group '{group}': offsets and partitions \
                 are never negative",
                c.offset, c.topic, c.partition
            )));
        }
        let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for c in offsets {
            by_topic.entry(c.topic.as_str()).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(c.partition)
                    .with_committed_offset(c.offset)
                    .with_committed_metadata(c.metadata.as_deref().map(str_bytes)),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(str_bytes(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(str_bytes(""))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(str_bytes(t)))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        with_coordinator(self.client(), group, |conn| {
            let request = &request;
            async move {
                let response = conn.request(request).await?;
                let broker = conn.broker();
                let mut out = BTreeMap::new();
                for t in response.topics {
                    let topic = t.name.0.as_str().to_string();
                    for p in t.partitions {
                        let result = match BrokerError::from_code("OffsetCommit", p.error_code) {
                            // The whole commit went to the wrong broker: ask again.
                            Some(e) if is_coordinator_error(&e) => {
                                return Err(group_error(
                                    "OffsetCommit",
                                    p.error_code,
                                    group,
                                    broker,
                                    None,
                                )
                                .into())
                            }
                            Some(e) => Err(e
                                .with_broker(broker)
                                .with_partition(topic.as_str(), p.partition_index)
                                .with_message(Some(format!("group '{group}'")))),
                            None => Ok(()),
                        };
                        out.insert((topic.clone(), p.partition_index), result);
                    }
                }
                if let Some(c) = offsets
                    .iter()
                    .find(|c| !out.contains_key(&(c.topic.clone(), c.partition)))
                {
                    return Err(Error::protocol(
                        "OffsetCommit",
                        broker,
                        format!(
                            "group '{group}': the response has no result for {}-{}",
                            c.topic, c.partition
                        ),
                    ));
                }
                Ok(out)
            }
        })
        .await
    }
}
