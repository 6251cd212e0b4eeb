//! Retry rounds for requests about many items at once.
//!
//! [`RetryPolicy::run`](crate::client::RetryPolicy::run) retries a whole operation; a request
//! about many topics or partitions instead keeps the items that succeeded and resends only the
//! ones that failed retriably. `Rounds` is the policy's backoff and deadline for such a loop.

use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Backoff, RetryPolicy};

/// The waits between rounds of one multi-item operation.
pub(crate) struct Rounds {
    start: Instant,
    backoff: Backoff,
    deadline: Option<Duration>,
}

impl Rounds {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        Rounds {
            start: Instant::now(),
            backoff: policy.backoff(),
            deadline: policy.deadline,
        }
    }

    /// True once the policy's deadline has passed.
    pub(crate) fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| self.start.elapsed() >= deadline)
    }

    /// Sleeps before the next round. False (without sleeping) when the policy's deadline
    /// leaves no room for another round: the caller reports its last errors.
    pub(crate) async fn wait(&mut self) -> bool {
        let wait = self.backoff.next_wait();
        if let Some(deadline) = self.deadline {
            if self.start.elapsed() + wait > deadline {
                return false;
            }
        }
        tokio::time::sleep(wait).await;
        true
    }
}
