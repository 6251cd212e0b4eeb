//! The numbers MSK Replicator users watch, as Prometheus metrics. Names follow Prometheus style;
//! `docs/metrics.md` maps each to its MSK CloudWatch name.
//!
//! The engine updates these; the CLI serves them (`/metrics`). `kreplicate status` reads the
//! typed [`Status`] the CLI serves beside them (`/status`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Mutex;

use crate::status::{ClusterStatus, Status, WorkerStatus};
use crate::status_board::StatusBoard;

/// Label set: a list of `(name, value)` pairs.
pub(crate) type Labels = Vec<(String, String)>;

/// `[("topic", t), ("partition", p)]`
pub(crate) fn partition_labels(topic: &str, partition: i32) -> Labels {
    vec![
        ("topic".into(), topic.into()),
        ("partition".into(), partition.to_string()),
    ]
}

/// `[("topic", t)]`
pub(crate) fn topic_labels(topic: &str) -> Labels {
    vec![("topic".into(), topic.into())]
}

/// `[("group", g)]`
pub(crate) fn group_labels(group: &str) -> Labels {
    vec![("group".into(), group.into())]
}

/// `[("cluster", alias)]`
pub(crate) fn cluster_labels(cluster: &str) -> Labels {
    vec![("cluster".into(), cluster.into())]
}

/// All metrics of one replicator.
pub struct ReplicatorMetrics {
    registry: Registry,
    /// MSK `ReplicationLatency`: ms from a record's source timestamp to its acknowledgement on
    /// the target, for the last record copied (per source partition).
    pub(crate) replication_latency_ms: Family<Labels, Gauge>,
    /// MSK `MessageLag`: source log end minus the replicator's position (per source partition).
    pub(crate) message_lag: Family<Labels, Gauge>,
    /// MSK `ReplicatorThroughput` (as a counter of bytes; rate() gives bytes/s), per topic.
    pub(crate) replicated_bytes: Family<Labels, Counter>,
    /// Records written to the target, per topic.
    pub(crate) replicated_records: Family<Labels, Counter>,
    /// MSK `ReplicatorBytesInPerSec` (counter): bytes read from the source, filtered included.
    pub(crate) bytes_in: Counter,
    /// Records not copied because they came from the target (loop prevention), per topic.
    pub(crate) filtered_records: Family<Labels, Counter>,
    /// MSK `ReplicationFailures` / `ReplicatorFailure`: failures of the data path, per topic.
    pub(crate) failures: Family<Labels, Counter>,
    /// Offsets lost to retention before they were copied (gaps), per source partition.
    pub(crate) gap_records: Family<Labels, Counter>,
    /// MSK `KafkaClusterPingSuccessCount`: 1 when the cluster answered the last probe.
    pub(crate) cluster_reachable: Family<Labels, Gauge>,
    /// MSK `AuthError`: failed authentications, per cluster.
    pub(crate) auth_errors: Family<Labels, Counter>,
    /// MSK `ThrottleTime`: the largest throttle (ms) brokers asked for in the last interval.
    pub(crate) throttle_time_ms: Family<Labels, Gauge>,
    /// MSK `ConsumerGroupCount`: groups being synchronised.
    pub(crate) consumer_group_count: Gauge,
    /// MSK `ConsumerGroupOffsetSyncFailure`.
    pub(crate) consumer_group_sync_failures: Counter,
    /// Consumer lag per cluster/group/topic/partition (MSK `OffsetLag`, summed = `SumOffsetLag`).
    pub(crate) consumer_group_lag: Family<Labels, Gauge>,
    /// 1 when the group's committed offsets on the target are the translation of its source
    /// commits or past it (it consumes there), on every partition that has a translation,
    /// else 0; set every sync round.
    pub(crate) consumer_group_synced: Family<Labels, Gauge>,
    /// 1 when the group can move to the target now: its target offsets are exactly the
    /// translation and it has no active members on the source; set every sync round.
    pub(crate) consumer_group_movable: Family<Labels, Gauge>,
    /// Topics being replicated.
    pub(crate) topic_count: Gauge,
    /// 1 for each Kafka API the configuration uses that the cluster does not offer.
    pub(crate) cluster_missing_api: Family<Labels, Gauge>,
    /// Topics the source lists (internal ones left out), selected or not; every topic refresh.
    pub(crate) source_topic_count: Gauge,
    /// While the selection matches no source topic: 1 for each of the source's topics (the
    /// first 20 by name), so `status` can name them; no series otherwise.
    pub(crate) unselected_source_topics: Family<Labels, Gauge>,
    /// Source partitions by state: `copying` (a copier runs) or `halted` (stopped: a write the
    /// target refuses, retried with backoff; or an error that needs an operator, e.g. a corrupt
    /// batch). Readiness needs every partition copying.
    pub(crate) partitions: Family<Labels, Gauge>,
    /// Each halted partition: the source offset it halted at (-1 when not known: its copier
    /// panicked). No series while the partition copies; set with [`Self::set_partitions`].
    pub(crate) partition_halted: Family<Labels, Gauge>,
    /// The `partition_halted` series now exposed, so the ones that copy again are removed.
    halted_exposed: Mutex<Vec<Labels>>,
    /// Checkpoints the target did not acknowledge (each is sent again at the next tick).
    pub(crate) checkpoint_failures: Counter,
    /// Restarts of the data path (a fresh producer for every partition) after connection,
    /// deadline or coordinator errors. Refusals of one partition's writes never restart it.
    pub(crate) data_path_restarts: Counter,
    /// Copier tasks that panicked, per topic (each restarted with backoff, halted after
    /// repeated panics).
    pub(crate) copier_panics: Family<Labels, Counter>,
    /// Worker group: generations this worker joined (each a rebalance it took part in).
    pub(crate) worker_rebalances: Counter,
    /// Worker group: the generation this worker's assignment is from (0 before the first).
    pub(crate) worker_generation: Gauge,
    /// Worker group: source partitions assigned to this worker and its session valid.
    pub(crate) worker_owned_partitions: Gauge,
    /// Worker group: 1 while this worker runs the cluster-level tasks (topic creation, config
    /// and ACL copy, consumer-group offset sync).
    pub(crate) worker_cluster_tasks: Gauge,
    /// Worker group, as the leader saw it in the last generation: partitions per member
    /// (labels `member`, `address`: its metrics address, empty when it serves none).
    pub(crate) worker_group_members: Family<Labels, Gauge>,
    /// What [`Self::status`] reads besides the metrics.
    pub(crate) board: StatusBoard,
}

