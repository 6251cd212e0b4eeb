//! Containment, with the Kafka-strict layer in front of the target: a write the target refuses
//! halts only what it concerns (the partition; for an authorization refusal, the topic's
//! partitions as they are refused), on the same producer — the data path never restarts —
//! and the halted partition resumes by itself, exactly, once the cause is fixed. Checkpoints
//! count only once the target acknowledged them. Every fault is set and lifted on progress
//! (records seen on the target, metrics), never on a timer.

mod faults_support;

use std::ops::ControlFlow;
use std::time::Duration;

use bytes::Bytes;
use faults_support::{
    assert_verified, capture_logs, client, config, copied_offsets, ends, fast_options, metric,
    wait_until, Side,
};
use kreplicate_replicate::verify_replicator;
use kreplicate_replicate::{DataMode, EngineOptions, Replicator};
use kreplicate_testkit::strict::{Rule, StrictTansu};
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, AlterOp, NewTopic};
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{high_watermark, scan_partition, IsolationLevel};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const PROGRESS: Duration = Duration::from_secs(60);

/// Options with short halt retries, so a fixed cause shows within a second.
fn options() -> EngineOptions {
    EngineOptions {
        halt_retry_initial: Duration::from_millis(200),
        halt_retry_max: Duration::from_secs(1),
        ..fast_options()
    }
}

/// The value of record `i` of `topic`-`partition`, `size` bytes, recognisable.
fn value(topic: &str, partition: i32, i: i64, size: usize) -> Bytes {
    let mut v = format!("{topic}-{partition}-{i}-").into_bytes();
    v.resize(size.max(v.len()), b'a' + (i % 26) as u8);
    Bytes::from(v)
}

