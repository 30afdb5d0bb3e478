//! Reconcile request sequences against a fake API server (tower-test), controller-rs style:
//! the fake answers every request by a simple rule and records it; tests assert the sequence.

use std::sync::Mutex;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::Value;

use super::*;
use crate::crd::{ChainServiceSpec, DatabaseKind, DatabaseSpec};
use crate::keys::MANAGER;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use serde_json::json;

/// Marker for the fake API: applied StatefulSets come back rolled out and ready.
const READY_STS: &str = "ready-statefulsets";

/// The writing side of the test's watch caches.
struct Writers {
    stateful_sets: Writer<StatefulSet>,
    leases: Writer<Lease>,
    pods: Writer<Pod>,
}

/// Watch caches that have listed an empty cluster.
fn empty_stores() -> (Stores, Writers) {
    fn ready<K>() -> Writer<K>
    where
        K: kube::Resource<DynamicType = ()> + Clone + 'static,
    {
        let mut w = Writer::default();
        w.apply_watcher_event(&watcher::Event::Init);
        w.apply_watcher_event(&watcher::Event::InitDone);
        w
    }
    let writers = Writers {
        stateful_sets: ready(),
        leases: ready(),
        pods: ready(),
    };
    let stores = Stores {
        stateful_sets: writers.stateful_sets.as_reader(),
        leases: writers.leases.as_reader(),
        pods: writers.pods.as_reader(),
    };
    (stores, writers)
}

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Recorded>>>;

fn not_found() -> Response<Body> {
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "not found", "reason": "NotFound", "code": 404});
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from(serde_json::to_vec(&status).expect("json")))
        .expect("response")
}

fn ok(value: &Value) -> Response<Body> {
    Response::builder()
        .body(Body::from(serde_json::to_vec(value).expect("json")))
        .expect("response")
}

/// An empty cluster: GETs find nothing, lists are empty, writes echo their body (a
/// StatefulSet comes back at generation 1 with no status, i.e. not ready).
async fn fake_api(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    log: Log,
    existing: Vec<String>,
) {
    while let Some((req, send)) = handle.next_request().await {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let bytes = req.into_body().collect_bytes().await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        log.lock().expect("log").push(Recorded {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        let response = match method.as_str() {
            "GET" if path.ends_with("/pods") => {
                ok(&json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}))
            }
            "GET" if existing.iter().any(|e| path.ends_with(e.as_str())) => {
                let name = path.rsplit('/').next().unwrap_or_default();
                ok(
                    &json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"name": name, "namespace": "ns"}}),
                )
            }
            "GET" => not_found(),
            _ => {
                let mut echo = body;
                if path.contains("/chainservices/") {
                    // Finalizer JSON patch or status patch: answer with a ChainService.
                    let status = echo.get("status").cloned().unwrap_or(Value::Null);
                    echo = json!({"apiVersion": "venus.filecoin.io/v1alpha1", "kind": "ChainService",
                        "metadata": {"name": "cs", "namespace": "ns"},
                        "spec": {"network": {"name": "mainnet"}}, "status": status});
                }
                if path.contains("/statefulsets/") && existing.iter().any(|e| e == READY_STS) {
                    let replicas = echo["spec"]["replicas"].clone();
                    echo["status"] = json!({"replicas": replicas, "readyReplicas": replicas,
                        "updatedReplicas": replicas, "observedGeneration": 1,
                        "currentRevision": "r1", "updateRevision": "r1"});
                }
                if let Some(meta) = echo.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("generation".into(), json!(1));
                    meta.entry("name").or_insert(json!("x"));
                }
                ok(&echo)
            }
        };
        send.send_response(response);
    }
}

fn chain_service(spec: ChainServiceSpec, finalized: bool) -> ChainService {
    let mut cs = ChainService::new("cs", spec);
    cs.metadata.namespace = Some("ns".into());
    cs.metadata.uid = Some("00000000-0000-0000-0000-000000000009".into());
    cs.metadata.generation = Some(4);
    cs.metadata.resource_version = Some("7".into());
    if finalized {
        cs.metadata.finalizers = Some(vec![FINALIZER.into()]);
    }
    cs
}