impl std::fmt::Debug for ReplicatorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The values are in `status()` and `encode()`; printing every family here would be
        // both long and a second source of truth.
        f.debug_struct("ReplicatorMetrics")
            .field("board", &self.board)
            .finish_non_exhaustive()
    }
}

impl Default for ReplicatorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicatorMetrics {
    test_util_pub! {
        /// Every metric at zero, in a registry of its own ([`Self::encode`]; an embedder may add
        /// them to its own with [`Self::register`]).
        pub fn new() -> Self {
            let mut registry = Registry::with_prefix("kreplicate");
            let m = ReplicatorMetrics {
                replication_latency_ms: Family::default(),
                message_lag: Family::default(),
                replicated_bytes: Family::default(),
                replicated_records: Family::default(),
                bytes_in: Counter::default(),
                filtered_records: Family::default(),
                failures: Family::default(),
                gap_records: Family::default(),
                cluster_reachable: Family::default(),
                auth_errors: Family::default(),
                throttle_time_ms: Family::default(),
                consumer_group_count: Gauge::default(),
                consumer_group_sync_failures: Counter::default(),
                consumer_group_lag: Family::default(),
                consumer_group_synced: Family::default(),
                consumer_group_movable: Family::default(),
                topic_count: Gauge::default(),
                cluster_missing_api: Family::default(),
                source_topic_count: Gauge::default(),
                unselected_source_topics: Family::default(),
                partitions: Family::default(),
                partition_halted: Family::default(),
                halted_exposed: Mutex::default(),
                checkpoint_failures: Counter::default(),
                data_path_restarts: Counter::default(),
                copier_panics: Family::default(),
                worker_rebalances: Counter::default(),
                worker_generation: Gauge::default(),
                worker_owned_partitions: Gauge::default(),
                worker_cluster_tasks: Gauge::default(),
                worker_group_members: Family::default(),
                registry: Registry::default(),
                board: StatusBoard::default(),
            };
            m.register_families(&mut registry);
            ReplicatorMetrics { registry, ..m }
        }
    }

    /// Registers every metric into `registry` under the prefix `kreplicate`, so an embedder
    /// serves them beside its own (they keep updating: the registry holds shared handles).
    /// Call it once per registry: a second call registers every name again.
    pub fn register(&self, registry: &mut Registry) {
        self.register_families(registry.sub_registry_with_prefix("kreplicate"));
    }

