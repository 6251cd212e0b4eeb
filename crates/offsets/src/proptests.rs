//! Property tests: translation against a brute-force oracle built from the
//! full list of copies, pruning, persistence round trips (including crash
//! prefixes), and decoding of arbitrary bytes.

use proptest::prelude::*;

use crate::encoding::{decode_chunk, decode_key, encode_chunk, encode_key};
use crate::{OffsetMap, OffsetMaps, Run, TopicPartition, Translation};

fn tp() -> TopicPartition {
    TopicPartition::new("prop", 1)
}

/// What happened to one source offset.
#[derive(Debug, Clone, Copy)]
enum Offset {
    /// Copied, after `foreign_before` foreign records landed on the target.
    Copied { foreign_before: i64 },
    /// Fetched but not copied (aborted, control, loop-filtered).
    Skipped,
    /// Never fetched (compaction hole).
    Hole,
}

fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![
        6 => Just(Offset::Copied { foreign_before: 0 }),
        2 => (1i64..4).prop_map(|foreign_before| Offset::Copied { foreign_before }),
        2 => Just(Offset::Skipped),
        2 => Just(Offset::Hole),
    ]
}

#[derive(Debug, Clone)]
struct Stream {
    source_start: i64,
    target_start: i64,
    offsets: Vec<Offset>,
    /// `n > 0`: the data path declares the source known up to `n - 1` past
    /// the last offset (tail of a batch compacted away).
    trailing_skipped: i64,
    /// `n > 0`: `n` foreign records after the last copy, declared known.
    trailing_foreign: i64,
    max_runs: usize,
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        0i64..20,
        0i64..20,
        prop::collection::vec(offset(), 0..150),
        0i64..4,
        0i64..4,
        1usize..6,
    )
        .prop_map(
            |(
                source_start,
                target_start,
                offsets,
                trailing_skipped,
                trailing_foreign,
                max_runs,
            )| Stream {
                source_start,
                target_start,
                offsets,
                trailing_skipped,
                trailing_foreign,
                max_runs,
            },
        )
}

/// Brute-force model: every copy, and the known ranges.
#[derive(Debug)]
struct Oracle {
    copies: Vec<(i64, i64)>,
    source_start: i64,
    source_end: i64,
    target_start: i64,
    target_end: i64,
}

impl Oracle {
    fn forward(&self, position: i64) -> Translation {
        if position < self.source_start {
            return Translation::BeforeReplicationStart {
                start: self.source_start,
            };
        }
        if let Some(&(_, target)) = self.copies.iter().find(|(source, _)| *source >= position) {
            return Translation::Exact(target);
        }
        if position <= self.source_end {
            Translation::Exact(self.target_end)
        } else {
            Translation::NotYetReplicated {
                copied_up_to: self.source_end,
            }
        }
    }

    fn reverse(&self, position: i64) -> Translation {
        if position < self.target_start {
            return Translation::BeforeReplicationStart {
                start: self.target_start,
            };
        }
        if let Some(&(source, _)) = self.copies.iter().find(|(_, target)| *target >= position) {
            return Translation::Exact(source);
        }
        if position <= self.target_end {
            Translation::Exact(self.source_end)
        } else {
            Translation::NotYetReplicated {
                copied_up_to: self.target_end,
            }
        }
    }

    /// Maximal runs of copies consecutive on both sides.
    fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for &(source, target) in &self.copies {
            match runs.last_mut() {
                Some(run) if run.source_end() == source && run.target_end() == target => {
                    run.len += 1
                }
                _ => runs.push(Run {
                    source,
                    target,
                    len: 1,
                }),
            }
        }
        runs
    }
}

fn feed(stream: &Stream) -> (OffsetMap, Oracle) {
    let mut map = OffsetMap::new(tp(), stream.source_start, stream.target_start)
        .expect("valid anchors")
        .with_max_runs_per_chunk(stream.max_runs);
    let mut oracle = Oracle {
        copies: Vec::new(),
        source_start: stream.source_start,
        source_end: stream.source_start,
        target_start: stream.target_start,
        target_end: stream.target_start,
    };
    let (mut source, mut target) = (stream.source_start, stream.target_start);
    for offset in &stream.offsets {
        match *offset {
            Offset::Copied { foreign_before } => {
                target += foreign_before;
                map.record(source, target).expect("in-order copy");
                oracle.copies.push((source, target));
                target += 1;
                oracle.source_end = source + 1;
            }
            Offset::Skipped => {
                map.record_skipped(source).expect("in-order skip");
                oracle.source_end = source + 1;
            }
            Offset::Hole => {}
        }
        source += 1;
    }
    oracle.target_end = target;
    if stream.trailing_skipped > 0 {
        oracle.source_end = source + stream.trailing_skipped - 1;
        map.record_skipped_until(oracle.source_end)
            .expect("end not below known end");
    }
    if stream.trailing_foreign > 0 {
        oracle.target_end = target + stream.trailing_foreign;
        map.record_target_end(oracle.target_end).expect("valid end");
    }
    (map, oracle)
}

