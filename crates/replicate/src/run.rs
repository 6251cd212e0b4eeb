//! The engine's supervisor: keeps one copier per replicated source partition, adds copiers as
//! topics and partitions appear, and stops everything gracefully on request.
//!
//! Failures are contained: a write the target refuses halts only its partition (see
//! [`crate::refusal`]), which is retried with capped backoff on the same producer (its halted
//! partition reset) and resumes by itself once the cause is fixed; a copier that panics is
//! restarted the same way, and halted for good after repeated panics. Only connection,
//! deadline and coordinator errors restart the whole data path with a fresh producer, with
//! capped backoff (`kreplicate_data_path_restarts_total`).
//!
//! Restarting a partition is always safe because a copier's start position comes from the
//! target itself, read again at each restart (header mode: the provenance of the last copied
//! record, bounded by the last checkpoint; batch mode: the copies of our registered producer
//! ids after the last checkpoint, matched with the source): nothing acknowledged is copied
//! again and nothing unacknowledged is skipped. Every producer id is registered on the target
//! before anything is written with it (see [`crate::producer_registry`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_wire::client::{Backoff, RetryPolicy};
use tokio::task::{Id as TaskId, JoinError};
use tokio::time::Instant;

use kreplicate_codec::Compression as WireCompression;
use kreplicate_offsets::OffsetMaps;
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{
    high_watermark, log_start_offset, FetchConfig, IsolationLevel, SharedFetcher,
};
use kreplicate_wire::producer::{Producer, ProducerConfig};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::checkpoint::{self, Checkpoint, CheckpointKey};
use crate::cluster_client::Role;
use crate::config::{Compression, ReplicatorConfig, StartingPosition};
use crate::copier::{run_copier, CopierExit, CopierSetup, DataPathError};
use crate::error::EngineError;
use crate::metrics::{cluster_labels, topic_labels, ReplicatorMetrics};
use crate::options::{DataMode, EngineOptions};
use crate::producer_registry::{self, Registry, RegistryEntry};
use crate::provenance::ClusterFingerprint;
use crate::refusal::Refusal;
use crate::resume::{BatchResume, BatchResumeError, ResumePoint};
use crate::topics::{ReplicatedTopic, TopicSync};
use crate::workers::fence::Stops;
use crate::workers::membership::WorkerLink;

type PartitionKey = (String, i32);

struct Supervisor {
    config: Arc<ReplicatorConfig>,
    options: EngineOptions,
    source: Client,
    target: Client,
    metrics: Arc<ReplicatorMetrics>,
    source_fp: ClusterFingerprint,
    target_fp: ClusterFingerprint,
    /// Partitions not copying: refused by the target or panicked (retried), or unable to
    /// continue until the operator intervenes (e.g. a corrupt batch).
    halted: HashMap<PartitionKey, Halted>,
    /// The last halt of each partition that halted, to tell a retry refused again (same
    /// offset: backoff continues, logged as still halted) from a new halt.
    last_halt: HashMap<PartitionKey, (i64, Backoff)>,
    /// See [`CopierSetup::careful_until`]; set after a refused batch of several records.
    careful_until: HashMap<PartitionKey, i64>,
    /// Copier panics per partition.
    panics: HashMap<PartitionKey, u32>,
    /// The replicated topics by source name, as last synced.
    known_topics: HashMap<String, ReplicatedTopic>,
    topics: TopicSync,
    offset_maps: Arc<Mutex<OffsetMaps>>,
    /// The producer registries (see [`crate::producer_registry`]): the source's tells batches
    /// that came from the target, the target's tells our own copies.
    source_registry: Arc<Registry>,
    target_registry: Arc<Registry>,
    reverse_maps: Arc<crate::groups::reverse_maps::ReverseMaps>,
    /// In a worker group: which partitions this worker may copy (see [`crate::workers`]).
    workers: Option<WorkerLink>,
    /// The generation whose revoked partitions this worker already reported stopped.
    rejoined_for: i32,
}

/// A partition that stopped copying.
struct Halted {
    /// When set, the partition is started again then.
    retry_at: Option<Instant>,
    /// The source offset it halted at, when known (not after a copier panic).
    offset: Option<i64>,
    /// Why, as logged (for [`crate::status`]).
    reason: String,
}

/// One producer's data path: everything the copiers of a generation share.
struct Generation {
    producer: Arc<Producer>,
    fetcher: SharedFetcher,
    checkpoints: HashMap<CheckpointKey, Checkpoint>,
    /// Producer ids registered on the target by this generation.
    registered: HashSet<i64>,
    /// Each copier's stop: all at the generation's end, one when its partition is revoked.
    stops: Stops,
    /// In a worker group: stops copiers the moment this worker may no longer write them.
    fence: Option<tokio::task::JoinHandle<()>>,
    copiers: JoinSet<(PartitionKey, CopierExit)>,
    /// Which partition each copier task copies, to tell whose task panicked.
    tasks: HashMap<TaskId, PartitionKey>,
    running: HashSet<PartitionKey>,
}

