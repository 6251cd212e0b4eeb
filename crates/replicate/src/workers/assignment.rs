//! The worker group's assignor: balanced, sticky and cooperative (Kafka's
//! CooperativeStickyAssignor, KIP-429), over source partitions plus one "cluster tasks" slot.
//!
//! Cooperative means a partition never goes from one member straight to another in one
//! generation: the leader first takes it from its owner only; the owner stops copying it
//! (its writes acknowledged), then rejoins without claiming it, and only that next generation
//! gives it to someone else. So a partition is never assigned while a member still claims it,
//! and a partition that does not move keeps copying through the rebalance.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A source partition: (topic, partition).
pub(crate) type PartitionKey = (String, i32);

/// What a member tells the group when it joins (JoinGroup member metadata, JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberMetadata {
    /// Partitions this member is still copying (not yet stopped): never given to another.
    pub(crate) owned: BTreeSet<PartitionKey>,
    /// Whether it runs the cluster-level tasks now.
    pub(crate) cluster_tasks: bool,
    /// Where its metrics are served (`host:port`), for `kreplicate status`.
    #[serde(default)]
    pub(crate) metrics_address: Option<String>,
    /// Counts this member's deliberate rejoins. Some coordinators (Tansu 0.6) answer a
    /// rejoin with unchanged metadata from the current generation instead of rebalancing
    /// (Kafka rebalances when the leader rejoins); a new value makes the rejoin a rebalance
    /// everywhere.
    #[serde(default)]
    pub(crate) rejoins: u64,
}

/// What the leader gives a member (SyncGroup assignment, JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberAssignment {
    pub(crate) partitions: BTreeSet<PartitionKey>,
    /// Topic discovery and creation, config and ACL copy, consumer-group offset sync.
    pub(crate) cluster_tasks: bool,
    /// Partitions taken from it that others wait for: rejoin once they are stopped.
    pub(crate) revoked: BTreeSet<PartitionKey>,
    /// Every member and what it was given (for `kreplicate status`).
    #[serde(default)]
    pub(crate) members: Vec<MemberView>,
}

/// One member as the leader saw it in a generation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberView {
    pub(crate) member_id: String,
    pub(crate) metrics_address: Option<String>,
    pub(crate) partitions: usize,
    pub(crate) cluster_tasks: bool,
}

impl MemberMetadata {
    pub(crate) fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("plain data serializes"))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// A member's metadata the leader cannot read: most likely another kreplicate version.
#[derive(Debug, thiserror::Error)]
// The JSON error is part of the one-line message (not a `source`, which would repeat it).
#[error(
    "member '{member}' sent metadata this version cannot read ({error}): run the same \
     kreplicate version on every worker of a replicator"
)]
pub(crate) struct UnreadableMetadata {
    /// The member id.
    pub(crate) member: String,
    /// Why its JSON did not decode.
    pub(crate) error: serde_json::Error,
}

impl MemberAssignment {
    pub(crate) fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("plain data serializes"))
    }

    /// An empty assignment (what a member the leader left out gets) decodes as nothing.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        if bytes.is_empty() {
            return Ok(MemberAssignment::default());
        }
        serde_json::from_slice(bytes)
    }
}

