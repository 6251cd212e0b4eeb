//! Helpers shared by the CLI tests: run the built binary with a deadline, capture its output,
//! write configurations, and talk HTTP to its metrics endpoint.
#![allow(dead_code)] // each test file uses a different subset

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `kreplicate` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kreplicate")
}

/// How a finished run ended.
#[derive(Debug)]
pub struct Output {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The single `error: ` line, after checking that stderr holds nothing that looks like a
    /// panic or a debug dump.
    pub fn error_line(&self) -> &str {
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{}", self.stderr);
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected one error line in: {}",
            self.stderr
        );
        errors[0]
    }
}

/// A running `kreplicate`, its output going to files (no pipe can fill up and block it).
pub struct Running {
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Running {
    /// Starts `kreplicate args…` in `cwd`.
    pub fn start(args: &[&str], cwd: &Path) -> Running {
        Running::start_with_env(args, cwd, &[])
    }

    /// Like [`Running::start`], with these variables set (`Some`) or removed (`None`) for the
    /// child only: the test process's own environment is never touched.
    pub fn start_with_env(args: &[&str], cwd: &Path, env: &[(&str, Option<&str>)]) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let stdout = File::create(dir.path().join("stdout")).unwrap();
        let stderr = File::create(dir.path().join("stderr")).unwrap();
        let mut command = Command::new(bin());
        command.env_remove("RUST_LOG");
        for (name, value) in env {
            match value {
                Some(v) => command.env(name, v),
                None => command.env_remove(name),
            };
        }
        let child = command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start kreplicate");
        Running {
            child: Some(child),
            dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// Sends `signal` (e.g. "TERM") with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the exit; kills the process and panics after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kreplicate did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        Output {
            code: status.code(),
            stdout: std::fs::read_to_string(self.dir.path().join("stdout")).unwrap(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `kreplicate args…` to completion (at most `timeout`) in the current directory.
pub fn run(args: &[&str], timeout: Duration) -> Output {
    Running::start(args, Path::new(".")).wait(timeout)
}

/// Runs in `cwd`.
pub fn run_in(cwd: &Path, args: &[&str], timeout: Duration) -> Output {
    Running::start(args, cwd).wait(timeout)
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// One KafkaClusters element for an unauthenticated plaintext cluster.
pub fn plain_cluster(id: &str, bootstrap: &str) -> String {
    format!(
        r#"{{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{id}", "BootstrapBrokerString": "{bootstrap}"}}}}"#
    )
}

/// A whole CreateReplicator request between two cluster entries (given as JSON), copying
/// topics matching `topics` with IDENTICAL names.
pub fn request(
    source: &str,
    source_id: &str,
    target: &str,
    target_id: &str,
    topics: &str,
) -> String {
    format!(
        r#"{{
  "ReplicatorName": "cli-test",
  "KafkaClusters": [{source}, {target}],
  "ReplicationInfoList": [{{
    "SourceKafkaClusterId": "{source_id}",
    "TargetKafkaClusterId": "{target_id}",
    "TargetCompressionType": "NONE",
    "TopicReplication": {{
      "TopicsToReplicate": [{topics}],
      "StartingPosition": {{"Type": "EARLIEST"}},
      "TopicNameConfiguration": {{"Type": "IDENTICAL"}}
    }},
    "ConsumerGroupReplication": {{"ConsumerGroupsToReplicate": [".*"]}}
  }}]
}}"#
    )
}

/// `GET path` over HTTP/1.0; `None` when nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Polls `GET path` until it answers `want` or `timeout` passes; returns the last answer.
pub fn wait_for_status(
    addr: &str,
    path: &str,
    want: u16,
    timeout: Duration,
) -> Option<(u16, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = http_get(addr, path);
        if answer.as_ref().is_some_and(|(s, _)| *s == want) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
