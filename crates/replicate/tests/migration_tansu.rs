//! The migration the issue describes, with ENHANCED offset sync between two Tansu brokers and
//! real confluent-kafka applications:
//!
//! - P, the orders producer (`orders`, partly in transactions, so offsets differ between the
//!   clusters by the commit markers);
//! - S, the order-status processor: group `status-processor` reads `orders`, and for each
//!   order it read produces its status to `order-status` on the same cluster;
//! - N, the notifier: group `notifier` reads `order-status`.
//!
//! Two replicators, A→B and B→A, IDENTICAL names, ENHANCED. The apps move to B one at a time
//! (S, then N, then P) and back (N, then P, then S), each mid-stream, following the cut-over
//! procedure: a consumer starts on the other cluster once its group's offsets are synced there
//! (checked independently of the offset maps: the record the group would read next is the
//! same on both clusters); a producer starts on the other cluster once replication of its
//! topic caught up both ways. Asserted per group: every record read exactly once.
//!
//! The replicators run in the default mode (batch provenance): records that came back are
//! recognised by the reverse replicator's producer id, and their originals found through its
//! saved offset map.

mod groups_support;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use groups_support::{
    assert_exactly_once, client, committed, config, consume_step, fast_options, group_replication,
    names, records, wait_for,
};
use kreplicate_replicate::Replicator;
use kreplicate_testkit::python;
use kreplicate_testkit::tansu::TansuBroker;
use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::{high_watermark, scan_partition, IsolationLevel};

const ORDERS: &str = "orders";
const STATUS: &str = "order-status";
const PROCESSOR: &str = "status-processor";
const NOTIFIER: &str = "notifier";
const PARTITIONS: i32 = 2;
const NOW: Duration = Duration::ZERO;
const DRAIN: Duration = Duration::from_secs(2);

/// One cluster as the applications see it.
struct Cluster {
    name: &'static str,
    broker: TansuBroker,
    client: Client,
}

impl Cluster {
    async fn start(name: &'static str) -> Self {
        let broker = TansuBroker::strict_memory().unwrap();
        let client = client(&broker).await;
        for topic in [ORDERS, STATUS] {
            python::create_topic(&broker.addr(), topic, PARTITIONS, &[])
                .await
                .unwrap();
        }
        Cluster {
            name,
            broker,
            client,
        }
    }

    fn addr(&self) -> String {
        self.broker.addr()
    }

    /// `(offset, value)` of every record of `topic`-`partition`.
    async fn read(&self, topic: &str, partition: i32, from: i64) -> Vec<(i64, String)> {
        let end = high_watermark(&self.client, topic, partition)
            .await
            .unwrap();
        let mut out = Vec::new();
        scan_partition(
            &self.client,
            topic,
            partition,
            from,
            Some(end),
            IsolationLevel::ReadCommitted,
            |r| {
                let value = String::from_utf8(r.value.as_deref().unwrap_or_default().to_vec());
                out.push((r.offset, value.unwrap()));
                ControlFlow::Continue(())
            },
        )
        .await
        .unwrap();
        out
    }
}

/// An ENHANCED replicator of both topics from `from` to `to`, IDENTICAL names, every group.
async fn replicator(name: &str, from: &Cluster, to: &Cluster) -> Replicator {
    let groups = group_replication(&[".*"], &[], true, "ENHANCED");
    let config = config(
        name,
        &from.broker,
        &to.broker,
        &[ORDERS, STATUS],
        "IDENTICAL",
        groups,
    );
    Replicator::start(config, fast_options()).await.unwrap()
}

/// P: produces orders `range`; in one committed transaction when `transactional`.
async fn produce_orders(on: &Cluster, range: std::ops::Range<usize>, transactional: bool) {
    let batch = records("order", range.clone(), PARTITIONS);
    if transactional {
        let id = format!("orders-{}-{}", on.name, range.start);
        python::produce_transaction(&on.addr(), ORDERS, &batch, &id, true)
            .await
            .unwrap();
    } else {
        python::produce(&on.addr(), ORDERS, &batch, "none", &[])
            .await
            .unwrap();
    }
}

/// S: reads `count` orders and produces their statuses on the same cluster (in a transaction
/// when `transactional`). Returns the orders read.
async fn process(on: &Cluster, count: usize, linger: Duration, transactional: bool) -> Vec<String> {
    let read = consume_step(&on.addr(), ORDERS, PROCESSOR, count, linger).await;
    let statuses: Vec<python::PyRecord> = read
        .iter()
        .map(|order| {
            let i: i32 = order.trim_start_matches("order-").parse().unwrap();
            python::PyRecord {
                partition: Some(i % PARTITIONS),
                value: Some(format!("status-{i}").into_bytes()),
                ..python::PyRecord::default()
            }
        })
        .collect();
    if transactional {
        let id = format!("status-{}-{}", on.name, read.len());
        python::produce_transaction(&on.addr(), STATUS, &statuses, &id, true)
            .await
            .unwrap();
    } else {
        python::produce(&on.addr(), STATUS, &statuses, "none", &[])
            .await
            .unwrap();
    }
    read
}

