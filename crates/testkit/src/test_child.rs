//! A test binary re-executed as a child process, so a test can SIGKILL or SIGTERM a real
//! process (a replicator, a worker) and start it again. The child is an `#[ignore]`d test of
//! the same binary that does nothing unless the parent passed its input in an environment
//! variable:
//!
//! ```no_run
//! # async fn start_and_run(_: String) {}
//! #[test]
//! #[ignore = "run only as the child process of the tests below"]
//! fn child() {
//!     let Some(input) = kreplicate_testkit::test_child::input("MY_CHILD_INPUT") else {
//!         return;
//!     };
//!     tokio::runtime::Runtime::new().unwrap().block_on(start_and_run(input));
//! }
//! // In the parent:
//! # fn parent(log: std::path::PathBuf) {
//! use kreplicate_testkit::test_child::TestChild;
//! let mut child = TestChild::spawn("child", &[("MY_CHILD_INPUT", "{}")], log);
//! child.kill();
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// In the child: the input the parent passed in `env`, with tracing (`info`, and `debug` for
/// kreplicate_replicate) installed on stderr, which the parent sends to the child's log file.
/// `None` when the variable is not set: the test was run by itself, not by a parent.
pub fn input(env: &str) -> Option<String> {
    let input = std::env::var(env).ok()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,kreplicate_replicate=debug")
        .with_writer(std::io::stderr)
        .try_init();
    Some(input)
}

/// In the child: returns once the process received SIGTERM (a graceful stop).
pub async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    term.recv().await;
}

/// A running child: this test binary running the test `test` only. Killed (by its pid) on drop
/// if still running, so a failed test leaves none behind.
pub struct TestChild {
    child: Child,
    log: PathBuf,
}

impl TestChild {
    /// Starts the test `test` of this binary with the environment `env`, its stderr (the
    /// child's logs) in the file `log` (kept for post-mortems), its stdout discarded.
    pub fn spawn(test: &str, env: &[(&str, &str)], log: PathBuf) -> Self {
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--ignored", "--exact", test, "--nocapture"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the child's log file"))
            .spawn()
            .expect("start the child");
        TestChild { child, log }
    }

    /// The child's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status if the child ended, `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("the child's status")
    }

    /// SIGKILL, then waits for the exit. Returns the exit status.
    pub fn kill(&mut self) -> ExitStatus {
        self.child.kill().expect("SIGKILL the child");
        self.child.wait().expect("the child's exit")
    }

    /// SIGTERM (a graceful stop), then waits (at most 60 s) for a successful exit; panics,
    /// naming the log, if the child fails or does not stop.
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.exited() {
                assert!(status.success(), "child exit {status}; log {:?}", self.log);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "child did not stop; log {:?}",
                self.log
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestChild {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
