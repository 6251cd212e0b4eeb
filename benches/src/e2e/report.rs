//! The measurements of each run and the markdown table with ratios and target checks.

use std::fmt::Write as _;

use super::args::MirrorKind;
use super::latency::Latency;

/// One mirror's drain (and latency phase).
#[derive(Debug, Clone)]
pub struct Run {
    pub kind: MirrorKind,
    pub label: String,
    /// Records copied (the source's high watermarks added up).
    pub records: u64,
    /// Their key + value + header bytes.
    pub payload_bytes: u64,
    /// From starting the mirror process to the target's high watermarks equal to the source's.
    pub seconds: f64,
    /// The start-up within `seconds`: from starting the process to the first record on the
    /// target (polled every 20 ms).
    pub startup_seconds: f64,
    /// The mirror process's user + system CPU over the same time.
    pub cpu_seconds: f64,
    /// Its peak RSS (VmHWM) at the end of the drain.
    pub peak_rss: u64,
    /// Both Tansu brokers' CPU over the drain.
    pub broker_cpu_seconds: f64,
    /// The harness's own CPU over the drain (polling the target).
    pub harness_cpu_seconds: f64,
    /// All CPU the machine spent over the drain (2 cores: at most 2 × seconds).
    pub machine_cpu_seconds: f64,
    pub latency: Option<Latency>,
}

impl Run {
    /// The copy's duration: from the first record on the target to the last. A fixed start-up
    /// (a replicator's resume checks, say) is reported on its own, not spread over the rate.
    pub fn copy_seconds(&self) -> f64 {
        let copy = self.seconds - self.startup_seconds;
        if copy > 0.0 {
            copy
        } else {
            self.seconds
        }
    }

    pub fn mb_per_s(&self) -> f64 {
        self.payload_bytes as f64 / 1e6 / self.copy_seconds()
    }

    pub fn records_per_s(&self) -> f64 {
        self.records as f64 / self.copy_seconds()
    }

    pub fn cpu_per_gb(&self) -> f64 {
        self.cpu_seconds / (self.payload_bytes as f64 / 1e9)
    }

    /// CPU used during the drain by processes outside this run (other work on the machine).
    pub fn others_cpu_seconds(&self) -> f64 {
        (self.machine_cpu_seconds
            - self.cpu_seconds
            - self.broker_cpu_seconds
            - self.harness_cpu_seconds)
            .max(0.0)
    }
}

