//! Benchmark harness; see docs/benchmarks.md.
//!
//! `cargo run --release -p kreplicate-benches -- e2e` runs the end-to-end harness. The hidden
//! subcommands are the mirrors it starts as child processes (so each one's CPU time and peak
//! RSS are its own).

mod ceiling_mirror;
mod e2e;
mod mirror_args;
#[cfg(feature = "peer-rdkafka")]
mod rdkafka_mirror;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kreplicate-benches",
    about = "kreplicate benchmarks (see docs/benchmarks.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Two Tansu brokers, a preloaded backlog drained by each mirror, one table with ratios.
    E2e(e2e::E2eArgs),
    /// The broker-pair ceiling: raw batches fetched and produced unchanged (started by `e2e`).
    #[command(hide = true)]
    CeilingMirror(mirror_args::MirrorArgs),
    /// The librdkafka peer: consume → produce (started by `e2e`).
    #[cfg(feature = "peer-rdkafka")]
    #[command(hide = true)]
    RdkafkaMirror(mirror_args::MirrorArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::E2e(args) => e2e::run(args),
        Command::CeilingMirror(args) => ceiling_mirror::run(args),
        #[cfg(feature = "peer-rdkafka")]
        Command::RdkafkaMirror(args) => rdkafka_mirror::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
