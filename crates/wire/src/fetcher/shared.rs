//! A fetcher shared by many single-partition readers, which sends their fetches as one Fetch
//! request per leader broker and prefetches each partition's next result.
//!
//! A broker serves one request per connection at a time, so one Fetch per partition makes the
//! partitions of a broker queue behind each other, and a caught-up partition's long poll
//! (`max_wait`) holds up all the others. Kafka's consumer sends one Fetch per broker covering
//! all its partitions and keeps the next result of each partition ready while the application
//! processes the last one; [`SharedFetcher`] does the same while each caller still fetches
//! just its own partition and awaits the result. A background task batches and prefetches:
//!
//! - Every partition asked for at least once is *known*, with a *next position* and a buffer
//!   of at most one result nobody has claimed yet. The next position is where its caller will
//!   most likely ask next: after the last complete batch of its last result (the same offset
//!   if that result had none). A partition with no result yet (its first caller gave up
//!   before it came) has none, and is fetched only when asked.
//! - Per leader broker at most one Fetch request from this `SharedFetcher` is in flight. Each
//!   covers every known partition of that leader whose buffer is empty and that is not in the
//!   request in flight: a waiting caller's at the offset it asked, the others at their next
//!   position. A request starts as soon as its leader is idle and a partition is eligible:
//!   batching comes from waiting for the connection, which happens anyway, never from a
//!   linger delay; the one exception is below.
//! - A result goes to the caller waiting at its offset; with no caller waiting it is buffered.
//!   [`SharedFetcher::fetch`] at the buffered result's offset returns it at once (and the
//!   partition is fetched again in the next request); at another offset (the caller moved: a
//!   halt, a gap, a retry) the buffered result is dropped and the asked offset fetched. A
//!   result in flight for an offset no longer asked is dropped the same way.
//! - Back-pressure: a partition with a buffered result is not fetched again until its caller
//!   claims it, so memory is bounded by one response per known partition, however slow the
//!   callers. And all buffered results together are bounded by the prefetch budget
//!   ([`PREFETCH_BUDGET`], or [`SharedFetcher::with_prefetch_budget`]): while the bytes
//!   buffered reach it, partitions are fetched only for a caller waiting, not prefetched, so
//!   buffered bytes stay under the budget plus one response per leader. A broker may exceed
//!   `partition_max_bytes` (Tansu 0.6 answers one partition with up to 5.4 MB), so the
//!   per-partition bound alone could hold 12 such responses at once. A partition nobody asks for in [`FORGET_AFTER`]
//!   (its reader stopped) is forgotten with its buffered result.
//! - Errors are never buffered. A prefetch that fails is dropped and the partition is not
//!   prefetched again until its caller asks; that fetch goes out fresh. A buffered error
//!   would be stale when claimed (a NOT_LEADER from a broker that has since handed the
//!   partition over), and prefetching after it would retry at once instead of after the
//!   caller's back-off, or spin on an error the broker answers at once.
//! - Quiet partitions do not hold up busy ones. A partition is *quiet* when its last result
//!   had no records at the offset it would be fetched at now and the broker said it had none
//!   there (its high watermark, or last stable offset under read_committed, was not past the
//!   offset), so the broker long-polls for it. An empty result below that end (a broker that
//!   left the partition out of a full response) is not quiet: it is fetched again at once.
//!   A request made only of quiet partitions waits while a caller of the same leader is
//!   processing records it received (it will soon ask again or claim its buffered result),
//!   for at most `max_wait` after it received them; the quiet partitions then go out with its
//!   partition in a request the broker answers at once. Sent alone, their long poll would
//!   keep the busy partitions off the connection for `max_wait` after every result: with 6
//!   busy and 6 caught-up partitions and 5 ms of processing per result, the busy callers got
//!   78 results in 3 s that way (42 without prefetching), and about 2800 holding back.
//! - Leaders are independent: a broker long-polling for idle partitions never delays the
//!   partitions of another broker.
//! - The leader is looked up in the caller's task from the client's cached metadata; a lookup
//!   error or a partition without a leader is answered at once, as [`Fetcher::fetch`] does. A
//!   partition is prefetched from the leader its last caller looked up, so a leader change
//!   shows up as an error result for the caller, who looks the leader up again next time.
//! - The request itself is [`Fetcher::fetch`], so error handling, throttling and out-of-range
//!   answers are those of the fetcher; an error for one partition reaches only its caller.
//! - A request names a partition once, so two fetches of the same partition waiting at once
//!   go out in successive requests; both are answered.
//! - A caller that drops its future is forgotten; the result of its fetch is buffered like a
//!   prefetch. Waiting callers are bounded by the live callers (each awaits its one result):
//!   cancelled ones are pruned whenever their partition gets a new caller or a request.
//!
//! With no records anywhere, requests are paced by the broker's long poll; with every buffer
//! full and nobody waiting, none is sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::config::{FetchConfig, IsolationLevel};
use super::fetched::FetchedPartition;
use super::fetcher::{FetchPosition, Fetcher};
use crate::client::{Client, Error, Result};
use crate::protocol::BrokerError;
use kreplicate_codec::RecordSet;

