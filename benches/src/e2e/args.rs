//! `kreplicate-benches e2e` options.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kreplicate_codec::Compression;

/// One of the mirrors the harness compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum MirrorKind {
    /// The broker pair's ceiling: raw batches fetched and produced unchanged, no replicator.
    Ceiling,
    /// `kreplicate run --provenance batch`: the default data mode (source batches pass
    /// through, re-encoded only when their codec is not TargetCompressionType).
    Batch,
    /// `kreplicate run --provenance header`: header mode (a provenance header on every
    /// record).
    Header,
    /// The librdkafka consume → produce mirror.
    Peer,
}

impl MirrorKind {
    /// Short name used in topic names and the table.
    pub fn slug(self) -> &'static str {
        match self {
            MirrorKind::Ceiling => "ceiling",
            MirrorKind::Batch => "batch",
            MirrorKind::Header => "header",
            MirrorKind::Peer => "peer",
        }
    }

    /// The `kreplicate run` flags selecting this mirror's data mode; `None` for the mirrors
    /// that are not kreplicate.
    pub fn kreplicate_flags(self) -> Option<[&'static str; 2]> {
        match self {
            MirrorKind::Batch => Some(["--provenance", "batch"]),
            MirrorKind::Header => Some(["--provenance", "header"]),
            MirrorKind::Ceiling | MirrorKind::Peer => None,
        }
    }
}

/// Which implementation of the librdkafka peer to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeerKind {
    /// Rust `rdkafka` when built with `--features peer-rdkafka`, else python.
    Auto,
    /// Rust `rdkafka` (needs `--features peer-rdkafka`).
    Rdkafka,
    /// python confluent-kafka (benches/peer/confluent_mirror.py).
    Python,
}

/// Options of the end-to-end harness.
#[derive(Debug, Clone, Args)]
pub struct E2eArgs {
    /// Records preloaded into the source topic.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Value bytes per record (each record also has a 12-byte key and one 13-byte header).
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Partitions of the source topic.
    #[arg(long, default_value_t = 12)]
    pub partitions: i32,
    /// Also copy this many idle topics (as many partitions each, never written): shows what
    /// idle partitions cost a mirror.
    #[arg(long, default_value_t = 0)]
    pub idle_topics: u32,
    /// Codec of the preloaded source batches.
    #[arg(long, default_value = "lz4", value_parser = parse_compression)]
    pub source_compression: Compression,
    /// TargetCompressionType of header mode, and the codec of the peer's producer.
    #[arg(long, default_value = "lz4", value_parser = parse_compression)]
    pub target_compression: Compression,
    /// Mirrors to run, in this order (each round runs them all, so a round's rows are
    /// neighbours in time).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ceiling,batch,header,peer"
    )]
    pub mirrors: Vec<MirrorKind>,
    /// Runs of each mirror; the table shows each mirror's run with the median MB/s.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Seconds of the latency phase per mirror (0: none).
    #[arg(long, default_value_t = 15)]
    pub latency_secs: u64,
    /// Load of the latency phase, as a fraction of the mirror's own drain rate.
    #[arg(long, default_value_t = 0.5)]
    pub load: f64,
    /// Fetch max wait of the ceiling and peer mirrors in ms (kreplicate's is fixed at 500).
    #[arg(long, default_value_t = 500)]
    pub mirror_max_wait_ms: u64,
    /// Give up on one drain after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub drain_timeout: u64,
    /// The `kreplicate` binary (default: `cargo build --release -p kreplicate` and use that).
    #[arg(long, value_name = "PATH")]
    pub kreplicate_bin: Option<PathBuf>,
    /// Which librdkafka peer to run.
    #[arg(long, value_enum, default_value_t = PeerKind::Auto)]
    pub peer: PeerKind,
    /// Also write the markdown report to this file.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

fn parse_compression(name: &str) -> Result<Compression, String> {
    Compression::from_name(name)
        .ok_or_else(|| format!("unknown codec '{name}' (none, gzip, snappy, lz4, zstd)"))
}

impl E2eArgs {
    /// Rejects values the harness cannot run with, naming the flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.records == 0 {
            return Err("--records must be at least 1".into());
        }
        if !(1..=1000).contains(&self.partitions) {
            return Err(format!(
                "--partitions must be 1..=1000, got {}",
                self.partitions
            ));
        }
        if self.idle_topics > 100 {
            return Err(format!(
                "--idle-topics must be 0..=100, got {}",
                self.idle_topics
            ));
        }
        if !(16..=1024 * 1024).contains(&self.record_size) {
            return Err(format!(
                "--record-size must be 16..=1048576 bytes, got {}",
                self.record_size
            ));
        }
        if !(self.load > 0.0 && self.load <= 1.0) {
            return Err(format!("--load must be in (0, 1], got {}", self.load));
        }
        if self.rounds == 0 {
            return Err("--rounds must be at least 1".into());
        }
        if self.mirrors.is_empty() {
            return Err("--mirrors names no mirror".into());
        }
        Ok(())
    }
}
