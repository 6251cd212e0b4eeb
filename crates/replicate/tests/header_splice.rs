//! Header mode splices whole source batches (`copier/header_splice.rs`): each becomes one
//! target batch of TargetCompressionType holding the same records, each with the provenance
//! header appended, without decoding them into owned values. What cannot be spliced takes the
//! per-record path: a compacted batch (holes in its offsets) and records that already carry a
//! provenance header (their origin is carried on). Checked against real brokers, record by
//! record with an independent reader (librdkafka), through Apache Kafka's produce rules (the
//! strict layer), with the offset map exact for every source offset.

mod batches_support;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use kreplicate_codec::{Compression, Header, RecordBatchBuilder};
use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::{ClusterFingerprint, Provenance, PROVENANCE_HEADER_KEY as HEADER_KEY};
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyConsumedRecord};
use kreplicate_testkit::strict::{Rule, StrictTansu};
use kreplicate_testkit::tansu::{raw, TansuBroker};

const TOPIC: &str = "spliced";
const TIMEOUT: Duration = Duration::from_secs(10);
/// The cluster the records with a provenance header say they come from.
const ELSEWHERE: ClusterFingerprint = ClusterFingerprint(0x00e1_5e00);

/// Produces one record set as is to partition 0 and returns its base offset.
async fn produce_raw(broker: &TansuBroker, records: Bytes) -> i64 {
    let addr = broker.addr();
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response = tokio::task::spawn_blocking(move || raw::request(&addr, 3, &request, TIMEOUT))
        .await
        .unwrap()
        .unwrap();
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(
        ResponseError::try_from_code(partition.error_code),
        None,
        "{partition:?}"
    );
    partition.base_offset
}

/// A batch of records at `deltas`, each with two headers (a duplicate key, a null value), plus
/// a provenance header from `ELSEWHERE` when `foreign`.
fn batch(tag: &str, deltas: &[i32], codec: Compression, foreign: bool) -> Bytes {
    let mut b = RecordBatchBuilder::new(codec);
    for &d in deltas {
        let mut headers = vec![
            Header::new("h", Some(Bytes::from(format!("{tag}{d}")))),
            Header::new("h", None),
        ];
        if foreign {
            let p = Provenance {
                origin: ELSEWHERE,
                source: ELSEWHERE,
                partition: 3,
                offset: 1000 + i64::from(d),
            };
            headers.push(p.header());
        }
        let key = format!("{tag}-k{d}");
        let value = format!("{tag}-v{d}-{}", "x".repeat(d as usize * 37 % 300));
        // Null keys in some records, timestamps out of order.
        let key = (d % 4 != 1).then_some(key.as_bytes());
        b.push_at(
            d,
            1_700_000_000_000 + i64::from((d * 7919) % 100),
            key,
            Some(value.as_bytes()),
            &headers,
        )
        .unwrap();
    }
    b.build().unwrap()
}

async fn read_all(bootstrap: &str, n: usize) -> Vec<PyConsumedRecord> {
    let mut got = python::consume(
        bootstrap,
        TOPIC,
        Partitions::Only(vec![0]),
        n,
        Isolation::ReadCommitted,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), n);
    got.sort_by_key(|r| r.offset);
    got
}

