//! A fetcher shared by many single-partition readers, which sends their fetches as one Fetch
//! request per leader broker.
//!
//! A broker serves one request per connection at a time, so one Fetch per partition makes the
//! partitions of a broker queue behind each other, and a caught-up partition's long poll
//! (`max_wait`) holds up all the others. Kafka's consumer sends one Fetch per broker covering
//! all its partitions; [`SharedFetcher`] does the same while each caller still fetches just
//! its own partition and awaits the result. A background task batches:
//!
//! - Per leader broker at most one Fetch request from this `SharedFetcher` is in flight.
//!   Positions arriving meanwhile wait and all go out together in the next request, sent as
//!   soon as the current one completes. A position whose leader is idle goes out at once:
//!   batching comes from waiting for the connection, which happens anyway, never from a
//!   linger delay.
//! - Leaders are independent: a broker long-polling for idle partitions never delays the
//!   positions of another broker.
//! - The leader is looked up in the caller's task from the client's cached metadata; a lookup
//!   error or a partition without a leader is answered at once, as [`Fetcher::fetch`] does.
//! - The request itself is [`Fetcher::fetch`], so error handling, throttling and out-of-range
//!   answers are those of the fetcher; an error for one partition reaches only its caller.
//! - A request names a partition once, so two fetches of the same partition waiting at once
//!   go out in successive requests; both are answered.
//! - A caller that drops its future is forgotten: its position is left out if its request has
//!   not started, its result is discarded otherwise. Waiting positions are bounded by the live
//!   callers (each awaits its one result): cancelled ones are pruned as the queue grows, so it
//!   stays below twice the most callers ever waiting at once, plus a constant.
//!
//! The cost of no linger: callers answered by one request and those answered by the next stay
//! a request apart, and when one group is all caught up its long poll (`max_wait`) holds up the
//! other's next fetch. A position still waits for at most one request ahead of it, where one
//! Fetch per partition made it wait for all of them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::fetched::FetchedPartition;
use super::fetcher::{FetchPosition, Fetcher};
use crate::client::{Error, Result};
use crate::protocol::BrokerError;

/// Kafka's LEADER_NOT_AVAILABLE, what [`Fetcher::fetch`] answers for a partition without a
/// leader.
const LEADER_NOT_AVAILABLE: i16 = 5;

/// Fetches on their way to the batching task; senders wait when it is full.
const QUEUE: usize = 1024;

/// Below this many waiting positions for a leader, cancelled ones are not pruned on arrival.
const MIN_PRUNE: usize = 64;

/// What [`Error::Shutdown`] names.
const NAME: &str = "shared fetcher";

/// A [`Fetcher`] many tasks share, each fetching one partition at a time; their fetches go out
/// as one Fetch request per leader broker (see the module docs).
///
/// Cheap to clone: clones share the batching task, which ends when the last clone is dropped.
/// Batching happens only among the callers of one `SharedFetcher`, so create one per source
/// cluster and give clones to every reader of that cluster.
#[derive(Clone, Debug)]
pub struct SharedFetcher {
    fetcher: Arc<Fetcher>,
    requests: mpsc::Sender<Queued>,
}

impl SharedFetcher {
    /// Spawns the batching task on the current Tokio runtime (so it must be called from within
    /// one); the task ends when the last handle is dropped.
    pub fn new(fetcher: Fetcher) -> Self {
        let fetcher = Arc::new(fetcher);
        let (requests, incoming) = mpsc::channel(QUEUE);
        let batcher = Batcher {
            fetcher: fetcher.clone(),
            leaders: HashMap::new(),
            rounds: FuturesUnordered::new(),
        };
        tokio::spawn(batcher.run(incoming));
        SharedFetcher { fetcher, requests }
    }

    /// Fetches `position` once, in the next Fetch request to its leader together with every
    /// other position waiting for that leader. Same errors as [`Fetcher::fetch`] for that
    /// position; [`Error::Shutdown`] only if the batching task is gone (its runtime shut down).
    pub async fn fetch(&self, position: FetchPosition) -> Result<FetchedPartition> {
        let client = self.fetcher.client();
        let leader = client
            .leader_id(&position.topic, position.partition)
            .await?;
        if leader < 0 {
            // As Fetcher::fetch: the leader is being elected; the next lookup asks the cluster.
            client.invalidate_topic(&position.topic);
            return Err(BrokerError::new("Fetch", LEADER_NOT_AVAILABLE)
                .with_partition(&position.topic, position.partition)
                .into());
        }
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter { position, reply };
        self.requests
            .send(Queued { leader, waiter })
            .await
            .map_err(|_| Error::Shutdown(NAME))?;
        answer.await.map_err(|_| Error::Shutdown(NAME))?
    }

    /// The underlying fetcher (its client and configuration).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }
}

/// One caller waiting for its position's result.
#[derive(Debug)]
struct Waiter {
    position: FetchPosition,
    reply: oneshot::Sender<Result<FetchedPartition>>,
}

