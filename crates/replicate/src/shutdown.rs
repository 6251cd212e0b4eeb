//! Stopping a replicator from outside the task that runs it.

use std::sync::Arc;

use tokio::sync::watch;

/// Asks a [`crate::Replicator`] to stop gracefully: no new fetches, in-flight writes finish
/// and are checkpointed, then [`crate::Replicator::wait`] returns `Ok`. Cloneable; any clone
/// may stop it, any number of times.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(pub(crate) Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Starts the graceful stop and returns at once.
    pub fn shutdown(&self) {
        // `send_replace` works with no receiver left (the replicator already ended).
        self.0.send_replace(true);
    }

    /// Whether a stop was asked for.
    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.0.borrow()
    }
}