/// Appends records `from..to` to each of `partitions` of `topic` on the source; `size(p, i)`
/// is the value size of record `i` of partition `p`. Awaits every acknowledgement.
async fn produce(
    source: &Client,
    topic: &str,
    partitions: i32,
    from: i64,
    to: i64,
    size: impl Fn(i32, i64) -> usize,
) {
    let producer = Producer::new(source.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for p in 0..partitions {
        for i in from..to {
            let record = ProducerRecord {
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(value(topic, p, i, size(p, i))),
                headers: Vec::new(),
                timestamp: Some(1_700_000_000_000 + i),
            };
            deliveries.push((p, i, producer.send(topic, p, record).await.unwrap()));
        }
    }
    for (p, i, d) in deliveries {
        assert_eq!(d.await.unwrap().offset, i, "{topic}-{p}");
    }
}

/// Creates `name` with `partitions` and `configs`, failing the test if it is refused.
async fn create_topic(client: &Client, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut topic = NewTopic::new(name, partitions, 1);
    for (k, v) in configs {
        topic = topic.with_config(*k, *v);
    }
    let created = Admin::new(client.clone())
        .create_topics(&[topic], false)
        .await
        .unwrap();
    created[0].1.as_ref().unwrap();
}

/// Waits until each target partition `p` holds `want[p]` records.
async fn wait_target_ends(target: &Client, topic: &str, want: &[i64], what: &str) {
    let start = std::time::Instant::now();
    loop {
        let mut have = Vec::new();
        for p in 0..want.len() as i32 {
            have.push(high_watermark(target, topic, p).await.unwrap_or(-1));
        }
        if have == want {
            return;
        }
        assert!(
            have.iter().zip(want).all(|(h, w)| h <= w),
            "{what}: target {topic} ends {have:?}, beyond {want:?}: records copied twice"
        );
        assert!(
            start.elapsed() < PROGRESS,
            "{what}: target {topic} ends {have:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn state(text: &str, state: &str) -> f64 {
    metric(text, "kreplicate_partitions", &[("state", state)])
}

fn restarts(text: &str) -> f64 {
    metric(text, "kreplicate_data_path_restarts_total", &[])
}

/// Key and value of every record of `topic`-`partition`, in offset order.
async fn contents(client: &Client, topic: &str, partition: i32) -> Vec<(Option<Bytes>, Bytes)> {
    let mut out = Vec::new();
    scan_partition(
        client,
        topic,
        partition,
        0,
        None,
        IsolationLevel::ReadUncommitted,
        |r| {
            out.push((r.key.clone(), r.value.clone().unwrap_or_default()));
            ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    out
}

/// THE acceptance test of containment: one record over the target topic's max.message.bytes on
/// one of 12 partitions halts exactly that partition at that source offset; the other 11 copy
/// everything on the same producer (no data-path restart); raising max.message.bytes through
/// IncrementalAlterConfigs while running lets the halted partition catch up, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_record_halts_only_its_partition_which_resumes_once_the_limit_is_raised() {
    let logs = capture_logs();
    const TOPIC: &str = "orders";
    const PARTITIONS: i32 = 12;
    const BIG_PARTITION: i32 = 7;
    const BIG_OFFSET: i64 = 20;
    const LIMIT: usize = 64 * 1024;
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.bootstrap()).await;
    create_topic(&source_client, TOPIC, PARTITIONS, &[]).await;
    let limit = LIMIT.to_string();
    create_topic(
        &target_client,
        TOPIC,
        PARTITIONS,
        &[("max.message.bytes", &limit)],
    )
    .await;
    // 40 records of 200 bytes per partition; partition 7's record 20 is 100 KiB.
    let size = |p: i32, i: i64| {
        if p == BIG_PARTITION && i == BIG_OFFSET {
            100 * 1024
        } else {
            200
        }
    };
    produce(&source_client, TOPIC, PARTITIONS, 0, 40, size).await;
    let config = config(
        "containment",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.broker().cluster_id(), &target.bootstrap()),
        &[TOPIC],
    );
    let replicator = Replicator::start(config.clone(), options()).await.unwrap();
    let metrics = replicator.metrics();

    let mut want = vec![40i64; PARTITIONS as usize];
    want[BIG_PARTITION as usize] = BIG_OFFSET;
    wait_target_ends(&target_client, TOPIC, &want, "halted at the big record").await;
    wait_until("exactly one partition halted, 11 copying", PROGRESS, || {
        let text = metrics.encode();
        state(&text, "halted") == 1.0 && state(&text, "copying") == 11.0
    })
    .await;
    // The other partitions keep copying while it is halted.
    produce(&source_client, TOPIC, PARTITIONS, 40, 50, size).await;
    let mut want = vec![50i64; PARTITIONS as usize];
    want[BIG_PARTITION as usize] = BIG_OFFSET;
    wait_target_ends(
        &target_client,
        TOPIC,
        &want,
        "the others after more records",
    )
    .await;
    let text = metrics.encode();
    assert_eq!(state(&text, "halted"), 1.0, "{text}");
    assert_eq!(restarts(&text), 0.0, "no data-path restart: {text}");
    // The metrics name the halted partition and where it halted (`status` and `verify` show it).
    let halted_series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("kreplicate_partition_halted{"))
        .collect();
    assert_eq!(
        halted_series,
        vec![format!(
            "kreplicate_partition_halted{{topic=\"{TOPIC}\",partition=\"{BIG_PARTITION}\"}} {BIG_OFFSET}"
        )],
        "{text}"
    );
    assert!(target.refusals().count(Rule::MessageTooLarge) >= 1);
    assert_eq!(
        copied_offsets(&target_client, TOPIC, BIG_PARTITION).await,
        (0..BIG_OFFSET).collect::<Vec<_>>(),
        "halted exactly at the big record, nothing after it copied"
    );
    let log = logs.text();
    let line = log
        .lines()
        .find(|l| l.contains("partition halted at source offset") && l.contains(TOPIC))
        .unwrap_or_else(|| panic!("no halt line:\n{log}"));
    for part in [
        "ERROR",
        &format!("topic={TOPIC}"),
        &format!("partition={BIG_PARTITION}"),
        &format!("offset={BIG_OFFSET}"),
        "state=\"halted\"",
        "max.message.bytes",
        &format!("raise max.message.bytes on topic {TOPIC}"),
        "resumes by itself",
        "MessageTooLarge",
    ] {
        assert!(line.contains(part), "{part:?} not in the halt line: {line}");
    }
    // verify names the halted partition's missing range; the others are equal.
    let verdicts = verify_replicator(&config, "containment-verify")
        .await
        .unwrap();
    assert_eq!(verdicts.len(), PARTITIONS as usize);
    for v in &verdicts {
        if v.partition == BIG_PARTITION {
            assert_eq!(
                (v.source_records, v.target_records),
                (50, BIG_OFFSET as u64),
                "{v:?}"
            );
            assert_eq!(
                v.first_divergence,
                Some((
                    BIG_OFFSET,
                    format!(
                        "missing on the target: {} records, source offsets {BIG_OFFSET}..=49",
                        50 - BIG_OFFSET
                    )
                )),
                "{v:?}"
            );
        } else {
            assert!(v.is_equal(), "{v:?}");
            assert_eq!((v.source_records, v.target_records), (50, 50), "{v:?}");
        }
    }

    // The operator raises the limit through the layer (which drops its cached config).
    let raised = Admin::new(target_client.clone())
        .incremental_alter_topic_configs(TOPIC, &[AlterOp::set("max.message.bytes", "1048576")])
        .await;
    raised.unwrap();
    wait_target_ends(
        &target_client,
        TOPIC,
        &[50; PARTITIONS as usize],
        "after the limit was raised",
    )
    .await;
    wait_until("every partition copying", PROGRESS, || {
        let text = metrics.encode();
        state(&text, "halted") == 0.0 && state(&text, "copying") == 12.0
    })
    .await;
    let text = metrics.encode();
    assert_eq!(restarts(&text), 0.0);
    assert!(
        !text.contains("kreplicate_partition_halted{"),
        "copying again, no longer named halted: {text}"
    );
    replicator.shutdown().await.unwrap();
    for p in 0..PARTITIONS {
        assert_eq!(
            copied_offsets(&target_client, TOPIC, p).await,
            (0..50).collect::<Vec<_>>(),
            "partition {p}: every record exactly once, in order"
        );
    }
    assert_verified(&config, PARTITIONS as usize, 0).await;
}

/// Authorization concerns the topic: writes to a denied topic halt its partitions only; the
/// other topic keeps copying on the same producer; allowed again, the halted partitions resume
/// exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_topic_halts_only_its_partitions_which_resume_once_allowed() {
    let logs = capture_logs();
    let (denied, kept) = ("acl-denied", "acl-kept");
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.bootstrap()).await;
    let created = Admin::new(source_client.clone())
        .create_topics(
            &[NewTopic::new(denied, 2, 1), NewTopic::new(kept, 2, 1)],
            false,
        )
        .await
        .unwrap();
    assert!(created.iter().all(|(_, r)| r.is_ok()), "{created:?}");
    for topic in [denied, kept] {
        produce(&source_client, topic, 2, 0, 20, |_, _| 100).await;
    }
    let config = config(
        "containment-acl",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.broker().cluster_id(), &target.bootstrap()),
        &[denied, kept],
    );
    let replicator = Replicator::start(config.clone(), options()).await.unwrap();
    let metrics = replicator.metrics();
    for topic in [denied, kept] {
        wait_target_ends(&target_client, topic, &[20, 20], "first copy").await;
    }

    target.rules().deny_topic(denied);
    for topic in [denied, kept] {
        produce(&source_client, topic, 2, 20, 30, |_, _| 100).await;
    }
    wait_target_ends(&target_client, kept, &[30, 30], "the kept topic").await;
    wait_until("the denied topic's 2 partitions halted", PROGRESS, || {
        state(&metrics.encode(), "halted") == 2.0
    })
    .await;
    let text = metrics.encode();
    assert_eq!(state(&text, "copying"), 2.0, "{text}");
    assert_eq!(restarts(&text), 0.0, "{text}");
    let log = logs.text();
    let line = log
        .lines()
        .find(|l| l.contains("partition halted at source offset") && l.contains(denied))
        .unwrap_or_else(|| panic!("no halt line:\n{log}"));
    for part in [
        "offset=20",
        "ACLs",
        &format!("allow WRITE on topic {denied}"),
        "TopicAuthorizationFailed",
    ] {
        assert!(line.contains(part), "{part:?} not in the halt line: {line}");
    }
    // Nothing after the refusal was copied (read around the layer's denial).
    let raw_client = client(&target.raw_addr()).await;
    for p in 0..2 {
        assert_eq!(
            copied_offsets(&raw_client, denied, p).await,
            (0..20).collect::<Vec<_>>()
        );
    }

    target.rules().allow_topic(denied);
    wait_target_ends(&target_client, denied, &[30, 30], "allowed again").await;
    wait_until("all 4 partitions copying", PROGRESS, || {
        let text = metrics.encode();
        state(&text, "halted") == 0.0 && state(&text, "copying") == 4.0
    })
    .await;
    assert_eq!(restarts(&metrics.encode()), 0.0);
    replicator.shutdown().await.unwrap();
    for topic in [denied, kept] {
        for p in 0..2 {
            assert_eq!(
                copied_offsets(&target_client, topic, p).await,
                (0..30).collect::<Vec<_>>()
            );
        }
    }
    assert_verified(&config, 4, 0).await;
}

