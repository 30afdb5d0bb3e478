//! Wiring: client, leader election, the Controller and the metrics/health HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, watcher};
use kube::{Client, Config};
use tracing::{error, info, warn};

use crate::crd::ChainService;
use crate::leader::{self, LeaderConfig};
use crate::metrics::Metrics;
use crate::reconcile::{self, Context};

/// Settings of `venus-operator run` (see the README's table).
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub kubeconfig: Option<PathBuf>,
    pub namespace: Option<String>,
    pub leader: Option<LeaderConfig>,
    pub metrics_address: SocketAddr,
}

#[derive(Clone)]
struct Http {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

async fn client(kubeconfig: Option<&PathBuf>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))?
        }
        None => Config::infer()
            .await
            .context("no in-cluster config and no usable ~/.kube/config")?,
    };
    Client::try_from(config).context("building the Kubernetes client")
}

pub async fn run(cfg: RunConfig) -> anyhow::Result<()> {
    let client = client(cfg.kubeconfig.as_ref()).await?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));

    let listener = tokio::net::TcpListener::bind(cfg.metrics_address)
        .await
        .with_context(|| format!("binding metrics address {}", cfg.metrics_address))?;
    info!(address = %cfg.metrics_address, "serving /metrics, /livez, /readyz");
    let app = Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(serve_ready))
        .with_state(Http {
            metrics: metrics.clone(),
            ready: ready.clone(),
        });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let cs_api: Api<ChainService> = match &cfg.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    // Fail early with a hint when the CRD is missing rather than watching nothing.
    cs_api
        .list(&ListParams::default().limit(1))
        .await
        .context("ChainService CRD is not installed: kubectl apply -f crds/chainservice.yaml")?;

    let election = cfg
        .leader
        .as_ref()
        .map(|l| leader::Election::start(client.clone(), l));
    let term = match &election {
        Some(e) => Some(e.acquire().await),
        None => None,
    };
    metrics.leader.set(1);

    let reporter = Reporter {
        controller: crate::build::MANAGER.into(),
        instance: cfg.leader.as_ref().map(|l| l.identity.clone()),
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), reporter),
        metrics: metrics.clone(),
    });
    let (sts_api, lease_watch): (Api<StatefulSet>, Api<Lease>) = match &cfg.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let owned = watcher::Config::default().labels("app.kubernetes.io/managed-by=venus-operator");
    let controller = Controller::new(cs_api, watcher::Config::default().any_semantic())
        .owns(sts_api, owned.clone())
        .owns(lease_watch, owned)
        .shutdown_on_signal()
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => tracing::debug!(chainservice = %obj.name, "reconciled"),
                Err(e) => warn!(error = %e, "controller"),
            }
        });
    ready.store(true, Ordering::SeqCst);
    info!("controller running");

    let lost = async {
        match &term {
            Some(term) => leader::hold(term).await,
            None => futures::future::pending().await,
        }
    };
    tokio::select! {
        () = controller => {
            info!("controller stopped (signal)");
            // Hand the Lease over now rather than let the other replica wait for it to expire.
            if let Some(e) = &election {
                e.release().await;
            }
        }
        reason = lost => {
            error!(%reason, "lost leadership, exiting");
            anyhow::bail!("lost leadership: {reason}");
        }
        r = server => {
            let r = r.context("metrics server task")?;
            r.context("metrics server")?;
        }
    }
    Ok(())
}

async fn serve_metrics(State(h): State<Http>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        h.metrics.encode(),
    )
}

async fn serve_ready(State(h): State<Http>) -> (StatusCode, &'static str) {
    if h.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not leader or not started")
    }
}

/// The default identity: the pod name, else the host name.
pub fn default_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("venus-operator-{}", std::process::id()))
}

/// The default Lease namespace: POD_NAMESPACE, the service account's namespace, `default`.
pub fn default_lease_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// Renew three times per lease duration.
pub fn retry_period(lease_duration: Duration) -> Duration {
    (lease_duration / 3).max(Duration::from_secs(1))
}
