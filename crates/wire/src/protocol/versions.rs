//! ApiVersions negotiation: each request uses the highest version that both we and the broker
//! support ([`Api::OURS`] lists ours).

use std::collections::HashMap;

use super::api::api_name;
use super::Api;

/// Our supported range for `key`, if we send it at all.
pub(crate) fn our_range(key: i16) -> Option<(i16, i16)> {
    Api::OURS
        .iter()
        .find(|(api, _, _)| api.key() == key)
        .map(|(_, min, max)| (*min, *max))
}

test_util_pub! {
    /// What one broker advertised in its ApiVersions response.
    #[derive(Debug, Clone, Default)]
    pub struct ApiVersionTable {
        ranges: HashMap<i16, (i16, i16)>,
    }
}

/// Why no version could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoCommonVersion {
    pub api: &'static str,
    pub our_min: i16,
    pub our_max: i16,
    /// What the broker offers, e.g. "v0..=v3" or "nothing".
    pub offered: String,
}

impl ApiVersionTable {
    /// Builds the table from `(api_key, min, max)` triples as the broker sent them.
    pub(crate) fn new(advertised: impl IntoIterator<Item = (i16, i16, i16)>) -> Self {
        Self {
            ranges: advertised
                .into_iter()
                .map(|(k, min, max)| (k, (min, max)))
                .collect(),
        }
    }

    test_util_pub! {
        /// The broker's range for `key`, if it advertised it.
        pub fn broker_range(&self, key: i16) -> Option<(i16, i16)> {
            self.ranges.get(&key).copied()
        }
    }

    test_util_pub! {
        /// Whether the broker advertises `api` at all (e.g. Tansu lacks CreatePartitions).
        pub fn supports(&self, api: Api) -> bool {
            self.ranges.contains_key(&api.key())
        }
    }

    /// The highest version of `key` both sides support.
    pub(crate) fn choose(&self, key: i16) -> Result<i16, NoCommonVersion> {
        let (our_min, our_max) = our_range(key).unwrap_or((0, 0));
        let api = api_name(key);
        let Some((broker_min, broker_max)) = self.broker_range(key) else {
            return Err(NoCommonVersion {
                api,
                our_min,
                our_max,
                offered: "nothing (the API is not advertised)".into(),
            });
        };
        let max = our_max.min(broker_max);
        let min = our_min.max(broker_min);
        if max < min {
            return Err(NoCommonVersion {
                api,
                our_min,
                our_max,
                offered: format!("v{broker_min}..=v{broker_max}"),
            });
        }
        Ok(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_highest_common_version() {
        let t = ApiVersionTable::new([(1, 0, 17), (0, 0, 9), (37, 0, 1)]);
        assert_eq!(t.choose(1), Ok(12)); // capped by us
        assert_eq!(t.choose(0), Ok(9)); // capped by the broker
        assert_eq!(t.choose(37), Ok(1));
    }

    #[test]
    fn reports_missing_and_disjoint_ranges() {
        let t = ApiVersionTable::new([(0, 0, 2)]);
        let e = t.choose(0).unwrap_err();
        assert_eq!((e.api, e.our_min, e.our_max), ("Produce", 3, 11));
        assert_eq!(e.offered, "v0..=v2");
        let e = t.choose(37).unwrap_err();
        assert_eq!(e.api, "CreatePartitions");
        assert!(e.offered.contains("not advertised"));
    }
}
