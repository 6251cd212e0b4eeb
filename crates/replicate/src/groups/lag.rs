//! Consumer lag per cluster, group, topic and partition (MSK `OffsetLag`; summed over a
//! group's partitions it is `SumOffsetLag`): the partition's log end minus the group's
//! committed offset, on the source and on the target, so an operator sees both sides of a
//! migration converge.

use std::collections::HashMap;

use kreplicate_wire::client::Client;
use kreplicate_wire::fetcher::high_watermark;

use crate::metrics::{Labels, ReplicatorMetrics};

/// Log ends of one cluster, each read at most once per sync round.
pub(crate) struct LogEnds {
    client: Client,
    alias: String,
    ends: HashMap<(String, i32), Option<i64>>,
}

impl LogEnds {
    /// An empty cache for the cluster `client` talks to, labelled `alias`.
    pub(crate) fn new(client: Client, alias: &str) -> Self {
        LogEnds {
            client,
            alias: alias.to_string(),
            ends: HashMap::new(),
        }
    }

    /// Forgets every log end (a new round starts).
    pub(crate) fn clear(&mut self) {
        self.ends.clear();
    }

    async fn end(&mut self, topic: &str, partition: i32) -> Option<i64> {
        let key = (topic.to_string(), partition);
        if let Some(end) = self.ends.get(&key) {
            return *end;
        }
        let end = high_watermark(&self.client, topic, partition).await.ok();
        self.ends.insert(key, end);
        end
    }

    /// Sets `consumer_group_lag` for `group` on `topic`-`partition` of this cluster, whose
    /// committed offset is `committed`. Nothing is set when the log end cannot be read.
    pub(crate) async fn report(
        &mut self,
        metrics: &ReplicatorMetrics,
        group: &str,
        topic: &str,
        partition: i32,
        committed: i64,
    ) {
        if let Some(end) = self.end(topic, partition).await {
            let lag = (end - committed).max(0);
            metrics
                .consumer_group_lag
                .get_or_create(&lag_labels(&self.alias, group, topic, partition))
                .set(lag);
            metrics
                .board
                .set_consumer_lag(&self.alias, group, topic, partition, lag);
            metrics
                .consumer_group_lag
                .remove(&placeholder_lag_labels(&self.alias));
        }
    }
}

/// The labels of the cluster's zero series exposed before any group's lag is known (so the
/// family, and `absent()`-style alerts on it, exist from start).
pub(crate) fn placeholder_lag_labels(cluster: &str) -> Labels {
    vec![
        ("cluster".into(), cluster.into()),
        ("group".into(), String::new()),
        ("topic".into(), String::new()),
        ("partition".into(), String::new()),
    ]
}

/// `cluster`, `group`, `topic`, `partition` labels of `consumer_group_lag`.
pub(crate) fn lag_labels(cluster: &str, group: &str, topic: &str, partition: i32) -> Labels {
    vec![
        ("cluster".into(), cluster.into()),
        ("group".into(), group.into()),
        ("topic".into(), topic.into()),
        ("partition".into(), partition.to_string()),
    ]
}