/// Checkpoints count only when the target acknowledged them. Pass-through resumes from the
/// checkpoint alone (no provenance header), so a checkpoint counted as written but lost would
/// copy records again after a restart. The checkpoint topic refuses writes for a while
/// (denied through the layer) as records are copied; the failures are counted and retried;
/// allowed again, the next checkpoint lands; after a restart nothing is copied twice.
/// (Before checkpoints waited for their acknowledgement, the refused one was counted as
/// written and the producer's checkpoint partition stayed halted: every later checkpoint was
/// lost, and the restart copied records 10..30 a second time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_checkpoint_is_counted_and_retried_and_resume_copies_nothing_twice() {
    const TOPIC: &str = "cp-refused";
    const CHECKPOINTS: &str = "__kreplicate-checkpoints";
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.bootstrap()).await;
    create_topic(&source_client, TOPIC, 1, &[]).await;
    let config = config(
        "containment-cp",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.broker().cluster_id(), &target.bootstrap()),
        &[TOPIC],
    );
    let options = EngineOptions {
        mode: DataMode::Batch,
        ..options()
    };
    produce(&source_client, TOPIC, 1, 0, 10, |_, _| 100).await;
    let replicator = Replicator::start(config.clone(), options.clone())
        .await
        .unwrap();
    let metrics = replicator.metrics();
    wait_target_ends(&target_client, TOPIC, &[10], "first copy").await;

    target.rules().deny_topic(CHECKPOINTS);
    produce(&source_client, TOPIC, 1, 10, 20, |_, _| 100).await;
    wait_target_ends(&target_client, TOPIC, &[20], "copy while checkpoints fail").await;
    wait_until("a checkpoint refused by the layer", PROGRESS, || {
        target.refusals().count(Rule::TopicAuthorization) >= 1
    })
    .await;
    target.rules().allow_topic(CHECKPOINTS);
    produce(&source_client, TOPIC, 1, 20, 30, |_, _| 100).await;
    wait_target_ends(
        &target_client,
        TOPIC,
        &[30],
        "copy after checkpoints allowed",
    )
    .await;
    let text = metrics.encode();
    assert_eq!(restarts(&text), 0.0, "{text}");
    let failures = metric(&text, "kreplicate_checkpoint_failures_total", &[]);
    replicator.shutdown().await.unwrap();

    // Restarted: it resumes at the checkpoint of offset 30, not at an older one.
    produce(&source_client, TOPIC, 1, 30, 35, |_, _| 100).await;
    let replicator = Replicator::start(config.clone(), options).await.unwrap();
    wait_target_ends(&target_client, TOPIC, &[35], "after the restart").await;
    // Copies are written in order: had it resumed before 30, the target would pass 35.
    // One more record, and the target ends exactly one further.
    produce(&source_client, TOPIC, 1, 35, 36, |_, _| 100).await;
    wait_target_ends(&target_client, TOPIC, &[36], "one more").await;
    replicator.shutdown().await.unwrap();
    assert_eq!(ends(&source_client, TOPIC, 1).await, vec![36]);
    assert_eq!(
        contents(&target_client, TOPIC, 0).await,
        contents(&source_client, TOPIC, 0).await,
        "the target holds the source's records byte for byte, each once"
    );
    assert!(failures >= 1.0, "the refused checkpoints were counted");
}

