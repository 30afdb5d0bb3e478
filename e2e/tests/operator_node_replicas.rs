//! `spec.node.replicas: 2` on the real control plane (kube-apiserver + etcd + kwok) with the real
//! binaries as the pods' processes (e2e/src/pods): the two node pods load their libp2p
//! identities from the operator's Secret, dial each other through the headless Service and follow
//! one chain; blocks are made through the node Service (as venus-miner and venus-messager reach
//! the node tier). Then one node pod is killed: the node Service's EndpointSlice drops it, blocks
//! keep coming through the Service from the other node, the messager and miner keep running, and
//! the recreated pod catches up and is routed to again. Timings are printed as `E2E-TIMING`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use venus_api::full_node as api;
use venus_e2e::command::run;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects;
use venus_e2e::pods::genesis::{devnet_genesis, service_binaries};
use venus_e2e::pods::{PodProcesses, run_by_harness};
use venus_e2e::stack::BlockProducer;
use venus_e2e::wait;
use venus_rpc::Client;
use venus_types::{Address, PrivateKey, TipSet};

const NAME: &str = "replicas";
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const TIMEOUT: Duration = Duration::from_secs(60);
const BLOCK_DELAY: Duration = Duration::from_secs(4);
/// The genesis lies this far ahead when the ChainService is applied: the nodes are "synced"
/// (`/readyz`) until a few epochs past it, and blocks come once the node Service routes.
const GENESIS_AHEAD: Duration = Duration::from_secs(30);

fn pod(i: usize) -> String {
    format!("{NAME}-node-{i}")
}

/// The pre-seal worker key (`pre-seal-t01000.key`, Lotus hex-JSON).
fn worker_key(genesis_dir: &std::path::Path) -> anyhow::Result<PrivateKey> {
    let path = genesis_dir.join("sectors/pre-seal-t01000.key");
    let text = std::fs::read_to_string(&path)?;
    let info = venus_types::KeyInfo::from_lotus_export(text.trim())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    PrivateKey::from_key_info(&info).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn secret_text(secrets: &Api<Secret>, name: &str, key: &str) -> anyhow::Result<String> {
    let s = wait::until(TIMEOUT, &format!("Secret {name}"), || async {
        Ok(secrets.get_opt(name).await?)
    })
    .await?;
    let bytes = s
        .data
        .and_then(|mut d| d.remove(key))
        .ok_or_else(|| anyhow::anyhow!("Secret {name} has no key {key}"))?;
    Ok(String::from_utf8(bytes.0)?)
}

async fn client(port: u16, token: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(&format!("http://127.0.0.1:{port}/rpc/v1"))
        .token(Some(token.to_owned()))
        .connect()
        .await?)
}

