//! production-ha with the real binaries as the processes of its pods (e2e/src/pods): two of each
//! component, auth and messager on the test MariaDB (`VENUS_TEST_MYSQL_URL`), and the messager
//! and miner primary/standby by the Lease their own processes take under the pods'
//! ServiceAccount. Then the primary's pod is killed: the standby's process takes the Lease, the
//! operator moves the role labels and the `-rw` Service's EndpointSlice follows — measured from
//! the pod's deletion and printed as `E2E-TIMING` lines (docs/benchmarks.md).
//!
//! One change to the example: the network. Our `venus` cannot sync mainnet from here (its
//! `/readyz` says so, and the harness reports that as the pod's readiness), so the ChainService
//! runs the example's spec on a 2k devnet with a genesis ConfigMap.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use venus_e2e::command::run;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::pods::genesis::{devnet_genesis, service_binaries};
use venus_e2e::pods::{PodProcesses, run_by_harness};
use venus_e2e::wait;

const READY_TIMEOUT: Duration = Duration::from_secs(240);
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);
const ROLE: &str = "venus.filecoin.io/role";

/// `mysql://u:p@h:port/` → the Go driver's DSN of database `db` (what the seed guide writes).
fn go_dsn(server: &str, db: &str) -> String {
    let rest = server.trim_start_matches("mysql://").trim_end_matches('/');
    let (cred, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
    format!("{cred}@({hostport})/{db}?parseTime=true&loc=Local")
}

async fn role_of(pods: &Api<Pod>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(pods
        .get_opt(name)
        .await?
        .and_then(|p| p.metadata.labels)
        .and_then(|l| l.get(ROLE).cloned()))
}

/// The holder identity of Lease `name` (`<pod>_<pod uid>`).
async fn identity_of(leases: &Api<Lease>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(leases
        .get_opt(name)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity))
}

/// The pod holding Lease `name` (the identity is `<pod>_<pod uid>`).
async fn holder_of(leases: &Api<Lease>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(leases
        .get_opt(name)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .map(|h| h.split('_').next().unwrap_or_default().to_owned()))
}

struct World<'a> {
    env: &'a OperatorEnv,
    name: String,
    pods: Api<Pod>,
    leases: Api<Lease>,
    slices: Api<EndpointSlice>,
    processes: &'a PodProcesses,
}

