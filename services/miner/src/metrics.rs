//! The miner's Prometheus metrics (the RPC layer adds per-method request metrics; the lease
//! crate adds `venus_miner_lease_holder` and `venus_miner_lease_transitions_total`).
//!
//! - `venus_miner_elections_total{miner}` — elections run;
//! - `venus_miner_blocks_won_total{miner}` — elections won (win count ≥ 1);
//! - `venus_miner_blocks_mined_total{miner}` — blocks submitted and accepted by a node;
//! - `venus_miner_election_errors_total{miner,stage}` — stage is baseinfo, ticket, election,
//!   proof, create, sign or submit;
//! - `venus_miner_election_timeouts_total{miner}` — elections cut by MinerOnceTimeout;
//! - histograms `venus_miner_election_duration_seconds`, `venus_miner_proof_duration_seconds`,
//!   `venus_miner_block_create_duration_seconds`, `venus_miner_submit_latency_seconds`
//!   (base settled → block submitted), `venus_miner_round_elections_duration_seconds` (every
//!   election of a round), `venus_miner_block_ready_seconds` (base settled → block signed);
//! - gauges `venus_miner_miners{state}` (mining|stopped), `venus_miner_last_mined_epoch{miner}`,
//!   `venus_miner_base_height`.
//!
//! `miner` labels are bounded by the pool's miners in venus-auth.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use venus_rpc::observe::Metrics;

