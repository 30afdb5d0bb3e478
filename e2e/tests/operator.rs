//! The operator on a real API server (kwokctl cluster, see e2e/cluster/): the chart installs,
//! every example ChainService comes up in order with the right child objects, invalid specs are
//! rejected with field names, kwok's chaos stages fail pods and nodes, spec changes roll in
//! order (surviving an operator crash), scaling and deletion honour the PVC retention policy.
//!
//! One cluster and one operator process serve every test in this file (each test uses its own
//! namespace). Timings are printed as `E2E-TIMING …` lines (`cargo test -p venus-e2e --test
//! operator -- --nocapture`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, Resource};
use serde_json::{Value, json};
use venus_e2e::command::{run, run_with_stdin, run_with_stdin_expecting_failure};
use venus_e2e::fixture::{HOST_IDENTITY, LEADER_LEASE, OPERATOR_NAMESPACE, OperatorEnv, RELEASE};
use venus_e2e::objects::{self, COMPONENTS, example, on_kwok_storage};
use venus_e2e::pods::genesis::{devnet_genesis, service_binaries};
use venus_e2e::pods::{PodProcesses, run_by_harness};
use venus_e2e::recorder::{self, Observation, Timeline};
use venus_e2e::wait;

/// Generous: the machine is shared and kwok pods turn Ready in about a second.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const SHORT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------

fn apply(env: &OperatorEnv, namespace: &str, object: &Value) -> anyhow::Result<String> {
    let yaml = serde_yaml_ng::to_string(object)?;
    run_with_stdin(
        env.kubectl().args(["apply", "-n", namespace, "-f", "-"]),
        &yaml,
    )
}

fn kinds() -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<StatefulSet>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<PodDisruptionBudget>(&()),
    ]
}

fn ts(start: Instant) -> String {
    format!("{:.1}s", start.elapsed().as_secs_f64())
}

/// Parses a Kubernetes quantity into a number (bytes, cores).
fn quantity(q: &str) -> f64 {
    let q = q.trim();
    let units: [(&str, f64); 11] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suffix, factor) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().unwrap_or(f64::NAN) * factor;
        }
    }
    q.parse().unwrap_or(f64::NAN)
}

fn request(
    requests: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    key: &str,
) -> f64 {
    requests
        .as_ref()
        .and_then(|r| r.get(key))
        .map(|q| quantity(&q.0))
        .unwrap_or(f64::NAN)
}

/// Asserts the deployment order from the recorded timeline: nothing of component N exists
/// before every replica of component N-1 was ready.
fn assert_created_in_order(log: &[Observation], context: &str) {
    for pair in COMPONENTS.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let ready = recorder::first(log, |o| {
            o.kind == "StatefulSet" && o.ready && recorder::of_component(o, before)
        })
        .unwrap_or_else(|| panic!("{context}: {before} StatefulSet never seen ready"));
        let created = recorder::first(log, |o| recorder::of_component(o, after))
            .unwrap_or_else(|| panic!("{context}: no {after} object seen"));
        assert!(
            created.resource_version > ready.resource_version,
            "{context}: {} {} (revision {}) existed before {before} was ready (revision {})",
            created.kind,
            created.name,
            created.resource_version,
            ready.resource_version
        );
    }
}

/// What each example must produce.
struct Expected {
    /// PVC storageClassName in the StatefulSet templates (None: the cluster default).
    template_class: Option<&'static str>,
    production: bool,
}

fn replicas_of(cs: &Value, component: &str) -> i32 {
    cs["spec"][component]["replicas"]
        .as_i64()
        .and_then(|r| i32::try_from(r).ok())
        .unwrap_or(1)
}

