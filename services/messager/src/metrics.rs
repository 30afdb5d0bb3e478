//! The messager's Prometheus metrics (names fixed: the dashboards use them). Labels are the
//! sending address and the node name — bounded by configuration, never per message.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use venus_rpc::observe::Metrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AddressStateLabels {
    pub address: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AddressLabels {
    pub address: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    pub node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone)]
pub struct MessagerMetrics {
    pub messages: Family<AddressStateLabels, Gauge>,
    pub queue_oldest_age_seconds: Family<AddressLabels, Gauge>,
    pub oldest_fill_age_epochs: Family<AddressLabels, Gauge>,
    pub sign_duration: Histogram,
    pub push_duration: Histogram,
    pub round_phase: Family<PhaseLabels, Histogram>,
    pub sign_errors: Family<AddressLabels, Counter>,
    pub push_errors: Family<NodeLabels, Counter>,
    pub pushed: Counter,
    pub on_chain: Counter,
    pub node_head_height: Family<NodeLabels, Gauge>,
    pub node_active: Family<NodeLabels, Gauge>,
}

fn latency() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl MessagerMetrics {
    pub fn register(m: &Metrics) -> Self {
        let s = Self {
            messages: Family::default(),
            queue_oldest_age_seconds: Family::default(),
            oldest_fill_age_epochs: Family::default(),
            sign_duration: latency(),
            push_duration: latency(),
            round_phase: Family::new_with_constructor(latency),
            sign_errors: Family::default(),
            push_errors: Family::default(),
            pushed: Counter::default(),
            on_chain: Counter::default(),
            node_head_height: Family::default(),
            node_active: Family::default(),
        };
        m.register(
            "venus_messager_messages",
            "Messages by sending address and state",
            s.messages.clone(),
        );
        m.register(
            "venus_messager_queue_oldest_age_seconds",
            "Age of the oldest message of the address not yet on chain",
            s.queue_oldest_age_seconds.clone(),
        );
        m.register(
            "venus_messager_oldest_fill_age_epochs",
            "Epochs since the oldest signed (Fill) message of the address was signed",
            s.oldest_fill_age_epochs.clone(),
        );
        m.register(
            "venus_messager_sign_duration_seconds",
            "Gateway WalletSign latency",
            s.sign_duration.clone(),
        );
        m.register(
            "venus_messager_push_duration_seconds",
            "MpoolBatchPushUntrusted latency per node",
            s.push_duration.clone(),
        );
        m.register(
            "venus_messager_round_phase_seconds",
            "Time of each step of an address's selection round (select, estimate, sign, persist, push, repush)",
            s.round_phase.clone(),
        );
        m.register(
            "venus_messager_sign_errors",
            "Signing failures by address",
            s.sign_errors.clone(),
        );
        m.register(
            "venus_messager_push_errors",
            "Push failures by node",
            s.push_errors.clone(),
        );
        m.register(
            "venus_messager_messages_pushed",
            "Signed messages pushed to the active node",
            s.pushed.clone(),
        );
        m.register(
            "venus_messager_messages_on_chain",
            "Messages seen landing on chain",
            s.on_chain.clone(),
        );
        m.register(
            "venus_messager_node_head_height",
            "Head height each node reported at its last check (-1: unreachable since start)",
            s.node_head_height.clone(),
        );
        m.register(
            "venus_messager_node_active",
            "1 for the node reads and pushes go to",
            s.node_active.clone(),
        );
        s
    }

    pub fn node_head(&self, node: &str, height: i64, active: bool) {
        let l = NodeLabels { node: node.into() };
        self.node_head_height.get_or_create(&l).set(height);
        self.node_active.get_or_create(&l).set(i64::from(active));
    }

    pub fn observe_sign(&self, d: Duration) {
        self.sign_duration.observe(d.as_secs_f64());
    }

    /// One step of an address's round: `select`, `estimate`, `sign`, `persist`, `push`,
    /// `repush`.
    pub fn observe_phase(&self, phase: &str, d: Duration) {
        self.round_phase
            .get_or_create(&PhaseLabels {
                phase: phase.into(),
            })
            .observe(d.as_secs_f64());
    }

    pub fn observe_push(&self, d: Duration) {
        self.push_duration.observe(d.as_secs_f64());
    }

    pub fn sign_error(&self, address: &str) {
        self.sign_errors
            .get_or_create(&AddressLabels {
                address: address.into(),
            })
            .inc();
    }

    pub fn push_error(&self, node: &str) {
        self.push_errors
            .get_or_create(&NodeLabels { node: node.into() })
            .inc();
    }
}
