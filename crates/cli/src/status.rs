//! `kreplicate status`: the cut-over checklist of AWS's migration guidance, evaluated on a
//! running replicator's `/metrics`: no replication or offset-sync failures, both clusters
//! reachable, every partition copying, message lag under 1000, replication latency under 90 s
//! (of partitions with records pending), each synced group's offsets synced, and the expected
//! number of consumer groups. Consumer lag is shown, gated only with `--max-consumer-lag`.
//! `--group G` answers whether one group can move to the target now. Exit 0 when ready (or
//! the group can move), 1 when not, 2 when the metrics cannot be read.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::failure::Failure;
use crate::http_get;
use crate::prometheus_text::{self, Exposition};
use crate::run::positive_duration;
use crate::table::{Align, Table};

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
    /// Ready only while the summed consumer-group lag (records) is below this. Without it the
    /// lag is shown, not gated: a group's own consumption is not the replicator's readiness.
    #[arg(long, value_name = "RECORDS")]
    pub max_consumer_lag: Option<u64>,
    /// Ready only when exactly this many consumer groups are being synchronised.
    #[arg(long, value_name = "N")]
    pub expected_groups: Option<u64>,
    /// Answer only whether this consumer group can move to the target now (exit 0 when yes).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
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

pub(crate) fn check(
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
pub(crate) fn count(value: f64) -> String {
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

    // Sorted: the exposition's order is a hash map's.
    let mut reachable: Vec<_> = e.named("kreplicate_cluster_reachable").collect();
    reachable.sort_by(|a, b| a.label("cluster").cmp(&b.label("cluster")));
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
    for p in halted_partitions(e) {
        checks.push(check(
            format!("halted {}-{}", p.topic, p.partition),
            p.at(),
            "copying",
            false,
        ));
    }

    let lag = e.sum("kreplicate_message_lag");
    checks.push(check(
        "message lag (sum)",
        count(lag),
        format!("< {}", args.max_message_lag),
        lag < args.max_message_lag as f64,
    ));

    let max_latency_ms = args.max_latency.as_secs_f64() * 1000.0;
    // Judged on partitions with records pending only: a caught-up partition (message lag 0)
    // has no record waiting, and its last copy's latency says nothing about now (after a
    // backlog copy on an idle source it would stay high forever).
    let caught_up = |s: &prometheus_text::Sample| {
        e.named("kreplicate_message_lag").any(|lag| {
            lag.value == 0.0
                && lag.label("topic") == s.label("topic")
                && lag.label("partition") == s.label("partition")
        })
    };
    let latency = e
        .named("kreplicate_replication_latency_ms")
        .filter(|s| !caught_up(s))
        .map(|s| s.value)
        .reduce(f64::max);
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
    checks.push(match args.max_consumer_lag {
        Some(max) => check(
            "consumer lag (sum)",
            count(consumer_lag),
            format!("< {max}"),
            consumer_lag < max as f64,
        ),
        None => check("consumer lag (sum)", count(consumer_lag), "(shown)", true),
    });

    for group in groups(e) {
        checks.push(check(
            format!("group {}", group.name),
            group.answer(),
            "synced",
            group.synced,
        ));
    }

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

/// A partition the replicator reports halted (`kreplicate_partition_halted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaltedPartition {
    pub topic: String,
    pub partition: i32,
    /// The source offset it halted at; `None` when not known (its copier panicked).
    pub offset: Option<i64>,
}

impl HaltedPartition {
    /// `at source offset N`, or why the offset is not known.
    pub fn at(&self) -> String {
        match self.offset {
            Some(offset) => format!("at source offset {offset}"),
            None => "copier panicked".to_string(),
        }
    }
}

/// The halted partitions, sorted by topic and partition.
pub fn halted_partitions(e: &Exposition) -> Vec<HaltedPartition> {
    let mut halted: Vec<HaltedPartition> = e
        .named("kreplicate_partition_halted")
        .filter_map(|s| {
            Some(HaltedPartition {
                topic: s.label("topic")?.to_owned(),
                partition: s.label("partition")?.parse().ok()?,
                offset: (s.value >= 0.0).then_some(s.value as i64),
            })
        })
        .collect();
    halted.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    halted
}

/// One synced group, from `kreplicate_consumer_group_synced` / `_movable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub name: String,
    /// Target offsets are the translation of the source commits, or past it.
    pub synced: bool,
    /// Exactly the translation, and no active members on the source.
    pub movable: bool,
}

impl GroupState {
    /// The default view's value for the group.
    fn answer(&self) -> &'static str {
        match (self.synced, self.movable) {
            (true, true) => "synced, can move",
            (true, false) => "synced, cannot move yet",
            _ => "not synced",
        }
    }
}

