//! read_committed end to end against a real broker: Tansu as the source behind the Kafka-strict
//! layer, which answers read_committed Fetch as Apache Kafka does (aborted transactions listed,
//! data up to the last stable offset; Tansu alone lists none, docs/test-brokers.md). Real
//! transactions by librdkafka's transactional producer, committed and aborted, some spanning
//! several partitions, interleaved with plain records. The target (Tansu behind the layer) must
//! hold exactly the committed and plain records, byte for byte, in order, at exact offsets, in
//! every data mode.

use std::collections::BTreeMap;
use std::time::Duration;

use kreplicate_codec::Header;
use kreplicate_replicate::{is_provenance, Provenance, PROVENANCE_HEADER_KEY as HEADER_KEY};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, PyConsumedRecord, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;

const TOPIC: &str = "ledger";
const PARTITIONS: i32 = 3;

/// One round of the source's history: a transaction (id, commit?) or plain records, with
/// `count` records in each of `partitions`.
struct Round {
    txn: Option<(&'static str, bool)>,
    partitions: &'static [i32],
    count: usize,
}

const HISTORY: [Round; 8] = [
    Round {
        txn: Some(("a", true)),
        partitions: &[0, 1, 2],
        count: 4,
    },
    Round {
        txn: Some(("b", false)),
        partitions: &[0, 2],
        count: 3,
    },
    Round {
        txn: None,
        partitions: &[0, 1, 2],
        count: 2,
    },
    Round {
        txn: Some(("a", false)),
        partitions: &[1],
        count: 5,
    },
    Round {
        txn: Some(("c", true)),
        partitions: &[1, 2],
        count: 3,
    },
    Round {
        txn: None,
        partitions: &[0],
        count: 3,
    },
    Round {
        txn: Some(("b", false)),
        partitions: &[0, 1, 2],
        count: 2,
    },
    Round {
        txn: Some(("c", true)),
        partitions: &[0],
        count: 2,
    },
];

/// A source record and whether a read_committed copy must carry it.
struct Sent {
    offset: i64,
    record: PyRecord,
    kept: bool,
}

/// Records with null and empty keys and values, duplicate and null headers, fixed timestamps.
fn records(round: usize, partitions: &[i32], count: usize) -> Vec<PyRecord> {
    let mut out = Vec::new();
    for &partition in partitions {
        for i in 0..count {
            out.push(PyRecord {
                partition: Some(partition),
                key: match i % 4 {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(format!("r{round}-k{i}").into_bytes()),
                },
                value: match (round + i) % 5 {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(format!("r{round}-p{partition}-v{i}").into_bytes()),
                },
                headers: match i % 3 {
                    0 => vec![],
                    1 => vec![
                        ("dup".into(), Some(b"1".to_vec())),
                        ("dup".into(), Some(b"2".to_vec())),
                        ("nil".into(), None),
                    ],
                    _ => vec![("bin".into(), Some(vec![0, 1, 255]))],
                },
                timestamp_ms: Some(1_700_000_000_000 + (round * 100 + i) as i64),
            });
        }
    }
    out
}

/// Produces [`HISTORY`] into `bootstrap` and returns every record sent per partition, and each
/// partition's end (its next offset: a transaction's marker takes one offset after its data).
async fn produce_history(bootstrap: &str) -> (BTreeMap<i32, Vec<Sent>>, BTreeMap<i32, i64>) {
    let mut sent: BTreeMap<i32, Vec<Sent>> = BTreeMap::new();
    let mut end: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let run = std::process::id();
    for (round, r) in HISTORY.iter().enumerate() {
        let batch = records(round, r.partitions, r.count);
        let delivered = match r.txn {
            Some((id, commit)) => python::produce_transaction(
                bootstrap,
                TOPIC,
                &batch,
                &format!("{id}-{run}"),
                commit,
            )
            .await
            .unwrap(),
            None => python::produce(bootstrap, TOPIC, &batch, "none", &[])
                .await
                .unwrap(),
        };
        for (record, (partition, offset)) in batch.into_iter().zip(delivered) {
            let list = sent.entry(partition).or_default();
            // Offsets follow the model: each partition's records contiguous from its end.
            let want = end[&partition]
                + list
                    .iter()
                    .rev()
                    .take_while(|s| s.offset >= end[&partition])
                    .count() as i64;
            assert_eq!(offset, want, "round {round} partition {partition}");
            list.push(Sent {
                offset,
                record,
                kept: r.txn.is_none_or(|(_, commit)| commit),
            });
        }
        for &p in r.partitions {
            let marker = i64::from(r.txn.is_some());
            *end.get_mut(&p).unwrap() += r.count as i64 + marker;
        }
    }
    (sent, end)
}

fn config(source: &TansuBroker, target: &TansuBroker) -> ReplicatorConfig {
    let json = ReplicatorJson::new("read-committed-tansu", source, target, &[TOPIC]);
    CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap()
}

fn options(mode: DataMode) -> EngineOptions {
    EngineOptions {
        mode,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        resume_settle: Duration::from_millis(100),
        ..EngineOptions::default()
    }
}

fn provenance_offset(r: &PyConsumedRecord) -> Option<i64> {
    let value = r.headers.iter().find(|(k, _)| k == HEADER_KEY)?.1.clone()?;
    Provenance::find(&[Header::new(HEADER_KEY, Some(bytes::Bytes::from(value)))])
        .map(|p| p.unwrap().offset)
}

fn without_provenance(r: &PyConsumedRecord) -> Vec<(String, Option<Vec<u8>>)> {
    r.headers
        .iter()
        .filter(|(k, v)| !is_provenance(&Header::new(k.clone(), v.clone().map(bytes::Bytes::from))))
        .cloned()
        .collect()
}

/// Whether each copy names its source offset in a header. No wildcard: a new mode has to say.
fn carries_provenance(mode: DataMode) -> bool {
    match mode {
        DataMode::Header => true,
        DataMode::Batch => false,
    }
}

// One test per data mode; a new mode is one more test here and one more arm above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_mode_copies_no_aborted_record_from_tansu() {
    aborted_records_never_reach_the_target(DataMode::Header).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_mode_copies_no_aborted_record_from_tansu() {
    aborted_records_never_reach_the_target(DataMode::Batch).await;
}

async fn aborted_records_never_reach_the_target(mode: DataMode) {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), TOPIC, PARTITIONS, &[])
        .await
        .unwrap();
    let (sent, end) = produce_history(&source.addr()).await;
    let kept: BTreeMap<i32, Vec<&Sent>> = sent
        .iter()
        .map(|(p, list)| (*p, list.iter().filter(|s| s.kept).collect()))
        .collect();
    // Offsets (data and markers) per partition: 20, 20, 18; of them 11, 9, 9 records kept,
    // 5, 7, 5 aborted, 4, 4, 4 markers.
    assert_eq!(end.values().copied().collect::<Vec<_>>(), [20, 20, 18]);
    let counts = |m: &BTreeMap<i32, Vec<&Sent>>| m.values().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(counts(&kept), [11, 9, 9]);
    let aborted: Vec<usize> = sent
        .values()
        .map(|l| l.iter().filter(|s| !s.kept).count())
        .collect();
    assert_eq!(aborted, [5, 7, 5]);

    let config = config(&source, &target);
    let replicator = Replicator::start(config.clone(), options(mode))
        .await
        .unwrap();
    for (&partition, &end) in &end {
        let mut covered = false;
        for _ in 0..1200 {
            covered = replicator
                .offset_map(TOPIC, partition)
                .is_some_and(|m| m.source_end() >= end);
            if covered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            covered,
            "{mode:?}: partition {partition} never copied up to {end}"
        );
    }

    // Exactly the committed and plain records, per partition in order, byte for byte (read
    // back by librdkafka; lingering shows any extra record).
    let total: usize = kept.values().map(Vec::len).sum();
    let mut job = python::ConsumeJob::new(&target.addr(), TOPIC, total);
    job.isolation = Isolation::ReadUncommitted;
    job.linger = Duration::from_millis(500);
    let mut by_partition = job.run_by_partition().await.unwrap();
    {
        for (partition, want) in &kept {
            let got = by_partition.remove(partition).unwrap_or_default();
            let at = format!("{mode:?} partition {partition}");
            assert_eq!(got.len(), want.len(), "{at}");
            let map = replicator
                .offset_map(TOPIC, *partition)
                .expect("an offset map");
            assert_eq!(
                (map.source_end(), map.target_end()),
                (end[partition], want.len() as i64),
                "{at}"
            );
            for (i, (s, t)) in want.iter().zip(&got).enumerate() {
                let at = format!("{at} source offset {}", s.offset);
                assert_eq!(t.offset, i as i64, "{at}");
                assert_eq!((&t.key, &t.value), (&s.record.key, &s.record.value), "{at}");
                assert_eq!(Some(t.timestamp), s.record.timestamp_ms, "{at}");
                assert_eq!(without_provenance(t), s.record.headers, "{at}");
                assert_eq!(
                    map.source_to_target(s.offset).exact(),
                    Some(t.offset),
                    "{at}"
                );
                if carries_provenance(mode) {
                    assert_eq!(provenance_offset(t), Some(s.offset), "{at}");
                }
            }
        }
    }
    for (side, broker) in [("source", &source), ("target", &target)] {
        let refusals = broker.strict().unwrap().refusals();
        assert_eq!(refusals.total_refused(), 0, "{mode:?} {side}: {refusals:?}");
    }
    replicator.shutdown().await.unwrap();
    // Both modes: verify finds header-mode copies by their header, batch-mode copies by the
    // producer ids the replicator registered.
    let verdicts = kreplicate_replicate::verify_replicator(&config, "verify")
        .await
        .unwrap();
    assert_eq!(verdicts.len(), PARTITIONS as usize, "{mode:?}");
    for v in &verdicts {
        assert!(v.is_equal(), "{mode:?}: {v:?}");
    }
    assert_eq!(
        verdicts.iter().map(|v| v.source_records).sum::<u64>(),
        total as u64,
        "{mode:?}"
    );
}
