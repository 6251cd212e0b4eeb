//! Engine settings that are not part of the MSK request.

use std::time::Duration;

/// Where a copy's provenance lives, and so how records travel from source to target. Both
/// modes copy exactly once across crashes and prevent loops between two replicators in
/// opposite directions (docs/guarantees.md gives the proofs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// Provenance beside the records (`--provenance batch`): each source batch is written as
    /// it is (only producer fields, base offset and CRC rewritten) when its codec is the
    /// TargetCompressionType and Kafka accepts it as it is; otherwise its records are
    /// re-encoded, unchanged. Copies are known by the producer ids the replicator registers
    /// on the target (`__kreplicate-producers`): resume matches the target's copies after the
    /// last checkpoint with the source's records, and the opposite replicator skips batches
    /// of registered producer ids without decompressing them.
    #[default]
    Batch,
    /// Provenance inside every record (`--provenance header`): each record is decoded and
    /// re-encoded with TargetCompressionType, carrying a `__kreplicate` header naming its
    /// origin cluster and source offset.
    Header,
}

/// Engine tuning. `Default` is what the CLI uses; change the fields of a default value. The
/// supervision timings (settling, halt retries, restart backoff, the copier-panic limit) and
/// two test hooks are public only with the `test-util` feature, for tests that reach those
/// behaviours without waiting minutes.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Client id sent to both clusters.
    pub client_id: String,
    /// How records are written to the target (see [`DataMode`]).
    pub mode: DataMode,
    /// How often source topics, partitions and configs are re-read (MSK: about 30 s).
    pub topic_refresh_interval: Duration,
    /// How often each partition's position is checkpointed to the target.
    pub checkpoint_interval: Duration,
    /// How often consumer-group offsets are synchronised (MSK: about 5 s).
    pub group_sync_interval: Duration,
    /// Bytes fetched but not yet acknowledged by the target, per partition. A partition over
    /// it is not fetched until the target catches up. 32 MiB by default: room for several
    /// whole fetch responses of a broker that answers with more than `partition_max_bytes`
    /// (Tansu, ~5 MB), so a partition keeps its produces flowing while the next response
    /// is read; 8 MiB held the default mode at 0.8 of the broker pair's ceiling
    /// (docs/benchmarks.md). All partitions together stay within `max_unacked_bytes`.
    pub max_unacked_bytes_per_partition: usize,
    /// The same, over all partitions (the producer's buffer).
    pub max_unacked_bytes: usize,
    /// Before a partition resumes, its resume point is read again after this long, until two
    /// reads agree: writes a killed previous instance had already sent land in the meantime
    /// (see docs/guarantees.md, "zombie writes").
    #[cfg(feature = "test-util")]
    pub resume_settle: Duration,
    /// Before a partition resumes, its resume point is read again after this long, until two
    /// reads agree: writes a killed previous instance had already sent land in the meantime
    /// (see docs/guarantees.md, "zombie writes").
    #[cfg(not(feature = "test-util"))]
    pub(crate) resume_settle: Duration,
    /// Give up waiting for the resume point to settle after this long (logged).
    #[cfg(feature = "test-util")]
    pub resume_settle_max: Duration,
    /// Give up waiting for the resume point to settle after this long (logged).
    #[cfg(not(feature = "test-util"))]
    pub(crate) resume_settle_max: Duration,
    /// A partition halted by a refusal of the target (or a copier panic) is tried again after
    /// this long, doubling each time up to `halt_retry_max`; it resumes once the cause is fixed.
    #[cfg(feature = "test-util")]
    pub halt_retry_initial: Duration,
    /// A partition halted by a refusal of the target (or a copier panic) is tried again after
    /// this long, doubling each time up to `halt_retry_max`; it resumes once the cause is fixed.
    #[cfg(not(feature = "test-util"))]
    pub(crate) halt_retry_initial: Duration,
    /// The longest wait between retries of a halted partition.
    #[cfg(feature = "test-util")]
    pub halt_retry_max: Duration,
    /// The longest wait between retries of a halted partition.
    #[cfg(not(feature = "test-util"))]
    pub(crate) halt_retry_max: Duration,
    /// After a connection, deadline or coordinator error the data path restarts after this
    /// long, doubling each time (reset once it runs again) up to `restart_backoff_max`.
    #[cfg(feature = "test-util")]
    pub restart_backoff_initial: Duration,
    /// After a connection, deadline or coordinator error the data path restarts after this
    /// long, doubling each time (reset once it runs again) up to `restart_backoff_max`.
    #[cfg(not(feature = "test-util"))]
    pub(crate) restart_backoff_initial: Duration,
    /// The longest wait between data-path restarts.
    #[cfg(feature = "test-util")]
    pub restart_backoff_max: Duration,
    /// The longest wait between data-path restarts.
    #[cfg(not(feature = "test-util"))]
    pub(crate) restart_backoff_max: Duration,
    /// A partition whose copier panicked this many times is halted for good (until restart).
    #[cfg(feature = "test-util")]
    pub max_copier_panics: u32,
    /// A partition whose copier panicked this many times is halted for good (until restart).
    #[cfg(not(feature = "test-util"))]
    pub(crate) max_copier_panics: u32,
    /// Share the replicator with every other instance of the same name through a group on the
    /// target cluster (docs/scaling.md); `None`: this instance copies everything.
    pub workers: Option<WorkerGroupOptions>,
    /// Test hook: make a copier panic. Not for production use.
    #[cfg(feature = "test-util")]
    pub panic_hook: Option<PanicHook>,
    /// Test hook: make a copier panic. Not for production use.
    #[cfg(not(feature = "test-util"))]
    pub(crate) panic_hook: Option<PanicHook>,
    /// Test hook: how long both clients retry a request (the producer a batch) before it
    /// fails; `None`, the client's default (60 s). Lets a test reach the deadline, and the
    /// data-path restart it causes, without a minute-long outage. Not for production use.
    #[cfg(feature = "test-util")]
    pub request_deadline: Option<Duration>,
    /// Test hook: how long both clients retry a request (the producer a batch) before it
    /// fails; `None`, the client's default (60 s). Lets a test reach the deadline, and the
    /// data-path restart it causes, without a minute-long outage. Not for production use.
    #[cfg(not(feature = "test-util"))]
    pub(crate) request_deadline: Option<Duration>,
}

