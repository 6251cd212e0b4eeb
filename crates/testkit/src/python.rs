//! An independent Kafka peer: the confluent-kafka (librdkafka) scripts in `tests/interop/`,
//! driven with a JSON job on stdin and a JSON result on stdout.
//!
//! Tests use it to write records the product must read and to read records the product wrote,
//! so a bug shared by our producer and our fetcher cannot hide itself. Bytes travel as base64
//! and `None` stays distinct from empty.
//!
//! The functions are async (the python process runs on tokio) so a test can wait for records
//! while the replicator under test runs on the same runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Default bound on one produce or admin job, enforced by the script itself.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Extra time the Rust side allows on top of a script's own timeout before killing it
/// (python start-up, librdkafka shutdown).
const KILL_GRACE: Duration = Duration::from_secs(15);

/// One record to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PyRecord {
    /// `None`: librdkafka's partitioner picks.
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// In order; duplicate names and `None` values are kept.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// CreateTime in ms; `None`: the producer's clock.
    pub timestamp_ms: Option<i64>,
}

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyConsumedRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// librdkafka's codes: 0 not available, 1 CreateTime, 2 LogAppendTime.
    pub timestamp_type: i32,
    pub timestamp: i64,
}

/// Which partitions to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitions {
    /// Every partition in the topic's metadata.
    All,
    Only(Vec<i32>),
}

/// Consumer isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
}

impl Isolation {
    fn as_config(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read_uncommitted",
            Isolation::ReadCommitted => "read_committed",
        }
    }
}

/// Where a `list_offsets` lookup points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    Earliest,
    Latest,
}

/// Full control over a consume job; [`consume`] and [`consume_group`] cover the usual cases.
#[derive(Debug, Clone)]
pub struct ConsumeJob {
    pub bootstrap: String,
    pub topic: String,
    /// Ignored with a group (the group's assignment decides).
    pub partitions: Partitions,
    /// Stop once this many records arrived; fail if they do not within `timeout`.
    pub expected_count: usize,
    pub isolation: Isolation,
    pub timeout: Duration,
    /// Keep polling this long after `expected_count` arrived, so extra records show up in the
    /// result (and an exact-count assertion catches them).
    pub linger: Duration,
    /// Subscribe as this group instead of assigning partitions from the beginning.
    pub group_id: Option<String>,
    /// With a group: commit the consumed positions before closing.
    pub commit: bool,
    /// librdkafka properties overriding the defaults.
    pub extra_config: Vec<(String, String)>,
}

impl ConsumeJob {
    /// Reads `expected_count` records of every partition from the beginning, read_uncommitted,
    /// within 30 s, without a group.
    pub fn new(bootstrap: &str, topic: &str, expected_count: usize) -> Self {
        Self {
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            partitions: Partitions::All,
            expected_count,
            isolation: Isolation::ReadUncommitted,
            timeout: DEFAULT_TIMEOUT,
            linger: Duration::ZERO,
            group_id: None,
            commit: false,
            extra_config: Vec::new(),
        }
    }

    /// Runs the job.
    pub async fn run(&self) -> Result<Vec<PyConsumedRecord>> {
        let partitions = match &self.partitions {
            Partitions::All => Value::Null,
            Partitions::Only(list) => json!(list),
        };
        let group = self
            .group_id
            .as_ref()
            .map(|id| json!({"id": id, "commit": self.commit}));
        let job = json!({
            "bootstrap": self.bootstrap,
            "topic": self.topic,
            "expected": self.expected_count,
            "partitions": partitions,
            "isolation": self.isolation.as_config(),
            "timeout_s": self.timeout.as_secs_f64(),
            "linger_s": self.linger.as_secs_f64(),
            "group": group,
            "config": config_object(self.extra_config.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        });
        let out: ConsumeOut = run_script("consume.py", &job, self.timeout + self.linger).await?;
        out.records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.decode()
                    .with_context(|| format!("consumed record {i} of {}", self.topic))
            })
            .collect()
    }

    /// Runs the job and returns exactly `expected_count` records grouped by partition, each
    /// partition in offset order; more or fewer is an error (set `linger` to see extras).
    pub async fn run_by_partition(&self) -> Result<BTreeMap<i32, Vec<PyConsumedRecord>>> {
        let got = self.run().await?;
        if got.len() != self.expected_count {
            bail!(
                "{}: read {} records of {}, expected exactly {}",
                self.bootstrap,
                got.len(),
                self.topic,
                self.expected_count
            );
        }
        let mut by_partition: BTreeMap<i32, Vec<PyConsumedRecord>> = BTreeMap::new();
        for r in got {
            by_partition.entry(r.partition).or_default().push(r);
        }
        for records in by_partition.values_mut() {
            records.sort_by_key(|r| r.offset);
        }
        Ok(by_partition)
    }
}

