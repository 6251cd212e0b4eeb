//! scripts/demo.sh end to end: under a custom CARGO_TARGET_DIR it finds the binaries, reaches
//! READY and copies live orders; a SIGINT to the script's own pid stops every process it
//! started, kreplicate with one signal, so its log ends with a clean `stopped`.
//!
//! CI builds from scratch, so the demo reuses this workspace's built binaries
//! (`DEMO_SKIP_BUILD=1` with the custom target dir holding links to them) instead of a release
//! build.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo installs nothing new when the test brokers are there, so READY comes in seconds;
/// the bound is for a busy CI box.
const READY_WITHIN: Duration = Duration::from_secs(90);
const STOP_WITHIN: Duration = Duration::from_secs(40);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The TLS + SASL front binary next to `kreplicate`, built if this test run did not build it
/// (a dev-dependency's binaries are not built for another package's tests).
fn front_binary() -> PathBuf {
    let kreplicate = Path::new(env!("CARGO_BIN_EXE_kreplicate"));
    let front = kreplicate.with_file_name("kreplicate-test-front");
    if !front.exists() {
        let profile = kreplicate.parent().and_then(|p| p.file_name()).unwrap();
        let mut build = Command::new(env!("CARGO"));
        build.current_dir(workspace()).args([
            "build",
            "-q",
            "-p",
            "kreplicate-testkit",
            "--bin",
            "kreplicate-test-front",
        ]);
        if profile == "release" {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building kreplicate-test-front failed");
    }
    assert!(front.exists(), "{} missing", front.display());
    front
}

/// The script, stopped with SIGTERM (its own cleanup) if the test fails before stopping it.
struct Demo {
    child: Child,
    out: PathBuf,
}

impl Demo {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + STOP_WITHIN;
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every process below `root` (children, their children, …), from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 2..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn demo_reaches_ready_under_a_custom_target_dir_and_stops_cleanly_on_sigint() {
    let tmp = tempfile::tempdir().unwrap();
    let target_dir = tmp.path().join("target");
    let release = target_dir.join("release");
    std::fs::create_dir_all(&release).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kreplicate"), release.join("kreplicate"))
        .unwrap();
    std::os::unix::fs::symlink(front_binary(), release.join("kreplicate-test-front")).unwrap();
    let run_dir = tmp.path().join("run");
    let out = tmp.path().join("demo.out");

    let child = Command::new("bash")
        .arg(workspace().join("scripts/demo.sh"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("DEMO_SKIP_BUILD", "1")
        .env("DEMO_DIR", &run_dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let mut demo = Demo { child, out };
    let script = demo.child.id();

    // Live orders copied means READY was reached and every helper runs.
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let text = demo.output();
        if text.contains("order 1000: copied to the target") {
            break;
        }
        if let Some(status) = demo.child.try_wait().unwrap() {
            panic!("demo exited early ({status}):\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "no live copy within {READY_WITHIN:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = demo.output();
    assert!(
        text.contains(&format!("using the binaries in {}", release.display())),
        "{text}"
    );
    assert!(
        text.contains("READY to migrate") && text.contains("demo: READY"),
        "{text}"
    );
    assert!(text.contains("read 1000 orders from the target"), "{text}");
    let kreplicate: u32 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("kreplicate pid ")?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .expect("the demo names kreplicate's pid");
    let children = descendants(script);
    assert!(children.contains(&kreplicate), "{children:?}");
    // Two brokers, the front, kreplicate and the live producer/consumer at least.
    assert!(children.len() >= 5, "{children:?}");

    let status = Command::new("kill")
        .args(["-INT", &script.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + STOP_WITHIN;
    let status = loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not stop within {STOP_WITHIN:?} of SIGINT:\n{}",
            demo.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130), "{}", demo.output());
    let still: Vec<u32> = children.into_iter().filter(|p| alive(*p)).collect();
    assert!(still.is_empty(), "still running after the demo: {still:?}");

    let log = std::fs::read_to_string(run_dir.join("kreplicate.log")).unwrap();
    let last = log
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(last.ends_with("replicator demo stopped"), "{log}");
    assert_eq!(log.matches("received: stopping").count(), 1, "{log}");
    assert!(!log.contains("received again"), "{log}");
    assert!(demo.output().contains("kreplicate: "), "{}", demo.output());
}
