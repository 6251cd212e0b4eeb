//! A target topic with `message.timestamp.type=LogAppendTime`: Kafka stamps every batch it
//! appends with its own clock (LogValidator), so the source's timestamps cannot be kept. What
//! kreplicate still guarantees there: every record exactly once, in order, key, value and
//! headers unchanged; `verify` compares without timestamps and says so. The target is Tansu
//! behind the Kafka-strict layer, which applies LogAppendTime as Kafka does.

use std::time::Duration;

use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::PROVENANCE_HEADER_KEY as HEADER_KEY;
use kreplicate_replicate::{verify_replicator_from, VerifyFrom};
use kreplicate_replicate::{EngineOptions, Replicator};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::python::{self, Isolation, PyRecord};
use kreplicate_testkit::strict::StrictTansu;
use kreplicate_testkit::tansu::TansuBroker;

/// librdkafka's timestamp types.
const CREATE_TIME: i32 = 1;
const LOG_APPEND_TIME: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_append_time_target_keeps_everything_but_the_timestamps_and_verify_says_so() {
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    let topic = "stamped";
    python::create_topic(&source.addr(), topic, 2, &[])
        .await
        .unwrap();
    python::create_topic(
        &target.bootstrap(),
        topic,
        2,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await
    .unwrap();
    // Timestamps from 2023: far from any append time.
    let records: Vec<PyRecord> = (0..40)
        .map(|i| PyRecord {
            partition: Some(i % 2),
            key: Some(format!("k{i}").into_bytes()),
            value: Some(format!("v{i}").into_bytes()),
            headers: vec![("h".into(), Some(vec![i as u8]))],
            timestamp_ms: Some(1_700_000_000_000 + i as i64),
        })
        .collect();
    python::produce(&source.addr(), topic, &records, "none", &[])
        .await
        .unwrap();
    let mut json = ReplicatorJson::new("stamped", &source, target.broker(), &[topic]);
    json.target_bootstrap = target.bootstrap();
    let config = CreateReplicatorRequest::parse(&json.json())
        .unwrap()
        .validate()
        .unwrap();
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let replicator = Replicator::start(
        config.clone(),
        EngineOptions {
            topic_refresh_interval: Duration::from_millis(200),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let mut job = python::ConsumeJob::new(&target.bootstrap(), topic, 40);
    job.timeout = Duration::from_secs(60);
    job.linger = Duration::from_millis(1000);
    job.isolation = Isolation::ReadCommitted;
    let mut copied = job.run().await.unwrap();
    replicator.shutdown().await.unwrap();

    assert_eq!(
        target.refusals().total_refused(),
        0,
        "{:?}",
        target.refusals()
    );
    assert_eq!(copied.len(), 40);
    copied.sort_by_key(|r| (r.partition, r.offset));
    for c in &copied {
        let i: usize = std::str::from_utf8(c.value.as_deref().unwrap())
            .unwrap()
            .trim_start_matches('v')
            .parse()
            .unwrap();
        let o = &records[i];
        assert_eq!(c.partition, o.partition.unwrap());
        assert_eq!(c.key, o.key);
        let user_headers: Vec<_> = c.headers.iter().filter(|(k, _)| k != HEADER_KEY).collect();
        assert_eq!(user_headers.len(), 1);
        assert_eq!(user_headers[0], &o.headers[0]);
        // The broker's clock, not the source's.
        assert_eq!(c.timestamp_type, LOG_APPEND_TIME, "{c:?}");
        assert!(c.timestamp >= started_ms - 1000, "{c:?}");
    }
    // In order per partition.
    for p in 0..2 {
        let values: Vec<usize> = copied
            .iter()
            .filter(|c| c.partition == p)
            .map(|c| {
                std::str::from_utf8(c.value.as_deref().unwrap()).unwrap()[1..]
                    .parse()
                    .unwrap()
            })
            .collect();
        let want: Vec<usize> = (0..40).filter(|i| i % 2 == p as usize).collect();
        assert_eq!(values, want);
    }

    let verdicts = verify_replicator_from(&config, "verify", VerifyFrom::LogStart)
        .await
        .unwrap();
    assert_eq!(verdicts.len(), 2);
    for v in &verdicts {
        assert!(v.is_equal(), "{v:?}");
        assert!(v.timestamps_replaced, "{v:?}");
        assert_eq!((v.source_records, v.target_records), (20, 20), "{v:?}");
    }
    // The source itself is CreateTime: the difference is the target's doing.
    let mut job = python::ConsumeJob::new(&source.addr(), topic, 40);
    job.timeout = Duration::from_secs(60);
    let originals = job.run().await.unwrap();
    assert!(originals.iter().all(|r| r.timestamp_type == CREATE_TIME));
}