/// Produces `records` to `topic` with codec `compression` ("none", "gzip", "snappy", "lz4",
/// "zstd") and returns `(partition, offset)` of each record, in order. `extra_config` overrides
/// librdkafka properties (defaults: `acks=all`, `linger.ms=5`).
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    records: &[PyRecord],
    compression: &str,
    extra_config: &[(&str, &str)],
) -> Result<Vec<(i32, i64)>> {
    produce_job(
        bootstrap,
        topic,
        records,
        compression,
        extra_config,
        Value::Null,
    )
    .await
}

/// Like [`produce`], but a refused record is reported with the Kafka error code librdkafka got
/// (`Err(code)`) instead of failing the job.
pub async fn produce_reporting(
    bootstrap: &str,
    topic: &str,
    records: &[PyRecord],
    compression: &str,
    extra_config: &[(&str, &str)],
) -> Result<Vec<std::result::Result<(i32, i64), i32>>> {
    let mut job = produce_job_json(
        bootstrap,
        topic,
        records,
        compression,
        extra_config,
        Value::Null,
    );
    job["report_errors"] = json!(true);
    let out: ProduceOut = run_script("produce.py", &job, DEFAULT_TIMEOUT).await?;
    if out.delivered.len() != records.len() || out.errors.len() != records.len() {
        bail!(
            "produce.py reported for {} of {} records",
            out.delivered.len(),
            records.len()
        );
    }
    out.delivered
        .into_iter()
        .zip(out.errors)
        .enumerate()
        .map(|(i, (delivered, code))| match (delivered, code) {
            (Some(d), None) => Ok(Ok(d)),
            (None, Some(code)) => Ok(Err(code)),
            other => Err(anyhow!("record {i} to {topic}: delivery report {other:?}")),
        })
        .collect()
}

/// Produces `records` to `topic` in one transaction with `transactional_id`, then commits it
/// (`commit`) or aborts it. Returns `(partition, offset)` of each record, in order.
pub async fn produce_transaction(
    bootstrap: &str,
    topic: &str,
    records: &[PyRecord],
    transactional_id: &str,
    commit: bool,
) -> Result<Vec<(i32, i64)>> {
    let transaction = json!({"id": transactional_id, "commit": commit});
    produce_job(bootstrap, topic, records, "none", &[], transaction).await
}

