//! Engine settings that are not part of the MSK request.

use std::time::Duration;

/// How records travel from source to target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// Decode each record, add the provenance header, re-encode with TargetCompressionType.
    /// Exactly once across crashes; loop prevention works.
    #[default]
    Records,
    /// Source batches are written as they are (only producer fields and CRC rewritten), without
    /// decompressing. For one-way copies only: no provenance header, so no loop prevention, and
    /// resume after a crash is at-least-once from the last checkpoint (see docs/guarantees.md).
    PassThrough,
}

/// Engine tuning. `Default` is what the CLI uses.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Client id sent to both clusters.
    pub client_id: String,
    pub mode: DataMode,
    /// How often source topics, partitions and configs are re-read (MSK: about 30 s).
    pub topic_refresh_interval: Duration,
    /// How often each partition's position is checkpointed to the target.
    pub checkpoint_interval: Duration,
    /// How often consumer-group offsets are synchronised (MSK: about 5 s).
    pub group_sync_interval: Duration,
    /// Bytes fetched but not yet acknowledged by the target, per partition. A partition over
    /// it is not fetched until the target catches up.
    pub max_unacked_bytes_per_partition: usize,
    /// The same, over all partitions (the producer's buffer).
    pub max_unacked_bytes: usize,
    /// Before a partition resumes, its resume point is read again after this long, until two
    /// reads agree: writes a killed previous instance had already sent land in the meantime
    /// (see docs/guarantees.md, "zombie writes").
    pub resume_settle: Duration,
    /// Give up waiting for the resume point to settle after this long (logged).
    pub resume_settle_max: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            client_id: "kreplicate".into(),
            mode: DataMode::Records,
            topic_refresh_interval: Duration::from_secs(30),
            checkpoint_interval: Duration::from_secs(1),
            group_sync_interval: Duration::from_secs(5),
            max_unacked_bytes_per_partition: 8 * 1024 * 1024,
            max_unacked_bytes: 128 * 1024 * 1024,
            resume_settle: Duration::from_secs(1),
            resume_settle_max: Duration::from_secs(30),
        }
    }
}
