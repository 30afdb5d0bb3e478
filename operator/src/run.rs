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
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, Config, ResourceExt};
use tracing::{error, info, warn};

use crate::crd::ChainService;
use crate::keys::{MANAGER, label};
use crate::leader::{self, LeaderConfig};
use crate::metrics::Metrics;
use crate::reconcile::{self, Context, Stores};
use crate::triggers;

/// Settings of `venus-operator run` (see the README's table).
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub kubeconfig: Option<PathBuf>,
    pub namespace: Option<String>,
    pub leader: Option<LeaderConfig>,
    pub metrics_address: SocketAddr,
    /// How often the node pods' heads are read into `status.chain` ([`crate::chain_head`]).
    pub head_interval: Duration,
}

#[derive(Clone)]
struct Http {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

async fn config(kubeconfig: Option<&PathBuf>) -> anyhow::Result<Config> {
    match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))
        }
        None => Config::infer()
            .await
            .context("no in-cluster config and no usable ~/.kube/config"),
    }
}

/// A client that counts its requests in `venus_operator_api_requests_total`.
fn counting_client(
    config: Config,
    metrics: &Arc<Metrics>,
    name: &'static str,
) -> anyhow::Result<Client> {
    let metrics = metrics.clone();
    let count = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        metrics.api_request(name, req.method().as_str(), req.uri().query());
        req
    });
    Ok(kube::client::ClientBuilder::try_from(config)
        .context("building the Kubernetes client")?
        .with_layer(&count)
        .build())
}

/// Leader election must not hang on a dead connection past the lease: every call of its
/// client gives up after [`leader_call_timeout`].
fn leader_client(
    mut config: Config,
    lease: &LeaderConfig,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Client> {
    let limit = leader_call_timeout(lease.retry);
    config.connect_timeout = Some(limit);
    config.read_timeout = Some(limit);
    config.write_timeout = Some(limit);
    counting_client(config, metrics, "leader")
}

/// A call of the leader election may take at most the renew period (and at most 5 s), so a
/// failed renewal is retried before the lease can run out.
pub fn leader_call_timeout(retry: Duration) -> Duration {
    retry.clamp(Duration::from_secs(1), Duration::from_secs(5))
}

fn scoped<K>(client: &Client, namespace: Option<&String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

pub async fn run(cfg: RunConfig) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let kube_config = config(cfg.kubeconfig.as_ref()).await?;
    let client = counting_client(kube_config.clone(), &metrics, "controller")?;
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

    let cs_api: Api<ChainService> = scoped(&client, cfg.namespace.as_ref());
    // Fail early with a hint when the CRD is missing rather than watching nothing.
    cs_api
        .list(&ListParams::default().limit(1))
        .await
        .context("ChainService CRD is not installed: kubectl apply -f crds/chainservice.yaml")?;

    let election = match &cfg.leader {
        Some(l) => Some(leader::Election::start(
            leader_client(kube_config.clone(), l, &metrics)?,
            l,
        )),
        None => None,
    };
    let term = match &election {
        Some(e) => Some(e.acquire().await),
        None => None,
    };
    metrics.leader.set(1);

    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: cfg.leader.as_ref().map(|l| l.identity.clone()),
    };

    // Every watch feeds a cache the reconcile reads instead of the API server, and triggers a
    // reconcile only when something it acts on changed (predicates, see `triggers`).
    let owned = watcher::Config::default().labels(&format!("{}={MANAGER}", label::MANAGED_BY));
    let (cs_store, cs_writer) = reflector::store();
    let chain_services = watcher(cs_api, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(cs_writer)
        .applied_objects()
        .predicate_filter(triggers::chain_service, Default::default());
    let (sts_store, sts_writer) = reflector::store();
    let stateful_sets = watcher(
        scoped::<StatefulSet>(&client, cfg.namespace.as_ref()),
        owned.clone(),
    )
    .default_backoff()
    .reflect(sts_writer)
    .touched_objects()
    .predicate_filter(triggers::stateful_set, Default::default());
    let (lease_store, lease_writer) = reflector::store();
    let leases = watcher(
        scoped::<Lease>(&client, cfg.namespace.as_ref()),
        owned.clone(),
    )
    .default_backoff()
    .reflect(lease_writer)
    .touched_objects()
    .predicate_filter(triggers::lease_holder, Default::default());
    let (pod_store, pod_writer) = reflector::store();
    let pods = watcher(scoped::<Pod>(&client, cfg.namespace.as_ref()), owned)
        .default_backoff()
        .reflect(pod_writer)
        .touched_objects()
        .predicate_filter(triggers::pod, Default::default());

    let ctx = Arc::new(Context::new(
        client.clone(),
        Recorder::new(client.clone(), reporter),
        metrics.clone(),
        Stores {
            stateful_sets: sts_store,
            leases: lease_store,
            pods: pod_store,
        },
    ));
    // The heads in status.chain: read from the node pods, written at most once per interval.
    // (The task ends with the runtime when `run` returns.)
    tokio::spawn(crate::chain_head::run(
        client.clone(),
        cs_store.clone(),
        ctx.stores.pods.clone(),
        cfg.head_interval,
    ));
    let controller = Controller::for_stream(chain_services, cs_store)
        .owns_stream(stateful_sets)
        .owns_stream(leases)
        // Pods belong to StatefulSets, not to the ChainService: map them by their labels.
        .watches_stream(pods, |pod: Pod| {
            let instance = pod.labels().get(label::INSTANCE).cloned();
            let ns = pod.namespace();
            instance
                .zip(ns)
                .map(|(name, ns)| ObjectRef::<ChainService>::new(&name).within(&ns))
        })
        .shutdown_on_signal()
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => tracing::debug!(chainservice = %obj.name, "reconciled"),
                Err(e) => warn!(error = %e, "controller"),
            }
        });
    ready.store(true, Ordering::SeqCst);
    info!(
        namespace = cfg.namespace.as_deref().unwrap_or("(all)"),
        "controller running"
    );

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
