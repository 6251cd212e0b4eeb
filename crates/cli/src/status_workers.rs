//! `kreplicate status` across a worker group (`run --worker-group`): the status named by
//! `--metrics-url` lists every member of the group with its advertised metrics address
//! (`Status::worker`); each member's `/status` is read, a row per member says whether all
//! its partitions copy, and the replicator is READY only when every selected partition is
//! owned by a member and copying. The checklist then runs over all members' statuses
//! together.

use std::collections::BTreeSet;
use std::time::Duration;

use kreplicate_replicate::{PartitionState, Status};

use crate::status::{check, Check};
use crate::status_source;

/// One member of the group and what its status says.
#[derive(Debug, Clone)]
pub struct Worker {
    pub member: String,
    /// Its advertised metrics address (`host:port`), empty when it advertises none.
    pub address: String,
    /// Partitions the leader assigned it.
    pub assigned: u64,
    /// Its status, or why it cannot be read.
    pub status: Result<Status, String>,
}

/// The members listed in `s` (none outside a worker group), sorted by address.
fn members(s: &Status) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = s
        .worker
        .iter()
        .flat_map(|w| &w.members)
        .map(|m| {
            (
                m.member.clone(),
                m.address.clone().unwrap_or_default(),
                m.partitions,
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    out
}

/// Reads every member's status; `None` outside a worker group.
pub async fn read(s: &Status, timeout: Duration) -> Option<Vec<Worker>> {
    let listed = members(s);
    if listed.is_empty() {
        return None;
    }
    let reads = listed
        .into_iter()
        .map(|(member, address, assigned)| async move {
            let status = if address.is_empty() {
                Err("advertises no metrics address (run --advertise-metrics-addr)".to_string())
            } else {
                status_source::read(&format!("http://{address}/status"), timeout)
                    .await
                    .map_err(|e| e.to_string())
            };
            Worker {
                member,
                address,
                assigned,
                status,
            }
        });
    Some(futures::future::join_all(reads).await)
}

/// Every reachable member's status together, for the rest of the checklist: lists
/// concatenated, counts summed.
pub fn merged(workers: &[Worker]) -> Status {
    let mut out = Status::default();
    for s in workers.iter().filter_map(|w| w.status.as_ref().ok()) {
        out.clusters.extend(s.clusters.iter().cloned());
        out.partitions.extend(s.partitions.iter().cloned());
        out.groups.extend(s.groups.iter().cloned());
        out.topics += s.topics;
        out.records_copied += s.records_copied;
        out.bytes_copied += s.bytes_copied;
        out.replication_failures += s.replication_failures;
        out.offset_sync_failures += s.offset_sync_failures;
        out.consumer_groups += s.consumer_groups;
        out.consumer_lag.extend(s.consumer_lag.iter().cloned());
        out.missing_apis.extend(s.missing_apis.iter().cloned());
        // Every worker lists the same source.
        out.source_topics = out.source_topics.max(s.source_topics);
        out.unselected_source_topics
            .extend(s.unselected_source_topics.iter().cloned());
    }
    out.unselected_source_topics.sort_unstable();
    out.unselected_source_topics.dedup();
    out
}

/// A row per member, then whether every selected partition is owned and copying.
pub fn evaluate(workers: &[Worker]) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut selected: BTreeSet<(&str, i32)> = BTreeSet::new();
    let (mut owned, mut copying) = (0, 0);
    for w in workers {
        let name = if w.address.is_empty() {
            format!("worker {}", w.member)
        } else {
            format!("worker {}", w.address)
        };
        let s = match &w.status {
            Ok(s) => s,
            Err(why) => {
                checks.push(check(
                    name,
                    format!("unreadable: {why}"),
                    "reachable",
                    false,
                ));
                continue;
            }
        };
        // Every worker lists every selected partition (its topic refresh sees them all).
        selected.extend(s.partitions.iter().map(|p| (p.topic.as_str(), p.partition)));
        let its_owned = s.worker.as_ref().map_or(0, |w| w.owned_partitions);
        let its_copying = s
            .partitions
            .iter()
            .filter(|p| p.state == PartitionState::Copying)
            .count() as u64;
        owned += its_owned;
        copying += its_copying.min(its_owned);
        checks.push(check(
            name,
            format!(
                "{} assigned, {its_owned} owned, {its_copying} copying",
                w.assigned
            ),
            "owned = assigned = copying",
            its_owned == w.assigned && its_copying == its_owned,
        ));
    }
    let total = selected.len() as u64;
    checks.push(check(
        "partitions owned",
        format!("{owned} of {total}"),
        "every selected partition",
        total > 0 && owned == total,
    ));
    checks.push(check(
        "partitions owned and copying",
        format!("{copying} of {total}"),
        "every selected partition",
        total > 0 && copying == total,
    ));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker's status: `owned` partitions assigned and owned, `copying` of them copying
    /// (the rest of those owned halted), over 4 selected partitions of `t`.
    fn worker(address: &str, assigned: u64, owned: usize, copying: usize) -> Worker {
        let partitions: Vec<serde_json::Value> = (0..4)
            .map(|p| {
                let state = if p < copying {
                    serde_json::json!({"name": "copying"})
                } else if p < owned {
                    serde_json::json!({"name": "halted", "offset": 7, "reason": "refused"})
                } else {
                    serde_json::json!({"name": "not_started"})
                };
                serde_json::json!({"topic": "t", "partition": p, "state": state})
            })
            .collect();
        let status = serde_json::json!({
            "clusters": [],
            "partitions": partitions,
            "worker": {"owned_partitions": owned, "members": []}
        });
        Worker {
            member: format!("m-{address}"),
            address: address.into(),
            assigned,
            status: Ok(serde_json::from_value(status).unwrap()),
        }
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn ready_only_when_every_partition_is_owned_and_copying() {
        let ready = [worker("a:1", 2, 2, 2), worker("b:1", 2, 2, 2)];
        let checks = evaluate(&ready);
        assert!(failing(&checks).is_empty(), "{checks:?}");
        assert_eq!(checks[2].value, "4 of 4");

        // A member cannot be read.
        let mut unreachable = ready.clone();
        unreachable[1].status = Err("connection refused".into());
        assert_eq!(
            failing(&evaluate(&unreachable)),
            [
                "worker b:1",
                "partitions owned",
                "partitions owned and copying"
            ]
        );

        // A partition owned by nobody (a member's session is not confirmed: it owns 0 of
        // the 2 the leader gave it).
        let unowned = [worker("a:1", 2, 2, 2), worker("b:1", 2, 0, 0)];
        assert_eq!(
            failing(&evaluate(&unowned)),
            [
                "worker b:1",
                "partitions owned",
                "partitions owned and copying"
            ]
        );

        // Owned but not copying (halted).
        let halted = [worker("a:1", 2, 2, 2), worker("b:1", 2, 2, 1)];
        assert_eq!(
            failing(&evaluate(&halted)),
            ["worker b:1", "partitions owned and copying"]
        );

        // A member without an address is named by its id and cannot be read.
        let mut anonymous = ready.clone();
        anonymous[0].address.clear();
        anonymous[0].status = Err("advertises no metrics address".into());
        assert_eq!(failing(&evaluate(&anonymous))[0], "worker m-a:1");
    }

    #[test]
    fn members_are_listed_from_the_leaders_view() {
        let s: Status = serde_json::from_value(serde_json::json!({
            "clusters": [],
            "worker": {"owned_partitions": 0, "members": [
                {"member": "m2", "address": "b:9464", "partitions": 3},
                {"member": "m1", "address": "a:9464", "partitions": 5},
                {"member": "m0", "address": null, "partitions": 0}
            ]}
        }))
        .unwrap();
        assert_eq!(
            members(&s),
            [
                ("m0".to_string(), String::new(), 0),
                ("m1".to_string(), "a:9464".to_string(), 5),
                ("m2".to_string(), "b:9464".to_string(), 3)
            ]
        );
        assert!(members(&Status::default()).is_empty());
    }
}
