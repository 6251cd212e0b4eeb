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
        "plan",
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
        "--provenance",
        "batch",
        "header",
        "--topic-refresh-interval",
        "--group-sync-interval",
        "--checkpoint-interval",
        "--no-progress",
    ] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
    // The deprecated `--mode` still parses but is not advertised.
    assert!(!text.contains("--mode"), "--mode shown in:\n{text}");
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

#[test]
fn run_without_arguments_shows_cli_input_json_first() {
    for command in ["run", "validate", "plan"] {
        let out = common::run(&[command], T);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        let line = out.error_line();
        assert!(
            line.starts_with(
                "error: no replicator configuration given: pass the whole CreateReplicator request"
            ),
            "{line}"
        );
        assert!(line.contains("with --cli-input-json FILE"), "{line}");
        let usage = out
            .stderr
            .lines()
            .find(|l| l.starts_with("Usage: "))
            .unwrap_or_else(|| panic!("no usage in {}", out.stderr));
        assert_eq!(
            usage,
            format!("Usage: kreplicate {command} --cli-input-json <FILE> [OPTIONS]")
        );
    }
    // --help shows the same usage.
    let text = help(&["run", "--help"]);
    assert!(
        text.contains("Usage: kreplicate run --cli-input-json <FILE> [OPTIONS]\n"),
        "{text}"
    );
}

#[test]
fn every_usage_error_exits_2_and_names_the_option() {
    for (args, names) in [
        (
            &[
                "run",
                "--metrics-addr",
                "garbage",
                "--cli-input-json",
                "x.json",
            ][..],
            "--metrics-addr",
        ),
        (
            &[
                "run",
                "--metrics-addr",
                "::1:9464",
                "--cli-input-json",
                "x.json",
            ],
            "--metrics-addr",
        ),
        (
            &[
                "run",
                "--metrics-addr",
                "127.0.0.1:99999",
                "--cli-input-json",
                "x.json",
            ],
            "--metrics-addr",
        ),
        (
            &["run", "--frobnicate", "--cli-input-json", "x.json"],
            "--frobnicate",
        ),
        (
            &["run", "--mode", "fast", "--cli-input-json", "x.json"],
            "--mode",
        ),
        (
            &[
                "run",
                "--provenance",
                "records",
                "--cli-input-json",
                "x.json",
            ],
            "--provenance",
        ),
        (
            &[
                "run",
                "--checkpoint-interval",
                "0s",
                "--cli-input-json",
                "x.json",
            ],
            "--checkpoint-interval",
        ),
        (
            &["status", "--expected-groups", "many"],
            "--expected-groups",
        ),
        (&["verify", "--frobnicate"], "--frobnicate"),
    ] {
        let out = common::run(args, T);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.error_line().contains(names), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
}

#[test]
fn a_negative_number_names_its_option() {
    let out = common::run(&["status", "--expected-groups", "-1"], T);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.error_line(),
        "error: --expected-groups: -1 is negative; give a number of 0 or more"
    );
}