/// A Context on the fake API server, kept across reconciles (its applied cache, its stores).
struct Harness {
    ctx: Arc<Context>,
    log: Log,
    writers: Writers,
}

impl Harness {
    fn new(existing: &[&str]) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let log: Log = Arc::default();
        let existing = existing.iter().map(|s| (*s).to_string()).collect();
        tokio::spawn(fake_api(handle, log.clone(), existing));
        let client = Client::new(service, "ns");
        let (stores, writers) = empty_stores();
        let ctx = Arc::new(Context::new(
            client.clone(),
            Recorder::new(
                client,
                kube::runtime::events::Reporter {
                    controller: MANAGER.into(),
                    instance: None,
                },
            ),
            Arc::new(Metrics::default()),
            stores,
        ));
        Harness { ctx, log, writers }
    }

    /// One reconcile; returns its result and the requests it sent.
    async fn reconcile(&self, cs: ChainService) -> (Result<Action>, Vec<Recorded>) {
        let before = self.log.lock().expect("log").len();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            reconcile(Arc::new(cs), self.ctx.clone()),
        )
        .await
        .expect("reconcile finished in time");
        let recorded = self.log.lock().expect("log")[before..].to_vec();
        (result, recorded)
    }
}

async fn run(cs: ChainService) -> (Result<Action>, Vec<Recorded>) {
    Harness::new(&[]).reconcile(cs).await
}