/// How a partition starts.
// A halt is rare and short-lived; boxing the setup would only add noise.
#[allow(clippy::large_enum_variant)]
enum Start {
    Copy(CopierSetup),
    /// It cannot continue until the operator intervenes (reported like a copier's halt).
    Halt {
        offset: i64,
        message: String,
    },
}

/// Why a resume point could not be read.
enum ResumeFailure {
    Engine(EngineError),
    /// The partition cannot continue until the operator intervenes.
    Halt {
        offset: i64,
        message: String,
    },
}

enum GenerationEnd {
    Stopped,
    Restart(Box<DataPathError>),
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    config: Arc<ReplicatorConfig>,
    options: EngineOptions,
    source: Client,
    target: Client,
    metrics: Arc<ReplicatorMetrics>,
    offset_maps: Arc<Mutex<OffsetMaps>>,
    workers: Option<WorkerLink>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    metrics.expose_clusters(&config.source.alias, &config.target.alias);
    let target_error =
        |source| EngineError::cluster(Role::Target, config.target.id.clone(), source);
    checkpoint::ensure_topic(&target)
        .await
        .map_err(target_error)?;
    producer_registry::ensure_topic(&target)
        .await
        .map_err(target_error)?;
    let source_registry = Arc::new(Registry::new(source.clone()));
    let target_registry = Arc::new(Registry::new(target.clone()));
    let reverse_maps = Arc::new(crate::groups::reverse_maps::ReverseMaps::new(
        source.clone(),
    ));
    // Before anything is copied (the probe repeats it): a missing API is in the metrics from
    // the start.
    for (client, cluster, role) in [
        (&source, &config.source.alias, Role::Source),
        (&target, &config.target.alias, Role::Target),
    ] {
        let needed = crate::capabilities::needed(&config, role);
        crate::capabilities::expose_missing(client, cluster, &needed, &metrics).await;
    }
    let mut supervisor = Supervisor {
        source_fp: ClusterFingerprint::of(&config.source.id),
        target_fp: ClusterFingerprint::of(&config.target.id),
        topics: TopicSync::new(
            source.clone(),
            target.clone(),
            config.clone(),
            metrics.clone(),
        ),
        config,
        options,
        source,
        target,
        metrics,
        halted: HashMap::new(),
        last_halt: HashMap::new(),
        careful_until: HashMap::new(),
        panics: HashMap::new(),
        known_topics: HashMap::new(),
        offset_maps,
        source_registry,
        target_registry,
        reverse_maps,
        workers,
        rejoined_for: 0,
    };
    let restart_policy = capped_backoff(
        supervisor.options.restart_backoff_initial,
        supervisor.options.restart_backoff_max,
    );
    let mut backoff = restart_policy.backoff();
    loop {
        let started = Instant::now();
        let end = supervisor.generation(&mut stopped).await;
        // A data path that ran for a while was healthy: the next restart waits little again.
        if started.elapsed() > supervisor.options.restart_backoff_max {
            backoff = restart_policy.backoff();
        }
        match end {
            Ok(GenerationEnd::Stopped) => return supervisor.leave_group().await,
            Ok(GenerationEnd::Restart(reason)) => {
                tracing::warn!(%reason, "restarting the data path");
            }
            Err(e) => {
                tracing::warn!(error = %e, "restarting the data path");
            }
        }
        supervisor
            .metrics
            .failures
            .get_or_create(&topic_labels(""))
            .inc();
        supervisor.metrics.data_path_restarts.inc();
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_wait()) => {}
            _ = wait_stopped(&mut stopped) => return supervisor.leave_group().await,
        }
    }
}

