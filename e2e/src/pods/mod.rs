//! Pods that act: the real service binaries run as the processes of kwok's simulated pods.
//!
//! [`PodProcesses`] watches the pods of one namespace. A pod that carries the toleration
//! [`TOLERATION_KEY`] is made Running — but not Ready — by kwok (the stage
//! `e2e/cluster/stages/pod-run-by-harness.yaml`); the harness then starts the binary its container
//! names with what the kubelet would give it ([`launch`]): volumes, env, Secret-backed values from
//! the API server, a kubeconfig holding a token of the pod's ServiceAccount, and in-cluster
//! addresses mapped to local ports (one stable port per pod name and container port, so the node
//! pods' libp2p addresses through the headless Service reach their processes; a listener per
//! Service that forwards to the Service's ready endpoints, see [`proxy`]). It reflects the
//! process's `/readyz` into the pod's Ready condition, so the StatefulSet controller, the
//! EndpointSlice controller and the operator see real readiness. A pod deleted or failed → its
//! process is stopped (SIGTERM with a grace period, SIGKILL without one); a recreated pod (new UID)
//! → a new process; a process that exits while its pod lives is restarted, as the kubelet would.
//! Dropping the harness kills every process; the cluster's watchdog kills them too if the test
//! process dies.

pub mod genesis;
mod launch;
mod lifecycle;
pub mod network;
mod proxy;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, record_owned_pid};
use launch::Launch;
use proxy::{PodPorts, ServiceProxies};
use text::Target;

/// Pods with a toleration of this key (effect NoSchedule) are run by the harness.
pub const TOLERATION_KEY: &str = "e2e.venus.filecoin.io/processes";

/// The toleration that hands a pod to the harness (add it to a ChainService component's
/// `scheduling.tolerations`).
pub fn toleration() -> Value {
    json!({"key": TOLERATION_KEY, "operator": "Exists", "effect": "NoSchedule"})
}

/// Adds [`toleration`] to every component of a ChainService manifest.
pub fn run_by_harness(mut chain_service: Value) -> Value {
    for component in crate::objects::COMPONENTS {
        let tolerations = &mut chain_service["spec"][component]["scheduling"]["tolerations"];
        if !tolerations.is_array() {
            *tolerations = json!([]);
        }
        if let Some(list) = tolerations.as_array_mut() {
            list.push(toleration());
        }
    }
    chain_service
}

/// What happened to pods' processes, in order (for assertions and failure messages).
#[derive(Clone, Debug)]
pub struct ProcessEvent {
    pub at: Instant,
    pub pod: String,
    pub what: String,
}

/// One process of one pod incarnation.
struct Running {
    uid: String,
    incarnation: usize,
    child: Arc<Mutex<Option<Child>>>,
    supervisor: JoinHandle<()>,
}

struct Shared {
    client: kube::Client,
    namespace: String,
    bin_dir: PathBuf,
    root: PathBuf,
    api_server: String,
    ca: PathBuf,
    owned_pids: PathBuf,
    pod_ports: PodPorts,
    /// (pod, container port) → local port, for every port an address names (the `api` one
    /// is also the pod's entry in `pod_ports`).
    container_ports: Mutex<BTreeMap<(String, i32), u16>>,
    proxies: ServiceProxies,
    running: Mutex<BTreeMap<String, Running>>,
    /// Log of each pod's latest incarnation (kept after its process ended: a Job's pod).
    logs: Mutex<BTreeMap<String, PathBuf>>,
    incarnations: Mutex<BTreeMap<String, usize>>,
    events: Mutex<Vec<ProcessEvent>>,
    /// UIDs of pods whose start failed and is being retried (one retry loop each).
    retrying: Mutex<BTreeSet<String>>,
}

/// The harness for one namespace; every process dies with it.
pub struct PodProcesses {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    _root: tempfile::TempDir,
}

