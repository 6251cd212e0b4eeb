//! read_committed Fetch through the layer ([`super::txn_index`]): real transactions produced by
//! confluent-kafka into Tansu, read back with raw Fetch requests and with our fetcher
//! (crates/wire). The confluent-kafka consumer's view is in `interop_tests.rs`.

use std::ops::ControlFlow;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{scan_partition, IsolationLevel};

use super::batch::RawBatch;
use super::*;
use crate::python::{self, PyRecord};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One produced record: offset, value, and whether read_committed must return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Produced {
    pub(super) offset: i64,
    pub(super) value: Vec<u8>,
    pub(super) kept: bool,
}

/// Into `topic`-`partition` (through `addr`): committed 3, aborted 2, plain 2, aborted 3,
/// committed 2, every transaction with one transactional id (so one producer id). Tansu's
/// layout: data 0-2, COMMIT 3, data 4-5, ABORT 6, plain 7-8, data 9-11, ABORT 12, data
/// 13-14, COMMIT 15; the log ends at 16.
pub(super) async fn interleave(addr: &str, topic: &str, partition: i32) -> Vec<Produced> {
    let id = format!("txn-{topic}-{partition}-{}", std::process::id());
    let mut out = Vec::new();
    for (tag, n, txn) in [
        ("c1", 3, Some(true)),
        ("a1", 2, Some(false)),
        ("p1", 2, None),
        ("a2", 3, Some(false)),
        ("c2", 2, Some(true)),
    ] {
        let records: Vec<PyRecord> = (0..n)
            .map(|i| PyRecord {
                partition: Some(partition),
                value: Some(format!("{tag}-{partition}-{i}").into_bytes()),
                ..PyRecord::default()
            })
            .collect();
        let delivered = match txn {
            Some(commit) => python::produce_transaction(addr, topic, &records, &id, commit)
                .await
                .unwrap(),
            None => python::produce(addr, topic, &records, "none", &[])
                .await
                .unwrap(),
        };
        for (r, (p, offset)) in records.into_iter().zip(delivered) {
            assert_eq!(p, partition);
            out.push(Produced {
                offset,
                value: r.value.unwrap(),
                kept: txn != Some(false),
            });
        }
    }
    let offsets: Vec<i64> = out.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, [0, 1, 2, 4, 5, 7, 8, 9, 10, 11, 13, 14]);
    out
}

fn fetch(topic: &str, partition: i32, offset: i64, isolation: i8) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

/// (high watermark, last stable offset, aborted (producer id, first offset), batch base offsets)
type Answer = (i64, i64, Option<Vec<(i64, i64)>>, Vec<i64>);

fn answer(response: &FetchResponse) -> Answer {
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let records = p.records.clone().unwrap_or_default();
    (
        p.high_watermark,
        p.last_stable_offset,
        p.aborted_transactions.as_ref().map(|a| {
            a.iter()
                .map(|t| (t.producer_id.0, t.first_offset))
                .collect()
        }),
        RawBatch::split(&records)
            .0
            .iter()
            .map(RawBatch::base_offset)
            .collect(),
    )
}