impl Supervisor {
    /// One producer's lifetime: runs copiers until stopped or until the producer fails.
    async fn generation(
        &mut self,
        stopped: &mut watch::Receiver<bool>,
    ) -> Result<GenerationEnd, EngineError> {
        let producer = Arc::new(
            Producer::new(
                self.target.clone(),
                ProducerConfig {
                    compression: wire_compression(self.config.compression),
                    buffer_bytes: self.options.max_unacked_bytes,
                    ..ProducerConfig::default()
                },
            )
            .await
            .map_err(|e| self.cluster_error(Role::Target, e))?,
        );
        // One fetch session for all copiers: one Fetch request per source broker, not one per
        // partition queued behind each other's long polls.
        let fetcher = SharedFetcher::new(self.source.clone(), FetchConfig::default());
        let checkpoints = checkpoint::load_all(&self.target, &self.config.name)
            .await
            .map_err(|e| self.cluster_error(Role::Target, e))?;
        let mut registered = HashSet::new();
        self.register(&producer, producer.identity().producer_id, &mut registered)
            .await?;
        let stops = Stops::default();
        let mut g = Generation {
            producer,
            fetcher,
            checkpoints,
            registered,
            stops: stops.clone(),
            fence: self
                .workers
                .as_ref()
                .map(|w| crate::workers::fence::spawn(w.view(), stops)),
            copiers: JoinSet::new(),
            tasks: HashMap::new(),
            running: HashSet::new(),
        };
        let mut refresh = tokio::time::interval(self.options.topic_refresh_interval);
        let mut probe = tokio::time::interval(Duration::from_secs(10));
        let mut seen_generation = None;
        let end = loop {
            let next_retry = self.halted.values().filter_map(|h| h.retry_at).min();
            let lease_end = self.workers.as_ref().and_then(|w| w.lease_end());
            tokio::select! {
                _ = membership_changed(&mut self.workers) => {
                    // A new generation may bring the cluster tasks (topic creation) or
                    // partitions of topics this worker has not synced yet: sync now, not at
                    // the next refresh (30 s by default).
                    let generation = self.workers.as_ref().map(|w| w.generation());
                    if generation != seen_generation {
                        seen_generation = generation;
                        refresh.reset_immediately();
                    }
                    self.follow_assignment(&mut g).await;
                }
                _ = sleep_until(lease_end), if lease_end.is_some_and(|e| e > Instant::now()) => {
                    tracing::warn!("worker group session not confirmed for 3/4 of the session timeout: stopping every partition until it is");
                    self.follow_assignment(&mut g).await;
                }
                _ = refresh.tick() => {
                    // A stop is honoured at any moment of a refresh, start-up's resume reads
                    // included: copiers already started are stopped as usual below.
                    let stop = tokio::select! {
                        _ = self.refresh_topics(&mut g) => false,
                        _ = wait_stopped(stopped) => true,
                    };
                    if stop {
                        break GenerationEnd::Stopped;
                    }
                    // Another worker creates the topics: look again after a heartbeat, so the
                    // partitions are assigned and copied soon after (not a refresh later).
                    if let Some(w) = self.workers.as_ref().filter(|_| self.topics.awaits_cluster_task_worker()) {
                        refresh.reset_after(w.heartbeat_interval());
                    }
                }
                _ = probe.tick() => self.probe().await,
                _ = sleep_until(next_retry) => self.retry_due(&mut g).await,
                Some(joined) = g.copiers.join_next_with_id(), if !g.copiers.is_empty() => {
                    let (key, exit) = match joined {
                        Ok((id, (key, exit))) => {
                            g.tasks.remove(&id);
                            (key, exit)
                        }
                        Err(e) => {
                            self.copier_died(e, &mut g);
                            self.expose_partitions(&g);
                            continue;
                        }
                    };
                    g.running.remove(&key);
                    g.stops.lock().expect("stops").remove(&key);
                    match exit {
                        CopierExit::Stopped => {}
                        CopierExit::Halted { offset, message } => {
                            tracing::error!(topic = %key.0, partition = key.1, offset, state = "halted",
                                "partition halted at source offset {offset}: {message}");
                            self.metrics.failures.get_or_create(&topic_labels(&key.0)).inc();
                            self.halted.insert(key, Halted { retry_at: None, offset: Some(offset), reason: message });
                        }
                        CopierExit::Refused { offset, reached, isolated, refusal } => {
                            self.refused(key, offset, reached, isolated, &refusal, &mut g).await;
                        }
                        CopierExit::DataPathFailed(reason) => break GenerationEnd::Restart(reason),
                    }
                }
                _ = wait_stopped(stopped) => break GenerationEnd::Stopped,
            }
            self.expose_partitions(&g);
            self.claim(&g);
            self.rejoin_when_revoked_stopped(&g);
        };
        // Stop fetching everywhere; copiers finish their in-flight writes and checkpoint.
        if let Some(fence) = g.fence.take() {
            fence.abort();
        }
        for stop in g.stops.lock().expect("stops").values() {
            let _ = stop.send(true);
        }
        while let Some(joined) = g.copiers.join_next_with_id().await {
            if let Err(e) = joined {
                self.copier_died(e, &mut g);
            }
        }
        g.producer.flush().await;
        Ok(end)
    }

