//! An image bump of a running ChainService, with the real binaries as the processes of its pods
//! (e2e/src/pods): auth, gateway and node roll as StatefulSets do; the messager and the miner
//! (primary/standby, `updateStrategy: OnDelete`) are replaced by the operator — the standby first,
//! then a switchover: the primary's pod is deleted gracefully only once the standby is Ready on
//! the new version, its process gives the Lease up on SIGTERM and the standby takes it.
//!
//! Asserted from watches of the pods and Leases: the standby was deleted first, the primary only
//! after the standby's new pod was Ready on the new image, the Lease went to a pod on the new
//! image (the updated standby, or the primary's pod recreated at once if it asked first), and the
//! time without a primary (the old holder's release → the new holder's acquisition, by the
//! Lease's own timestamps and by when the watch saw them) stays within one lease period. Messages
//! pushed through the `-rw` Service all the while are all still there afterwards. The
//! ChainService says `Progressing` with the upgrade's reason meanwhile (`UpgradingStandby`,
//! `Switchover`), and records `UpgradeStandby`/`Switchover` Events. Figures are printed as
//! `E2E-TIMING` lines (docs/benchmarks.md).
//!
//! Shape: production-ha's spec on a 2k devnet (as `operator_failover.rs`), one replica of auth,
//! gateway and node (their rolling is the StatefulSet controller's) and two of messager and miner.
//! The image tag changes; the harness runs the same workspace binary whatever the tag.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use venus_api::messager as messager_api;
use venus_e2e::command::run;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::pods::genesis::{devnet_genesis, service_binaries};
use venus_e2e::pods::{PodProcesses, run_by_harness};
use venus_e2e::wait;
use venus_rpc::Client;
use venus_types::{Address, Base64Bytes, TokenAmount};

const READY_TIMEOUT: Duration = Duration::from_secs(240);
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(180);
const NEW_TAG: &str = "e2e-upgrade";
/// venus-lease's default term (the services' `LeaseSettings::default()`).
const LEASE_PERIOD: Duration = Duration::from_secs(8);

/// `mysql://u:p@h:port/` → the Go driver's DSN of database `db`.
fn go_dsn(server: &str, db: &str) -> String {
    let rest = server.trim_start_matches("mysql://").trim_end_matches('/');
    let (cred, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
    format!("{cred}@({hostport})/{db}?parseTime=true&loc=Local")
}

/// One observed version of a pod.
#[derive(Clone, Debug)]
struct PodSeen {
    at: Instant,
    name: String,
    uid: String,
    deleting: bool,
    ready: bool,
    image: String,
}

/// One observed version of a role Lease.
#[derive(Clone, Debug)]
struct LeaseSeen {
    at: Instant,
    name: String,
    /// The holder's pod (identity `<pod>_<uid>`), `None` when released.
    holder: Option<String>,
    /// The whole holder identity: a pod recreated under the primary's name is another holder.
    identity: Option<String>,
    renew: Option<k8s_openapi::jiff::Timestamp>,
    acquire: Option<k8s_openapi::jiff::Timestamp>,
}

fn pod_seen(p: &Pod) -> PodSeen {
    PodSeen {
        at: Instant::now(),
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: p.metadata.uid.clone().unwrap_or_default(),
        deleting: p.metadata.deletion_timestamp.is_some(),
        ready: p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        image: p
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
    }
}

fn lease_seen(l: &Lease) -> LeaseSeen {
    let spec = l.spec.clone().unwrap_or_default();
    LeaseSeen {
        at: Instant::now(),
        name: l.metadata.name.clone().unwrap_or_default(),
        holder: spec
            .holder_identity
            .clone()
            .filter(|h| !h.is_empty())
            .map(|h| h.split('_').next().unwrap_or_default().to_owned()),
        identity: spec.holder_identity.filter(|h| !h.is_empty()),
        renew: spec.renew_time.map(|t| t.0),
        acquire: spec.acquire_time.map(|t| t.0),
    }
}

/// Records every version of the objects `api` watches until dropped.
struct Recorder<T> {
    seen: Arc<Mutex<Vec<T>>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T: Clone + Send + 'static> Recorder<T> {
    async fn start<K>(api: Api<K>, map: fn(&K) -> T) -> anyhow::Result<Self>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let sink = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default());
            futures::pin_mut!(stream);
            let mut ready_tx = Some(ready_tx);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        if let Ok(mut s) = sink.lock() {
                            s.push(map(&o));
                        }
                    }
                    Ok(watcher::Event::InitDone) => {
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    _ => {}
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(30), ready_rx).await??;
        Ok(Self { seen, task })
    }

    fn seen(&self) -> Vec<T> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl<T> Drop for Recorder<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Pushes a message through the `-rw` Service every 200 ms until stopped, collecting the ids it
