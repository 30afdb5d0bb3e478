//! The operator's pods, run for real: the objects the operator builds for
//! `manifests/examples/devnet-small.yaml` (its pure build functions, as the golden tests use),
//! with the Secrets it would generate, are turned into processes of the real binaries on this
//! machine — venus-auth, venus-gateway, venus — started with exactly the container's args.
//!
//! What the test does to a pod is what the kubelet would do, plus one mapping: the ConfigMap's
//! and the Secrets' data are written to files under a temporary directory (one per volume), the
//! `$(VAR)` references in the args are expanded from the container's env (Secret values from
//! the generated material), and then mount paths become those directories, in-cluster DNS
//! names become 127.0.0.1 and the well-known ports free ones — in the args and the config
//! files alike. Nothing else is rewritten: any other difference between what the operator
//! renders and what a service accepts makes this test fail, and is to be fixed in the
//! operator or the service, not here.
//!
//! venus-messager and venus-miner are not run here: they take their role Lease from the API
//! server (also with one replica — see the operator README), so they run with the operator's
//! exact args, env and config in the cluster tests instead, as the processes of their pods
//! (`e2e/src/pods`, `tests/operator.rs` devnet-small and `tests/operator_failover.rs`).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Probe, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::{Value, json};
use venus_e2e::binaries::workspace_binaries;
use venus_e2e::pods::genesis::devnet_genesis;
use venus_e2e::pods::text::{Rewriter, expand};
use venus_e2e::tools::repo_root;
use venus_operator::ChainService;
use venus_operator::build::{DesiredState, Names, build};
use venus_operator::component::Component;
use venus_operator::secrets::{self, Material};
use venus_operator::validate::{Referenced, validate};