    /// A copier's write was refused by the target. A refused batch of several records is first
    /// narrowed down to the record the target refuses (copying them one at a time, at once);
    /// that record halts the partition, which is retried with capped backoff.
    async fn refused(
        &mut self,
        key: PartitionKey,
        offset: i64,
        reached: i64,
        isolated: bool,
        refusal: &Refusal,
        g: &mut Generation,
    ) {
        let Some(topic) = self.known_topics.get(&key.0).cloned() else {
            return;
        };
        let careful = self.careful_until.entry(key.clone()).or_insert(i64::MIN);
        *careful = (*careful).max(reached + 1);
        if !isolated {
            tracing::info!(topic = %key.0, partition = key.1, from = offset, to = reached, error = %refusal.detail,
                "the target refused a batch of {}-{}: copying source offsets {offset}..={reached} one at a time to find the refused record",
                key.0, key.1);
            self.restart(key, &topic, g).await;
            return;
        }
        let message = refusal.describe(&key.0, &topic.target, key.1, offset);
        let policy = capped_backoff(self.options.halt_retry_initial, self.options.halt_retry_max);
        let again = self
            .last_halt
            .get(&key)
            .is_some_and(|(at, _)| *at == offset);
        if !again {
            self.last_halt
                .insert(key.clone(), (offset, policy.backoff()));
        }
        let backoff = &mut self.last_halt.get_mut(&key).expect("inserted").1;
        let wait = backoff.next_wait();
        if again {
            tracing::warn!(topic = %key.0, partition = key.1, offset, state = "halted",
                "partition still halted at source offset {offset}, next try in {wait:?}: {message}");
        } else {
            tracing::error!(topic = %key.0, partition = key.1, offset, state = "halted",
                "partition halted at source offset {offset}: {message}");
        }
        self.halted.insert(
            key,
            Halted {
                retry_at: Some(Instant::now() + wait),
                offset: Some(offset),
                reason: message,
            },
        );
    }

    /// A copier task ended without an exit: it panicked (or was cancelled). Its partition is
    /// no longer copying; it is restarted with backoff, and halted for good after repeated
    /// panics.
    fn copier_died(&mut self, e: JoinError, g: &mut Generation) {
        let Some(key) = g.tasks.remove(&e.id()) else {
            return;
        };
        g.running.remove(&key);
        g.stops.lock().expect("stops").remove(&key);
        let what = if e.is_panic() {
            panic_message(e.into_panic())
        } else {
            "cancelled".to_string()
        };
        self.metrics
            .copier_panics
            .get_or_create(&topic_labels(&key.0))
            .inc();
        let n = self.panics.entry(key.clone()).or_default();
        *n += 1;
        let n = *n;
        let max = self.options.max_copier_panics;
        if n >= max {
            tracing::error!(topic = %key.0, partition = key.1, state = "halted", panic = %what,
                "the copier of {}-{} panicked ({n} times): partition halted until the replicator restarts: {what}",
                key.0, key.1);
            self.halted.insert(
                key,
                Halted {
                    retry_at: None,
                    offset: None,
                    reason: format!("the copier panicked {n} times: {what}"),
                },
            );
            return;
        }
        let policy = capped_backoff(self.options.halt_retry_initial, self.options.halt_retry_max);
        let mut backoff = policy.backoff();
        let mut wait = backoff.next_wait();
        for _ in 1..n {
            wait = backoff.next_wait();
        }
        tracing::error!(topic = %key.0, partition = key.1, state = "halted", panic = %what,
            "the copier of {}-{} panicked ({n} of {max} before the partition halts for good); restarting it in {wait:?}: {what}",
            key.0, key.1);
        self.halted.insert(
            key,
            Halted {
                retry_at: Some(Instant::now() + wait),
                offset: None,
                reason: format!("the copier panicked (restarting): {what}"),
            },
        );
    }

    /// Starts the halted partitions whose retry is due.
    async fn retry_due(&mut self, g: &mut Generation) {
        let now = Instant::now();
        let due: Vec<PartitionKey> = self
            .halted
            .iter()
            .filter(|(_, h)| h.retry_at.is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.halted.remove(&key);
            if !self.allowed(&key) {
                continue;
            }
            let Some(topic) = self.known_topics.get(&key.0).cloned() else {
                continue;
            };
            tracing::info!(topic = %key.0, partition = key.1, "retrying the halted partition");
            self.restart(key, &topic, g).await;
        }
    }