fn check_against_oracle(map: &OffsetMap, oracle: &Oracle) -> Result<(), TestCaseError> {
    for position in oracle.source_start - 2..=oracle.source_end + 2 {
        let got = map.source_to_target(position);
        prop_assert_eq!(
            got,
            oracle.forward(position),
            "source position {}",
            position
        );
        if let Translation::Exact(target_position) = got {
            // Nothing read is re-read, nothing unread is skipped.
            for &(source, target) in &oracle.copies {
                prop_assert_eq!(
                    source < position,
                    target < target_position,
                    "copy {}→{}",
                    source,
                    target
                );
            }
        }
    }
    for position in oracle.target_start - 2..=oracle.target_end + 2 {
        let got = map.target_to_source(position);
        prop_assert_eq!(
            got,
            oracle.reverse(position),
            "target position {}",
            position
        );
        if let Translation::Exact(source_position) = got {
            for &(source, target) in &oracle.copies {
                prop_assert_eq!(
                    target < position,
                    source < source_position,
                    "copy {}→{}",
                    source,
                    target
                );
            }
        }
    }
    Ok(())
}

/// What happens between offsets in the persistence test.
#[derive(Debug, Clone, Copy)]
enum Action {
    Offset(Offset),
    /// Checkpoint; `Some(n)`: the produce failed after `n` (mod len + 1)
    /// records; `None`: all written and acknowledged.
    Checkpoint(Option<usize>),
    /// Prune this far past the current source start.
    Prune(i64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        12 => offset().prop_map(Action::Offset),
        2 => Just(Action::Checkpoint(None)),
        1 => any::<usize>().prop_map(|n| Action::Checkpoint(Some(n))),
        1 => (0i64..20).prop_map(Action::Prune),
    ]
}

