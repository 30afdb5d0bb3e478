//! Observability every service shares: tracing set-up, one Prometheus registry, and the
//! `/metrics`, `/livez`, `/readyz`, `/healthz` routes.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use parking_lot::RwLock;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry};
use tracing_subscriber::EnvFilter;

use crate::metrics::RpcMetrics;
use crate::process_metrics::ProcessCollector;
use crate::router::BoxFuture;

/// Install the global tracing subscriber. `RUST_LOG` overrides `default_level` (e.g. `info`
/// or `venus_rpc=debug,info`); `VENUS_LOG_FORMAT=json` switches to JSON lines.
/// Calling it twice is harmless (the second call reports an error and changes nothing).
pub fn init_tracing(default_level: &str) -> Result<(), String> {
    let json = std::env::var("VENUS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    init_tracing_with(default_level, json)
}

/// As [`init_tracing`] with the output format chosen by the caller.
pub fn init_tracing_with(default_level: &str, json: bool) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => {
            EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG={v:?}: {e}"))?
        }
        _ => EnvFilter::try_new(default_level)
            .map_err(|e| format!("log level {default_level:?}: {e}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| format!("tracing already initialised: {e}"))
}

/// The service's Prometheus registry, shared by the RPC layer and the service's own metrics,
/// with the standard `process_*` metrics of this process.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    registry: RwLock<Registry>,
    rpc: OnceLock<Arc<RpcMetrics>>,
}

impl Default for MetricsInner {
    fn default() -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        Self {
            registry: RwLock::new(registry),
            rpc: OnceLock::new(),
        }
    }
}

/// A registered metric whose `# HELP`/`# TYPE` lines are served even before its first series
/// (a labelled family that has seen no error yet, say): prometheus-client leaves an empty
/// family out, and then the dashboards, alert rules and drift check could not tell a family
/// that exists from one that was renamed away.
#[derive(Debug)]
struct AlwaysListed<M>(M);

impl<M: EncodeMetric> EncodeMetric for AlwaysListed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        false
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a metric (`Counter`, `Gauge`, `Family`, `Histogram`… — keep a clone to update it).
    /// Its `# HELP`/`# TYPE` lines are served from the start, series or not.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.inner
            .registry
            .write()
            .register(name, help, AlwaysListed(metric));
    }

    /// Direct access, for sub-registries and collectors.
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(&mut self.inner.registry.write())
    }

    /// The OpenMetrics text of every registered metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry.read());
        out
    }

    pub(crate) fn rpc(&self) -> Arc<RpcMetrics> {
        self.inner
            .rpc
            .get_or_init(|| Arc::new(RpcMetrics::register(&mut self.inner.registry.write())))
            .clone()
    }

    /// `GET /metrics` serving this registry.
    pub fn router(&self) -> axum::Router {
        let metrics = self.clone();
        axum::Router::new().route(
            "/metrics",
            get(move || {
                let body = metrics.encode();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        body,
                    )
                }
            }),
        )
    }
}

type CheckFn = Arc<dyn Fn() -> BoxFuture<Result<(), String>> + Send + Sync>;

/// Health checks behind `/livez` (is the process working), `/readyz` (should it get
/// traffic: e.g. synced, database reachable) and `/healthz` (both). `?verbose` lists each
/// check as `[+]name ok` / `[-]name failed: reason`, as Kubernetes components do.
#[derive(Clone, Default)]
pub struct Health {
    live: Vec<(String, CheckFn)>,
    ready: Vec<(String, CheckFn)>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn live<F, Fut>(mut self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.live
            .push((name.to_owned(), Arc::new(move || Box::pin(check()))));
        self
    }

    pub fn ready<F, Fut>(mut self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.ready
            .push((name.to_owned(), Arc::new(move || Box::pin(check()))));
        self
    }

    /// `/livez`, `/readyz` and `/healthz`, unauthenticated (merge outside the RPC auth).
    pub fn router(self) -> axum::Router {
        let live = Arc::new(self.live);
        let ready = Arc::new(self.ready);
        let all = Arc::new(live.iter().chain(ready.iter()).cloned().collect::<Vec<_>>());
        axum::Router::new()
            .route("/livez", get(move |q| run_checks(live.clone(), q)))
            .route("/readyz", get(move |q| run_checks(ready.clone(), q)))
            .route("/healthz", get(move |q| run_checks(all.clone(), q)))
    }
}

async fn run_checks(
    checks: Arc<Vec<(String, CheckFn)>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let verbose = q.contains_key("verbose");
    let mut ok = true;
    let mut report = String::new();
    for (name, check) in checks.iter() {
        match check().await {
            Ok(()) => report.push_str(&format!("[+]{name} ok\n")),
            Err(reason) => {
                ok = false;
                report.push_str(&format!("[-]{name} failed: {reason}\n"));
            }
        }
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let verdict = if ok { "ok" } else { "failed" };
    let body = if verbose || !ok {
        format!("{report}check {verdict}\n")
    } else {
        "ok\n".to_owned()
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;

    use super::*;

    #[test]
    fn a_family_without_series_is_listed_and_process_metrics_are_served() {
        let m = Metrics::new();
        let errors = Family::<Vec<(String, String)>, Counter>::default();
        m.register("venus_test_errors", "Errors by miner", errors.clone());
        let text = m.encode();
        assert!(text.contains("# TYPE venus_test_errors counter"), "{text}");
        assert!(!text.contains("venus_test_errors_total{"), "{text}");
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_cpu_seconds_total",
            "process_threads",
        ] {
            assert!(
                text.contains(&format!("\n{name} ")),
                "{name} missing in\n{text}"
            );
        }
        errors
            .get_or_create(&vec![("miner".into(), "t01000".into())])
            .inc();
        let text = m.encode();
        assert!(
            text.contains("venus_test_errors_total{miner=\"t01000\"} 1"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE venus_test_errors counter").count(), 1);
    }
}
