//! Runs a cluster-level task (consumer-group offset sync) only while this worker holds the
//! cluster tasks and its session is confirmed, so exactly one worker of a group runs it.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::membership::Membership;

/// This worker's hold on the cluster tasks, as its membership says.
#[derive(Clone)]
pub struct ClusterTaskGate {
    pub(crate) membership: watch::Receiver<Membership>,
    pub(crate) lease: Duration,
}

impl ClusterTaskGate {
    /// Until the lease runs out: `Some(end)` while held.
    fn held_until(&self) -> Option<Instant> {
        let m = self.membership.borrow();
        let end = m.confirmed_at? + self.lease;
        (m.assignment.cluster_tasks && end > Instant::now()).then_some(end)
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
                changed = self.membership.changed() => {
                    if changed.is_err() {
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
