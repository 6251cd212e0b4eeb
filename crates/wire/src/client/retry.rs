//! Retry with exponential backoff and a deadline, as one policy object used by every operation
//! that talks to brokers. Whether an error is worth retrying is the error's own business
//! ([`Retriable`]); how long and how often is the policy's.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

test_util_pub! {
    /// Errors that know whether trying again could help.
    pub trait Retriable {
        /// Whether trying again may succeed.
        fn is_retriable(&self) -> bool;
    }
}

/// Backoff and deadline for retried operations.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The first wait after a failure.
    pub initial_backoff: Duration,
    /// Waits grow by this factor each attempt...
    pub multiplier: f64,
    /// ...up to this cap.
    pub max_backoff: Duration,
    /// Each wait is randomised in [wait/2, wait] so many clients do not retry in lockstep.
    pub jitter: bool,
    /// Total time budget for one operation, attempts and waits included. `None`: retry forever
    /// (for the replicator's long-running loops, which surface failures through metrics).
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(5),
            jitter: true,
            deadline: Some(Duration::from_secs(60)),
        }
    }
}

/// The sequence of waits one operation goes through.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    policy: RetryPolicy,
}

impl Backoff {
    /// The next wait (grows geometrically, capped, optionally jittered).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = self
            .next
            .mul_f64(self.policy.multiplier)
            .min(self.policy.max_backoff);
        if self.policy.jitter && !wait.is_zero() {
            let half = wait / 2;
            half + rand::thread_rng().gen_range(Duration::ZERO..=half)
        } else {
            wait
        }
    }
}

impl RetryPolicy {
    #[cfg(feature = "test-util")]
    /// A policy that never retries (for tests and one-shot commands).
    pub fn no_retry() -> Self {
        RetryPolicy {
            deadline: Some(Duration::ZERO),
            ..RetryPolicy::default()
        }
    }

    test_util_pub! {
        /// The same policy with an overall deadline (`None`: attempts only).
        pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
            self.deadline = deadline;
            self
        }
    }

    /// A fresh backoff sequence for one operation.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            next: self.initial_backoff,
            policy: self.clone(),
        }
    }

    test_util_pub! {
        /// Runs `op` until it succeeds, fails with a non-retriable error, or the deadline
        /// passes (then the last error is returned). `on_retry` sees each retriable failure
        /// before the wait, e.g. to invalidate cached metadata.
        pub async fn run<T, E, Fut>(
            &self,
            mut op: impl FnMut() -> Fut,
            mut on_retry: impl FnMut(&E),
        ) -> Result<T, E>
        where
            E: Retriable,
            Fut: Future<Output = Result<T, E>>,
        {
            let start = tokio::time::Instant::now();
            let mut backoff = self.backoff();
            loop {
                let error = match op().await {
                    Ok(value) => return Ok(value),
                    Err(e) => e,
                };
                if !error.is_retriable() {
                    return Err(error);
                }
                let wait = backoff.next_wait();
                if let Some(deadline) = self.deadline {
                    if start.elapsed() + wait > deadline {
                        return Err(error);
                    }
                }
                on_retry(&error);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug, PartialEq)]
    struct E(bool);
    impl Retriable for E {
        fn is_retriable(&self) -> bool {
            self.0
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            jitter: false,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let mut b = fast().backoff();
        let waits: Vec<_> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, vec![1, 2, 4, 4, 4]);
    }

    #[tokio::test]
    async fn retries_retriable_until_success() {
        let calls = Cell::new(0);
        let retried = Cell::new(0);
        let result = fast()
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move {
                        if n < 3 {
                            Err(E(true))
                        } else {
                            Ok(n)
                        }
                    }
                },
                |_| retried.set(retried.get() + 1),
            )
            .await;
        assert_eq!(result, Ok(3));
        assert_eq!(retried.get(), 2);
    }

    #[tokio::test]
    async fn stops_at_fatal_error_and_at_deadline() {
        let calls = Cell::new(0);
        let r: Result<(), E> = fast()
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err(E(false)) }
                },
                |_| {},
            )
            .await;
        assert_eq!((r, calls.get()), (Err(E(false)), 1));

        let calls = Cell::new(0);
        let r: Result<(), E> = fast()
            .with_deadline(Some(Duration::from_millis(20)))
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err(E(true)) }
                },
                |_| {},
            )
            .await;
        assert_eq!(r, Err(E(true)));
        assert!(
            calls.get() >= 3 && calls.get() < 30,
            "calls = {}",
            calls.get()
        );
    }
}
