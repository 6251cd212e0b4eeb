//! Byte accounting, metrics and the offset map: what an acknowledgement (or a skipped or echoed
//! offset) does to the partition's unacknowledged-bytes budget, its acknowledged position, its
//! counters and its source-to-target offset map, in source-offset order.

use futures::stream::StreamExt;
use kreplicate_offsets::OffsetMap;

use super::{lock, now_ms, Copier, CopierExit, DataPathError, Outcome, IN_FLIGHT_RECORD_COST};
use crate::refusal::{classify, Scope, WriteFailure};

impl Copier {
    /// Waits, handling acknowledgements, while this partition holds its share of unacknowledged
    /// bytes. Checking before each fetch is not enough: one fetch of compressed small records
    /// decodes to many times its size (a 1 MiB response of 75-byte LZ4 records put 237,000
    /// records in flight, 280 MiB resident for 4 partitions, `faults_data.rs`).
    pub(super) async fn wait_for_budget(&mut self) -> Result<(), CopierExit> {
        while self.unacked_bytes >= self.s.max_unacked_bytes {
            let Some(outcome) = self.pending.next().await else {
                break;
            };
            self.handle_outcome(outcome)?;
        }
        Ok(())
    }

    /// Marks source offsets up to `until` as passed without a copy (in order with copies).
    pub(super) fn skip(&mut self, until: i64, filtered: u64) {
        self.position = self.position.max(until);
        self.pending.push_back(Box::pin(
            async move { Outcome::Skipped { until, filtered } },
        ));
    }

    /// Marks a record that came from the target as an echo of `original` (in order with copies).
    pub(super) fn echo(&mut self, source_offset: i64, original: i64) {
        self.position = self.position.max(source_offset + 1);
        self.pending.push_back(Box::pin(async move {
            Outcome::Echo {
                source_offset,
                original,
            }
        }));
    }