/// The groups this replicator syncs, sorted by name.
pub fn groups(e: &Exposition) -> Vec<GroupState> {
    let mut groups: Vec<GroupState> = e
        .named("kreplicate_consumer_group_synced")
        .filter_map(|s| {
            let name = s.label("group")?;
            let movable = e
                .named("kreplicate_consumer_group_movable")
                .any(|m| m.label("group") == Some(name) && m.value == 1.0);
            Some(GroupState {
                name: name.to_owned(),
                synced: s.value == 1.0,
                movable,
            })
        })
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

/// Lines printed above the table: what is wrong with the set-up rather than the progress.
pub fn warnings(e: &Exposition) -> Vec<String> {
    let mut out = Vec::new();
    if e.has("kreplicate_topic_count") && e.sum("kreplicate_topic_count") == 0.0 {
        out.push(format!(
            "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
             (kreplicate_topic_count is 0){}",
            source_topics(e)
        ));
    }
    // A cluster without an API the configuration uses: what needs it cannot run.
    let mut missing: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for sample in e
        .named("kreplicate_cluster_missing_api")
        .filter(|s| s.value == 1.0)
    {
        if let (Some(cluster), Some(api)) = (sample.label("cluster"), sample.label("api")) {
            missing.entry(cluster).or_default().push(api);
        }
    }
    for (cluster, mut apis) in missing {
        apis.sort_unstable();
        out.push(format!(
            "WARNING: cluster {cluster} does not offer {}: what this replicator needs them for \
             does not run (its log names what, once)",
            apis.join(", ")
        ));
    }
    out
}

/// `; the source has N topics: a, b and M more`, from the replicator's metrics (it names at
/// most 20); empty from a replicator that does not expose them.
fn source_topics(e: &Exposition) -> String {
    if !e.has("kreplicate_source_topic_count") {
        return String::new();
    }
    let total = e.sum("kreplicate_source_topic_count");
    let mut names: Vec<&str> = e
        .named("kreplicate_unselected_source_topic")
        .filter_map(|s| s.label("topic"))
        .collect();
    names.sort_unstable();
    if total == 0.0 || names.is_empty() {
        return format!("; the source has {} topics", count(total));
    }
    let more = total - names.len() as f64;
    format!(
        "; the source has {} topics: {}{}",
        count(total),
        names.join(", "),
        if more > 0.0 {
            format!(" and {} more", count(more))
        } else {
            String::new()
        }
    )
}

/// The answer of `status --group G`, and whether it is yes.
pub fn group_answer(e: &Exposition, group: &str) -> (String, bool) {
    match groups(e).into_iter().find(|g| g.name == group) {
        Some(g) if g.movable => (
            format!(
                "group {group}: CAN MOVE: its committed offsets on the target are the exact \
                 translation of its source commits and it has no members on the source"
            ),
            true,
        ),
        Some(g) if g.synced => (
            format!(
                "group {group}: WAIT: offsets synced, but the group still has active members \
                 on the source (stop its consumers there first), or it already consumes on the \
                 target (its offsets there are past the translation)"
            ),
            false,
        ),
        Some(_) => (
            format!(
                "group {group}: WAIT: its committed offsets on the target are not yet the \
                 translation of its source commits"
            ),
            false,
        ),
        None => (
            format!(
                "group {group}: UNKNOWN: this replicator does not sync it (not selected, no \
                 commits on replicated topics, or already moved to the other side)"
            ),
            false,
        ),
    }
}

/// The table and the verdict line.
pub fn render(warnings: &[String], checks: &[Check]) -> String {
    let status = |c: &Check| if c.ok { "OK" } else { "NOT READY" };
    let mut table = Table::new(&[Align::Left; 4]);
    table.row(["CHECK", "VALUE", "THRESHOLD", "STATUS"]);
    for c in checks {
        table.row([
            c.name.as_str(),
            c.value.as_str(),
            c.threshold.as_str(),
            status(c),
        ]);
    }
    let mut out: String = warnings.iter().map(|w| format!("{w}\n")).collect();
    out.push_str(&table.render());
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
    // In a worker group: every member's metrics, a row per member first.
    let workers = crate::status_workers::read(&exposition, args.timeout).await;
    let (worker_checks, exposition) = match &workers {
        Some(workers) => (
            crate::status_workers::evaluate(workers),
            crate::status_workers::merged(workers),
        ),
        None => (Vec::new(), exposition),
    };
    if let Some(group) = &args.group {
        let (line, yes) = group_answer(&exposition, group);
        println!("{line}");
        return Ok(if yes {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut checks = worker_checks;
    checks.extend(evaluate(&exposition, &args));
    print!("{}", render(&warnings(&exposition), &checks));
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each halted partition is its own NOT READY row, naming where it halted.
    #[test]
    fn each_halted_partition_is_a_row_naming_its_offset() {
        let text = READY.replace(
            "kreplicate_partitions{state=\"halted\"} 0",
            "kreplicate_partitions{state=\"halted\"} 2",
        ) + "# TYPE kreplicate_partition_halted gauge\n\
               kreplicate_partition_halted{topic=\"orders\",partition=\"10\"} 1234\n\
               kreplicate_partition_halted{topic=\"orders\",partition=\"2\"} -1\n";
        let e = prometheus_text::parse(&text).unwrap();
        let checks = evaluate(&e, &args());
        let rows: Vec<(&str, &str, bool)> = checks
            .iter()
            .filter(|c| c.name.starts_with("halted") || c.name == "partitions halted")
            .map(|c| (c.name.as_str(), c.value.as_str(), c.ok))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("partitions halted", "2", false),
                ("halted orders-2", "copier panicked", false),
                ("halted orders-10", "at source offset 1234", false),
            ]
        );
        let out = render(&[], &checks);
        assert!(
            out.ends_with("NOT READY: partitions halted, halted orders-2, halted orders-10\n"),
            "{out}"
        );
    }

    fn args() -> StatusArgs {
        StatusArgs {
            metrics_url: String::new(),
            max_message_lag: 1000,
            max_latency: Duration::from_secs(90),
            max_consumer_lag: Some(1000),
            expected_groups: Some(2),
            group: None,
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
                "cluster dst reachable",
                "cluster src reachable",
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
        let table = render(&[], &checks);
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
            assert!(render(&[], &checks).ends_with(&format!("NOT READY: {failing}\n")));
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

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// After a backlog copy the source is idle: lag 0 everywhere, the last latency 150 s.
    /// Before: NOT READY for ever. Now the caught-up partition's latency is not judged.
    #[test]
    fn caught_up_partitions_latency_is_not_judged() {
        let idle = READY
            .replace("} 400\n", "} 0\n")
            .replace("} 599\n", "} 0\n")
            .replace("} 80000\n", "} 150024\n");
        let e = prometheus_text::parse(&idle).unwrap();
        let checks = evaluate(&e, &args());
        assert_eq!(failing(&checks), Vec::<&str>::new());
        let latency = checks
            .iter()
            .find(|c| c.name == "replication latency (max)");
        assert_eq!(latency.unwrap().value, "n/a");

        // A partition with records pending is still judged on its latency.
        let busy = idle.replacen(
            "kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 0",
            "kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 3",
            1,
        );
        let e = prometheus_text::parse(&busy).unwrap();
        let checks = evaluate(&e, &args());
        assert_eq!(failing(&checks), ["replication latency (max)"]);
        let latency = checks
            .iter()
            .find(|c| c.name == "replication latency (max)");
        assert_eq!(latency.unwrap().value, "150024 ms");
    }

    /// A group nobody consumes any more has a growing lag: shown, not gated by default.
    #[test]
    fn consumer_lag_is_shown_and_gated_only_when_asked() {
        let text = READY.replace("} 10\n", "} 5000000\n");
        let e = prometheus_text::parse(&text).unwrap();
        let mut a = args();
        a.max_consumer_lag = None;
        let checks = evaluate(&e, &a);
        assert_eq!(failing(&checks), Vec::<&str>::new());
        let lag = checks
            .iter()
            .find(|c| c.name == "consumer lag (sum)")
            .unwrap();
        assert_eq!(
            (lag.value.as_str(), lag.threshold.as_str()),
            ("5000000", "(shown)")
        );
        let checks = evaluate(&e, &args());
        assert_eq!(failing(&checks), ["consumer lag (sum)"]);
    }

    #[test]
    fn rows_are_sorted_whatever_the_exposition_order() {
        let swapped = READY.replace(
            "kreplicate_cluster_reachable{cluster=\"src\"} 1\nkreplicate_cluster_reachable{cluster=\"dst\"} 1\n",
            "kreplicate_cluster_reachable{cluster=\"dst\"} 1\nkreplicate_cluster_reachable{cluster=\"src\"} 1\n",
        );
        assert_ne!(swapped, READY);
        let groups = "kreplicate_consumer_group_synced{group=\"zeta\"} 1\n\
                      kreplicate_consumer_group_synced{group=\"alpha\"} 1\n";
        for text in [format!("{READY}{groups}"), format!("{swapped}{groups}")] {
            let e = prometheus_text::parse(&text).unwrap();
            let names: Vec<String> = evaluate(&e, &args()).into_iter().map(|c| c.name).collect();
            let rows: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| n.starts_with("cluster ") || n.starts_with("group "))
                .collect();
            assert_eq!(
                rows,
                [
                    "cluster dst reachable",
                    "cluster src reachable",
                    "group alpha",
                    "group zeta"
                ]
            );
        }
    }

    #[test]
    fn each_group_must_be_synced_and_says_whether_it_can_move() {
        let text = format!(
            "{READY}\
kreplicate_consumer_group_synced{{group=\"billing\"}} 1
kreplicate_consumer_group_movable{{group=\"billing\"}} 1
kreplicate_consumer_group_synced{{group=\"audit\"}} 1
kreplicate_consumer_group_movable{{group=\"audit\"}} 0
kreplicate_consumer_group_synced{{group=\"orders-app\"}} 0
kreplicate_consumer_group_movable{{group=\"orders-app\"}} 0
"
        );
        let e = prometheus_text::parse(&text).unwrap();
        let checks = evaluate(&e, &args());
        let rows: Vec<(&str, &str, bool)> = checks
            .iter()
            .filter(|c| c.name.starts_with("group "))
            .map(|c| (c.name.as_str(), c.value.as_str(), c.ok))
            .collect();
        assert_eq!(
            rows,
            [
                ("group audit", "synced, cannot move yet", true),
                ("group billing", "synced, can move", true),
                ("group orders-app", "not synced", false),
            ]
        );
        assert!(render(&[], &checks).ends_with("NOT READY: group orders-app\n"));

        let answers: Vec<(bool, String)> = ["billing", "audit", "orders-app", "nobody"]
            .iter()
            .map(|g| {
                let (line, yes) = group_answer(&e, g);
                (yes, line.split(':').take(2).collect::<Vec<_>>().join(":"))
            })
            .collect();
        assert_eq!(
            answers,
            [
                (true, "group billing: CAN MOVE".to_owned()),
                (false, "group audit: WAIT".to_owned()),
                (false, "group orders-app: WAIT".to_owned()),
                (false, "group nobody: UNKNOWN".to_owned()),
            ]
        );
    }

    #[test]
    fn no_topic_selected_is_a_warning_line() {
        let e = prometheus_text::parse(&format!("{READY}kreplicate_topic_count 0\n")).unwrap();
        let lines = warnings(&e);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("WARNING: no topic selected"),
            "{lines:?}"
        );
        let table = render(&lines, &evaluate(&e, &args()));
        assert!(table.starts_with("WARNING: no topic selected"), "{table}");
        let e = prometheus_text::parse(&format!("{READY}kreplicate_topic_count 3\n")).unwrap();
        assert_eq!(warnings(&e), Vec::<String>::new());
    }

    #[test]
    fn a_missing_api_is_a_warning_line_per_cluster() {
        let text = format!(
            "{READY}\
kreplicate_cluster_missing_api{{cluster=\"src\",api=\"ListGroups\"}} 1
kreplicate_cluster_missing_api{{cluster=\"dst\",api=\"CreatePartitions\"}} 1
kreplicate_cluster_missing_api{{cluster=\"src\",api=\"DescribeConfigs\"}} 1
"
        );
        let e = prometheus_text::parse(&text).unwrap();
        assert_eq!(
            warnings(&e),
            [
                "WARNING: cluster dst does not offer CreatePartitions: what this replicator \
                 needs them for does not run (its log names what, once)",
                "WARNING: cluster src does not offer DescribeConfigs, ListGroups: what this \
                 replicator needs them for does not run (its log names what, once)"
            ]
        );
        // Shown, not gated: readiness is the data's.
        assert_eq!(failing(&evaluate(&e, &args())), Vec::<&str>::new());
    }

    /// The warning names the source's topics, as `run`'s log line does (the replicator
    /// exposes at most 20 of them; the rest are counted).
    #[test]
    fn no_topic_selected_names_the_source_topics() {
        let named = |total: usize, names: &[&str]| {
            let mut text =
                format!("{READY}kreplicate_topic_count 0\nkreplicate_source_topic_count {total}\n");
            for name in names {
                text.push_str(&format!(
                    "kreplicate_unselected_source_topic{{topic=\"{name}\"}} 1\n"
                ));
            }
            warnings(&prometheus_text::parse(&text).unwrap())
        };
        assert_eq!(
            named(2, &["payments", "orders"]),
            [
                "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
              (kreplicate_topic_count is 0); the source has 2 topics: orders, payments"
            ]
        );
        assert_eq!(
            named(23, &["a", "b"]),
            [
                "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
              (kreplicate_topic_count is 0); the source has 23 topics: a, b and 21 more"
            ]
        );
        assert_eq!(
            named(0, &[]),
            [
                "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
              (kreplicate_topic_count is 0); the source has 0 topics"
            ]
        );
    }
}
