//! read_committed end to end: aborted transactions never reach the target, committed ones do,
//! byte for byte, with exact offsets. Neither Tansu nor librdkafka's mock cluster lists aborted
//! transactions in Fetch (docs/test-brokers.md), so the source is the fake source cluster of
//! `faults_data.rs`, answering read_committed fetches as Kafka does: whole batches, with the
//! aborted transactions of the range in `AbortedTransactions` and COMMIT/ABORT markers in the
//! log. The target is Tansu behind the Kafka-strict layer.

#[allow(dead_code)] // this binary uses only the fake source's log, not its faults
mod faults_data_support;

use std::time::Duration;

use faults_data_support::fake_source::FakeSource;
use kreplicate_codec::Header;
use kreplicate_replicate::{is_provenance, Provenance, PROVENANCE_HEADER_KEY as HEADER_KEY};
use kreplicate_replicate::{CreateReplicatorRequest, ReplicatorConfig};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord};
use kreplicate_testkit::strict::StrictTansu;

const TOPIC: &str = "ledger";

fn config(source: &FakeSource, target: &StrictTansu) -> ReplicatorConfig {
    let mut json =
        ReplicatorJson::new("read-committed", target.broker(), target.broker(), &[TOPIC]);
    json.source_id = source.cluster_id().to_string();
    json.source_bootstrap = source.addr();
    json.target_bootstrap = target.bootstrap();
    let mut config = CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap();
    // The fake source serves no topic configs or ACLs.
    config.flags.copy_topic_configurations = false;
    config.flags.copy_topic_acls = false;
    config
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_never_reach_the_target() {
    let source = FakeSource::start("txn-source", TOPIC, 1);
    // committed, aborted, plain, aborted, committed; each transaction ends with its marker.
    let mut kept = Vec::new();
    let mut aborted = Vec::new();
    kept.extend(source.append_transaction(0, 4, 1001, true));
    aborted.extend(source.append_transaction(0, 3, 1002, false));
    kept.extend(source.append(0, 2));
    aborted.extend(source.append_transaction(0, 5, 1001, false));
    kept.extend(source.append_transaction(0, 3, 1003, true));
    let end = 4 + 1 + 3 + 1 + 2 + 5 + 1 + 3 + 1;
    assert_eq!(kept, [0, 1, 2, 3, 9, 10, 17, 18, 19]);
    assert_eq!(aborted, [5, 6, 7, 11, 12, 13, 14, 15]);

    for mode in [DataMode::Header, DataMode::Batch] {
        let target = StrictTansu::start().unwrap();
        let config = config(&source, &target);
        let replicator = Replicator::start(config.clone(), options(mode))
            .await
            .unwrap();
        let mut covered = false;
        for _ in 0..600 {
            covered = replicator
                .offset_map(TOPIC, 0)
                .is_some_and(|m| m.source_end() >= end);
            if covered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(covered, "{mode:?}: the offset map never reached {end}");

        // Exactly the committed and plain records, in order, byte for byte (librdkafka reads
        // the target; lingering shows any extra record).
        let mut job = python::ConsumeJob::new(&target.bootstrap(), TOPIC, kept.len());
        job.partitions = Partitions::Only(vec![0]);
        job.isolation = Isolation::ReadUncommitted;
        job.linger = Duration::from_millis(500);
        let mut got = job.run().await.unwrap();
        got.sort_by_key(|r| r.offset);
        assert_eq!(got.len(), kept.len(), "{mode:?}");
        let map = replicator.offset_map(TOPIC, 0).unwrap();
        assert_eq!(
            (map.source_end(), map.target_end()),
            (end, kept.len() as i64),
            "{mode:?}"
        );
        for (&offset, t) in kept.iter().zip(&got) {
            let want = FakeSource::expected(0, offset);
            let at = format!("{mode:?}: source offset {offset}");
            assert_eq!(t.key.as_deref(), Some(&want.key[..]), "{at}");
            assert_eq!(t.value.as_deref(), Some(&want.value[..]), "{at}");
            assert_eq!(t.timestamp, want.timestamp, "{at}");
            let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = t
                .headers
                .iter()
                .filter(|(k, v)| {
                    !is_provenance(&Header::new(k.clone(), v.clone().map(bytes::Bytes::from)))
                })
                .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
                .collect();
            let want_headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = want
                .headers
                .iter()
                .map(|h| (h.key.to_vec(), h.value.as_ref().map(|v| v.to_vec())))
                .collect();
            assert_eq!(headers, want_headers, "{at}");
            assert_eq!(map.source_to_target(offset).exact(), Some(t.offset), "{at}");
            if mode == DataMode::Header {
                assert_eq!(provenance_offset(t), Some(offset), "{at}");
            }
        }
        let refusals = target.refusals();
        assert_eq!(refusals.total_refused(), 0, "{mode:?}: {refusals:?}");
        replicator.shutdown().await.unwrap();
        let verdicts = kreplicate_replicate::verify_replicator(&config, "verify")
            .await
            .unwrap();
        assert_eq!(verdicts.len(), 1);
        assert!(verdicts[0].is_equal(), "{mode:?}: {:?}", verdicts[0]);
        assert_eq!(verdicts[0].source_records, kept.len() as u64);
    }
}