impl PodProcesses {
    /// Starts watching `namespace`; binaries come from `bin_dir` (see
    /// [`crate::binaries::workspace_binaries`]).
    pub async fn start(
        cluster: &Cluster,
        client: &kube::Client,
        namespace: &str,
        bin_dir: &Path,
    ) -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix(&format!("pods-{namespace}-"))
            .tempdir()?;
        let (api_server, ca) = cluster.api_access()?;
        let slices_api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
        let (slices, writer) = reflector::store();
        let slices_task = tokio::spawn(async move {
            let stream = reflector(writer, watcher(slices_api, watcher::Config::default()))
                .default_backoff()
                .touched_objects();
            futures::pin_mut!(stream);
            while stream.next().await.is_some() {}
        });
        let pod_ports: PodPorts = Arc::default();
        let shared = Arc::new(Shared {
            client: client.clone(),
            namespace: namespace.to_owned(),
            bin_dir: bin_dir.to_path_buf(),
            root: root.path().to_path_buf(),
            api_server,
            ca,
            owned_pids: cluster.owned_pids_file(),
            proxies: ServiceProxies::new(slices.clone(), Arc::clone(&pod_ports)),
            pod_ports,
            container_ports: Mutex::default(),
            running: Mutex::default(),
            logs: Mutex::default(),
            incarnations: Mutex::default(),
            events: Mutex::default(),
            retrying: Mutex::default(),
        });
        tokio::time::timeout(Duration::from_secs(30), slices.wait_until_ready())
            .await
            .context("EndpointSlice watch not ready in 30 s")??;
        // Host processes (the operator) reach this namespace's names through the proxy.
        let weak = Arc::downgrade(&shared);
        let runtime = tokio::runtime::Handle::current();
        network::register(
            namespace,
            Arc::new(move |t: &Target| {
                let shared = weak.upgrade()?;
                let _in_runtime = runtime.enter();
                shared.local_port(t)
            }),
        );
        let watch = tokio::spawn(watch_pods(Arc::clone(&shared)));
        Ok(Self {
            shared,
            tasks: vec![slices_task, watch],
            _root: root,
        })
    }

    /// The local port of a pod's `api` port (stable across the pod's recreations).
    pub fn port_of(&self, pod: &str) -> Option<u16> {
        self.shared.pod_ports.lock().ok()?.get(pod).copied()
    }

    /// The local port forwarding to `service`'s ready endpoints.
    pub fn service_port(&self, service: &str) -> anyhow::Result<u16> {
        self.shared.proxies.port(service)
    }

    /// PID of the pod's running process.
    pub fn pid_of(&self, pod: &str) -> Option<u32> {
        let running = self.shared.running.lock().ok()?;
        let child = running.get(pod)?.child.lock().ok()?;
        child.as_ref().map(Child::id)
    }

    /// Processes started for `pod` so far (incarnations, not restarts).
    pub fn incarnations(&self, pod: &str) -> usize {
        self.shared
            .incarnations
            .lock()
            .map(|i| i.get(pod).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn events(&self) -> Vec<ProcessEvent> {
        self.shared
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// The last lines of a pod's current process log.
    pub fn log_tail(&self, pod: &str, lines: usize) -> String {
        let Some(log) = self
            .shared
            .logs
            .lock()
            .ok()
            .and_then(|r| r.get(pod).cloned())
        else {
            return format!("(no process for {pod})");
        };
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Every pod's process events and log tail, for a failure message.
    pub fn describe(&self, lines: usize) -> String {
        let mut out = String::new();
        for e in self.events() {
            out.push_str(&format!("{} {}\n", e.pod, e.what));
        }
        let pods: Vec<String> = self
            .shared
            .logs
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        for pod in pods {
            out.push_str(&format!("--- {pod}\n{}\n", self.log_tail(&pod, lines)));
        }
        out
    }
}

impl Drop for PodProcesses {
    fn drop(&mut self) {
        network::unregister(&self.shared.namespace);
        for task in &self.tasks {
            task.abort();
        }
        if let Ok(mut running) = self.shared.running.lock() {
            for (_, r) in std::mem::take(&mut *running) {
                r.supervisor.abort();
                kill_now(&r.child);
            }
        }
    }
}

fn kill_now(child: &Mutex<Option<Child>>) {
    if let Ok(mut slot) = child.lock()
        && let Some(mut c) = slot.take()
    {
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Shared {
    fn note(&self, pod: &str, what: String) {
        if let Ok(mut e) = self.events.lock() {
            e.push(ProcessEvent {
                at: Instant::now(),
                pod: pod.to_owned(),
                what,
            });
        }
    }

    /// The stable local port of `pod`'s container port `port`.
    fn container_port(&self, pod: &str, port: i32) -> anyhow::Result<u16> {
        let mut ports = self
            .container_ports
            .lock()
            .map_err(|_| anyhow::anyhow!("port table poisoned"))?;
        let key = (pod.to_owned(), port);
        if let Some(p) = ports.get(&key) {
            return Ok(*p);
        }
        let local = crate::fixture::free_port()?;
        ports.insert(key, local);
        Ok(local)
    }

    /// The local port of `pod`'s `api` container port (`api`: its number, if it has one).
    fn pod_port(&self, pod: &str, api: Option<i32>) -> anyhow::Result<u16> {
        let port = self.container_port(pod, api.unwrap_or(0))?;
        self.pod_ports
            .lock()
            .map_err(|_| anyhow::anyhow!("port table poisoned"))?
            .insert(pod.to_owned(), port);
        Ok(port)
    }

    fn local_port(&self, target: &Target) -> Option<u16> {
        match target {
            Target::Pod(pod, port) => self.container_port(pod, *port).ok(),
            Target::Service(service) => self.proxies.port(service).ok(),
        }
    }
}

/// Whether the harness runs this pod's process now.
fn wants_process(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    let marked = spec
        .and_then(|s| s.tolerations.as_ref())
        .is_some_and(|ts| ts.iter().any(|t| t.key.as_deref() == Some(TOLERATION_KEY)));
    let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    marked && running && pod.metadata.deletion_timestamp.is_none()
}

async fn watch_pods(shared: Arc<Shared>) {
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &shared.namespace);
    let stream = watcher(pods, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        match event {
            watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                on_pod(&shared, &pod).await;
            }
            watcher::Event::Delete(pod) => {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                stop(&shared, &name, Some(&uid), None);
            }
            watcher::Event::Init | watcher::Event::InitDone => {}
        }
    }
}

async fn on_pod(shared: &Arc<Shared>, pod: &Pod) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let current = shared
        .running
        .lock()
        .ok()
        .and_then(|r| r.get(&name).map(|r| r.uid.clone()));
    if wants_process(pod) {
        if current.as_deref() == Some(uid.as_str()) {
            return;
        }
        if current.is_some() {
            // The pod was replaced (new UID) before we saw the old one go.
            stop(shared, &name, None, Some(0));
        }
        if let Err(e) = start(shared, pod, &name, &uid).await {
            shared.note(&name, format!("not started: {e:#}"));
            retry_start(shared, name, uid);
        }
    } else if current.as_deref() == Some(uid.as_str()) {
        let grace = pod.metadata.deletion_grace_period_seconds;
        stop(shared, &name, Some(&uid), grace);
    }
}

/// Starts the pod's process again and again, as the kubelet retries a pod whose Secret or
/// ConfigMap does not exist yet (`ContainerCreating`), until it runs or the pod is gone,
/// replaced or no longer wanted. The loop holds the harness weakly: it ends with it.
fn retry_start(shared: &Arc<Shared>, name: String, uid: String) {
    let first = shared
        .retrying
        .lock()
        .is_ok_and(|mut r| r.insert(uid.clone()));
    if !first {
        return;
    }
    let weak = Arc::downgrade(shared);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            let Some(shared) = weak.upgrade() else { return };
            let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &shared.namespace);
            let pod = match pods.get_opt(&name).await {
                Ok(Some(pod)) => pod,
                Ok(None) => break,
                Err(_) => continue,
            };
            let running = shared
                .running
                .lock()
                .is_ok_and(|r| r.get(&name).is_some_and(|r| r.uid == uid));
            if pod.metadata.uid.as_deref() != Some(uid.as_str()) || !wants_process(&pod) || running
            {
                break;
            }
            match start(&shared, &pod, &name, &uid).await {
                Ok(()) => break,
                Err(e) => shared.note(&name, format!("not started: {e:#}")),
            }
        }
        if let Some(shared) = weak.upgrade()
            && let Ok(mut r) = shared.retrying.lock()
        {
            r.remove(&uid);
        }
    });
}

