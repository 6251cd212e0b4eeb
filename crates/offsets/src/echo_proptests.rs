//! Property tests of echoes: two clusters' logs simulated record by record,
//! with records produced on both and copied both ways, against what a
//! reader has and has not read.

use proptest::prelude::*;

use crate::{OffsetMap, OffsetMaps, Run, TopicPartition, Translation};

fn tp() -> TopicPartition {
    TopicPartition::new("echo", 0)
}

/// One step of the simulation, in source (A) order.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// `target_own` records are produced on B, then an A record is
    /// produced and copied to B after them.
    Copy { target_own: i64 },
    /// The oldest B record not yet copied back reaches A; with none
    /// pending, a B record is produced and copied back at once.
    Echo,
    /// An A record that is not copied (aborted, control, filtered).
    Skipped,
    /// A compaction hole on A.
    Hole,
    /// Pruning this far past the current start.
    Prune(i64),
    /// Checkpoint; `Some(n)`: only the first `n` (mod len + 1) records are
    /// written; `None`: all written and acknowledged.
    Checkpoint(Option<usize>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Copy { target_own: 0 }),
        2 => (1i64..3).prop_map(|target_own| Step::Copy { target_own }),
        5 => Just(Step::Echo),
        1 => Just(Step::Skipped),
        1 => Just(Step::Hole),
        1 => (0i64..6).prop_map(Step::Prune),
        1 => Just(Step::Checkpoint(None)),
        1 => any::<usize>().prop_map(|n| Step::Checkpoint(Some(n))),
    ]
}

/// What the simulation knows: every record with a counterpart, as
/// `(A offset, B offset)`, copies and echoes alike.
#[derive(Debug, Default)]
struct Truth {
    pairs: Vec<(i64, i64)>,
    source_start: i64,
    source_end: i64,
}

impl Truth {
    /// Whether A and B order the pairs the same way.
    fn consistent(&self) -> bool {
        let mut by_target = self.pairs.clone();
        by_target.sort_by_key(|(_, b)| *b);
        let mut by_source = self.pairs.clone();
        by_source.sort_by_key(|(a, _)| *a);
        by_target == by_source
    }
}

type Log = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn simulate(
    target_start: i64,
    steps: &[Step],
    max_runs: usize,
) -> Result<(OffsetMap, Truth, Log), TestCaseError> {
    let mut map = OffsetMap::new(tp(), 0, target_start)
        .expect("valid anchors")
        .with_max_runs_per_chunk(max_runs);
    let mut truth = Truth::default();
    let mut log: Log = Vec::new();
    let (mut a, mut b) = (0i64, target_start);
    // B's own records not yet copied back to A, oldest first.
    let mut pending: std::collections::VecDeque<i64> = Default::default();
    for step in steps {
        match *step {
            Step::Copy { target_own } => {
                for _ in 0..target_own {
                    pending.push_back(b);
                    b += 1;
                }
                map.record(a, b).expect("in-order copy");
                truth.pairs.push((a, b));
                b += 1;
                a += 1;
            }
            Step::Echo => {
                let original = pending.pop_front().unwrap_or_else(|| {
                    b += 1;
                    b - 1
                });
                map.record_echo(a, original).expect("in-order echo");
                truth.pairs.push((a, original));
                a += 1;
            }
            Step::Skipped => {
                map.record_skipped(a).expect("in-order skip");
                a += 1;
            }
            Step::Hole => a += 1,
            Step::Prune(ahead) => {
                let cut = (map.source_start() + ahead).min(map.source_end());
                map.prune_before(cut);
                truth.pairs.retain(|(source, _)| *source >= cut);
                truth.source_start = map.source_start();
            }
            Step::Checkpoint(written) => {
                let checkpoint = map.checkpoint();
                let count = written.map_or(usize::MAX, |n| n % (checkpoint.records().len() + 1));
                log.extend(
                    checkpoint
                        .records()
                        .iter()
                        .take(count)
                        .map(|r| (r.key.clone(), r.value.clone())),
                );
                if written.is_none() {
                    prop_assert!(map.checkpoint_written(&checkpoint));
                }
            }
        }
    }
    truth.source_end = map.source_end();
    Ok((map, truth, log))
}