    fn register_families(&self, registry: &mut Registry) {
        registry.register(
            "replication_latency_ms",
            "Milliseconds from source timestamp to target acknowledgement (MSK ReplicationLatency)",
            self.replication_latency_ms.clone(),
        );
        registry.register(
            "message_lag",
            "Source log end offset minus replicator position (MSK MessageLag)",
            self.message_lag.clone(),
        );
        registry.register(
            "replicated_bytes",
            "Bytes written to the target (MSK ReplicatorThroughput)",
            self.replicated_bytes.clone(),
        );
        registry.register(
            "replicated_records",
            "Records written to the target",
            self.replicated_records.clone(),
        );
        registry.register(
            "bytes_in",
            "Bytes read from the source, filtered records included (MSK ReplicatorBytesInPerSec)",
            self.bytes_in.clone(),
        );
        registry.register(
            "filtered_records",
            "Records not copied because they came from the target (loop prevention)",
            self.filtered_records.clone(),
        );
        registry.register(
            "replication_failures",
            "Data-path failures (MSK ReplicationFailures / ReplicatorFailure)",
            self.failures.clone(),
        );
        registry.register(
            "gap_records",
            "Source offsets removed by retention before they were copied",
            self.gap_records.clone(),
        );
        registry.register(
            "cluster_reachable",
            "1 when the cluster answered the last probe (MSK KafkaClusterPingSuccessCount)",
            self.cluster_reachable.clone(),
        );
        registry.register(
            "auth_errors",
            "Failed authentications (MSK AuthError)",
            self.auth_errors.clone(),
        );
        registry.register(
            "throttle_time_ms",
            "Largest broker throttle in the last interval (MSK ThrottleTime)",
            self.throttle_time_ms.clone(),
        );
        registry.register(
            "worker_rebalances",
            "Worker-group generations this worker joined",
            self.worker_rebalances.clone(),
        );
        registry.register(
            "worker_generation",
            "Worker-group generation of this worker's assignment",
            self.worker_generation.clone(),
        );
        registry.register(
            "worker_owned_partitions",
            "Source partitions assigned to this worker (session valid)",
            self.worker_owned_partitions.clone(),
        );
        registry.register(
            "worker_cluster_tasks",
            "1 while this worker runs the cluster-level tasks",
            self.worker_cluster_tasks.clone(),
        );
        registry.register(
            "worker_group_members",
            "Partitions per worker-group member, as the leader assigned them",
            self.worker_group_members.clone(),
        );
        registry.register(
            "consumer_group_count",
            "Consumer groups being synchronised (MSK ConsumerGroupCount)",
            self.consumer_group_count.clone(),
        );
        registry.register(
            "consumer_group_offset_sync_failures",
            "Consumer-group offset sync failures (MSK ConsumerGroupOffsetSyncFailure)",
            self.consumer_group_sync_failures.clone(),
        );
        registry.register(
            "consumer_group_lag",
            "Consumer lag per cluster, group, topic and partition (MSK OffsetLag)",
            self.consumer_group_lag.clone(),
        );
        registry.register(
            "consumer_group_synced",
            "1 when the group's committed target offsets are the translation of its source commits (or past it)",
            self.consumer_group_synced.clone(),
        );
        registry.register(
            "consumer_group_movable",
            "1 when the group can move to the target now: target offsets exactly translated, no active members on the source",
            self.consumer_group_movable.clone(),
        );
        registry.register(
            "topic_count",
            "Topics being replicated",
            self.topic_count.clone(),
        );
        registry.register(
            "cluster_missing_api",
            "1 for each Kafka API this replicator's configuration uses that the cluster does not offer (what needs it cannot run)",
            self.cluster_missing_api.clone(),
        );
        registry.register(
            "source_topic_count",
            "Topics on the source cluster (internal ones left out), selected or not",
            self.source_topic_count.clone(),
        );
        registry.register(
            "unselected_source_topic",
            "While TopicsToReplicate selects no source topic: 1 for each source topic (the first 20 by name)",
            self.unselected_source_topics.clone(),
        );
        registry.register(
            "partitions",
            "Source partitions by state: copying or halted",
            self.partitions.clone(),
        );
        registry.register(
            "partition_halted",
            "Each halted partition: the source offset it halted at (-1: not known, its copier panicked); no series while it copies",
            self.partition_halted.clone(),
        );
        registry.register(
            "checkpoint_failures",
            "Checkpoints the target did not acknowledge (sent again at the next tick)",
            self.checkpoint_failures.clone(),
        );
        registry.register(
            "data_path_restarts",
            "Restarts of the whole data path after connection, deadline or coordinator errors",
            self.data_path_restarts.clone(),
        );
        registry.register(
            "copier_panics",
            "Copier tasks that panicked (restarted with backoff, halted after repeated panics)",
            self.copier_panics.clone(),
        );
    }

