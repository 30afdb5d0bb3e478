//! 100 ChainServices reconciled at rest: every component exists, is rolled out and ready, the
//! primaries hold their Leases — the state a resync finds on a healthy cluster. Measures the
//! time of one reconcile of all 100 and counts the API requests it sends (the figure the quiet
//! operator is about), against an in-process fake API server (tower-test) that answers
//! instantly, so the time is the operator's own work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, StatusCode};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use serde_json::{Value, json};
use venus_operator::ChainService;
use venus_operator::keys::FINALIZER;
use venus_operator::metrics::Metrics;
use venus_operator::reconcile::{Context, Stores, reconcile};

const COMPONENTS: [&str; 5] = ["auth", "gateway", "node", "messager", "miner"];

/// Answers GETs with an object (the generated Secrets exist), writes with their body, and
/// applied StatefulSets as rolled out and ready. Counts every request.
async fn fake_api(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    count: Arc<AtomicUsize>,
    writes: Arc<Mutex<Vec<String>>>,
) {
    while let Some((req, send)) = handle.next_request().await {
        count.fetch_add(1, Ordering::Relaxed);
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
        let mut body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if method != "GET"
            && let Ok(mut w) = writes.lock()
        {
            w.push(format!("{method} {path}"));
        }
        let response = if method == "GET" {
            let name = path.rsplit('/').next().unwrap_or_default();
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"name": name}})
        } else {
            if path.contains("/statefulsets/") {
                let r = body["spec"]["replicas"].clone();
                body["status"] = json!({"replicas": r, "readyReplicas": r, "updatedReplicas": r,
                    "observedGeneration": 1, "currentRevision": "a", "updateRevision": "a"});
            }
            if path.contains("/chainservices/") {
                body = json!({"apiVersion": "venus.filecoin.io/v1alpha1", "kind": "ChainService",
                    "metadata": {"name": "x", "namespace": "ns"},
                    "spec": {"network": {"name": "mainnet"}}});
            }
            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("generation".into(), json!(1));
            }
            body
        };
        let bytes = serde_json::to_vec(&response).unwrap_or_default();
        send.send_response(
            Response::builder()
                .status(StatusCode::OK)
                .body(Body::from(bytes))
                .expect("response"),
        );
    }
}

fn ready<K>() -> Writer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let mut w = Writer::default();
    w.apply_watcher_event(&watcher::Event::Init);
    w.apply_watcher_event(&watcher::Event::InitDone);
    w
}

fn parse<K: serde::de::DeserializeOwned>(v: Value) -> K {
    serde_json::from_value(v).expect("object")
}

/// 100 devnet-small-like ChainServices (one replica each) with their watch caches filled.
/// The writing side of the watch caches (kept alive for the bench).
type Writers = (Writer<StatefulSet>, Writer<Lease>, Writer<Pod>);