/// A waiter and the leader it was looked up for.
#[derive(Debug)]
struct Queued {
    leader: i32,
    waiter: Waiter,
}

/// What the batching task knows about one leader broker that has a request in flight or
/// positions waiting (idle leaders have no entry).
#[derive(Default)]
struct Leader {
    in_flight: bool,
    /// Positions for the next request, in arrival order.
    waiting: Vec<Waiter>,
    /// The length of `waiting` at which cancelled waiters are next pruned.
    prune_at: usize,
}

impl Leader {
    /// Queues `waiter`. Cancelled waiters are pruned whenever the queue has doubled since the
    /// last pruning (amortised constant cost), so it stays below twice the live waiters at
    /// that pruning, or `MIN_PRUNE`.
    fn push(&mut self, waiter: Waiter) {
        if self.waiting.len() >= self.prune_at {
            self.waiting.retain(|w| !w.reply.is_closed());
            self.prune_at = (2 * self.waiting.len()).max(MIN_PRUNE);
        }
        self.waiting.push(waiter);
    }

    /// Takes the positions for the next request: the live waiters, one per partition (later
    /// waiters for a partition already taken stay queued for the request after).
    fn take_round(&mut self) -> Vec<Waiter> {
        let mut taken = HashSet::new();
        let mut round = Vec::new();
        let mut rest = Vec::new();
        for waiter in self.waiting.drain(..) {
            if waiter.reply.is_closed() {
                continue;
            }
            let key = (waiter.position.topic.clone(), waiter.position.partition);
            if taken.insert(key) {
                round.push(waiter);
            } else {
                rest.push(waiter);
            }
        }
        self.waiting = rest;
        round
    }
}

/// The batching task's state.
struct Batcher {
    fetcher: Arc<Fetcher>,
    leaders: HashMap<i32, Leader>,
    /// Requests in flight; each yields its leader's node id when it has answered its waiters.
    rounds: FuturesUnordered<BoxFuture<'static, i32>>,
}

impl Batcher {
    async fn run(mut self, mut incoming: mpsc::Receiver<Queued>) {
        loop {
            tokio::select! {
                queued = incoming.recv() => match queued {
                    Some(queued) => self.enqueue(queued),
                    // Every handle is gone, so no caller is waiting.
                    None => return,
                },
                Some(leader) = self.rounds.next(), if !self.rounds.is_empty() => {
                    if let Some(state) = self.leaders.get_mut(&leader) {
                        state.in_flight = false;
                    }
                }
            }
            // Everything already sent joins the requests about to start, not the ones after.
            self.drain(&mut incoming);
            self.start_rounds();
        }
    }

    fn enqueue(&mut self, queued: Queued) {
        self.leaders
            .entry(queued.leader)
            .or_default()
            .push(queued.waiter);
    }

    /// Takes the fetches already in the channel, at most its capacity.
    fn drain(&mut self, incoming: &mut mpsc::Receiver<Queued>) {
        for _ in 0..QUEUE {
            match incoming.try_recv() {
                Ok(queued) => self.enqueue(queued),
                // Disconnected: the next `recv` says so and ends the task.
                Err(_) => break,
            }
        }
    }

    /// Starts a request for every leader that has none in flight and positions waiting, and
    /// forgets leaders with neither.
    fn start_rounds(&mut self) {
        for (&leader, state) in &mut self.leaders {
            if state.in_flight || state.waiting.is_empty() {
                continue;
            }
            let round = state.take_round();
            if round.is_empty() {
                // All cancelled (duplicates of a partition stay only behind a live waiter).
                continue;
            }
            state.in_flight = true;
            self.rounds
                .push(Box::pin(fetch_round(self.fetcher.clone(), leader, round)));
        }
        self.leaders
            .retain(|_, state| state.in_flight || !state.waiting.is_empty());
    }
}

/// One Fetch request for `waiters` (distinct partitions, all led by `leader` when looked up),
/// answering each waiter; yields `leader`.
async fn fetch_round(fetcher: Arc<Fetcher>, leader: i32, waiters: Vec<Waiter>) -> i32 {
    let positions: Vec<FetchPosition> = waiters.iter().map(|w| w.position.clone()).collect();
    let mut results: HashMap<(String, i32), Result<FetchedPartition>> = fetcher
        .fetch(&positions)
        .await
        .into_iter()
        .map(|(p, result)| ((p.topic, p.partition), result))
        .collect();
    for waiter in waiters {
        let FetchPosition {
            topic, partition, ..
        } = &waiter.position;
        let result = results
            .remove(&(topic.clone(), *partition))
            .unwrap_or_else(|| {
                Err(Error::protocol(
                    "Fetch",
                    format!("node {leader}"),
                    format!("the fetch round returned no result for {topic}-{partition}"),
                ))
            });
        // A caller that gave up has dropped its receiver; its result is not wanted.
        let _ = waiter.reply.send(result);
    }
    leader
}