/// How a worker takes part in its replicator's worker group. `Default` is what the CLI uses;
/// change the fields of a default value (the rebalance timeout is public only with
/// `test-util`, as the supervision timings of [`EngineOptions`] are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerGroupOptions {
    /// The coordinator drops a worker it has not heard from for this long, and its
    /// partitions move. The worker itself stops copying after 3/4 of it without a confirmed
    /// heartbeat, before anyone else may be given its partitions.
    pub session_timeout: Duration,
    /// Heartbeats, this often (Kafka Connect: 3 s with a 10 s session).
    pub heartbeat_interval: Duration,
    /// How long the coordinator waits for all workers to rejoin in a rebalance.
    #[cfg(feature = "test-util")]
    pub rebalance_timeout: Duration,
    /// How long the coordinator waits for all workers to rejoin in a rebalance.
    #[cfg(not(feature = "test-util"))]
    pub(crate) rebalance_timeout: Duration,
    /// This worker's metrics address (`host:port`), advertised for `kreplicate status`.
    pub metrics_address: Option<String>,
}

impl Default for WorkerGroupOptions {
    fn default() -> Self {
        WorkerGroupOptions {
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(1),
            rebalance_timeout: Duration::from_secs(60),
            metrics_address: None,
        }
    }
}

test_util_pub! {
    /// Test hook: the copier of `topic`-`partition` panics when it copies source offset `offset`,
    /// at most `times` times over the engine's life.
    #[derive(Debug, Clone)]
    pub struct PanicHook {
        /// The source topic.
        pub topic: String,
        /// The partition.
        pub partition: i32,
        /// The source offset whose copy panics.
        pub offset: i64,
        /// Panics left (counted down).
        pub times: std::sync::Arc<std::sync::atomic::AtomicU32>,
    }
}

impl PanicHook {
    /// Panics if this is the hooked record and panics are left.
    pub(crate) fn check(&self, topic: &str, partition: i32, offset: i64) {
        use std::sync::atomic::Ordering;
        if self.topic == topic && self.partition == partition && self.offset == offset {
            let left = self
                .times
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1));
            if left.is_ok() {
                panic!("test panic hook: {topic}-{partition} at offset {offset}");
            }
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            client_id: "kreplicate".into(),
            mode: DataMode::Batch,
            topic_refresh_interval: Duration::from_secs(30),
            checkpoint_interval: Duration::from_secs(1),
            group_sync_interval: Duration::from_secs(5),
            max_unacked_bytes_per_partition: 32 * 1024 * 1024,
            max_unacked_bytes: 128 * 1024 * 1024,
            resume_settle: Duration::from_secs(1),
            resume_settle_max: Duration::from_secs(30),
            halt_retry_initial: Duration::from_secs(5),
            halt_retry_max: Duration::from_secs(300),
            restart_backoff_initial: Duration::from_secs(1),
            restart_backoff_max: Duration::from_secs(60),
            max_copier_panics: 3,
            workers: None,
            panic_hook: None,
            request_deadline: None,
        }
    }
}