/// Checks every child object of a Ready ChainService.
async fn assert_children(
    client: &Client,
    namespace: &str,
    cs: &Value,
    expected: &Expected,
) -> anyhow::Result<()> {
    let name = cs["metadata"]["name"].as_str().unwrap_or_default();
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let svc_api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let pdb_api: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), namespace);
    let pvc_api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let owner = objects::chainservices(client, namespace).get(name).await?;
    let owner_uid = owner.metadata.uid.clone().unwrap_or_default();

    let mut auth_messager = (0.0, 0.0, 0.0);
    for (component, port) in COMPONENTS.iter().zip([8989, 45132, 3453, 39812, 12308]) {
        let object = format!("{name}-{component}");
        let replicas = replicas_of(cs, component);
        let sts = sts_api.get(&object).await?;
        let labels = sts.metadata.labels.clone().unwrap_or_default();
        for (k, v) in [
            ("app.kubernetes.io/instance", name),
            ("app.kubernetes.io/component", *component),
        ] {
            assert_eq!(
                labels.get(k).map(String::as_str),
                Some(v),
                "{object} label {k}"
            );
        }
        assert!(
            labels.contains_key("app.kubernetes.io/name"),
            "{object} label name"
        );
        assert!(
            labels.contains_key("app.kubernetes.io/managed-by"),
            "{object} label managed-by"
        );
        let owners = sts.metadata.owner_references.clone().unwrap_or_default();
        assert!(
            owners
                .iter()
                .any(|o| o.uid == owner_uid && o.controller == Some(true)),
            "{object} is not controlled by its ChainService"
        );
        let spec = sts.spec.clone().unwrap_or_default();
        assert_eq!(spec.replicas, Some(replicas), "{object} replicas");
        assert_eq!(
            spec.service_name.as_deref(),
            Some(format!("{object}-headless").as_str()),
            "{object} serviceName"
        );

        // Pod template: non-root, read-only root filesystem, probes on the health endpoints.
        let pod = spec.template.spec.clone().unwrap_or_default();
        let pod_sc = pod.security_context.clone().unwrap_or_default();
        assert_eq!(pod_sc.run_as_non_root, Some(true), "{object} runAsNonRoot");
        let container = pod
            .containers
            .iter()
            .find(|c| c.ports.iter().flatten().any(|p| p.container_port == port))
            .unwrap_or_else(|| panic!("{object}: no container listening on {port}"));
        let sc = container.security_context.clone().unwrap_or_default();
        assert_eq!(
            sc.read_only_root_filesystem,
            Some(true),
            "{object} readOnlyRootFilesystem"
        );
        assert_eq!(
            sc.allow_privilege_escalation,
            Some(false),
            "{object} allowPrivilegeEscalation"
        );
        let dropped = sc.capabilities.and_then(|c| c.drop).unwrap_or_default();
        assert!(
            dropped.iter().any(|d| d == "ALL"),
            "{object} drops ALL capabilities"
        );
        for (probe, path) in [
            (&container.readiness_probe, "/readyz"),
            (&container.liveness_probe, "/livez"),
        ] {
            let get = probe
                .as_ref()
                .and_then(|p| p.http_get.clone())
                .unwrap_or_else(|| panic!("{object}: no {path} httpGet probe"));
            assert_eq!(get.path.as_deref(), Some(path), "{object} probe path");
        }

        // Resources per profile.
        let res = container.resources.clone().unwrap_or_default();
        let (cpu, mem) = (
            request(&res.requests, "cpu"),
            request(&res.requests, "memory"),
        );
        let claim = spec
            .volume_claim_templates
            .clone()
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{object}: no volumeClaimTemplate"));
        let claim_spec = claim.spec.clone().unwrap_or_default();
        let size = claim_spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        assert_eq!(
            claim_spec.storage_class_name.as_deref(),
            expected.template_class,
            "{object} volumeClaimTemplate storageClassName"
        );
        let gib = quantity("1Gi");
        if expected.production {
            match *component {
                "node" => {
                    assert_eq!((cpu, mem / gib), (32.0, 128.0), "{object} production node");
                    assert_eq!(quantity(&size), quantity("2Ti"), "{object} node disk");
                }
                "gateway" | "miner" => {
                    assert_eq!((cpu, mem / gib), (16.0, 32.0), "{object} production");
                    assert_eq!(quantity(&size), quantity("200Gi"), "{object} disk");
                }
                _ => {
                    auth_messager.0 += cpu;
                    auth_messager.1 += mem / gib;
                    auth_messager.2 += quantity(&size) / gib;
                }
            }
        } else {
            assert!(
                cpu <= 1.0 && mem <= 2.0 * gib,
                "{object}: small profile asks {cpu} CPU / {mem} B"
            );
            assert!(
                quantity(&size) <= quantity("20Gi"),
                "{object}: small disk {size}"
            );
        }

        // Every replica has its PVC, bound, with the template's size.
        for i in 0..replicas {
            let pvc = pvc_api.get(&format!("data-{object}-{i}")).await?;
            let pvc_spec = pvc.spec.clone().unwrap_or_default();
            assert_eq!(
                pvc.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Bound"),
                "PVC data-{object}-{i} not Bound"
            );
            assert_eq!(
                pvc_spec.storage_class_name.as_deref(),
                Some(expected.template_class.unwrap_or("kwok-volume")),
                "PVC data-{object}-{i} class"
            );
            let pvc_size = pvc_spec
                .resources
                .and_then(|r| r.requests)
                .and_then(|r| r.get("storage").map(|q| q.0.clone()))
                .unwrap_or_default();
            assert_eq!(
                quantity(&pvc_size),
                quantity(&size),
                "PVC data-{object}-{i} size"
            );
        }

        // Services: ClusterIP for callers, headless for per-pod DNS, -rw for the primary.
        let svc = svc_api.get(&object).await?;
        let svc_spec = svc.spec.clone().unwrap_or_default();
        assert!(
            svc_spec.cluster_ip.as_deref() != Some("None"),
            "{object} Service is headless"
        );
        assert!(
            svc_spec.ports.iter().flatten().any(|p| p.port == port),
            "{object} Service port"
        );
        let headless = svc_api.get(&format!("{object}-headless")).await?;
        assert_eq!(
            headless.spec.and_then(|s| s.cluster_ip).as_deref(),
            Some("None"),
            "{object}-headless clusterIP"
        );
        if matches!(*component, "messager" | "miner") {
            let rw = svc_api.get(&format!("{object}-rw")).await?;
            let selector = rw.spec.and_then(|s| s.selector).unwrap_or_default();
            assert_eq!(
                selector.get("venus.filecoin.io/role").map(String::as_str),
                Some("primary"),
                "{object}-rw selects the primary"
            );
        }
        cm_api.get(&object).await?;
        pdb_api.get(&object).await?;
    }
    if expected.production {
        // auth + messager share the deployment guide's 16 CPU / 32 GiB / 200 GiB host.
        assert_eq!(
            auth_messager,
            (16.0, 32.0, 200.0),
            "auth + messager production sizing"
        );
    }
    Ok(())
}

/// The admin token never shows up in status, events or the operator's log.
async fn assert_token_not_leaked(
    env: &OperatorEnv,
    client: &Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let cs = objects::chainservices(client, namespace).get(name).await?;
    let secret_name = cs.data["status"]["adminTokenSecret"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: status.adminTokenSecret not set"))
        .to_owned();
    let secret: Secret = Api::namespaced(client.clone(), namespace)
        .get(&secret_name)
        .await?;
    // One admin token per component, each under its own key.
    let tokens: Vec<String> = secret
        .data
        .iter()
        .flatten()
        .map(|(_, b)| String::from_utf8_lossy(&b.0).into_owned())
        .collect();
    assert!(!tokens.is_empty(), "{secret_name} holds no token");
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let events = events.list(&ListParams::default()).await?.items;
    let log = std::fs::read_to_string(env.cluster.run_dir.join("operator.log")).unwrap_or_default();
    let status = cs.data["status"].to_string();
    for token in &tokens {
        assert!(token.len() >= 16, "admin token suspiciously short");
        assert!(!status.contains(token), "token in status");
        for event in &events {
            assert!(
                !event.message.clone().unwrap_or_default().contains(token),
                "token in an event"
            );
        }
        assert!(!log.contains(token), "token in the operator log");
    }
    Ok(())
}

/// Events the operator recorded for a ChainService.
async fn events_for(client: &Client, namespace: &str, name: &str) -> anyhow::Result<Vec<Event>> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = events
        .list(&ListParams::default().fields(&format!(
            "involvedObject.kind=ChainService,involvedObject.name={name}"
        )))
        .await?;
    Ok(list.items)
}

