//! Stops a worker's copiers the moment it may no longer write their partitions (revoked, or
//! its session no longer confirmed), in a task of its own: the supervisor's loop may be busy
//! (reading resume points takes seconds) when a lease runs out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::assignment::PartitionKey;
use super::membership::WorkerView;

/// Each running copier's stop signal, by partition.
pub(crate) type Stops = Arc<Mutex<HashMap<PartitionKey, watch::Sender<bool>>>>;

/// Watches `view` and stops every copier in `stops` whose partition is not allowed.
pub(crate) fn spawn(mut view: WorkerView, stops: Stops) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (allowed, _) = view.allowed();
            for (key, stop) in stops.lock().expect("stops").iter() {
                if !allowed.contains(key) && !*stop.borrow() {
                    tracing::info!(topic = %key.0, partition = key.1, "not this worker's to write now: stopping its copier");
                    let _ = stop.send(true);
                }
            }
            let lease_end = view.lease_end();
            tokio::select! {
                alive = view.changed() => if !alive { return },
                _ = async {
                    match lease_end {
                        Some(end) => tokio::time::sleep_until(end).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    })
}
