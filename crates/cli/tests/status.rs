//! `kreplicate status` against a tiny HTTP server serving a canned `/status` document.

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
        let mut request = String::new();
        let _ = reader.read_line(&mut request);
        let mut line = String::new();
        // Read the rest of the request head.
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        // Only `/status` is a status document, as on a replicator's metrics server.
        let (status, body) = if request.starts_with("GET /status ") {
            (status, body)
        } else {
            ("404 Not Found", format!("not found: {request}"))
        };
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    format!("http://{addr}/status")
}

/// Both clusters reachable, 2 partitions copying with lag 42 in all, latency 250 ms,
/// consumer lag 5, 3 groups.
const READY: &str = r#"{
  "clusters": [
    {"role": "source", "alias": "src", "reachable": true},
    {"role": "target", "alias": "dst", "reachable": true}
  ],
  "partitions": [
    {"topic": "orders", "partition": 0, "state": {"name": "copying"}, "lag": 12, "latency_ms": 250},
    {"topic": "orders", "partition": 1, "state": {"name": "copying"}, "lag": 30}
  ],
  "groups": [],
  "topics": 1,
  "replication_failures": 0,
  "offset_sync_failures": 0,
  "consumer_groups": 3,
  "consumer_lag": [
    {"cluster": "dst", "group": "billing", "topic": "orders", "partition": 0, "lag": 5}
  ]
}"#;

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

/// `--metrics-url` naming the Prometheus page (as before `/status` existed) reads
/// `/status` on the same server.
#[test]
fn a_metrics_url_reads_the_status_of_the_same_server() {
    let url = serve_once("200 OK", READY.to_owned()).replace("/status", "/metrics");
    let out = common::run(&["status", "--metrics-url", &url], T);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.lines().last(), Some("READY to migrate"));
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
    let url = format!("http://127.0.0.1:{port}/status");
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

    // Prometheus text, and JSON that is not a status.
    for foreign in ["# TYPE up gauge\nup 1\n", "{\"up\": 1}"] {
        let url = serve_once("200 OK", foreign.into());
        let out = common::run(&["status", "--metrics-url", &url], T);
        assert_eq!(out.code, Some(2));
        assert!(
            out.error_line().starts_with(&format!(
                "error: cannot read metrics: {url}: not a kreplicate /status document"
            )),
            "{}",
            out.stderr
        );
    }

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

const GROUPS: &str = r#""groups": [
    {"group": "billing", "synced": true, "movable": true, "offsets": []},
    {"group": "audit", "synced": true, "movable": false, "offsets": []}
  ],"#;

#[test]
fn group_answers_whether_it_can_move() {
    let body = READY.replace(r#""groups": [],"#, GROUPS);
    assert_ne!(body, READY);
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
