//! Checkpointing: the acknowledged position written to the target's checkpoint topic, at most
//! one on its way at a time, and counted as written only once acknowledged.

use futures::stream::StreamExt;
use kreplicate_wire::producer::{ProduceError, ProducerRecord};

use super::Copier;
use crate::checkpoint::{Checkpoint, CHECKPOINT_TOPIC};

impl Copier {
    /// Sends the acknowledged position as a checkpoint, unless the target already acknowledged
    /// it or one is on its way. It counts as written only once acknowledged
    /// ([`Self::checkpoint_done`]); a failed one is sent again at the next tick.
    pub(super) async fn checkpoint(&mut self) {
        if !self.checkpoint_delivery.is_empty() {
            return;
        }
        let cp = Checkpoint {
            source_next: self.acked,
            target_next: self.target_next,
        };
        if self.checkpointed == Some(cp) {
            return;
        }
        let producer = &self.s.producer;
        if std::mem::take(&mut self.checkpoint_reset) {
            if let Err(e) = producer.reset_partition(CHECKPOINT_TOPIC, 0).await {
                self.checkpoint_reset = true;
                self.checkpoint_failed(&e.to_string());
                return;
            }
        }
        let sent = producer
            .send(
                CHECKPOINT_TOPIC,
                0,
                ProducerRecord {
                    key: Some(self.s.checkpoint_key.encode()),
                    value: Some(cp.encode()),
                    ..ProducerRecord::default()
                },
            )
            .await;
        match sent {
            Ok(delivery) => self
                .checkpoint_delivery
                .push_back(Box::pin(async move { (cp, delivery.await.map(|_| ())) })),
            Err(e) => self.checkpoint_failed(&e.to_string()),
        }
    }

    pub(super) fn checkpoint_done(&mut self, cp: Checkpoint, result: Result<(), ProduceError>) {
        match result {
            Ok(()) => self.checkpointed = Some(cp),
            Err(e) => {
                // Whatever failed it (a refusal, the retry deadline), the producer halted the
                // checkpoint partition: lift the halt before the next one.
                self.checkpoint_reset = true;
                self.checkpoint_failed(&e.to_string());
            }
        }
    }

    pub(super) fn checkpoint_failed(&self, error: &str) {
        self.s.metrics.checkpoint_failures.inc();
        tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, %error,
            "writing the checkpoint of {}-{} failed; retrying at the next checkpoint",
            self.s.source_topic, self.s.partition);
    }

    /// Checkpoints the acknowledged position and waits for the answer (before exiting).
    pub(super) async fn checkpoint_and_wait(&mut self) {
        // One already on its way may be older than the position: answer it, then send again.
        for _ in 0..2 {
            if let Some((cp, result)) = self.checkpoint_delivery.next().await {
                self.checkpoint_done(cp, result);
            }
            self.checkpoint().await;
        }
        if let Some((cp, result)) = self.checkpoint_delivery.next().await {
            self.checkpoint_done(cp, result);
        }
    }
}
