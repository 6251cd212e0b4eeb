//! `--help` of every command exits 0 and lists the command's options.

mod common;

use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn help(args: &[&str]) -> String {
    let out = common::run(args, T);
    assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
    out.stdout
}

#[test]
fn top_level_help_lists_the_commands() {
    let text = help(&["--help"]);
    for word in [
        "run",
        "validate",
        "cluster-id",
        "status",
        "--log-format",
        "--log-level",
    ] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}

#[test]
fn run_help_lists_its_options() {
    let text = help(&["run", "--help"]);
    for option in [
        "--cli-input-json",
        "--replicator-name",
        "--kafka-clusters",
        "--replication-info-list",
        "--metrics-addr",
        "127.0.0.1:9464",
        "--mode",
        "pass-through",
        "--topic-refresh-interval",
        "--group-sync-interval",
        "--checkpoint-interval",
        "--no-progress",
    ] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn validate_help_lists_its_options() {
    let text = help(&["validate", "--help"]);
    for option in ["--cli-input-json", "--kafka-clusters", "--connect"] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn cluster_id_help_lists_its_options() {
    let text = help(&["cluster-id", "--help"]);
    for option in ["--bootstrap-server", "--command-config", "--timeout"] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn status_help_lists_its_options() {
    let text = help(&["status", "--help"]);
    for option in [
        "--metrics-url",
        "--max-message-lag",
        "--max-latency",
        "--max-consumer-lag",
        "--expected-groups",
    ] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = common::run(&["run"], T);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--replicator-name"), "{}", out.stderr);
    let out = common::run(&["status", "--max-latency", "soon"], T);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--max-latency"), "{}", out.stderr);
    let out = common::run(&["frobnicate"], T);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}
