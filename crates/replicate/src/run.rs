//! The engine's supervisor: keeps one copier per replicated source partition, adds copiers as
//! topics and partitions appear, restarts the data path with a fresh producer when writing to
//! the target fails, and stops everything gracefully on request.
//!
//! Restarting is always safe because a copier's start position comes from the target itself
//! (provenance of the last copied record, bounded by the last checkpoint): nothing acknowledged
//! is copied again and nothing unacknowledged is skipped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_offsets::OffsetMaps;
use kreplicate_wire::client::Client;
use kreplicate_wire::codec::Compression as WireCompression;
use kreplicate_wire::fetcher::offsets::{high_watermark, list_offset, EARLIEST};
use kreplicate_wire::fetcher::{FetchConfig, Fetcher, SharedFetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::checkpoint::{self, Checkpoint, CheckpointKey};
use crate::cluster_client::Role;
use crate::config::{Compression, ReplicatorConfig, StartingPosition};
use crate::copier::{run_copier, CopierExit, CopierSetup};
use crate::error::EngineError;
use crate::metrics::{cluster_labels, topic_labels, ReplicatorMetrics};
use crate::options::EngineOptions;
use crate::provenance::ClusterFingerprint;
use crate::topics::{ReplicatedTopic, TopicSync};

type PartitionKey = (String, i32);

struct Supervisor {
    config: Arc<ReplicatorConfig>,
    options: EngineOptions,
    source: Client,
    target: Client,
    metrics: Arc<ReplicatorMetrics>,
    source_fp: ClusterFingerprint,
    target_fp: ClusterFingerprint,
    /// Partitions that cannot continue until the operator intervenes (e.g. a corrupt batch).
    halted: HashSet<PartitionKey>,
    topics: TopicSync,
    offset_maps: Arc<Mutex<OffsetMaps>>,
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

enum GenerationEnd {
    Stopped,
    Restart(String),
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    config: Arc<ReplicatorConfig>,
    options: EngineOptions,
    source: Client,
    target: Client,
    metrics: Arc<ReplicatorMetrics>,
    offset_maps: Arc<Mutex<OffsetMaps>>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let target_error =
        |source| EngineError::cluster(Role::Target, config.target.id.clone(), source);
    checkpoint::ensure_topic(&target)
        .await
        .map_err(target_error)?;
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
        halted: HashSet::new(),
        offset_maps,
    };
    let mut backoff = supervisor.target.retry_policy().backoff();
    loop {
        match supervisor.generation(&mut stopped).await {
            Ok(GenerationEnd::Stopped) => return Ok(()),
            Ok(GenerationEnd::Restart(reason)) | Err(EngineError::Other(reason)) => {
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
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_wait()) => {}
            _ = wait_stopped(&mut stopped) => return Ok(()),
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
        let fetcher = SharedFetcher::new(Fetcher::new(self.source.clone(), FetchConfig::default()));
        let checkpoints = checkpoint::load_all(&self.target, &self.config.name)
            .await
            .map_err(|e| self.cluster_error(Role::Target, e))?;
        let (stop_copiers, copiers_stopped) = watch::channel(false);
        let mut copiers: JoinSet<(PartitionKey, CopierExit)> = JoinSet::new();
        let mut running: HashSet<PartitionKey> = HashSet::new();
        let mut refresh = tokio::time::interval(self.options.topic_refresh_interval);
        let mut probe = tokio::time::interval(Duration::from_secs(10));
        let end = loop {
            tokio::select! {
                _ = refresh.tick() => {
                    let topics = match self.topics.sync_once().await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::warn!(error = %e, "topic sync failed");
                            continue;
                        }
                    };
                    self.metrics.topic_count.set(topics.len() as i64);
                    for topic in topics {
                        producer.set_max_message_bytes(&topic.target, self.topics.target_max_message_bytes(&topic.target));
                        self.start_copiers(&topic, &producer, &fetcher, &checkpoints, &copiers_stopped, &mut copiers, &mut running).await;
                    }
                    self.metrics.set_partitions(running.len(), self.halted.len());
                }
                _ = probe.tick() => self.probe().await,
                Some(joined) = copiers.join_next(), if !copiers.is_empty() => {
                    let Ok((key, exit)) = joined else { continue };
                    running.remove(&key);
                    match exit {
                        CopierExit::Stopped => {}
                        CopierExit::Halted { offset, message } => {
                            tracing::error!(topic = %key.0, partition = key.1, offset, %message,
                                "partition halted at source offset {offset}: {message}");
                            self.metrics.failures.get_or_create(&topic_labels(&key.0)).inc();
                            self.halted.insert(key);
                        }
                        CopierExit::ProducerFailed(reason) => break GenerationEnd::Restart(reason),
                    }
                    self.metrics.set_partitions(running.len(), self.halted.len());
                }
                _ = wait_stopped(stopped) => break GenerationEnd::Stopped,
            }
        };
        // Stop fetching everywhere; copiers finish their in-flight writes and checkpoint.
        let _ = stop_copiers.send(true);
        while copiers.join_next().await.is_some() {}
        producer.flush().await;
        Ok(end)
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_copiers(
        &self,
        topic: &ReplicatedTopic,
        producer: &Arc<Producer>,
        fetcher: &SharedFetcher,
        checkpoints: &HashMap<CheckpointKey, Checkpoint>,
        stop: &watch::Receiver<bool>,
        copiers: &mut JoinSet<(PartitionKey, CopierExit)>,
        running: &mut HashSet<PartitionKey>,
    ) {
        let wanted: Vec<i32> = (0..topic.partitions)
            .filter(|p| {
                let key = (topic.source.clone(), *p);
                !running.contains(&key) && !self.halted.contains(&key)
            })
            .collect();
        // Resume points are read concurrently: each waits for its partition to settle.
        let setups = futures::future::join_all(
            wanted
                .iter()
                .map(|&p| self.setup(topic, p, producer, fetcher, checkpoints)),
        )
        .await;
        for (partition, setup) in wanted.into_iter().zip(setups) {
            let key = (topic.source.clone(), partition);
            match setup {
                Ok(Start::Copy(setup)) => {
                    running.insert(key.clone());
                    let stop = stop.clone();
                    copiers.spawn(async move { (key, run_copier(setup, stop).await) });
                }
                Ok(Start::Halt { offset, message }) => {
                    // Reported and recorded like a copier's halt.
                    running.insert(key.clone());
                    copiers.spawn(async move { (key, CopierExit::Halted { offset, message }) });
                }
                Err(e) => {
                    tracing::warn!(topic = %topic.source, partition, error = %e, "cannot start copying yet; will retry");
                }
            }
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
            crate::resume::resume_point(
                &self.target,
                &topic.target,
                partition,
                self.source_fp,
                checkpoint,
            )
            .await
            .map_err(|e| self.cluster_error(Role::Target, e))
        };
        let mut resume = read().await?;
        let started = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.options.resume_settle).await;
            let again = read().await?;
            if again == resume {
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
                    list_offset(&self.source, &topic.source, partition, EARLIEST, 1).await
                }
                StartingPosition::Latest => {
                    high_watermark(&self.source, &topic.source, partition).await
                }
            }
            .map_err(|e| self.cluster_error(Role::Source, e))?,
        };
        // The offset map must end where copying resumes (see groups::map_recovery).
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
            metrics: self.metrics.clone(),
            checkpoint_key,
            checkpoint_interval: self.options.checkpoint_interval,
            max_unacked_bytes: self.options.max_unacked_bytes_per_partition,
            offset_maps: self.offset_maps.clone(),
            record_echoes: self.record_echoes(),
            source_alias: self.config.source.alias.clone(),
        }))
    }

    /// ENHANCED offset sync records echoes (records that came from the target) in the maps.
    fn record_echoes(&self) -> bool {
        self.config.offset_sync_mode == crate::config::OffsetSyncMode::Enhanced
    }

    /// Cluster reachability and throttling, as MSK reports them.
    async fn probe(&self) {
        for (client, cluster) in [
            (&self.source, &self.config.source.alias),
            (&self.target, &self.config.target.alias),
        ] {
            let ok = client.refresh_metadata(Some(&[])).await.is_ok();
            self.metrics
                .cluster_reachable
                .get_or_create(&cluster_labels(cluster))
                .set(ok as i64);
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
        EngineError::Cluster {
            role,
            cluster: match role {
                Role::Source => self.config.source.id.clone(),
                Role::Target => self.config.target.id.clone(),
            },
            source: Box::new(source),
        }
    }
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