fn writes(log: &[Recorded]) -> Vec<String> {
    log.iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn first_reconcile_only_adds_the_finalizer() {
    let (result, log) = run(chain_service(ChainServiceSpec::default(), false)).await;
    result.expect("ok");
    let w = writes(&log);
    assert_eq!(
        w,
        ["PATCH /apis/venus.filecoin.io/v1alpha1/namespaces/ns/chainservices/cs"],
        "{w:#?}"
    );
    assert!(log[0].body.to_string().contains(FINALIZER));
}

#[tokio::test]
async fn new_chain_service_creates_secrets_shared_objects_then_auth_only() {
    let (result, log) = run(chain_service(ChainServiceSpec::default(), true)).await;
    result.expect("ok");
    let w = writes(&log);
    let ns = "/api/v1/namespaces/ns";
    let expected_prefix = [
        format!("POST {ns}/secrets"),
        format!("POST {ns}/secrets"),
        format!("POST {ns}/secrets"),
        format!("PATCH {ns}/serviceaccounts/cs-venus"),
        "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles/cs-venus".to_string(),
        "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/cs-venus".to_string(),
        "PATCH /apis/coordination.k8s.io/v1/namespaces/ns/leases/cs-messager".to_string(),
        "PATCH /apis/coordination.k8s.io/v1/namespaces/ns/leases/cs-miner".to_string(),
        format!("PATCH {ns}/configmaps/cs-auth"),
        format!("PATCH {ns}/services/cs-auth"),
        format!("PATCH {ns}/services/cs-auth-headless"),
        "PATCH /apis/policy/v1/namespaces/ns/poddisruptionbudgets/cs-auth".to_string(),
        "PATCH /apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/cs-auth".to_string(),
        "PATCH /apis/apps/v1/namespaces/ns/statefulsets/cs-auth".to_string(),
    ];
    assert_eq!(&w[..expected_prefix.len()], &expected_prefix, "{w:#?}");
    // auth is not ready yet: nothing of the gateway or later is touched.
    assert!(
        !w.iter()
            .any(|p| p.contains("cs-gateway") || p.contains("cs-node")),
        "{w:#?}"
    );
    assert_eq!(
        w.last().map(String::as_str),
        Some("PATCH /apis/venus.filecoin.io/v1alpha1/namespaces/ns/chainservices/cs/status")
    );

    // Secret material never appears outside the Secret bodies: one token per component.
    let tokens: Vec<String> = log
        .iter()
        .find(|r| r.path.ends_with("/secrets") && r.body["data"]["gateway"].is_string())
        .map(|r| {
            ["gateway", "node", "messager", "miner"]
                .iter()
                .map(|k| r.body["data"][k].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .expect("admin token secret created");
    assert!(tokens.iter().all(|t| !t.is_empty()), "{tokens:?}");
    for r in log.iter().filter(|r| !r.path.ends_with("/secrets")) {
        for token in &tokens {
            assert!(
                !r.body.to_string().contains(token),
                "token leaked into {} {}",
                r.method,
                r.path
            );
        }
    }

    let status = &log.last().expect("status patch").body["status"];
    assert_eq!(status["phase"], "Progressing");
    assert_eq!(status["observedGeneration"], 4);
    assert_eq!(status["adminTokenSecret"], "cs-admin-token");
    let progressing = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Progressing")
        .expect("Progressing");
    assert_eq!(
        progressing["message"],
        "waiting for auth to be ready before gateway"
    );
    // One Event per condition set for the first time.
    let events = log.iter().filter(|r| r.path.contains("/events")).count();
    assert_eq!(events, 9);
}

#[tokio::test]
async fn invalid_spec_writes_status_and_event_and_applies_nothing() {
    let mut spec = ChainServiceSpec::default();
    spec.messager.replicas = Some(2);
    spec.messager.database = Some(DatabaseSpec {
        kind: DatabaseKind::Sqlite,
        dsn_secret: None,
    });
    let (result, log) = run(chain_service(spec, true)).await;
    result.expect("an invalid spec is a status, not a reconcile error");
    let w = writes(&log);
    assert!(
        !w.iter()
            .any(|p| p.contains("/statefulsets/") || p.contains("/secrets")),
        "{w:#?}"
    );
    let status = &log.last().expect("status patch").body["status"];
    assert_eq!(status["phase"], "Failed");
    let ready = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "InvalidSpec");
    assert!(
        ready["message"]
            .as_str()
            .unwrap_or_default()
            .contains("spec.messager.replicas")
    );
    let warning = log
        .iter()
        .find(|r| r.path.contains("/events") && r.body["type"] == "Warning")
        .expect("a Warning event");
    assert!(
        warning.body["note"]
            .as_str()
            .unwrap_or_default()
            .contains("InvalidSpec")
    );
}

/// A ready, rolled-out StatefulSet of `component` as the watch cache holds it.
fn ready_stateful_set(component: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": format!("cs-{component}"), "namespace": "ns", "generation": 1,
            "labels": {"app.kubernetes.io/instance": "cs", "app.kubernetes.io/component": component}},
        "spec": {"replicas": 1, "selector": {}, "template": {}, "serviceName": format!("cs-{component}-headless")},
        "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "observedGeneration": 1,
            "currentRevision": "r1", "updateRevision": "r1"}
    }))
    .expect("statefulset")
}

fn held_lease(component: &str, holder: &str) -> Lease {
    let now = k8s_openapi::jiff::Timestamp::now();
    serde_json::from_value(json!({
        "metadata": {"name": format!("cs-{component}"), "namespace": "ns"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 8,
            "acquireTime": now.to_string(), "renewTime": now.to_string()}
    }))
    .expect("lease")
}

fn pod(component: &str, name: &str, role: Option<&str>) -> Pod {
    let mut labels =
        json!({"app.kubernetes.io/instance": "cs", "app.kubernetes.io/component": component});
    if let Some(role) = role {
        labels["venus.filecoin.io/role"] = json!(role);
    }
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "labels": labels}}))
        .expect("pod")
}