async fn produce_job(
    bootstrap: &str,
    topic: &str,
    records: &[PyRecord],
    compression: &str,
    extra_config: &[(&str, &str)],
    transaction: Value,
) -> Result<Vec<(i32, i64)>> {
    let job = produce_job_json(
        bootstrap,
        topic,
        records,
        compression,
        extra_config,
        transaction,
    );
    let out: ProduceOut = run_script("produce.py", &job, DEFAULT_TIMEOUT).await?;
    if out.delivered.len() != records.len() {
        bail!(
            "produce.py reported {} deliveries for {} records to {topic}",
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

fn produce_job_json(
    bootstrap: &str,
    topic: &str,
    records: &[PyRecord],
    compression: &str,
    extra_config: &[(&str, &str)],
    transaction: Value,
) -> Value {
    json!({
        "bootstrap": bootstrap,
        "topic": topic,
        "records": records_json(records),
        "compression": compression,
        "config": config_object(extra_config.iter().copied()),
        "timeout_s": DEFAULT_TIMEOUT.as_secs_f64(),
        "transaction": transaction,
    })
}

/// `records` as the peer scripts read them (bytes as base64, `None` as null).
pub(crate) fn records_json(records: &[PyRecord]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            json!({
                "partition": r.partition,
                "key": r.key.as_deref().map(|b| B64.encode(b)),
                "value": r.value.as_deref().map(|b| B64.encode(b)),
                "headers": r.headers.iter()
                    .map(|(k, v)| json!([k, v.as_deref().map(|b| B64.encode(b))]))
                    .collect::<Vec<_>>(),
                "timestamp": r.timestamp_ms,
            })
        })
        .collect()
}

/// Reads `expected_count` records from the beginning of `partitions` of `topic` without a group,
/// failing if they do not arrive within `timeout`. Records come in arrival order (per
/// partition in offset order). With [`Partitions::All`] it first waits, within `timeout`, for
/// the topic to exist (the replicator under test may create it later).
pub async fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: Partitions,
    expected_count: usize,
    isolation: Isolation,
    timeout: Duration,
) -> Result<Vec<PyConsumedRecord>> {
    let mut job = ConsumeJob::new(bootstrap, topic, expected_count);
    job.partitions = partitions;
    job.isolation = isolation;
    job.timeout = timeout;
    job.run().await
}

/// Subscribes to `topic` as a member of `group_id`, reads `expected_count` records (from the
/// committed offsets, else the beginning), commits the positions and leaves the group.
/// Use a group id unique to the test (Tansu can wedge a group; see `docs/test-brokers.md`).
pub async fn consume_group(
    bootstrap: &str,
    topic: &str,
    group_id: &str,
    expected_count: usize,
    timeout: Duration,
) -> Result<Vec<PyConsumedRecord>> {
    let mut job = ConsumeJob::new(bootstrap, topic, expected_count);
    job.group_id = Some(group_id.to_string());
    job.commit = true;
    job.timeout = timeout;
    job.run().await
}

/// Committed offsets of `group_id` as `(topic, partition, offset)`, sorted.
pub async fn group_offsets(bootstrap: &str, group_id: &str) -> Result<Vec<(String, i32, i64)>> {
    let out: OffsetsOut<(String, i32, i64)> =
        admin(bootstrap, "group_offsets", json!({"group": group_id})).await?;
    Ok(out.offsets)
}

/// Commits `offsets` (`(topic, partition, offset)`) for `group_id` through the admin API
/// (the group must have no active members).
pub async fn alter_group_offsets(
    bootstrap: &str,
    group_id: &str,
    offsets: &[(&str, i32, i64)],
) -> Result<()> {
    let _: Value = admin(
        bootstrap,
        "alter_group_offsets",
        json!({"group": group_id, "offsets": offsets}),
    )
    .await?;
    Ok(())
}

/// Earliest or latest offset of every partition of `topic` as `(partition, offset)`, sorted.
pub async fn list_offsets(
    bootstrap: &str,
    topic: &str,
    spec: OffsetSpec,
) -> Result<Vec<(i32, i64)>> {
    let spec = match spec {
        OffsetSpec::Earliest => "earliest",
        OffsetSpec::Latest => "latest",
    };
    let out: OffsetsOut<(i32, i64)> = admin(
        bootstrap,
        "list_offsets",
        json!({"topic": topic, "spec": spec}),
    )
    .await?;
    Ok(out.offsets)
}

/// The topic configs the broker describes (`None` for a value the broker hides).
pub async fn describe_topic_config(
    bootstrap: &str,
    topic: &str,
) -> Result<BTreeMap<String, Option<String>>> {
    #[derive(Deserialize)]
    struct Out {
        configs: BTreeMap<String, Option<String>>,
    }
    let out: Out = admin(bootstrap, "describe_configs", json!({"topic": topic})).await?;
    Ok(out.configs)
}

/// Creates `topic` with `partitions` partitions, replication factor 1 and `config`.
pub async fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    config: &[(&str, &str)],
) -> Result<()> {
    let _: Value = admin(
        bootstrap,
        "create_topic",
        json!({"topic": topic, "partitions": partitions, "topic_config": config_object(config.iter().copied())}),
    )
    .await?;
    Ok(())
}

