//! `kreplicate status`: the cut-over checklist of AWS's migration guidance, evaluated on a
//! running replicator's `/metrics`: no replication or offset-sync failures, both clusters
//! reachable, message lag under 1000, replication latency under 90 s, consumer lag low, and
//! the expected number of consumer groups. Exit 0 when ready to migrate, 1 when not, 2 when
//! the metrics cannot be read.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::failure::Failure;
use crate::http_get;
use crate::prometheus_text::{self, Exposition};
use crate::run::positive_duration;

/// Options of `kreplicate status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The replicator's metrics endpoint.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:9464/metrics"
    )]
    pub metrics_url: String,
    /// Ready only while the summed message lag (records) is below this.
    #[arg(long, value_name = "RECORDS", default_value_t = 1000)]
    pub max_message_lag: u64,
    /// Ready only while the largest replication latency is below this.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "90s")]
    pub max_latency: Duration,
    /// Ready only while the summed consumer-group lag (records) is below this.
    #[arg(long, value_name = "RECORDS", default_value_t = 1000)]
    pub max_consumer_lag: u64,
    /// Ready only when exactly this many consumer groups are being synchronised.
    #[arg(long, value_name = "N")]
    pub expected_groups: Option<u64>,
    /// Give up reading the metrics after this long.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, default_value = "10s")]
    pub timeout: Duration,
}

/// One row of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The value measured.
    pub value: String,
    /// What it must be.
    pub threshold: String,
    /// Whether it passes.
    pub ok: bool,
}

fn check(
    name: impl Into<String>,
    value: impl Into<String>,
    threshold: impl Into<String>,
    ok: bool,
) -> Check {
    Check {
        name: name.into(),
        value: value.into(),
        threshold: threshold.into(),
        ok,
    }
}

/// A count as an integer when it is one.
fn count(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Evaluates the checklist.
pub fn evaluate(e: &Exposition, args: &StatusArgs) -> Vec<Check> {
    let mut checks = Vec::new();

    let failures = e.sum("kreplicate_replication_failures_total");
    checks.push(check(
        "replication failures",
        count(failures),
        "= 0",
        failures == 0.0,
    ));
    let sync_failures = e.sum("kreplicate_consumer_group_offset_sync_failures_total");
    checks.push(check(
        "offset sync failures",
        count(sync_failures),
        "= 0",
        sync_failures == 0.0,
    ));

    let reachable: Vec<_> = e.named("kreplicate_cluster_reachable").collect();
    if reachable.is_empty() {
        checks.push(check("clusters reachable", "no data", "= 1 each", false));
    }
    for sample in reachable {
        let cluster = sample.label("cluster").unwrap_or("?");
        checks.push(check(
            format!("cluster {cluster} reachable"),
            count(sample.value),
            "= 1",
            sample.value == 1.0,
        ));
    }

    // Copying must have started everywhere: until a partition's first fetch there is no lag to
    // judge, and a lag sum over no partitions is not "caught up".
    let state = |wanted: &str| -> f64 {
        e.named("kreplicate_partitions")
            .filter(|s| s.label("state") == Some(wanted))
            .map(|s| s.value)
            .sum()
    };
    let copying = state("copying");
    let measured = e.named("kreplicate_message_lag").count() as f64;
    checks.push(check(
        "partitions copying",
        format!("{} ({} measured)", count(copying), count(measured)),
        "> 0, each measured",
        copying > 0.0 && measured >= copying,
    ));
    let halted = state("halted");
    checks.push(check(
        "partitions halted",
        count(halted),
        "= 0",
        halted == 0.0,
    ));

    let lag = e.sum("kreplicate_message_lag");
    checks.push(check(
        "message lag (sum)",
        count(lag),
        format!("< {}", args.max_message_lag),
        lag < args.max_message_lag as f64,
    ));

    let max_latency_ms = args.max_latency.as_secs_f64() * 1000.0;
    let latency = e.max("kreplicate_replication_latency_ms");
    checks.push(match latency {
        // Nothing copied yet: there is no latency to be too high.
        None => check(
            "replication latency (max)",
            "n/a",
            format!("< {}", humantime::format_duration(args.max_latency)),
            true,
        ),
        Some(ms) => check(
            "replication latency (max)",
            format!("{} ms", count(ms)),
            format!("< {}", humantime::format_duration(args.max_latency)),
            ms < max_latency_ms,
        ),
    });

    let consumer_lag = e.sum("kreplicate_consumer_group_lag");
    checks.push(check(
        "consumer lag (sum)",
        count(consumer_lag),
        format!("< {}", args.max_consumer_lag),
        consumer_lag < args.max_consumer_lag as f64,
    ));

    let groups = e.sum("kreplicate_consumer_group_count");
    checks.push(match args.expected_groups {
        Some(expected) => check(
            "consumer groups",
            count(groups),
            format!("= {expected}"),
            groups == expected as f64,
        ),
        None => check("consumer groups", count(groups), "(any)", true),
    });
    checks
}

/// The table and the verdict line.
pub fn render(checks: &[Check]) -> String {
    let headers = ["CHECK", "VALUE", "THRESHOLD", "STATUS"];
    let status = |c: &Check| if c.ok { "OK" } else { "NOT READY" };
    let width = |header: &str, column: &dyn Fn(&Check) -> usize| {
        checks
            .iter()
            .map(column)
            .max()
            .unwrap_or(0)
            .max(header.len())
    };
    let w0 = width(headers[0], &|c| c.name.chars().count());
    let w1 = width(headers[1], &|c| c.value.chars().count());
    let w2 = width(headers[2], &|c| c.threshold.chars().count());
    let mut out = format!(
        "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
        headers[0], headers[1], headers[2], headers[3]
    );
    for c in checks {
        out.push_str(&format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
            c.name,
            c.value,
            c.threshold,
            status(c)
        ));
    }
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    if failing.is_empty() {
        out.push_str("READY to migrate\n");
    } else {
        out.push_str(&format!("NOT READY: {}\n", failing.join(", ")));
    }
    out
}