type Log = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn append(log: &mut Log, checkpoint: &crate::Checkpoint, count: usize) {
    log.extend(
        checkpoint
            .records()
            .iter()
            .take(count)
            .map(|r| (r.key.clone(), r.value.clone())),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn translation_matches_brute_force(stream in stream()) {
        let (map, oracle) = feed(&stream);
        check_against_oracle(&map, &oracle)?;
        let runs = oracle.runs();
        prop_assert_eq!(map.runs(), runs.as_slice());
        prop_assert_eq!((map.source_end(), map.target_end()), (oracle.source_end, oracle.target_end));
        for index in 0..map.chunk_count() {
            let chunk = map.chunk_at(index);
            prop_assert!(chunk.runs.len() <= stream.max_runs);
            let bytes = encode_chunk(&chunk);
            prop_assert_eq!(decode_chunk(&bytes), Ok(chunk));
        }
    }

    #[test]
    fn prune_keeps_translations_at_or_after_the_cut(stream in stream(), cut in 0i64..170) {
        let (before, mut oracle) = feed(&stream);
        let mut after = before.clone();
        let p = (stream.source_start + cut).min(before.source_end());
        prop_assert_eq!(after.prune_before(stream.source_start + cut), p > before.source_start());
        let expected_target_start = oracle
            .copies
            .iter()
            .rev()
            .find(|(source, _)| *source < p)
            .map_or(oracle.target_start, |(_, target)| target + 1);
        prop_assert_eq!((after.source_start(), after.target_start()), (p, expected_target_start));
        for position in oracle.source_start - 2..=oracle.source_end + 2 {
            let want = if position >= p {
                before.source_to_target(position)
            } else {
                Translation::BeforeReplicationStart { start: p }
            };
            prop_assert_eq!(after.source_to_target(position), want, "source position {}", position);
        }
        for position in oracle.target_start - 2..=oracle.target_end + 2 {
            let want = match before.target_to_source(position) {
                Translation::Exact(source) if source < p => {
                    Translation::BeforeReplicationStart { start: expected_target_start }
                }
                Translation::BeforeReplicationStart { .. } => {
                    Translation::BeforeReplicationStart { start: expected_target_start }
                }
                other => other,
            };
            prop_assert_eq!(after.target_to_source(position), want, "target position {}", position);
        }
        // The pruned map is the oracle of the copies at or after `p`.
        oracle.copies.retain(|(source, _)| *source >= p);
        oracle.source_start = p;
        oracle.target_start = expected_target_start;
        check_against_oracle(&after, &oracle)?;
    }

    #[test]
    fn persisted_log_rebuilds_the_map_and_every_prefix_rebuilds(
        source_start in 0i64..10,
        target_start in 0i64..10,
        actions in prop::collection::vec(action(), 0..120),
        max_runs in 1usize..4,
    ) {
        let mut map = OffsetMap::new(tp(), source_start, target_start)
            .expect("valid anchors")
            .with_max_runs_per_chunk(max_runs);
        let (mut source, mut target) = (source_start, target_start);
        let mut log: Log = Vec::new();
        for action in actions {
            match action {
                Action::Offset(Offset::Copied { foreign_before }) => {
                    target = target.max(map.target_end()) + foreign_before;
                    map.record(source, target).expect("in-order copy");
                    target += 1;
                }
                Action::Offset(Offset::Skipped) => map.record_skipped(source).expect("in-order skip"),
                Action::Offset(Offset::Hole) => {}
                Action::Checkpoint(None) => {
                    let checkpoint = map.checkpoint();
                    append(&mut log, &checkpoint, usize::MAX);
                    prop_assert!(map.checkpoint_written(&checkpoint));
                }
                Action::Checkpoint(Some(n)) => {
                    let checkpoint = map.checkpoint();
                    append(&mut log, &checkpoint, n % (checkpoint.records().len() + 1));
                }
                Action::Prune(ahead) => {
                    map.prune_before(map.source_start() + ahead);
                }
            }
            if let Action::Offset(_) = action {
                source += 1;
            }
        }
        let checkpoint = map.checkpoint();
        append(&mut log, &checkpoint, usize::MAX);
        prop_assert!(map.checkpoint_written(&checkpoint));
        prop_assert!(!map.has_unwritten_changes());

        let rebuilt = OffsetMaps::rebuild_from(log.clone()).expect("full log rebuilds");
        prop_assert_eq!(rebuilt.len(), 1);
        prop_assert_eq!(rebuilt.get("prop", 1), Some(&map));
        for len in 0..log.len() {
            let prefix = OffsetMaps::rebuild_from(log[..len].iter().cloned());
            prop_assert!(prefix.is_ok(), "prefix of {} records: {:?}", len, prefix.err());
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics_and_is_canonical(
        versioned in any::<bool>(),
        mut bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if versioned && !bytes.is_empty() {
            bytes[0] = 1;
        }
        if let Ok(chunk) = decode_chunk(&bytes) {
            prop_assert_eq!(encode_chunk(&chunk), bytes.clone());
        }
        if let Ok(key) = decode_key(&bytes) {
            prop_assert_eq!(encode_key(&key).expect("decoded keys encode"), bytes.clone());
        }
    }

    #[test]
    fn mutated_encodings_never_panic(stream in stream(), index in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let (mut map, _) = feed(&stream);
        let checkpoint = map.checkpoint();
        for record in checkpoint.records() {
            for original in [Some(&record.key), record.value.as_ref()].into_iter().flatten() {
                let mut flipped = original.clone();
                let at = index % flipped.len();
                flipped[at] ^= byte | 1;
                let truncated = &original[..cut % (original.len() + 1)];
                for candidate in [flipped.as_slice(), truncated] {
                    if let Ok(chunk) = decode_chunk(candidate) {
                        prop_assert_eq!(encode_chunk(&chunk), candidate.to_vec());
                    }
                    if let Ok(key) = decode_key(candidate) {
                        prop_assert_eq!(encode_key(&key).expect("decoded keys encode"), candidate.to_vec());
                    }
                }
            }
        }
    }

    #[test]
    fn rebuilding_from_arbitrary_records_never_panics(
        records in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..24), prop::option::of(prop::collection::vec(any::<u8>(), 0..24))),
            0..8,
        ),
        valid_keys in any::<bool>(),
    ) {
        let records: Log = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| {
                let key = if valid_keys {
                    crate::encoding::write_key(&tp(), (i % 3) as i64 * 5)
                } else {
                    key
                };
                let value = value.map(|mut v| {
                    if let Some(first) = v.first_mut() {
                        *first = 1;
                    }
                    v
                });
                (key, value)
            })
            .collect();
        let _ = OffsetMaps::rebuild_from(records);
    }
}