async fn start(shared: &Arc<Shared>, pod: &Pod, name: &str, uid: &str) -> anyhow::Result<()> {
    // Counted once the process runs: a start retried while a Secret is missing is not a
    // restart.
    let incarnation = shared
        .incarnations
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .get(name)
        .copied()
        .unwrap_or(0)
        + 1;
    let dir = shared.root.join(name).join(incarnation.to_string());
    std::fs::create_dir_all(&dir)?;
    let claims = shared.root.join("claims");
    std::fs::create_dir_all(&claims)?;
    let api = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("api"))
        .map(|p| p.container_port);
    let port = shared.pod_port(name, api)?;
    let mut local = |t: &Target| shared.local_port(t);
    let launch = launch::prepare(
        pod,
        launch::Setting {
            client: &shared.client,
            namespace: &shared.namespace,
            bin_dir: &shared.bin_dir,
            dir,
            claims: &claims,
            api_server: &shared.api_server,
            ca: &shared.ca,
            port,
            local: &mut local,
        },
    )
    .await?;
    // The first init container, else the container itself (the supervisor runs the rest).
    let first = launch.init.first().unwrap_or(&launch);
    let child = Arc::new(Mutex::new(Some(spawn(first, shared)?)));
    if let Ok(mut i) = shared.incarnations.lock() {
        i.insert(name.to_owned(), incarnation);
    }
    shared.note(
        name,
        format!(
            "started #{incarnation} (uid {uid}) on port {port}: {} ({})",
            first.program.display(),
            first.container
        ),
    );
    if let Ok(mut logs) = shared.logs.lock() {
        logs.insert(name.to_owned(), launch.log.clone());
    }
    let supervisor = tokio::spawn(supervise(
        Arc::clone(shared),
        name.to_owned(),
        launch.clone(),
        Arc::clone(&child),
    ));
    if let Ok(mut running) = shared.running.lock() {
        running.insert(
            name.to_owned(),
            Running {
                uid: uid.to_owned(),
                incarnation,
                child,
                supervisor,
            },
        );
    }
    Ok(())
}

