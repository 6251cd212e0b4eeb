//! `kreplicate status` across a worker group (`run --worker-group`): the metrics named by
//! `--metrics-url` list every member of the group with its advertised metrics address
//! (`kreplicate_worker_group_members`); each member's metrics are read, a row per member says
//! whether all its partitions copy, and the replicator is READY only when every selected
//! partition is owned by a member and copying. The checklist then runs over all members'
//! samples together.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::http_get;
use crate::prometheus_text::{self, Exposition};
use crate::status::{check, count, Check};

/// One member of the group and what its metrics say.
#[derive(Debug, Clone)]
pub struct Worker {
    pub member: String,
    /// Its advertised metrics address (`host:port`), empty when it advertises none.
    pub address: String,
    /// Partitions the leader assigned it.
    pub assigned: f64,
    /// Its metrics, or why they cannot be read.
    pub metrics: Result<Exposition, String>,
}

/// The members listed in `e` (none outside a worker group), sorted by address.
fn members(e: &Exposition) -> Vec<(String, String, f64)> {
    let mut out: Vec<(String, String, f64)> = e
        .named("kreplicate_worker_group_members")
        .map(|s| {
            (
                s.label("member").unwrap_or("?").to_string(),
                s.label("address").unwrap_or("").to_string(),
                s.value,
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    out
}

/// Reads every member's metrics; `None` outside a worker group.
pub async fn read(e: &Exposition, timeout: Duration) -> Option<Vec<Worker>> {
    let listed = members(e);
    if listed.is_empty() {
        return None;
    }
    let reads = listed
        .into_iter()
        .map(|(member, address, assigned)| async move {
            let metrics = if address.is_empty() {
                Err("advertises no metrics address (run --advertise-metrics-addr)".to_string())
            } else {
                let url = format!("http://{address}/metrics");
                match http_get::get(&url, timeout).await {
                    Ok(text) => prometheus_text::parse(&text).map_err(|e| format!("{url}: {e}")),
                    Err(e) => Err(e),
                }
            };
            Worker {
                member,
                address,
                assigned,
                metrics,
            }
        });
    Some(futures::future::join_all(reads).await)
}

/// Every reachable member's samples together, for the rest of the checklist.
pub fn merged(workers: &[Worker]) -> Exposition {
    let mut out = Exposition::default();
    for w in workers {
        if let Ok(e) = &w.metrics {
            out.samples.extend(e.samples.iter().cloned());
            out.families.extend(e.families.iter().cloned());
        }
    }
    out
}

/// A row per member, then whether every selected partition is owned and copying.
pub fn evaluate(workers: &[Worker]) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut selected: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut owned, mut copying) = (0.0, 0.0);
    for w in workers {
        let name = if w.address.is_empty() {
            format!("worker {}", w.member)
        } else {
            format!("worker {}", w.address)
        };
        let e = match &w.metrics {
            Ok(e) => e,
            Err(why) => {
                checks.push(check(
                    name,
                    format!("unreadable: {why}"),
                    "reachable",
                    false,
                ));
                continue;
            }
        };
        // Every worker exposes every selected partition (its topic refresh sees them all).
        selected.extend(e.named("kreplicate_gap_records_total").map(|s| {
            (
                s.label("topic").unwrap_or("").to_string(),
                s.label("partition").unwrap_or("").to_string(),
            )
        }));
        let its_owned = e.sum("kreplicate_worker_owned_partitions");
        let its_copying: f64 = e
            .named("kreplicate_partitions")
            .filter(|s| s.label("state") == Some("copying"))
            .map(|s| s.value)
            .sum::<f64>()
            + 0.0;
        owned += its_owned;
        copying += its_copying.min(its_owned);
        checks.push(check(
            name,
            format!(
                "{} assigned, {} owned, {} copying",
                count(w.assigned),
                count(its_owned),
                count(its_copying)
            ),
            "owned = assigned = copying",
            its_owned == w.assigned && its_copying == its_owned,
        ));
    }
    let total = selected.len() as f64;
    checks.push(check(
        "partitions owned",
        format!("{} of {}", count(owned), count(total)),
        "every selected partition",
        total > 0.0 && owned == total,
    ));
    checks.push(check(
        "partitions owned and copying",
        format!("{} of {}", count(copying), count(total)),
        "every selected partition",
        total > 0.0 && copying == total,
    ));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker's metrics: `owned` partitions assigned and owned, `copying` of them copying,
    /// over 4 selected partitions of `t`.
    fn worker(address: &str, assigned: f64, owned: usize, copying: usize) -> Worker {
        let mut text = String::new();
        for p in 0..4 {
            text.push_str(&format!(
                "kreplicate_gap_records_total{{topic=\"t\",partition=\"{p}\"}} 0\n"
            ));
        }
        text.push_str(&format!(
            "kreplicate_worker_owned_partitions {owned}\nkreplicate_partitions{{state=\"copying\"}} {copying}\nkreplicate_partitions{{state=\"halted\"}} {}\n",
            owned - copying
        ));
        Worker {
            member: format!("m-{address}"),
            address: address.into(),
            assigned,
            metrics: Ok(prometheus_text::parse(&text).unwrap()),
        }
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn ready_only_when_every_partition_is_owned_and_copying() {
        let ready = [worker("a:1", 2.0, 2, 2), worker("b:1", 2.0, 2, 2)];
        let checks = evaluate(&ready);
        assert!(failing(&checks).is_empty(), "{checks:?}");
        assert_eq!(checks[2].value, "4 of 4");

        // A member cannot be read.
        let mut unreachable = ready.clone();
        unreachable[1].metrics = Err("connection refused".into());
        assert_eq!(
            failing(&evaluate(&unreachable)),
            [
                "worker b:1",
                "partitions owned",
                "partitions owned and copying"
            ]
        );

        // A partition owned by nobody (a member's session is not confirmed: it owns 0 of
        // the 2 the leader gave it).
        let unowned = [worker("a:1", 2.0, 2, 2), worker("b:1", 2.0, 0, 0)];
        assert_eq!(
            failing(&evaluate(&unowned)),
            [
                "worker b:1",
                "partitions owned",
                "partitions owned and copying"
            ]
        );

        // Owned but not copying (halted).
        let halted = [worker("a:1", 2.0, 2, 2), worker("b:1", 2.0, 2, 1)];
        assert_eq!(
            failing(&evaluate(&halted)),
            ["worker b:1", "partitions owned and copying"]
        );

        // A member without an address is named by its id and cannot be read.
        let mut anonymous = ready.clone();
        anonymous[0].address.clear();
        anonymous[0].metrics = Err("advertises no metrics address".into());
        assert_eq!(failing(&evaluate(&anonymous))[0], "worker m-a:1");
    }

    #[test]
    fn members_are_listed_from_the_leaders_view() {
        let e = prometheus_text::parse(
            "kreplicate_worker_group_members{member=\"m2\",address=\"b:9464\"} 3\nkreplicate_worker_group_members{member=\"m1\",address=\"a:9464\"} 5\n",
        )
        .unwrap();
        assert_eq!(
            members(&e),
            [
                ("m1".to_string(), "a:9464".to_string(), 5.0),
                ("m2".to_string(), "b:9464".to_string(), 3.0)
            ]
        );
        assert!(members(&Exposition::default()).is_empty());
    }
}
