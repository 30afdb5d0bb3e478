//! `status.chain`: the chain's head in the ChainService status (`kubectl get chainservice`
//! shows it as `Head`), read by the operator from the node pods.
//!
//! How it stays quiet: the head is read from each ready node pod's **unauthenticated
//! `/metrics`** (`venus_node_head_height`, `venus_node_head_timestamp_seconds` — what a
//! ServiceMonitor scrapes), over plain HTTP to the pod's in-cluster name, never through the API
//! server. So the operator holds no node credential at all: no token is read, kept or sent, and
//! none can reach a log or the status. The pods come from the controller's watch cache. The
//! status is written (server-side apply of `status.chain` only, under its own field manager
//! [`FIELD_MANAGER`], so the reconcile's status apply neither claims nor removes it) only when
//! the head moved, and at most once per interval (default [`DEFAULT_INTERVAL`]) per
//! ChainService: one request per interval while a chain advances, none while it stands still
//! or no node answers.
//!
//! An operator outside the cluster (the e2e tests run it as a host process) reaches the pods'
//! names through `HTTP_PROXY` (reqwest honours it and `NO_PROXY`; the Kubernetes client reads
//! only `HTTPS_PROXY`, so its own traffic is not affected).

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, warn};

use crate::build::Names;
use crate::component::Component;
use crate::crd::{ChainService, ChainStatus};
use crate::keys::label;

/// How often the heads are read (and at most how often a ChainService's status is written).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Field manager of `status.chain`.
pub const FIELD_MANAGER: &str = "venus-operator-chain";
/// One node pod's answer may take this long.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

const HEIGHT_METRIC: &str = "venus_node_head_height";
const TIMESTAMP_METRIC: &str = "venus_node_head_timestamp_seconds";

/// What one node pod's `/metrics` says about its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadReading {
    pub height: i64,
    /// Unix seconds of the head tipset; `None` when the pod did not report it.
    pub timestamp: Option<i64>,
}

/// The value of an unlabelled gauge `name` in Prometheus/OpenMetrics text.
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let rest = l.strip_prefix(name)?;
            let rest = rest.strip_prefix(' ').or_else(|| {
                // `name{} value` (an empty label set) is the same series.
                rest.strip_prefix("{}").map(str::trim_start)
            })?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .filter(|v| v.is_finite())
}

/// The head in a node's `/metrics` text; `None` when it carries no head height.
pub fn parse_metrics(text: &str) -> Option<HeadReading> {
    let height = gauge(text, HEIGHT_METRIC)?;
    if !(0.0..=9.0e15).contains(&height) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let timestamp = gauge(text, TIMESTAMP_METRIC)
        .filter(|t| *t > 0.0 && *t < 9.0e15)
        .map(|t| t as i64);
    #[allow(clippy::cast_possible_truncation)]
    Some(HeadReading {
        height: height as i64,
        timestamp,
    })
}

/// `status.chain` from the readings of a ChainService's node pods: the highest head (replicas
/// may still be catching up). `None` when no pod answered — the last value written stays.
pub fn chain_status(readings: &[HeadReading]) -> Option<ChainStatus> {
    let best = readings.iter().max_by_key(|r| r.height)?;
    Some(ChainStatus {
        head_height: Some(best.height),
        head_time: best
            .timestamp
            .and_then(|t| k8s_openapi::jiff::Timestamp::from_second(t).ok())
            .map(|t| t.to_string()),
    })
}

/// `http://<pod>.<cs>-node-headless.<ns>.svc:3453/metrics`.
pub fn metrics_url(names: &Names, pod: &str) -> String {
    let node = Component::Node;
    format!(
        "http://{pod}.{}.{}.svc:{}/metrics",
        names.headless(node),
        names.namespace,
        node.port()
    )
}

/// The server-side-apply body that sets `status.chain` and nothing else.
pub fn patch_body(chain: &ChainStatus) -> serde_json::Value {
    json!({
        "apiVersion": ChainService::api_version(&()),
        "kind": ChainService::kind(&()),
        "status": { "chain": chain },
    })
}

/// Whether `next` should be written over what is known to be there.
pub fn needs_write(current: Option<&ChainStatus>, next: &ChainStatus) -> bool {
    current != Some(next)
}

fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Ready node pods of one ChainService, from the watch cache (sorted by name).
pub fn ready_node_pods(pods: &Store<Pod>, names: &Names) -> Vec<String> {
    let mut out: Vec<String> = pods
        .state()
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(names.namespace.as_str()))
        .filter(|p| {
            let l = p.labels();
            l.get(label::INSTANCE) == Some(&names.instance)
                && l.get(label::COMPONENT).map(String::as_str) == Some(Component::Node.name())
        })
        .filter(|p| is_ready(p))
        .map(|p| p.name_any())
        .collect();
    out.sort();
    out
}

async fn read(http: &reqwest::Client, url: &str) -> Result<HeadReading, String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !resp.status().is_success() {
        return Err(format!("answered {}", resp.status()));
    }
    let text = resp.text().await.map_err(|e| e.without_url().to_string())?;
    parse_metrics(&text).ok_or_else(|| format!("no {HEIGHT_METRIC} in its metrics"))
}

