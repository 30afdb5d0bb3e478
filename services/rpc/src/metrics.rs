//! Per-method RPC metrics. Handles are looked up once per method when the server is built,
//! so a call only touches its own counters (no label hashing on the hot path).

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: String,
}

type HistogramFamily = Family<MethodLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 50 µs .. ~26 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// The RPC metric families, registered once per registry.
pub(crate) struct RpcMetrics {
    requests: Family<MethodLabel, Counter>,
    errors: Family<MethodLabel, Counter>,
    latency: HistogramFamily,
}

impl RpcMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            requests: Family::default(),
            errors: Family::default(),
            latency: HistogramFamily::new_with_constructor(latency_histogram),
        };
        registry.register(
            "rpc_requests",
            "JSON-RPC calls received, by method",
            m.requests.clone(),
        );
        registry.register(
            "rpc_errors",
            "JSON-RPC calls answered with an error, by method",
            m.errors.clone(),
        );
        registry.register(
            "rpc_request_duration_seconds",
            "JSON-RPC call latency (for channel methods: until the channel id is sent), by method",
            m.latency.clone(),
        );
        m
    }

    pub fn for_method(&self, method: &str) -> MethodMetrics {
        let label = MethodLabel {
            method: method.to_owned(),
        };
        MethodMetrics(Some(Arc::new(Handles {
            requests: self.requests.get_or_create(&label).clone(),
            errors: self.errors.get_or_create(&label).clone(),
            latency: self.latency.get_or_create(&label).clone(),
        })))
    }
}

struct Handles {
    requests: Counter,
    errors: Counter,
    latency: Histogram,
}

/// One method's counters; a no-op when the server has no metrics registry.
#[derive(Clone, Default)]
pub(crate) struct MethodMetrics(Option<Arc<Handles>>);

impl MethodMetrics {
    pub fn record(&self, started: Instant, ok: bool) {
        if let Some(h) = &self.0 {
            h.requests.inc();
            if !ok {
                h.errors.inc();
            }
            h.latency.observe(started.elapsed().as_secs_f64());
        }
    }
}
