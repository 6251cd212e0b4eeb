//! Latency under load: records produced to the source at a fixed rate, each stamped with its
//! CreateTime (ms), and read back from the target as soon as they are visible there. A record's
//! latency is the time it was read from the target minus its CreateTime, so it includes the
//! producer's linger (5 ms), the mirror, and the tail fetch's wait (at most 10 ms).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use kreplicate_codec::Compression;
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, Fetcher};

use super::cluster::Sender;
use kreplicate_benches::workload::Workload;

/// How long the tail keeps reading after the last record was sent.
const GRACE: Duration = Duration::from_secs(30);

/// What one latency phase measured.
#[derive(Debug, Clone)]
pub struct Latency {
    /// Records per second asked for.
    pub rate: f64,
    pub sent: u64,
    pub received: u64,
    pub p50_ms: i64,
    pub p99_ms: i64,
    pub max_ms: i64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Produces `rate` records/s to `topic` on the source for `duration` (record numbers from
/// `first_record` on) and measures when each appears in `topic` on the target, read from
/// `target_ends` (where the drain left each partition).
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    source: &Client,
    target: &Client,
    topic: &str,
    partitions: i32,
    target_ends: &[i64],
    first_record: u64,
    workload: &Workload,
    codec: Compression,
    rate: f64,
    duration: Duration,
) -> Result<Latency> {
    if !(rate.is_finite() && rate >= 1.0) {
        bail!("latency phase: rate {rate} records/s is not a usable rate");
    }
    let planned = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let tail = tokio::spawn(tail(
        target.clone(),
        topic.to_string(),
        target_ends.to_vec(),
        planned,
        duration + GRACE,
    ));

    let mut sender = Sender::new(source.clone(), topic, codec).await?;
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < planned {
        let due = ((started.elapsed().as_secs_f64() * rate) as u64).min(planned);
        while sent < due {
            sender
                .send(workload, first_record + sent, partitions, Some(now_ms()))
                .await?;
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sender.finish().await?;

    let mut latencies = tail.await.context("the tail task panicked")??;
    let received = latencies.len() as u64;
    if latencies.is_empty() {
        bail!("latency phase: none of the {sent} records reached the target within {GRACE:?}");
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(Latency {
        rate,
        sent,
        received,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

/// Reads every partition of `topic` from `from` until `expected` records arrived or
/// `deadline` passed; returns each record's latency in ms.
async fn tail(
    target: Client,
    topic: String,
    from: Vec<i64>,
    expected: u64,
    deadline: Duration,
) -> Result<Vec<i64>> {
    let fetcher = Fetcher::new(
        target,
        FetchConfig {
            max_wait: Duration::from_millis(10),
            ..FetchConfig::default()
        },
    );
    let mut positions: Vec<FetchPosition> = from
        .iter()
        .enumerate()
        .map(|(partition, &offset)| FetchPosition {
            topic: topic.clone(),
            partition: partition as i32,
            offset,
        })
        .collect();
    let mut latencies = Vec::with_capacity(expected as usize);
    let started = Instant::now();
    while (latencies.len() as u64) < expected && started.elapsed() < deadline {
        let mut answered = false;
        for (position, result) in fetcher.fetch(&positions).await {
            let Ok(fetched) = result else {
                // The mirror may not have created every partition yet: ask again.
                continue;
            };
            answered = true;
            let (records, next) = fetched.records().with_context(|| {
                format!(
                    "decoding {}-{} on the target",
                    position.topic, position.partition
                )
            })?;
            let received = now_ms();
            latencies.extend(records.iter().map(|r| received - r.timestamp));
            if let Some(p) = positions.get_mut(position.partition as usize) {
                p.offset = next;
            }
        }
        if !answered {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(latencies)
}
