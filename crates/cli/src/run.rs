//! `kreplicate run`: load and validate the configuration, serve the metrics endpoint, start
//! the replicator, and on SIGTERM or SIGINT stop it gracefully (no new fetches, in-flight
//! writes finish) and exit 0.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator, WorkerGroupOptions};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};
use crate::logging::{terminal_line, LogFormat};
use crate::metrics_server::{MetricsServer, ServerState};
use crate::progress::Progress;

/// `--provenance`: where a copy's provenance lives (docs/guarantees.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProvenanceArg {
    /// Beside the records: batches copied as they are when their codec is
    /// TargetCompressionType, copies known by registered producer ids.
    Batch,
    /// In a `__kreplicate` header on every record (records decoded and re-encoded).
    Header,
}

/// The deprecated `--mode`, kept so existing command lines keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LegacyMode {
    /// Now `--provenance header`.
    Records,
    /// Now `--provenance batch`.
    PassThrough,
}

/// Options of `kreplicate run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where to serve /metrics, /healthz and /ready (host:port; port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::metrics_server::listen_addr, default_value = "127.0.0.1:9464")]
    pub metrics_addr: String,
    /// Where a copy's provenance lives: `batch` copies source batches as they are (exactly once,
    /// loop prevention by producer id); `header` adds a provenance header to every record.
    #[arg(long, value_enum, default_value_t = ProvenanceArg::Batch)]
    pub provenance: ProvenanceArg,
    /// Deprecated: `records` is `--provenance header`, `pass-through` is `--provenance batch`.
    #[arg(long, value_enum, hide = true, conflicts_with = "provenance")]
    pub mode: Option<LegacyMode>,
    /// How often source topics, partitions and configs are re-read (e.g. 30s, 1m).
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "30s")]
    pub topic_refresh_interval: Duration,
    /// How often consumer-group offsets are synchronised.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "5s")]
    pub group_sync_interval: Duration,
    /// How often each partition's position is checkpointed to the target.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "1s")]
    pub checkpoint_interval: Duration,
    /// Client id sent to both clusters.
    #[arg(long, value_name = "ID", default_value = "kreplicate")]
    pub client_id: String,
    /// Do not show the progress line, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Copy every selected partition alone, without joining the replicator's worker group.
    /// Only for a replicator you are sure runs once: a second instance started with the same
    /// inputs (a rolling deploy, a second pod) then writes the same partitions too.
    #[arg(long)]
    pub standalone: bool,
    /// Accepted for existing command lines: every `run` joins the worker group unless
    /// --standalone.
    #[arg(long, hide = true, conflicts_with = "standalone")]
    pub worker_group: bool,
    /// A worker not heard from for this long loses its partitions to the others (it stops
    /// copying after 3/4 of it without a confirmed heartbeat); a restarted worker whose
    /// predecessor was killed waits up to this long for them.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "10s", conflicts_with = "standalone")]
    pub worker_session_timeout: Duration,
    /// The metrics address other workers and `kreplicate status` reach this one at
    /// (HOST:PORT; default: the --metrics-addr it listens on).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "standalone")]
    pub advertise_metrics_addr: Option<String>,
}

/// A humantime duration greater than zero (`30s`, `1m 30s`, `250ms`).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30s, 1m, 250ms)"))?;
    if duration.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(duration)
}

impl RunArgs {
    fn data_mode(&self) -> DataMode {
        match (self.mode, self.provenance) {
            (Some(LegacyMode::Records), _) | (None, ProvenanceArg::Header) => DataMode::Header,
            (Some(LegacyMode::PassThrough), _) | (None, ProvenanceArg::Batch) => DataMode::Batch,
        }
    }

    /// The one line a deprecated `--mode` earns.
    fn deprecation(&self) -> Option<String> {
        let (old, new) = match self.mode? {
            LegacyMode::Records => ("records", "header"),
            LegacyMode::PassThrough => ("pass-through", "batch"),
        };
        Some(format!(
            "warning: --mode is deprecated: `--mode {old}` is now `--provenance {new}`"
        ))
    }

    /// `metrics_addr`: where the metrics server listens (advertised unless told otherwise).
    // Not a struct literal: without kreplicate-replicate's `test-util` (tests enable it) some
    // of its fields are private; clippy sees the test build, where they are not.
    #[allow(clippy::field_reassign_with_default)]
    fn engine_options(&self, metrics_addr: std::net::SocketAddr) -> EngineOptions {
        let workers = (!self.standalone).then(|| {
            let mut workers = WorkerGroupOptions::default();
            workers.session_timeout = self.worker_session_timeout;
            // Kafka Connect's ratio: a tenth of the session timeout, so several can be missed.
            workers.heartbeat_interval = self.worker_session_timeout / 10;
            workers.metrics_address = Some(
                self.advertise_metrics_addr
                    .clone()
                    .unwrap_or_else(|| metrics_addr.to_string()),
            );
            workers
        });
        let mut options = EngineOptions::default();
        options.client_id = self.client_id.clone();
        options.mode = self.data_mode();
        options.topic_refresh_interval = self.topic_refresh_interval;
        options.checkpoint_interval = self.checkpoint_interval;
        options.group_sync_interval = self.group_sync_interval;
        options.workers = workers;
        options
    }
}

