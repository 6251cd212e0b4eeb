//! The broker-pair ceiling: the cheapest client that moves the same bytes a mirror moves.
//!
//! One fetch loop over all partitions (read_committed, the replicator's fetch settings; one
//! Fetch request per round, as Kafka consumers send), each fetched v2 batch wrapped as a
//! [`RawBatch`] and produced unchanged (the idempotent producer only restamps
//! offsets, producer fields and the CRC). No record is decoded, nothing is checkpointed, no
//! metrics are kept: what is left is the brokers' cost of serving the fetches and accepting the
//! produces, plus a minimum of client work. It runs until killed.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};
use kreplicate_wire::producer::{DeliveryFuture, Producer, ProducerConfig, RawBatch};
use tokio::sync::mpsc;

use crate::mirror_args::MirrorArgs;

/// Same as the replicator's default `max_unacked_bytes`.
const BUFFER_BYTES: usize = 128 * 1024 * 1024;
/// Consecutive failed fetches of one partition before the mirror gives up.
const FETCH_ATTEMPTS: u32 = 20;

/// Runs the ceiling mirror until killed (or until a partition fails).
pub fn run(args: MirrorArgs) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(mirror(args))
}

async fn mirror(args: MirrorArgs) -> Result<()> {
    let connect = |addr: &str| {
        let addr = addr.to_string();
        async move {
            let config = ClientConfig::from_bootstrap_string(&addr)
                .with_context(|| format!("bootstrap {addr}"))?;
            Client::connect(config)
                .await
                .with_context(|| format!("connecting to {addr}"))
        }
    };
    let source = connect(&args.source).await?;
    let target = connect(&args.target).await?;
    let producer = Producer::new(
        target,
        ProducerConfig {
            buffer_bytes: BUFFER_BYTES,
            ..ProducerConfig::default()
        },
    )
    .await
    .with_context(|| format!("producer on {}", args.target))?;
    let fetcher = Fetcher::new(
        source,
        FetchConfig {
            max_wait: Duration::from_millis(args.max_wait_ms),
            ..FetchConfig::default()
        },
    );

    // Acknowledgements are awaited in order beside the fetch loop; the producer's buffer bounds
    // how far the loop runs ahead of them.
    let (deliveries, mut acks) = mpsc::unbounded_channel::<(String, i32, i64, DeliveryFuture)>();
    let mut acker = tokio::spawn(async move {
        while let Some((topic, partition, offset, delivery)) = acks.recv().await {
            delivery.await.map_err(|e| {
                anyhow!("{topic}-{partition}: the batch at source offset {offset} failed: {e}")
            })?;
        }
        Ok::<(), anyhow::Error>(())
    });

    // One Fetch per round for every partition (per leader), as Kafka consumers do: a partition
    // with nothing new never holds the connection on its own.
    let mut positions: Vec<FetchPosition> = args
        .topics
        .iter()
        .flat_map(|topic| {
            (0..args.partitions).map(move |partition| FetchPosition {
                topic: topic.clone(),
                partition,
                offset: 0,
            })
        })
        .collect();
    let mut failures = vec![0u32; positions.len()];
    loop {
        let mut answered = false;
        let results = fetcher.fetch(&positions).await;
        for (position, result) in results {
            let Some(index) = positions.iter().position(|p| *p == position) else {
                bail!(
                    "{}-{}: a fetch result for a partition not asked for",
                    position.topic,
                    position.partition
                );
            };
            let (topic, partition, offset) = (&position.topic, position.partition, position.offset);
            let fetched = match result {
                Ok(fetched) => {
                    failures[index] = 0;
                    answered = true;
                    fetched
                }
                Err(e) => {
                    failures[index] += 1;
                    if failures[index] >= FETCH_ATTEMPTS {
                        bail!(
                            "{topic}-{partition}: fetch at offset {offset} failed {} times: {e}",
                            failures[index]
                        );
                    }
                    continue;
                }
            };
            let visible = fetched.visible_batches()?;
            for batch in &visible.batches {
                let Some(v2) = batch.as_v2() else {
                    bail!("{topic}-{partition}: legacy (v0/v1) batch at offset {offset}");
                };
                if v2.last_offset() < offset {
                    continue;
                }
                let raw = RawBatch::new(v2.clone())?;
                let delivery = producer.send_raw(topic, partition, raw).await?;
                if deliveries
                    .send((topic.clone(), partition, v2.base_offset(), delivery))
                    .is_err()
                {
                    break;
                }
            }
            positions[index].offset = visible.next_offset;
        }
        if acker.is_finished() {
            return match (&mut acker).await {
                Ok(Ok(())) => Err(anyhow!("acknowledgements ended")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow!("acknowledgement task: {e}")),
            };
        }
        if !answered {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