/// Every topic in the cluster's metadata with its partition count.
pub async fn list_topics(bootstrap: &str) -> Result<BTreeMap<String, i32>> {
    #[derive(Deserialize)]
    struct Out {
        topics: BTreeMap<String, i32>,
    }
    let out: Out = admin(bootstrap, "list_topics", json!({})).await?;
    Ok(out.topics)
}

/// Ids of the consumer groups the cluster lists, sorted.
pub async fn list_groups(bootstrap: &str) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Out {
        groups: Vec<String>,
    }
    let out: Out = admin(bootstrap, "list_groups", json!({})).await?;
    Ok(out.groups)
}

async fn admin<T: DeserializeOwned>(bootstrap: &str, op: &str, fields: Value) -> Result<T> {
    let mut job = json!({
        "bootstrap": bootstrap,
        "op": op,
        "timeout_s": DEFAULT_TIMEOUT.as_secs_f64(),
    });
    if let (Some(job), Value::Object(fields)) = (job.as_object_mut(), fields) {
        job.extend(fields);
    }
    run_script("admin.py", &job, DEFAULT_TIMEOUT).await
}

/// Directory of the peer scripts.
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Runs `tests/interop/<script>` with `job` on stdin and parses its stdout. `timeout` is the
/// script's own bound; the process is killed if it overruns that by [`KILL_GRACE`].
async fn run_script<T: DeserializeOwned>(
    script: &str,
    job: &Value,
    timeout: Duration,
) -> Result<T> {
    let path = scripts_dir().join(script);
    let mut child = Command::new("python3")
        .arg(&path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting python3 {}", path.display()))?;
    let input = serde_json::to_vec(job)?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("no stdin pipe for {script}"))?;
    stdin
        .write_all(&input)
        .await
        .with_context(|| format!("writing the job to {script}"))?;
    drop(stdin);
    let output = tokio::time::timeout(timeout + KILL_GRACE, child.wait_with_output())
        .await
        .map_err(|_| {
            anyhow!(
                "{script} still running after {:?}; killed",
                timeout + KILL_GRACE
            )
        })?
        .with_context(|| format!("waiting for {script}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("{script} failed ({}): {}", output.status, stderr.trim());
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{script} printed no valid result: {:?} (stderr: {})",
            String::from_utf8_lossy(&output.stdout),
            stderr.trim()
        )
    })
}

fn config_object<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        pairs
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

#[derive(Deserialize)]
struct ProduceOut {
    delivered: Vec<Option<(i32, i64)>>,
    /// Kafka error code per record (only with `report_errors`; older replies lack it).
    #[serde(default)]
    errors: Vec<Option<i32>>,
}

#[derive(Deserialize)]
struct OffsetsOut<T> {
    offsets: Vec<T>,
}

#[derive(Deserialize)]
struct ConsumeOut {
    records: Vec<ConsumedJson>,
}

#[derive(Deserialize)]
struct ConsumedJson {
    partition: i32,
    offset: i64,
    key: Option<String>,
    value: Option<String>,
    headers: Vec<(String, Option<String>)>,
    timestamp_type: i32,
    timestamp: i64,
}

impl ConsumedJson {
    fn decode(self) -> Result<PyConsumedRecord> {
        let at = format!("partition {} offset {}", self.partition, self.offset);
        let headers = self
            .headers
            .into_iter()
            .map(|(k, v)| {
                let v = unbase64(v).with_context(|| format!("{at}: header {k}"))?;
                Ok((k, v))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PyConsumedRecord {
            partition: self.partition,
            offset: self.offset,
            key: unbase64(self.key).with_context(|| format!("{at}: key"))?,
            value: unbase64(self.value).with_context(|| format!("{at}: value"))?,
            headers,
            timestamp_type: self.timestamp_type,
            timestamp: self.timestamp,
        })
    }
}

fn unbase64(value: Option<String>) -> Result<Option<Vec<u8>>> {
    value
        .map(|s| B64.decode(s.as_bytes()).context("not base64"))
        .transpose()
}