    pub(super) fn handle_outcome(&mut self, outcome: Outcome) -> Result<(), CopierExit> {
        let m = &self.s.metrics;
        // Set for copied records: their source timestamp to acknowledgement.
        let mut latency = None;
        match outcome {
            Outcome::Copied {
                source_offsets,
                targets,
                bytes,
                timestamp,
            } => {
                let count = source_offsets.len();
                let (Some(&first_source), Some(&last_source)) =
                    (source_offsets.first(), source_offsets.last())
                else {
                    return Ok(());
                };
                let target_offsets: Vec<i64> = targets.offsets().collect();
                let (Some(&first_target), Some(&last_target)) =
                    (target_offsets.first(), target_offsets.last())
                else {
                    return Err(CopierExit::DataPathFailed(Box::new(
                        DataPathError::AckWithoutOffsets {
                            count,
                            topic: self.s.target_topic.clone(),
                            partition: self.s.partition,
                        },
                    )));
                };
                if target_offsets.len() != count {
                    return Err(CopierExit::DataPathFailed(Box::new(
                        DataPathError::AckOffsetCount {
                            count,
                            topic: self.s.target_topic.clone(),
                            partition: self.s.partition,
                            offsets: target_offsets.len(),
                        },
                    )));
                }
                if first_target < self.target_next {
                    return Err(self.target_went_back(first_source, first_target));
                }
                self.unacked_bytes -= bytes + count * IN_FLIGHT_RECORD_COST;
                self.acked = last_source + 1;
                self.target_next = last_target + 1;
                self.with_map(|m| {
                    source_offsets
                        .iter()
                        .zip(&target_offsets)
                        .try_for_each(|(&s, &t)| m.record(s, t))
                });
                m.replicated_records
                    .get_or_create(&self.topic_labels)
                    .inc_by(count as u64);
                m.replicated_bytes
                    .get_or_create(&self.topic_labels)
                    .inc_by(bytes as u64);
                latency = Some((now_ms() - timestamp).max(0));
            }
            Outcome::CopiedBatch {
                base_offset,
                last_offset,
                target_base,
                bytes,
                timestamp,
            } => {
                if target_base < self.target_next {
                    return Err(self.target_went_back(base_offset, target_base));
                }
                self.unacked_bytes -= bytes;
                self.acked = last_offset + 1;
                self.target_next = target_base + (last_offset - base_offset) + 1;
                self.with_map(|m| {
                    (0..=(last_offset - base_offset))
                        .try_for_each(|i| m.record(base_offset + i, target_base + i))
                });
                m.replicated_records
                    .get_or_create(&self.topic_labels)
                    .inc_by((last_offset - base_offset + 1) as u64);
                m.replicated_bytes
                    .get_or_create(&self.topic_labels)
                    .inc_by(bytes as u64);
                latency = Some((now_ms() - timestamp).max(0));
            }
            Outcome::Skipped { until, filtered } => {
                self.acked = self.acked.max(until);
                self.with_map(|m| m.record_skipped_until(until));
                if filtered > 0 {
                    m.filtered_records
                        .get_or_create(&self.topic_labels)
                        .inc_by(filtered);
                }
            }
            Outcome::Echo {
                source_offset,
                original,
            } => {
                self.acked = self.acked.max(source_offset + 1);
                self.with_map(|m| m.record_echo(source_offset, original));
                m.filtered_records.get_or_create(&self.topic_labels).inc();
            }
            Outcome::Failed {
                error,
                first,
                last,
                alone,
            } => {
                m.failures.get_or_create(&self.topic_labels).inc();
                return Err(match classify(&error.0, &self.s.target_topic) {
                    WriteFailure::DataPath(source) => {
                        CopierExit::DataPathFailed(Box::new(DataPathError::Write {
                            topic: self.s.target_topic.clone(),
                            partition: self.s.partition,
                            source,
                        }))
                    }
                    WriteFailure::Refused(refusal) => {
                        // A topic-wide refusal is not about any record: no use isolating one.
                        let isolated = alone || refusal.scope == Scope::Topic;
                        CopierExit::Refused {
                            offset: if alone { first } else { self.acked },
                            reached: last,
                            isolated,
                            refusal,
                        }
                    }
                });
            }
        }
        if let Some(latency) = latency {
            m.replication_latency_ms
                .get_or_create(&self.labels)
                .set(latency);
        }
        m.board.acked(
            &self.s.source_topic,
            self.s.partition,
            self.acked,
            self.target_next,
            latency,
        );
        Ok(())
    }

    /// A copy acknowledged below a target offset already acknowledged: the target partition
    /// lost records (its topic was deleted and recreated under us, or it was truncated). The
    /// copies it held are gone and cannot be put back before the ones now in it, so the
    /// partition halts, loudly, instead of carrying on as if nothing was lost. Nothing more is
    /// checkpointed: on restart `resume` sees the target behind the checkpoint.
    pub(super) fn target_went_back(&self, source_offset: i64, target_offset: i64) -> CopierExit {
        CopierExit::Halted {
            offset: source_offset,
            message: format!(
                "the target partition {}-{} went back: the copy of source offset {source_offset} \
                 was written at target offset {target_offset}, but target offsets up to {} were \
                 already acknowledged. The target topic was deleted (or truncated) while \
                 replicating, and the copies of source offsets up to {} it held are gone. To copy \
                 the partition again in full: stop the replicator, delete the target topic, start \
                 the replicator (see docs/guarantees.md)",
                self.s.target_topic,
                self.s.partition,
                self.target_next - 1,
                self.acked - 1,
            ),
        }
    }

    /// Applies an update to this partition's offset map. A map that refuses an update (it
    /// would break its ordering invariants) is dropped: translation then reports the partition
    /// as unknown rather than translating wrongly.
    pub(super) fn with_map(
        &self,
        update: impl FnOnce(&mut OffsetMap) -> Result<(), kreplicate_offsets::OffsetMapError>,
    ) {
        let mut maps = lock(&self.s.offset_maps);
        if let Some(map) = maps.get_mut(&self.s.source_topic, self.s.partition) {
            if let Err(e) = update(map) {
                tracing::warn!(topic = %self.s.source_topic, partition = self.s.partition, error = %e, "offset map dropped");
                maps.remove(&self.s.source_topic, self.s.partition);
            }
        }
    }
}