/// A record without key, refused by a compacted target topic (LogValidator.validateKey,
/// INVALID_RECORD): the refused batch is copied again one record at a time, so the partition
/// halts exactly at the keyless record while the others copy everything; once the target topic
/// is no longer compacted it resumes by itself, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyless_record_on_a_compacted_target_halts_only_its_partition_at_that_record() {
    keyless_record_halts(DataMode::Header).await;
}

/// The same in batch mode: the refused batch was written as it is; its records are then
/// copied one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_mode_a_keyless_record_halts_its_partition_at_that_record() {
    keyless_record_halts(DataMode::Batch).await;
}

/// The target's copies of `topic`-`p` are exactly source records `0..n` in order: by their
/// provenance (header mode) or by their values (batch mode; `value` names topic, partition and
/// index).
async fn assert_copies(mode: DataMode, target: &Client, topic: &str, p: i32, n: i64) {
    match mode {
        DataMode::Header => assert_eq!(
            copied_offsets(target, topic, p).await,
            (0..n).collect::<Vec<_>>(),
            "{topic}-{p}: every source offset exactly once"
        ),
        DataMode::Batch => assert_eq!(
            contents(target, topic, p)
                .await
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>(),
            (0..n).map(|i| value(topic, p, i, 50)).collect::<Vec<_>>(),
            "{topic}-{p}: every source record exactly once"
        ),
    }
}