/// Assigns `partitions` over `members` (member id → metadata; ids in order).
///
/// 1. A partition claimed by several members (which the lease rule should make impossible)
///    is taken from all of them.
/// 2. Each member keeps what it owns up to its quota (⌈P/n⌉ for the first P mod n members by
///    owned count, ⌊P/n⌋ for the others); the rest is revoked and given to nobody yet.
/// 3. Partitions nobody claims fill the members below quota.
///
/// The cluster tasks stay with their holder, else go to the first member.
pub(crate) fn assign(
    members: &BTreeMap<String, MemberMetadata>,
    partitions: &BTreeSet<PartitionKey>,
) -> BTreeMap<String, MemberAssignment> {
    let mut out: BTreeMap<String, MemberAssignment> = members
        .keys()
        .map(|m| (m.clone(), MemberAssignment::default()))
        .collect();
    if members.is_empty() {
        return out;
    }
    let mut claims: BTreeMap<&PartitionKey, Vec<&String>> = BTreeMap::new();
    for (m, meta) in members {
        for p in &meta.owned {
            claims.entry(p).or_default().push(m);
        }
    }
    // Kept: owned by exactly one member and still selected. Everything else claimed is revoked.
    let mut kept: BTreeMap<&String, Vec<&PartitionKey>> = BTreeMap::new();
    for (p, owners) in &claims {
        if owners.len() == 1 && partitions.contains(*p) {
            kept.entry(owners[0]).or_default().push(p);
        } else {
            for m in owners {
                out.get_mut(*m)
                    .expect("a member")
                    .revoked
                    .insert((*p).clone());
            }
        }
    }
    let n = members.len();
    let (base, extra) = (partitions.len() / n, partitions.len() % n);
    let mut order: Vec<&String> = members.keys().collect();
    order.sort_by_key(|m| std::cmp::Reverse(kept.get(m).map_or(0, Vec::len)));
    let quota: BTreeMap<&String, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (*m, base + usize::from(i < extra)))
        .collect();
    for (m, owned) in &kept {
        let a = out.get_mut(*m).expect("a member");
        for (i, p) in owned.iter().enumerate() {
            if i < quota[m] {
                a.partitions.insert((*p).clone());
            } else {
                a.revoked.insert((*p).clone());
            }
        }
    }
    let mut free = partitions.iter().filter(|p| !claims.contains_key(p));
    for m in members.keys() {
        let a = out.get_mut(m).expect("a member");
        while a.partitions.len() < quota[&m] {
            match free.next() {
                Some(p) => {
                    a.partitions.insert(p.clone());
                }
                None => break,
            }
        }
    }
    let holder = members
        .iter()
        .find(|(_, meta)| meta.cluster_tasks)
        .map(|(m, _)| m)
        .unwrap_or_else(|| members.keys().next().expect("not empty"));
    out.get_mut(holder).expect("a member").cluster_tasks = true;
    let views: Vec<MemberView> = out
        .iter()
        .map(|(m, a)| MemberView {
            member_id: m.clone(),
            metrics_address: members[m].metrics_address.clone(),
            partitions: a.partitions.len(),
            cluster_tasks: a.cluster_tasks,
        })
        .collect();
    for a in out.values_mut() {
        a.members = views.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(n: i32) -> BTreeSet<PartitionKey> {
        (0..n).map(|p| ("t".to_string(), p)).collect()
    }

    fn owning(owned: &[i32], cluster_tasks: bool) -> MemberMetadata {
        MemberMetadata {
            owned: owned.iter().map(|p| ("t".to_string(), *p)).collect(),
            cluster_tasks,
            metrics_address: None,
            rejoins: 0,
        }
    }

    /// Plays rebalances to the end: revoked partitions are dropped by their owners, who
    /// rejoin; returns the stable assignment and checks no partition ever has two owners.
    fn settle(
        mut members: BTreeMap<String, MemberMetadata>,
        partitions: &BTreeSet<PartitionKey>,
    ) -> (BTreeMap<String, MemberAssignment>, usize) {
        for round in 1..10 {
            let out = assign(&members, partitions);
            // Never given to one member while another still owns it.
            for (m, a) in &out {
                for p in &a.partitions {
                    for (other, meta) in &members {
                        assert!(
                            other == m || !meta.owned.contains(p),
                            "{p:?} given to {m} while {other} owns it"
                        );
                    }
                }
            }
            let stable = out.values().all(|a| a.revoked.is_empty());
            for (m, a) in &out {
                let meta = members.get_mut(m).unwrap();
                meta.owned = a.partitions.clone();
                meta.cluster_tasks = a.cluster_tasks;
            }
            if stable {
                return (out, round);
            }
        }
        panic!("did not settle");
    }

    #[test]
    fn balanced_every_partition_once_and_one_cluster_task_holder() {
        for n in 1..7 {
            for count in 0..30 {
                let members = (0..n)
                    .map(|i| (format!("m{i}"), MemberMetadata::default()))
                    .collect();
                let (out, _) = settle(members, &parts(count));
                let mut all: Vec<_> = out
                    .values()
                    .flat_map(|a| a.partitions.iter().cloned())
                    .collect();
                all.sort();
                assert_eq!(all, parts(count).into_iter().collect::<Vec<_>>());
                let sizes: Vec<usize> = out.values().map(|a| a.partitions.len()).collect();
                assert!(
                    sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                    "{sizes:?}"
                );
                assert_eq!(out.values().filter(|a| a.cluster_tasks).count(), 1);
            }
        }
    }

    #[test]
    fn a_new_member_takes_only_what_must_move_and_nothing_moves_twice() {
        // Two members with 12 each; a third joins: 4 move from each, the 16 others stay.
        let mut members = BTreeMap::from([
            ("a".to_string(), owning(&(0..12).collect::<Vec<_>>(), true)),
            (
                "b".to_string(),
                owning(&(12..24).collect::<Vec<_>>(), false),
            ),
            ("c".to_string(), MemberMetadata::default()),
        ]);
        let first = assign(&members, &parts(24));
        assert_eq!(first["a"].partitions.len(), 8);
        assert_eq!(first["a"].revoked.len(), 4);
        assert_eq!(first["b"].partitions.len(), 8);
        assert!(
            first["c"].partitions.is_empty(),
            "nothing given while still owned"
        );
        assert!(first["a"].cluster_tasks);
        for (m, a) in &first {
            members.get_mut(m).unwrap().owned = a.partitions.clone();
        }
        let second = assign(&members, &parts(24));
        assert_eq!(second["a"].partitions, first["a"].partitions);
        assert_eq!(second["b"].partitions, first["b"].partitions);
        assert_eq!(second["c"].partitions.len(), 8);
        assert!(second.values().all(|a| a.revoked.is_empty()));
    }

    #[test]
    fn a_member_gone_frees_its_partitions_at_once_and_the_cluster_tasks_move() {
        let members = BTreeMap::from([
            ("b".to_string(), owning(&(8..16).collect::<Vec<_>>(), false)),
            (
                "c".to_string(),
                owning(&(16..24).collect::<Vec<_>>(), false),
            ),
        ]);
        let out = assign(&members, &parts(24));
        assert_eq!(out["b"].partitions.len(), 12);
        assert_eq!(out["c"].partitions.len(), 12);
        assert!(out["b"].partitions.is_superset(&members["b"].owned));
        assert!(out["c"].partitions.is_superset(&members["c"].owned));
        assert_eq!(out.values().filter(|a| a.cluster_tasks).count(), 1);
    }

    #[test]
    fn a_partition_claimed_twice_is_taken_from_both() {
        let members = BTreeMap::from([
            ("a".to_string(), owning(&[0, 1], false)),
            ("b".to_string(), owning(&[1, 2], true)),
        ]);
        let out = assign(&members, &parts(4));
        assert!(!out["a"].partitions.contains(&("t".into(), 1)));
        assert!(!out["b"].partitions.contains(&("t".into(), 1)));
        assert!(out["a"].revoked.contains(&("t".into(), 1)));
        assert!(out["b"].revoked.contains(&("t".into(), 1)));
        assert!(out["b"].cluster_tasks && !out["a"].cluster_tasks);
    }

    #[test]
    fn metadata_and_assignment_round_trip_and_empty_is_nothing() {
        let meta = MemberMetadata {
            owned: parts(3),
            cluster_tasks: true,
            metrics_address: Some("127.0.0.1:9000".into()),
            rejoins: 3,
        };
        assert_eq!(MemberMetadata::decode(&meta.encode()).unwrap(), meta);
        assert_eq!(
            MemberAssignment::decode(&[]).unwrap(),
            MemberAssignment::default()
        );
        assert!(MemberMetadata::decode(b"not json").is_err());
    }
}
