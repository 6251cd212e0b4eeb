//! Consumer-group offset sync (MSK `ConsumerGroupReplication`), LEGACY and ENHANCED, and the
//! persistence of the offset maps it translates through. `docs/offset-sync.md` explains the
//! design with worked examples.
//!
//! - `map_store`: the maps saved to `__kreplicate-offset-maps` on the target and rebuilt on
//!   start; `map_recovery`: a rebuilt map that lags the data path is completed exactly from
//!   the clusters' provenance headers before the partition's copier starts.
//! - `sync`: every `group_sync_interval`, committed source offsets are translated and
//!   committed on the target while the group has no active members there, never moving a
//!   target offset back unless the source moved back (`decision`).
//! - `commit_marker` and `commit_ledger`: our commits are marked (metadata) and recorded
//!   (a compacted topic on the cluster they are written to), so a replicator in the other
//!   direction never syncs them back.
//! - ENHANCED adds echoes to the maps: records that came from the target through the reverse
//!   replicator translate to their originals (see `kreplicate_offsets`' `echo` module), which
//!   is what lets a group move back after producers moved.

pub(crate) mod commit_ledger;
pub(crate) mod commit_marker;
pub(crate) mod decision;
mod error;
pub(crate) mod internal_topic;
pub(crate) mod lag;
pub(crate) mod map_recovery;
pub(crate) mod map_store;
pub(crate) mod planned;
pub(crate) mod reverse_maps;
pub(crate) mod sync;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_offsets::OffsetMaps;
use kreplicate_wire::client::Client;
use tokio::sync::watch;

use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::metrics::ReplicatorMetrics;
use crate::options::EngineOptions;
use crate::provenance::ClusterFingerprint;

/// How often the maps are checked against the source log start for pruning.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Resolves once a stop is requested (or the sender is gone); holds no watch guard across
/// awaits, so the futures that use it stay `Send`.
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

use crate::lock::lock;

/// Rebuilds the replicator's offset maps from the target (creating the topic if needed).
pub(crate) async fn load_offset_maps(
    target: &Client,
    config: &ReplicatorConfig,
) -> Result<OffsetMaps, EngineError> {
    map_store::load_offset_maps(
        target,
        &config.name,
        ClusterFingerprint::of(&config.source.id),
    )
    .await
    .map_err(|e| {
        EngineError::cluster(
            crate::cluster_client::Role::Target,
            config.target.id.clone(),
            e,
        )
    })
}

/// Everything offset sync runs with, next to the data path.
pub(crate) struct OffsetSyncContext {
    pub(crate) config: Arc<ReplicatorConfig>,
    pub(crate) options: EngineOptions,
    pub(crate) source: Client,
    pub(crate) target: Client,
    pub(crate) metrics: Arc<ReplicatorMetrics>,
    pub(crate) maps: Arc<Mutex<OffsetMaps>>,
    /// The engine's stop signal.
    pub(crate) stopped: watch::Receiver<bool>,
    /// In a worker group: group sync runs only while this worker holds the cluster tasks.
    pub(crate) cluster_tasks: Option<crate::workers::cluster_tasks::ClusterTaskGate>,
}

/// Runs `data_path` with the offset-map writer and (when `SynchroniseConsumerGroupOffsets`)
/// group sync beside it. Once the data path has ended, the maps are saved one last time (so a
/// graceful stop leaves them complete) and group sync stops.
pub(crate) async fn with_offset_sync<F>(
    ctx: OffsetSyncContext,
    data_path: F,
) -> Result<(), EngineError>
where
    F: Future<Output = Result<(), EngineError>>,
{
    let (writer_stop, writer_stopped) = watch::channel(false);
    let writer = map_store::MapWriter::new(
        ctx.source.clone(),
        ctx.target.clone(),
        ctx.maps.clone(),
        &ctx.config.name,
        ClusterFingerprint::of(&ctx.config.source.id),
    );
    let writer = tokio::spawn(map_store::run_map_writer(
        writer,
        ctx.options.checkpoint_interval,
        PRUNE_INTERVAL,
        writer_stopped,
    ));
    let sync = ctx.config.flags.sync_group_offsets.then(|| {
        let (config, metrics, maps) = (ctx.config.clone(), ctx.metrics.clone(), ctx.maps.clone());
        let (source, target) = (ctx.source.config().clone(), ctx.target.config().clone());
        let interval = ctx.options.group_sync_interval;
        let run = move |stop| {
            sync::run_group_sync(
                config.clone(),
                source.clone(),
                target.clone(),
                maps.clone(),
                metrics.clone(),
                interval,
                stop,
            )
        };
        match ctx.cluster_tasks.clone() {
            None => tokio::spawn(run(ctx.stopped.clone())),
            Some(gate) => {
                let stored = crate::workers::cluster_tasks::StoredMapsSync {
                    config: ctx.config.clone(),
                    source: ctx.source.clone(),
                    target: ctx.target.clone(),
                    metrics: ctx.metrics.clone(),
                    interval,
                };
                tokio::spawn(gate.run_while_holding(ctx.stopped.clone(), move |stop| {
                    crate::workers::cluster_tasks::group_sync_from_stored_maps(stored.clone(), stop)
                }))
            }
        }
    });
    let result = data_path.await;
    if let Some(sync) = sync {
        // Stopped with the engine; after a fatal data-path error, cut short. Either way the
        // ledger entry of an interrupted commit was written first (see commit_ledger).
        if !sync.is_finished() {
            sync.abort();
        }
        let _ = sync.await;
    }
    let _ = writer_stop.send(true);
    let _ = writer.await;
    result
}