async fn keyless_record_halts(mode: DataMode) {
    const TOPIC: &str = "keyed";
    const PARTITIONS: i32 = 4;
    const KEYLESS_PARTITION: i32 = 2;
    const KEYLESS_OFFSET: i64 = 10;
    let source = TansuBroker::memory().unwrap();
    let target = StrictTansu::start().unwrap();
    let source_client = client(&source.addr()).await;
    let target_client = client(&target.bootstrap()).await;
    create_topic(&source_client, TOPIC, PARTITIONS, &[]).await;
    create_topic(
        &target_client,
        TOPIC,
        PARTITIONS,
        &[("cleanup.policy", "compact")],
    )
    .await;
    let producer = Producer::new(source_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for p in 0..PARTITIONS {
        for i in 0..30i64 {
            let keyless = p == KEYLESS_PARTITION && i == KEYLESS_OFFSET;
            let record = ProducerRecord {
                key: (!keyless).then(|| Bytes::from(format!("k{i}"))),
                value: Some(value(TOPIC, p, i, 50)),
                headers: Vec::new(),
                timestamp: Some(1_700_000_000_000 + i),
            };
            deliveries.push(producer.send(TOPIC, p, record).await.unwrap());
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    let config = config(
        "keyless",
        &Side::new(source.cluster_id(), &source.addr()),
        &Side::new(target.broker().cluster_id(), &target.bootstrap()),
        &[TOPIC],
    );
    let options = EngineOptions { mode, ..options() };
    let replicator = Replicator::start(config.clone(), options).await.unwrap();
    let metrics = replicator.metrics();
    let mut want = vec![30i64; PARTITIONS as usize];
    want[KEYLESS_PARTITION as usize] = KEYLESS_OFFSET;
    wait_target_ends(&target_client, TOPIC, &want, "halted at the keyless record").await;
    wait_until("exactly one partition halted", PROGRESS, || {
        state(&metrics.encode(), "halted") == 1.0
    })
    .await;
    assert!(target.refusals().count(Rule::CompactedWithoutKey) >= 1);
    assert_copies(
        mode,
        &target_client,
        TOPIC,
        KEYLESS_PARTITION,
        KEYLESS_OFFSET,
    )
    .await;
    assert_eq!(restarts(&metrics.encode()), 0.0);

    // The operator makes the target topic a plain one (through the layer).
    Admin::new(target_client.clone())
        .incremental_alter_topic_configs(TOPIC, &[AlterOp::set("cleanup.policy", "delete")])
        .await
        .unwrap();
    wait_target_ends(&target_client, TOPIC, &[30; PARTITIONS as usize], "resumed").await;
    wait_until("every partition copying", PROGRESS, || {
        state(&metrics.encode(), "halted") == 0.0
    })
    .await;
    assert_eq!(restarts(&metrics.encode()), 0.0);
    replicator.shutdown().await.unwrap();
    for p in 0..PARTITIONS {
        assert_copies(mode, &target_client, TOPIC, p, 30).await;
    }
    assert_verified(&config, PARTITIONS as usize, 0).await;
}