#[tokio::test]
async fn read_committed_fetch_lists_aborted_transactions_as_kafka_does() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "ledger", 1, &[]).await.unwrap();
    interleave(&addr, "ledger", 0).await;

    // Bare Tansu: the whole log, no aborted transaction listed.
    let raw =
        crate::tansu::raw::request(&broker.raw_addr(), 4, &fetch("ledger", 0, 0, 1), IO_TIMEOUT)
            .unwrap();
    let (hw, _, aborted, bases) = answer(&raw);
    assert_eq!(hw, 16);
    assert!(aborted.unwrap_or_default().is_empty());
    assert_eq!(bases, [0, 3, 4, 6, 7, 9, 12, 13, 15]);
    let records = raw.responses[0].partitions[0].records.clone().unwrap();
    let pid = RawBatch::split(&records).0[2].producer_id();
    assert!(pid >= 0);

    // v13+ names the topic by id (Metadata v10+ tells it).
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("ledger"))))]));
    let topic_id = crate::tansu::raw::request(&broker.raw_addr(), 12, &metadata, IO_TIMEOUT)
        .unwrap()
        .topics[0]
        .topic_id;
    // Through the layer, by name (v4) and by topic id (v13): TransactionIndex.collectAbortedTxns
    // for each fetch offset; the data and its batches are Tansu's, untouched.
    let cases = [
        (
            0,
            vec![(pid, 4), (pid, 9)],
            vec![0, 3, 4, 6, 7, 9, 12, 13, 15],
        ),
        // A fetch inside the first aborted transaction still lists it (last offset 6 >= 5).
        (5, vec![(pid, 4), (pid, 9)], vec![4, 6, 7, 9, 12, 13, 15]),
        // After its marker: only the second (last offset 12 >= 7).
        (7, vec![(pid, 9)], vec![7, 9, 12, 13, 15]),
        (13, vec![], vec![13, 15]),
    ];
    for version in [4, 13] {
        for (offset, want_aborted, want_bases) in &cases {
            let mut request = fetch("ledger", 0, *offset, 1);
            request.topics[0].topic_id = topic_id;
            let layer = crate::tansu::raw::request(&addr, version, &request, IO_TIMEOUT).unwrap();
            assert_eq!(
                answer(&layer),
                (16, 16, Some(want_aborted.clone()), want_bases.clone()),
                "v{version} from {offset}"
            );
        }
    }
    // read_uncommitted through the layer is Tansu's answer: no list.
    let layer =
        crate::tansu::raw::request(&addr, 4, &fetch("ledger", 0, 0, 0), IO_TIMEOUT).unwrap();
    assert_eq!(answer(&layer).2.unwrap_or_default(), vec![]);
}