/// SIGTERM and SIGINT as one stream.
struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals, Failure> {
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Failure::runtime(format!("cannot handle {name}: {e}")))
        };
        Ok(StopSignals {
            term: install(SignalKind::terminate(), "SIGTERM")?,
            int: install(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    /// Waits for the next signal and returns its name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Runs the replicator until a signal or a fatal error.
pub async fn run(args: RunArgs, log_format: LogFormat) -> Result<ExitCode, Failure> {
    if let Some(line) = args.deprecation() {
        eprintln!("{line}");
    }
    let loaded = config_args::load(&args.config)?;
    for notice in &loaded.notices {
        eprintln!("{notice}");
    }
    let config = loaded.config;
    let name = config.name.clone();
    let summary = format!(
        "{} ({}) -> {} ({})",
        config.source.id,
        config.source.bootstrap.join(","),
        config.target.id,
        config.target.bootstrap.join(",")
    );

    let state = ServerState::new(&config.source.alias, &config.target.alias);
    let server = MetricsServer::bind(&args.metrics_addr, state.clone())
        .await
        .map_err(|e| {
            Failure::runtime(format!(
                "--metrics-addr {}: cannot listen: {e}",
                args.metrics_addr
            ))
        })?;
    tracing::info!(
        "serving metrics on http://{addr}/metrics (health: /healthz, readiness: /ready)",
        addr = server.local_addr()
    );

    let mut signals = StopSignals::install()?;
    tracing::info!("replicator {name}: connecting to {summary}");
    let mut replicator = tokio::select! {
        started = Replicator::start(config, args.engine_options(server.local_addr())) => {
            started.map_err(|e| failure::from_engine(&e))?
        }
        signal = signals.next() => {
            tracing::info!("{signal} received before the replicator started; exiting");
            return Ok(ExitCode::SUCCESS);
        }
    };
    state.set_started(replicator.metrics());
    tracing::info!("replicator {name} started: {summary}");

    let show_progress =
        !args.no_progress && log_format == LogFormat::Text && std::io::stderr().is_terminal();
    let progress = show_progress.then(|| Progress::start(replicator.metrics()));
    let stop_progress = |progress: Option<Progress>| {
        if let Some(progress) = progress {
            progress.stop();
        }
    };

    let signal = tokio::select! {
        ended = replicator.wait() => {
            stop_progress(progress);
            state.set_stopping();
            return match ended {
                Ok(()) => {
                    tracing::info!("replicator {name} stopped");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(Failure::runtime(format!("replicator {name} stopped: {e}"))),
            };
        }
        signal = signals.next() => signal,
    };
    stop_progress(progress);
    state.set_stopping();
    tracing::info!("{signal} received: stopping (no new fetches; in-flight writes finish; send it again to exit at once)");
    tokio::select! {
        stopped = replicator.shutdown() => {
            stopped.map_err(|e| Failure::runtime(format!("replicator {name}: shutdown failed: {e}")))?;
        }
        again = signals.next() => {
            return Err(Failure::runtime(format!(
                "{again} received again: exited before in-flight writes finished; the next start resumes from the last checkpoint"
            )));
        }
    }
    terminal_line().clear();
    tracing::info!("replicator {name} stopped");
    drop(server);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(positive_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(positive_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(positive_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(positive_duration("0s")
            .unwrap_err()
            .contains("greater than zero"));
        assert!(positive_duration("soon").unwrap_err().contains("examples"));
    }

    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let all = ["run", "--cli-input-json", "x.json"].iter().chain(args);
        Cli::try_parse_from(all).map(|c| c.run)
    }

    #[test]
    fn provenance_defaults_to_batch_and_the_old_mode_maps_with_one_warning() {
        let default = parse(&[]).unwrap();
        assert_eq!(
            (default.data_mode(), default.deprecation()),
            (DataMode::Batch, None)
        );
        let header = parse(&["--provenance", "header"]).unwrap();
        assert_eq!(
            (header.data_mode(), header.deprecation()),
            (DataMode::Header, None)
        );
        for (old, mode, new) in [
            ("records", DataMode::Header, "--provenance header"),
            ("pass-through", DataMode::Batch, "--provenance batch"),
        ] {
            let args = parse(&["--mode", old]).unwrap();
            assert_eq!(args.data_mode(), mode, "--mode {old}");
            let line = args.deprecation().unwrap();
            assert!(line.contains(new) && !line.contains('\n'), "{line}");
        }
        assert!(parse(&["--mode", "records", "--provenance", "batch"]).is_err());
    }

    #[test]
    fn every_run_joins_the_worker_group_unless_standalone() {
        let addr: std::net::SocketAddr = "127.0.0.1:9464".parse().unwrap();
        for args in [&[][..], &["--worker-group"]] {
            let workers = parse(args).unwrap().engine_options(addr).workers.unwrap();
            assert_eq!(workers.session_timeout, Duration::from_secs(10), "{args:?}");
            assert_eq!(workers.metrics_address.as_deref(), Some("127.0.0.1:9464"));
        }
        let short = parse(&["--worker-session-timeout", "2s"]).unwrap();
        let workers = short.engine_options(addr).workers.unwrap();
        assert_eq!(
            (workers.session_timeout, workers.heartbeat_interval),
            (Duration::from_secs(2), Duration::from_millis(200))
        );
        let alone = parse(&["--standalone"]).unwrap();
        assert_eq!(alone.engine_options(addr).workers, None);
        // The group's options make no sense alone: refused, not ignored.
        for extra in [
            &["--worker-group"][..],
            &["--worker-session-timeout", "2s"],
            &["--advertise-metrics-addr", "10.0.0.1:9464"],
        ] {
            let args: Vec<&str> = std::iter::once("--standalone")
                .chain(extra.iter().copied())
                .collect();
            assert!(parse(&args).is_err(), "{args:?}");
        }
    }
}