/// Reads the metrics, prints the table, and returns 0 (ready) or 1 (not ready). Metrics that
/// cannot be read are a failure with exit code 2.
pub async fn status(args: StatusArgs) -> Result<ExitCode, Failure> {
    let url = &args.metrics_url;
    let text = http_get::get(url, args.timeout)
        .await
        .map_err(|e| Failure::config(format!("cannot read metrics: {e}")))?;
    let exposition = prometheus_text::parse(&text)
        .map_err(|e| Failure::config(format!("cannot read metrics: {url}: {e}")))?;
    if !exposition.has("kreplicate_cluster_reachable") {
        return Err(Failure::config(format!(
            "cannot read metrics: {url}: no kreplicate_cluster_reachable metric (is this a kreplicate /metrics endpoint?)"
        )));
    }
    let checks = evaluate(&exposition, &args);
    print!("{}", render(&checks));
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> StatusArgs {
        StatusArgs {
            metrics_url: String::new(),
            max_message_lag: 1000,
            max_latency: Duration::from_secs(90),
            max_consumer_lag: 1000,
            expected_groups: Some(2),
            timeout: Duration::from_secs(1),
        }
    }

    const READY: &str = "\
kreplicate_replication_failures_total{topic=\"orders\"} 0
kreplicate_consumer_group_offset_sync_failures_total 0
kreplicate_cluster_reachable{cluster=\"src\"} 1
kreplicate_cluster_reachable{cluster=\"dst\"} 1
kreplicate_partitions{state=\"copying\"} 2
kreplicate_partitions{state=\"halted\"} 0
kreplicate_message_lag{topic=\"orders\",partition=\"0\"} 400
kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 599
kreplicate_replication_latency_ms{topic=\"orders\",partition=\"0\"} 1200
kreplicate_replication_latency_ms{topic=\"orders\",partition=\"1\"} 80000
kreplicate_consumer_group_lag{cluster=\"dst\",group=\"g\",topic=\"orders\",partition=\"0\"} 10
kreplicate_consumer_group_count 2
";

    #[test]
    fn all_checks_pass() {
        let e = prometheus_text::parse(READY).unwrap();
        let checks = evaluate(&e, &args());
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "replication failures",
                "offset sync failures",
                "cluster src reachable",
                "cluster dst reachable",
                "partitions copying",
                "partitions halted",
                "message lag (sum)",
                "replication latency (max)",
                "consumer lag (sum)",
                "consumer groups"
            ]
        );
        assert_eq!(checks[4].value, "2 (2 measured)");
        assert_eq!(checks[6].value, "999");
        assert_eq!(checks[7].value, "80000 ms");
        assert_eq!(checks[7].threshold, "< 1m 30s");
        let table = render(&checks);
        assert!(table.ends_with("READY to migrate\n"), "{table}");
        assert!(table.starts_with("CHECK "), "{table}");
    }

    #[test]
    fn each_threshold_can_fail() {
        let cases = [
            (
                "kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 599",
                "kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 600",
                "message lag (sum)",
            ),
            (
                "kreplicate_replication_latency_ms{topic=\"orders\",partition=\"1\"} 80000",
                "kreplicate_replication_latency_ms{topic=\"orders\",partition=\"1\"} 90000",
                "replication latency (max)",
            ),
            (
                "kreplicate_cluster_reachable{cluster=\"dst\"} 1",
                "kreplicate_cluster_reachable{cluster=\"dst\"} 0",
                "cluster dst reachable",
            ),
            (
                "kreplicate_replication_failures_total{topic=\"orders\"} 0",
                "kreplicate_replication_failures_total{topic=\"orders\"} 3",
                "replication failures",
            ),
            (
                "kreplicate_consumer_group_offset_sync_failures_total 0",
                "kreplicate_consumer_group_offset_sync_failures_total 1",
                "offset sync failures",
            ),
            ("} 10\n", "} 1000\n", "consumer lag (sum)"),
            (
                "kreplicate_partitions{state=\"halted\"} 0",
                "kreplicate_partitions{state=\"halted\"} 1",
                "partitions halted",
            ),
            (
                "kreplicate_partitions{state=\"copying\"} 2",
                "kreplicate_partitions{state=\"copying\"} 3",
                "partitions copying",
            ),
            (
                "kreplicate_partitions{state=\"copying\"} 2",
                "kreplicate_partitions{state=\"copying\"} 0",
                "partitions copying",
            ),
            (
                "kreplicate_consumer_group_count 2",
                "kreplicate_consumer_group_count 1",
                "consumer groups",
            ),
        ];
        for (from, to, failing) in cases {
            assert!(READY.contains(from), "{from}");
            let e = prometheus_text::parse(&READY.replacen(from, to, 1)).unwrap();
            let checks = evaluate(&e, &args());
            let bad: Vec<&str> = checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(bad, [failing]);
            assert!(render(&checks).ends_with(&format!("NOT READY: {failing}\n")));
        }
    }

    #[test]
    fn no_cluster_samples_is_not_ready_and_no_latency_is_fine() {
        let e = prometheus_text::parse("# TYPE kreplicate_cluster_reachable gauge\n").unwrap();
        let mut a = args();
        a.expected_groups = None;
        let checks = evaluate(&e, &a);
        let bad: Vec<&str> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(bad, ["clusters reachable", "partitions copying"]);
        let latency = checks
            .iter()
            .find(|c| c.name == "replication latency (max)")
            .unwrap();
        assert_eq!(latency.value, "n/a");
    }
}