#[tokio::test]
async fn our_read_committed_fetcher_skips_aborted_records_through_the_layer() {
    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "ledger", 2, &[]).await.unwrap();
    let client = Client::connect(ClientConfig::new([addr.clone()]))
        .await
        .unwrap();
    for partition in 0..2 {
        let produced = interleave(&addr, "ledger", partition).await;
        for (isolation, want) in [
            (
                IsolationLevel::ReadCommitted,
                produced
                    .iter()
                    .filter(|p| p.kept)
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            (IsolationLevel::ReadUncommitted, produced.clone()),
        ] {
            let mut got = Vec::new();
            let end = scan_partition(&client, "ledger", partition, 0, None, isolation, |r| {
                got.push(Produced {
                    offset: r.offset,
                    value: r.value.as_deref().unwrap().to_vec(),
                    kept: true,
                });
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
            let want: Vec<(i64, Vec<u8>)> = want.into_iter().map(|p| (p.offset, p.value)).collect();
            let got: Vec<(i64, Vec<u8>)> = got.into_iter().map(|p| (p.offset, p.value)).collect();
            assert_eq!(got, want, "{isolation:?} partition {partition}");
            assert_eq!(end, 16, "{isolation:?} partition {partition}");
        }
    }
    assert_eq!(broker.refusals().total_refused(), 0);
}

/// Raw request at `version` through `addr`.
fn call<R: kafka_protocol::protocol::Request>(
    addr: &str,
    version: i16,
    request: &R,
) -> R::Response {
    crate::tansu::raw::request(addr, version, request, IO_TIMEOUT).unwrap()
}

#[test]
fn an_open_transaction_holds_read_committed_back_at_its_first_offset() {
    use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    use kafka_protocol::messages::{AddPartitionsToTxnRequest, EndTxnRequest, TransactionalId};
    use kafka_protocol::records::Compression;

    use super::tests::{batch, create_raw, now_ms, outcome, produce, Ids, PLAIN};

    let broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    create_raw(&addr, "open", 1);
    let ts = now_ms();
    let plain = |n: i64| {
        let specs: Vec<_> = (0..n).map(|i| (i, None, &b"plain"[..], ts)).collect();
        batch(&specs, Compression::None, PLAIN)
    };
    assert_eq!(
        outcome(&produce(&addr, None, "open", &[(0, plain(2))])),
        [(0, 0, 0)]
    );

    let txn = TransactionalId(StrBytes::from_static_str("open-txn"));
    let init = super::tests::init_transactional(&addr, "open-txn");
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id, init.producer_epoch);
    let added = call(
        &addr,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn.clone())
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("open")))
                .with_partitions(vec![0])]),
    );
    let codes: Vec<i16> = added
        .results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| {
            t.results_by_partition
                .iter()
                .map(|p| p.partition_error_code)
        })
        .collect();
    assert_eq!(codes, [0]);
    let ids = Ids {
        producer_id: *pid,
        epoch,
        base_sequence: 0,
        transactional: true,
    };
    let data = batch(
        &[
            (0, None, b"t0", ts),
            (1, None, b"t1", ts),
            (2, None, b"t2", ts),
        ],
        Compression::None,
        ids,
    );
    let r = produce(&addr, Some("open-txn"), "open", &[(0, data)]);
    assert_eq!(outcome(&r), [(0, 0, 2)]);
    assert_eq!(
        outcome(&produce(&addr, None, "open", &[(0, plain(1))])),
        [(0, 0, 5)]
    );

    // Open: read_committed ends at the transaction's first offset (2); the plain record after
    // it waits too. read_uncommitted sees everything.
    let committed = |offset| answer(&call(&addr, 4, &fetch("open", 0, offset, 1)));
    let uncommitted = answer(&call(&addr, 4, &fetch("open", 0, 0, 0)));
    let bare = answer(&call(&broker.raw_addr(), 4, &fetch("open", 0, 0, 1)));
    // Tansu itself holds the data back at its last stable offset (the layer's cut agrees).
    assert_eq!(bare, (6, 2, Some(vec![]), vec![0]));
    assert_eq!(committed(0), (6, 2, Some(vec![]), vec![0]));
    assert_eq!(committed(2), (6, 2, Some(vec![]), vec![]));
    assert_eq!(uncommitted.3, [0, 2, 5]);

    let ended = call(
        &addr,
        3,
        &EndTxnRequest::default()
            .with_transactional_id(txn)
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(false),
    );
    assert_eq!(ended.error_code, 0);
    // Aborted: its ABORT marker is at 6; everything is stable, the transaction listed for any
    // fetch offset up to its marker.
    for offset in [0, 3, 6] {
        let (hw, lso, aborted, bases) = committed(offset);
        assert_eq!(
            (hw, lso, aborted),
            (7, 7, Some(vec![(*pid, 2)])),
            "from {offset}"
        );
        assert_eq!(bases.last(), Some(&6), "from {offset}");
    }
    assert_eq!(committed(7), (7, 7, Some(vec![]), vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_memory_broker_is_indexed_afresh() {
    let mut broker = StrictTansu::start().unwrap();
    let addr = broker.bootstrap();
    python::create_topic(&addr, "ledger", 1, &[]).await.unwrap();
    interleave(&addr, "ledger", 0).await;
    let committed = |addr: String| async move {
        let client = Client::connect(ClientConfig::new([addr])).await.unwrap();
        let mut got = Vec::new();
        scan_partition(
            &client,
            "ledger",
            0,
            0,
            None,
            IsolationLevel::ReadCommitted,
            |r| {
                got.push((r.offset, r.value.as_deref().unwrap().to_vec()));
                ControlFlow::Continue(())
            },
        )
        .await
        .unwrap();
        got
    };
    assert_eq!(committed(addr.clone()).await.len(), 7);
    let first_pid = |raw: &str| {
        let r = crate::tansu::raw::request(raw, 4, &fetch("ledger", 0, 0, 0), IO_TIMEOUT).unwrap();
        let records = r.responses[0].partitions[0].records.clone().unwrap();
        RawBatch::split(&records).0[0].producer_id()
    };
    let before = first_pid(&broker.raw_addr());

    // Memory storage: the log starts empty. One committed transaction of 6 records now sits
    // where the first aborted one was (4-5), under the same transactional id.
    tokio::task::block_in_place(|| broker.restart()).unwrap();
    python::create_topic(&addr, "ledger", 1, &[]).await.unwrap();
    let records: Vec<PyRecord> = (0..6)
        .map(|i| PyRecord {
            partition: Some(0),
            value: Some(format!("after-{i}").into_bytes()),
            ..PyRecord::default()
        })
        .collect();
    let id = format!("txn-ledger-0-{}", std::process::id());
    // Written around the layer: its producer state (ProducerStates) still holds the old
    // epochs of producer id 1, which Tansu hands out again from epoch 0.
    python::produce_transaction(&broker.raw_addr(), "ledger", &records, &id, true)
        .await
        .unwrap();
    // The restarted broker hands out the same producer id: an index kept from the old log
    // would hide offsets 4-5 of the new one.
    assert_eq!(first_pid(&broker.raw_addr()), before);
    let want: Vec<(i64, Vec<u8>)> = (0..6)
        .map(|i| (i, format!("after-{i}").into_bytes()))
        .collect();
    assert_eq!(committed(addr).await, want);
}