/// N: reads `count` statuses.
async fn notify(on: &Cluster, count: usize, linger: Duration) -> Vec<String> {
    consume_step(&on.addr(), STATUS, NOTIFIER, count, linger).await
}

/// A group may move from `from` to `to` once, in every partition it committed on `from`, the
/// record it would read next on `to` is the one it would read next on `from` (or, having read
/// everything, nothing).
async fn wait_group_synced(from: &Cluster, to: &Cluster, group: &str, topic: &str) {
    wait_for(
        &format!(
            "group {group} on {topic} synced from {} to {}",
            from.name, to.name
        ),
        Duration::from_secs(20),
        || async {
            let here = committed(&from.addr(), group).await.remove(topic)?;
            let there = committed(&to.addr(), group).await.remove(topic);
            let there = there?;
            for (partition, offset) in here {
                let next_here = from.read(topic, partition, offset).await.first().cloned();
                let next_there = to
                    .read(topic, partition, *there.get(&partition)?)
                    .await
                    .first()
                    .cloned();
                if next_here.map(|(_, v)| v) != next_there.map(|(_, v)| v) {
                    return None;
                }
            }
            Some(())
        },
    )
    .await
}

/// A producer may move once both clusters hold the same records of `topic`.
async fn wait_caught_up(a: &Cluster, b: &Cluster, topic: &str) {
    wait_for(
        &format!("{topic} replicated both ways"),
        Duration::from_secs(20),
        || async {
            for partition in 0..PARTITIONS {
                let on_a: BTreeSet<String> = a
                    .read(topic, partition, 0)
                    .await
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                let on_b: BTreeSet<String> = b
                    .read(topic, partition, 0)
                    .await
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                if on_a != on_b {
                    return None;
                }
            }
            Some(())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_applications_move_to_the_target_and_back_reading_every_record_once() {
    let started = std::time::Instant::now();
    let a = Cluster::start("A").await;
    let b = Cluster::start("B").await;
    let a_to_b = replicator("migration", &a, &b).await;
    let b_to_a = replicator("migration", &b, &a).await;
    let mut processed: Vec<String> = Vec::new();
    let mut notified: Vec<String> = Vec::new();

    // Everything on A. The first reads cover both partitions.
    produce_orders(&a, 0..4, false).await;
    processed.extend(process(&a, 4, NOW, false).await);
    produce_orders(&a, 4..20, true).await;
    processed.extend(process(&a, 6, NOW, false).await);
    notified.extend(notify(&a, 4, NOW).await);

    // S moves to B: it reads orders there and produces statuses there.
    wait_group_synced(&a, &b, PROCESSOR, ORDERS).await;
    wait_caught_up(&a, &b, STATUS).await;
    processed.extend(process(&b, 5, NOW, true).await);

    // N reads on, on A, past the statuses S produced on B (copied back), then moves.
    wait_caught_up(&a, &b, STATUS).await;
    notified.extend(notify(&a, 8, NOW).await);
    wait_group_synced(&a, &b, NOTIFIER, STATUS).await;
    notified.extend(notify(&b, 3, NOW).await);

    // P moves to B.
    wait_caught_up(&a, &b, ORDERS).await;
    produce_orders(&b, 20..30, true).await;
    processed.extend(process(&b, 8, NOW, false).await);
    notified.extend(notify(&b, 4, NOW).await);

    // Rollback, in another order: N, then P, then S.
    wait_group_synced(&b, &a, NOTIFIER, STATUS).await;
    notified.extend(notify(&a, 3, NOW).await);
    wait_caught_up(&a, &b, ORDERS).await;
    produce_orders(&a, 30..40, false).await;
    wait_group_synced(&b, &a, PROCESSOR, ORDERS).await;
    wait_caught_up(&a, &b, STATUS).await;
    let rest = 40 - processed.len();
    processed.extend(process(&a, rest, DRAIN, false).await);
    assert_exactly_once(PROCESSOR, &processed, &names("order", 0..40));

    // N, back on A, reads every status left: each order's status exactly once.
    let rest = 40 - notified.len();
    notified.extend(notify(&a, rest, DRAIN).await);
    assert_exactly_once(NOTIFIER, &notified, &names("status", 0..40));

    // Both groups are back on A, so A→B syncs them both and B→A none: a group's offsets are
    // synced by the replicator reading the cluster where the group itself commits, and the
    // commits one replicator writes are never synced back by the other.
    let count = |r: &Replicator| {
        let text = r.metrics().encode();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<i64>().ok())
                .unwrap_or(-1)
        };
        (
            value("kreplicate_consumer_group_count "),
            value("kreplicate_consumer_group_offset_sync_failures_total "),
        )
    };
    wait_for(
        "A→B syncs both groups, B→A none",
        Duration::from_secs(20),
        || async { (count(&a_to_b) == (2, 0) && count(&b_to_a) == (0, 0)).then_some(()) },
    )
    .await;
    a_to_b.shutdown().await.unwrap();
    b_to_a.shutdown().await.unwrap();
    eprintln!("migration took {:?}", started.elapsed());
}

/// The three applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    /// P, the orders producer.
    Orders,
    /// S, the order-status processor.
    Processor,
    /// N, the notifier.
    Notifier,
}

