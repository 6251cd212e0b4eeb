//! docs/metrics.md and docs/grafana-dashboard.json cover every metric the replicator exposes
//! (here, not in the CLI's tests, because the metric fields are crate-private),
//! and the dashboard is valid JSON with a Prometheus datasource variable.

use std::path::PathBuf;

use crate::metrics::{
    cluster_labels, group_labels, partition_labels, topic_labels, ReplicatorMetrics,
};

fn docs(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sample names as exposed (counters with `_total`), from the `# TYPE` lines. Families
/// without samples are not exposed at all, so every one gets a sample first.
fn exposed_metrics() -> Vec<String> {
    let m = ReplicatorMetrics::new();
    let partition = partition_labels("t", 0);
    let topic = topic_labels("t");
    let cluster = cluster_labels("c");
    m.replication_latency_ms.get_or_create(&partition).set(1);
    m.message_lag.get_or_create(&partition).set(1);
    m.replicated_bytes.get_or_create(&topic).inc();
    m.replicated_records.get_or_create(&topic).inc();
    m.bytes_in.inc();
    m.filtered_records.get_or_create(&topic).inc();
    m.failures.get_or_create(&topic).inc();
    m.gap_records.get_or_create(&partition).inc();
    m.cluster_reachable.get_or_create(&cluster).set(1);
    m.auth_errors.get_or_create(&cluster).inc();
    m.throttle_time_ms.get_or_create(&cluster).set(1);
    m.consumer_group_count.set(1);
    m.consumer_group_sync_failures.inc();
    m.consumer_group_lag.get_or_create(&partition).set(1);
    m.consumer_group_synced
        .get_or_create(&group_labels("g"))
        .set(1);
    m.consumer_group_movable
        .get_or_create(&group_labels("g"))
        .set(1);
    m.topic_count.set(1);
    m.source_topic_count.set(1);
    m.cluster_missing_api.get_or_create(&cluster).set(1);
    m.unselected_source_topics.get_or_create(&topic).set(1);
    m.copier_panics.get_or_create(&topic).inc();
    m.checkpoint_failures.inc();
    m.data_path_restarts.inc();
    let text = m.encode();
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|rest| {
            let mut words = rest.split_whitespace();
            let name = words.next().unwrap().to_owned();
            match words.next() {
                Some("counter") => format!("{name}_total"),
                _ => name,
            }
        })
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    names
}

#[test]
fn metrics_doc_lists_every_metric() {
    let doc = docs("metrics.md");
    for name in exposed_metrics() {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "docs/metrics.md lacks a row for {name}"
        );
    }
    for cloudwatch in [
        "ReplicationLatency",
        "MessageLag",
        "ReplicatorThroughput",
        "ReplicatorBytesInPerSec",
        "ReplicatorFailure",
        "ReplicationFailures",
        "KafkaClusterPingSuccessCount",
        "ConsumerGroupCount",
        "ConsumerGroupOffsetSyncFailure",
        "AuthError",
        "ThrottleTime",
        "OffsetLag",
        "SumOffsetLag",
    ] {
        assert!(
            doc.contains(cloudwatch),
            "docs/metrics.md lacks {cloudwatch}"
        );
    }
}

#[test]
fn dashboard_is_valid_and_charts_every_metric() {
    let text = docs("grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    assert!(
        variables
            .iter()
            .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
        "no Prometheus datasource variable"
    );
    let mut exprs = String::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push_str(target["expr"].as_str().expect("expr"));
            exprs.push('\n');
        }
    }
    for name in exposed_metrics() {
        assert!(exprs.contains(&name), "no dashboard panel queries {name}");
    }
}