    /// Starts one partition again on this generation's producer, lifting the producer's halt
    /// of its target partition and reading its checkpoint again (it moved since the generation
    /// started).
    async fn restart(&mut self, key: PartitionKey, topic: &ReplicatedTopic, g: &mut Generation) {
        let prepared = async {
            let identity = g
                .producer
                .reset_partition(&topic.target, key.1)
                .await
                .map_err(|e| self.cluster_error(Role::Target, e))?;
            // A fresh producer id is registered before anything is written with it.
            self.register(&g.producer, identity.producer_id, &mut g.registered)
                .await?;
            checkpoint::load_all(&self.target, &self.config.name)
                .await
                .map_err(|e| self.cluster_error(Role::Target, e))
        }
        .await;
        let mut reason = self
            .halted
            .get(&key)
            .map_or_else(|| "not restarted yet".to_owned(), |h| h.reason.clone());
        match prepared {
            Ok(checkpoints) => {
                g.checkpoints = checkpoints;
                self.start_copiers(topic, g).await;
                if g.running.contains(&key) {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(topic = %key.0, partition = key.1, error = %e, "cannot restart the partition yet; will retry");
                reason = format!("cannot restart the partition yet: {e}");
            }
        }
        // Still not copying (logged where it failed): it stays halted, tried again later.
        let policy = capped_backoff(self.options.halt_retry_initial, self.options.halt_retry_max);
        let wait = self
            .last_halt
            .entry(key.clone())
            .or_insert_with(|| (i64::MIN, policy.backoff()))
            .1
            .next_wait();
        let offset = self
            .last_halt
            .get(&key)
            .map(|(at, _)| *at)
            .filter(|at| *at != i64::MIN);
        self.halted.insert(
            key,
            Halted {
                retry_at: Some(Instant::now() + wait),
                offset,
                reason,
            },
        );
    }

    /// Publishes which partitions copy and which are halted (and where).
    fn expose_partitions(&self, g: &Generation) {
        self.metrics.set_partitions(
            g.running.len(),
            self.halted
                .iter()
                .map(|(key, h)| (key.0.as_str(), key.1, h.offset)),
        );
        self.metrics.board.set_states(
            |topic, partition| g.running.contains(&(topic.to_owned(), partition)),
            self.halted
                .iter()
                .map(|(key, h)| (key.0.as_str(), key.1, h.offset, h.reason.as_str())),
        );
    }

    /// One topic refresh: syncs topic metadata and starts copiers for new partitions.
    async fn refresh_topics(&mut self, g: &mut Generation) {
        let cluster_tasks = self.workers.as_ref().is_none_or(|w| w.allowed().1);
        self.topics.set_cluster_tasks(cluster_tasks);
        let topics = match self.topics.sync_once().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "topic sync failed");
                return;
            }
        };
        self.metrics.topic_count.set(topics.len() as i64);
        // Topics deselected or deleted since the last refresh leave the status.
        self.metrics
            .board
            .keep_topics(|name| topics.iter().any(|t| t.source == name));
        if let Some(w) = &self.workers {
            w.set_universe(
                topics
                    .iter()
                    .flat_map(|t| (0..t.partitions).map(|p| (t.source.clone(), p)))
                    .collect(),
            );
        }
        for topic in topics {
            self.metrics.expose_topic(&topic.source, topic.partitions);
            g.producer.set_max_message_bytes(
                &topic.target,
                self.topics.target_max_message_bytes(&topic.target),
            );
            self.known_topics
                .insert(topic.source.clone(), topic.clone());
            self.start_copiers(&topic, g).await;
        }
    }

    async fn start_copiers(&self, topic: &ReplicatedTopic, g: &mut Generation) {
        let wanted: Vec<i32> = (0..topic.partitions)
            .filter(|p| {
                let key = (topic.source.clone(), *p);
                !g.running.contains(&key) && !self.halted.contains_key(&key) && self.allowed(&key)
            })
            .collect();
        if wanted.is_empty() {
            return;
        }
        // In a worker group a partition may come from another worker, whose checkpoints are
        // newer than this generation's: without its checkpoint a partition would be taken
        // for a new one and copied again from its starting position.
        if self.workers.is_some() {
            match checkpoint::load_all(&self.target, &self.config.name).await {
                Ok(checkpoints) => g.checkpoints = checkpoints,
                Err(e) => {
                    tracing::warn!(topic = %topic.source, error = %e, "cannot read the checkpoints of the partitions assigned to this worker; will retry");
                    return;
                }
            }
        }
        // Resume points are read concurrently: each waits for its partition to settle.
        let setups = futures::future::join_all(
            wanted
                .iter()
                .map(|&p| self.setup(topic, p, &g.producer, &g.fetcher, &g.checkpoints)),
        )
        .await;
        for (partition, setup) in wanted.into_iter().zip(setups) {
            let key = (topic.source.clone(), partition);
            // Registered with the fence before the last check, so a revocation after it
            // stops the copier.
            let (stop_tx, stop) = watch::channel(false);
            g.stops.lock().expect("stops").insert(key.clone(), stop_tx);
            // Revoked while its resume point was read: not started.
            if !self.allowed(&key) {
                g.stops.lock().expect("stops").remove(&key);
                continue;
            }
            let task = match setup {
                Ok(Start::Copy(setup)) => {
                    let key = key.clone();
                    g.copiers
                        .spawn(async move { (key, run_copier(setup, stop).await) })
                }
                Ok(Start::Halt { offset, message }) => {
                    // Reported and recorded like a copier's halt.
                    let key = key.clone();
                    g.copiers
                        .spawn(async move { (key, CopierExit::Halted { offset, message }) })
                }
                Err(e) => {
                    g.stops.lock().expect("stops").remove(&key);
                    tracing::warn!(topic = %topic.source, partition, error = %e, "cannot start copying yet; will retry");
                    continue;
                }
            };
            g.tasks.insert(task.id(), key.clone());
            g.running.insert(key);
        }
    }

    async fn setup(
        &self,
        topic: &ReplicatedTopic,
        partition: i32,
        producer: &Arc<Producer>,
        fetcher: &SharedFetcher,
        checkpoints: &HashMap<CheckpointKey, Checkpoint>,
    ) -> Result<Start, EngineError> {
        let checkpoint_key = CheckpointKey {
            replicator: self.config.name.clone(),
            source: self.source_fp,
            topic: topic.source.clone(),
            partition,
        };
        // Read the resume point until it is stable: a previous instance killed with writes in
        // flight may still have records landing on the target.
        let checkpoint = checkpoints.get(&checkpoint_key).copied();
        let read = || async {
            match self.options.mode {
                DataMode::Header => crate::resume::resume_point(
                    &self.target,
                    &topic.target,
                    partition,
                    self.source_fp,
                    checkpoint,
                )
                .await
                .map_err(|e| ResumeFailure::Engine(self.cluster_error(Role::Target, e))),
                DataMode::Batch => self.batch_resume_point(topic, partition, checkpoint).await,
            }
        };
        let mut resume = match read().await {
            Ok(r) => r,
            Err(ResumeFailure::Halt { offset, message }) => {
                return Ok(Start::Halt { offset, message })
            }
            Err(ResumeFailure::Engine(e)) => return Err(e),
        };
        let started = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.options.resume_settle).await;
            let again = match read().await {
                Ok(r) => r,
                Err(ResumeFailure::Halt { offset, message }) => {
                    return Ok(Start::Halt { offset, message })
                }
                Err(ResumeFailure::Engine(e)) => return Err(e),
            };
            // Only what kreplicate wrote is judged (its copies' provenance, in a header or by
            // producer id): other producers writing to the target partition (the apps of a
            // two-way migration) move its end without moving the resume point.
            let settled = again.source_next == resume.source_next
                && again.behind_checkpoint == resume.behind_checkpoint;
            if settled {
                resume = again;
                break;
            }
            tracing::info!(topic = %topic.source, partition, before = ?resume.source_next, now = ?again.source_next, "resume point still moving (late writes of a previous instance); waiting");
            resume = again;
            if started.elapsed() > self.options.resume_settle_max {
                tracing::warn!(topic = %topic.source, partition, "resume point did not settle; continuing");
                break;
            }
        }
        // A target partition behind its checkpoint lost copies (see resume::ResumePoint).
        // Holding none now, its topic was recreated: it is copied again from the starting
        // position. Holding some, the lost ones cannot be put back before them: halt.
        match (resume.behind_checkpoint, resume.source_next) {
            (Some(cp), None) => {
                tracing::warn!(topic = %topic.source, partition, target = %topic.target, end = resume.target_end, checkpoint = cp.target_next,
                    "the target partition ends at {}, before the last checkpoint's target offset {}, and holds no copies: the topic was recreated; copying the partition again from the starting position",
                    resume.target_end, cp.target_next);
            }
            (Some(cp), Some(next)) => {
                return Ok(Start::Halt {
                    offset: next,
                    message: format!(
                        "the target partition {}-{partition} ends at offset {}, before the last \
                         checkpoint's target offset {}: the target topic was deleted (or \
                         truncated) while replicating, and copies it held are gone; the copies \
                         it holds now cannot be completed in order. To copy the partition again \
                         in full: stop the replicator, delete the target topic, start the \
                         replicator (see docs/guarantees.md)",
                        topic.target, resume.target_end, cp.target_next
                    ),
                })
            }
            (None, _) => {}
        }
        let start = match resume.source_next {
            Some(next) => next,
            None => match self.config.starting_position {
                StartingPosition::Earliest => {
                    log_start_offset(
                        &self.source,
                        &topic.source,
                        partition,
                        IsolationLevel::ReadCommitted,
                    )
                    .await
                }
                StartingPosition::Latest => {
                    high_watermark(&self.source, &topic.source, partition).await
                }
            }
            .map_err(|e| self.cluster_error(Role::Source, e))?,
        };
        // The offset map must end where copying resumes (see groups::map_recovery).
        let ids = match self.options.mode {
            DataMode::Batch => Some(self.producer_ids().await?),
            DataMode::Header => None,
        };
        let walk = ids.as_ref().map(|(own, from_target)| BatchResume {
            source: &self.source,
            target: &self.target,
            source_topic: &topic.source,
            target_topic: &topic.target,
            partition,
            own_producer_ids: own,
            from_target,
        });
        let start = crate::groups::map_recovery::reconcile_offset_map(
            &self.source,
            &self.target,
            &self.offset_maps,
            &crate::groups::map_recovery::ResumingPartition {
                source_topic: &topic.source,
                target_topic: &topic.target,
                partition,
                start,
                target_end: resume.target_end,
                source_fp: self.source_fp,
                target_fp: self.target_fp,
                echoes: self.record_echoes(),
                mode: self.options.mode,
            },
            walk.as_ref(),
        )
        .await;
        tracing::info!(topic = %topic.source, partition, start, target = %topic.target, "copying");
        Ok(Start::Copy(CopierSetup {
            source_topic: topic.source.clone(),
            target_topic: topic.target.clone(),
            partition,
            start,
            target_end: resume.target_end,
            fetcher: fetcher.clone(),
            producer: producer.clone(),
            source: self.source_fp,
            target: self.target_fp,
            mode: self.options.mode,
            compression: wire_compression(self.config.compression),
            source_registry: self.source_registry.clone(),
            reverse_maps: self.reverse_maps.clone(),
            metrics: self.metrics.clone(),
            checkpoint_key,
            checkpoint_interval: self.options.checkpoint_interval,
            max_unacked_bytes: self.options.max_unacked_bytes_per_partition,
            offset_maps: self.offset_maps.clone(),
            record_echoes: self.record_echoes(),
            source_alias: self.config.source.alias.clone(),
            careful_until: self
                .careful_until
                .get(&(topic.source.clone(), partition))
                .copied()
                .unwrap_or(i64::MIN),
            panic_hook: self.options.panic_hook.clone(),
        }))
    }

    /// Registers `producer_id` on the target (unless this generation did) and waits for the
    /// acknowledgement: from then on the opposite replicator knows its batches.
    async fn register(
        &self,
        producer: &Producer,
        producer_id: i64,
        registered: &mut HashSet<i64>,
    ) -> Result<(), EngineError> {
        if registered.contains(&producer_id) {
            return Ok(());
        }
        let entry = RegistryEntry {
            replicator: self.config.name.clone(),
            producer_id,
            source: self.source_fp,
            target: self.target_fp,
        };
        producer_registry::register(producer, &entry)
            .await
            .map_err(|e| self.cluster_error(Role::Target, (*e.0).clone()))?;
        tracing::info!(producer_id, "producer id registered on the target");
        registered.insert(producer_id);
        Ok(())
    }

    /// Our producer ids on the target, and those on the source of replicators copying from
    /// the target (read to the end of both registries).
    async fn producer_ids(&self) -> Result<(HashSet<i64>, HashSet<i64>), EngineError> {
        let own = self
            .target_registry
            .producer_ids_of(&self.config.name, self.source_fp)
            .await
            .map_err(|e| self.cluster_error(Role::Target, e))?;
        let from_target = self
            .source_registry
            .producer_ids_from(self.target_fp)
            .await
            .map_err(|e| self.cluster_error(Role::Source, e))?;
        Ok((own, from_target))
    }

    /// Batch mode's resume point (see [`crate::resume::BatchResume`]).
    async fn batch_resume_point(
        &self,
        topic: &ReplicatedTopic,
        partition: i32,
        checkpoint: Option<Checkpoint>,
    ) -> Result<ResumePoint, ResumeFailure> {
        let target_err = |e| ResumeFailure::Engine(self.cluster_error(Role::Target, e));
        let start = log_start_offset(
            &self.target,
            &topic.target,
            partition,
            IsolationLevel::ReadUncommitted,
        )
        .await
        .map_err(target_err)?;
        let end = high_watermark(&self.target, &topic.target, partition)
            .await
            .map_err(target_err)?;
        let (own, from_target) = self.producer_ids().await.map_err(ResumeFailure::Engine)?;
        let walk = BatchResume {
            source: &self.source,
            target: &self.target,
            source_topic: &topic.source,
            target_topic: &topic.target,
            partition,
            own_producer_ids: &own,
            from_target: &from_target,
        };
        let Some(cp) = checkpoint else {
            // A copier's first copy waits for its starting checkpoint: no checkpoint, no copy.
            return Ok(ResumePoint {
                source_next: None,
                target_end: end,
                behind_checkpoint: None,
            });
        };
        if end < cp.target_next {
            // The target lost copies the checkpoint vouches for: recreated (no copy of ours
            // left, copied again) or truncated (halt, see `setup`).
            let holds = walk.holds_copies(start, end).await.map_err(target_err)?;
            return Ok(ResumePoint {
                source_next: holds.then_some(cp.source_next),
                target_end: end,
                behind_checkpoint: Some(cp),
            });
        }
        match walk.resume_after(cp, end).await {
            Ok(next) => Ok(ResumePoint {
                source_next: Some(next),
                target_end: end,
                behind_checkpoint: None,
            }),
            Err(BatchResumeError::Client(e)) => Err(ResumeFailure::Engine(
                // Either cluster may have failed; the target is read first and most.
                self.cluster_error(Role::Target, e),
            )),
            Err(e) => Err(ResumeFailure::Halt {
                offset: cp.source_next,
                message: format!(
                    "cannot resume {}-{partition} exactly: {e}. To copy the partition again \
                     in full: stop the replicator, delete the target topic, start the \
                     replicator (see docs/guarantees.md)",
                    topic.source
                ),
            }),
        }
    }

    /// Whether this worker may copy `key` now (always, outside a worker group).
    fn allowed(&self, key: &PartitionKey) -> bool {
        self.workers
            .as_ref()
            .is_none_or(|w| w.allowed().0.contains(key))
    }

    /// Tells the worker group what this worker copies now (claimed until stopped).
    fn claim(&self, g: &Generation) {
        if let Some(w) = &self.workers {
            let (allowed, cluster_tasks) = w.allowed();
            w.claim(g.running.iter().cloned(), cluster_tasks);
            self.metrics
                .worker_owned_partitions
                .set(allowed.len() as i64);
            self.metrics.worker_cluster_tasks.set(cluster_tasks as i64);
        }
    }

    /// Follows the worker group's assignment: asks the copiers of partitions no longer
    /// allowed to stop (they end once their writes are acknowledged, and stay claimed until
    /// then), and starts the newly assigned ones.
    async fn follow_assignment(&mut self, g: &mut Generation) {
        let Some(w) = &self.workers else {
            return;
        };
        let (allowed, _) = w.allowed();
        for key in g.running.iter().filter(|k| !allowed.contains(*k)) {
            tracing::info!(topic = %key.0, partition = key.1, "partition no longer assigned to this worker: stopping it");
            if let Some(stop) = g.stops.lock().expect("stops").get(key) {
                let _ = stop.send(true);
            }
            // Its lag and latency are now the new owner's to report.
            let labels = crate::metrics::partition_labels(&key.0, key.1);
            self.metrics.message_lag.remove(&labels);
            self.metrics.replication_latency_ms.remove(&labels);
            self.metrics.board.released(&key.0, key.1);
        }
        self.halted.retain(|k, _| allowed.contains(k));
        let topics: Vec<ReplicatedTopic> = self.known_topics.values().cloned().collect();
        for topic in &topics {
            self.start_copiers(topic, g).await;
        }
    }

    /// Once the partitions revoked from this worker stopped, rejoins (once per generation)
    /// so the group may give them to others.
    fn rejoin_when_revoked_stopped(&mut self, g: &Generation) {
        let Some(w) = &self.workers else {
            return;
        };
        let generation = w.generation();
        let revoked = w.revoked();
        if !revoked.is_empty()
            && generation != self.rejoined_for
            && !revoked.iter().any(|k| g.running.contains(k))
        {
            self.rejoined_for = generation;
            w.rejoin();
        }
    }

    /// Leaves the worker group after the data path stopped.
    async fn leave_group(&mut self) -> Result<(), EngineError> {
        if let Some(w) = self.workers.take() {
            w.leave().await;
        }
        Ok(())
    }

    /// ENHANCED offset sync records echoes (records that came from the target) in the maps.
    fn record_echoes(&self) -> bool {
        self.config.offset_sync_mode == crate::config::OffsetSyncMode::Enhanced
    }

    /// Cluster reachability and throttling, as MSK reports them, and the APIs a cluster lacks.
    async fn probe(&self) {
        for (client, cluster, role) in [
            (&self.source, &self.config.source.alias, Role::Source),
            (&self.target, &self.config.target.alias, Role::Target),
        ] {
            let ok = client.refresh_metadata(Some(&[])).await.is_ok();
            self.metrics.set_cluster_reachable(cluster, ok);
            if ok {
                let needed = crate::capabilities::needed(&self.config, role);
                crate::capabilities::expose_missing(client, cluster, &needed, &self.metrics).await;
            }
        }
        // The producer writes through the target client, which records every throttle.
        for (cluster, ms) in [
            (&self.config.source.alias, self.source.take_throttle_ms()),
            (&self.config.target.alias, self.target.take_throttle_ms()),
        ] {
            self.metrics
                .throttle_time_ms
                .get_or_create(&cluster_labels(cluster))
                .set(ms as i64);
        }
    }

    fn cluster_error(&self, role: Role, source: kreplicate_wire::client::Error) -> EngineError {
        if source.is_auth() {
            let alias = match role {
                Role::Source => &self.config.source.alias,
                Role::Target => &self.config.target.alias,
            };
            self.metrics
                .auth_errors
                .get_or_create(&cluster_labels(alias))
                .inc();
        }
        EngineError::cluster(
            role,
            match role {
                Role::Source => self.config.source.id.clone(),
                Role::Target => self.config.target.id.clone(),
            },
            source,
        )
    }
}

/// Waits `initial`, doubling up to `max` (no deadline: the engine retries until stopped).
fn capped_backoff(initial: Duration, max: Duration) -> RetryPolicy {
    RetryPolicy {
        initial_backoff: initial,
        multiplier: 2.0,
        max_backoff: max,
        jitter: false,
        deadline: None,
    }
}

/// Resolves when the worker group's view changed; never outside a worker group.
async fn membership_changed(workers: &mut Option<WorkerLink>) {
    match workers {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A panic's message, when it is a string (as `panic!` makes it).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Resolves once a stop is requested (the watch guard is not held across awaits).
async fn wait_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await.map(|_| ());
}

fn wire_compression(c: Compression) -> WireCompression {
    match c {
        Compression::None => WireCompression::None,
        Compression::Gzip => WireCompression::Gzip,
        Compression::Snappy => WireCompression::Snappy,
        Compression::Lz4 => WireCompression::Lz4,
        Compression::Zstd => WireCompression::Zstd,
    }
}
