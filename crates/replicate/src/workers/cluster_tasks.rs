//! Runs a cluster-level task (consumer-group offset sync) only while this worker holds the
//! cluster tasks and its session is confirmed, so exactly one worker of a group runs it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreplicate_offsets::OffsetMaps;
use kreplicate_wire::client::Client;
use tokio::sync::watch;
use tokio::time::Instant;

use super::membership::WorkerView;
use crate::config::ReplicatorConfig;
use crate::metrics::ReplicatorMetrics;

/// What [`group_sync_from_stored_maps`] runs with.
#[derive(Clone)]
pub(crate) struct StoredMapsSync {
    pub(crate) config: Arc<ReplicatorConfig>,
    pub(crate) source: Client,
    pub(crate) target: Client,
    pub(crate) metrics: Arc<ReplicatorMetrics>,
    pub(crate) interval: Duration,
}

/// This worker's hold on the cluster tasks, as its membership says.
#[derive(Clone)]
pub(crate) struct ClusterTaskGate {
    pub(crate) view: WorkerView,
}

impl ClusterTaskGate {
    /// Until the lease runs out: `Some(end)` while held.
    fn held_until(&self) -> Option<Instant> {
        let (_, held) = self.view.allowed();
        if held {
            self.view.lease_end()
        } else {
            None
        }
    }

    /// Runs `task` (given its own stop signal) while the tasks are held, stopping it (and
    /// waiting for it) when they are not, until `stopped`.
    pub(crate) async fn run_while_holding<F, Fut>(
        mut self,
        mut stopped: watch::Receiver<bool>,
        task: F,
    ) where
        F: Fn(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut running: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)> = None;
        loop {
            let held = self.held_until();
            match (&held, running.is_some()) {
                (Some(_), false) => {
                    tracing::info!("this worker runs the consumer-group offset sync");
                    let (stop, stop_rx) = watch::channel(false);
                    running = Some((stop, tokio::spawn(task(stop_rx))));
                }
                (None, true) => {
                    tracing::info!("this worker no longer runs the consumer-group offset sync");
                    if let Some((stop, handle)) = running.take() {
                        let _ = stop.send(true);
                        let _ = handle.await;
                    }
                }
                _ => {}
            }
            let lease_end = async {
                match held {
                    Some(end) => tokio::time::sleep_until(end).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                alive = self.view.changed() => {
                    if !alive {
                        break;
                    }
                }
                _ = lease_end => {}
                _ = stopped.wait_for(|s| *s) => break,
            }
        }
        if let Some((stop, handle)) = running.take() {
            let _ = stop.send(true);
            let _ = handle.await;
        }
    }
}

/// Consumer-group offset sync in a worker group. The offset maps of partitions other
/// workers copy are in the map store on the target (each worker's map writer keeps its own
/// there), so the sync translates through maps read back from the store each round — never
/// through this worker's live maps, whose writer must not persist other workers' maps.
pub(crate) async fn group_sync_from_stored_maps(ctx: StoredMapsSync, stop: watch::Receiver<bool>) {
    let maps = Arc::new(Mutex::new(OffsetMaps::new()));
    let refresher = {
        let (maps, target, config) = (maps.clone(), ctx.target.clone(), ctx.config.clone());
        let interval = ctx.interval;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match crate::groups::load_offset_maps(&target, &config).await {
                    Ok(loaded) => *maps.lock().expect("maps lock") = loaded,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the offset maps back from the target for group sync; using the last read")
                    }
                }
            }
        })
    };
    crate::groups::sync::run_group_sync(
        ctx.config,
        ctx.source.config().clone(),
        ctx.target.config().clone(),
        maps,
        ctx.metrics,
        ctx.interval,
        stop,
    )
    .await;
    refresher.abort();
}
