//! `kreplicate status` across a worker group of real `kreplicate run` processes (the worker
//! group is the default) on Tansu: READY with a row per worker once every partition is owned and copying;
//! NOT READY naming the worker as soon as one is SIGKILLed (its metrics cannot be read); READY
//! again once the survivor owns everything.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{plain_cluster, request, run, write, Output, Running};
use kreplicate_testkit::ports::free_port;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

fn status(addr: &str) -> Output {
    run(
        &["status", "--metrics-url", &format!("http://{addr}/metrics")],
        Duration::from_secs(30),
    )
}

/// Polls `status` until `done` holds (at most 120 s); returns the last output.
fn status_until(addr: &str, what: &str, done: impl Fn(&Output) -> bool) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = status(addr);
        if done(&out) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in 120 s; last status:\n{}{}",
            out.stdout,
            out.stderr
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn status_reads_every_worker_and_is_ready_only_when_all_partitions_are_owned_and_copying() {
    let source = TansuBroker::strict_memory().expect("tansu source");
    let target = TansuBroker::strict_memory().expect("tansu target");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = Client::connect(ClientConfig::new([source.addr()]))
            .await
            .unwrap();
        Admin::new(client.clone())
            .create_topics(&[NewTopic::new("cli-workers", 4, 1)], false)
            .await
            .unwrap();
        let producer = Producer::new(client, ProducerConfig::default())
            .await
            .unwrap();
        for i in 0..40 {
            let record = ProducerRecord {
                value: Some(Bytes::from(format!("v{i}"))),
                ..ProducerRecord::default()
            };
            drop(producer.send("cli-workers", i % 4, record).await.unwrap());
        }
        producer.flush().await;
    });
    let dir = tempfile::tempdir().unwrap();
    let json = request(
        &plain_cluster(source.cluster_id(), &source.addr()),
        source.cluster_id(),
        &plain_cluster(target.cluster_id(), &target.addr()),
        target.cluster_id(),
        r#""cli-workers""#,
    );
    let config = write(dir.path(), "replicator.json", &json);
    let input = format!("file://{}", config.display());
    let addrs: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let workers: Vec<Running> = addrs
        .iter()
        .map(|addr| {
            Running::start(
                &[
                    "run",
                    "--cli-input-json",
                    &input,
                    "--metrics-addr",
                    addr,
                    "--topic-refresh-interval",
                    "300ms",
                    "--worker-session-timeout",
                    "4s",
                ],
                dir.path(),
            )
        })
        .collect();

    let ready = status_until(&addrs[0], "two workers ready", |o| o.code == Some(0));
    for addr in &addrs {
        let row = ready
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("worker {addr}")))
            .unwrap_or_else(|| panic!("no row for worker {addr}:\n{}", ready.stdout));
        assert!(
            row.contains("2 assigned, 2 owned, 2 copying") && row.ends_with("OK"),
            "{row}"
        );
    }
    assert!(ready.stdout.contains("4 of 4"), "{}", ready.stdout);
    assert!(
        ready.stdout.ends_with("READY to migrate\n"),
        "{}",
        ready.stdout
    );

    // SIGKILL the second: at once its row fails (metrics unreadable), and the replicator is
    // not ready while its partitions are not owned.
    let mut workers = workers;
    let killed = workers.pop().unwrap();
    killed.signal("KILL");
    drop(killed.wait(Duration::from_secs(10)));
    let out = status(&addrs[0]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&format!("worker {}", addrs[1])) && l.ends_with("NOT READY")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("NOT READY: worker "), "{}", out.stdout);

    // The survivor takes everything over: ready again, one row.
    let again = status_until(&addrs[0], "the survivor owns everything", |o| {
        o.code == Some(0)
    });
    assert!(
        again.stdout.contains("4 assigned, 4 owned, 4 copying"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains(&addrs[1]), "{}", again.stdout);
    let first = workers.pop().unwrap();
    first.signal("TERM");
    assert_eq!(first.wait(Duration::from_secs(30)).code, Some(0));
}
