//! The end-to-end harness (docs/benchmarks.md, "End to end").
//!
//! For each mirror: a fresh pair of Tansu brokers (memory engine), the source preloaded with
//! the same records; the mirror starts as a child process and drains the backlog (done when
//! every target partition's high watermark equals the source's); its CPU time and peak RSS are
//! read from /proc at that moment; then, with the mirror still running, a latency phase at a
//! fraction of the rate it just reached, on the same topic.

mod args;
mod cluster;
mod latency;
mod mirrors;
mod proc_stats;
mod report;

pub use args::E2eArgs;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::Client;

use args::MirrorKind;
use cluster::EndProbe;
use kreplicate_benches::workload::Workload;
use mirrors::Launcher;
use report::Run;

/// The backlog's topic.
const TOPIC: &str = "e2e";
/// Names of the topics `--idle-topics` adds: copied by every mirror, never written.
fn idle_topics(args: &E2eArgs) -> Vec<String> {
    (1..=args.idle_topics)
        .map(|i| format!("e2e-idle-{i}"))
        .collect()
}
/// How often the drain checks the target.
const POLL: Duration = Duration::from_millis(20);

/// Runs the harness and prints the report.
pub fn run(args: E2eArgs) -> Result<()> {
    args.validate().map_err(|e| anyhow!(e))?;
    if cfg!(debug_assertions) {
        eprintln!("e2e: warning: this harness is a debug build; run it with --release");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(harness(args))
}

/// What every run copies.
struct Backlog {
    ends: Vec<i64>,
    records: u64,
    payload_bytes: u64,
}

async fn harness(args: E2eArgs) -> Result<()> {
    let launcher = Launcher::new(&args)?;
    let workload = Workload::new(args.record_size);
    let mut runs = Vec::new();
    let mut preload_line = String::new();
    for round in 0..args.rounds {
        for &kind in &args.mirrors {
            let (run, preload) = run_mirror(&args, &launcher, kind, &workload)
                .await
                .with_context(|| format!("mirror {} (round {})", kind.slug(), round + 1))?;
            eprintln!(
                "e2e: {}: {:.0} MB/s, {:.0} records/s, {:.2} CPU-s/GB, peak RSS {:.0} MiB{}",
                kind.slug(),
                run.mb_per_s(),
                run.records_per_s(),
                run.cpu_per_gb(),
                run.peak_rss as f64 / (1024.0 * 1024.0),
                run.latency
                    .as_ref()
                    .map(|l| format!(", latency p50 {} ms p99 {} ms", l.p50_ms, l.p99_ms))
                    .unwrap_or_default()
            );
            preload_line = preload;
            runs.push(run);
        }
    }

    let payload_bytes = args.records * workload.payload_len();
    let idle = if args.idle_topics > 0 {
        format!(
            ", plus {} idle topic(s) of as many partitions that every mirror also copies",
            args.idle_topics
        )
    } else {
        String::new()
    };
    let picked = report::medians(&runs);
    let mut table = report::render(&picked, args.records);
    for kind in [MirrorKind::Batch, MirrorKind::Header] {
        if let Some(line) = report::per_round_ratios(&runs, kind, MirrorKind::Ceiling) {
            table.push_str(&format!("- {line}\n"));
        }
    }
    if args.latency_secs > 0 {
        // The same rate as the first mirror's latency phase, straight back from the source.
        if let Some(rate) = picked
            .iter()
            .find_map(|r| r.latency.as_ref().map(|l| l.rate))
        {
            let floor = latency_floor(&args, &workload, rate).await?;
            table.push_str(&format!(
                "\nLatency floor (no mirror: produced to a broker and read back from it, {:.0} records/s): p50 {} ms, p99 {} ms, max {} ms.\n",
                floor.rate, floor.p50_ms, floor.p99_ms, floor.max_ms
            ));
        }
    }
    let text = format!(
        "Workload: {} records × {} payload bytes (12-byte key, {}-byte value, one 13-byte header) = {:.2} GB, {} partitions{idle}, source batches {}, TargetCompressionType {}; {} round(s), median MB/s run shown. MB = 10^6 bytes of payload; CPU-s/GB per 10^9 payload bytes.\n{preload_line}.\n\n{table}",
        args.records,
        workload.payload_len(),
        args.record_size,
        payload_bytes as f64 / 1e9,
        args.partitions,
        args.source_compression,
        args.target_compression,
        args.rounds,
    );
    println!("{text}");
    if let Some(path) = &args.out {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// What the latency phase measures without any mirror: produced to a fresh broker and read
/// back from it by the same tail.
async fn latency_floor(args: &E2eArgs, workload: &Workload, rate: f64) -> Result<latency::Latency> {
    let broker = TansuBroker::memory().context("starting a broker for the latency floor")?;
    let client = cluster::connect(&broker.addr()).await?;
    cluster::create_topics(&client, &[TOPIC], args.partitions).await?;
    eprintln!(
        "e2e: latency floor: {rate:.0} records/s for {} s",
        args.latency_secs
    );
    latency::measure(
        &client,
        &client,
        TOPIC,
        args.partitions,
        &vec![0; args.partitions as usize],
        0,
        workload,
        args.source_compression,
        rate,
        Duration::from_secs(args.latency_secs),
    )
    .await
}

/// A fresh source broker holding the backlog.
async fn preloaded_source(
    args: &E2eArgs,
    workload: &Workload,
) -> Result<(TansuBroker, Client, Backlog, String)> {
    let source = TansuBroker::memory().context("starting the source broker")?;
    let client = cluster::connect(&source.addr()).await?;
    let mut topics = vec![TOPIC.to_string()];
    topics.extend(idle_topics(args));
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    cluster::create_topics(&client, &names, args.partitions).await?;
    eprintln!(
        "e2e: preloading {} records of {} payload bytes into {} partitions of {TOPIC} ({})",
        args.records,
        workload.payload_len(),
        args.partitions,
        args.source_compression
    );
    let took = cluster::preload(
        &client,
        TOPIC,
        args.partitions,
        workload,
        args.records,
        args.source_compression,
    )
    .await?;
    let ends = cluster::high_watermarks(&client, TOPIC, args.partitions).await?;
    cluster::check_total("source after the preload", args.records, &ends)?;
    let backlog = Backlog {
        ends,
        records: args.records,
        payload_bytes: args.records * workload.payload_len(),
    };
    let line = format!(
        "Preload: {:.1} s ({:.0} MB/s) with kreplicate-wire's producer; source broker peak RSS {:.0} MiB",
        took.as_secs_f64(),
        backlog.payload_bytes as f64 / 1e6 / took.as_secs_f64(),
        source
            .pid()
            .and_then(|pid| proc_stats::peak_rss_bytes(pid).ok())
            .unwrap_or(0) as f64
            / (1024.0 * 1024.0)
    );
    eprintln!("e2e: {line}");
    Ok((source, client, backlog, line))
}

async fn run_mirror(
    args: &E2eArgs,
    launcher: &Launcher,
    kind: MirrorKind,
    workload: &Workload,
) -> Result<(Run, String)> {
    let (source, source_client, backlog, preload_line) = preloaded_source(args, workload).await?;
    let source_client = &source_client;
    let source = &source;
    let backlog = &backlog;
    let mut all = vec![TOPIC.to_string()];
    all.extend(idle_topics(args));
    let topics: Vec<&str> = all.iter().map(String::as_str).collect();
    let target = TansuBroker::memory().context("starting the target broker")?;
    let target_client = cluster::connect(&target.addr()).await?;
    if Launcher::needs_target_topics(kind) {
        cluster::create_topics(&target_client, &topics, args.partitions).await?;
    }
    let dir = tempfile::tempdir().context("creating a directory for the mirror")?;
    let broker_pids = [source.pid(), target.pid()]
        .into_iter()
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| anyhow!("a broker is not running"))?;
    let brokers_cpu = || -> Result<f64> {
        broker_pids
            .iter()
            .map(|&pid| proc_stats::cpu_seconds(pid))
            .sum()
    };
    let me = std::process::id();
    eprintln!("e2e: {}: draining {} records", kind.slug(), backlog.records);

    let (brokers0, machine0, me0) = (
        brokers_cpu()?,
        proc_stats::machine_busy_seconds()?,
        proc_stats::cpu_seconds(me)?,
    );
    let started = Instant::now();
    let mut mirror = launcher.start(kind, source, &target, &topics, args.partitions, dir.path())?;
    let probe = EndProbe::new(target_client.clone());
    let timeout = Duration::from_secs(args.drain_timeout);
    // When the first record reached the target: start-up (process, connections, topic
    // creation, resume checks) ends there and copying begins.
    let mut first_record: Option<f64> = None;
    loop {
        mirror.check_alive()?;
        if let Ok(ends) = probe.high_watermarks(TOPIC, &backlog.ends).await {
            if first_record.is_none() && ends.iter().any(|&e| e > 0) {
                first_record = Some(started.elapsed().as_secs_f64());
            }
            if ends == backlog.ends {
                break;
            }
            if ends.iter().zip(&backlog.ends).any(|(t, s)| t > s) {
                bail!(
                    "the target has more records than the source: {ends:?} > {:?}",
                    backlog.ends
                );
            }
        }
        if started.elapsed() > timeout {
            bail!(
                "the backlog was not drained within {timeout:?}; mirror stderr:\n{}",
                mirror.stderr_tail()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let pid = mirror.pid();
    let (cpu_seconds, peak_rss) = (
        proc_stats::cpu_seconds(pid)?,
        proc_stats::peak_rss_bytes(pid)?,
    );
    let (brokers1, machine1, me1) = (
        brokers_cpu()?,
        proc_stats::machine_busy_seconds()?,
        proc_stats::cpu_seconds(me)?,
    );
    let mut run = Run {
        kind,
        label: launcher.label(kind),
        records: backlog.records,
        payload_bytes: backlog.payload_bytes,
        seconds,
        startup_seconds: first_record.unwrap_or(0.0).min(seconds),
        cpu_seconds,
        peak_rss,
        broker_cpu_seconds: brokers1 - brokers0,
        harness_cpu_seconds: me1 - me0,
        machine_cpu_seconds: machine1 - machine0,
        latency: None,
    };

    if args.latency_secs > 0 {
        let rate = run.records_per_s() * args.load;
        eprintln!(
            "e2e: {}: latency phase, {rate:.0} records/s for {} s",
            kind.slug(),
            args.latency_secs
        );
        let measured = latency::measure(
            source_client,
            &target_client,
            TOPIC,
            args.partitions,
            &backlog.ends,
            backlog.records,
            workload,
            args.source_compression,
            rate,
            Duration::from_secs(args.latency_secs),
        )
        .await;
        mirror.check_alive()?;
        run.latency = Some(measured?);
    }
    mirror.stop();
    drop(target);
    Ok((run, preload_line))
}