/// Applies `cs`, records what appears, waits for Ready; checks order and children.
async fn apply_and_verify(
    env: &OperatorEnv,
    client: &Client,
    namespace: &str,
    label: &str,
    cs: &Value,
    expected: &Expected,
    processes: &PodProcesses,
) -> anyhow::Result<()> {
    let name = cs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let timeline = Timeline::start(client, namespace, &kinds()).await?;
    let started = Instant::now();
    apply(env, namespace, cs)?;
    let api = objects::chainservices(client, namespace);
    let ready = objects::wait_ready(&api, &name, READY_TIMEOUT)
        .await
        .map_err(|e| {
            e.context(format!(
                "operator log:\n{}\npods:\n{}",
                env.operator_log_tail(30),
                processes.describe(15)
            ))
        })?;
    eprintln!("E2E-TIMING apply→Ready {label}: {}", ts(started));
    assert_eq!(ready.data["status"]["phase"], "Ready", "{label} phase");
    for (component, condition) in COMPONENTS.iter().zip([
        "AuthReady",
        "GatewayReady",
        "NodeReady",
        "MessagerReady",
        "MinerReady",
    ]) {
        assert_eq!(
            objects::condition_status(&ready, condition).as_deref(),
            Some("True"),
            "{label}: {condition}"
        );
        let replicas = replicas_of(cs, component);
        assert_eq!(
            ready.data["status"]["components"][component]["readyReplicas"].as_i64(),
            Some(i64::from(replicas)),
            "{label}: status.components.{component}.readyReplicas"
        );
    }
    assert_created_in_order(&timeline.observations(), label);
    assert_children(client, namespace, cs, expected).await?;
    assert_token_not_leaked(env, client, namespace, &name).await?;
    assert!(
        !events_for(client, namespace, &name).await?.is_empty(),
        "{label}: no Events recorded for the ChainService"
    );
    assert_leases_held_by_processes(client, namespace, &name, processes).await?;
    env.check_operator()?;
    Ok(())
}

/// The DSN Secrets `cs` names, each a database of its own on the test MariaDB (`mysql`, a
/// `mysql://u:p@h:port/` URL) in the Go driver's form the services read.
fn create_dsn_secrets(
    env: &OperatorEnv,
    namespace: &str,
    cs: &Value,
    mysql: &str,
) -> anyhow::Result<()> {
    let rest = mysql.trim_start_matches("mysql://").trim_end_matches('/');
    let (cred, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
    for component in ["auth", "messager"] {
        if let Some(secret) = cs["spec"][component]["database"]["dsnSecret"]["name"].as_str() {
            let key = cs["spec"][component]["database"]["dsnSecret"]["key"]
                .as_str()
                .unwrap_or("dsn");
            let db =
                format!("venus_{component}_{namespace}_{}", std::process::id()).replace('-', "_");
            run(env.kubectl().args([
                "create",
                "secret",
                "generic",
                secret,
                "-n",
                namespace,
                &format!("--from-literal={key}={cred}@({hostport})/{db}?parseTime=true&loc=Local"),
            ]))?;
        }
    }
    Ok(())
}

/// The example's genesis ConfigMap, holding a real genesis CAR (`venus` reads it in the pod).
fn create_genesis(
    env: &OperatorEnv,
    namespace: &str,
    cs: &Value,
    car: &[u8],
) -> anyhow::Result<()> {
    if let Some(config_map) = cs["spec"]["network"]["genesis"]["configMap"].as_str() {
        let key = cs["spec"]["network"]["genesis"]["key"]
            .as_str()
            .unwrap_or("genesis.car");
        let dir = tempfile::tempdir()?;
        let file = dir.path().join(key);
        std::fs::write(&file, car)?;
        run(env
            .kubectl()
            .args(["create", "configmap", config_map, "-n", namespace])
            .arg(format!("--from-file={key}={}", file.display())))?;
    }
    Ok(())
}

/// The role Leases of `name`'s messager and miner are held by their pods' own processes.
async fn assert_leases_held_by_processes(
    client: &Client,
    namespace: &str,
    name: &str,
    processes: &PodProcesses,
) -> anyhow::Result<()> {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), namespace);
    for component in ["messager", "miner"] {
        let lease = format!("{name}-{component}");
        let holder = wait::until(SHORT, &format!("Lease {lease} held"), || async {
            let l = leases.get_opt(&lease).await?;
            Ok(l.and_then(|l| l.spec).and_then(|s| s.holder_identity))
        })
        .await?;
        // `<pod>_<pod uid>`: a recreated pod is a new contender.
        let holder = holder.split('_').next().unwrap_or_default().to_owned();
        assert!(
            holder.starts_with(&format!("{name}-{component}-")),
            "Lease {lease} held by {holder}, not one of the {component} pods"
        );
        assert!(
            processes.pid_of(&holder).is_some(),
            "the holder {holder} of {lease} has no process: {}",
            processes.describe(10)
        );
    }
    Ok(())
}

async fn statefulset_generation(
    client: &Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<i64> {
    let sts: StatefulSet = Api::namespaced(client.clone(), namespace).get(name).await?;
    Ok(sts.metadata.generation.unwrap_or(0))
}

async fn wait_gone<K>(api: &Api<K>, selector: &str, what: &str) -> anyhow::Result<()>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    wait::until(SHORT, what, || async {
        let left = api.list(&ListParams::default().labels(selector)).await?;
        Ok(left.items.is_empty().then_some(()))
    })
    .await
}