const NAMESPACE: &str = "chain";
const EXAMPLE: &str = "devnet-small";
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The example as the API server would hand it to the operator (as the golden test loads it).
fn example() -> ChainService {
    let path = repo_root().join(format!("manifests/examples/{EXAMPLE}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut cs: ChainService = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    cs.metadata.namespace = Some(NAMESPACE.into());
    // The user's genesis ConfigMap (made below), not the operator's devnet Job: this test
    // runs the pods of the chain service itself.
    cs.spec.network.devnet = None;
    cs.spec.network.genesis = Some(venus_operator::crd::GenesisSource {
        config_map: "devnet-genesis".into(),
        key: "genesis.car".into(),
    });
    cs.metadata.uid = Some("11111111-2222-3333-4444-555555555555".into());
    cs
}

fn free_port() -> u16 {
    venus_e2e::fixture::free_port().expect("a free port")
}

/// In-cluster addresses of every component → 127.0.0.1 and the component's local port.
fn network_pairs(names: &Names, ports: &BTreeMap<i32, u16>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for c in Component::ALL {
        let Some(local) = ports.get(&c.port()) else {
            continue;
        };
        let port = c.port();
        let host = format!("{}.{NAMESPACE}.svc", names.component(c));
        pairs.push((
            format!("/dns/{host}/tcp/{port}"),
            format!("/ip4/127.0.0.1/tcp/{local}"),
        ));
        pairs.push((
            format!("http://{host}:{port}"),
            format!("http://127.0.0.1:{local}"),
        ));
        pairs.push((
            format!("/ip4/0.0.0.0/tcp/{port}"),
            format!("/ip4/127.0.0.1/tcp/{local}"),
        ));
        pairs.push((format!("0.0.0.0:{port}"), format!("127.0.0.1:{local}")));
    }
    pairs
}

/// What the cluster would hold besides the operator's objects: the generated Secrets and the
/// user's genesis ConfigMap.
struct Cluster {
    names: Names,
    state: DesiredState,
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    external_config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    ports: BTreeMap<i32, u16>,
    bin_dir: PathBuf,
    root: PathBuf,
}

impl Cluster {
    fn object<K: serde::de::DeserializeOwned>(&self, kind: &str, name: &str) -> K {
        let d = self
            .state
            .all()
            .find(|d| d.resource.kind == kind && d.name == name)
            .unwrap_or_else(|| panic!("the operator builds no {kind}/{name}"));
        serde_json::from_value(d.object.clone())
            .unwrap_or_else(|e| panic!("{kind}/{name} does not deserialise: {e}"))
    }
}

/// A pod's process; killed on drop.
struct Pod {
    name: String,
    child: Child,
    log: PathBuf,
    /// The container's `api` port, mapped to its local port.
    port: u16,
    /// Volume directories mounted read-only, with their contents when the pod started.
    read_only: Vec<(PathBuf, BTreeMap<String, Vec<u8>>)>,
    /// Directory of the `data` volume (the repo).
    data: PathBuf,
}

impl Pod {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn check_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "pod {} exited ({status}); its log:\n{}",
                self.name,
                self.log_text()
            );
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("read volume dir").flatten() {
        let path = entry.path();
        if path.is_file() {
            out.insert(
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(&path).expect("read volume file"),
            );
        }
    }
    out
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Lay out the pod's volumes, resolve its env and args, and start its container's binary.
fn start_pod(cluster: &Cluster, component: Component) -> Pod {
    let sts_name = cluster.names.component(component);
    let sts: StatefulSet = cluster.object("StatefulSet", &sts_name);
    let spec = sts.spec.as_ref().expect("StatefulSet spec");
    let pod: &PodSpec = spec.template.spec.as_ref().expect("pod spec");
    assert_eq!(pod.containers.len(), 1, "{sts_name}: one container");
    let container: &Container = &pod.containers[0];
    let pod_name = format!("{sts_name}-0");
    let root = cluster.root.join(&pod_name);
    let volume_dir = |name: &str| root.join("volumes").join(name);

    // Mount paths → volume directories.
    let mounts = container.volume_mounts.as_deref().unwrap_or_default();
    let mut pairs = network_pairs(&cluster.names, &cluster.ports);
    for m in mounts {
        pairs.push((
            m.mount_path.clone(),
            volume_dir(&m.name).display().to_string(),
        ));
    }
    let rewriter = Rewriter::new(pairs);

    // Volumes: what the kubelet would project into each directory.
    let mut claims: Vec<String> = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    for v in pod.volumes.iter().flatten() {
        let dir = volume_dir(&v.name);
        std::fs::create_dir_all(&dir).expect("volume dir");
        if let Some(cm) = &v.config_map {
            if cm.name == sts_name {
                // The operator's own ConfigMap: text with in-cluster paths and addresses.
                let config: ConfigMap = cluster.object("ConfigMap", &cm.name);
                for (key, text) in config.data.iter().flatten() {
                    write_file(&dir.join(key), rewriter.rewrite(text).as_bytes(), 0o644);
                }
            } else {
                let data = cluster
                    .external_config_maps
                    .get(&cm.name)
                    .unwrap_or_else(|| panic!("{pod_name} mounts unknown ConfigMap {}", cm.name));
                for (key, bytes) in data {
                    write_file(&dir.join(key), bytes, 0o644);
                }
            }
        } else if let Some(s) = &v.secret {
            let name = s.secret_name.as_deref().expect("secretName");
            let data = cluster
                .secrets
                .get(name)
                .unwrap_or_else(|| panic!("{pod_name} mounts unknown Secret {name}"));
            let mode = s.default_mode.unwrap_or(0o644) as u32;
            for (key, bytes) in data {
                write_file(&dir.join(key), bytes, mode);
            }
        } else if v.empty_dir.is_none() {
            panic!("{pod_name}: volume {} of an unexpected type", v.name);
        }
    }
    for claim in &claims {
        std::fs::create_dir_all(volume_dir(claim)).expect("claim dir");
    }
    let mut read_only = Vec::new();
    for m in mounts {
        let dir = volume_dir(&m.name);
        assert!(
            dir.is_dir(),
            "{pod_name} mounts {} which is no volume",
            m.name
        );
        claims.retain(|c| c != &m.name);
        if m.read_only == Some(true) {
            read_only.push((dir.clone(), snapshot(&dir)));
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        }
    }
    assert!(claims.is_empty(), "{pod_name}: unmounted claims {claims:?}");

    // Env, in order, as the kubelet resolves it.
    let mut env = BTreeMap::new();
    for e in container.env.iter().flatten() {
        let value = if let Some(v) = &e.value {
            expand(v, &env)
        } else if let Some(from) = &e.value_from {
            if let Some(f) = &from.field_ref {
                match f.field_path.as_str() {
                    "metadata.name" => pod_name.clone(),
                    "metadata.namespace" => NAMESPACE.to_owned(),
                    other => panic!("{pod_name}: env {} from unsupported field {other}", e.name),
                }
            } else if let Some(s) = &from.secret_key_ref {
                let bytes = cluster
                    .secrets
                    .get(&s.name)
                    .and_then(|d| d.get(&s.key))
                    .unwrap_or_else(|| {
                        panic!("{pod_name}: env {} from unknown Secret key", e.name)
                    });
                String::from_utf8(bytes.clone()).expect("utf8 secret")
            } else {
                panic!("{pod_name}: env {} from an unsupported source", e.name);
            }
        } else {
            String::new()
        };
        env.insert(e.name.clone(), value);
    }

    // Args: `$(VAR)` expanded, then paths, hosts and ports mapped.
    let args: Vec<String> = container
        .args
        .iter()
        .flatten()
        .map(|a| rewriter.rewrite(&expand(a, &env)))
        .collect();
    for a in &args {
        assert!(
            !a.contains("$("),
            "{pod_name}: unresolved reference in {a:?}"
        );
        assert!(
            !a.contains(".svc") && !a.contains("0.0.0.0"),
            "{pod_name}: unmapped address in {a:?}"
        );
    }

    let command = container.command.as_deref().unwrap_or_default();
    assert_eq!(command.len(), 1, "{pod_name}: command is the binary alone");
    let bin = cluster.bin_dir.join(&command[0]);
    let api_port = container
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("api"))
        .map(|p| p.container_port)
        .expect("an `api` port");
    let port = *cluster
        .ports
        .get(&api_port)
        .unwrap_or_else(|| panic!("{pod_name}: no local port for {api_port}"));

    let home = root.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let log = root.join("container.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let tmp = mounts
        .iter()
        .find(|m| m.mount_path == "/tmp")
        .map(|m| volume_dir(&m.name))
        .expect("/tmp is mounted");
    let data = mounts
        .iter()
        .find(|m| m.name == "data")
        .map(|m| volume_dir(&m.name))
        .expect("data is mounted");
    let child = Command::new(&bin)
        .args(&args)
        .env_clear()
        .envs(&env)
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("TMPDIR", &tmp)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    // Shown before expansion: the args carry the admin token.
    let shown: Vec<String> = container
        .args
        .iter()
        .flatten()
        .map(|a| rewriter.rewrite(a))
        .collect();
    eprintln!("started {pod_name}: {} {}", command[0], shown.join(" "));
    Pod {
        name: pod_name,
        child,
        log,
        port,
        read_only,
        data,
    }
}

fn probe_path(probe: Option<&Probe>) -> String {
    let get = probe
        .and_then(|p| p.http_get.as_ref())
        .expect("an HTTP probe");
    assert_eq!(get.port, IntOrString::String("api".into()));
    get.path.clone().expect("probe path")
}

fn container(cluster: &Cluster, component: Component) -> Container {
    let sts: StatefulSet = cluster.object("StatefulSet", &cluster.names.component(component));
    sts.spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers[0].clone())
        .expect("container")
}

/// Poll `path` until it answers 200, failing early when the pod exits.
async fn wait_200(http: &reqwest::Client, pod: &mut Pod, path: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        pod.check_running();
        if let Ok(r) = http.get(format!("{}{path}", pod.url())).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not answer 200 on {path}; its log:\n{}",
            pod.name,
            pod.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn rpc(http: &reqwest::Client, url: &str, token: &str, method: &str) -> (u16, Value) {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} at {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_small_pods_start_with_the_operators_args() {
    let bin_dir = workspace_binaries(&[
        ("venus-auth", "venus-auth"),
        ("venus-gateway", "venus-gateway"),
        ("venus-node", "venus"),
    ])
    .expect("service binaries");
    let tmp = tempfile::tempdir().expect("tempdir");

    // The operator's side: desired objects and generated Secrets.
    let cs = example();
    let valid = validate(&cs.spec, &Referenced::default()).expect("valid example");
    let state = build(&cs, &valid);
    let names = Names::new(&cs.name_any(), NAMESPACE);
    let material = Material::generate();
    let meta = |name: String| ObjectMeta {
        name: Some(name),
        namespace: Some(NAMESPACE.into()),
        ..Default::default()
    };
    let generated: Vec<Secret> = vec![
        secrets::jwt_secret(meta(names.jwt_secret()), &material),
        secrets::admin_token_secret(meta(names.admin_token_secret()), &material),
        secrets::node_identities_secret(meta(names.node_identities()), &names)
            .expect("node identities"),
    ];
    let secrets: BTreeMap<_, _> = generated
        .iter()
        .map(|s| {
            let data = s
                .data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            (s.name_any(), data)
        })
        .collect();
    let genesis = cs
        .spec
        .network
        .genesis
        .clone()
        .expect("the example has a genesis");
    let external_config_maps = BTreeMap::from([(
        genesis.config_map.clone(),
        BTreeMap::from([(
            genesis.key.clone(),
            devnet_genesis(&bin_dir, &tmp.path().join("genesis"), Duration::ZERO).expect("genesis"),
        )]),
    )]);
    let ports = [Component::Auth, Component::Gateway, Component::Node]
        .iter()
        .map(|c| c.port())
        .chain([venus_operator::build::NODE_SWARM_PORT])
        .map(|p| (p, free_port()))
        .collect();
    let cluster = Cluster {
        names,
        state,
        secrets,
        external_config_maps,
        ports,
        bin_dir,
        root: tmp.path().join("pods"),
    };
    let token = material
        .token(Component::Gateway)
        .expect("the gateway's token")
        .to_owned();
    let secret_hex: String = material
        .jwt_secret
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let forged = with_bad_signature(&token);
    let http = venus_rpc::tls::http_client_builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");

    // venus-auth: ready, and the operator's admin token verifies.
    let auth_container = container(&cluster, Component::Auth);
    let mut auth = start_pod(&cluster, Component::Auth);
    wait_200(
        &http,
        &mut auth,
        &probe_path(auth_container.startup_probe.as_ref()),
    )
    .await;
    wait_200(
        &http,
        &mut auth,
        &probe_path(auth_container.readiness_probe.as_ref()),
    )
    .await;
    // Every component's own token verifies, named for its component.
    for (component, own) in &material.component_tokens {
        let resp = http
            .post(format!("{}/verify", auth.url()))
            .bearer_auth(&token)
            .json(&json!({ "Token": own }))
            .send()
            .await
            .expect("verify");
        assert_eq!(
            resp.status(),
            200,
            "the {component} token must verify at venus-auth"
        );
        let body: Value = resp.json().await.expect("verify body");
        assert_eq!(body["name"], secrets::token_user(*component));
        assert_eq!(body["perm"], "admin");
    }
    assert!(
        !auth.data.join("secret").exists(),
        "venus-auth must use the mounted secret, not create <repo>/secret"
    );

    // venus-gateway: ready, and it accepts the admin token (verified through venus-auth).
    let gw_container = container(&cluster, Component::Gateway);
    let mut gateway = start_pod(&cluster, Component::Gateway);
    wait_200(
        &http,
        &mut gateway,
        &probe_path(gw_container.startup_probe.as_ref()),
    )
    .await;
    wait_200(
        &http,
        &mut gateway,
        &probe_path(gw_container.readiness_probe.as_ref()),
    )
    .await;
    let rpc_v2 = format!("{}/rpc/v2", gateway.url());
    let (status, body) = rpc(&http, &rpc_v2, &token, "Gateway.Version").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["Version"].is_string(), "{body}");
    let (status, _) = rpc(&http, &rpc_v2, &forged, "Gateway.Version").await;
    assert_eq!(status, 401, "a token venus-auth does not know is refused");

    // venus (node): up, and it answers ChainHead for the admin token through venus-auth.
    let node_container = container(&cluster, Component::Node);
    let mut node = start_pod(&cluster, Component::Node);
    wait_200(
        &http,
        &mut node,
        &probe_path(node_container.startup_probe.as_ref()),
    )
    .await;
    let rpc_v1 = format!("{}/rpc/v1", node.url());
    let (status, body) = rpc(&http, &rpc_v1, &token, "Filecoin.ChainHead").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["Height"].as_i64().is_some(), "{body}");
    assert!(
        body["result"]["Cids"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    let (status, _) = rpc(&http, &rpc_v1, &forged, "Filecoin.ChainHead").await;
    assert_eq!(status, 401, "a token venus-auth does not know is refused");

    for pod in [&mut auth, &mut gateway, &mut node] {
        pod.check_running();
        // Read-only mounts stay as the kubelet wrote them (no service writes its config).
        for (dir, before) in &pod.read_only {
            assert_eq!(
                &snapshot(dir),
                before,
                "{}: {} changed",
                pod.name,
                dir.display()
            );
        }
        let log = pod.log_text();
        assert!(
            !log.contains(&token),
            "{}: admin token in the log",
            pod.name
        );
        assert!(
            !log.contains(&secret_hex),
            "{}: JWT secret in the log",
            pod.name
        );
    }
}

/// The admin token's claims with a signature that does not match: well-formed, so it reaches
/// venus-auth, which must refuse it.
fn with_bad_signature(token: &str) -> String {
    let (signed, sig) = token.rsplit_once('.').expect("a JWT");
    let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{signed}.{flipped}{}", &sig[1..])
}
