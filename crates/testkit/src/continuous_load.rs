//! Continuous load on a source topic while a test kills, restarts or rebalances replicators:
//! record `i` is key `k{i}`, value `v{i:08}` (unique, so a copy's value names its source
//! record), timestamp 1 700 000 000 000 + i, to partition `i % partitions`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kreplicate_codec::Compression;
use kreplicate_wire::client::Client;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};
use tokio::task::JoinHandle;

/// The shape of the load.
#[derive(Debug, Clone)]
pub struct LoadShape {
    /// Records per round (spread over the partitions in turn); each round ends with a flush.
    pub records_per_round: usize,
    /// The pause after each round.
    pub pause: Duration,
    /// The producer's codec.
    pub compression: Compression,
    /// A bound: the load stops by itself after this many rounds if the test has not stopped
    /// it before.
    pub max_rounds: usize,
}

/// A running load (a tokio task); [`ContinuousLoad::stop`] ends it.
pub struct ContinuousLoad {
    producing: Arc<AtomicBool>,
    produced: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ContinuousLoad {
    /// Starts producing to `topic`'s partitions `0..partitions` through `client`. Panics (in
    /// the task, seen by [`ContinuousLoad::stop`]) on any produce error.
    pub fn start(client: Client, topic: &str, partitions: i32, shape: LoadShape) -> Self {
        let producing = Arc::new(AtomicBool::new(true));
        let produced = Arc::new(AtomicUsize::new(0));
        let task = {
            let (producing, produced) = (producing.clone(), produced.clone());
            let topic = topic.to_string();
            tokio::spawn(async move {
                let producer = Producer::new(
                    client,
                    ProducerConfig {
                        compression: shape.compression,
                        ..ProducerConfig::default()
                    },
                )
                .await
                .expect("the load's producer");
                let mut i = 0usize;
                for _ in 0..shape.max_rounds {
                    if !producing.load(Ordering::Relaxed) {
                        break;
                    }
                    for _ in 0..shape.records_per_round {
                        let record = ProducerRecord {
                            key: Some(Bytes::from(format!("k{i}"))),
                            value: Some(Bytes::from(format!("v{i:08}"))),
                            timestamp: Some(1_700_000_000_000 + i as i64),
                            ..ProducerRecord::default()
                        };
                        let partition = (i % partitions as usize) as i32;
                        drop(
                            producer
                                .send(&topic, partition, record)
                                .await
                                .expect("send"),
                        );
                        i += 1;
                    }
                    producer.flush().await;
                    produced.store(i, Ordering::Relaxed);
                    tokio::time::sleep(shape.pause).await;
                }
                producer.flush().await;
                produced.store(i, Ordering::Relaxed);
            })
        };
        ContinuousLoad {
            producing,
            produced,
            task,
        }
    }

    /// Stops the load, waits for its last records to be flushed and returns how many records
    /// it produced in all.
    pub async fn stop(self) -> usize {
        self.producing.store(false, Ordering::Relaxed);
        self.task.await.expect("the load task");
        self.produced.load(Ordering::Relaxed)
    }
}
