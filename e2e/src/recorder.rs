//! A timeline of what appears in a namespace, recorded from watches, for ordering assertions
//! ("no gateway object exists before auth is Ready").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher;
use tokio::task::JoinHandle;

/// One observed state of one object.
#[derive(Debug, Clone)]
pub struct Observation {
    pub at: Instant,
    pub kind: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `metadata.resourceVersion`: the etcd revision of this state. kube-apiserver hands out
    /// etcd revisions, which are ordered across all kinds — a total order of what happened,
    /// unlike arrival times on separate watch streams.
    pub resource_version: u64,
    pub generation: i64,
    /// For StatefulSets: every replica ready and updated at the current generation.
    pub ready: bool,
    /// The object's body beyond metadata (`spec`, `status`, an EndpointSlice's `endpoints`).
    pub data: serde_json::Value,
    pub deleted: bool,
}

/// Watches some kinds in one namespace until dropped.
pub struct Timeline {
    log: Arc<Mutex<Vec<Observation>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Timeline {
    /// Starts the watches and returns once each has listed the namespace, so nothing created
    /// afterwards can be missed.
    pub async fn start(
        client: &kube::Client,
        namespace: &str,
        kinds: &[ApiResource],
    ) -> anyhow::Result<Self> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let mut synced = Vec::new();
        for resource in kinds {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            synced.push(rx);
            let log = Arc::clone(&log);
            let kind = resource.kind.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = Some(tx);
                let mut stream = watcher(api, watcher::Config::default()).boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(watcher::Event::InitDone) => {
                            if let Some(tx) = tx.take() {
                                let _ = tx.send(());
                            }
                        }
                        Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                            record(&log, &kind, &obj, false);
                        }
                        Ok(watcher::Event::Delete(obj)) => record(&log, &kind, &obj, true),
                        Ok(watcher::Event::Init) | Err(_) => {}
                    }
                }
            }));
        }
        for rx in synced {
            tokio::time::timeout(Duration::from_secs(30), rx).await??;
        }
        Ok(Self { log, tasks })
    }

    pub fn observations(&self) -> Vec<Observation> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn record(log: &Mutex<Vec<Observation>>, kind: &str, obj: &DynamicObject, deleted: bool) {
    let observation = Observation {
        at: Instant::now(),
        kind: kind.to_owned(),
        name: obj.metadata.name.clone().unwrap_or_default(),
        labels: obj.metadata.labels.clone().unwrap_or_default(),
        resource_version: obj
            .metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        generation: obj.metadata.generation.unwrap_or(0),
        ready: kind == "StatefulSet" && statefulset_ready(obj),
        data: obj.data.clone(),
        deleted,
    };
    if let Ok(mut log) = log.lock() {
        log.push(observation);
    }
}

/// Ready as a rollout is: observed the current generation, every replica updated and ready.
/// An `OnDelete` StatefulSet (the messager's and miner's, rolled by the operator) never moves
/// `currentRevision` to the update revision (kubernetes/kubernetes#73492): its updated pods
/// are counted by `updatedReplicas` alone.
fn statefulset_ready(obj: &DynamicObject) -> bool {
    let spec_replicas = obj.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &obj.data["status"];
    let generation = obj.metadata.generation.unwrap_or(0);
    let on_delete = obj.data["spec"]["updateStrategy"]["type"] == "OnDelete";
    status["observedGeneration"].as_i64() == Some(generation)
        && status["readyReplicas"].as_i64().unwrap_or(0) >= spec_replicas
        && status["updatedReplicas"].as_i64().unwrap_or(0) >= spec_replicas
        && (on_delete || status["currentRevision"] == status["updateRevision"])
}

/// The first (lowest-revision) observation matching `pred`.
pub fn first(log: &[Observation], pred: impl Fn(&Observation) -> bool) -> Option<&Observation> {
    log.iter()
        .filter(|o| !o.deleted && pred(o))
        .min_by_key(|o| o.resource_version)
}

/// Whether an observation belongs to `component` (label `app.kubernetes.io/component`).
pub fn of_component(o: &Observation, component: &str) -> bool {
    o.labels
        .get("app.kubernetes.io/component")
        .map(String::as_str)
        == Some(component)
}