/// Merges runs that touch on both sides (they may be split at chunk
/// boundaries), for comparing with the simulation.
fn merged(runs: &[Run]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for run in runs {
        match out.last_mut() {
            Some(last) if last.source_end() == run.source && last.target_end() == run.target => {
                last.len += run.len
            }
            _ => out.push(*run),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_reader_moved_across_never_skips_an_unread_record(
        target_start in 0i64..5,
        steps in prop::collection::vec(step(), 0..120),
        max_runs in 1usize..5,
    ) {
        let (map, truth, _) = simulate(target_start, &steps, max_runs)?;
        let consistent = truth.consistent();
        for p in truth.source_start..=truth.source_end {
            let Translation::Exact(q) = map.source_to_target(p) else {
                return Err(TestCaseError::fail(format!("A position {p}: {:?}", map.source_to_target(p))));
            };
            // Every record unread on A is unread on B.
            for &(a, b) in &truth.pairs {
                if a >= p {
                    prop_assert!(b >= q, "A position {} → B {}: unread {}→{} skipped", p, q, a, b);
                }
            }
            // With the same order on both clusters: exactly the read set.
            if consistent {
                for &(a, b) in &truth.pairs {
                    prop_assert_eq!(a < p, b < q, "A position {} → B {}: pair {}→{}", p, q, a, b);
                }
            }
            // Nothing unread: past every record with a counterpart.
            if truth.pairs.iter().all(|(a, _)| *a < p) {
                prop_assert_eq!(q, map.target_end());
                prop_assert!(truth.pairs.iter().all(|(_, b)| *b < q));
            }
        }
        prop_assert_eq!(
            map.source_to_target(truth.source_end + 1),
            Translation::NotYetReplicated { copied_up_to: truth.source_end }
        );
        // And back: a B position never skips a record unread on B.
        for q in map.target_start()..=map.target_end() {
            if let Translation::Exact(p) = map.target_to_source(q) {
                for &(a, b) in &truth.pairs {
                    if b >= q {
                        prop_assert!(a >= p, "B position {} → A {}: unread {}→{} skipped", q, p, a, b);
                    }
                    if consistent {
                        prop_assert_eq!(b < q, a < p, "B position {} → A {}: pair {}→{}", q, p, a, b);
                    }
                }
            }
        }
    }

    #[test]
    fn echoes_survive_checkpoints_and_every_prefix_rebuilds(
        target_start in 0i64..5,
        steps in prop::collection::vec(step(), 0..120),
        max_runs in 1usize..5,
    ) {
        let (mut map, truth, mut log) = simulate(target_start, &steps, max_runs)?;
        let checkpoint = map.checkpoint();
        log.extend(checkpoint.records().iter().map(|r| (r.key.clone(), r.value.clone())));
        prop_assert!(map.checkpoint_written(&checkpoint));
        let rebuilt = OffsetMaps::rebuild_from(log.clone()).expect("full log rebuilds");
        prop_assert_eq!(rebuilt.get("echo", 0), Some(&map));
        for len in 0..log.len() {
            let prefix = OffsetMaps::rebuild_from(log[..len].iter().cloned());
            prop_assert!(prefix.is_ok(), "prefix of {} records: {:?}", len, prefix.err());
        }
        // The map holds exactly the simulated pairs, copies and echoes.
        let mut pairs: Vec<(i64, i64)> = merged(map.runs())
            .iter()
            .chain(merged(map.echoes()).iter())
            .flat_map(|run| (0..run.len).map(move |i| (run.source + i, run.target + i)))
            .collect();
        pairs.sort_unstable();
        let mut expected = truth.pairs.clone();
        expected.sort_unstable();
        prop_assert_eq!(pairs, expected);
    }
}