fn world() -> (Vec<ChainService>, Stores, Writers) {
    let (mut sts, mut leases, mut pods) = (ready(), ready(), ready());
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let mut list = Vec::new();
    for i in 0..100 {
        let (name, ns) = (format!("cs-{i}"), format!("ns-{}", i % 10));
        let mut cs: ChainService = parse(json!({
            "apiVersion": "venus.filecoin.io/v1alpha1", "kind": "ChainService",
            "metadata": {"name": name, "namespace": ns, "uid": format!("00000000-0000-0000-0000-{i:012}"),
                "generation": 1, "finalizers": [FINALIZER]},
            "spec": {"network": {"name": "calibrationnet"}, "profile": "small"}
        }));
        for c in COMPONENTS {
            sts.apply_watcher_event(&watcher::Event::Apply(parse(json!({
                "metadata": {"name": format!("{name}-{c}"), "namespace": ns, "generation": 1},
                "spec": {"replicas": 1, "selector": {}, "template": {}},
                "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                    "observedGeneration": 1, "currentRevision": "a", "updateRevision": "a"}
            }))));
        }
        for c in ["messager", "miner"] {
            let holder = format!("{name}-{c}-0");
            leases.apply_watcher_event(&watcher::Event::Apply(parse(json!({
                "metadata": {"name": format!("{name}-{c}"), "namespace": ns},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": 3600,
                    "acquireTime": now, "renewTime": now}
            }))));
            pods.apply_watcher_event(&watcher::Event::Apply(parse(json!({
                "metadata": {"name": holder, "namespace": ns, "labels": {
                    "app.kubernetes.io/instance": name, "app.kubernetes.io/component": c,
                    "venus.filecoin.io/role": "primary"}}
            }))));
        }
        cs.metadata.resource_version = Some("1".into());
        list.push(cs);
    }
    let stores = Stores {
        stateful_sets: sts.as_reader(),
        leases: leases.as_reader(),
        pods: pods.as_reader(),
    };
    (list, stores, (sts, leases, pods))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (list, stores, _writers) = world();
    let count = Arc::new(AtomicUsize::new(0));
    let writes = Arc::new(Mutex::new(Vec::new()));
    let ctx = rt.block_on(async {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        tokio::spawn(fake_api(handle, count.clone(), writes.clone()));
        let client = Client::new(service, "default");
        let reporter = Reporter {
            controller: "venus-operator".into(),
            instance: None,
        };
        Arc::new(Context::new(
            client.clone(),
            Recorder::new(client, reporter),
            Arc::new(Metrics::default()),
            stores,
        ))
    });
    // The first pass applies everything (a fresh operator) and writes each status; the
    // ChainServices then carry that status, as the next watch event would deliver them.
    rt.block_on(async {
        for cs in &list {
            reconcile(Arc::new(cs.clone()), ctx.clone())
                .await
                .expect("reconcile");
        }
    });
    eprintln!(
        "first pass (fresh operator): {} requests for 100 ChainServices",
        count.swap(0, Ordering::Relaxed)
    );
    let mut at_rest = Vec::new();
    for cs in &list {
        let mut cs = cs.clone();
        cs.status = Some(status_at_rest(&cs));
        at_rest.push(cs);
    }
    count.store(0, Ordering::Relaxed);
    if let Ok(mut w) = writes.lock() {
        w.clear();
    }
    rt.block_on(async {
        for cs in &at_rest {
            reconcile(Arc::new(cs.clone()), ctx.clone())
                .await
                .expect("reconcile");
        }
    });
    let requests = count.swap(0, Ordering::Relaxed);
    let written = writes.lock().map(|w| w.len()).unwrap_or(0);
    eprintln!(
        "at rest: {requests} requests ({:.1} per ChainService), {written} of them writes",
        requests as f64 / 100.0
    );

    c.bench_function("reconcile 100 ChainServices at rest", |b| {
        b.iter(|| {
            rt.block_on(async {
                for cs in &at_rest {
                    reconcile(Arc::new(cs.clone()), ctx.clone())
                        .await
                        .expect("reconcile");
                }
            })
        })
    });
}

/// The status `reconcile` computes for `cs` in this world (what it wrote on the first pass).
fn status_at_rest(cs: &ChainService) -> venus_operator::ChainServiceStatus {
    use venus_operator::build::Names;
    use venus_operator::component::Component;
    use venus_operator::status::{Observed, StatusInput, compute};
    let names = Names::new(
        cs.metadata.name.as_deref().unwrap_or_default(),
        cs.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let observed: Vec<(Component, Observed)> = Component::ALL
        .iter()
        .map(|c| {
            let primary = matches!(c, Component::Messager | Component::Miner)
                .then(|| format!("{}-{}-0", names.instance, c.name()));
            (
                *c,
                Observed {
                    exists: true,
                    desired: 1,
                    ready: 1,
                    rolled_out: true,
                    primary,
                    updated: 1,
                    rollout: None,
                },
            )
        })
        .collect();
    compute(&StatusInput {
        spec: &cs.spec,
        generation: cs.metadata.generation,
        names: &names,
        previous: None,
        validation: Ok(()),
        observed: &observed,
        waiting_at: None,
        paused: false,
        now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ),
    })
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
