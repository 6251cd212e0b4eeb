//! `kreplicate status`: the cut-over checklist of AWS's migration guidance, evaluated on a
//! running replicator's typed status (the JSON its metrics server serves on `/status`): no replication or offset-sync failures, both clusters
//! reachable, every partition copying, message lag under 1000, replication latency under 90 s
//! (of partitions with records pending), each synced group's offsets synced, and the expected
//! number of consumer groups. Consumer lag is shown, gated only with `--max-consumer-lag`.
//! `--group G` answers whether one group can move to the target now. Exit 0 when ready (or
//! the group can move), 1 when not, 2 when the status cannot be read.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use kreplicate_replicate::{PartitionState, Status};

use crate::failure::Failure;
use crate::run::positive_duration;
use crate::status_source;
use crate::table::Table;

/// Options of `kreplicate status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The replicator's metrics endpoint; its `/status` is read (a URL ending in `/metrics`
    /// reads `/status` on the same server).
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

/// Evaluates the checklist.
pub fn evaluate(s: &Status, args: &StatusArgs) -> Vec<Check> {
    let mut checks = Vec::new();

    checks.push(check(
        "replication failures",
        s.replication_failures.to_string(),
        "= 0",
        s.replication_failures == 0,
    ));
    checks.push(check(
        "offset sync failures",
        s.offset_sync_failures.to_string(),
        "= 0",
        s.offset_sync_failures == 0,
    ));

    // Sorted by alias, as the rows always were.
    let mut reachable: Vec<_> = s.clusters.iter().collect();
    reachable.sort_by(|a, b| a.alias.cmp(&b.alias));
    if reachable.is_empty() {
        checks.push(check("clusters reachable", "no data", "= 1 each", false));
    }
    for cluster in reachable {
        checks.push(check(
            format!("cluster {} reachable", cluster.alias),
            if cluster.reachable { "1" } else { "0" },
            "= 1",
            cluster.reachable,
        ));
    }

    // Copying must have started everywhere: until a partition's first fetch there is no lag to
    // judge, and a lag sum over no partitions is not "caught up".
    let copying = s
        .partitions
        .iter()
        .filter(|p| p.state == PartitionState::Copying)
        .count();
    let measured = s.partitions.iter().filter(|p| p.lag.is_some()).count();
    checks.push(check(
        "partitions copying",
        format!("{copying} ({measured} measured)"),
        "> 0, each measured",
        copying > 0 && measured >= copying,
    ));
    let halted = halted_partitions(s);
    checks.push(check(
        "partitions halted",
        halted.len().to_string(),
        "= 0",
        halted.is_empty(),
    ));
    for p in halted {
        checks.push(check(
            format!("halted {}-{}", p.topic, p.partition),
            p.at(),
            "copying",
            false,
        ));
    }

    let lag = s.total_lag();
    checks.push(check(
        "message lag (sum)",
        lag.to_string(),
        format!("< {}", args.max_message_lag),
        lag < args.max_message_lag as i64,
    ));

    let max_latency_ms = args.max_latency.as_millis();
    // Judged on partitions with records pending only: a caught-up partition (message lag 0)
    // has no record waiting, and its last copy's latency says nothing about now (after a
    // backlog copy on an idle source it would stay high forever).
    let latency = s
        .partitions
        .iter()
        .filter(|p| p.lag != Some(0))
        .filter_map(|p| p.latency_ms)
        .max();
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
            format!("{ms} ms"),
            format!("< {}", humantime::format_duration(args.max_latency)),
            i128::from(ms) < max_latency_ms as i128,
        ),
    });

    let consumer_lag = s.total_consumer_lag();
    checks.push(match args.max_consumer_lag {
        Some(max) => check(
            "consumer lag (sum)",
            consumer_lag.to_string(),
            format!("< {max}"),
            consumer_lag < max as i64,
        ),
        None => check(
            "consumer lag (sum)",
            consumer_lag.to_string(),
            "(shown)",
            true,
        ),
    });

    for group in groups(s) {
        checks.push(check(
            format!("group {}", group.name),
            group.answer(),
            "synced",
            group.synced,
        ));
    }

    let groups = s.consumer_groups;
    checks.push(match args.expected_groups {
        Some(expected) => check(
            "consumer groups",
            groups.to_string(),
            format!("= {expected}"),
            groups == expected,
        ),
        None => check("consumer groups", groups.to_string(), "(any)", true),
    });
    checks
}