// ------------------------------------------------------------------------------------------
// tests
// ------------------------------------------------------------------------------------------

/// 1. `helm install` of the chart: Deployment Available with 2 replicas, CRD established,
///    the host operator leads through the chart's Lease and serves health and metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_installs_and_the_operator_leads() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("chart_installs_and_the_operator_leads") else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let deployment: k8s_openapi::api::apps::v1::Deployment =
        Api::namespaced(client.clone(), OPERATOR_NAMESPACE)
            .get(RELEASE)
            .await?;
    let status = deployment.status.clone().unwrap_or_default();
    assert_eq!(
        status.ready_replicas,
        Some(2),
        "operator Deployment ready replicas"
    );
    let available = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Available")
        .map(|c| c.status);
    assert_eq!(available.as_deref(), Some("True"), "Deployment Available");
    let crd_status = run(env.kubectl().args([
        "get",
        "crd",
        "chainservices.venus.filecoin.io",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
    ]))?;
    assert_eq!(crd_status.trim(), "True", "CRD Established");

    // The simulated pods run nothing, so the host process must be the leader.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    let holder = wait::until(
        SHORT,
        "leader-election Lease held by the host operator",
        || async {
            let lease = leases.get_opt(LEADER_LEASE).await?;
            let holder = lease.and_then(|l| l.spec).and_then(|s| s.holder_identity);
            Ok(holder.filter(|h| h.starts_with(HOST_IDENTITY)))
        },
    )
    .await
    .map_err(|e| e.context(env.operator_log_tail(30)))?;
    assert!(holder.starts_with(HOST_IDENTITY));

    // Health and metrics of the operator process.
    let get = |path: &'static str| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", env.metrics_port)).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await?;
        let mut body = String::new();
        stream.read_to_string(&mut body).await?;
        anyhow::Ok(body)
    };
    let ready = wait::until(SHORT, "operator /readyz", || async {
        Ok(get("/readyz")
            .await
            .ok()
            .filter(|b| b.starts_with("HTTP/1.1 200") || b.starts_with("HTTP/1.0 200")))
    })
    .await?;
    assert!(ready.contains("200"), "{ready}");
    let metrics = get("/metrics").await?;
    assert!(
        metrics.contains("# TYPE"),
        "no Prometheus metrics: {metrics}"
    );
    env.check_operator()?;
    Ok(())
}

