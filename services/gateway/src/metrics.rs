//! The gateway's own Prometheus metrics (the RPC layer adds per-method request counts and
//! latency): connected providers by kind and account, registrations, routed requests by
//! outcome and their latency.
//!
//! Names (all `venus_gateway_…`; counters get `_total`):
//! - `venus_gateway_connections{kind,account}` gauge — live registered connections; `kind` is
//!   `wallet`, `prover` or `market`, `account` the venus-auth user of the provider's token;
//! - `venus_gateway_wallet_addresses` gauge — distinct addresses proved by connected wallets;
//! - `venus_gateway_miners{kind}` gauge — miners with a prover / market connected;
//! - `venus_gateway_registrations_total{kind}`, `venus_gateway_unregistrations_total{kind}`;
//! - `venus_gateway_requests_total{kind,method,outcome}` — requests routed to providers;
//!   `outcome` is `ok`, `no_connection`, `remote_error` or `all_failed`;
//! - `venus_gateway_request_duration_seconds{kind,method}` histogram — their round trip.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use venus_rpc::observe::Metrics;

use crate::events::RouteError;

/// The kinds of provider that register with the gateway.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Kind {
    Wallet,
    Prover,
    Market,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "wallet",
            Self::Prover => "prover",
            Self::Market => "market",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnLabels {
    kind: &'static str,
    account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    kind: &'static str,
    method: &'static str,
}

type HistogramFamily = Family<DurationLabels, Histogram, fn() -> Histogram>;

fn round_trip_histogram() -> Histogram {
    // 100 µs (a local wallet) .. 7 h (an unseal)
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0, 30.0, 120.0,
        600.0, 3600.0, 25200.0,
    ])
}

#[derive(Clone)]
pub struct GatewayMetrics {
    connections: Family<ConnLabels, Gauge>,
    wallet_addresses: Gauge,
    miners: Family<KindLabels, Gauge>,
    registrations: Family<KindLabels, Counter>,
    unregistrations: Family<KindLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
}

impl GatewayMetrics {
    /// Create and register on `registry`.
    pub fn register(registry: &Metrics) -> Self {
        let m = Self {
            connections: Family::default(),
            wallet_addresses: Gauge::default(),
            miners: Family::default(),
            registrations: Family::default(),
            unregistrations: Family::default(),
            requests: Family::default(),
            durations: HistogramFamily::new_with_constructor(round_trip_histogram),
        };
        registry.register(
            "venus_gateway_connections",
            "Registered provider connections by kind (wallet, prover, market) and account",
            m.connections.clone(),
        );
        registry.register(
            "venus_gateway_wallet_addresses",
            "Distinct addresses proved by connected wallets",
            m.wallet_addresses.clone(),
        );
        registry.register(
            "venus_gateway_miners",
            "Miners with at least one prover or market connected, by kind",
            m.miners.clone(),
        );
        registry.register(
            "venus_gateway_registrations",
            "Provider registrations by kind",
            m.registrations.clone(),
        );
        registry.register(
            "venus_gateway_unregistrations",
            "Provider disconnects by kind",
            m.unregistrations.clone(),
        );
        registry.register(
            "venus_gateway_requests",
            "Requests routed to providers by kind, method and outcome",
            m.requests.clone(),
        );
        registry.register(
            "venus_gateway_request_duration_seconds",
            "Round trip of requests routed to providers, by kind and method",
            m.durations.clone(),
        );
        m
    }

    /// A connection of `kind` for `account` registered.
    pub fn registered(&self, kind: Kind, account: &str) {
        self.registrations
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .inc();
        self.connections
            .get_or_create(&ConnLabels {
                kind: kind.as_str(),
                account: account.to_owned(),
            })
            .inc();
    }

    /// A registered connection of `kind` for `account` went away.
    pub fn unregistered(&self, kind: Kind, account: &str) {
        self.unregistrations
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .inc();
        self.connections
            .get_or_create(&ConnLabels {
                kind: kind.as_str(),
                account: account.to_owned(),
            })
            .dec();
    }

    pub fn set_wallet_addresses(&self, n: usize) {
        self.wallet_addresses.set(gauge_value(n));
    }

    pub fn set_miners(&self, kind: Kind, n: usize) {
        self.miners
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .set(gauge_value(n));
    }

    pub fn observe_route<T>(
        &self,
        kind: Kind,
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
        let kind = kind.as_str();
        self.requests
            .get_or_create(&RequestLabels {
                kind,
                method,
                outcome,
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels { kind, method })
            .observe(elapsed.as_secs_f64());
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
