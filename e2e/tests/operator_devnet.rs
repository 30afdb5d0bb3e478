//! `spec.network.devnet` on the real control plane (kube-apiserver + etcd + kwok, see
//! e2e/cluster/), every pod run as real processes by the harness (e2e/src/pods): one
//! `kubectl apply` of manifests/examples/devnet-small.yaml → the genesis Job's pod runs
//! `venus seed devnet` with its narrow ServiceAccount and publishes the devnet, the node starts
//! from it, the wallet's and prover's pods run their init container (`venus seed
//! devnet-register`) then register with the gateway, the miner mines through the gateway, the
//! ChainService is Ready and its `status.chain.headHeight` (the `Head` column) rises. Applied
//! again and changed, the devnet keeps its genesis; deleted, all of it goes.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::pods::{PodProcesses, genesis, run_by_harness};
use venus_e2e::wait;

const TIMEOUT: Duration = Duration::from_secs(180);

fn head_of(cs: &kube::api::DynamicObject) -> Option<i64> {
    cs.data["status"]["chain"]["headHeight"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_from_one_apply_runs_mines_and_keeps_its_genesis() -> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("devnet_from_one_apply") else {
        return Ok(());
    };
    let bin_dir = genesis::devnet_binaries()?;
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-devnet")?;
    let name = "devnet";
    // The devnet's pods are placed as the node's: the node's toleration hands them all to
    // the harness.
    let cs = run_by_harness(on_kwok_storage(example("devnet-small")));
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let api = objects::chainservices(&client, &ns);

    let processes = PodProcesses::start(&env.cluster, &client, &ns, &bin_dir).await?;
    let context = |e: anyhow::Error| {
        e.context(format!(
            "operator log:\n{}\npods:\n{}",
            env.operator_log_tail(30),
            processes.describe(20)
        ))
    };
    let started = Instant::now();
    objects::apply(&env.kubectl(), &ns, &cs)?;

    // The genesis Job's pod runs `venus seed devnet` and the Job completes.
    wait::until(TIMEOUT, "the genesis Job complete", || async {
        let job = jobs.get_opt("devnet-devnet-genesis").await?;
        Ok(job
            .and_then(|j| j.status)
            .and_then(|s| s.succeeded)
            .filter(|n| *n >= 1))
    })
    .await
    .map_err(context)?;
    let genesis = cms.get("devnet-devnet-genesis").await?;
    assert!(
        genesis
            .binary_data
            .as_ref()
            .and_then(|d| d.get("genesis.car"))
            .is_some_and(|b| !b.0.is_empty()),
        "genesis.car in the ConfigMap"
    );
    let keys = secrets.get("devnet-devnet-keys").await?;
    let files: Vec<String> = keys.data.unwrap_or_default().into_keys().collect();
    assert_eq!(files, ["pre-seal-t01000.json", "pre-seal-t01000.key"]);
    for owners in [
        &genesis.metadata.owner_references,
        &keys.metadata.owner_references,
    ] {
        assert_eq!(owners.clone().unwrap_or_default()[0].name, name);
    }
    for d in ["devnet-devnet-wallet", "devnet-devnet-prover"] {
        let labels = deployments
            .get(d)
            .await?
            .metadata
            .labels
            .unwrap_or_default();
        assert_eq!(
            labels.get("venus.filecoin.io/devnet").map(String::as_str),
            Some("true")
        );
    }
    // The node was held back until the devnet was published.
    let node = wait::until(TIMEOUT, "the node StatefulSet", || async {
        Ok(sts.get_opt("devnet-node").await?)
    })
    .await
    .map_err(context)?;
    assert!(
        node.metadata.creation_timestamp.map(|t| t.0)
            >= genesis.metadata.creation_timestamp.as_ref().map(|t| t.0),
        "the node StatefulSet was made before the devnet's genesis"
    );

    // Ready, with every component's and the devnet's pods as real processes.
    let ready = objects::wait_ready(&api, name, TIMEOUT)
        .await
        .map_err(context)?;
    assert_eq!(
        ready.data["status"]["observedGeneration"].as_i64(),
        ready.metadata.generation,
        "Ready for the applied generation"
    );
    eprintln!(
        "E2E-TIMING devnet-small apply→Ready (genesis Job, 5 components, wallet, prover as processes): {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for pod in objects::COMPONENTS.map(|c| format!("{name}-{c}-0")) {
        assert!(processes.pid_of(&pod).is_some(), "{pod} has no process");
    }
    let events = processes.events();
    for (what, pod_prefix) in [
        ("init container register completed", "devnet-devnet-wallet-"),
        ("init container register completed", "devnet-devnet-prover-"),
        (
            "genesis exited (exit status: 0): pod done",
            "devnet-devnet-genesis-",
        ),
    ] {
        assert!(
            events
                .iter()
                .any(|e| e.pod.starts_with(pod_prefix) && e.what == what),
            "{pod_prefix}…: {what}\n{}",
            processes.describe(10)
        );
    }

    // The head in the status rises: the miner mines through the gateway to the wallet and
    // the prover.
    let first = wait::until(TIMEOUT, "status.chain.headHeight", || async {
        Ok(head_of(&api.get(name).await?))
    })
    .await
    .map_err(context)?;
    let risen = wait::until(TIMEOUT, "the head height rising", || async {
        Ok(head_of(&api.get(name).await?).filter(|h| *h > first))
    })
    .await
    .map_err(context)?;
    eprintln!(
        "E2E-TIMING devnet-small apply→head {risen} in status.chain (from {first}): {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let status = api.get(name).await?.data["status"].clone();
    assert!(
        status["chain"]["headTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{status}"
    );
    assert!(
        !status.to_string().contains("eyJ"),
        "a token in the status: {status}"
    );

    // The same spec applied again, then changed (a new generation reconciled): the Job is not
    // made again and the genesis stays.
    jobs.delete("devnet-devnet-genesis", &DeleteParams::background())
        .await?;
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let patched = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"gateway": {"replicas": 2}}})),
        )
        .await?;
    let generation = patched.metadata.generation.unwrap_or_default();
    wait::until(TIMEOUT, "the new generation reconciled", || async {
        let cs = api.get(name).await?;
        Ok((cs.data["status"]["observedGeneration"].as_i64() == Some(generation)).then_some(()))
    })
    .await?;
    assert!(
        jobs.get_opt("devnet-devnet-genesis").await?.is_none(),
        "the genesis Job was made again over an existing devnet"
    );
    let kept = cms.get("devnet-devnet-genesis").await?;
    assert_eq!(kept.metadata.uid, genesis.metadata.uid);
    assert_eq!(kept.binary_data, genesis.binary_data);
    env.check_operator()?;

    // Deleting the ChainService removes everything of the devnet (owner references).
    api.delete(name, &DeleteParams::default()).await?;
    wait::until(TIMEOUT, "the devnet's objects gone", || async {
        let left = [
            cms.get_opt("devnet-devnet-genesis").await?.is_some(),
            secrets.get_opt("devnet-devnet-keys").await?.is_some(),
            secrets.get_opt("devnet-devnet-tokens").await?.is_some(),
            deployments.get_opt("devnet-devnet-wallet").await?.is_some(),
            deployments.get_opt("devnet-devnet-prover").await?.is_some(),
        ];
        Ok((!left.iter().any(|l| *l)).then_some(()))
    })
    .await?;
    Ok(())
}
