//! The librdkafka peer: what a MirrorMaker-style consume → produce loop costs with librdkafka
//! (Rust `rdkafka`, librdkafka built from the source vendored in `rdkafka-sys`).
//!
//! It does the replicator's job: read_committed from every partition of the given topics from
//! the beginning, each record produced to the same topic and partition with its key, value,
//! headers and CreateTime, idempotent, acks=all, with the given codec. Client settings that
//! shape batching match kreplicate's (linger 5 ms, 1 MiB batches, 128 MiB producer buffer);
//! the rest are librdkafka's defaults. It runs until killed or until a delivery fails.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::mirror_args::MirrorArgs;

/// Counts failed deliveries and keeps the first error's text (shared with the producer's
/// context, hence the `Arc`s).
#[derive(Clone, Default)]
struct DeliveryReport {
    failed: Arc<AtomicU64>,
    first: Arc<Mutex<Option<String>>>,
}

impl ClientContext for DeliveryReport {}

impl ProducerContext for DeliveryReport {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, message)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| {
                format!(
                    "{}-{}: delivery failed: {e}",
                    message.topic(),
                    message.partition()
                )
            });
        }
    }
}

/// Runs the peer mirror until killed.
pub fn run(args: MirrorArgs) -> Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.source)
        .set("group.id", "kreplicate-bench-peer")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", args.max_wait_ms.to_string())
        .create()
        .with_context(|| format!("librdkafka consumer on {}", args.source))?;
    let mut assignment = TopicPartitionList::new();
    for topic in &args.topics {
        for partition in 0..args.partitions {
            assignment
                .add_partition_offset(topic, partition, Offset::Beginning)
                .with_context(|| format!("assigning {topic}-{partition}"))?;
        }
    }
    consumer
        .assign(&assignment)
        .context("assigning partitions")?;

    let report = DeliveryReport::default();
    let producer: ThreadedProducer<DeliveryReport> = ClientConfig::new()
        .set("bootstrap.servers", &args.target)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", &args.compression)
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("queue.buffering.max.kbytes", "131072")
        .create_with_context(report.clone())
        .with_context(|| format!("librdkafka producer on {}", args.target))?;

    loop {
        if report.failed.load(Ordering::Relaxed) > 0 {
            let first = report.first.lock().unwrap_or_else(|e| e.into_inner());
            bail!(
                "{} deliveries failed; first: {}",
                report.failed.load(Ordering::Relaxed),
                first.as_deref().unwrap_or("(no message)")
            );
        }
        let message = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Err(e)) => bail!("consume from {}: {e}", args.source),
            Some(Ok(message)) => message,
        };
        let mut record =
            BaseRecord::<[u8], [u8]>::to(message.topic()).partition(message.partition());
        if let Some(timestamp) = message.timestamp().to_millis() {
            record = record.timestamp(timestamp);
        }
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(value) = message.payload() {
            record = record.payload(value);
        }
        if let Some(headers) = message.headers() {
            if headers.count() > 0 {
                record = record.headers(headers.detach());
            }
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The producer's buffer is full: wait for deliveries (back-pressure).
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => bail!(
                    "produce to {}-{}: {e}",
                    message.topic(),
                    message.partition()
                ),
            }
        }
    }
}
