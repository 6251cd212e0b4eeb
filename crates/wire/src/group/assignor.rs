//! The range assignor: for each topic, its partitions split into contiguous ranges over the
//! members subscribed to it, in member-id order; the first members get one extra partition
//! when the count does not divide evenly. (Kafka's `range` strategy.)

use std::collections::BTreeMap;

use super::TopicPartitions;

/// Assigns `partitions` (topic → partition count) to `members` (member id → subscribed
/// topics). Every member appears in the result, with an empty assignment if it gets
/// nothing; topics nobody subscribes to, or with no partitions, are not assigned. Each
/// member's topics are sorted by name and partitions ascending.
pub(crate) fn range_assign(
    members: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, TopicPartitions> {
    let mut out: BTreeMap<String, TopicPartitions> =
        members.keys().map(|m| (m.clone(), Vec::new())).collect();
    for (topic, &count) in partitions {
        // BTreeMap keys: members already in id order.
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let n = subscribers.len() as i32;
        let (base, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, member) in subscribers.into_iter().enumerate() {
            let take = base + i32::from((i as i32) < extra);
            if take > 0 {
                if let Some(assigned) = out.get_mut(member) {
                    assigned.push((topic.clone(), (next..next + take).collect()));
                }
            }
            next += take;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(spec: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        spec.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn splits_ranges_with_extras_first() {
        let m = members(&[("b", &["t"]), ("a", &["t"])]);
        let p = BTreeMap::from([("t".to_string(), 5)]);
        let out = range_assign(&m, &p);
        assert_eq!(out["a"], vec![("t".to_string(), vec![0, 1, 2])]);
        assert_eq!(out["b"], vec![("t".to_string(), vec![3, 4])]);
    }

    #[test]
    fn respects_subscriptions_and_keeps_idle_members() {
        let m = members(&[("a", &["x", "y"]), ("b", &["y"]), ("c", &["x", "y"])]);
        let p = BTreeMap::from([
            ("x".to_string(), 1),
            ("y".to_string(), 4),
            ("z".to_string(), 3),
        ]);
        let out = range_assign(&m, &p);
        assert_eq!(
            out["a"],
            vec![("x".to_string(), vec![0]), ("y".to_string(), vec![0, 1])]
        );
        assert_eq!(out["b"], vec![("y".to_string(), vec![2])]);
        assert_eq!(out["c"], vec![("y".to_string(), vec![3])]);

        // More members than partitions: the last ones get nothing but are listed.
        let m = members(&[("a", &["x"]), ("b", &["x"])]);
        let out = range_assign(&m, &BTreeMap::from([("x".to_string(), 1)]));
        assert_eq!(out["a"], vec![("x".to_string(), vec![0])]);
        assert_eq!(out["b"], vec![]);
    }

    #[test]
    fn every_partition_exactly_once() {
        for n_members in 1..6 {
            for count in 0..12 {
                let m: BTreeMap<String, Vec<String>> = (0..n_members)
                    .map(|i| (format!("m{i}"), vec!["t".to_string()]))
                    .collect();
                let out = range_assign(&m, &BTreeMap::from([("t".to_string(), count)]));
                let mut all: Vec<i32> = out
                    .values()
                    .flat_map(|a| a.iter().flat_map(|(_, ps)| ps.iter().copied()))
                    .collect();
                all.sort();
                assert_eq!(
                    all,
                    (0..count).collect::<Vec<_>>(),
                    "{n_members} members, {count}"
                );
                let sizes: Vec<usize> = out
                    .values()
                    .map(|a| a.iter().map(|(_, ps)| ps.len()).sum())
                    .collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "unbalanced {sizes:?}");
            }
        }
    }
}
