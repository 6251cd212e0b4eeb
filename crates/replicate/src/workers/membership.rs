//! One worker's membership in its replicator's worker group, run as a task of its own.
//!
//! Fencing without a store of our own: a worker copies a partition only while (1) the
//! group's current generation assigns it and (2) its session is confirmed — a heartbeat (or
//! join) sent less than 3/4 of the session timeout ago was answered. The coordinator drops a
//! member only a full session timeout after the last heartbeat it received, which is after the
//! worker sent it; so a worker cut off from the coordinator stops writing before its
//! partitions can be given to anyone else (Kafka's `GroupCoordinator` expires members at
//! `last heartbeat + session timeout`, `onExpireHeartbeat`). Revoked partitions are claimed
//! in the member metadata until their copiers stopped (writes acknowledged), and the
//! assignor never gives a claimed partition to another member (see [`super::assignment`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kreplicate_wire::client::Client;
use kreplicate_wire::group::{
    AssignError, GroupMember, GroupMemberConfig, GroupProtocol, HeartbeatOutcome,
};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::assignment::{
    assign, MemberAssignment, MemberMetadata, PartitionKey, UnreadableMetadata,
};
use crate::metrics::ReplicatorMetrics;
use crate::options::WorkerGroupOptions;

/// The share of the session timeout a worker keeps copying without a confirmed session.
const LEASE_NUM: u32 = 3;
const LEASE_DEN: u32 = 4;

/// The group's view of this worker, as the membership task last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) generation: i32,
    pub(crate) assignment: MemberAssignment,
    /// When the last heartbeat or join that the coordinator answered was sent.
    pub(crate) confirmed_at: Option<Instant>,
}

/// What the supervisor tells the group through the member metadata.
#[derive(Debug, Default)]
struct Claims {
    /// Partitions with a running copier.
    owned: BTreeSet<PartitionKey>,
    cluster_tasks: bool,
    /// The selected source partitions, as this worker's topic refresh last saw them.
    universe: BTreeSet<PartitionKey>,
    /// The universe of this worker's last assignment as leader.
    assigned_universe: Option<BTreeSet<PartitionKey>>,
    /// See [`MemberMetadata::rejoins`].
    rejoins: u64,
}

struct WorkerProtocol {
    claims: Arc<Mutex<Claims>>,
    metrics_address: Option<String>,
}

impl GroupProtocol for WorkerProtocol {
    fn protocol_type(&self) -> &str {
        super::PROTOCOL_TYPE
    }

    fn name(&self) -> &str {
        "sticky-cooperative-v1"
    }

    fn metadata(&self) -> Bytes {
        let claims = self.claims.lock().expect("claims lock");
        MemberMetadata {
            owned: claims.owned.clone(),
            cluster_tasks: claims.cluster_tasks,
            metrics_address: self.metrics_address.clone(),
            rejoins: claims.rejoins,
        }
        .encode()
    }

    fn assign(&self, members: &[(String, Bytes)]) -> Result<BTreeMap<String, Bytes>, AssignError> {
        let mut decoded = BTreeMap::new();
        for (id, bytes) in members {
            let meta = MemberMetadata::decode(bytes).map_err(|error| {
                AssignError::new(UnreadableMetadata {
                    member: id.clone(),
                    error,
                })
            })?;
            decoded.insert(id.clone(), meta);
        }
        let mut claims = self.claims.lock().expect("claims lock");
        let universe = claims.universe.clone();
        claims.assigned_universe = Some(universe.clone());
        Ok(assign(&decoded, &universe)
            .into_iter()
            .map(|(m, a)| (m, a.encode()))
            .collect())
    }
}

/// A read-only view of this worker's membership: what it may copy now.
#[derive(Clone)]
pub(crate) struct WorkerView {
    membership: watch::Receiver<Membership>,
    lease: Duration,
}

impl WorkerView {
    /// The partitions this worker may copy now and whether it runs the cluster tasks:
    /// nothing once its session is no longer confirmed.
    pub(crate) fn allowed(&self) -> (BTreeSet<PartitionKey>, bool) {
        let m = self.membership.borrow();
        match m.confirmed_at.map(|at| at + self.lease) {
            Some(end) if end > Instant::now() => {
                (m.assignment.partitions.clone(), m.assignment.cluster_tasks)
            }
            _ => (BTreeSet::new(), false),
        }
    }

    /// When the session stops being confirmed, unless a heartbeat is answered first.
    pub(crate) fn lease_end(&self) -> Option<Instant> {
        self.membership
            .borrow()
            .confirmed_at
            .map(|at| at + self.lease)
    }

    /// Resolves when the membership changed; `false` once the membership task is gone.
    pub(crate) async fn changed(&mut self) -> bool {
        self.membership.changed().await.is_ok()
    }
}

