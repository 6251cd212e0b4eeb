//! The replicator: connects both clusters, keeps target topics in step with the source, and
//! runs the data path until asked to stop.

use std::sync::{Arc, Mutex};

use kreplicate_offsets::{OffsetMap, OffsetMaps, Translation};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster_client::{connect_with_deadline, Role};
use crate::config::ReplicatorConfig;
use crate::error::{EngineError, ErrorKind};
use crate::metrics::{cluster_labels, ReplicatorMetrics};
use crate::options::EngineOptions;
use crate::replicator_builder::ReplicatorBuilder;
use crate::shutdown::ShutdownHandle;
use crate::status::Status;

/// A running replicator.
pub struct Replicator {
    metrics: Arc<ReplicatorMetrics>,
    offset_maps: Arc<Mutex<OffsetMaps>>,
    stop: ShutdownHandle,
    task: Option<JoinHandle<Result<(), EngineError>>>,
}

// By hand: the handles inside have nothing useful to print.
impl std::fmt::Debug for Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicator")
            .field("running", &self.task.is_some())
            .field("stopping", &self.stop.is_shutting_down())
            .finish_non_exhaustive()
    }
}

impl Replicator {
    /// Connects to both clusters (checking their ids), then starts replicating in the background.
    /// Fails fast on configuration, credential, TLS and cluster-id problems.
    pub async fn start(
        config: ReplicatorConfig,
        options: EngineOptions,
    ) -> Result<Replicator, EngineError> {
        let metrics = Arc::new(ReplicatorMetrics::new());
        let deadline = options.request_deadline;
        let source =
            connect_with_deadline(&config.source, Role::Source, &options.client_id, deadline)
                .await
                .inspect_err(|e| count_auth_error(&metrics, &config.source.alias, e))?;
        let target =
            connect_with_deadline(&config.target, Role::Target, &options.client_id, deadline)
                .await
                .inspect_err(|e| count_auth_error(&metrics, &config.target.alias, e))?;
        for alias in [&config.source.alias, &config.target.alias] {
            metrics.set_cluster_reachable(alias, true);
        }
        let offset_maps = Arc::new(Mutex::new(
            crate::groups::load_offset_maps(&target, &config).await?,
        ));
        metrics
            .board
            .set_clusters(&config.source.alias, &config.target.alias);
        let (stop, stopped) = watch::channel(false);
        let workers = match &options.workers {
            Some(w) => Some(
                crate::workers::membership::WorkerLink::start(
                    target.clone(),
                    &config.name,
                    w,
                    metrics.clone(),
                )
                .map_err(|e| EngineError::cluster(Role::Target, config.target.id.clone(), e))?,
            ),
            None => None,
        };
        let cluster_tasks = workers.as_ref().map(|w| w.cluster_task_gate());
        let config = Arc::new(config);
        let data_path = crate::run::run(
            config.clone(),
            options.clone(),
            source.clone(),
            target.clone(),
            metrics.clone(),
            offset_maps.clone(),
            workers,
            stopped.clone(),
        );
        let task = tokio::spawn(crate::groups::with_offset_sync(
            crate::groups::OffsetSyncContext {
                config,
                options,
                source,
                target,
                metrics: metrics.clone(),
                maps: offset_maps.clone(),
                stopped,
                cluster_tasks,
            },
            data_path,
        ));
        Ok(Replicator {
            metrics,
            offset_maps,
            stop: ShutdownHandle(Arc::new(stop)),
            task: Some(task),
        })
    }

    /// Starts building a replicator from typed settings (see [`ReplicatorBuilder`]).
    pub fn builder(name: impl Into<String>) -> ReplicatorBuilder {
        ReplicatorBuilder::new(name)
    }

    /// A typed snapshot of every partition, consumer group and cluster.
    pub fn status(&self) -> Status {
        self.metrics.status()
    }

    /// The target offset of the copy of source record `source_offset` of `topic`/`partition`
    /// (the source topic's name): exact, or `None` when this replicator has no exact answer
    /// (not copied yet, before where replication started, or not a replicated partition).
    /// A consumer position translates the same way: the next offset to read.
    pub fn translate(&self, topic: &str, partition: i32, source_offset: i64) -> Option<i64> {
        let maps = self.offset_maps.lock().unwrap_or_else(|e| e.into_inner());
        match maps.source_to_target(topic, partition, source_offset)? {
            Translation::Exact(target) => Some(target),
            Translation::BeforeReplicationStart { .. } | Translation::NotYetReplicated { .. } => {
                None
            }
        }
    }

    test_util_pub! {
        /// A copy of the exact source→target offset map of `topic`/`partition` (source topic),
        /// as copied so far; `None` before its copier first started. For inspection: use
        /// [`translate`](Self::translate) to translate one offset.
        pub fn offset_map(&self, topic: &str, partition: i32) -> Option<OffsetMap> {
            let maps = self.offset_maps.lock().unwrap_or_else(|e| e.into_inner());
            maps.get(topic, partition).cloned()
        }
    }

    /// A cloneable handle that stops this replicator from anywhere (see [`ShutdownHandle`]).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// The replicator's metrics (shared; they keep updating while it runs).
    pub fn metrics(&self) -> Arc<ReplicatorMetrics> {
        self.metrics.clone()
    }

    /// Waits until the replicator stops: a fatal error, or [`ShutdownHandle::shutdown`] (then
    /// `Ok` once in-flight writes are acknowledged and checkpointed).
    pub async fn wait(&mut self) -> Result<(), EngineError> {
        match self.task.as_mut() {
            Some(task) => {
                let result = task
                    .await
                    .map_err(|e| EngineError::from(ErrorKind::TaskFailed(e)))?;
                self.task = None;
                result
            }
            None => Ok(()),
        }
    }

    /// Graceful stop: no new fetches, in-flight writes finish and are checkpointed.
    pub async fn shutdown(mut self) -> Result<(), EngineError> {
        self.stop.shutdown();
        self.wait().await
    }
}

fn count_auth_error(metrics: &ReplicatorMetrics, alias: &str, e: &EngineError) {
    if let ErrorKind::Cluster { source, .. } = e.kind() {
        if source.is_auth() {
            metrics
                .auth_errors
                .get_or_create(&cluster_labels(alias))
                .inc();
        }
    }
}
