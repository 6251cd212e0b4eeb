//! CPU time and peak memory of processes, read from Linux `/proc` (the same accounting
//! `getrusage`/`wait4` report, readable while the process still runs, so a mirror's numbers
//! stop exactly when its drain is done).

use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};

/// Clock ticks per second of the `/proc` CPU counters (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds used so far by every thread of process `pid`.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_stat_cpu(&text)
        .map(|ticks| ticks as f64 / ticks_per_second())
        .ok_or_else(|| anyhow!("{path}: no utime/stime fields in '{}'", text.trim()))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its last ')'.
fn parse_stat_cpu(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Peak resident set size of process `pid` in bytes (`VmHWM`).
pub fn peak_rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_hwm(&text).ok_or_else(|| anyhow!("{path}: no VmHWM line"))
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU seconds the whole machine spent busy (all CPUs, everything but idle and iowait), from
/// the first line of `/proc/stat`.
pub fn machine_busy_seconds() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_machine_busy(&text)
        .map(|ticks| ticks as f64 / ticks_per_second())
        .ok_or_else(|| anyhow!("/proc/stat: no aggregate cpu line"))
}

fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    Some(busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_fields_are_counted_after_the_command_name() {
        let line =
            "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 9 0 1 2 3";
        assert_eq!(parse_stat_cpu(line), Some(325));
        assert_eq!(parse_stat_cpu("12 (short) S 1"), None);
    }

    #[test]
    fn vm_hwm_in_bytes() {
        let status = "Name:\tkreplicate\nVmPeak:\t  900 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(20480 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS: 1 kB\n"), None);
    }

    #[test]
    fn machine_busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 2 30 5000 70 4 5 6 0 0\ncpu0 50 1 15 2500 35 2 2 3 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(100 + 2 + 30 + 4 + 5 + 6));
    }

    #[test]
    fn this_process_has_a_cpu_time_and_a_peak_rss() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(peak_rss_bytes(pid).unwrap() > 1024 * 1024);
    }
}
