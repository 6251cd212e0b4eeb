//! Starting each mirror as its own child process, so its CPU time and peak RSS are its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};
use kreplicate_codec::Compression;
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::tansu::TansuBroker;

use super::args::{E2eArgs, MirrorKind, PeerKind};

/// The python peer, next to this crate's sources.
const PYTHON_PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peer/confluent_mirror.py");

/// Which librdkafka peer runs.
#[derive(Debug, Clone)]
enum Peer {
    /// This binary's `rdkafka-mirror` subcommand.
    #[cfg_attr(not(feature = "peer-rdkafka"), allow(dead_code))]
    Rdkafka,
    Python,
}

/// Knows how to start every mirror.
#[derive(Debug, Clone)]
pub struct Launcher {
    this_exe: PathBuf,
    kreplicate: Option<PathBuf>,
    peer: Peer,
    peer_label: String,
    codec: Compression,
    max_wait_ms: u64,
}

impl Launcher {
    /// Finds (or builds) what the selected mirrors need.
    pub fn new(args: &E2eArgs) -> Result<Self> {
        let this_exe = std::env::current_exe().context("locating the harness binary")?;
        let needs_kreplicate = args.mirrors.iter().any(|m| m.kreplicate_flags().is_some());
        let kreplicate = if needs_kreplicate {
            Some(kreplicate_bin(args.kreplicate_bin.as_deref(), &this_exe)?)
        } else {
            None
        };
        let (peer, peer_label) = choose_peer(args.peer)?;
        Ok(Launcher {
            this_exe,
            kreplicate,
            peer,
            peer_label,
            codec: args.target_compression,
            max_wait_ms: args.mirror_max_wait_ms,
        })
    }

    /// How the table names `kind`.
    pub fn label(&self, kind: MirrorKind) -> String {
        match kind {
            MirrorKind::Ceiling => "ceiling: raw fetch + produce, no replicator".into(),
            MirrorKind::Batch => "kreplicate batch provenance (--provenance batch)".into(),
            MirrorKind::Header => "kreplicate header mode (--provenance header)".into(),
            MirrorKind::Peer => format!("peer: {}", self.peer_label),
        }
    }

    /// Whether the harness must create the target topics first (kreplicate creates its own).
    pub fn needs_target_topics(kind: MirrorKind) -> bool {
        matches!(kind, MirrorKind::Ceiling | MirrorKind::Peer)
    }

    /// Starts `kind` copying `topics` from `source` to `target`; its files go in `dir`.
    pub fn start(
        &self,
        kind: MirrorKind,
        source: &TansuBroker,
        target: &TansuBroker,
        topics: &[&str],
        partitions: i32,
        dir: &Path,
    ) -> Result<RunningMirror> {
        let mirror_flags = || {
            vec![
                "--source".to_string(),
                source.addr(),
                "--target".to_string(),
                target.addr(),
                "--topics".to_string(),
                topics.join(","),
                "--partitions".to_string(),
                partitions.to_string(),
                "--compression".to_string(),
                self.codec.name().to_string(),
                "--max-wait-ms".to_string(),
                self.max_wait_ms.to_string(),
            ]
        };
        let mut command = match kind {
            MirrorKind::Ceiling => {
                let mut c = Command::new(&self.this_exe);
                c.arg("ceiling-mirror").args(mirror_flags());
                c
            }
            MirrorKind::Batch | MirrorKind::Header => {
                let (Some(bin), Some(flags)) = (&self.kreplicate, kind.kreplicate_flags()) else {
                    bail!("internal: the kreplicate binary was not located");
                };
                let json =
                    ReplicatorJson::new(&format!("bench-{}", kind.slug()), source, target, topics)
                        .compression(&self.codec.name().to_uppercase())
                        .json();
                let config = dir.join("replicator.json");
                std::fs::write(&config, json)
                    .with_context(|| format!("writing {}", config.display()))?;
                let mut c = Command::new(bin);
                c.arg("run")
                    .arg("--cli-input-json")
                    .arg(format!("file://{}", config.display()))
                    .args(["--metrics-addr", "127.0.0.1:0", "--no-progress"])
                    .args(flags);
                c
            }
            MirrorKind::Peer => match self.peer {
                Peer::Rdkafka => {
                    let mut c = Command::new(&self.this_exe);
                    c.arg("rdkafka-mirror").args(mirror_flags());
                    c
                }
                Peer::Python => {
                    let mut c = Command::new("python3");
                    c.arg(PYTHON_PEER).args(mirror_flags());
                    c
                }
            },
        };
        let stderr_path = dir.join("stderr");
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("creating {}", stderr_path.display()))?;
        let child = command
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting the {} mirror: {command:?}", kind.slug()))?;
        Ok(RunningMirror { child, stderr_path })
    }
}