/// 2 + 5. devnet-small: ordered creation, children, Ready; scale up and down (PVCs deleted on
///    scale-down per its retention policy); deletion removes everything including PVCs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_small_lifecycle() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("devnet_small_lifecycle") else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-devnet")?;
    // The pods run the real binaries (e2e/src/pods): the node reads this genesis.
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    // The genesis from a ConfigMap the user made (the harness runs no init containers or Jobs,
    // so not the operator-made devnet genesis).
    let mut cs = example("devnet-small");
    cs["spec"]["network"] = json!({
        "name": "2k",
        "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}
    });
    let cs = run_by_harness(cs);
    create_genesis(env, &ns, &cs, &car)?;
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let expected = Expected {
        template_class: None,
        production: false,
    };
    apply_and_verify(
        env,
        &client,
        &ns,
        "devnet-small (processes in the pods)",
        &cs,
        &expected,
        &processes,
    )
    .await?;
    let name = "devnet";
    let api = objects::chainservices(&client, &ns);
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let pvc_api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);

    // Scale the gateway up: a second pod, its own PVC, status counts it.
    let started = Instant::now();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"gateway": {"replicas": 2}}})),
    )
    .await?;
    let ready = objects::wait_ready(&api, name, READY_TIMEOUT).await?;
    assert_eq!(
        ready.data["status"]["components"]["gateway"]["readyReplicas"],
        2
    );
    let sts = sts_api.get("devnet-gateway").await?;
    assert_eq!(sts.status.and_then(|s| s.ready_replicas), Some(2));
    pvc_api.get("data-devnet-gateway-1").await?;
    eprintln!("E2E-TIMING scale gateway 1→2 →Ready: {}", ts(started));

    // And down again: whenScaled=Delete removes the second PVC.
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"gateway": {"replicas": 1}}})),
    )
    .await?;
    let ready = objects::wait_ready(&api, name, READY_TIMEOUT).await?;
    assert_eq!(
        ready.data["status"]["components"]["gateway"]["readyReplicas"],
        1
    );
    wait::until(
        SHORT,
        "PVC data-devnet-gateway-1 deleted on scale-down",
        || async {
            Ok(pvc_api
                .get_opt("data-devnet-gateway-1")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    pvc_api.get("data-devnet-gateway-0").await?;

    // Deletion with whenDeleted=Delete: nothing of the instance is left, PVCs included.
    api.delete(name, &DeleteParams::default()).await?;
    wait::until(
        SHORT,
        "ChainService devnet gone (finalizer done)",
        || async { Ok(api.get_opt(name).await?.is_none().then_some(())) },
    )
    .await?;
    let selector = "app.kubernetes.io/instance=devnet";
    wait_gone(&sts_api, selector, "StatefulSets deleted").await?;
    wait_gone(
        &Api::<Service>::namespaced(client.clone(), &ns),
        selector,
        "Services deleted",
    )
    .await?;
    wait_gone(
        &Api::<ConfigMap>::namespaced(client.clone(), &ns),
        selector,
        "ConfigMaps deleted",
    )
    .await?;
    wait_gone(
        &Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns),
        selector,
        "PDBs deleted",
    )
    .await?;
    wait_gone(
        &Api::<Secret>::namespaced(client.clone(), &ns),
        selector,
        "Secrets deleted",
    )
    .await?;
    wait_gone(&pvc_api, selector, "PVCs deleted (whenDeleted: Delete)").await?;
    // The pods' processes died with their pods.
    wait::until(SHORT, "no process left of devnet's pods", || async {
        let left: Vec<String> = COMPONENTS
            .iter()
            .map(|c| format!("{name}-{c}-0"))
            .filter(|p| processes.pid_of(p).is_some())
            .collect();
        Ok(left.is_empty().then_some(()))
    })
    .await
    .map_err(|e| e.context(processes.describe(5)))?;
    env.check_operator()?;
    Ok(())
}

/// 2 + 5. production-ha (two of each, mysql for auth and messager) on kwok storage, the real
///    binaries as the pods' processes (their own lease loops take the role Leases): ordered
///    creation, production sizing; a spec change rolls component by component (the messager's
///    and miner's pods replaced by the operator, standby first), and an operator killed
///    mid-rollout resumes it; deletion keeps the PVCs (whenDeleted: Retain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_ha_lifecycle() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("production_ha_lifecycle") else {
        return Ok(());
    };
    let Some(mysql) = venus_e2e::stack::test_mysql_server() else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-production")?;
    // The pods run the real binaries, auth and messager on the test MariaDB. One change to the
    // example: a 2k devnet with a genesis ConfigMap (our `venus` cannot sync mainnet from here,
    // and its /readyz, the pod's readiness, says so).
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    let mut cs = on_kwok_storage(example("production-ha"));
    cs["spec"]["network"] =
        json!({"name": "2k", "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}});
    let cs = run_by_harness(cs);
    create_dsn_secrets(env, &ns, &cs, &mysql)?;
    create_genesis(env, &ns, &cs, &car)?;
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let expected = Expected {
        template_class: Some("kwok-volume"),
        production: true,
    };
    apply_and_verify(
        env,
        &client,
        &ns,
        "production-ha (processes in the pods)",
        &cs,
        &expected,
        &processes,
    )
    .await?;
    let name = "mainnet";
    let api = objects::chainservices(&client, &ns);

    // Rolling update of every component (an env var on each), observed through the timeline.
    let mut before = BTreeMap::new();
    for c in COMPONENTS {
        before.insert(
            c,
            statefulset_generation(&client, &ns, &format!("{name}-{c}")).await?,
        );
    }
    let timeline = Timeline::start(&client, &ns, &kinds()).await?;
    let env_patch: serde_json::Map<String, Value> = COMPONENTS
        .iter()
        .map(|c| {
            (
                (*c).to_owned(),
                json!({"extraEnv": [{"name": "E2E_ROLL", "value": "1"}]}),
            )
        })
        .collect();
    let started = Instant::now();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": env_patch})),
    )
    .await?;

    // Crash the operator as soon as the rollout has begun (auth's template changed).
    wait::until(SHORT, "auth StatefulSet updated", || async {
        let g = statefulset_generation(&client, &ns, &format!("{name}-auth")).await?;
        Ok((g > before["auth"]).then_some(()))
    })
    .await?;
    env.kill_operator()?;
    let miner_at_kill = statefulset_generation(&client, &ns, &format!("{name}-miner")).await?;
    assert_eq!(
        miner_at_kill, before["miner"],
        "miner rolled before auth was ready: not ordered"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.start_operator()?;
    let ready = objects::wait_ready(&api, name, READY_TIMEOUT)
        .await
        .map_err(|e| e.context(env.operator_log_tail(30)))?;
    eprintln!(
        "E2E-TIMING rolling update of 5×2 pods with an operator crash: {}",
        ts(started)
    );
    assert_eq!(ready.data["status"]["phase"], "Ready");

    // Every component rolled, each only after the one before it finished.
    let log = timeline.observations();
    for pair in COMPONENTS.windows(2) {
        let (prev, next) = (pair[0], pair[1]);
        let prev_done = recorder::first(&log, |o| {
            o.kind == "StatefulSet"
                && o.ready
                && o.generation > before[prev]
                && recorder::of_component(o, prev)
        })
        .unwrap_or_else(|| panic!("{prev} never finished rolling"));
        let next_start = recorder::first(&log, |o| {
            o.kind == "StatefulSet"
                && o.generation > before[next]
                && recorder::of_component(o, next)
        })
        .unwrap_or_else(|| panic!("{next} never rolled"));
        assert!(
            next_start.resource_version > prev_done.resource_version,
            "{next} began rolling (revision {}) before {prev} finished (revision {})",
            next_start.resource_version,
            prev_done.resource_version
        );
    }
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    for c in COMPONENTS {
        let sts = sts_api.get(&format!("{name}-{c}")).await?;
        let has_env = sts
            .spec
            .iter()
            .flat_map(|s| s.template.spec.iter())
            .flat_map(|p| p.containers.iter())
            .flat_map(|c| c.env.iter().flatten())
            .any(|e| e.name == "E2E_ROLL");
        assert!(has_env, "{name}-{c} template lacks the new env var");
    }

    // Deletion with whenDeleted=Retain: children go, the 10 PVCs stay.
    api.delete(name, &DeleteParams::default()).await?;
    wait::until(SHORT, "ChainService mainnet gone", || async {
        Ok(api.get_opt(name).await?.is_none().then_some(()))
    })
    .await?;
    let selector = "app.kubernetes.io/instance=mainnet";
    wait_gone(&sts_api, selector, "StatefulSets deleted").await?;
    wait_gone(
        &Api::<Service>::namespaced(client.clone(), &ns),
        selector,
        "Services deleted",
    )
    .await?;
    wait_gone(
        &Api::<ConfigMap>::namespaced(client.clone(), &ns),
        selector,
        "ConfigMaps deleted",
    )
    .await?;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kept = pvcs.list(&ListParams::default().labels(selector)).await?;
    assert_eq!(
        kept.items.len(),
        10,
        "whenDeleted: Retain keeps all 10 PVCs"
    );
    env.check_operator()?;
    Ok(())
}

/// 2. aws and gcp: the operator creates the cloud's StorageClasses and the PVCs ask for them;
///    without the cloud's CSI driver the disks never bind, so auth never becomes Ready — and
///    nothing of the gateway or later components may exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_presets_create_classes_and_gate_on_auth() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("cloud_presets_create_classes_and_gate_on_auth") else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let classes: Api<StorageClass> = Api::all(client.clone());
    for (example_name, provisioner) in
        [("aws", "ebs.csi.aws.com"), ("gcp", "pd.csi.storage.gke.io")]
    {
        let ns = env.namespace(&format!("e2e-{example_name}"))?;
        let cs = example(example_name);
        let name = cs["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        apply(env, &ns, &cs)?;
        let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
        let auth = wait::until(SHORT, &format!("{name}-auth StatefulSet"), || async {
            Ok(sts_api.get_opt(&format!("{name}-auth")).await?)
        })
        .await
        .map_err(|e| e.context(env.operator_log_tail(30)))?;
        let class_name = auth
            .spec
            .and_then(|s| s.volume_claim_templates)
            .and_then(|t| t.into_iter().next())
            .and_then(|c| c.spec)
            .and_then(|s| s.storage_class_name)
            .unwrap_or_else(|| panic!("{example_name}: auth claim has no storageClassName"));
        let class = classes.get(&class_name).await?;
        assert_eq!(
            class.provisioner, provisioner,
            "{example_name}: class {class_name}"
        );
        assert_eq!(
            class.reclaim_policy.as_deref(),
            Some("Retain"),
            "{class_name} reclaim"
        );
        assert_eq!(
            class.volume_binding_mode.as_deref(),
            Some("WaitForFirstConsumer"),
            "{class_name}"
        );
        assert_eq!(
            class.allow_volume_expansion,
            Some(true),
            "{class_name} expansion"
        );
        if example_name == "aws" {
            let params = class.parameters.clone().unwrap_or_default();
            assert_eq!(
                params.get("type").map(String::as_str),
                Some("gp3"),
                "{class_name} type"
            );
            assert_eq!(
                params.get("encrypted").map(String::as_str),
                Some("true"),
                "{class_name} encrypted"
            );
        } else {
            let params = class.parameters.clone().unwrap_or_default();
            assert_eq!(
                params.get("type").map(String::as_str),
                Some("pd-ssd"),
                "{class_name} type"
            );
        }

        // Auth cannot get its disk here: it stays unready, and the order holds.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let obj = objects::chainservices(&client, &ns).get(&name).await?;
        assert_eq!(
            objects::condition_status(&obj, "AuthReady").as_deref(),
            Some("False"),
            "{name}"
        );
        assert_ne!(
            objects::condition_status(&obj, "Ready").as_deref(),
            Some("True"),
            "{name}"
        );
        for later in ["gateway", "node", "messager", "miner"] {
            let selector =
                format!("app.kubernetes.io/instance={name},app.kubernetes.io/component={later}");
            let lp = ListParams::default().labels(&selector);
            assert!(
                sts_api.list(&lp).await?.items.is_empty(),
                "{name}: {later} StatefulSet before auth Ready"
            );
            let svcs: Api<Service> = Api::namespaced(client.clone(), &ns);
            assert!(
                svcs.list(&lp).await?.items.is_empty(),
                "{name}: {later} Service before auth Ready"
            );
            let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
            assert!(
                cms.list(&lp).await?.items.is_empty(),
                "{name}: {later} ConfigMap before auth Ready"
            );
        }
        objects::chainservices(&client, &ns)
            .delete(&name, &DeleteParams::default())
            .await?;
    }
    env.check_operator()?;
    Ok(())
}

/// 3. The API server itself rejects invalid ChainServices, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_chainservices_are_rejected_naming_the_field() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("invalid_chainservices_are_rejected_naming_the_field")
    else {
        return Ok(());
    };
    let ns = env.namespace("e2e-invalid")?;
    let base = json!({
        "apiVersion": "venus.filecoin.io/v1alpha1",
        "kind": "ChainService",
        "metadata": {"name": "bad"},
        "spec": {"network": {"name": "calibrationnet"}, "profile": "small"}
    });
    let with = |patch: Value| {
        let mut cs = base.clone();
        if let (Some(spec), Some(patch)) = (cs["spec"].as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                spec.insert(k.clone(), v.clone());
            }
        }
        cs
    };
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "two sqlite auth replicas",
            with(json!({"auth": {"replicas": 2}})),
            vec!["spec.auth.replicas", "mysql"],
        ),
        (
            "two sqlite messager replicas",
            with(json!({"messager": {"replicas": 2, "database": {"type": "sqlite"}}})),
            vec!["spec.messager.replicas", "mysql"],
        ),
        (
            "mysql without a DSN secret",
            with(json!({"auth": {"database": {"type": "mysql"}}})),
            vec!["spec.auth.database", "dsnSecret"],
        ),
        (
            "className and preset together",
            with(json!({"storage": {"className": "fast", "preset": "awsGp3"}})),
            vec!["spec.storage", "className", "preset"],
        ),
        (
            "a size that is no quantity",
            with(json!({"node": {"storage": {"size": "two terabytes"}}})),
            vec!["spec.node.storage.size"],
        ),
        (
            "too many replicas",
            with(json!({"gateway": {"replicas": 17}})),
            vec!["spec.gateway.replicas"],
        ),
        (
            "an unknown network",
            with(json!({"network": {"name": "moonnet"}})),
            vec!["spec.network.name", "moonnet"],
        ),
        (
            "a 2k devnet without genesis",
            with(json!({"network": {"name": "2k"}})),
            vec!["spec.network.genesis"],
        ),
        (
            "an unknown profile",
            with(json!({"profile": "huge"})),
            vec!["spec.profile", "huge"],
        ),
    ];
    let mut failures = Vec::new();
    for (what, cs, needles) in cases {
        let yaml = serde_yaml_ng::to_string(&cs)?;
        match run_with_stdin_expecting_failure(
            env.kubectl().args(["apply", "-n", &ns, "-f", "-"]),
            &yaml,
        ) {
            Ok(err) => {
                for needle in needles {
                    if !err.contains(needle) {
                        failures.push(format!("{what}: error lacks `{needle}`: {err}"));
                    }
                }
            }
            Err(e) => {
                failures.push(format!("{what}: accepted: {e:#}"));
                let _ = run(env
                    .kubectl()
                    .args(["delete", "chainservice", "bad", "-n", &ns]));
            }
        }
    }

    // The network is immutable once created.
    apply(env, &ns, &with(json!({})))?;
    let patched = run_with_stdin_expecting_failure(
        env.kubectl().args(["apply", "-n", &ns, "-f", "-"]),
        &serde_yaml_ng::to_string(&with(json!({"network": {"name": "mainnet"}})))?,
    );
    match patched {
        Ok(err) if err.contains("spec.network") && err.contains("immutable") => {}
        Ok(err) => failures.push(format!("network change: unexpected error: {err}")),
        Err(e) => failures.push(format!("network change accepted: {e:#}")),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// What the schema cannot check (a missing DSN Secret) is reported as Ready=False,
/// reason=InvalidSpec, with an Event naming the problem — and nothing is deployed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolvable_references_are_reported_not_crashed_on() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("unresolvable_references_are_reported_not_crashed_on")
    else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-invalid-refs")?;
    let cs = json!({
        "apiVersion": "venus.filecoin.io/v1alpha1",
        "kind": "ChainService",
        "metadata": {"name": "dangling"},
        "spec": {
            "network": {"name": "calibrationnet"},
            "profile": "small",
            "storage": {"className": "kwok-volume"},
            "auth": {"database": {"type": "mysql", "dsnSecret": {"name": "no-such-secret", "key": "dsn"}}}
        }
    });
    apply(env, &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
    let obj = wait::until(SHORT, "Ready=False reason=InvalidSpec", || async {
        let obj = api.get("dangling").await?;
        let invalid = objects::status_is_current(&obj)
            && objects::condition_status(&obj, "Ready").as_deref() == Some("False")
            && objects::condition_reason(&obj, "Ready").as_deref() == Some("InvalidSpec");
        Ok(invalid.then_some(obj))
    })
    .await
    .map_err(|e| e.context(env.operator_log_tail(30)))?;
    let message = objects::condition(&obj, "Ready")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("no-such-secret"),
        "condition message: {message}"
    );
    let events = events_for(&client, &ns, "dangling").await?;
    assert!(
        events.iter().any(|e| e.type_.as_deref() == Some("Warning")
            && e.message
                .as_deref()
                .is_some_and(|m| m.contains("InvalidSpec") && m.contains("no-such-secret"))),
        "no InvalidSpec warning Event naming the Secret: {events:?}"
    );
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    assert!(
        sts.list(&ListParams::default()).await?.items.is_empty(),
        "deployed an invalid spec"
    );
    env.check_operator()?;
    Ok(())
}