    test_util_pub! {
        /// Creates the zero-valued series of both clusters (auth errors, throttling, consumer lag) and of the
        /// failures that concern no topic, so that `increase()` alerts see the first failure:
        /// a labelled family is not exposed at all until it has a series.
        pub fn expose_clusters(&self, source_alias: &str, target_alias: &str) {
            for alias in [source_alias, target_alias] {
                let _ = self.auth_errors.get_or_create(&cluster_labels(alias));
                let _ = self.throttle_time_ms.get_or_create(&cluster_labels(alias));
                // No group is known yet: a 0 with empty group, topic and partition, replaced by the
                // cluster's first real sample (`groups::lag`).
                let _ = self
                    .consumer_group_lag
                    .get_or_create(&crate::groups::lag::placeholder_lag_labels(alias));
            }
            let _ = self.failures.get_or_create(&topic_labels(""));
            self.set_partitions(0, std::iter::empty());
            self.board.set_clusters(source_alias, target_alias);
        }
    }

    /// Creates the zero-valued series of a replicated topic and its partitions (failures,
    /// filtered and copied records and bytes, gaps), for the same reason.
    pub(crate) fn expose_topic(&self, topic: &str, partitions: i32) {
        let labels = topic_labels(topic);
        let _ = self.failures.get_or_create(&labels);
        let _ = self.filtered_records.get_or_create(&labels);
        let _ = self.replicated_records.get_or_create(&labels);
        let _ = self.replicated_bytes.get_or_create(&labels);
        let _ = self.copier_panics.get_or_create(&labels);
        for p in 0..partitions {
            let _ = self.gap_records.get_or_create(&partition_labels(topic, p));
        }
        self.board.add_topic(topic, partitions);
    }

    test_util_pub! {
        /// Records whether a cluster answered (the engine does on connecting and at each probe);
        /// [`status`](Self::status) and so readiness read it.
        pub fn set_cluster_reachable(&self, alias: &str, reachable: bool) {
            self.cluster_reachable
                .get_or_create(&cluster_labels(alias))
                .set(i64::from(reachable));
        }
    }

    /// A typed snapshot of every partition, group and cluster (see [`Status`]).
    pub fn status(&self) -> Status {
        let counter = |family: &Family<Labels, Counter>, topic: &str| {
            family.get(&topic_labels(topic)).map_or(0, |c| c.get())
        };
        let topics = self.board.topics();
        let (source_topics, unselected_source_topics) = self.board.source_topics();
        let sum = |family: &Family<Labels, Counter>| -> u64 {
            topics.iter().map(|t| counter(family, t)).sum()
        };
        Status {
            clusters: self
                .board
                .clusters()
                .into_iter()
                .map(|(role, alias)| ClusterStatus {
                    reachable: self
                        .cluster_reachable
                        .get(&cluster_labels(&alias))
                        .is_some_and(|g| g.get() == 1),
                    role,
                    alias,
                })
                .collect(),
            partitions: self.board.partitions(),
            groups: self.board.groups(),
            topics: self.topic_count.get().max(0) as u64,
            records_copied: sum(&self.replicated_records),
            bytes_copied: sum(&self.replicated_bytes),
            replication_failures: sum(&self.failures),
            offset_sync_failures: self.consumer_group_sync_failures.get(),
            consumer_groups: self.consumer_group_count.get().max(0) as u64,
            consumer_lag: self.board.consumer_lag(),
            missing_apis: self.board.missing_apis(),
            source_topics,
            unselected_source_topics,
            worker: self.board.worker_members().map(|members| WorkerStatus {
                owned_partitions: self.worker_owned_partitions.get().max(0) as u64,
                members,
            }),
        }
    }