/// `(codec, record count)` of the data batches of partition 0 at `bootstrap`.
async fn stored_batches(bootstrap: &str) -> Vec<(Compression, i32)> {
    batches_support::stored_batches(bootstrap, TOPIC, 0)
        .await
        .iter()
        .map(|b| (b.compression(), b.record_count()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_batches_are_spliced_one_to_one_and_the_rest_copied_record_by_record() {
    let source = TansuBroker::memory().unwrap();
    python::create_topic(&source.addr(), TOPIC, 1, &[])
        .await
        .unwrap();
    // Four whole batches of every source codec (spliced), a compacted one and one whose
    // records carry a provenance header (both record by record), a whole one again.
    let batches = [
        ((0..3).collect::<Vec<_>>(), Compression::None, false),
        ((0..7).collect(), Compression::Gzip, false),
        ((0..11).collect(), Compression::Snappy, false),
        ((0..5).collect(), Compression::Zstd, false),
        (vec![0, 2, 5], Compression::Lz4, false),
        ((0..4).collect(), Compression::Lz4, true),
        ((0..6).collect(), Compression::Lz4, false),
    ];
    let mut n = 0;
    let mut end = 0;
    for (i, (deltas, codec, foreign)) in batches.iter().enumerate() {
        let base = produce_raw(&source, batch(&format!("b{i}"), deltas, *codec, *foreign)).await;
        assert_eq!(base, end);
        n += deltas.len();
        end = base + i64::from(*deltas.last().unwrap()) + 1;
    }
    assert_eq!((n, end), (39, 42));

    let target = StrictTansu::start().unwrap();
    let mut json =
        ReplicatorJson::new("splice", &source, target.broker(), &[TOPIC]).compression("LZ4");
    json.target_bootstrap = target.bootstrap();
    let config = CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap();
    let options = EngineOptions {
        mode: DataMode::Header,
        topic_refresh_interval: Duration::from_millis(300),
        checkpoint_interval: Duration::from_millis(200),
        resume_settle: Duration::from_millis(100),
        ..EngineOptions::default()
    };
    let replicator = Replicator::start(config, options).await.unwrap();
    let position = |replicator: &Replicator| {
        let status = replicator.status();
        let p = status.partition(TOPIC, 0).cloned();
        p.map_or((None, None), |p| (p.source_offset, p.target_offset))
    };
    let mut covered = false;
    for _ in 0..600 {
        covered = position(&replicator).0.is_some_and(|at| at >= end);
        if covered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        covered,
        "partition 0 was never copied up to source offset {end}"
    );

    let want = read_all(&source.addr(), n).await;
    let got = read_all(&target.bootstrap(), n).await;
    let refusals = target.refusals();
    assert_eq!(refusals.total_refused(), 0, "{refusals:?}");
    assert_eq!(refusals.count(Rule::Reencoded), 0, "{refusals:?}");
    assert_eq!(position(&replicator), (Some(end), Some(n as i64)));
    for (s, t) in want.iter().zip(&got) {
        let at = format!("source offset {}", s.offset);
        assert_eq!(
            (&t.key, &t.value, t.timestamp),
            (&s.key, &s.value, s.timestamp),
            "{at}"
        );
        assert_eq!(
            replicator.translate(TOPIC, 0, s.offset),
            Some(t.offset),
            "{at}"
        );
        // The source's own headers in order (an older provenance header stripped), then ours.
        let (ours, theirs) = t.headers.split_last().unwrap();
        let own: Vec<_> = s
            .headers
            .iter()
            .filter(|h| h.0 != HEADER_KEY)
            .cloned()
            .collect();
        assert_eq!(theirs, &own[..], "{at}");
        assert_eq!(ours.0, HEADER_KEY, "{at}");
        let p = Provenance::decode(ours.1.as_deref().unwrap()).unwrap();
        assert_eq!((p.partition, p.offset), (0, s.offset), "{at}");
        let foreign = s.headers.iter().any(|h| h.0 == HEADER_KEY);
        assert_eq!(
            p.origin == ELSEWHERE,
            foreign,
            "{at}: the origin is carried on"
        );
        assert!(p.origin == p.source || foreign, "{at}");
    }
    // The spliced batches are the source's, one to one, re-encoded as LZ4; the per-record
    // path's 7 records and the last batch follow.
    let stored = stored_batches(&target.raw_addr()).await;
    assert_eq!(
        stored[..4],
        [
            (Compression::Lz4, 3),
            (Compression::Lz4, 7),
            (Compression::Lz4, 11),
            (Compression::Lz4, 5)
        ],
        "{stored:?}"
    );
    assert_eq!(stored.last(), Some(&(Compression::Lz4, 6)), "{stored:?}");
    assert_eq!(
        stored.iter().map(|b| b.1 as usize).sum::<usize>(),
        n,
        "{stored:?}"
    );
    replicator.shutdown().await.unwrap();
}
