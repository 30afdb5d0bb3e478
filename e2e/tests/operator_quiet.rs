//! production-ha on the real control plane with the real binaries as the processes of its pods
//! (e2e/src/pods: their own lease loops take and renew the role Leases every 2 s under the pods'
//! ServiceAccount, their `/readyz` is the pods' readiness), then: the operator at rest (its API
//! requests per minute, from its own `venus_operator_api_requests_total`), and a messager
//! failover (role labels, the `-rw` EndpointSlice and a Failover Event follow the new holder).
//!
//! One change to the example: a 2k devnet with a genesis ConfigMap (our `venus` cannot sync
//! mainnet from here); auth and messager on the test MariaDB (`VENUS_TEST_MYSQL_URL`).
//!
//! Figures are printed as `E2E-TIMING …` lines (`--nocapture`); docs/benchmarks.md has them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::{Value, json};
use venus_e2e::command::run;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::pods::genesis::{devnet_genesis, service_binaries};
use venus_e2e::pods::{PodProcesses, run_by_harness};
use venus_e2e::wait;

const READY_TIMEOUT: Duration = Duration::from_secs(240);
const ROLE: &str = "venus.filecoin.io/role";

/// `venus_operator_api_requests_total` by (client, verb), from the operator's /metrics.
async fn request_counts(port: u16) -> anyhow::Result<BTreeMap<(String, String), f64>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    let mut out = BTreeMap::new();
    for line in body.lines() {
        let Some(rest) = line.strip_prefix("venus_operator_api_requests_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let label = |key: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        out.insert((label("client"), label("verb")), value.trim().parse()?);
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no venus_operator_api_requests_total in /metrics"
    );
    Ok(out)
}

fn delta(
    before: &BTreeMap<(String, String), f64>,
    after: &BTreeMap<(String, String), f64>,
    keep: impl Fn(&str, &str) -> bool,
) -> f64 {
    after
        .iter()
        .filter(|((c, v), _)| keep(c, v))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum()
}

