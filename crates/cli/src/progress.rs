//! The one-line progress display shown on a terminal while the replicator catches up:
//! records copied, MB/s, remaining lag (summed over partitions) and an ETA, read from the
//! replicator's [`Status`] about once a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kreplicate_replicate::ReplicatorMetrics;
use kreplicate_replicate::Status;
use tokio::task::JoinHandle;

use crate::logging::terminal_line;

/// How often the line is redrawn.
const REFRESH: Duration = Duration::from_secs(1);
/// Time constant of the rate smoothing: long enough to steady the numbers, short enough to
/// follow a change within a few seconds.
const SMOOTHING: Duration = Duration::from_secs(5);

/// What the line is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Records copied.
    pub records: f64,
    /// Bytes copied.
    pub bytes: f64,
    /// Partitions' lag, summed.
    pub lag: f64,
    /// How many partitions report a lag (0 before the first fetch).
    pub partitions: usize,
}

impl Snapshot {
    /// Reads the totals from a status.
    pub fn from_status(s: &Status) -> Snapshot {
        Snapshot {
            records: s.records_copied as f64,
            bytes: s.bytes_copied as f64,
            lag: s.total_lag() as f64,
            partitions: s.partitions.iter().filter(|p| p.lag.is_some()).count(),
        }
    }
}

/// Smoothed rates between snapshots.
#[derive(Debug, Default)]
pub struct Rates {
    last: Option<(Instant, Snapshot)>,
    /// Bytes per second written to the target.
    bytes_per_sec: f64,
    /// How fast the lag shrinks (records per second; negative while it grows).
    drain_per_sec: f64,
}

impl Rates {
    /// Folds in a snapshot taken at `now`.
    pub fn update(&mut self, now: Instant, snapshot: Snapshot) {
        if let Some((then, previous)) = self.last {
            let dt = now.duration_since(then).as_secs_f64();
            if dt > 0.0 {
                let weight = 1.0 - (-dt / SMOOTHING.as_secs_f64()).exp();
                let bytes = (snapshot.bytes - previous.bytes).max(0.0) / dt;
                let drain = (previous.lag - snapshot.lag) / dt;
                self.bytes_per_sec += weight * (bytes - self.bytes_per_sec);
                self.drain_per_sec += weight * (drain - self.drain_per_sec);
            }
        }
        self.last = Some((now, snapshot));
    }

    /// The line for the latest snapshot.
    pub fn line(&self) -> String {
        let Some((_, s)) = self.last else {
            return "starting…".into();
        };
        let copied = format!(
            "copied {} records | {:.1} MB/s",
            thousands(s.records),
            self.bytes_per_sec / 1e6
        );
        if s.partitions == 0 {
            return format!("waiting for partitions | {copied}");
        }
        if s.lag <= 0.0 {
            return format!("caught up | {copied} | lag 0");
        }
        let eta = if self.drain_per_sec > 0.5 {
            let secs = (s.lag / self.drain_per_sec).round().min(1e9) as u64;
            humantime::format_duration(Duration::from_secs(secs)).to_string()
        } else {
            "--".into()
        };
        format!(
            "catching up | {copied} | lag {} | ETA {eta}",
            thousands(s.lag)
        )
    }
}

/// `1234567` as `1,234,567`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", if value > 0.0 { value } else { 0.0 });
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A running progress display; [`stop`](Self::stop) erases the line.
pub struct Progress {
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts redrawing the line from `metrics`.
    pub fn start(metrics: Arc<ReplicatorMetrics>) -> Progress {
        let task = tokio::spawn(async move {
            let mut rates = Rates::default();
            let mut ticks = tokio::time::interval(REFRESH);
            loop {
                ticks.tick().await;
                rates.update(Instant::now(), Snapshot::from_status(&metrics.status()));
                terminal_line().draw(&rates.line());
            }
        });
        Progress { task }
    }

    /// Stops and erases the line.
    pub fn stop(self) {
        self.task.abort();
        terminal_line().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(-0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn line_shows_rate_lag_and_eta() {
        let t0 = Instant::now();
        let mut rates = Rates::default();
        assert_eq!(rates.line(), "starting…");
        let none = Snapshot {
            records: 0.0,
            bytes: 0.0,
            lag: 0.0,
            partitions: 0,
        };
        rates.update(t0, none);
        assert_eq!(
            rates.line(),
            "waiting for partitions | copied 0 records | 0.0 MB/s"
        );
        rates.update(
            t0,
            Snapshot {
                lag: 100_000.0,
                partitions: 2,
                ..none
            },
        );
        assert_eq!(
            rates.line(),
            "catching up | copied 0 records | 0.0 MB/s | lag 100,000 | ETA --"
        );
        // Steady 10 MB/s and 1000 records/s drained, for long enough that the smoothing
        // has converged.
        let mut s = Snapshot {
            lag: 100_000.0,
            partitions: 2,
            ..none
        };
        for i in 1..=60 {
            s.records += 1000.0;
            s.bytes += 10e6;
            s.lag -= 1000.0;
            rates.update(t0 + Duration::from_secs(i), s);
        }
        assert_eq!(
            rates.line(),
            "catching up | copied 60,000 records | 10.0 MB/s | lag 40,000 | ETA 40s"
        );
        s.lag = 0.0;
        rates.update(t0 + Duration::from_secs(61), s);
        assert!(
            rates
                .line()
                .starts_with("caught up | copied 60,000 records"),
            "{}",
            rates.line()
        );
    }

    #[test]
    fn snapshot_sums_families() {
        let status: Status = serde_json::from_str(
            r#"{"records_copied": 12, "bytes_copied": 100, "partitions": [
                {"topic": "a", "partition": 0, "state": {"name": "copying"}, "lag": 3,
                 "source_offset": null, "target_offset": null, "source_end": null, "latency_ms": null},
                {"topic": "a", "partition": 1, "state": {"name": "copying"}, "lag": 4,
                 "source_offset": null, "target_offset": null, "source_end": null, "latency_ms": null},
                {"topic": "b", "partition": 0, "state": {"name": "not_started"}, "lag": null,
                 "source_offset": null, "target_offset": null, "source_end": null, "latency_ms": null}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            Snapshot::from_status(&status),
            Snapshot {
                records: 12.0,
                bytes: 100.0,
                lag: 7.0,
                partitions: 2,
            }
        );
    }
}
