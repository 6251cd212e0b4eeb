//! The replicator: connects both clusters, keeps target topics in step with the source, and
//! runs the data path until asked to stop.

use std::sync::{Arc, Mutex};

use kreplicate_offsets::OffsetMaps;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster_client::{connect_with_deadline, Role};
use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::metrics::{cluster_labels, ReplicatorMetrics};
use crate::options::EngineOptions;

/// A running replicator.
pub struct Replicator {
    metrics: Arc<ReplicatorMetrics>,
    offset_maps: Arc<Mutex<OffsetMaps>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), EngineError>>>,
}

// By hand: the handles inside have nothing useful to print.
impl std::fmt::Debug for Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicator")
            .field("running", &self.task.is_some())
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
            metrics
                .cluster_reachable
                .get_or_create(&cluster_labels(alias))
                .set(1);
        }
        let offset_maps = Arc::new(Mutex::new(
            crate::groups::load_offset_maps(&target, &config).await?,
        ));
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
            stop,
            task: Some(task),
        })
    }

    /// The replicator's metrics (shared; they keep updating while it runs).
    pub fn metrics(&self) -> Arc<ReplicatorMetrics> {
        self.metrics.clone()
    }

    /// Exact source→target offset maps of the partitions copied so far (for offset
    /// translation and `verify`).
    pub fn offset_maps(&self) -> Arc<Mutex<OffsetMaps>> {
        self.offset_maps.clone()
    }

    /// Waits until the replicator stops on its own (a fatal error) or is shut down.
    pub async fn wait(&mut self) -> Result<(), EngineError> {
        match self.task.as_mut() {
            Some(task) => {
                let result = task.await.map_err(EngineError::TaskFailed)?;
                self.task = None;
                result
            }
            None => Ok(()),
        }
    }

    /// Graceful stop: no new fetches, in-flight writes finish and are checkpointed.
    pub async fn shutdown(mut self) -> Result<(), EngineError> {
        let _ = self.stop.send(true);
        self.wait().await
    }
}

fn count_auth_error(metrics: &ReplicatorMetrics, alias: &str, e: &EngineError) {
    if let EngineError::Cluster { source, .. } = e {
        if source.is_auth() {
            metrics
                .auth_errors
                .get_or_create(&cluster_labels(alias))
                .inc();
        }
    }
}