fn spawn(launch: &Launch, shared: &Shared) -> anyhow::Result<Child> {
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)?;
    std::io::Write::write_all(&mut out, format!("== {} ==\n", launch.container).as_bytes())?;
    let err = out.try_clone()?;
    let child = Command::new(&launch.program)
        .args(&launch.args)
        .env_clear()
        .envs(&launch.env)
        .current_dir(&launch.dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {}", launch.program.display()))?;
    record_owned_pid(&shared.owned_pids, child.id())?;
    Ok(child)
}

/// Stops the pod's process: SIGTERM and up to `grace` seconds (at most 10) before SIGKILL;
/// SIGKILL at once for a grace of 0 or a failed pod.
fn stop(shared: &Arc<Shared>, name: &str, uid: Option<&str>, grace: Option<i64>) {
    let Some(running) = shared.running.lock().ok().and_then(|mut r| {
        let matches = r.get(name).is_some_and(|r| uid.is_none_or(|u| u == r.uid));
        if matches { r.remove(name) } else { None }
    }) else {
        return;
    };
    running.supervisor.abort();
    let grace = Duration::from_secs(u64::try_from(grace.unwrap_or(0).clamp(0, 10)).unwrap_or(0));
    shared.note(
        name,
        format!(
            "stopping #{} ({})",
            running.incarnation,
            if grace.is_zero() {
                "SIGKILL".to_owned()
            } else {
                format!("SIGTERM, {}s grace", grace.as_secs())
            }
        ),
    );
    let child = running.child;
    if grace.is_zero() {
        kill_now(&child);
        return;
    }
    let pid = child.lock().ok().and_then(|c| c.as_ref().map(Child::id));
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    tokio::spawn(async move {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let exited = child
                .lock()
                .ok()
                .and_then(|mut c| c.as_mut().map(|c| c.try_wait().ok().flatten().is_some()))
                .unwrap_or(true);
            if exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        kill_now(&child);
    });
}

/// Probes `/readyz` every half second and mirrors it into the pod's Ready condition; restarts
/// the process when it exits (with the kubelet's growing back-off, capped at 5 s here).
async fn supervise(
    shared: Arc<Shared>,
    name: String,
    launch: Launch,
    child: Arc<Mutex<Option<Child>>>,
) {
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &shared.namespace);
    if !lifecycle::run_init_containers(&shared, &pods, &name, &launch, &child).await {
        return;
    }
    let mut reported: Option<bool> = None;
    let mut backoff = Duration::from_millis(500);
    // A Job's pod is not reported Ready (nothing waits on it); it ends with its process.
    let report_ready = launch.restart_policy == "Always";
    loop {
        let exited = child
            .lock()
            .ok()
            .and_then(|mut c| c.as_mut().map(|c| c.try_wait().ok().flatten()))
            .flatten();
        let ready = match exited {
            Some(status) if !lifecycle::restarts(&launch.restart_policy, status) => {
                shared.note(
                    &name,
                    format!("{} exited ({status}): pod done", launch.container),
                );
                lifecycle::finish(&pods, &name, "containerStatuses", &launch.container, status)
                    .await;
                return;
            }
            Some(status) => {
                shared.note(
                    &name,
                    format!("exited ({status}); restarting in {backoff:?}"),
                );
                set_ready(&pods, &name, false, &mut reported).await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                match spawn(&launch, &shared) {
                    Ok(new) => {
                        if let Ok(mut c) = child.lock() {
                            *c = Some(new);
                        }
                    }
                    Err(e) => shared.note(&name, format!("restart failed: {e:#}")),
                }
                continue;
            }
            None => match &launch.readiness_path {
                Some(path) => http_ok(launch.port, path).await,
                None => true,
            },
        };
        if report_ready {
            set_ready(&pods, &name, ready, &mut reported).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn set_ready(pods: &Api<Pod>, name: &str, ready: bool, reported: &mut Option<bool>) {
    if *reported == Some(ready) {
        return;
    }
    let status = if ready { "True" } else { "False" };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = json!({"status": {"conditions": [
        {"type": "Ready", "status": status, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": status, "lastTransitionTime": now},
    ]}});
    if pods
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .is_ok()
    {
        *reported = Some(ready);
    }
}

/// `GET path` on 127.0.0.1:port answers 200 within 2 s.
async fn http_ok(port: u16, path: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        anyhow::Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Ok(true))
    )
}
