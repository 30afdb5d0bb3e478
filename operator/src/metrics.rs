//! Prometheus metrics of the operator: reconciles, errors per stage, reconcile durations.

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `controller` (watches, reconciles) or `leader` (leader election).
    pub client: String,
    /// HTTP method, or `WATCH` for a watch request.
    pub verb: String,
}

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Counter,
    pub errors: Family<StageLabels, Counter>,
    pub duration: Histogram,
    /// 1 while this replica holds the leader Lease.
    pub leader: Gauge,
    /// Requests sent to the API server, by verb.
    pub api_requests: Family<RequestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("venus_operator");
        let reconciles = Counter::default();
        let errors = Family::<StageLabels, Counter>::default();
        let duration = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        let leader = Gauge::default();
        let api_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests sent to the Kubernetes API server, by client (controller, leader) and verb (WATCH: a watch request)",
            api_requests.clone(),
        );
        registry.register(
            "reconciles",
            "ChainService reconciles run",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by pipeline stage",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            duration.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease",
            leader.clone(),
        );
        Metrics {
            registry,
            reconciles,
            errors,
            duration,
            leader,
            api_requests,
        }
    }
}

impl Metrics {
    /// Count a reconcile; its duration is observed when the guard drops.
    pub fn start(self: &Arc<Self>) -> ReconcileTimer {
        self.reconciles.inc();
        ReconcileTimer {
            metrics: self.clone(),
            start: Instant::now(),
        }
    }

    pub fn failed(&self, stage: &str) {
        self.errors
            .get_or_create(&StageLabels {
                stage: stage.into(),
            })
            .inc();
    }

    /// Count one request to the API server.
    pub fn api_request(&self, client: &str, method: &str, query: Option<&str>) {
        let watch = query.is_some_and(|q| q.split('&').any(|p| p == "watch=true"));
        let verb = if watch { "WATCH" } else { method };
        self.api_requests
            .get_or_create(&RequestLabels {
                client: client.into(),
                verb: verb.into(),
            })
            .inc();
    }

    /// OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub struct ReconcileTimer {
    metrics: Arc<Metrics>,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.metrics
            .duration
            .observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_encodes() {
        let m = Arc::new(Metrics::default());
        drop(m.start());
        m.failed("apply");
        m.api_request("controller", "GET", Some("labelSelector=x&watch=true"));
        m.api_request("leader", "PATCH", None);
        let text = m.encode();
        assert!(text.contains("venus_operator_reconciles_total 1"), "{text}");
        assert!(
            text.contains("venus_operator_reconcile_errors_total{stage=\"apply\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("venus_operator_reconcile_duration_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "venus_operator_api_requests_total{client=\"controller\",verb=\"WATCH\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("venus_operator_api_requests_total{client=\"leader\",verb=\"PATCH\"} 1"),
            "{text}"
        );
    }
}