/// Each mirror's run with the median MB/s, in first-run order.
pub fn medians(runs: &[Run]) -> Vec<Run> {
    let mut kinds: Vec<MirrorKind> = Vec::new();
    for run in runs {
        if !kinds.contains(&run.kind) {
            kinds.push(run.kind);
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| {
            let mut of_kind: Vec<&Run> = runs.iter().filter(|r| r.kind == kind).collect();
            of_kind.sort_by(|a, b| a.mb_per_s().total_cmp(&b.mb_per_s()));
            of_kind.get(of_kind.len() / 2).map(|r| (*r).clone())
        })
        .collect()
}

/// `kind`'s MB/s ÷ `baseline`'s, round by round (the i-th run of each), with their median:
/// a round's two drains ran minutes apart at most, so this ratio sees less of the brokers'
/// drift over a run than the ratio of the two medians does. `None` without both kinds.
pub fn per_round_ratios(runs: &[Run], kind: MirrorKind, baseline: MirrorKind) -> Option<String> {
    let rates = |k| {
        runs.iter()
            .filter(|r| r.kind == k)
            .map(Run::mb_per_s)
            .collect::<Vec<_>>()
    };
    let (of_kind, of_baseline) = (rates(kind), rates(baseline));
    let mut ratios: Vec<f64> = of_kind
        .iter()
        .zip(&of_baseline)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    ratios.sort_by(f64::total_cmp);
    let median = if ratios.len() % 2 == 1 {
        ratios[ratios.len() / 2]
    } else {
        (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0
    };
    Some(format!(
        "{} ÷ {} MB/s per round: {} (median {median:.2})",
        kind.slug(),
        baseline.slug(),
        listed.join(", ")
    ))
}

fn ratio(a: f64, b: Option<f64>) -> String {
    match b {
        Some(b) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    }
}

/// The markdown table, ratios included, and one line per target.
pub fn render(runs: &[Run], backlog_records: u64) -> String {
    let find = |kind| runs.iter().find(|r| r.kind == kind);
    let ceiling = find(MirrorKind::Ceiling);
    let peer = find(MirrorKind::Peer);
    let header = find(MirrorKind::Header);
    let batch = find(MirrorKind::Batch);
    let mut out = String::new();
    out.push_str(
        "| mirror | MB/s | records/s | CPU-s/GB | peak RSS MiB | p50 ms | p99 ms | MB/s ÷ ceiling | MB/s ÷ peer | CPU-s/GB ÷ peer | drain s | start-up s | brokers' CPU-s | others' CPU-s |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in runs {
        let (p50, p99) = match &r.latency {
            Some(l) => (l.p50_ms.to_string(), l.p99_ms.to_string()),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2} | {:.0} | {p50} | {p99} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.label,
            r.mb_per_s(),
            r.records_per_s(),
            r.cpu_per_gb(),
            r.peak_rss as f64 / (1024.0 * 1024.0),
            ratio(r.mb_per_s(), ceiling.map(Run::mb_per_s)),
            ratio(r.mb_per_s(), peer.map(Run::mb_per_s)),
            ratio(r.cpu_per_gb(), peer.map(Run::cpu_per_gb)),
            r.seconds,
            r.startup_seconds,
            r.broker_cpu_seconds,
            r.others_cpu_seconds(),
        );
    }
    let latencies: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            r.latency.as_ref().map(|l| {
                format!(
                    "{}: {:.0} records/s, {}/{} read back, max {} ms",
                    r.kind.slug(),
                    l.rate,
                    l.received,
                    l.sent,
                    l.max_ms
                )
            })
        })
        .collect();
    if !latencies.is_empty() {
        let _ = writeln!(out, "\nLatency phases: {}.", latencies.join("; "));
    }
    out.push_str("\nTargets:\n");
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    let mut target = |text: String| {
        let _ = writeln!(out, "- {text}");
    };
    if let (Some(h), Some(p)) = (header, peer) {
        let speed = h.mb_per_s() / p.mb_per_s();
        let cpu = h.cpu_per_gb() / p.cpu_per_gb();
        target(format!(
            "header mode MB/s ≥ 2 × peer: {speed:.2} × ({})",
            verdict(speed >= 2.0)
        ));
        target(format!(
            "header mode CPU-s/GB ≤ 0.5 × peer: {cpu:.2} × ({})",
            verdict(cpu <= 0.5)
        ));
    }
    // Issue #14: the default mode at pass-through cost.
    if let (Some(b), Some(p)) = (batch, peer) {
        let cpu = b.cpu_per_gb() / p.cpu_per_gb();
        target(format!(
            "batch CPU-s/GB ≤ 0.2 × peer: {cpu:.2} × ({})",
            verdict(cpu <= 0.2)
        ));
    }
    if let (Some(b), Some(c)) = (batch, ceiling) {
        let share = b.mb_per_s() / c.mb_per_s();
        target(format!(
            "batch ≥ 90 % of the ceiling: {:.0} % ({})",
            share * 100.0,
            verdict(share >= 0.9)
        ));
    }
    if let (Some(h), Some(c)) = (header, ceiling) {
        let share = h.mb_per_s() / c.mb_per_s();
        target(format!(
            "header ≥ 85 % of the ceiling: {:.0} % ({})",
            share * 100.0,
            verdict(share >= 0.85)
        ));
    }
    for r in runs.iter().filter(|r| r.kind.kreplicate_flags().is_some()) {
        let mib = r.peak_rss as f64 / (1024.0 * 1024.0);
        target(format!(
            "{} peak RSS < 256 MiB with a {backlog_records}-record backlog: {mib:.0} MiB ({})",
            r.kind.slug(),
            verdict(mib < 256.0)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: MirrorKind, seconds: f64, cpu: f64) -> Run {
        Run {
            kind,
            label: kind.slug().into(),
            records: 1000,
            payload_bytes: 2_000_000_000,
            seconds,
            startup_seconds: 0.0,
            cpu_seconds: cpu,
            peak_rss: 100 * 1024 * 1024,
            broker_cpu_seconds: 1.0,
            harness_cpu_seconds: 0.5,
            machine_cpu_seconds: 4.0,
            latency: None,
        }
    }

    #[test]
    fn rates_leave_the_start_up_out_and_cpu_keeps_it() {
        let mut r = run(MirrorKind::Header, 10.0, 4.0);
        r.startup_seconds = 2.0;
        assert_eq!(r.copy_seconds(), 8.0);
        assert_eq!(r.mb_per_s(), 250.0);
        assert_eq!(r.records_per_s(), 125.0);
        assert_eq!(r.cpu_per_gb(), 2.0);
        let text = render(&[r], 1000);
        assert!(
            text.contains("| 10.0 | 2.0 |"),
            "drain and start-up: {text}"
        );
    }

    #[test]
    fn rates_and_ratios() {
        let runs = vec![
            run(MirrorKind::Ceiling, 10.0, 2.0),
            run(MirrorKind::Header, 20.0, 4.0),
            run(MirrorKind::Batch, 10.0, 1.0),
            run(MirrorKind::Peer, 40.0, 16.0),
        ];
        assert_eq!(runs[1].mb_per_s(), 100.0);
        assert_eq!(runs[1].records_per_s(), 50.0);
        assert_eq!(runs[1].cpu_per_gb(), 2.0);
        assert_eq!(runs[1].others_cpu_seconds(), 0.0);
        assert_eq!(runs[2].others_cpu_seconds(), 1.5);
        let text = render(&runs, 1000);
        assert!(
            text.contains("| header | 100 | 50 | 2.00 | 100 | – | – | 0.50 | 2.00 | 0.25 | 20.0 |"),
            "{text}"
        );
        assert!(
            text.contains("header mode MB/s ≥ 2 × peer: 2.00 × (met)"),
            "{text}"
        );
        assert!(
            text.contains("header mode CPU-s/GB ≤ 0.5 × peer: 0.25 × (met)"),
            "{text}"
        );
        assert!(
            text.contains("header ≥ 85 % of the ceiling: 50 % (**missed**)"),
            "{text}"
        );
        assert!(
            text.contains("batch ≥ 90 % of the ceiling: 100 % (met)"),
            "{text}"
        );
    }

    #[test]
    fn batch_and_header_rows_have_their_targets() {
        let runs = vec![
            run(MirrorKind::Ceiling, 10.0, 2.0),
            run(MirrorKind::Batch, 10.5, 1.5),
            run(MirrorKind::Header, 20.0, 4.0),
            run(MirrorKind::Peer, 40.0, 16.0),
        ];
        let text = render(&runs, 1000);
        // 0.75 / 8.0 CPU-s/GB; 190.5 / 200 MB/s.
        assert!(
            text.contains("batch CPU-s/GB ≤ 0.2 × peer: 0.09 × (met)"),
            "{text}"
        );
        assert!(
            text.contains("batch ≥ 90 % of the ceiling: 95 % (met)"),
            "{text}"
        );
        assert!(
            text.contains("header mode CPU-s/GB ≤ 0.5 × peer: 0.25 × (met)"),
            "{text}"
        );
        assert!(
            text.contains("header ≥ 85 % of the ceiling: 50 % (**missed**)"),
            "{text}"
        );
        for slug in ["batch", "header"] {
            assert!(
                text.contains(&format!(
                    "{slug} peak RSS < 256 MiB with a 1000-record backlog: 100 MiB (met)"
                )),
                "{text}"
            );
        }
        assert!(!text.contains("ceiling peak RSS"), "{text}");
    }

    #[test]
    fn per_round_ratios_pair_the_rounds_and_take_their_median() {
        // Rounds interleave: ceiling, batch, ceiling, batch, ...
        let runs = vec![
            run(MirrorKind::Ceiling, 10.0, 2.0), // 200 MB/s
            run(MirrorKind::Batch, 20.0, 2.0),   // 100: 0.50
            run(MirrorKind::Ceiling, 8.0, 2.0),  // 250
            run(MirrorKind::Batch, 8.0, 2.0),    // 250: 1.00
            run(MirrorKind::Ceiling, 10.0, 2.0), // 200
            run(MirrorKind::Batch, 12.5, 2.0),   // 160: 0.80
        ];
        assert_eq!(
            per_round_ratios(&runs, MirrorKind::Batch, MirrorKind::Ceiling).as_deref(),
            Some("batch ÷ ceiling MB/s per round: 0.50, 1.00, 0.80 (median 0.80)")
        );
        assert_eq!(
            per_round_ratios(&runs[..4], MirrorKind::Batch, MirrorKind::Ceiling).as_deref(),
            Some("batch ÷ ceiling MB/s per round: 0.50, 1.00 (median 0.75)")
        );
        assert_eq!(
            per_round_ratios(&runs, MirrorKind::Header, MirrorKind::Ceiling),
            None
        );
    }

    #[test]
    fn each_kreplicate_row_selects_its_data_mode() {
        assert_eq!(
            MirrorKind::Batch.kreplicate_flags(),
            Some(["--provenance", "batch"])
        );
        assert_eq!(
            MirrorKind::Header.kreplicate_flags(),
            Some(["--provenance", "header"])
        );
        assert_eq!(MirrorKind::Ceiling.kreplicate_flags(), None);
        assert_eq!(MirrorKind::Peer.kreplicate_flags(), None);
    }

    #[test]
    fn the_median_run_of_each_mirror() {
        let runs = vec![
            run(MirrorKind::Header, 10.0, 1.0),
            run(MirrorKind::Peer, 10.0, 1.0),
            run(MirrorKind::Header, 30.0, 3.0),
            run(MirrorKind::Header, 20.0, 2.0),
        ];
        let picked = medians(&runs);
        assert_eq!(picked.len(), 2);
        assert_eq!(
            (picked[0].kind, picked[0].seconds),
            (MirrorKind::Header, 20.0)
        );
        assert_eq!(picked[1].kind, MirrorKind::Peer);
    }
}