async fn head_at(port: u16, token: &str) -> anyhow::Result<TipSet> {
    Ok(client(port, token).await?.call(api::CHAIN_HEAD, ()).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_replicas_follow_one_chain_and_survive_a_lost_pod() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("node_replicas_follow_one_chain") else {
        return Ok(());
    };
    let client_k = env.cluster.client().await?;
    let ns = env.namespace("e2e-node-replicas")?;
    let bin_dir = service_binaries()?;
    let genesis_dir = tempfile::tempdir()?;
    let car = devnet_genesis(&bin_dir, genesis_dir.path(), GENESIS_AHEAD)?;
    let car_file = genesis_dir.path().join("genesis.car");
    std::fs::write(&car_file, car)?;
    run(env
        .kubectl()
        .args(["create", "configmap", "devnet-genesis", "-n", &ns])
        .arg(format!("--from-file=genesis.car={}", car_file.display())))?;
    let cs = run_by_harness(json!({
        "apiVersion": "venus.filecoin.io/v1alpha1",
        "kind": "ChainService",
        "metadata": {"name": NAME},
        "spec": {
            "network": {"name": "2k", "genesis": {"configMap": "devnet-genesis", "key": "genesis.car"}},
            "profile": "small",
            "storage": {"className": "kwok-volume"},
            "node": {"replicas": 2},
        },
    }));
    let processes = PodProcesses::start(&env.cluster, &client_k, &ns, &bin_dir).await?;
    let fail = |e: anyhow::Error| {
        e.context(format!(
            "operator log:\n{}\npods:\n{}",
            env.operator_log_tail(30),
            processes.describe(20)
        ))
    };
    let started = Instant::now();
    objects::apply(&env.kubectl(), &ns, &cs)?;

    // Blocks through the node Service, with the node's own token (admin in venus-auth).
    let secrets: Api<Secret> = Api::namespaced(client_k.clone(), &ns);
    let token = secret_text(&secrets, &format!("{NAME}-admin-token"), "node").await?;
    let service_port = processes.service_port(&format!("{NAME}-node"))?;
    let producer = BlockProducer::start(
        vec![format!("http://127.0.0.1:{service_port}/rpc/v1")],
        token.clone(),
        worker_key(genesis_dir.path())?,
        Address::new_id(1000),
        BLOCK_DELAY,
    );

    let api_cs = objects::chainservices(&client_k, &ns);
    let ready = objects::wait_ready(&api_cs, NAME, READY_TIMEOUT)
        .await
        .map_err(fail)?;
    eprintln!(
        "E2E-TIMING apply→Ready node.replicas 2 on 2k, 6 real processes: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        ready.data["status"]["components"]["node"]["readyReplicas"].as_i64(),
        Some(2),
        "{}",
        ready.data["status"]
    );

    // The peer IDs the operator made, one per pod; each node is connected to the other's.
    let identities = format!("{NAME}-node-identities");
    let mut peer_ids = BTreeMap::new();
    for i in 0..2 {
        peer_ids.insert(
            i,
            secret_text(&secrets, &identities, &format!("{}.id", pod(i))).await?,
        );
    }
    let port = |i: usize| {
        processes
            .port_of(&pod(i))
            .ok_or_else(|| anyhow::anyhow!("{} has no port", pod(i)))
    };
    for i in 0..2 {
        let c = client(port(i)?, &token).await?;
        let id = c.call(api::ID, ()).await?;
        assert_eq!(id, peer_ids[&i], "{}: its identity from the Secret", pod(i));
        let other = peer_ids[&(1 - i)].clone();
        wait::until(
            TIMEOUT,
            &format!("{} connected to its peer", pod(i)),
            || async {
                let peers = c.call(api::NET_PEERS, ()).await?;
                Ok(peers.iter().any(|p| p.id == other).then_some(()))
            },
        )
        .await
        .map_err(fail)?;
    }
    // One chain: both heads agree past a few blocks.
    let agreed = wait::until(TIMEOUT, "both nodes on one head above 3", || async {
        let (a, b) = (
            head_at(port(0)?, &token).await?,
            head_at(port(1)?, &token).await?,
        );
        Ok((a.key() == b.key() && a.height() >= 3).then_some(a))
    })
    .await
    .map_err(fail)?;
    eprintln!(
        "E2E-TIMING node.replicas 2: both heads equal at height {} after {:.1}s",
        agreed.height(),
        started.elapsed().as_secs_f64()
    );

    // Kill node-1: the Service drops it, blocks keep coming through the other node.
    let slices: Api<EndpointSlice> = Api::namespaced(client_k.clone(), &ns);
    let service = format!("{NAME}-node");
    assert_eq!(
        objects::ready_endpoint_targets(&slices, &service).await?,
        [pod(0), pod(1)]
    );
    let before_kill = head_at(service_port, &token).await?.height();
    let others = [format!("{NAME}-messager-0"), format!("{NAME}-miner-0")];
    let other_incarnations: Vec<usize> = others.iter().map(|p| processes.incarnations(p)).collect();
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client_k.clone(), &ns);
    let killed = Instant::now();
    pods.delete(&pod(1), &DeleteParams::default().grace_period(0))
        .await?;
    wait::until(
        TIMEOUT,
        "the node Service without the killed pod",
        || async {
            let ready = objects::ready_endpoint_targets(&slices, &service).await?;
            Ok((ready == [pod(0)]).then_some(()))
        },
    )
    .await
    .map_err(fail)?;
    let dropped = killed.elapsed();
    let rising = wait::until(TIMEOUT, "the head rising through the Service", || async {
        let h = head_at(service_port, &token).await.ok();
        Ok(h.filter(|h| h.height() >= before_kill + 3))
    })
    .await
    .map_err(fail)?;
    let rose = killed.elapsed();

    // The recreated pod catches up and is routed to again.
    let caught_up = wait::until(
        TIMEOUT,
        "the recreated node caught up and ready",
        || async {
            if processes.incarnations(&pod(1)) < 2 {
                return Ok(None);
            }
            let (Ok(a), Ok(b)) = (
                head_at(port(0)?, &token).await,
                head_at(port(1)?, &token).await,
            ) else {
                return Ok(None);
            };
            let routed =
                objects::ready_endpoint_targets(&slices, &service).await? == [pod(0), pod(1)];
            Ok(
                (routed && b.height() + 1 >= a.height() && b.height() > rising.height())
                    .then_some(b),
            )
        },
    )
    .await
    .map_err(fail)?;
    eprintln!(
        "E2E-TIMING node pod SIGKILL → out of the node Service {:.1}s / head +3 through the \
         Service {:.1}s / recreated pod caught up (height {}) and routed again {:.1}s",
        dropped.as_secs_f64(),
        rose.as_secs_f64(),
        caught_up.height(),
        killed.elapsed().as_secs_f64()
    );
    // Its identity survived the new pod; the messager and miner never restarted.
    let c = client(port(1)?, &token).await?;
    assert_eq!(c.call(api::ID, ()).await?, peer_ids[&1]);
    for (p, n) in others.iter().zip(other_incarnations) {
        assert_eq!(processes.incarnations(p), n, "{p} was restarted");
        assert!(processes.pid_of(p).is_some(), "{p} has no process");
    }
    objects::wait_ready(&api_cs, NAME, READY_TIMEOUT)
        .await
        .map_err(fail)?;
    producer.stop();
    env.check_operator()?;
    Ok(())
}