async fn role_of(pods: &Api<Pod>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(pods
        .get(name)
        .await?
        .metadata
        .labels
        .and_then(|l| l.get(ROLE).cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_ha_is_quiet_at_rest_and_fails_over() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("production_ha_is_quiet_at_rest_and_fails_over") else {
        return Ok(());
    };
    let Some(mysql) = venus_e2e::stack::test_mysql_server() else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-quiet")?;
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    let car_file = genesis_dir.path().join("genesis.car");
    std::fs::write(&car_file, car)?;
    run(env
        .kubectl()
        .args(["create", "configmap", "devnet-genesis", "-n", &ns])
        .arg(format!("--from-file=genesis.car={}", car_file.display())))?;
    let mut cs = on_kwok_storage(example("production-ha"));
    cs["spec"]["network"] =
        json!({"name": "2k", "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}});
    let cs = run_by_harness(cs);
    let name = cs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rest = mysql.trim_start_matches("mysql://").trim_end_matches('/');
    let (cred, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
    for component in ["auth", "messager"] {
        let secret = cs["spec"][component]["database"]["dsnSecret"]["name"]
            .as_str()
            .unwrap_or_default();
        let db = format!("venus_{component}_quiet_{}", std::process::id());
        run(env.kubectl().args([
            "create",
            "secret",
            "generic",
            secret,
            "-n",
            &ns,
            &format!("--from-literal=dsn={cred}@({hostport})/{db}?parseTime=true&loc=Local"),
        ]))?;
    }
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let started = Instant::now();
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
    let ready = objects::wait_ready(&api, &name, READY_TIMEOUT)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n{}",
                env.operator_log_tail(40),
                processes.describe(15)
            ))
        })?;
    eprintln!(
        "E2E-TIMING apply→Ready production-ha (10 real processes): {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let messager_primary = ready.data["status"]["components"]["messager"]["primary"]
        .as_str()
        .map(str::to_owned)
        .expect("status names the messager primary");
    assert!(
        ready.data["status"]["components"]["miner"]["primary"].is_string(),
        "status names the miner primary: {}",
        ready.data["status"]
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let rw = format!("{name}-messager-rw");
    wait::until(
        Duration::from_secs(30),
        "the -rw Service selects the primary",
        || async {
            Ok(
                (objects::ready_endpoint_targets(&slices, &rw).await?
                    == [messager_primary.clone()])
                .then_some(()),
            )
        },
    )
    .await?;

    // At rest: a minute of the operator's own requests, while the processes renew their
    // Leases (every 2 s) and the harness probes their /readyz.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let renewed_at = |lease: Option<Lease>| {
        lease
            .and_then(|l| l.spec)
            .and_then(|s| s.renew_time)
            .map(|t| t.0)
    };
    let lease_name = format!("{name}-messager");
    let renewed_before = renewed_at(leases.get_opt(&lease_name).await?);
    let before = request_counts(env.metrics_port)
        .await
        .map_err(|e| e.context(env.operator_log_tail(60)))?;
    let window = Duration::from_secs(60);
    tokio::time::sleep(window).await;
    env.check_operator()?;
    let after = request_counts(env.metrics_port)
        .await
        .map_err(|e| e.context(env.operator_log_tail(60)))?;
    let renewed_after = renewed_at(leases.get_opt(&lease_name).await?);
    assert!(
        renewed_before.is_some() && renewed_after > renewed_before,
        "the messager's process renewed its Lease during the window ({renewed_before:?} → \
         {renewed_after:?}), so the quiet figure is measured against a live lease loop"
    );
    let per_minute = 60.0 / window.as_secs_f64();
    let controller = delta(&before, &after, |c, v| c == "controller" && v != "WATCH");
    let writes = delta(&before, &after, |c, v| {
        c == "controller" && matches!(v, "POST" | "PUT" | "PATCH" | "DELETE")
    });
    let watches = delta(&before, &after, |c, v| c == "controller" && v == "WATCH");
    let leader = delta(&before, &after, |c, _| c == "leader");
    eprintln!(
        "E2E-TIMING at rest (production-ha Ready, 10 real processes renewing 2 Leases): controller {:.1} requests/min \
         ({writes} writes, {watches} watch restarts), leader election {:.1} requests/min",
        controller * per_minute,
        leader * per_minute
    );
    assert_eq!(
        writes, 0.0,
        "the operator wrote at rest: {after:?} vs {before:?}"
    );
    // The bound for the whole operator at rest; the leader renews with one PUT per
    // third of its lease (30 s here: 6 a minute), the controller only re-lists on watch restarts.
    let total = (controller + leader) * per_minute;
    assert!(
        total < 10.0,
        "the operator made {total:.1} requests/min at rest (controller {controller}, leader {leader} in {window:?})"
    );

    // Failover: the messager primary's pod deleted with grace 0 (its process SIGKILLed, no
    // release). The standby or the recreated pod's new process takes over once the term is out.
    let old_identity = leases
        .get(&lease_name)
        .await?
        .spec
        .and_then(|s| s.holder_identity);
    let killed = Instant::now();
    pods.delete(&messager_primary, &DeleteParams::default().grace_period(0))
        .await?;
    let standby = wait::until(
        Duration::from_secs(60),
        "another process holds the messager Lease",
        || async {
            let holder = leases
                .get_opt(&lease_name)
                .await?
                .and_then(|l| l.spec)
                .and_then(|s| s.holder_identity)
                .filter(|h| !h.is_empty() && Some(h) != old_identity.as_ref());
            Ok(holder.map(|h| h.split('_').next().unwrap_or_default().to_owned()))
        },
    )
    .await
    .map_err(|e| e.context(processes.describe(15)))?;
    wait::until(
        Duration::from_secs(30),
        "the new holder labelled primary",
        || async {
            Ok((role_of(&pods, &standby).await?.as_deref() == Some("primary")).then_some(()))
        },
    )
    .await
    .map_err(|e| e.context(env.operator_log_tail(40)))?;
    let labelled = killed.elapsed();
    wait::until(
        Duration::from_secs(30),
        "-rw EndpointSlice on the new primary",
        || async {
            Ok(
                (objects::ready_endpoint_targets(&slices, &rw).await? == [standby.clone()])
                    .then_some(()),
            )
        },
    )
    .await?;
    let routed = killed.elapsed();
    eprintln!(
        "E2E-TIMING messager failover (primary's pod deleted, grace 0 → {standby} labelled \
         primary / -rw EndpointSlice on it): {:.1}s / {:.1}s",
        labelled.as_secs_f64(),
        routed.as_secs_f64()
    );
    let obj = wait::until(
        Duration::from_secs(30),
        "status names the new primary",
        || async {
            let obj = api.get(&name).await?;
            let current = obj.data["status"]["components"]["messager"]["primary"].as_str()
                == Some(standby.as_str());
            Ok(current.then_some(obj))
        },
    )
    .await?;
    // The Event is written in the reconcile that writes that status.
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let failover_seen = wait::until(
        Duration::from_secs(15),
        "a role-change Event naming the new primary",
        || async {
            let listed = events
                .list(&ListParams::default().fields(&format!(
                    "involvedObject.kind=ChainService,involvedObject.name={name}"
                )))
                .await?;
            // The standby took over (Failover to it, or PrimaryElected after the operator saw
            // no holder in between), or the recreated pod of the old primary's name did after
            // the term ran out (PrimaryLost naming it: its first election is already listed).
            let named = listed.items.into_iter().any(|e| {
                let (reason, note) = (
                    e.reason.as_deref().unwrap_or_default(),
                    e.message.as_deref().unwrap_or_default(),
                );
                note.starts_with("messager")
                    && if standby == messager_primary {
                        reason == "PrimaryLost" && note.contains(&standby)
                    } else {
                        matches!(reason, "Failover" | "PrimaryElected")
                            && note.ends_with(&format!(" {standby}"))
                    }
            });
            Ok(named.then_some(()))
        },
    )
    .await;
    assert!(
        failover_seen.is_ok(),
        "no Failover, PrimaryElected or PrimaryLost Event naming {standby}"
    );
    let primary: &Value = &obj.data["status"]["components"]["messager"]["primary"];
    assert_eq!(primary.as_str(), Some(standby.as_str()));
    env.check_operator()?;
    Ok(())
}