/// Where each application runs, and what each consumer group read so far.
struct Migration {
    clusters: [Cluster; 2],
    on: [(App, usize); 3],
    orders: usize,
    processed: Vec<String>,
    notified: Vec<String>,
    round: usize,
}

impl Migration {
    fn cluster(&self, app: App) -> &Cluster {
        let (_, at) = self.on.iter().find(|(a, _)| *a == app).expect("every app");
        &self.clusters[*at]
    }

    /// One round of work, each application on its cluster: P produces 6 orders (every other
    /// round in a transaction), S processes up to 5, N notifies up to 4.
    async fn work(&mut self) {
        self.round += 1;
        let transactional = self.round.is_multiple_of(2);
        let at = self.cluster(App::Orders);
        produce_orders(at, self.orders..self.orders + 6, transactional).await;
        self.orders += 6;
        let count = 5.min(self.orders - self.processed.len());
        let read = process(self.cluster(App::Processor), count, NOW, !transactional).await;
        self.processed.extend(read);
        let count = 4.min(self.processed.len() - self.notified.len());
        let read = notify(self.cluster(App::Notifier), count, NOW).await;
        self.notified.extend(read);
    }

    /// Moves `app` to the other cluster, following the cut-over procedure: the topics it
    /// touches replicated both ways, and a consumer group's offsets synced to where it goes.
    async fn move_app(&mut self, app: App) {
        let index = self
            .on
            .iter()
            .position(|(a, _)| *a == app)
            .expect("every app");
        let from = self.on[index].1;
        let to = 1 - from;
        let [a, b] = &self.clusters;
        let (here, there) = (&self.clusters[from], &self.clusters[to]);
        match app {
            App::Orders => wait_caught_up(a, b, ORDERS).await,
            App::Processor => {
                wait_caught_up(a, b, ORDERS).await;
                wait_caught_up(a, b, STATUS).await;
                wait_group_synced(here, there, PROCESSOR, ORDERS).await;
            }
            App::Notifier => {
                wait_caught_up(a, b, STATUS).await;
                wait_group_synced(here, there, NOTIFIER, STATUS).await;
            }
        }
        self.on[index].1 = to;
    }
}

/// Starts everything on A, works a round, then moves the apps to B in `forward` order and
/// back in `back` order with a round of work after each move; finally the consumers drain.
/// Asserted per group: every record read exactly once.
async fn migrate(name: &str, forward: [App; 3], back: [App; 3]) {
    let started = std::time::Instant::now();
    let a = Cluster::start("A").await;
    let b = Cluster::start("B").await;
    let a_to_b = replicator(name, &a, &b).await;
    let b_to_a = replicator(name, &b, &a).await;
    let mut m = Migration {
        clusters: [a, b],
        on: [(App::Orders, 0), (App::Processor, 0), (App::Notifier, 0)],
        orders: 0,
        processed: Vec::new(),
        notified: Vec::new(),
        round: 0,
    };
    m.work().await;
    for app in forward.into_iter().chain(back) {
        m.move_app(app).await;
        m.work().await;
    }
    assert!(
        m.on.iter().all(|(_, at)| *at == 0),
        "every app is back on A"
    );
    let [a, b] = &m.clusters;
    wait_caught_up(a, b, ORDERS).await;
    let rest = m.orders - m.processed.len();
    m.processed.extend(process(a, rest, DRAIN, false).await);
    assert_exactly_once(PROCESSOR, &m.processed, &names("order", 0..m.orders));
    wait_caught_up(a, b, STATUS).await;
    let rest = m.orders - m.notified.len();
    m.notified.extend(notify(a, rest, DRAIN).await);
    assert_exactly_once(NOTIFIER, &m.notified, &names("status", 0..m.orders));
    a_to_b.shutdown().await.unwrap();
    b_to_a.shutdown().await.unwrap();
    eprintln!(
        "{name}: {forward:?} then back {back:?}: {} orders, each processed and notified once, in {:?}",
        m.orders,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_first_then_processor_then_notifier_and_back_in_the_same_order() {
    migrate(
        "producer-first",
        [App::Orders, App::Processor, App::Notifier],
        [App::Orders, App::Processor, App::Notifier],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstream_first_notifier_then_processor_then_producer_and_back_in_reverse() {
    migrate(
        "downstream-first",
        [App::Notifier, App::Processor, App::Orders],
        [App::Orders, App::Processor, App::Notifier],
    )
    .await;
}