/// Kafka's LEADER_NOT_AVAILABLE, what `Fetcher::fetch` answers for a partition without a
/// leader.
const LEADER_NOT_AVAILABLE: i16 = 5;

/// Fetches on their way to the batching task; senders wait when it is full.
const QUEUE: usize = 1024;

/// A known partition nobody has asked for this long is forgotten with its buffered result.
const FORGET_AFTER: Duration = Duration::from_secs(300);

/// How often partitions are checked against [`FORGET_AFTER`].
const SWEEP_EVERY: Duration = Duration::from_secs(60);

test_util_pub! {
    /// The default cap on bytes prefetched and not yet claimed, across all partitions: 64 MiB,
    /// librdkafka's default bound on a consumer's prefetched data
    /// (`queued.max.messages.kbytes`). Room for 64 partitions' `partition_max_bytes` results
    /// from a broker that honours it, and for about a dozen from one that answers ~5 MB per
    /// partition (Tansu): 16 MiB left most partitions waiting for a fetch of their own there,
    /// and the default mode at 0.8 of the broker pair's ceiling (docs/benchmarks.md).
    pub const PREFETCH_BUDGET: usize = 64 * 1024 * 1024;
}

/// What [`Error::Shutdown`] names.
const NAME: &str = "shared fetcher";

/// A read_committed (or read_uncommitted, per [`FetchConfig`]) fetcher many tasks share, each
/// fetching one partition at a time; their fetches go out as one Fetch request per leader
/// broker, with each partition's next result prefetched (see the module docs).
///
/// Cheap to clone: clones share the batching task, which ends when the last clone is dropped.
/// Batching happens only among the callers of one `SharedFetcher`, so create one per source
/// cluster and give clones to every reader of that cluster.
#[derive(Clone, Debug)]
pub struct SharedFetcher {
    fetcher: Arc<Fetcher>,
    requests: mpsc::Sender<Queued>,
    buffered: Arc<AtomicUsize>,
}

impl SharedFetcher {
    /// A fetcher sending through `client`. Spawns the batching task on the current Tokio
    /// runtime (so it must be called from within one); the task ends when the last handle is
    /// dropped.
    pub fn new(client: Client, config: FetchConfig) -> Self {
        Self::with_prefetch_budget(client, config, PREFETCH_BUDGET)
    }

    test_util_pub! {
        /// As [`SharedFetcher::new`], with `budget` bytes for prefetched results nobody has
        /// claimed yet, across all partitions (see the module docs).
        pub fn with_prefetch_budget(client: Client, config: FetchConfig, budget: usize) -> Self {
            let fetcher = Arc::new(Fetcher::new(client, config));
            let buffered = Arc::new(AtomicUsize::new(0));
            let (requests, incoming) = mpsc::channel(QUEUE);
            let batcher = Batcher {
                max_wait: fetcher.config().max_wait,
                fetcher: fetcher.clone(),
                partitions: HashMap::new(),
                leaders: HashMap::new(),
                dirty: HashSet::new(),
                rounds: FuturesUnordered::new(),
                budget,
                buffered: buffered.clone(),
            };
            tokio::spawn(batcher.run(incoming));
            SharedFetcher {
                fetcher,
                requests,
                buffered,
            }
        }
    }

    test_util_pub! {
        /// Bytes of results fetched and not yet claimed by a caller, as of the batching task's
        /// last step.
        pub fn buffered_bytes(&self) -> usize {
            self.buffered.load(Ordering::Relaxed)
        }
    }

    /// Fetches `position` once: from the result prefetched for exactly that offset if there is
    /// one, else in the next Fetch request to its leader together with every other partition
    /// waiting for or due a fetch from that leader. A partition whose leader cannot be found or
    /// whose broker fails gets an error (and its cached metadata is invalidated); the others
    /// are unaffected. OFFSET_OUT_OF_RANGE comes back as [`Error::OffsetOutOfRange`] with the
    /// partition's valid range. [`Error::Shutdown`] only if the batching task is gone (its
    /// runtime shut down).
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

