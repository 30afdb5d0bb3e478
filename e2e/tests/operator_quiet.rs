//! production-ha on the real control plane with its role Leases held, then: the operator at rest
//! (its API requests per minute, from its own `venus_operator_api_requests_total`), and a
//! messager failover (role labels and the `-rw` EndpointSlice follow the new Lease holder).
//!
//! The Leases are held by venus-lease's Kubernetes loop — the code venus-messager and
//! venus-miner run — authenticated as the pods' ServiceAccount (`<cs>-venus`), so with exactly
//! the RBAC the operator grants the pods, and with the pods' names as identities. They stand in
//! for the messager/miner processes, which kwok does not run (see e2e/README.md).
//!
//! Figures are printed as `E2E-TIMING …` lines (`--nocapture`); docs/benchmarks.md has them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use serde_json::Value;
use venus_e2e::command::run;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::wait;

mod operator_support;
use operator_support::hold_role_leases;

const READY_TIMEOUT: Duration = Duration::from_secs(180);
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
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-quiet")?;
    let cs = on_kwok_storage(example("production-ha"));
    let name = cs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (component, secret) in [("auth", "auth-dsn"), ("messager", "messager-dsn")] {
        let secret = cs["spec"][component]["database"]["dsnSecret"]["name"]
            .as_str()
            .unwrap_or(secret);
        // Pods are simulated by kwok, so this DSN is never dialled.
        run(env.kubectl().args([
            "create",
            "secret",
            "generic",
            secret,
            "-n",
            &ns,
            "--from-literal=dsn=venus:e2e@(mysql:3306)/venus?parseTime=true",
        ]))?;
    }
    let started = Instant::now();
    objects::apply(&env.kubectl(), &ns, &cs)?;

    let mut holders = hold_role_leases(env, &client, &ns, &name, &|_| 2).await?;
    let api = objects::chainservices(&client, &ns);
    let ready = objects::wait_ready(&api, &name, READY_TIMEOUT)
        .await
        .map_err(|e| e.context(env.operator_log_tail(40)))?;
    eprintln!(
        "E2E-TIMING apply→Ready production-ha (Leases held by venus-lease): {:.1}s",
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

    // At rest: a minute of the operator's own requests.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = request_counts(env.metrics_port)
        .await
        .map_err(|e| e.context(env.operator_log_tail(60)))?;
    let window = Duration::from_secs(60);
    tokio::time::sleep(window).await;
    env.check_operator()?;
    let after = request_counts(env.metrics_port)
        .await
        .map_err(|e| e.context(env.operator_log_tail(60)))?;
    let per_minute = 60.0 / window.as_secs_f64();
    let controller = delta(&before, &after, |c, v| c == "controller" && v != "WATCH");
    let writes = delta(&before, &after, |c, v| {
        c == "controller" && matches!(v, "POST" | "PUT" | "PATCH" | "DELETE")
    });
    let watches = delta(&before, &after, |c, v| c == "controller" && v == "WATCH");
    let leader = delta(&before, &after, |c, _| c == "leader");
    eprintln!(
        "E2E-TIMING at rest (production-ha Ready, one ChainService): controller {:.1} requests/min \
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

    // Failover: the messager primary's lease loop dies without releasing (a crash).
    let standby = if messager_primary.ends_with("-0") {
        format!("{name}-messager-1")
    } else {
        format!("{name}-messager-0")
    };
    let killed = Instant::now();
    holders
        .get_mut(&messager_primary)
        .expect("an instance per pod")
        .kill();
    wait::until(
        Duration::from_secs(30),
        "the standby labelled primary",
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
        "E2E-TIMING messager failover (holder killed → standby labelled primary / -rw \
         EndpointSlice on it): {:.1}s / {:.1}s",
        labelled.as_secs_f64(),
        routed.as_secs_f64()
    );
    assert_eq!(
        role_of(&pods, &messager_primary).await?.as_deref(),
        Some("standby"),
        "the old primary keeps no primary label"
    );
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let failover = events
        .list(&ListParams::default().fields(&format!(
            "involvedObject.kind=ChainService,involvedObject.name={name}"
        )))
        .await?
        .items
        .into_iter()
        .any(|e| {
            e.reason.as_deref() == Some("Failover")
                && e.message.as_deref().is_some_and(|m| m.contains(&standby))
        });
    assert!(failover, "no Failover Event naming {standby}");
    let obj = api.get(&name).await?;
    let primary: &Value = &obj.data["status"]["components"]["messager"]["primary"];
    assert_eq!(primary.as_str(), Some(standby.as_str()));
    env.check_operator()?;
    Ok(())
}