/// The supervisor's handle on the membership task.
pub(crate) struct WorkerLink {
    membership: watch::Receiver<Membership>,
    claims: Arc<Mutex<Claims>>,
    rejoin: Arc<Notify>,
    lease: Duration,
    heartbeat_interval: Duration,
    leave: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WorkerLink {
    /// Starts the membership task of a worker of `replicator` on `target`.
    pub(crate) fn start(
        target: Client,
        replicator: &str,
        options: &WorkerGroupOptions,
        metrics: Arc<ReplicatorMetrics>,
    ) -> Result<WorkerLink, kreplicate_wire::client::Error> {
        let claims = Arc::new(Mutex::new(Claims::default()));
        let protocol = Arc::new(WorkerProtocol {
            claims: claims.clone(),
            metrics_address: options.metrics_address.clone(),
        });
        let group = super::group_id(replicator);
        let config = GroupMemberConfig {
            group_id: group.clone(),
            topics: Vec::new(),
            session_timeout: options.session_timeout,
            rebalance_timeout: options.rebalance_timeout,
        };
        let member = GroupMember::with_protocol(target, config, protocol)?;
        let (publish, membership) = watch::channel(Membership::default());
        let (leave, leaving) = watch::channel(false);
        let rejoin = Arc::new(Notify::new());
        let task = tokio::spawn(run_member(
            member,
            group,
            options.heartbeat_interval,
            options.session_timeout,
            publish,
            leaving,
            rejoin.clone(),
            claims.clone(),
            metrics,
        ));
        Ok(WorkerLink {
            membership,
            claims,
            rejoin,
            lease: options.session_timeout * LEASE_NUM / LEASE_DEN,
            heartbeat_interval: options.heartbeat_interval,
            leave,
            task: Some(task),
        })
    }

    /// See [`WorkerView::allowed`].
    pub(crate) fn allowed(&self) -> (BTreeSet<PartitionKey>, bool) {
        self.view().allowed()
    }

    /// A view for tasks beside the supervisor.
    pub(crate) fn view(&self) -> WorkerView {
        WorkerView {
            membership: self.membership.clone(),
            lease: self.lease,
        }
    }

    /// Partitions revoked from this worker in the current generation.
    pub(crate) fn revoked(&self) -> BTreeSet<PartitionKey> {
        self.membership.borrow().assignment.revoked.clone()
    }

    /// How often this worker heartbeats.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// The generation of the current assignment (0 before the first).
    pub(crate) fn generation(&self) -> i32 {
        self.membership.borrow().generation
    }

    /// See [`WorkerView::lease_end`].
    pub(crate) fn lease_end(&self) -> Option<Instant> {
        self.view().lease_end()
    }

    /// Resolves when the membership changed (a new generation, a heartbeat answered).
    pub(crate) async fn changed(&mut self) {
        if self.membership.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// What this worker holds now (told to the group at the next join).
    pub(crate) fn claim(&self, owned: impl IntoIterator<Item = PartitionKey>, cluster_tasks: bool) {
        let mut c = self.claims.lock().expect("claims lock");
        c.owned = owned.into_iter().collect();
        c.cluster_tasks = cluster_tasks;
    }

    /// The selected source partitions (the leader assigns these).
    pub(crate) fn set_universe(&self, universe: BTreeSet<PartitionKey>) {
        self.claims.lock().expect("claims lock").universe = universe;
    }

    /// Rejoin now: revoked partitions are stopped, and others wait for them.
    pub(crate) fn rejoin(&self) {
        self.rejoin.notify_one();
    }

    /// The gate of the cluster-level tasks that run beside the data path.
    pub(crate) fn cluster_task_gate(&self) -> super::cluster_tasks::ClusterTaskGate {
        super::cluster_tasks::ClusterTaskGate { view: self.view() }
    }

    /// Leaves the group (after the data path stopped), so the others rebalance at once.
    pub(crate) async fn leave(mut self) {
        let _ = self.leave.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WorkerLink {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_member(
    mut member: GroupMember,
    group: String,
    heartbeat_interval: Duration,
    session_timeout: Duration,
    publish: watch::Sender<Membership>,
    mut leaving: watch::Receiver<bool>,
    rejoin: Arc<Notify>,
    claims: Arc<Mutex<Claims>>,
    metrics: Arc<ReplicatorMetrics>,
) {
    let mut failures = 0u32;
    // A stop that interrupts a join: the coordinator gave this worker nothing yet.
    let mut join_pending = false;
    'join: loop {
        let sent = Instant::now();
        let joined = tokio::select! {
            j = member.join() => j,
            _ = leaving.wait_for(|l| *l) => {
                join_pending = true;
                break 'join;
            }
        };
        let generation = match joined {
            Ok(g) => g,
            Err(e) => {
                failures += 1;
                tracing::warn!(group = %group, error = %e, "cannot join the worker group; trying again");
                let wait = heartbeat_interval * failures.min(10);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue 'join,
                    _ = leaving.wait_for(|l| *l) => break 'join,
                }
            }
        };
        failures = 0;
        let assignment = match MemberAssignment::decode(&generation.raw_assignment) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(group = %group, error = %e, "the worker group's leader sent an assignment this version cannot read: run the same kreplicate version on every worker; rejoining");
                publish.send_modify(|m| m.confirmed_at = None);
                tokio::time::sleep(heartbeat_interval).await;
                continue 'join;
            }
        };
        tracing::info!(group = %group, generation = generation.generation_id, member = %generation.member_id,
            leader = generation.is_leader(), partitions = assignment.partitions.len(), revoked = assignment.revoked.len(),
            cluster_tasks = assignment.cluster_tasks, "worker group generation");
        metrics.worker_rebalances.inc();
        metrics
            .worker_generation
            .set(generation.generation_id as i64);
        metrics.worker_group_members.clear();
        for v in &assignment.members {
            metrics
                .worker_group_members
                .get_or_create(&vec![
                    ("member".to_string(), v.member_id.clone()),
                    (
                        "address".to_string(),
                        v.metrics_address.clone().unwrap_or_default(),
                    ),
                ])
                .set(v.partitions as i64);
        }
        metrics
            .board
            .set_worker_members(assignment.members.iter().map(|v| {
                (
                    v.member_id.clone(),
                    v.metrics_address.clone(),
                    v.partitions as u64,
                )
            }));
        let leader = generation.is_leader();
        publish.send_replace(Membership {
            generation: generation.generation_id,
            assignment,
            confirmed_at: Some(sent),
        });
        // The first heartbeat goes at once: a join is only confirmed as of when it was sent,
        // which on a slow coordinator (Tansu: about half the session timeout) is long ago.
        let mut ticker = tokio::time::interval(heartbeat_interval);
        loop {
            let mut deliberate = false;
            tokio::select! {
                _ = ticker.tick() => {}
                _ = rejoin.notified() => {
                    tracing::info!(group = %group, "revoked partitions stopped; rejoining so others may take them");
                    deliberate = true;
                }
                _ = leaving.wait_for(|l| *l) => break 'join,
            }
            if leader && !deliberate {
                let c = claims.lock().expect("claims lock");
                if c.assigned_universe.as_ref() != Some(&c.universe) {
                    tracing::info!(group = %group, "the selected partitions changed; rebalancing");
                    deliberate = true;
                }
            }
            let sent = Instant::now();
            match member.heartbeat().await {
                Ok(HeartbeatOutcome::Stable) => {
                    publish.send_modify(|m| m.confirmed_at = Some(sent));
                    // A deliberate rejoin goes right after a confirmed heartbeat, so the
                    // session stays confirmed through the join.
                    if deliberate {
                        claims.lock().expect("claims lock").rejoins += 1;
                        continue 'join;
                    }
                }
                Ok(HeartbeatOutcome::Rejoin(reason)) => {
                    tracing::info!(group = %group, ?reason, "worker group rebalancing");
                    if !matches!(
                        reason,
                        kreplicate_wire::group::RejoinReason::RebalanceInProgress
                    ) {
                        // Dropped by the coordinator: the partitions may be someone else's.
                        publish.send_modify(|m| m.confirmed_at = None);
                    }
                    continue 'join;
                }
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "worker group heartbeat failed; rejoining");
                    continue 'join;
                }
            }
        }
    }
    publish.send_modify(|m| m.confirmed_at = None);
    // Past the session timeout the coordinator has dropped us anyway. With a join pending
    // there is nothing to hand over, and the coordinator answers our LeaveGroup only after
    // that join (one connection, in order; Tansu: half the session timeout): the LeaveGroup
    // is sent, but a stop does not wait more than a heartbeat interval for its answer.
    let wait = if join_pending {
        heartbeat_interval
    } else {
        session_timeout
    };
    match tokio::time::timeout(wait, member.leave()).await {
        Ok(Ok(())) => tracing::info!(group = %group, "left the worker group"),
        Ok(Err(e)) => {
            tracing::warn!(group = %group, error = %e, "could not leave the worker group: the others wait for the session timeout")
        }
        Err(_) => {
            tracing::warn!(group = %group, "leaving the worker group timed out: the others wait for the session timeout")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_from_another_version_fails_the_assignment_naming_the_member() {
        let protocol = WorkerProtocol {
            claims: Arc::new(Mutex::new(Claims::default())),
            metrics_address: None,
        };
        let members = [
            ("w-1".to_string(), MemberMetadata::default().encode()),
            ("w-2".to_string(), Bytes::from_static(b"v2:owned=0,1")),
        ];
        let e = protocol.assign(&members).unwrap_err();
        assert_eq!(
            e.to_string(),
            "member 'w-2' sent metadata this version cannot read (expected value at line 1 \
             column 1): run the same kreplicate version on every worker of a replicator"
        );
        // Nothing was assigned.
        assert_eq!(protocol.claims.lock().unwrap().assigned_universe, None);
    }
}
