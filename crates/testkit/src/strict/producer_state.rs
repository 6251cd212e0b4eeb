//! Idempotent producer state per partition, as ProducerStateManager / ProducerAppendInfo keep it:
//! the producer epoch and the last 5 appended batches (sequence range and offsets). Only what
//! the upstream accepted counts; a batch forwarded but not yet answered is "in flight" and the
//! next batch's sequence is checked against it, as Kafka appends them in order.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use kafka_protocol::ResponseError;

/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`.
const BATCHES_RETAINED: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMeta {
    epoch: i16,
    first_seq: i32,
    last_seq: i32,
    /// `None` while in flight.
    first_offset: Option<i64>,
    ticket: u64,
}

#[derive(Debug, Default)]
struct Entry {
    batches: VecDeque<BatchMeta>,
}

impl Entry {
    fn epoch(&self) -> Option<i16> {
        self.batches.back().map(|b| b.epoch)
    }
}

/// What the check says about one idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceCheck {
    /// Forward it; report the upstream's answer with this ticket.
    Append(u64),
    /// ProducerStateEntry.findDuplicateBatch: answer success with the original first offset.
    Duplicate(i64),
    Refused(ResponseError),
}

type Key = (String, i32, i64);

#[derive(Debug, Default)]
pub(crate) struct ProducerStates {
    inner: Mutex<(HashMap<Key, Entry>, u64)>,
}

impl ProducerStates {
    /// Checks a batch of `producer_id` for `topic`/`partition` and, if it is to be appended,
    /// records it as in flight.
    pub(crate) fn check(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        epoch: i16,
        first_seq: i32,
        last_seq: i32,
    ) -> SequenceCheck {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (entries, next_ticket) = &mut *guard;
        let entry = entries
            .entry((topic.to_string(), partition, producer_id))
            .or_default();
        // UnifiedLog.analyzeAndValidateProducerState: a duplicate of a retained batch first.
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.epoch == epoch && b.first_seq == first_seq && b.last_seq == last_seq)
        {
            if let Some(offset) = dup.first_offset {
                return SequenceCheck::Duplicate(offset);
            }
        }
        if let Some(current) = entry.epoch() {
            // ProducerAppendInfo.checkProducerEpoch: since 2.7 InvalidProducerEpochException
            // (not ProducerFenced) for client appends.
            if epoch < current {
                return SequenceCheck::Refused(ResponseError::InvalidProducerEpoch);
            }
            // ProducerAppendInfo.checkSequence.
            let in_order = if epoch != current {
                first_seq == 0
            } else {
                let last = entry.batches.back().map(|b| b.last_seq).unwrap_or(-1);
                i64::from(first_seq) == i64::from(last) + 1 || (first_seq == 0 && last == i32::MAX)
            };
            if !in_order {
                return SequenceCheck::Refused(ResponseError::OutOfOrderSequenceNumber);
            }
        }
        // No entry yet (NO_PRODUCER_EPOCH): any sequence is accepted.
        *next_ticket += 1;
        let ticket = *next_ticket;
        entry.batches.push_back(BatchMeta {
            epoch,
            first_seq,
            last_seq,
            first_offset: None,
            ticket,
        });
        SequenceCheck::Append(ticket)
    }

    /// The upstream's answer to an appended batch: accepted at `first_offset`, or not (`None`,
    /// then the batch is forgotten as if never sent).
    pub(crate) fn settle(&self, ticket: u64, first_offset: Option<i64>) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for entry in guard.0.values_mut() {
            if let Some(i) = entry.batches.iter().position(|b| b.ticket == ticket) {
                match first_offset {
                    Some(offset) => {
                        entry.batches[i].first_offset = Some(offset);
                        let settled = entry.batches.iter().filter(|b| b.first_offset.is_some());
                        if settled.count() > BATCHES_RETAINED {
                            if let Some(oldest) =
                                entry.batches.iter().position(|b| b.first_offset.is_some())
                            {
                                entry.batches.remove(oldest);
                            }
                        }
                    }
                    None => {
                        entry.batches.remove(i);
                    }
                }
                return;
            }
        }
    }

    /// Forgets every producer of `topic` (DeleteTopics).
    pub(crate) fn forget_topic(&self, topic: &str) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.retain(|(t, _, _), _| t != topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(s: &ProducerStates, epoch: i16, first: i32, last: i32) -> SequenceCheck {
        s.check("t", 0, 7, epoch, first, last)
    }

    #[test]
    fn sequences_epochs_and_duplicates_follow_producer_append_info() {
        let s = ProducerStates::default();
        let SequenceCheck::Append(t0) = append(&s, 0, 0, 9) else {
            panic!()
        };
        // In flight: the next batch is checked against it.
        let SequenceCheck::Append(t1) = append(&s, 0, 10, 14) else {
            panic!()
        };
        s.settle(t0, Some(0));
        s.settle(t1, Some(10));
        assert_eq!(
            append(&s, 0, 20, 21),
            SequenceCheck::Refused(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(append(&s, 0, 10, 14), SequenceCheck::Duplicate(10));
        // A new epoch must start at 0; an older one is refused.
        assert_eq!(
            append(&s, 1, 15, 15),
            SequenceCheck::Refused(ResponseError::OutOfOrderSequenceNumber)
        );
        let SequenceCheck::Append(t2) = append(&s, 1, 0, 0) else {
            panic!()
        };
        s.settle(t2, Some(15));
        assert_eq!(
            append(&s, 0, 15, 15),
            SequenceCheck::Refused(ResponseError::InvalidProducerEpoch)
        );
        // A refused upstream append is forgotten.
        let SequenceCheck::Append(t3) = append(&s, 1, 1, 1) else {
            panic!()
        };
        s.settle(t3, None);
        assert!(matches!(append(&s, 1, 1, 1), SequenceCheck::Append(_)));
    }
}