/// A mirror process; killed when dropped.
pub struct RunningMirror {
    child: Child,
    stderr_path: PathBuf,
}

impl RunningMirror {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of its stderr if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self
            .child
            .try_wait()
            .context("polling the mirror process")?
        {
            bail!(
                "the mirror exited ({status}); stderr:\n{}",
                self.stderr_tail()
            );
        }
        Ok(())
    }

    /// The last lines of its stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Kills the process (SIGKILL: mirrors keep no state worth a clean stop here) and reaps it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunningMirror {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `--kreplicate-bin`, or `cargo build --release -p kreplicate` and the binary beside this
/// harness's release directory.
fn kreplicate_bin(given: Option<&Path>, this_exe: &Path) -> Result<PathBuf> {
    if let Some(path) = given {
        if !path.is_file() {
            bail!("--kreplicate-bin {}: no such file", path.display());
        }
        // The mirror runs in its own directory.
        return path
            .canonicalize()
            .with_context(|| format!("--kreplicate-bin {}", path.display()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    eprintln!("e2e: building kreplicate (cargo build --release -p kreplicate)");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "kreplicate",
            "--bin",
            "kreplicate",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    if !status.success() {
        bail!("cargo build --release -p kreplicate failed ({status})");
    }
    // <target>/release/kreplicate-benches or <target>/debug/kreplicate-benches.
    let profile_dir = this_exe
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("release"))
        .context("the harness binary has no parent directory")?;
    let bin = profile_dir.join("kreplicate");
    if !bin.is_file() {
        bail!(
            "built kreplicate but {} is not there; pass --kreplicate-bin",
            bin.display()
        );
    }
    Ok(bin)
}

fn choose_peer(kind: PeerKind) -> Result<(Peer, String)> {
    match kind {
        PeerKind::Rdkafka => rdkafka_peer(),
        PeerKind::Python => python_peer(),
        PeerKind::Auto => rdkafka_peer().or_else(|_| python_peer()),
    }
}

#[cfg(feature = "peer-rdkafka")]
fn rdkafka_peer() -> Result<(Peer, String)> {
    let (_, version) = rdkafka::util::get_rdkafka_version();
    Ok((
        Peer::Rdkafka,
        format!("librdkafka {version} (Rust rdkafka, consume → produce)"),
    ))
}

#[cfg(not(feature = "peer-rdkafka"))]
fn rdkafka_peer() -> Result<(Peer, String)> {
    bail!("--peer rdkafka needs the harness built with --features peer-rdkafka")
}

fn python_peer() -> Result<(Peer, String)> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import confluent_kafka as c; print(c.version(), c.libversion()[0])",
        ])
        .output()
        .context("running python3 to find confluent-kafka")?;
    if !out.status.success() {
        bail!(
            "the python peer needs confluent-kafka (bash scripts/test-env.sh installs it): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let (py, lib) = (words.next().unwrap_or("?"), words.next().unwrap_or("?"));
    Ok((
        Peer::Python,
        format!("librdkafka {lib} (python confluent-kafka {py}, consume → produce)"),
    ))
}
