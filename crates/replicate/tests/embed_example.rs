//! `examples/embed.rs` against two real brokers: its builder-made replicator copies every
//! record exactly, and the `status()` it returns shows each partition copying at exact
//! positions before it shuts down.

use std::time::Duration;

use kreplicate_replicate::{Cluster, PartitionState};
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord, PyRecord};
use kreplicate_testkit::tansu::TansuBroker;

#[allow(dead_code)] // its `main` is the example binary's
#[path = "../examples/embed.rs"]
mod embed;

/// 3 partitions holding 7, 11 and 13 records, distinct content each.
const COUNTS: [usize; 3] = [7, 11, 13];

fn records() -> Vec<PyRecord> {
    let mut out = Vec::new();
    for (partition, n) in COUNTS.iter().enumerate() {
        for i in 0..*n {
            out.push(PyRecord {
                partition: Some(partition as i32),
                key: (i % 3 != 0).then(|| format!("k{partition}-{i}").into_bytes()),
                value: Some(format!("v{partition}-{i}-{}", "x".repeat(i)).into_bytes()),
                headers: vec![("h".into(), Some(vec![partition as u8, i as u8, 255]))],
                timestamp_ms: Some(1_700_000_000_000 + i as i64),
            });
        }
    }
    out
}

async fn consume(broker: &TansuBroker, n: usize) -> Vec<PyConsumedRecord> {
    let mut records = python::consume(
        &broker.addr(),
        "orders",
        Partitions::All,
        n,
        Isolation::ReadCommitted,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    records.sort_by_key(|r| (r.partition, r.offset));
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_example_copies_exactly_and_reports_exact_positions() {
    let source = TansuBroker::strict_memory().unwrap();
    let target = TansuBroker::strict_memory().unwrap();
    python::create_topic(&source.addr(), "orders", 3, &[])
        .await
        .unwrap();
    let produced = records();
    python::produce(&source.addr(), "orders", &produced, "none", &[])
        .await
        .unwrap();

    let status = embed::replicate(
        Cluster::new(source.cluster_id(), source.addr()),
        Cluster::new(target.cluster_id(), target.addr()),
    )
    .await
    .unwrap();

    // Each partition copying, every source record acknowledged at the same target offset
    // (a fresh target with IDENTICAL names), nothing left to copy.
    let total: usize = COUNTS.iter().sum();
    assert_eq!(status.partitions.len(), 3, "{status:#?}");
    for (partition, n) in COUNTS.iter().enumerate() {
        let p = status.partition("orders", partition as i32).unwrap();
        let n = *n as i64;
        assert_eq!(p.state, PartitionState::Copying, "{p:?}");
        assert_eq!(
            (p.source_offset, p.target_offset, p.source_end, p.lag),
            (Some(n), Some(n), Some(n), Some(0)),
            "{p:?}"
        );
    }
    assert_eq!(status.records_copied, total as u64);
    assert_eq!(status.replication_failures, 0);
    assert_eq!(status.topics, 1);
    let clusters: Vec<(String, bool)> = status
        .clusters
        .iter()
        .map(|c| (c.alias.clone(), c.reachable))
        .collect();
    assert_eq!(
        clusters,
        [
            (source.cluster_id().to_owned(), true),
            (target.cluster_id().to_owned(), true)
        ]
    );

    // Byte for byte: keys, values, headers, timestamps, partitions and offsets.
    let s = consume(&source, total).await;
    let t = consume(&target, total).await;
    assert_eq!(s.len(), total);
    assert_eq!(t.len(), total);
    for (s, t) in s.iter().zip(&t) {
        let at = format!("orders-{} offset {}", s.partition, s.offset);
        assert_eq!((t.partition, t.offset), (s.partition, s.offset), "{at}");
        assert_eq!(t.key, s.key, "{at}: key");
        assert_eq!(t.value, s.value, "{at}: value");
        assert_eq!(t.headers, s.headers, "{at}: headers");
        assert_eq!(t.timestamp, s.timestamp, "{at}: timestamp");
    }
}