/// Where an election or block production failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    BaseInfo,
    Ticket,
    Election,
    Proof,
    Create,
    Sign,
    Submit,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BaseInfo => "baseinfo",
            Self::Ticket => "ticket",
            Self::Election => "election",
            Self::Proof => "proof",
            Self::Create => "create",
            Self::Sign => "sign",
            Self::Submit => "submit",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MinerLabel {
    miner: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    miner: String,
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

fn seconds_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

#[derive(Clone)]
pub struct MinerMetrics {
    elections: Family<MinerLabel, Counter>,
    won: Family<MinerLabel, Counter>,
    mined: Family<MinerLabel, Counter>,
    errors: Family<StageLabels, Counter>,
    timeouts: Family<MinerLabel, Counter>,
    election_duration: Histogram,
    proof_duration: Histogram,
    create_duration: Histogram,
    submit_latency: Histogram,
    round_duration: Histogram,
    block_ready: Histogram,
    miners: Family<StateLabel, Gauge>,
    last_mined_epoch: Family<MinerLabel, Gauge>,
    base_height: Gauge,
}

impl MinerMetrics {
    pub fn register(m: &Metrics) -> Self {
        let s = Self {
            elections: Family::default(),
            won: Family::default(),
            mined: Family::default(),
            errors: Family::default(),
            timeouts: Family::default(),
            election_duration: seconds_histogram(),
            proof_duration: seconds_histogram(),
            create_duration: seconds_histogram(),
            submit_latency: seconds_histogram(),
            round_duration: seconds_histogram(),
            block_ready: seconds_histogram(),
            miners: Family::default(),
            last_mined_epoch: Family::default(),
            base_height: Gauge::default(),
        };
        m.register(
            "venus_miner_elections",
            "Elections run, per miner",
            s.elections.clone(),
        );
        m.register(
            "venus_miner_blocks_won",
            "Elections won (win count at least 1), per miner",
            s.won.clone(),
        );
        m.register(
            "venus_miner_blocks_mined",
            "Blocks submitted and accepted by a node, per miner",
            s.mined.clone(),
        );
        m.register(
            "venus_miner_election_errors",
            "Election or block production failures, per miner and stage",
            s.errors.clone(),
        );
        m.register(
            "venus_miner_election_timeouts",
            "Elections cut by MinerOnceTimeout, per miner",
            s.timeouts.clone(),
        );
        m.register(
            "venus_miner_election_duration_seconds",
            "One miner's election (base info to win count)",
            s.election_duration.clone(),
        );
        m.register(
            "venus_miner_proof_duration_seconds",
            "WinningPoSt through the gateway",
            s.proof_duration.clone(),
        );
        m.register(
            "venus_miner_block_create_duration_seconds",
            "MinerCreateBlock on the node",
            s.create_duration.clone(),
        );
        m.register(
            "venus_miner_submit_latency_seconds",
            "Base settled to block submitted",
            s.submit_latency.clone(),
        );
        m.register(
            "venus_miner_round_elections_duration_seconds",
            "Every open miner's election of one round, base settled to the last result",
            s.round_duration.clone(),
        );
        m.register(
            "venus_miner_block_ready_seconds",
            "Base settled to a winner's block created and signed (before waiting for its timestamp)",
            s.block_ready.clone(),
        );
        m.register(
            "venus_miner_miners",
            "Miners of the pool by state (mining, stopped)",
            s.miners.clone(),
        );
        m.register(
            "venus_miner_last_mined_epoch",
            "Epoch of the last block mined, per miner",
            s.last_mined_epoch.clone(),
        );
        m.register(
            "venus_miner_base_height",
            "Height of the last settled mining base",
            s.base_height.clone(),
        );
        s
    }

    fn label(miner: &str) -> MinerLabel {
        MinerLabel {
            miner: miner.to_owned(),
        }
    }

    pub fn election(&self, miner: &str, took: Duration) {
        self.elections.get_or_create(&Self::label(miner)).inc();
        self.election_duration.observe(took.as_secs_f64());
    }

    pub fn won(&self, miner: &str) {
        self.won.get_or_create(&Self::label(miner)).inc();
    }

    pub fn mined(&self, miner: &str, epoch: i64) {
        self.mined.get_or_create(&Self::label(miner)).inc();
        self.last_mined_epoch
            .get_or_create(&Self::label(miner))
            .set(epoch);
    }

    pub fn error(&self, miner: &str, stage: Stage) {
        self.errors
            .get_or_create(&StageLabels {
                miner: miner.to_owned(),
                stage: stage.as_str(),
            })
            .inc();
    }

    pub fn timeout(&self, miner: &str) {
        self.timeouts.get_or_create(&Self::label(miner)).inc();
    }

    pub fn proof(&self, took: Duration) {
        self.proof_duration.observe(took.as_secs_f64());
    }

    pub fn create(&self, took: Duration) {
        self.create_duration.observe(took.as_secs_f64());
    }

    pub fn submitted(&self, since_settled: Duration) {
        self.submit_latency.observe(since_settled.as_secs_f64());
    }

    pub fn round_elections(&self, took: Duration) {
        self.round_duration.observe(took.as_secs_f64());
    }

    pub fn block_ready(&self, since_settled: Duration) {
        self.block_ready.observe(since_settled.as_secs_f64());
    }

    pub fn miners(&self, mining: usize, stopped: usize) {
        let set = |state, n: usize| {
            self.miners
                .get_or_create(&StateLabel { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        };
        set("mining", mining);
        set("stopped", stopped);
    }

    pub fn base_height(&self, h: i64) {
        self.base_height.set(h);
    }

    /// A miner being mined on a base at `height` that has no block since this process started
    /// counts from there, so "no block for N epochs" can fire for a miner that never mines.
    pub fn watching(&self, miner: &str, height: i64) {
        let label = Self::label(miner);
        if self.last_mined_epoch.get(&label).is_none() {
            self.last_mined_epoch.get_or_create(&label).set(height);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_miner_counts_from_its_first_base_until_it_mines() {
        let registry = Metrics::new();
        let m = MinerMetrics::register(&registry);
        m.watching("t01000", 10);
        m.watching("t01000", 20); // no block yet: still counting from 10
        assert!(
            registry
                .encode()
                .contains("venus_miner_last_mined_epoch{miner=\"t01000\"} 10")
        );
        m.mined("t01000", 25);
        m.watching("t01000", 30);
        assert!(
            registry
                .encode()
                .contains("venus_miner_last_mined_epoch{miner=\"t01000\"} 25")
        );
    }
}