impl World<'_> {
    /// The component's primary and standby, once the Lease, the role labels and the `-rw`
    /// EndpointSlice agree.
    async fn settled_roles(&self, component: &str) -> anyhow::Result<(String, String)> {
        let lease = format!("{}-{component}", self.name);
        let rw = format!("{}-{component}-rw", self.name);
        wait::until(
            FAILOVER_TIMEOUT,
            &format!("{component} roles settled"),
            || async {
                let Some(primary) = holder_of(&self.leases, &lease).await? else {
                    return Ok(None);
                };
                let standby = if primary.ends_with("-0") {
                    format!("{}-{component}-1", self.name)
                } else {
                    format!("{}-{component}-0", self.name)
                };
                let agreed = role_of(&self.pods, &primary).await?.as_deref() == Some("primary")
                    && role_of(&self.pods, &standby).await?.as_deref() == Some("standby")
                    && objects::ready_endpoint_targets(&self.slices, &rw).await?
                        == [primary.clone()];
                Ok(agreed.then_some((primary, standby)))
            },
        )
        .await
        .map_err(|e| e.context(self.processes.describe(15)))
    }

    /// Deletes the primary's pod (its process is killed: SIGKILL when `crash`, else SIGTERM
    /// with the pod's grace period) and measures the takeover: another process holds the
    /// Lease — the standby, or the recreated pod's new process (a new identity: the
    /// StatefulSet brings the pod back under its name within a second, and both contend once
    /// the dead holder's term has run out) — and the role labels and the `-rw` EndpointSlice
    /// follow it.
    async fn fail_over(&self, component: &str, crash: bool) -> anyhow::Result<()> {
        let (primary, standby) = self.settled_roles(component).await?;
        assert!(
            self.processes.pid_of(&primary).is_some() && self.processes.pid_of(&standby).is_some(),
            "{component}: both pods have processes"
        );
        let lease = format!("{}-{component}", self.name);
        let rw = format!("{}-{component}-rw", self.name);
        let old_identity = identity_of(&self.leases, &lease).await?;
        let incarnations = self.processes.incarnations(&primary);
        let killed = Instant::now();
        let params = if crash {
            DeleteParams::default().grace_period(0)
        } else {
            DeleteParams::default()
        };
        self.pods.delete(&primary, &params).await?;
        let (mut leased, mut labelled, mut routed) = (None, None, None);
        let mut new_primary = String::new();
        let deadline = Instant::now() + FAILOVER_TIMEOUT;
        while leased.is_none() || labelled.is_none() || routed.is_none() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{component} failover incomplete after {FAILOVER_TIMEOUT:?}: Lease {leased:?}, \
                 label {labelled:?}, -rw {routed:?}\n{}\n{}",
                self.env.operator_log_tail(30),
                self.processes.describe(15)
            );
            if leased.is_none()
                && let Some(identity) = identity_of(&self.leases, &lease).await?
                && Some(&identity) != old_identity.as_ref()
            {
                leased = Some(killed.elapsed());
                new_primary = identity.split('_').next().unwrap_or_default().to_owned();
            }
            if leased.is_some()
                && labelled.is_none()
                && role_of(&self.pods, &new_primary).await?.as_deref() == Some("primary")
            {
                labelled = Some(killed.elapsed());
            }
            if leased.is_some()
                && routed.is_none()
                && objects::ready_endpoint_targets(&self.slices, &rw).await?
                    == [new_primary.clone()]
            {
                routed = Some(killed.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let secs = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64());
        eprintln!(
            "E2E-TIMING {component} failover ({} of the primary's pod → {} holds the Lease / \
             labelled primary / -rw EndpointSlice on it): {:.1}s / {:.1}s / {:.1}s",
            if crash {
                "SIGKILL"
            } else {
                "graceful delete, SIGTERM"
            },
            if new_primary == standby {
                "the standby"
            } else {
                "the recreated pod"
            },
            secs(leased),
            secs(labelled),
            secs(routed)
        );
        assert!(
            self.processes.pid_of(&new_primary).is_some(),
            "the new primary {new_primary} has a process"
        );
        // The recreated pod has a new process; whichever pod does not hold the Lease stands by.
        let other = if new_primary == primary {
            &standby
        } else {
            &primary
        };
        wait::until(
            FAILOVER_TIMEOUT,
            &format!("{other} the standby"),
            || async {
                let back = self.processes.incarnations(&primary) > incarnations
                    && self.processes.pid_of(other).is_some()
                    && role_of(&self.pods, other).await?.as_deref() == Some("standby");
                Ok(back.then_some(()))
            },
        )
        .await
        .map_err(|e| e.context(self.processes.describe(15)))?;
        assert_eq!(
            holder_of(&self.leases, &lease).await?.as_deref(),
            Some(new_primary.as_str()),
            "the new primary keeps the Lease"
        );
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_ha_processes_fail_over() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("production_ha_processes_fail_over") else {
        return Ok(());
    };
    let Some(mysql) = venus_e2e::stack::test_mysql_server() else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-failover")?;
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), Duration::from_secs(3600))?;
    let car_file = genesis_dir.path().join("genesis.car");
    std::fs::write(&car_file, car)?;
    run(env
        .kubectl()
        .args(["create", "configmap", "devnet-genesis", "-n", &ns])
        .arg(format!("--from-file=genesis.car={}", car_file.display())))?;
    let pid = std::process::id();
    for (secret, db) in [
        ("venus-auth-mysql", format!("venus_auth_failover_{pid}")),
        (
            "venus-messager-mysql",
            format!("venus_messager_failover_{pid}"),
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
    let cs = run_by_harness(cs);
    let name = cs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let started = Instant::now();
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
    let ready = objects::wait_ready(&api, &name, READY_TIMEOUT)
        .await
        .map_err(|e| {
            e.context(format!(
                "operator log:\n{}\npods:\n{}",
                env.operator_log_tail(30),
                processes.describe(15)
            ))
        })?;
    eprintln!(
        "E2E-TIMING apply→Ready production-ha shape on 2k, 10 real processes: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for component in objects::COMPONENTS {
        assert_eq!(
            ready.data["status"]["components"][component]["readyReplicas"].as_i64(),
            Some(2),
            "{component}: {}",
            ready.data["status"]
        );
        for i in 0..2 {
            let pod = format!("{name}-{component}-{i}");
            assert!(processes.pid_of(&pod).is_some(), "{pod} has no process");
        }
    }
    let world = World {
        env,
        name: name.clone(),
        pods: Api::namespaced(client.clone(), &ns),
        leases: Api::namespaced(client.clone(), &ns),
        slices: Api::namespaced(client.clone(), &ns),
        processes: &processes,
    };
    world.fail_over("messager", true).await?;
    world.fail_over("miner", false).await?;
    objects::wait_ready(&api, &name, READY_TIMEOUT).await?;
    env.check_operator()?;
    Ok(())
}
