//! The command line every bench mirror takes (the python peer takes the same flags).

use clap::Args;

/// Where a mirror reads, where it writes, and what.
#[derive(Debug, Clone, Args)]
pub struct MirrorArgs {
    /// Source bootstrap address (host:port).
    #[arg(long)]
    pub source: String,
    /// Target bootstrap address (host:port).
    #[arg(long)]
    pub target: String,
    /// Topics to copy (same name on the target, which must already exist there).
    #[arg(long, value_delimiter = ',', required = true)]
    pub topics: Vec<String>,
    /// Partitions of each topic.
    #[arg(long)]
    pub partitions: i32,
    /// Fetch max wait in ms (500: the replicator's and librdkafka's default).
    #[arg(long, default_value_t = 500)]
    pub max_wait_ms: u64,
    /// Codec of the batches the mirror builds (`compression.type` name).
    #[arg(long, default_value = "lz4")]
    pub compression: String,
}
