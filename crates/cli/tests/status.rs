//! `kreplicate status` against a tiny HTTP server serving canned metrics.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Serves `body` with `status` to one connection; returns the URL.
fn serve_once(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        // Read the request head.
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    format!("http://{addr}/metrics")
}

const READY: &str = "\
# HELP kreplicate_replication_failures Data-path failures.
# TYPE kreplicate_replication_failures counter
kreplicate_replication_failures_total{topic=\"orders\"} 0
# TYPE kreplicate_consumer_group_offset_sync_failures counter
kreplicate_consumer_group_offset_sync_failures_total 0
# TYPE kreplicate_cluster_reachable gauge
kreplicate_cluster_reachable{cluster=\"src\"} 1
kreplicate_cluster_reachable{cluster=\"dst\"} 1
# TYPE kreplicate_partitions gauge
kreplicate_partitions{state=\"copying\"} 2
kreplicate_partitions{state=\"halted\"} 0
# TYPE kreplicate_message_lag gauge
kreplicate_message_lag{topic=\"orders\",partition=\"0\"} 12
kreplicate_message_lag{topic=\"orders\",partition=\"1\"} 30
# TYPE kreplicate_replication_latency_ms gauge
kreplicate_replication_latency_ms{topic=\"orders\",partition=\"0\"} 250
# TYPE kreplicate_consumer_group_lag gauge
kreplicate_consumer_group_lag{cluster=\"dst\",group=\"billing\",topic=\"orders\",partition=\"0\"} 5
# TYPE kreplicate_consumer_group_count gauge
kreplicate_consumer_group_count 3
# EOF
";

#[test]
fn ready_exits_0_with_the_table() {
    let url = serve_once("200 OK", READY.to_owned());
    let out = common::run(
        &["status", "--metrics-url", &url, "--expected-groups", "3"],
        T,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 12, "{}", out.stdout);
    let cells: Vec<Vec<&str>> = lines[1..11]
        .iter()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        cells,
        [
            vec!["replication failures", "0", "= 0", "OK"],
            vec!["offset sync failures", "0", "= 0", "OK"],
            vec!["cluster dst reachable", "1", "= 1", "OK"],
            vec!["cluster src reachable", "1", "= 1", "OK"],
            vec![
                "partitions copying",
                "2 (2 measured)",
                "> 0, each measured",
                "OK"
            ],
            vec!["partitions halted", "0", "= 0", "OK"],
            vec!["message lag (sum)", "42", "< 1000", "OK"],
            vec!["replication latency (max)", "250 ms", "< 1m 30s", "OK"],
            vec!["consumer lag (sum)", "5", "(shown)", "OK"],
            vec!["consumer groups", "3", "= 3", "OK"],
        ]
    );
    assert!(lines[0].starts_with("CHECK"), "{}", lines[0]);
    assert_eq!(lines[11], "READY to migrate");
}

#[test]
fn lag_too_high_exits_1_naming_the_check() {
    let url = serve_once("200 OK", READY.to_owned());
    let out = common::run(
        &["status", "--metrics-url", &url, "--max-message-lag", "40"],
        T,
    );
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("message lag (sum)") && l.ends_with("NOT READY")),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.lines().last(),
        Some("NOT READY: message lag (sum)")
    );
}

#[test]
fn wrong_group_count_exits_1() {
    let url = serve_once("200 OK", READY.to_owned());
    let out = common::run(
        &["status", "--metrics-url", &url, "--expected-groups", "4"],
        T,
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stdout.lines().last(),
        Some("NOT READY: consumer groups")
    );
}

#[test]
fn unreachable_url_exits_2_naming_it() {
    let port = kreplicate_testkit::ports::free_port();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let out = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let line = out.error_line();
    assert!(
        line.starts_with(&format!(
            "error: cannot read metrics: cannot connect to {url}: "
        )),
        "{line}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn http_error_and_foreign_pages_exit_2() {
    let url = serve_once("500 Internal Server Error", "boom\n".into());
    let out = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.error_line(),
        format!("error: cannot read metrics: {url}: HTTP 500 Internal Server Error: boom")
    );

    let url = serve_once("200 OK", "# TYPE up gauge\nup 1\n".into());
    let out = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(out.code, Some(2));
    assert!(
        out.error_line()
            .contains("no kreplicate_cluster_reachable metric"),
        "{}",
        out.stderr
    );

    let out = common::run(
        &["status", "--metrics-url", "https://example.invalid/metrics"],
        T,
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.error_line().contains("only http:// URLs"),
        "{}",
        out.stderr
    );
}

const GROUPS: &str = "\
# TYPE kreplicate_consumer_group_synced gauge
kreplicate_consumer_group_synced{group=\"billing\"} 1
kreplicate_consumer_group_synced{group=\"audit\"} 1
# TYPE kreplicate_consumer_group_movable gauge
kreplicate_consumer_group_movable{group=\"billing\"} 1
kreplicate_consumer_group_movable{group=\"audit\"} 0
";

#[test]
fn group_answers_whether_it_can_move() {
    let body = READY.replace("# EOF\n", GROUPS) + "# EOF\n";
    let url = serve_once("200 OK", body.clone());
    let out = common::run(&["status", "--metrics-url", &url, "--group", "billing"], T);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "group billing: CAN MOVE: its committed offsets on the target are the exact translation \
         of its source commits and it has no members on the source\n"
    );

    let url = serve_once("200 OK", body.clone());
    let out = common::run(&["status", "--metrics-url", &url, "--group", "audit"], T);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("group audit: WAIT: offsets synced, but the group still has active members on the source"),
        "{}",
        out.stdout
    );

    // The default view: a row per group, sorted, with the answer.
    let url = serve_once("200 OK", body);
    let out = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("group "))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["group audit", "synced, cannot move yet", "synced", "OK"],
            vec!["group billing", "synced, can move", "synced", "OK"],
        ]
    );
}
