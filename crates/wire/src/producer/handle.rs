//! The producer handle applications hold: routes records to partition workers and bounds the
//! memory of everything accepted but not yet acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::batch::RawBatch;
use super::identity::ProducerIdentity;
use super::message_limit::MessageLimits;
use super::partition_worker::{Input, PartitionWorker};
use super::record::{DeliveryFuture, ProducerRecord, RecordsDelivery};
use super::ProducerConfig;
use crate::client::{Client, Error, Result};
use crate::lock::lock;

/// Queued messages per partition worker; memory is bounded by the byte semaphore, this only
/// bounds the number of tiny messages.
const WORKER_QUEUE: usize = 4096;

struct Worker {
    input: mpsc::Sender<Input>,
    task: JoinHandle<()>,
}

/// An idempotent, batching producer (acks=all).
///
/// `send` returns once the record is accepted (waiting while the buffer is full: back-pressure)
/// and gives a [`DeliveryFuture`] that resolves to the record's offset once acknowledged.
pub struct Producer {
    client: Client,
    config: Arc<ProducerConfig>,
    identity: ProducerIdentity,
    memory: Arc<Semaphore>,
    workers: Mutex<HashMap<(String, i32), Worker>>,
    limits: MessageLimits,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("identity", &self.identity)
            .finish()
    }
}

impl Producer {
    /// Creates a producer on `client`, obtaining a producer id from the cluster.
    pub async fn new(client: Client, config: ProducerConfig) -> Result<Self> {
        config
            .validate()
            .map_err(|error| Error::Config(error.to_string()))?;
        let identity = ProducerIdentity::init(&client).await?;
        Ok(Producer {
            memory: Arc::new(Semaphore::new(config.buffer_bytes)),
            config: Arc::new(config),
            client,
            identity,
            workers: Mutex::new(HashMap::new()),
            limits: MessageLimits::default(),
        })
    }

    /// The producer id and epoch in use.
    pub fn identity(&self) -> ProducerIdentity {
        self.identity
    }

    /// Tells the producer `topic`'s `max.message.bytes`: batches built for it from then on stay
    /// within it, so that only a record too large on its own is refused (MESSAGE_TOO_LARGE).
    /// Pass-through batches are written as they are: check them with
    /// [`max_message_bytes`](Self::max_message_bytes) first.
    pub fn set_max_message_bytes(&self, topic: &str, max_message_bytes: usize) {
        self.limits.set(topic, max_message_bytes);
    }

    /// `topic`'s `max.message.bytes` as last set, if it was.
    pub fn max_message_bytes(&self, topic: &str) -> Option<usize> {
        self.limits.get(topic)
    }

    /// Queues `record` for `topic`-`partition`.
    pub async fn send(
        &self,
        topic: &str,
        partition: i32,
        record: ProducerRecord,
    ) -> Result<DeliveryFuture> {
        let permit = self.reserve(record.size_estimate()).await?;
        let (reply, receiver) = oneshot::channel();
        self.submit(
            topic,
            partition,
            Input::Record {
                record,
                permit,
                reply,
            },
        )
        .await?;
        Ok(DeliveryFuture { receiver })
    }

    /// Queues a group of records for `topic`-`partition`, in order, with one acknowledgement
    /// for the whole group: what a copier of many records wants, without a channel, a buffer
    /// reservation and a future per record. The group may span several produced batches.
    pub async fn send_all(
        &self,
        topic: &str,
        partition: i32,
        records: Vec<ProducerRecord>,
    ) -> Result<RecordsDelivery> {
        let size = records.iter().map(ProducerRecord::size_estimate).sum();
        let permit = self.reserve(size).await?;
        let (reply, receiver) = oneshot::channel();
        self.submit(
            topic,
            partition,
            Input::Records {
                records,
                permit,
                reply,
            },
        )
        .await?;
        Ok(RecordsDelivery { receiver })
    }

    /// Queues an already encoded v2 batch (pass-through): it is written as it is, except for
    /// base offset, producer id/epoch and sequence, which are ours (and the CRC, recomputed).
    /// The delivery resolves to the batch's base offset on the target.
    pub async fn send_raw(
        &self,
        topic: &str,
        partition: i32,
        batch: RawBatch,
    ) -> Result<DeliveryFuture> {
        let permit = self.reserve(batch.size()).await?;
        let (reply, receiver) = oneshot::channel();
        self.submit(
            topic,
            partition,
            Input::Raw {
                batch,
                permit,
                reply,
            },
        )
        .await?;
        Ok(DeliveryFuture { receiver })
    }

    /// Lifts the halt of `topic`-`partition` after a non-retriable error (a refused batch):
    /// records sent afterwards are numbered so the broker accepts them (see the partition
    /// worker's module comment), and no other partition is touched. A no-op when the partition
    /// is not halted. Fails (still halted) when a fresh producer id is needed and the cluster
    /// cannot give one. Returns the identity the partition's batches carry from now on: a
    /// caller that must know every producer id it writes with (loop prevention by producer id)
    /// learns a fresh one here, before anything is sent with it.
    pub async fn reset_partition(&self, topic: &str, partition: i32) -> Result<ProducerIdentity> {
        let (done, answer) = oneshot::channel();
        self.submit(topic, partition, Input::Reset(done)).await?;
        match answer.await {
            Ok(Ok(identity)) => Ok(identity),
            Ok(Err(e)) => Err((*e.0).clone()),
            Err(_) => Err(Error::Shutdown("producer")),
        }
    }

    async fn reserve(&self, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit> {
        // A record larger than the whole buffer still goes through, alone.
        let bytes = bytes.clamp(1, self.config.buffer_bytes) as u32;
        self.memory
            .clone()
            .acquire_many_owned(bytes)
            .await
            .map_err(|_| Error::Shutdown("producer"))
    }

    async fn submit(&self, topic: &str, partition: i32, input: Input) -> Result<()> {
        let sender = {
            let mut workers = lock(&self.workers);
            let key = (topic.to_string(), partition);
            let worker = workers.entry(key).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(WORKER_QUEUE);
                let worker = PartitionWorker::new(
                    topic.to_string(),
                    partition,
                    self.client.clone(),
                    self.config.clone(),
                    self.identity,
                    self.limits.cell(topic),
                );
                Worker {
                    input: tx,
                    task: tokio::spawn(worker.run(rx)),
                }
            });
            worker.input.clone()
        };
        sender
            .send(input)
            .await
            .map_err(|_| Error::Shutdown("producer"))
    }

    /// Sends everything accepted so far and waits until all of it is acknowledged or failed.
    pub async fn flush(&self) {
        let senders: Vec<_> = lock(&self.workers)
            .values()
            .map(|w| w.input.clone())
            .collect();
        let mut waits = Vec::new();
        for s in senders {
            let (tx, rx) = oneshot::channel();
            if s.send(Input::Flush(tx)).await.is_ok() {
                waits.push(rx);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }

    /// Flushes, then stops every partition worker.
    pub async fn close(self) {
        let workers: Vec<_> = lock(&self.workers).drain().map(|(_, w)| w).collect();
        let mut tasks = Vec::new();
        for w in workers {
            drop(w.input);
            tasks.push(w.task);
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}