/// The quiet operator: once everything is applied and ready, a reconcile (a resync, or one
/// woken by an unrelated change) reads three Secrets' metadata and writes nothing.
#[tokio::test]
async fn at_rest_a_reconcile_writes_nothing() {
    let mut h = Harness::new(&[
        "/secrets/cs-auth-jwt",
        "/secrets/cs-admin-token",
        "/secrets/cs-node-identities",
        READY_STS,
    ]);
    for c in ["auth", "gateway", "node", "messager", "miner"] {
        h.writers
            .stateful_sets
            .apply_watcher_event(&watcher::Event::Apply(ready_stateful_set(c)));
    }
    for c in ["messager", "miner"] {
        let holder = format!("cs-{c}-0");
        h.writers
            .leases
            .apply_watcher_event(&watcher::Event::Apply(held_lease(c, &holder)));
        h.writers
            .pods
            .apply_watcher_event(&watcher::Event::Apply(pod(c, &holder, Some("primary"))));
    }
    let mut cs = chain_service(ChainServiceSpec::default(), true);
    let (result, first) = h.reconcile(cs.clone()).await;
    result.expect("first reconcile");
    let patches = writes(&first)
        .into_iter()
        .filter(|w| {
            w.starts_with("PATCH") && !w.contains("/chainservices/") && !w.contains("/events")
        })
        .count();
    // 5 shared objects and 5 components' 6 objects plus 2 `-rw` Services: all sent once.
    assert_eq!(patches, 5 + 5 * 6 + 2, "{:#?}", writes(&first));
    let status = first
        .iter()
        .rev()
        .find(|r| r.path.ends_with("/status"))
        .map(|r| r.body["status"].clone())
        .expect("status written");
    assert_eq!(status["phase"], "Ready", "{status:#}");

    cs.status = Some(serde_json::from_value(status).expect("status"));
    let (result, second) = h.reconcile(cs.clone()).await;
    result.expect("second reconcile");
    assert!(writes(&second).is_empty(), "{:#?}", writes(&second));
    assert_eq!(
        second.len(),
        3,
        "only the three Secrets' metadata: {second:#?}"
    );

    // A failover: the standby takes the Lease → one role relabel each, the status, an Event.
    h.writers
        .leases
        .apply_watcher_event(&watcher::Event::Apply(held_lease(
            "messager",
            "cs-messager-1",
        )));
    h.writers
        .pods
        .apply_watcher_event(&watcher::Event::Apply(pod(
            "messager",
            "cs-messager-1",
            Some("standby"),
        )));
    let (result, third) = h.reconcile(cs).await;
    result.expect("failover reconcile");
    let w = writes(&third);
    assert!(
        w.contains(&"PATCH /api/v1/namespaces/ns/pods/cs-messager-1".to_string())
            && w.contains(&"PATCH /api/v1/namespaces/ns/pods/cs-messager-0".to_string()),
        "{w:#?}"
    );
    let failover = third
        .iter()
        .find(|r| r.path.contains("/events") && r.body["reason"] == "Failover")
        .expect("a Failover event");
    assert_eq!(
        failover.body["note"],
        "messager primary moved from cs-messager-0 to cs-messager-1"
    );
    let status = &third.last().expect("status").body["status"];
    assert_eq!(status["components"]["messager"]["primary"], "cs-messager-1");
    assert!(
        !w.iter()
            .any(|w| w.contains("/statefulsets/") || w.contains("/configmaps/")),
        "nothing else re-applied: {w:#?}"
    );
}

/// `spec.reconciliationPaused`: no object, label or Secret is written; the status says so.
#[tokio::test]
async fn paused_changes_nothing_and_says_so() {
    let spec = ChainServiceSpec {
        reconciliation_paused: true,
        ..Default::default()
    };
    let (result, log) = run(chain_service(spec, true)).await;
    result.expect("ok");
    let w = writes(&log);
    assert!(
        w.iter()
            .all(|w| w.contains("/events") || w.ends_with("/chainservices/cs/status")),
        "{w:#?}"
    );
    let status = &log.last().expect("status patch").body["status"];
    let paused = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "ReconciliationPaused")
        .expect("ReconciliationPaused");
    assert_eq!(paused["status"], "True");
}
