//! The gateway's own Prometheus metrics (the RPC layer adds per-method request counts and
//! latency): connected providers, registrations, routed requests by outcome and latency.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use venus_rpc::observe::Metrics;

use crate::events::RouteError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    /// `ok`, `no_connection`, `remote_error`, `all_failed`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone)]
pub struct GatewayMetrics {
    wallet_connections: Gauge,
    wallet_addresses: Gauge,
    prover_miners: Gauge,
    prover_connections: Gauge,
    registrations: Family<KindLabels, Counter>,
    unregistrations: Family<KindLabels, Counter>,
    routed: Family<RouteLabels, Counter>,
    route_seconds: Family<KindLabels, Histogram>,
}

impl GatewayMetrics {
    /// Create and register on `registry` (names are prefixed `gateway_`).
    pub fn register(registry: &Metrics) -> Self {
        let m = Self {
            wallet_connections: Gauge::default(),
            wallet_addresses: Gauge::default(),
            prover_miners: Gauge::default(),
            prover_connections: Gauge::default(),
            registrations: Family::default(),
            unregistrations: Family::default(),
            routed: Family::default(),
            route_seconds: Family::new_with_constructor(|| {
                Histogram::new([
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0, 30.0,
                ])
            }),
        };
        registry.register(
            "gateway_wallet_connections",
            "Registered wallet connections",
            m.wallet_connections.clone(),
        );
        registry.register(
            "gateway_wallet_addresses",
            "Distinct addresses held by connected wallets",
            m.wallet_addresses.clone(),
        );
        registry.register(
            "gateway_prover_miners",
            "Miners with at least one prover connected",
            m.prover_miners.clone(),
        );
        registry.register(
            "gateway_prover_connections",
            "Registered prover connections",
            m.prover_connections.clone(),
        );
        registry.register(
            "gateway_registrations",
            "Provider registrations by kind",
            m.registrations.clone(),
        );
        registry.register(
            "gateway_unregistrations",
            "Provider disconnects by kind",
            m.unregistrations.clone(),
        );
        registry.register(
            "gateway_routed_requests",
            "Requests routed to providers by method and outcome",
            m.routed.clone(),
        );
        registry.register(
            "gateway_route_seconds",
            "Round trip of routed requests by method",
            m.route_seconds.clone(),
        );
        m
    }

    pub fn wallet_registered(&self) {
        self.registrations
            .get_or_create(&KindLabels { kind: "wallet" })
            .inc();
    }

    pub fn wallet_unregistered(&self) {
        self.unregistrations
            .get_or_create(&KindLabels { kind: "wallet" })
            .inc();
    }

    pub fn prover_registered(&self) {
        self.registrations
            .get_or_create(&KindLabels { kind: "prover" })
            .inc();
    }

    pub fn prover_unregistered(&self) {
        self.unregistrations
            .get_or_create(&KindLabels { kind: "prover" })
            .inc();
    }

    pub fn set_gauges(
        &self,
        wallet_conns: usize,
        addrs: usize,
        miners: usize,
        prover_conns: usize,
    ) {
        let g = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.wallet_connections.set(g(wallet_conns));
        self.wallet_addresses.set(g(addrs));
        self.prover_miners.set(g(miners));
        self.prover_connections.set(g(prover_conns));
    }

    pub fn observe_route<T>(
        &self,
        method: &'static str,
        elapsed: Duration,
        out: &Result<T, RouteError>,
    ) {
        let outcome = match out {
            Ok(_) => "ok",
            Err(RouteError::NoConnection(_)) => "no_connection",
            Err(RouteError::Remote(_)) => "remote_error",
            Err(RouteError::AllFailed(_)) => "all_failed",
        };
        self.routed
            .get_or_create(&RouteLabels { method, outcome })
            .inc();
        self.route_seconds
            .get_or_create(&KindLabels { kind: method })
            .observe(elapsed.as_secs_f64());
    }
}