    /// Sets the `partitions` gauge for both states, and `partition_halted` to exactly the
    /// halted partitions given (topic, partition, the source offset it halted at if known).
    pub(crate) fn set_partitions<'a>(
        &self,
        copying: usize,
        halted: impl IntoIterator<Item = (&'a str, i32, Option<i64>)>,
    ) {
        let mut exposed = self
            .halted_exposed
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut now = Vec::new();
        for (topic, partition, offset) in halted {
            let labels = partition_labels(topic, partition);
            self.partition_halted
                .get_or_create(&labels)
                .set(offset.unwrap_or(-1));
            now.push(labels);
        }
        for gone in exposed.iter().filter(|l| !now.contains(l)) {
            self.partition_halted.remove(gone);
        }
        for (state, n) in [("copying", copying), ("halted", now.len())] {
            self.partitions
                .get_or_create(&vec![("state".to_string(), state.to_string())])
                .set(n as i64);
        }
        *exposed = now;
    }

    /// The Prometheus / OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod docs_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A halted partition has a series naming where it halted, until it copies again.
    #[test]
    fn halted_partitions_are_named_until_they_copy_again() {
        let m = ReplicatorMetrics::new();
        m.set_partitions(3, [("orders", 2, Some(1234)), ("audit", 0, None)]);
        let text = m.encode();
        assert!(
            text.contains(r#"kreplicate_partition_halted{topic="orders",partition="2"} 1234"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_partition_halted{topic="audit",partition="0"} -1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_partitions{state="halted"} 2"#),
            "{text}"
        );
        m.set_partitions(4, [("audit", 0, None)]);
        let text = m.encode();
        assert!(
            !text.contains(r#"topic="orders",partition="2"} 1234"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_partition_halted{topic="audit",partition="0"} -1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_partitions{state="halted"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_partitions{state="copying"} 4"#),
            "{text}"
        );
    }

    /// Every labelled counter an alert watches is exposed, at 0, before its first event.
    #[test]
    fn known_series_are_exposed_at_zero_before_any_event() {
        let m = ReplicatorMetrics::new();
        assert!(!m.encode().contains("kreplicate_replication_failures"));
        m.expose_clusters("src", "dst");
        m.expose_topic("orders", 2);
        let text = m.encode();
        for line in [
            r#"kreplicate_auth_errors_total{cluster="src"} 0"#,
            r#"kreplicate_auth_errors_total{cluster="dst"} 0"#,
            r#"kreplicate_replication_failures_total{topic=""} 0"#,
            r#"kreplicate_replication_failures_total{topic="orders"} 0"#,
            r#"kreplicate_filtered_records_total{topic="orders"} 0"#,
            r#"kreplicate_gap_records_total{topic="orders",partition="1"} 0"#,
            r#"kreplicate_partitions{state="halted"} 0"#,
            r#"kreplicate_consumer_group_lag{cluster="src",group="",topic="",partition=""} 0"#,
            r#"kreplicate_consumer_group_lag{cluster="dst",group="",topic="",partition=""} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
    }

    /// An embedder's registry serves the same series, and they keep updating.
    #[test]
    fn registers_into_a_callers_registry() {
        let m = ReplicatorMetrics::new();
        let mut registry = Registry::default();
        m.register(&mut registry);
        m.message_lag
            .get_or_create(&partition_labels("orders", 2))
            .set(42);
        m.bytes_in.inc_by(10);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"kreplicate_message_lag{topic="orders",partition="2"} 42"#),
            "{text}"
        );
        assert!(text.contains("kreplicate_bytes_in_total 10"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# TYPE")).count(),
            m.encode()
                .lines()
                .filter(|l| l.starts_with("# TYPE"))
                .count(),
            "every family, once"
        );
    }

    /// The status snapshot follows the engine's reports: positions, states with the halt's
    /// reason, totals over every topic, groups.
    #[test]
    fn status_follows_what_the_engine_reports() {
        use crate::status::PartitionState;
        let m = ReplicatorMetrics::new();
        m.expose_clusters("src", "dst");
        m.cluster_reachable
            .get_or_create(&cluster_labels("src"))
            .set(1);
        m.expose_topic("orders", 2);
        m.board.started("orders", 0, 10, 3);
        m.board.acked("orders", 0, 15, 8, Some(250));
        m.board.fetched("orders", 0, 20, 5, false);
        m.replicated_records
            .get_or_create(&topic_labels("orders"))
            .inc_by(5);
        m.failures.get_or_create(&topic_labels("")).inc();
        m.board.set_states(
            |topic, partition| (topic, partition) == ("orders", 0),
            [("orders", 1, Some(7), "record too large")],
        );
        m.board
            .set_group("billing", true, false, vec![("orders".into(), 0, 12)]);
        let s = m.status();
        let reachable: Vec<(&str, bool)> = s
            .clusters
            .iter()
            .map(|c| (c.alias.as_str(), c.reachable))
            .collect();
        assert_eq!(reachable, [("src", true), ("dst", false)]);
        let p0 = s.partition("orders", 0).unwrap();
        assert_eq!(p0.state, PartitionState::Copying);
        assert_eq!(
            (
                p0.source_offset,
                p0.target_offset,
                p0.source_end,
                p0.lag,
                p0.latency_ms
            ),
            (Some(15), Some(8), Some(20), Some(5), Some(250))
        );
        assert_eq!(
            s.partition("orders", 1).unwrap().state,
            PartitionState::Halted {
                offset: Some(7),
                reason: "record too large".into()
            }
        );
        assert_eq!((s.records_copied, s.replication_failures), (5, 1));
        assert_eq!(s.groups.len(), 1);
        assert_eq!(
            (s.groups[0].synced, s.groups[0].offsets[0].offset),
            (true, 12)
        );
        assert!(!s.is_caught_up());
        // Caught up: the latency goes; no longer running: not started.
        m.board.fetched("orders", 0, 20, 0, true);
        m.board.set_states(|_, _| false, []);
        let p0 = m.status().partition("orders", 0).cloned().unwrap();
        assert_eq!((p0.lag, p0.latency_ms), (Some(0), None));
        assert_eq!(p0.state, PartitionState::NotStarted);
    }

    /// What `kreplicate status` reads besides partitions and groups: consumer lag, missing
    /// APIs, the source's topics and the worker group, as the engine reports them; a JSON
    /// round trip keeps all of it.
    #[test]
    fn status_carries_lag_missing_apis_source_topics_and_workers() {
        let m = ReplicatorMetrics::new();
        m.expose_clusters("src", "dst");
        let s = m.status();
        assert_eq!((s.source_topics, s.worker.is_none()), (None, true));
        m.board.set_consumer_lag("dst", "billing", "orders", 0, 7);
        m.board.set_consumer_lag("src", "billing", "orders", 0, 5);
        m.board.set_consumer_lag("dst", "billing", "orders", 0, 3);
        m.board.set_missing_api("dst", "CreatePartitions", true);
        m.board.set_missing_api("src", "ListGroups", true);
        m.board.set_missing_api("src", "ListGroups", false);
        m.board
            .set_source_topics(23, vec!["a".to_owned(), "b".to_owned()]);
        m.consumer_group_count.set(2);
        m.worker_owned_partitions.set(4);
        m.board.set_worker_members([
            ("m2".to_owned(), Some("b:1".to_owned()), 3),
            ("m1".to_owned(), Some("a:1".to_owned()), 4),
        ]);
        let s = m.status();
        assert_eq!(s.total_consumer_lag(), 8);
        assert_eq!(s.consumer_lag.len(), 2);
        let missing: Vec<(&str, &str)> = s
            .missing_apis
            .iter()
            .map(|a| (a.cluster.as_str(), a.api.as_str()))
            .collect();
        assert_eq!(missing, [("dst", "CreatePartitions")]);
        assert_eq!(s.source_topics, Some(23));
        assert_eq!(s.unselected_source_topics, ["a", "b"]);
        assert_eq!(s.consumer_groups, 2);
        let worker = s.worker.as_ref().unwrap();
        let members: Vec<(&str, u64)> = worker
            .members
            .iter()
            .map(|w| (w.member.as_str(), w.partitions))
            .collect();
        assert_eq!(
            (worker.owned_partitions, members),
            (4, vec![("m1", 4), ("m2", 3)])
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
    }

    #[test]
    fn exposes_prefixed_names_with_labels() {
        let m = ReplicatorMetrics::new();
        m.message_lag
            .get_or_create(&partition_labels("orders", 2))
            .set(42);
        m.cluster_reachable
            .get_or_create(&cluster_labels("source"))
            .set(1);
        m.bytes_in.inc_by(10);
        let text = m.encode();
        assert!(
            text.contains(r#"kreplicate_message_lag{topic="orders",partition="2"} 42"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kreplicate_cluster_reachable{cluster="source"} 1"#),
            "{text}"
        );
        assert!(text.contains("kreplicate_bytes_in_total 10"), "{text}");
    }
}