/// was given in `accepted`; returns how many pushes failed.
fn start_pushing(
    port: u16,
    token: String,
    from: Address,
    stop: Arc<std::sync::atomic::AtomicBool>,
    accepted: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let url = format!("http://127.0.0.1:{port}/rpc/v0");
        let mut refused = 0;
        let mut client: Option<Client> = None;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if client.is_none() {
                client = Client::builder(&url)
                    .token(Some(token.clone()))
                    .timeout(Duration::from_secs(5))
                    .connect()
                    .await
                    .ok();
            }
            if let Some(c) = &client {
                let message = venus_types::Message {
                    version: 0,
                    to: from,
                    from,
                    nonce: 0,
                    value: TokenAmount::from_atto(0u64),
                    gas_limit: 0,
                    gas_fee_cap: TokenAmount::from_atto(0u64),
                    gas_premium: TokenAmount::from_atto(0u64),
                    method: 0,
                    params: Base64Bytes::default(),
                };
                match c.call(messager_api::PUSH_MESSAGE, (message, None)).await {
                    Ok(id) => {
                        if let Ok(mut a) = accepted.lock() {
                            a.push(id);
                        }
                    }
                    Err(_) => {
                        refused += 1;
                        client = None;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        refused
    })
}

/// The updated standby's readiness and the primary's deletion, from the pod timeline; returns
/// when the primary's deletion was first seen.
fn assert_standby_first(
    pods: &[PodSeen],
    component: &str,
    primary: &str,
    standby: &str,
    old_uids: &BTreeSet<String>,
) -> Instant {
    let first_deletion = pods
        .iter()
        .find(|p| p.deleting && old_uids.contains(&p.uid) && p.name.contains(component))
        .unwrap_or_else(|| panic!("{component}: no pod was deleted: {pods:#?}"));
    assert_eq!(
        first_deletion.name, standby,
        "{component}: the first pod deleted was {} (the primary is {primary})",
        first_deletion.name
    );
    let primary_deleted = pods
        .iter()
        .find(|p| p.name == primary && p.deleting && old_uids.contains(&p.uid))
        .unwrap_or_else(|| panic!("{component}: the primary {primary} was never replaced"));
    let standby_ready_new = pods
        .iter()
        .find(|p| {
            p.name == standby
                && !old_uids.contains(&p.uid)
                && p.ready
                && p.image.ends_with(&format!(":{NEW_TAG}"))
        })
        .unwrap_or_else(|| panic!("{component}: {standby} never Ready on the new image"));
    assert!(
        standby_ready_new.at <= primary_deleted.at,
        "{component}: the primary {primary} was deleted {:?} before the standby {standby} was \
         Ready on the new image",
        standby_ready_new.at - primary_deleted.at
    );
    primary_deleted.at
}

/// Time without a primary around the switchover: (by the Lease's timestamps: release → new
/// acquisition, by the watch: last version held by `primary` → first held by another).
fn time_without_primary(
    leases: &[LeaseSeen],
    lease: &str,
    primary: &str,
) -> (Duration, Duration, Instant) {
    let versions: Vec<&LeaseSeen> = leases.iter().filter(|l| l.name == lease).collect();
    // The old primary's identity: the first holder seen under its pod name (its pod recreated
    // on the new revision is another identity of the same name).
    let old = versions
        .iter()
        .find(|l| l.holder.as_deref() == Some(primary))
        .and_then(|l| l.identity.clone())
        .unwrap_or_else(|| panic!("{lease}: never held by {primary}: {versions:#?}"));
    let last_old = versions
        .iter()
        .rposition(|l| l.identity.as_deref() == Some(old.as_str()))
        .unwrap_or_default();
    let taken = versions[last_old..]
        .iter()
        .find(|l| l.identity.as_deref().is_some_and(|h| h != old))
        .unwrap_or_else(|| panic!("{lease}: nobody took over from {old}: {versions:#?}"));
    // The end of the old term: its release (holder none) if it was seen, else its last renewal.
    let end = versions[last_old..]
        .iter()
        .find(|l| l.holder.is_none())
        .unwrap_or(&versions[last_old]);
    let by_lease = match (end.renew, taken.acquire) {
        (Some(released), Some(acquired)) => {
            let ms = acquired.as_millisecond() - released.as_millisecond();
            Duration::from_millis(u64::try_from(ms.max(0)).unwrap_or(0))
        }
        _ => Duration::MAX,
    };
    (by_lease, taken.at - end.at, taken.at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_bump_rolls_standby_first_then_switches_over() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("image_bump_rolls_standby_first_then_switches_over") else {
        return Ok(());
    };
    let Some(mysql) = venus_e2e::stack::test_mysql_server() else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-upgrade")?;
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    let car_file = genesis_dir.path().join("genesis.car");
    std::fs::write(&car_file, car)?;
    run(env
        .kubectl()
        .args(["create", "configmap", "devnet-genesis", "-n", &ns])
        .arg(format!("--from-file=genesis.car={}", car_file.display())))?;
    let preseal: Value = serde_json::from_slice(&std::fs::read(
        genesis_dir.path().join("sectors/pre-seal-t01000.json"),
    )?)?;
    let from: Address = preseal["t01000"]["Owner"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| anyhow::anyhow!("pre-seal owner: {e:?}"))?;
    let pid = std::process::id();
    for (secret, db) in [
        ("venus-auth-mysql", format!("venus_auth_upgrade_{pid}")),
        (
            "venus-messager-mysql",
            format!("venus_messager_upgrade_{pid}"),
        ),
    ] {
        run(env.kubectl().args([
            "create",
            "secret",
            "generic",
            secret,
            "-n",
            &ns,
            &format!("--from-literal=dsn={}", go_dsn(&mysql, &db)),
        ]))?;
    }
    let mut cs = on_kwok_storage(example("production-ha"));
    cs["spec"]["network"] =
        json!({"name": "2k", "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}});
    for component in ["auth", "gateway", "node"] {
        cs["spec"][component]["replicas"] = json!(1);
    }
    let cs = run_by_harness(cs);
    let name = cs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let describe = |e: anyhow::Error| {
        e.context(format!(
            "operator log:\n{}\npods:\n{}",
            env.operator_log_tail(40),
            processes.describe(15)
        ))
    };
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
    objects::wait_ready(&api, &name, READY_TIMEOUT)
        .await
        .map_err(describe)?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    // Who is primary before the bump; the pods' uids before it.
    let mut roles = Vec::new();
    for component in ["messager", "miner"] {
        let lease = format!("{name}-{component}");
        let primary = wait::until(
            Duration::from_secs(30),
            &format!("{lease} held"),
            || async {
                Ok(leases
                    .get_opt(&lease)
                    .await?
                    .and_then(|l| lease_seen(&l).holder))
            },
        )
        .await?;
        let standby = if primary.ends_with("-0") {
            format!("{name}-{component}-1")
        } else {
            format!("{name}-{component}-0")
        };
        roles.push((component, lease, primary, standby));
    }
    let old_uids: BTreeSet<String> = pods
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={name}")))
        .await?
        .items
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    let pod_log = Recorder::start(pods.clone(), pod_seen).await?;
    let lease_log = Recorder::start(leases.clone(), lease_seen).await?;

    // Messages through the -rw Service for the whole upgrade.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let token_secret = secrets.get(&format!("{name}-admin-token")).await?;
    let token = token_secret
        .data
        .as_ref()
        .and_then(|d| d.get("messager"))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_owned())
        .ok_or_else(|| anyhow::anyhow!("no messager key in {name}-admin-token"))?;
    let rw_port = processes.service_port(&format!("{name}-messager-rw"))?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let pusher = start_pushing(
        rw_port,
        token.clone(),
        from,
        Arc::clone(&stop),
        Arc::clone(&accepted),
    );
    let count = || accepted.lock().map(|a| a.len()).unwrap_or(0);
    wait::until(
        Duration::from_secs(30),
        "messages accepted before the upgrade",
        || async { Ok((count() >= 3).then_some(())) },
    )
    .await
    .map_err(describe)?;

    // The image bump.
    let bumped = Instant::now();
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"image": {"tag": NEW_TAG}}})),
    )
    .await?;
    let generation = api.get(&name).await?.metadata.generation;
    // Progress in the status, then Ready on the new generation.
    let mut reasons = BTreeSet::new();
    let deadline = Instant::now() + UPGRADE_TIMEOUT;
    loop {
        let obj = api.get(&name).await?;
        if let Some(r) = objects::condition_reason(&obj, "Progressing") {
            reasons.insert(r);
        }
        let current = obj.data["status"]["observedGeneration"].as_i64() == generation;
        if current && objects::is_ready(&obj) {
            let all_new = pods
                .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={name}")))
                .await?
                .items
                .iter()
                .all(|p| pod_seen(p).image.ends_with(&format!(":{NEW_TAG}")));
            if all_new {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err(describe(anyhow::anyhow!(
                "not upgraded in {UPGRADE_TIMEOUT:?}: {}",
                objects::describe_status(&obj)
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let upgraded = bumped.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = pusher.await?;
    let accepted = accepted.lock().map(|a| a.clone()).unwrap_or_default();
    eprintln!(
        "E2E-TIMING image bump → Ready on the new image (auth, gateway, node 1 pod each rolled by \
         their StatefulSets; messager and miner 2 each, standby first then switchover): {:.1}s",
        upgraded.as_secs_f64()
    );
    assert!(
        ["UpgradingStandby", "Switchover", "Upgrading"]
            .iter()
            .any(|r| reasons.contains(*r)),
        // Each step's reason is in the status for one reconcile or two (sampled every 250 ms);
        // the Events below record every step.
        "Progressing never said an upgrade reason: {reasons:?}"
    );

    let pod_log = pod_log.seen();
    let lease_log = lease_log.seen();
    for (component, lease, primary, standby) in &roles {
        let primary_deleted =
            assert_standby_first(&pod_log, component, primary, standby, &old_uids);
        // The updated standby takes the Lease, unless the old primary's pod, recreated on the
        // new revision at once, asks first: either way a pod on the new image holds it.
        let holder = lease_seen(&leases.get(lease).await?).holder;
        assert!(
            holder.as_deref() == Some(standby.as_str())
                || holder.as_deref() == Some(primary.as_str()),
            "{component}: the Lease is held by {holder:?}, neither {standby} nor the recreated {primary}"
        );
        eprintln!("{component}: the Lease went to {holder:?} (standby {standby})");
        let (by_lease, by_watch, taken_at) = time_without_primary(&lease_log, lease, primary);
        let handed_over = Some(taken_at.saturating_duration_since(primary_deleted));
        eprintln!(
            "E2E-TIMING {component} switchover: time without a primary {:.3}s by the Lease \
             (release → acquisition), {:.3}s by its watch; the primary's pod deleted → the \
             next holder has the Lease {:.3}s",
            by_lease.as_secs_f64(),
            by_watch.as_secs_f64(),
            handed_over.map_or(f64::NAN, |d| d.as_secs_f64())
        );
        assert!(
            by_lease <= LEASE_PERIOD && by_watch <= LEASE_PERIOD,
            "{component}: {by_lease:?} / {by_watch:?} without a primary (lease period {LEASE_PERIOD:?})"
        );
    }

    // No message lost: every id the messager gave is stored, read through the new primary.
    eprintln!(
        "E2E-TIMING messages pushed through the -rw Service during the upgrade: {} accepted, {refused} refused",
        accepted.len()
    );
    assert!(
        accepted.len() >= 10,
        "too few messages accepted ({}) to say anything",
        accepted.len()
    );
    let reader = Client::builder(&format!("http://127.0.0.1:{rw_port}/rpc/v0"))
        .token(Some(token))
        .connect()
        .await?;
    for id in &accepted {
        let record = reader
            .call(messager_api::GET_MESSAGE_BY_UID, (id.clone(),))
            .await
            .map_err(|e| anyhow::anyhow!("message {id} lost: {e}"))?;
        assert_eq!(&record.id, id);
    }

    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let reasons: Vec<(String, String)> = events
        .list(&ListParams::default().fields(&format!(
            "involvedObject.kind=ChainService,involvedObject.name={name}"
        )))
        .await?
        .items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect();
    for (component, _, primary, standby) in &roles {
        assert!(
            reasons
                .iter()
                .any(|(r, m)| r == "UpgradeStandby" && m.contains(standby.as_str())),
            "no UpgradeStandby Event for {component}: {reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|(r, m)| r == "Switchover" && m.contains(primary.as_str())),
            "no Switchover Event for {component}: {reasons:?}"
        );
    }
    env.check_operator()?;
    Ok(())
}