    /// The client this fetcher reads through (e.g. for its retry policy).
    pub fn client(&self) -> &Client {
        self.fetcher.client()
    }

    test_util_pub! {
        /// The underlying fetcher (its client and configuration).
        pub fn fetcher(&self) -> &Fetcher {
            &self.fetcher
        }
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

/// A partition: topic and index.
type Key = (String, i32);

/// A result with the offset after its complete batches (its own offset if it has none).
struct Fetched {
    fetched: FetchedPartition,
    next: i64,
}

impl Fetched {
    fn has_records(&self) -> bool {
        self.next > self.fetched.fetch_offset
    }

    /// No records, and the broker says there are none to read at the fetch offset (the last
    /// stable offset under read_committed, else the high watermark): the next fetch there is a
    /// long poll. An empty result below that end is not caught up: Kafka leaves a partition
    /// empty once the response's `max_bytes` is used up by the partitions before it
    /// (`ReplicaManager.readFromLog`: once `limitBytes` reaches 0), and Tansu 0.6 answers most
    /// partitions of a many-partition Fetch empty while they hold records.
    fn caught_up(&self) -> bool {
        let f = &self.fetched;
        let end = match f.isolation {
            IsolationLevel::ReadCommitted if f.last_stable_offset >= 0 => f.last_stable_offset,
            _ => f.high_watermark,
        };
        !self.has_records() && end <= f.fetch_offset
    }
}

/// What the batching task knows about one partition.
struct Partition {
    /// The leader its last caller looked up.
    leader: i32,
    /// Callers waiting, in arrival order (more than one only when several fetch it at once).
    waiters: VecDeque<Waiter>,
    /// Where a prefetch reads; `None` after an error, when only a caller's fetch goes out.
    next: Option<i64>,
    /// Whether the last result, at the offset `next` still holds, had no records.
    quiet: bool,
    /// A result no caller was waiting for.
    buffered: Option<Fetched>,
    /// The offset it has in the request in flight, if it is in one.
    in_flight: Option<i64>,
    /// When a caller last received records from it, if that caller has not asked again since
    /// (it is processing them).
    processing_since: Option<Instant>,
    last_asked: Instant,
}

impl Partition {
    fn new(leader: i32, now: Instant) -> Self {
        Partition {
            leader,
            waiters: VecDeque::new(),
            next: None,
            quiet: false,
            buffered: None,
            in_flight: None,
            processing_since: None,
            last_asked: now,
        }
    }

    fn prune_waiters(&mut self) {
        self.waiters.retain(|w| !w.reply.is_closed());
    }

    /// The offset to fetch in the next request and whether the partition is quiet there, or
    /// `None` if it is not eligible: in flight, holding a buffered result, or with neither a
    /// caller waiting nor a prefetch due (or allowed: `prefetch` is false over the budget).
    fn eligible(&mut self, prefetch: bool) -> Option<(i64, bool)> {
        if self.in_flight.is_some() || self.buffered.is_some() {
            return None;
        }
        self.prune_waiters();
        let offset = match self.waiters.front() {
            Some(w) => w.position.offset,
            None if prefetch => self.next?,
            None => return None,
        };
        Some((offset, self.quiet && self.next == Some(offset)))
    }

    /// Hands `fetched` to the first live caller waiting at its offset; gives it back if there
    /// is none.
    fn deliver(&mut self, fetched: Fetched, now: Instant) -> Option<Fetched> {
        let offset = fetched.fetched.fetch_offset;
        let has_records = fetched.has_records();
        let mut fetched = fetched;
        while let Some(i) = self
            .waiters
            .iter()
            .position(|w| w.position.offset == offset)
        {
            let Some(waiter) = self.waiters.remove(i) else {
                break;
            };
            match waiter.reply.send(Ok(fetched.fetched)) {
                Ok(()) => {
                    self.processing_since = has_records.then_some(now);
                    return None;
                }
                // That caller gave up; the next one at this offset may still want it.
                Err(back) => {
                    fetched.fetched = match back {
                        Ok(f) => f,
                        Err(_) => return None,
                    }
                }
            }
        }
        Some(fetched)
    }
}

/// What the batching task knows about one leader broker that leads a known partition or has
/// a request in flight.
#[derive(Default)]
struct Leader {
    in_flight: bool,
    partitions: HashSet<Key>,
    /// When a request held back for quiet partitions goes out anyway.
    deferred_until: Option<Instant>,
}

/// One request's outcome: its leader and each position's result.
struct Round {
    leader: i32,
    results: Vec<(FetchPosition, Result<Fetched>)>,
}

/// The batching task's state.
struct Batcher {
    fetcher: Arc<Fetcher>,
    max_wait: Duration,
    partitions: HashMap<Key, Partition>,
    leaders: HashMap<i32, Leader>,
    /// Leaders whose state changed since requests were last started.
    dirty: HashSet<i32>,
    /// Requests in flight.
    rounds: FuturesUnordered<BoxFuture<'static, Round>>,
    /// Prefetching stops while buffered results hold this many bytes.
    budget: usize,
    /// The bytes buffered, published for [`SharedFetcher::buffered_bytes`].
    buffered: Arc<AtomicUsize>,
}

impl Batcher {
    async fn run(mut self, mut incoming: mpsc::Receiver<Queued>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self.leaders.values().filter_map(|l| l.deferred_until).min();
            tokio::select! {
                queued = incoming.recv() => match queued {
                    Some(queued) => self.ask(queued),
                    // Every handle is gone, so no caller is waiting.
                    None => return,
                },
                Some(round) = self.rounds.next(), if !self.rounds.is_empty() => self.finish(round),
                _ = sleep_until(wake), if wake.is_some() => self.wake_deferred(),
                _ = sweep.tick() => self.forget_unasked(),
            }
            // Everything already sent joins the requests about to start, not the ones after.
            self.drain(&mut incoming);
            self.start_rounds();
        }
    }

    /// Bytes held in buffered results; summed, not tracked, so no path can make it drift.
    fn buffered_bytes(&self) -> usize {
        self.partitions
            .values()
            .filter_map(|p| p.buffered.as_ref())
            .map(|b| b.fetched.raw.len())
            .sum()
    }

    /// A caller asks for a position: answered from the buffer if it holds that offset,
    /// queued for the next request otherwise.
    fn ask(&mut self, queued: Queued) {
        let Queued { leader, waiter } = queued;
        let now = Instant::now();
        let key = (waiter.position.topic.clone(), waiter.position.partition);
        let partition = self
            .partitions
            .entry(key.clone())
            .or_insert_with(|| Partition::new(leader, now));
        if partition.leader != leader {
            if let Some(old) = self.leaders.get_mut(&partition.leader) {
                old.partitions.remove(&key);
            }
            self.dirty.insert(partition.leader);
            partition.leader = leader;
        }
        let members = &mut self.leaders.entry(leader).or_default().partitions;
        if !members.contains(&key) {
            members.insert(key);
        }
        self.dirty.insert(leader);
        partition.last_asked = now;
        partition.processing_since = None;
        let offset = waiter.position.offset;
        partition.prune_waiters();
        partition.waiters.push_back(waiter);
        if let Some(buffered) = partition.buffered.take() {
            // Bytes freed: a partition of any leader held back by the budget may be due.
            self.dirty.extend(self.leaders.keys().copied());
            if buffered.fetched.fetch_offset == offset {
                // Claimed: the partition is fetched again in the next request.
                partition.buffered = partition.deliver(buffered, now);
            }
            // Otherwise the caller moved and the buffered result is dropped.
        }
    }

    /// A request answered: its results go to their callers or buffers.
    fn finish(&mut self, round: Round) {
        if let Some(leader) = self.leaders.get_mut(&round.leader) {
            leader.in_flight = false;
        }
        self.dirty.insert(round.leader);
        let now = Instant::now();
        for (position, result) in round.results {
            let key = (position.topic, position.partition);
            let Some(partition) = self.partitions.get_mut(&key) else {
                continue;
            };
            if partition.in_flight == Some(position.offset) {
                partition.in_flight = None;
            }
            self.dirty.insert(partition.leader);
            partition.prune_waiters();
            match result {
                Ok(fetched) => {
                    partition.next = Some(fetched.next);
                    partition.quiet = fetched.caught_up();
                    if let Some(unclaimed) = partition.deliver(fetched, now) {
                        // Buffered only if nobody waits elsewhere: a caller at another offset
                        // moved past it.
                        if partition.waiters.is_empty() {
                            partition.buffered = Some(unclaimed);
                        }
                    }
                }
                Err(e) => {
                    // Never buffered (see the module docs): it reaches a caller waiting at
                    // this offset, or is dropped and that offset fetched again when asked.
                    partition.next = None;
                    partition.quiet = false;
                    let i = partition
                        .waiters
                        .iter()
                        .position(|w| w.position.offset == position.offset);
                    if let Some(waiter) = i.and_then(|i| partition.waiters.remove(i)) {
                        let _ = waiter.reply.send(Err(e));
                    }
                }
            }
        }
    }

    fn wake_deferred(&mut self) {
        let now = Instant::now();
        for (&id, leader) in &mut self.leaders {
            if leader.deferred_until.is_some_and(|t| t <= now) {
                leader.deferred_until = None;
                self.dirty.insert(id);
            }
        }
    }

    /// Forgets partitions nobody asked for in [`FORGET_AFTER`], and leaders left with none.
    fn forget_unasked(&mut self) {
        let now = Instant::now();
        let leaders = &mut self.leaders;
        self.partitions.retain(|key, p| {
            p.prune_waiters();
            let keep = p.in_flight.is_some()
                || !p.waiters.is_empty()
                || now.duration_since(p.last_asked) < FORGET_AFTER;
            if !keep {
                if let Some(leader) = leaders.get_mut(&p.leader) {
                    leader.partitions.remove(key);
                }
            }
            keep
        });
        self.leaders
            .retain(|_, l| l.in_flight || !l.partitions.is_empty());
        // Buffered results may have gone with their partitions: held-back prefetches may be due.
        self.dirty.extend(self.leaders.keys().copied());
    }

    /// Takes the fetches already in the channel, at most its capacity.
    fn drain(&mut self, incoming: &mut mpsc::Receiver<Queued>) {
        for _ in 0..QUEUE {
            match incoming.try_recv() {
                Ok(queued) => self.ask(queued),
                // Disconnected: the next `recv` says so and ends the task.
                Err(_) => break,
            }
        }
    }

    /// Starts a request for every changed leader that has none in flight and an eligible
    /// partition, unless only quiet ones are and another is being processed.
    fn start_rounds(&mut self) {
        let now = Instant::now();
        let buffered = self.buffered_bytes();
        self.buffered.store(buffered, Ordering::Relaxed);
        let prefetch = buffered < self.budget;
        for id in std::mem::take(&mut self.dirty) {
            let Some(leader) = self.leaders.get_mut(&id) else {
                continue;
            };
            if leader.in_flight {
                continue;
            }
            leader.deferred_until = None;
            let mut eligible = Vec::new();
            let mut all_quiet = true;
            let mut processing_until: Option<Instant> = None;
            for key in &leader.partitions {
                let Some(partition) = self.partitions.get_mut(key) else {
                    continue;
                };
                if let Some(since) = partition.processing_since {
                    let until = since + self.max_wait;
                    if until > now {
                        processing_until = processing_until.max(Some(until));
                    }
                }
                if let Some((offset, quiet)) = partition.eligible(prefetch) {
                    all_quiet &= quiet;
                    eligible.push(FetchPosition {
                        topic: key.0.clone(),
                        partition: key.1,
                        offset,
                    });
                }
            }
            if eligible.is_empty() {
                continue;
            }
            if all_quiet && processing_until.is_some() {
                leader.deferred_until = processing_until;
                continue;
            }
            for position in &eligible {
                let key = (position.topic.clone(), position.partition);
                if let Some(partition) = self.partitions.get_mut(&key) {
                    partition.in_flight = Some(position.offset);
                }
            }
            leader.in_flight = true;
            self.rounds
                .push(Box::pin(fetch_round(self.fetcher.clone(), id, eligible)));
        }
    }
}

/// Sleeps until `deadline`, forever if there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// One Fetch request for `positions` (distinct partitions, all led by `leader` when looked
/// up), with each result's next offset worked out here, off the batching task.
async fn fetch_round(fetcher: Arc<Fetcher>, leader: i32, positions: Vec<FetchPosition>) -> Round {
    let mut results: HashMap<Key, Result<FetchedPartition>> = fetcher
        .fetch(&positions)
        .await
        .into_iter()
        .map(|(p, result)| ((p.topic, p.partition), result))
        .collect();
    let results = positions
        .into_iter()
        .map(|position| {
            let result = results
                .remove(&(position.topic.clone(), position.partition))
                .unwrap_or_else(|| {
                    Err(Error::protocol(
                        "Fetch",
                        format!("node {leader}"),
                        format!(
                            "the fetch round returned no result for {}-{}",
                            position.topic, position.partition
                        ),
                    ))
                })
                .map(|fetched| Fetched {
                    next: next_offset(&fetched),
                    fetched,
                });
            (position, result)
        })
        .collect();
    Round { leader, results }
}

/// The offset after the last complete batch of `fetched` (up to the first malformed one),
/// or its fetch offset if there is none: where its reader most likely fetches next.
fn next_offset(fetched: &FetchedPartition) -> i64 {
    RecordSet::new(fetched.raw.clone())
        .batches()
        .map_while(|batch| batch.ok())
        .map(|batch| batch.next_offset())
        .fold(fetched.fetch_offset, i64::max)
}