/// A partition the replicator reports halted.
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
pub fn halted_partitions(s: &Status) -> Vec<HaltedPartition> {
    let mut halted: Vec<HaltedPartition> = s
        .partitions
        .iter()
        .filter_map(|p| match &p.state {
            PartitionState::Halted { offset, .. } => Some(HaltedPartition {
                topic: p.topic.clone(),
                partition: p.partition,
                offset: *offset,
            }),
            _ => None,
        })
        .collect();
    halted.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    halted
}

/// One synced group.
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
pub fn groups(s: &Status) -> Vec<GroupState> {
    let mut groups: Vec<GroupState> = s
        .groups
        .iter()
        .map(|g| GroupState {
            name: g.group.clone(),
            synced: g.synced,
            movable: g.movable,
        })
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

/// Lines printed above the table: what is wrong with the set-up rather than the progress.
pub fn warnings(s: &Status) -> Vec<String> {
    let mut out = Vec::new();
    if s.topics == 0 {
        out.push(format!(
            "WARNING: no topic selected: TopicsToReplicate matches no topic of the source \
             (kreplicate_topic_count is 0){}",
            source_topics(s)
        ));
    }
    // A cluster without an API the configuration uses: what needs it cannot run.
    let mut missing: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for m in &s.missing_apis {
        missing.entry(&m.cluster).or_default().push(&m.api);
    }
    for (cluster, mut apis) in missing {
        apis.sort_unstable();
        apis.dedup();
        out.push(format!(
            "WARNING: cluster {cluster} does not offer {}: what this replicator needs them for \
             does not run (its log names what, once)",
            apis.join(", ")
        ));
    }
    out
}

/// `; the source has N topics: a, b and M more`, from the replicator's status (it names at
/// most 20); empty before the replicator first listed the source's topics.
fn source_topics(s: &Status) -> String {
    let Some(total) = s.source_topics else {
        return String::new();
    };
    let mut names: Vec<&str> = s
        .unselected_source_topics
        .iter()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    if total == 0 || names.is_empty() {
        return format!("; the source has {total} topics");
    }
    let more = total.saturating_sub(names.len() as u64);
    format!(
        "; the source has {total} topics: {}{}",
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The answer of `status --group G`, and whether it is yes.
pub fn group_answer(s: &Status, group: &str) -> (String, bool) {
    match groups(s).into_iter().find(|g| g.name == group) {
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
    let mut table = Table::new(4);
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

/// Reads the status, prints the table, and returns 0 (ready) or 1 (not ready). A status
/// that cannot be read is a failure with exit code 2.
pub async fn status(args: StatusArgs) -> Result<ExitCode, Failure> {
    let url = status_source::status_url(&args.metrics_url);
    let status = status_source::read(&url, args.timeout)
        .await
        .map_err(|e| Failure::config(format!("cannot read metrics: {e}")))?;
    // In a worker group: every member's status, a row per member first.
    let workers = crate::status_workers::read(&status, args.timeout).await;
    let (worker_checks, status) = match &workers {
        Some(workers) => (
            crate::status_workers::evaluate(workers),
            crate::status_workers::merged(workers),
        ),
        None => (Vec::new(), status),
    };
    if let Some(group) = &args.group {
        let (line, yes) = group_answer(&status, group);
        println!("{line}");
        return Ok(if yes {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut checks = worker_checks;
    checks.extend(evaluate(&status, &args));
    print!("{}", render(&warnings(&status), &checks));
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kreplicate_replicate::PartitionStatus;
    use serde_json::json;

    fn status(value: serde_json::Value) -> Status {
        serde_json::from_value(value).unwrap()
    }

    fn partition(p: i32, state: &str, lag: Option<i64>, latency: Option<i64>) -> serde_json::Value {
        json!({"topic": "orders", "partition": p, "state": {"name": state},
               "lag": lag, "latency_ms": latency})
    }

    /// Ready: both clusters reachable, 2 partitions copying with lag 999 in all, latency
    /// 80 s at most, consumer lag 10, 2 groups.
    fn ready() -> Status {
        status(json!({
            "clusters": [
                {"role": "source", "alias": "src", "reachable": true},
                {"role": "target", "alias": "dst", "reachable": true}
            ],
            "partitions": [
                partition(0, "copying", Some(400), Some(1200)),
                partition(1, "copying", Some(599), Some(80000))
            ],
            "topics": 1,
            "replication_failures": 0,
            "offset_sync_failures": 0,
            "consumer_groups": 2,
            "consumer_lag": [
                {"cluster": "dst", "group": "g", "topic": "orders", "partition": 0, "lag": 10}
            ]
        }))
    }

    fn halted(p: i32, offset: Option<i64>) -> PartitionStatus {
        let mut value = partition(p, "halted", None, None);
        value["state"] = json!({"name": "halted", "offset": offset, "reason": "refused"});
        serde_json::from_value(value).unwrap()
    }

    /// Each halted partition is its own NOT READY row, naming where it halted.
    #[test]
    fn each_halted_partition_is_a_row_naming_its_offset() {
        let mut s = ready();
        s.partitions.push(halted(10, Some(1234)));
        s.partitions.push(halted(2, None));
        let checks = evaluate(&s, &args());
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

    #[test]
    fn all_checks_pass() {
        let checks = evaluate(&ready(), &args());
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
        type Change = fn(&mut Status);
        let cases: [(Change, &[&str]); 10] = [
            (|s| s.partitions[1].lag = Some(600), &["message lag (sum)"]),
            (
                |s| s.partitions[1].latency_ms = Some(90000),
                &["replication latency (max)"],
            ),
            (
                |s| s.clusters[1].reachable = false,
                &["cluster dst reachable"],
            ),
            (|s| s.replication_failures = 3, &["replication failures"]),
            (|s| s.offset_sync_failures = 1, &["offset sync failures"]),
            (|s| s.consumer_lag[0].lag = 1000, &["consumer lag (sum)"]),
            (
                |s| s.partitions.push(halted(2, Some(5))),
                &["partitions halted", "halted orders-2"],
            ),
            // A third partition copies but has no lag measured yet.
            (
                |s| {
                    s.partitions
                        .push(serde_json::from_value(partition(2, "copying", None, None)).unwrap())
                },
                &["partitions copying"],
            ),
            (
                |s| {
                    for p in &mut s.partitions {
                        p.state = PartitionState::NotStarted;
                    }
                },
                &["partitions copying"],
            ),
            (|s| s.consumer_groups = 1, &["consumer groups"]),
        ];
        for (change, failing) in cases {
            let mut s = ready();
            change(&mut s);
            assert_ne!(s, ready());
            let checks = evaluate(&s, &args());
            let bad: Vec<&str> = checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(bad, failing);
            assert!(render(&[], &checks).ends_with(&format!("NOT READY: {}\n", failing.join(", "))));
        }
    }

    #[test]
    fn no_cluster_samples_is_not_ready_and_no_latency_is_fine() {
        let s = status(json!({"clusters": []}));
        let mut a = args();
        a.expected_groups = None;
        let checks = evaluate(&s, &a);
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
        let mut idle = ready();
        idle.partitions[0].lag = Some(0);
        idle.partitions[1].lag = Some(0);
        idle.partitions[1].latency_ms = Some(150024);
        let checks = evaluate(&idle, &args());
        assert_eq!(failing(&checks), Vec::<&str>::new());
        let latency = checks
            .iter()
            .find(|c| c.name == "replication latency (max)");
        assert_eq!(latency.unwrap().value, "n/a");

        // A partition with records pending is still judged on its latency.
        let mut busy = idle;
        busy.partitions[1].lag = Some(3);
        let checks = evaluate(&busy, &args());
        assert_eq!(failing(&checks), ["replication latency (max)"]);
        let latency = checks
            .iter()
            .find(|c| c.name == "replication latency (max)");
        assert_eq!(latency.unwrap().value, "150024 ms");
    }

    /// A group nobody consumes any more has a growing lag: shown, not gated by default.
    #[test]
    fn consumer_lag_is_shown_and_gated_only_when_asked() {
        let mut s = ready();
        s.consumer_lag[0].lag = 5000000;
        let mut a = args();
        a.max_consumer_lag = None;
        let checks = evaluate(&s, &a);
        assert_eq!(failing(&checks), Vec::<&str>::new());
        let lag = checks
            .iter()
            .find(|c| c.name == "consumer lag (sum)")
            .unwrap();
        assert_eq!(
            (lag.value.as_str(), lag.threshold.as_str()),
            ("5000000", "(shown)")
        );
        let checks = evaluate(&s, &args());
        assert_eq!(failing(&checks), ["consumer lag (sum)"]);
    }

    fn with_groups(mut s: Status, groups: serde_json::Value) -> Status {
        s.groups = serde_json::from_value(groups).unwrap();
        s
    }

    #[test]
    fn rows_are_sorted_whatever_the_status_order() {
        let mut swapped = ready();
        swapped.clusters.reverse();
        assert_ne!(swapped, ready());
        let groups = json!([
            {"group": "zeta", "synced": true, "movable": false, "offsets": []},
            {"group": "alpha", "synced": true, "movable": false, "offsets": []}
        ]);
        for s in [ready(), swapped] {
            let s = with_groups(s, groups.clone());
            let names: Vec<String> = evaluate(&s, &args()).into_iter().map(|c| c.name).collect();
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
        let s = with_groups(
            ready(),
            json!([
                {"group": "billing", "synced": true, "movable": true, "offsets": []},
                {"group": "audit", "synced": true, "movable": false, "offsets": []},
                {"group": "orders-app", "synced": false, "movable": false, "offsets": []}
            ]),
        );
        let checks = evaluate(&s, &args());
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
                let (line, yes) = group_answer(&s, g);
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
        let mut s = ready();
        s.topics = 0;
        let lines = warnings(&s);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("WARNING: no topic selected"),
            "{lines:?}"
        );
        let table = render(&lines, &evaluate(&s, &args()));
        assert!(table.starts_with("WARNING: no topic selected"), "{table}");
        s.topics = 3;
        assert_eq!(warnings(&s), Vec::<String>::new());
    }

    #[test]
    fn a_missing_api_is_a_warning_line_per_cluster() {
        let mut s = ready();
        s.missing_apis = serde_json::from_value(json!([
            {"cluster": "src", "api": "ListGroups"},
            {"cluster": "dst", "api": "CreatePartitions"},
            {"cluster": "src", "api": "DescribeConfigs"}
        ]))
        .unwrap();
        assert_eq!(
            warnings(&s),
            [
                "WARNING: cluster dst does not offer CreatePartitions: what this replicator \
                 needs them for does not run (its log names what, once)",
                "WARNING: cluster src does not offer DescribeConfigs, ListGroups: what this \
                 replicator needs them for does not run (its log names what, once)"
            ]
        );
        // Shown, not gated: readiness is the data's.
        assert_eq!(failing(&evaluate(&s, &args())), Vec::<&str>::new());
    }

    /// The warning names the source's topics, as `run`'s log line does (the replicator
    /// names at most 20 of them; the rest are counted).
    #[test]
    fn no_topic_selected_names_the_source_topics() {
        let named = |total: u64, names: &[&str]| {
            let mut s = ready();
            s.topics = 0;
            s.source_topics = Some(total);
            s.unselected_source_topics = names.iter().map(|n| n.to_string()).collect();
            warnings(&s)
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