/// Reads every ChainService's head each `interval` and writes `status.chain` when it moved.
/// Runs while the operator leads (it is started after the leader Lease is held).
pub async fn run(
    client: Client,
    chain_services: Store<ChainService>,
    pods: Store<Pod>,
    interval: Duration,
) {
    let http = match venus_rpc::tls::http_client_builder()
        .timeout(READ_TIMEOUT)
        .connect_timeout(READ_TIMEOUT)
        // One request per pod per interval: nothing to keep a connection open for.
        .pool_max_idle_per_host(0)
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            warn!(error = %e, "no HTTP client for reading the chain heads; status.chain stays empty");
            return;
        }
    };
    // What this process last wrote, per ChainService UID (the watch cache may lag behind it).
    let mut written: HashMap<String, ChainStatus> = HashMap::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let all = chain_services.state();
        for cs in &all {
            if cs.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let (Some(ns), Some(uid)) = (cs.namespace(), cs.uid()) else {
                continue;
            };
            let names = Names::new(&cs.name_any(), &ns);
            let mut readings = Vec::new();
            for pod in ready_node_pods(&pods, &names) {
                match read(&http, &metrics_url(&names, &pod)).await {
                    Ok(r) => readings.push(r),
                    Err(error) => debug!(%pod, namespace = %ns, %error, "node head not read"),
                }
            }
            let Some(next) = chain_status(&readings) else {
                continue;
            };
            let current = written
                .get(&uid)
                .or_else(|| cs.status.as_ref().and_then(|s| s.chain.as_ref()));
            if !needs_write(current, &next) {
                continue;
            }
            let api: Api<ChainService> = Api::namespaced(client.clone(), &ns);
            match api
                .patch_status(
                    &cs.name_any(),
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&patch_body(&next)),
                )
                .await
            {
                Ok(_) => {
                    debug!(chainservice = %cs.name_any(), namespace = %ns, height = ?next.head_height, "head written");
                    written.insert(uid, next);
                }
                Err(error) => {
                    warn!(chainservice = %cs.name_any(), namespace = %ns, %error, "writing status.chain failed");
                }
            }
        }
        written.retain(|uid, _| all.iter().any(|cs| cs.uid().as_deref() == Some(uid)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_METRICS: &str = "# HELP venus_node_head_height Height of the node's heaviest tipset\n\
        # TYPE venus_node_head_height gauge\n\
        venus_node_head_height 1234\n\
        # TYPE venus_node_head_height_other gauge\n\
        venus_node_head_height_other 9\n\
        venus_node_expected_height 1240\n\
        venus_node_head_timestamp_seconds 1764702000\n\
        venus_rpc_requests_total{method=\"ChainHead\"} 7\n\
        # EOF\n";

    #[test]
    fn the_head_is_read_from_the_nodes_metrics_text() {
        assert_eq!(
            parse_metrics(NODE_METRICS),
            Some(HeadReading {
                height: 1234,
                timestamp: Some(1_764_702_000)
            })
        );
        assert_eq!(
            parse_metrics("venus_node_head_height{} 5\n"),
            Some(HeadReading {
                height: 5,
                timestamp: None
            })
        );
        for bad in [
            "",
            "venus_node_head_height_other 3\n",
            "venus_node_head_height NaN\n",
            "venus_node_head_height -1\n",
            "venus_node_head_height many\n",
            "# venus_node_head_height 3\n",
        ] {
            assert_eq!(parse_metrics(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_status_takes_the_highest_head_and_its_time() {
        let s = chain_status(&[
            HeadReading {
                height: 10,
                timestamp: Some(100),
            },
            HeadReading {
                height: 12,
                timestamp: Some(1_764_702_000),
            },
        ])
        .expect("a reading");
        assert_eq!(s.head_height, Some(12));
        assert_eq!(s.head_time.as_deref(), Some("2025-12-02T19:00:00Z"));
        assert_eq!(chain_status(&[]), None, "no reading: nothing is written");
    }

    #[test]
    fn written_only_when_the_head_moved() {
        let at = |h| ChainStatus {
            head_height: Some(h),
            head_time: None,
        };
        assert!(needs_write(None, &at(1)));
        assert!(needs_write(Some(&at(1)), &at(2)));
        assert!(!needs_write(Some(&at(2)), &at(2)));
    }

    #[test]
    fn the_patch_sets_status_chain_only_and_the_url_names_the_pod() {
        let body = patch_body(&ChainStatus {
            head_height: Some(7),
            head_time: Some("2025-12-02T19:00:00Z".into()),
        });
        assert_eq!(body["kind"], "ChainService");
        assert_eq!(body["apiVersion"], "venus.filecoin.io/v1alpha1");
        assert_eq!(
            body["status"],
            json!({"chain": {"headHeight": 7, "headTime": "2025-12-02T19:00:00Z"}})
        );
        let names = Names::new("cs", "ns");
        assert_eq!(
            metrics_url(&names, "cs-node-1"),
            "http://cs-node-1.cs-node-headless.ns.svc:3453/metrics"
        );
    }
}
