//! librdkafka's mock cluster: a second Kafka broker implementation, independent of Tansu,
//! with several brokers, partition leaders that move on command and brokers that go down.
//!
//! It runs in `tests/interop/mock_cluster.py` (the C mock API of the librdkafka bundled in the
//! confluent-kafka wheel, through ctypes), one JSON command per stdin line, one JSON answer per
//! stdout line. The process is killed by pid on drop. What the mock supports and lacks is in
//! `docs/test-brokers.md`: no admin APIs (CreateTopics, DescribeConfigs, ListGroups, ...), and
//! read_committed Fetch returns aborted records (its AbortedTransactions list is always empty).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use kreplicate_testkit::mock_cluster::MockCluster;
//! let cluster = MockCluster::start(3).await?;
//! cluster.create_topic("orders", 2, 3).await?;
//! cluster.set_leader("orders", 0, 2).await?;
//! println!("bootstrap: {}", cluster.bootstrap());
//! # Ok(()) }
//! ```

use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::python::{records_json, scripts_dir, PyRecord};

/// Bound on one command: the script bounds its own produce calls by 30 s; the
/// rest covers python start-up and librdkafka's connection set-up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(45);

/// A running mock cluster of N brokers on 127.0.0.1, ids 1..=N.
pub struct MockCluster {
    bootstrap: String,
    cluster_id: String,
    brokers: Vec<i32>,
    pipes: Mutex<Pipes>,
    child: Child,
}

struct Pipes {
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

#[derive(Deserialize)]
struct Started {
    bootstrap: String,
    cluster_id: String,
    brokers: Vec<i32>,
}

#[derive(Deserialize)]
struct Produced {
    delivered: Vec<Option<(i32, i64)>>,
}

impl MockCluster {
    /// Starts a cluster of `brokers` brokers and waits until it answers Metadata.
    pub async fn start(brokers: i32) -> Result<Self> {
        let path = scripts_dir().join("mock_cluster.py");
        let mut child = Command::new("python3")
            .arg(&path)
            .arg("--brokers")
            .arg(brokers.to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting python3 {}", path.display()))?;
        let stdin = child.stdin.take().context("no stdin pipe")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?).lines();
        let mut pipes = Pipes { stdin, stdout };
        let started: Started = read_answer(&mut pipes.stdout)
            .await
            .context("mock_cluster.py did not start (is confluent-kafka installed? run `bash scripts/test-env.sh`)")?;
        Ok(Self {
            bootstrap: started.bootstrap,
            cluster_id: started.cluster_id,
            brokers: started.brokers,
            pipes: Mutex::new(pipes),
            child,
        })
    }

    /// Every broker's `host:port`, comma-separated.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The id the brokers report in Metadata ("mockCluster..." and a random suffix).
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Broker ids, 1..=N.
    pub fn brokers(&self) -> &[i32] {
        &self.brokers
    }

    /// Creates `topic` (the mock spreads the leaders over the brokers).
    pub async fn create_topic(&self, topic: &str, partitions: i32, replication: i32) -> Result<()> {
        self.command::<Value>(json!({
            "op": "create_topic", "topic": topic, "partitions": partitions,
            "replication": replication,
        }))
        .await
        .map(drop)
    }

    /// Makes `broker` the leader of `topic`-`partition`; the old leader answers
    /// NOT_LEADER_OR_FOLLOWER from now on.
    pub async fn set_leader(&self, topic: &str, partition: i32, broker: i32) -> Result<()> {
        self.command::<Value>(json!({
            "op": "set_leader", "topic": topic, "partition": partition, "broker": broker,
        }))
        .await
        .map(drop)
    }

    /// Closes `broker`'s connections and listener; it refuses connections until
    /// [`broker_up`](Self::broker_up). Leadership does not move by itself.
    pub async fn broker_down(&self, broker: i32) -> Result<()> {
        self.command::<Value>(json!({"op": "broker_down", "broker": broker}))
            .await
            .map(drop)
    }

    pub async fn broker_up(&self, broker: i32) -> Result<()> {
        self.command::<Value>(json!({"op": "broker_up", "broker": broker}))
            .await
            .map(drop)
    }

    /// Produces `records` (acks=all, idempotent as librdkafka defaults) and returns
    /// `(partition, offset)` of each, in order.
    pub async fn produce(&self, topic: &str, records: &[PyRecord]) -> Result<Vec<(i32, i64)>> {
        self.produce_job(topic, records, Value::Null).await
    }

    /// Produces `records` in one transaction of `transactional_id` and commits it (`commit`) or
    /// aborts it. An aborted transaction's records stay in the log, followed by an ABORT marker.
    pub async fn produce_transaction(
        &self,
        topic: &str,
        records: &[PyRecord],
        transactional_id: &str,
        commit: bool,
    ) -> Result<Vec<(i32, i64)>> {
        let transaction = json!({"id": transactional_id, "commit": commit});
        self.produce_job(topic, records, transaction).await
    }

    async fn produce_job(
        &self,
        topic: &str,
        records: &[PyRecord],
        transaction: Value,
    ) -> Result<Vec<(i32, i64)>> {
        let out: Produced = self
            .command(json!({
                "op": "produce", "topic": topic, "records": records_json(records),
                "transaction": transaction,
            }))
            .await?;
        if out.delivered.len() != records.len() {
            bail!(
                "{} deliveries reported for {} records to {topic}",
                out.delivered.len(),
                records.len()
            );
        }
        out.delivered
            .into_iter()
            .enumerate()
            .map(|(i, d)| d.ok_or_else(|| anyhow!("record {i} to {topic} has no delivery report")))
            .collect()
    }

    /// Sends one command and reads its answer; a command the mock refused is an error.
    async fn command<T: DeserializeOwned>(&self, command: Value) -> Result<T> {
        let mut pipes = self.pipes.lock().await;
        let mut line = serde_json::to_vec(&command)?;
        line.push(b'\n');
        pipes
            .stdin
            .write_all(&line)
            .await
            .with_context(|| format!("sending {command} to mock_cluster.py"))?;
        pipes.stdin.flush().await?;
        let answer: Value = read_answer(&mut pipes.stdout)
            .await
            .with_context(|| format!("mock_cluster.py on {command}"))?;
        if let Some(error) = answer.get("error") {
            bail!("mock cluster refused {command}: {error}");
        }
        serde_json::from_value(answer).context("mock_cluster.py answered an unexpected shape")
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        // Kills our own child by pid; tokio reaps it.
        let _ = self.child.start_kill();
    }
}

async fn read_answer<T: DeserializeOwned>(stdout: &mut Lines<BufReader<ChildStdout>>) -> Result<T> {
    let line = tokio::time::timeout(COMMAND_TIMEOUT, stdout.next_line())
        .await
        .map_err(|_| anyhow!("no answer within {COMMAND_TIMEOUT:?}"))?
        .context("reading its stdout")?
        .ok_or_else(|| anyhow!("it exited (see its stderr above)"))?;
    serde_json::from_str(&line).with_context(|| format!("not a JSON answer: {line:?}"))
}