/// Whether a recorded ChainService state had condition `kind` = `status`.
fn had_condition(o: &Observation, kind: &str, status: &str) -> bool {
    o.data["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == kind && c["status"] == status)
    })
}

/// Ready endpoint target names of a recorded EndpointSlice state.
fn ready_targets(o: &Observation) -> Vec<String> {
    o.data["endpoints"]
        .as_array()
        .map(|eps| {
            eps.iter()
                .filter(|e| e["conditions"]["ready"] == true)
                .filter_map(|e| e["targetRef"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// 4 (the part kwok can do). Load-balanced gateway and node pods fail through kwok's chaos
///    stages. A failed pod drops out of its Service's EndpointSlice, the ChainService reports
///    the component not ready, the StatefulSet replaces the pod and the service is Ready again.
///    A failed node: its pod is evicted (the spec tolerates a not-ready node for 5 s only) and
///    comes back on a healthy node. Transient states are caught by watches, not by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_pod_and_node_failures() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("chaos_pod_and_node_failures") else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-chaos")?;
    let tolerate_briefly = json!({"tolerations": [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    ]});
    // The pods run the real binaries: a replacement pod is Ready only once its process says
    // so. (With kwok's instant readiness a pod evicted from a failed node was replaced and
    // Ready again before the operator's reconcile read the StatefulSet: kwok's NotReady node
    // does not mark its pods NotReady as a kubelet would, so NodeReady=False was never seen.)
    let cs = run_by_harness(json!({
        "apiVersion": "venus.filecoin.io/v1alpha1",
        "kind": "ChainService",
        "metadata": {"name": "chaos"},
        "spec": {
            "network": {"name": "2k", "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}},
            "profile": "small",
            "storage": {"className": "kwok-volume", "retention": {"whenDeleted": "Delete", "whenScaled": "Delete"}},
            "gateway": {"replicas": 2, "scheduling": tolerate_briefly},
            "node": {"replicas": 2, "scheduling": tolerate_briefly}
        }
    }));
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    create_genesis(env, &ns, &cs, &car)?;
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    apply(env, &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
    objects::wait_ready(&api, "chaos", READY_TIMEOUT)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n{}",
                env.operator_log_tail(30),
                processes.describe(10)
            ))
        })?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let ready_endpoints = |service: &'static str| {
        let slices = slices.clone();
        async move {
            let list = slices
                .list(
                    &ListParams::default().labels(&format!("kubernetes.io/service-name={service}")),
                )
                .await?;
            let mut names: Vec<String> = list
                .items
                .iter()
                .flat_map(|s| s.endpoints.iter())
                .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
                .filter_map(|e| e.target_ref.as_ref().and_then(|r| r.name.clone()))
                .collect();
            names.sort();
            anyhow::Ok(names)
        }
    };
    wait::until(SHORT, "two ready gateway endpoints", || async {
        Ok(
            (ready_endpoints("chaos-gateway").await? == ["chaos-gateway-0", "chaos-gateway-1"])
                .then_some(()),
        )
    })
    .await?;
    let watched = [
        objects::chainservice_resource(),
        ApiResource::erase::<EndpointSlice>(&()),
        ApiResource::erase::<Pod>(&()),
    ];

    // Pod failure: kwok's stage fails the container (phase Failed, exit code 1).
    let timeline = Timeline::start(&client, &ns, &watched).await?;
    let old_uid = pods.get("chaos-gateway-0").await?.metadata.uid;
    let started = Instant::now();
    run(env.kubectl().args([
        "label",
        "pod",
        "chaos-gateway-0",
        "-n",
        &ns,
        "pod-container-running-failed.stage.kwok.x-k8s.io=true",
    ]))?;
    wait::until(SHORT, "chaos-gateway-0 replaced by a new pod", || async {
        let pod = pods.get_opt("chaos-gateway-0").await?;
        Ok(pod.filter(|p| p.metadata.uid != old_uid).map(|_| ()))
    })
    .await?;
    wait::until(SHORT, "two ready gateway endpoints again", || async {
        Ok((ready_endpoints("chaos-gateway").await?.len() == 2).then_some(()))
    })
    .await?;
    let obj = objects::wait_ready(&api, "chaos", READY_TIMEOUT).await?;
    assert!(
        processes.incarnations("chaos-gateway-0") >= 2
            && processes.pid_of("chaos-gateway-0").is_some(),
        "the replaced gateway pod runs a new process: {}",
        processes.describe(5)
    );
    eprintln!(
        "E2E-TIMING pod chaos → pod replaced, Ready again: {}",
        ts(started)
    );
    assert_eq!(
        obj.data["status"]["components"]["gateway"]["readyReplicas"],
        2
    );
    let log = timeline.observations();
    assert!(
        log.iter().any(|o| o.kind == "Pod"
            && o.name == "chaos-gateway-0"
            && o.data["status"]["phase"] == "Failed"),
        "the chaos stage never failed chaos-gateway-0"
    );
    assert!(
        log.iter().any(|o| o.kind == "EndpointSlice"
            && o.labels
                .get("kubernetes.io/service-name")
                .map(String::as_str)
                == Some("chaos-gateway")
            && !ready_targets(o).iter().any(|t| t == "chaos-gateway-0")),
        "the failed pod never left the gateway EndpointSlice"
    );
    assert!(
        log.iter()
            .any(|o| o.kind == "ChainService" && had_condition(o, "GatewayReady", "False")),
        "status never reported GatewayReady=False while a gateway pod was down"
    );
    drop(timeline);

    // Node failure: the node of chaos-node-0 goes NotReady.
    let timeline = Timeline::start(&client, &ns, &watched).await?;
    let victim = pods.get("chaos-node-0").await?;
    let node_name = victim.spec.and_then(|s| s.node_name).unwrap_or_default();
    assert!(!node_name.is_empty(), "chaos-node-0 not scheduled");
    let nodes: Api<Node> = Api::all(client.clone());
    let started = Instant::now();
    run(env.kubectl().args([
        "label",
        "node",
        &node_name,
        "node-not-ready.stage.kwok.x-k8s.io=true",
    ]))?;
    let result = async {
        wait::until(SHORT, "failed node reports Ready=False", || async {
            let node = nodes.get(&node_name).await?;
            let not_ready = node
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "False");
            Ok(not_ready.then_some(()))
        })
        .await?;
        // Evicted after the 5 s toleration; recreated on a healthy node.
        wait::until(
            READY_TIMEOUT,
            "chaos-node-0 running on a healthy node",
            || async {
                let pod = pods.get_opt("chaos-node-0").await?;
                let moved = pod.is_some_and(|p| {
                    let ready = p
                        .status
                        .and_then(|s| s.conditions)
                        .unwrap_or_default()
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True");
                    ready
                        && p.spec
                            .and_then(|s| s.node_name)
                            .is_some_and(|n| n != node_name)
                });
                Ok(moved.then_some(()))
            },
        )
        .await?;
        let obj = objects::wait_ready(&api, "chaos", READY_TIMEOUT).await?;
        eprintln!(
            "E2E-TIMING node chaos → pod moved, Ready again: {}",
            ts(started)
        );
        assert_eq!(obj.data["status"]["components"]["node"]["readyReplicas"], 2);
        assert!(
            processes.incarnations("chaos-node-0") >= 2
                && processes.pid_of("chaos-node-0").is_some(),
            "the moved node pod runs a new process: {}",
            processes.describe(5)
        );
        wait::until(SHORT, "both node endpoints ready", || async {
            Ok((ready_endpoints("chaos-node").await?.len() == 2).then_some(()))
        })
        .await?;
        let log = timeline.observations();
        assert!(
            log.iter()
                .any(|o| o.kind == "ChainService" && had_condition(o, "NodeReady", "False")),
            "status never reported NodeReady=False while a node pod was lost"
        );
        assert!(
            log.iter().any(|o| o.kind == "EndpointSlice"
                && o.labels
                    .get("kubernetes.io/service-name")
                    .map(String::as_str)
                    == Some("chaos-node")
                && ready_targets(o).len() < 2),
            "the node Service never dropped the lost pod"
        );
        anyhow::Ok(())
    }
    .await;
    // Heal the node whatever happened (other tests share the cluster).
    run(env.kubectl().args([
        "label",
        "node",
        &node_name,
        "node-not-ready.stage.kwok.x-k8s.io-",
    ]))?;
    result?;
    env.check_operator()?;
    Ok(())
}
