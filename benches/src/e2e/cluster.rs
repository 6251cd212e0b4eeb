//! What the harness asks of a broker: create topics, produce the workload (idempotent, acks=all),
//! and read high watermarks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use kreplicate_codec::Compression;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{high_watermark, FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{DeliveryFuture, Producer, ProducerConfig};

use kreplicate_benches::workload::Workload;

/// Deliveries awaited at most this far behind the sends (bounds the harness's memory).
const DELIVERY_WINDOW: usize = 50_000;

/// Connects to a broker by its bootstrap address.
pub async fn connect(addr: &str) -> Result<Client> {
    let config =
        ClientConfig::from_bootstrap_string(addr).with_context(|| format!("bootstrap {addr}"))?;
    Client::connect(config)
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// Creates `topics` with `partitions` each; an existing topic is an error (every run starts
/// from empty brokers).
pub async fn create_topics(client: &Client, topics: &[&str], partitions: i32) -> Result<()> {
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(*t, partitions, 1))
        .collect();
    for (topic, outcome) in Admin::new(client.clone())
        .create_topics(&new, false)
        .await
        .context("CreateTopics")?
    {
        outcome.with_context(|| format!("creating topic {topic}"))?;
    }
    Ok(())
}

/// Sends records and awaits their acknowledgements, at most [`DELIVERY_WINDOW`] behind.
pub struct Sender {
    producer: Producer,
    pending: VecDeque<DeliveryFuture>,
    topic: String,
}

impl Sender {
    /// An idempotent producer (acks=all, linger 5 ms, 1 MiB batches) writing `codec` batches,
    /// one request in flight per partition: with more, a 1 M-record preload into Tansu 0.6 was
    /// answered OUT_OF_ORDER_SEQUENCE_NUMBER (see docs/benchmarks.md).
    pub async fn new(client: Client, topic: &str, codec: Compression) -> Result<Self> {
        let producer = Producer::new(
            client,
            ProducerConfig {
                compression: codec,
                max_in_flight_per_partition: 1,
                ..ProducerConfig::default()
            },
        )
        .await
        .context("creating the workload producer")?;
        Ok(Sender {
            producer,
            pending: VecDeque::new(),
            topic: topic.to_string(),
        })
    }

    /// Sends record `i` of `workload` to partition `i % partitions`.
    pub async fn send(
        &mut self,
        workload: &Workload,
        i: u64,
        partitions: i32,
        timestamp: Option<i64>,
    ) -> Result<()> {
        let partition = (i % partitions as u64) as i32;
        let delivery = self
            .producer
            .send(&self.topic, partition, workload.record(i, timestamp))
            .await
            .with_context(|| format!("sending record {i} to {}-{partition}", self.topic))?;
        self.pending.push_back(delivery);
        if self.pending.len() > DELIVERY_WINDOW {
            self.settle(DELIVERY_WINDOW / 2).await?;
        }
        Ok(())
    }

    /// Awaits acknowledgements until at most `keep` are outstanding.
    async fn settle(&mut self, keep: usize) -> Result<()> {
        while self.pending.len() > keep {
            if let Some(delivery) = self.pending.pop_front() {
                delivery
                    .await
                    .map_err(|e| anyhow!("producing to {}: {e}", self.topic))?;
            }
        }
        Ok(())
    }

    /// Awaits every acknowledgement, then stops the producer.
    pub async fn finish(mut self) -> Result<()> {
        self.settle(0).await?;
        self.producer.close().await;
        Ok(())
    }
}

/// Writes records `0..records` of `workload` round-robin over the partitions of `topic`.
/// Returns how long it took (until the last acknowledgement).
pub async fn preload(
    client: &Client,
    topic: &str,
    partitions: i32,
    workload: &Workload,
    records: u64,
    codec: Compression,
) -> Result<Duration> {
    let started = Instant::now();
    let mut sender = Sender::new(client.clone(), topic, codec).await?;
    for i in 0..records {
        sender.send(workload, i, partitions, None).await?;
    }
    sender.finish().await?;
    Ok(started.elapsed())
}

/// Each partition's high watermark, read the reliable (slow) way; for the source, once.
pub async fn high_watermarks(client: &Client, topic: &str, partitions: i32) -> Result<Vec<i64>> {
    let mut ends = Vec::with_capacity(partitions as usize);
    for partition in 0..partitions {
        ends.push(
            high_watermark(client, topic, partition)
                .await
                .with_context(|| format!("high watermark of {topic}-{partition}"))?,
        );
    }
    Ok(ends)
}

/// Reads high watermarks of many partitions in one Fetch request that transfers no records: it
/// asks at offsets at or past each partition's end, where Tansu answers with no data and the
/// high watermark (a real Kafka would answer OFFSET_OUT_OF_RANGE past the end; the harness only
/// runs against Tansu). Cheap enough to poll every few ms during a drain.
#[derive(Debug, Clone)]
pub struct EndProbe {
    fetcher: Fetcher,
}

impl EndProbe {
    pub fn new(client: Client) -> Self {
        EndProbe {
            fetcher: Fetcher::new(
                client,
                FetchConfig {
                    // Tansu leaves every partition out of a 0 ms fetch (docs/test-brokers.md).
                    max_wait: Duration::from_millis(10),
                    ..FetchConfig::default()
                },
            ),
        }
    }

    /// High watermarks of `topic`'s partitions `0..at.len()`, asked at offsets `at`. An error
    /// (e.g. the topic does not exist yet) is returned as is.
    pub async fn high_watermarks(&self, topic: &str, at: &[i64]) -> Result<Vec<i64>> {
        let positions: Vec<FetchPosition> = at
            .iter()
            .enumerate()
            .map(|(partition, &offset)| FetchPosition {
                topic: topic.to_string(),
                partition: partition as i32,
                offset,
            })
            .collect();
        let mut ends = vec![None; at.len()];
        for (position, result) in self.fetcher.fetch(&positions).await {
            let fetched = result
                .with_context(|| format!("probing {}-{}", position.topic, position.partition))?;
            if let Some(end) = ends.get_mut(position.partition as usize) {
                *end = Some(fetched.high_watermark);
            }
        }
        ends.into_iter()
            .enumerate()
            .map(|(p, end)| end.ok_or_else(|| anyhow!("no answer for {topic}-{p}")))
            .collect()
    }
}

/// Fails unless `got` equals `want` record for record (total).
pub fn check_total(what: &str, want: u64, got: &[i64]) -> Result<()> {
    let total: i64 = got.iter().sum();
    if total != want as i64 {
        bail!("{what}: expected {want} records, the high watermarks add up to {total} ({got:?})");
    }
    Ok(())
}
