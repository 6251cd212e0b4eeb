//! A Kafka-strict layer in front of one Tansu broker: it enforces Apache Kafka's broker-side
//! rules for the requests kreplicate sends and answers with Kafka's exact error codes, where
//! Tansu alone accepts almost anything (see docs/test-brokers.md for the rule list, each with
//! its Kafka source and test).
//!
//! It runs inside the [`front`](crate::front): every connection is relayed frame by frame, with
//! broker addresses rewritten to the layer's so clients keep coming back through it, and
//! Produce, CreateTopics, IncrementalAlterConfigs, DeleteTopics, DescribeConfigs, Metadata and
//! read_committed Fetch intercepted. Answers go back in request order. It therefore also works behind TLS/SASL
//! ([`StrictKafka::start_behind`]).
//!
//! ```no_run
//! use kreplicate_testkit::strict::{StrictTansu, Rule};
//! let broker = StrictTansu::start()?;
//! println!("strict: {}, raw Tansu: {}", broker.bootstrap(), broker.raw_addr());
//! assert_eq!(broker.strict().refusals().count(Rule::MessageTooLarge), 0);
//! # anyhow::Ok(())
//! ```

mod admin;
mod batch;
mod compression;
mod config_cache;
pub(crate) mod connection;
mod fetch_repair;
mod produce;
mod producer_state;
mod reencode;
mod refusals;
mod request_log;
mod rules;
mod topic_config;
mod txn_index;
mod upstream;

use std::fmt;
use std::sync::Arc;

pub use refusals::{Refusals, Rule};
pub use request_log::SeenRequest;
pub use rules::{StrictRules, StrictRulesHandle};

use crate::front::{Front, FrontConfig};
use crate::tansu::{TansuBroker, TansuOptions};
use config_cache::ConfigCache;
use producer_state::ProducerStates;
use refusals::RefusalCounters;
use request_log::RequestLog;
use txn_index::TxnIndex;

/// What every connection of one layer shares.
pub(crate) struct StrictState {
    upstream: String,
    rules: StrictRulesHandle,
    refusals: RefusalCounters,
    configs: ConfigCache,
    producers: ProducerStates,
    txns: TxnIndex,
    requests: RequestLog,
}

impl fmt::Debug for StrictState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrictState")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// A running strict layer on 127.0.0.1. Stops on drop.
#[derive(Debug)]
pub struct StrictKafka {
    front: Front,
    state: Arc<StrictState>,
}

impl StrictKafka {
    /// A layer in front of `upstream` (`host:port`) with Kafka's rules only.
    pub fn start(upstream: &str) -> anyhow::Result<Self> {
        Self::start_with(upstream, StrictRules::default())
    }

    /// A layer in front of `upstream` with test-chosen refusals on top.
    pub fn start_with(upstream: &str, rules: StrictRules) -> anyhow::Result<Self> {
        Self::start_behind(FrontConfig::new(upstream), rules)
    }

    /// A layer behind the front `front` describes (TLS and/or SASL first, then the rules).
    pub fn start_behind(front: FrontConfig, rules: StrictRules) -> anyhow::Result<Self> {
        let state = Arc::new(StrictState {
            upstream: front.upstream.clone(),
            rules: StrictRulesHandle::new(rules),
            refusals: RefusalCounters::default(),
            configs: ConfigCache::default(),
            producers: ProducerStates::default(),
            txns: TxnIndex::default(),
            requests: RequestLog::default(),
        });
        let front = Front::start_strict(front, state.clone())?;
        Ok(StrictKafka { front, state })
    }

    /// `127.0.0.1:PORT`: the bootstrap address through the layer.
    pub fn bootstrap(&self) -> String {
        self.front.addr()
    }

    /// The broker behind the layer.
    pub fn upstream(&self) -> &str {
        self.front.upstream()
    }

    /// Changes the rules at runtime (deny or allow a topic, refuse or accept a config).
    pub fn rules(&self) -> StrictRulesHandle {
        self.state.rules.clone()
    }

    /// How often each rule applied so far.
    pub fn refusals(&self) -> Refusals {
        self.state.refusals.snapshot()
    }

    /// Drops what the layer read from the broker's logs (the read_committed index): the broker
    /// restarted, and with memory storage its logs start empty.
    pub(crate) fn forget_logs(&self) {
        self.state.txns.clear();
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.front.connections()
    }

    /// Every request seen so far, in arrival order per connection.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state.requests.snapshot()
    }
}

/// A Tansu broker with a strict layer in front: [`bootstrap`](Self::bootstrap) is the layer,
/// [`raw_addr`](Self::raw_addr) the bare broker (whose Metadata advertises itself: a client
/// bootstrapped there stays around the layer).
pub struct StrictTansu {
    // Dropped first: the layer stops before the broker.
    strict: StrictKafka,
    broker: TansuBroker,
}

impl fmt::Debug for StrictTansu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrictTansu")
            .field("bootstrap", &self.bootstrap())
            .field("raw_addr", &self.raw_addr())
            .finish()
    }
}

impl StrictTansu {
    /// A memory Tansu with Kafka's rules in front.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(TansuOptions::default(), StrictRules::default())
    }

    /// A Tansu started with `options` and `rules` in front.
    pub fn start_with(options: TansuOptions, rules: StrictRules) -> anyhow::Result<Self> {
        let broker = TansuBroker::start(options)?;
        let strict = StrictKafka::start_with(&broker.addr(), rules)?;
        Ok(StrictTansu { strict, broker })
    }

    /// The layer's address: what tests give to clients.
    pub fn bootstrap(&self) -> String {
        self.strict.bootstrap()
    }

    /// The bare broker's address (to set things up around the layer's rules).
    pub fn raw_addr(&self) -> String {
        self.broker.addr()
    }

    pub fn strict(&self) -> &StrictKafka {
        &self.strict
    }

    pub fn broker(&self) -> &TansuBroker {
        &self.broker
    }

    /// The broker, to kill or restart it: use [`restart`](Self::restart) so the layer forgets
    /// what it read from the old logs.
    pub fn broker_mut(&mut self) -> &mut TansuBroker {
        &mut self.broker
    }

    /// Restarts the broker (same port, cluster id and storage) behind the running layer.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.broker.restart()?;
        self.strict.forget_logs();
        Ok(())
    }

    pub fn rules(&self) -> StrictRulesHandle {
        self.strict.rules()
    }

    pub fn refusals(&self) -> Refusals {
        self.strict.refusals()
    }
}

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod read_committed_tests;
#[cfg(test)]
mod tests;
