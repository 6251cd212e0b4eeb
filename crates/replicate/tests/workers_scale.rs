//! A measurement, not a check (ignored; run by hand, the numbers are in docs/scaling.md): how
//! many partitions one worker of a worker group keeps up with on this machine.
//!
//! For each partition count (`KREPLICATE_SCALE_PARTITIONS`, default `24,96,384`): a fresh Tansu
//! source and target (memory storage, no strict layer: the layer's bookkeeping is not what is
//! measured), one worker (session 4 s), and a steady load of one record per partition every
//! 100 ms (10 records/s per partition) for 10 s. Printed per count: the time until every
//! partition has its first copy, the largest lag seen (records produced but not yet on the
//! target, sampled every 100 ms), the time the target needs to catch up once the load stops,
//! and the CPU seconds of this process (worker + load producer) and of each broker.
//!
//! `cargo nextest run -p kreplicate-replicate --test workers_scale --run-ignored only --no-capture`

use std::time::{Duration, Instant};

use bytes::Bytes;
use kreplicate_replicate::CreateReplicatorRequest;
use kreplicate_replicate::{EngineOptions, Replicator, WorkerGroupOptions};
use kreplicate_testkit::msk::ReplicatorJson;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::high_watermark;
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "scale";
const ROUND: Duration = Duration::from_millis(100);
const ROUNDS: usize = 100;

/// CPU seconds (user + system) of process `pid` ("self" for this one), from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

async fn copied(target: &Client, partitions: i32) -> (i64, usize) {
    let mut total = 0;
    let mut with_copies = 0;
    for p in 0..partitions {
        let end = high_watermark(target, TOPIC, p).await.unwrap_or(0);
        total += end;
        with_copies += usize::from(end > 0);
    }
    (total, with_copies)
}

async fn measure(partitions: i32) {
    let source = TansuBroker::memory().unwrap();
    let target = TansuBroker::memory().unwrap();
    let source_client = Client::connect(ClientConfig::new([source.addr()]))
        .await
        .unwrap();
    let target_client = Client::connect(ClientConfig::new([target.addr()]))
        .await
        .unwrap();
    Admin::new(source_client.clone())
        .create_topics(&[NewTopic::new(TOPIC, partitions, 1)], false)
        .await
        .unwrap();
    let producer = Producer::new(source_client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let round = |i: usize| {
        let producer = &producer;
        async move {
            for p in 0..partitions {
                let record = ProducerRecord {
                    value: Some(Bytes::from(format!("r{i}-p{p}"))),
                    ..ProducerRecord::default()
                };
                drop(producer.send(TOPIC, p, record).await.unwrap());
            }
            producer.flush().await;
        }
    };
    // One record per partition before the worker starts: "first copy" is then measurable.
    round(0).await;
    let mut produced = i64::from(partitions);

    let name = format!("scale-{}-{partitions}", std::process::id());
    let json = ReplicatorJson::new(&name, &source, &target, &[TOPIC]).json();
    let config = CreateReplicatorRequest::parse(&json)
        .unwrap()
        .validate()
        .unwrap();
    let cpu_before = (
        cpu_seconds("self"),
        cpu_seconds(&source.pid().unwrap().to_string()),
        cpu_seconds(&target.pid().unwrap().to_string()),
    );
    let started = Instant::now();
    let replicator = Replicator::start(
        config,
        EngineOptions {
            topic_refresh_interval: Duration::from_secs(1),
            workers: Some(WorkerGroupOptions {
                session_timeout: Duration::from_secs(4),
                heartbeat_interval: Duration::from_millis(400),
                ..WorkerGroupOptions::default()
            }),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let mut first_copies = None;
    for _ in 0..1200 {
        if copied(&target_client, partitions).await.1 == partitions as usize {
            first_copies = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(ROUND).await;
    }
    let first_copies = first_copies.expect("every partition copied within 120 s");

    let mut max_lag = 0;
    let mut overran = 0;
    let load_started = Instant::now();
    for i in 1..=ROUNDS {
        let due = load_started + ROUND * i as u32;
        round(i).await;
        produced += i64::from(partitions);
        let (total, _) = copied(&target_client, partitions).await;
        max_lag = max_lag.max(produced - total);
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => overran += 1,
        }
    }
    let offered = produced as f64 / load_started.elapsed().as_secs_f64();
    let stopped = Instant::now();
    let mut drained = None;
    for _ in 0..6000 {
        if copied(&target_client, partitions).await.0 >= produced {
            drained = Some(stopped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = (
        cpu_seconds("self") - cpu_before.0,
        cpu_seconds(&source.pid().unwrap().to_string()) - cpu_before.1,
        cpu_seconds(&target.pid().unwrap().to_string()) - cpu_before.2,
    );
    replicator.shutdown().await.unwrap();
    println!(
        "| {partitions} | {offered:.0} | {:.1} s | {max_lag} | {} | {overran} of {ROUNDS} | {:.1} / {:.1} / {:.1} |",
        first_copies.as_secs_f64(),
        drained.map_or("not in 120 s".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
        cpu.0,
        cpu.1,
        cpu.2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for docs/scaling.md, run by hand"]
async fn partitions_one_worker_keeps_up_with() {
    let counts = std::env::var("KREPLICATE_SCALE_PARTITIONS").unwrap_or("24,96,384".into());
    println!("| partitions | records/s offered | every partition copied after | largest lag (records) | caught up after the load stopped | load rounds late | CPU s: this process / source broker / target broker |");
    println!("|---|---|---|---|---|---|---|");
    for count in counts.split(',') {
        measure(count.trim().parse().unwrap()).await;
    }
}
