//! `spec.network.devnet` on the real control plane (kube-apiserver + etcd + kwok, see
//! e2e/cluster/): the operator runs the genesis Job with its narrow ServiceAccount, holds the
//! node back until the devnet is published, and never makes it again. kwok runs no process in
//! the Job's pod, so the test runs the Job's own command line (`venus seed devnet`) with a
//! kubeconfig holding a token of the Job's ServiceAccount, as the pod would.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use venus_e2e::binaries::workspace_binaries;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::objects::{self, example, on_kwok_storage};
use venus_e2e::wait;

const TIMEOUT: Duration = Duration::from_secs(180);

/// The Job's container command line, run here with the Job's ServiceAccount.
fn run_job_program(env: &OperatorEnv, ns: &str, job: &Job) -> anyhow::Result<std::process::Output> {
    let bin = workspace_binaries(&[("venus-node", "venus")])?;
    let pod = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or_else(|| anyhow::anyhow!("Job without a pod template"))?;
    let sa = pod.service_account_name.clone().unwrap_or_default();
    let args = pod.containers[0].args.clone().unwrap_or_default();
    let kubeconfig = env.cluster.service_account_kubeconfig(ns, &sa)?;
    let work = tempfile::tempdir()?;
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            if a == "--work-dir=/tmp" {
                format!("--work-dir={}", work.path().display())
            } else {
                a
            }
        })
        .collect();
    Ok(std::process::Command::new(bin.join("venus"))
        .args(&args)
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAMESPACE", ns)
        .output()?)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_genesis_is_made_once_by_the_job_and_goes_with_the_chain_service()
-> anyhow::Result<()> {
    let Some(env) = OperatorEnv::shared("devnet_genesis_is_made_once") else {
        return Ok(());
    };
    let client = env.cluster.client().await?;
    let ns = env.namespace("e2e-devnet-genesis")?;
    let cs = on_kwok_storage(example("devnet-small"));
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let name = "devnet";
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);

    // The Job, the tokens Secret and the devnet's wallet and prover appear; the node waits.
    let job = wait::until(TIMEOUT, "the genesis Job", || async {
        Ok(jobs.get_opt("devnet-devnet-genesis").await?)
    })
    .await?;
    wait::until(TIMEOUT, "the gateway StatefulSet", || async {
        Ok(sts.get_opt("devnet-gateway").await?)
    })
    .await?;
    assert!(
        secrets.get_opt("devnet-devnet-tokens").await?.is_some(),
        "the devnet tokens Secret"
    );
    for d in ["devnet-devnet-wallet", "devnet-devnet-prover"] {
        let dep = deployments.get(d).await?;
        let labels = dep.metadata.labels.unwrap_or_default();
        assert_eq!(
            labels.get("venus.filecoin.io/devnet").map(String::as_str),
            Some("true")
        );
    }
    assert!(
        sts.get_opt("devnet-node").await?.is_none(),
        "the node must wait for the devnet's genesis"
    );

    // The Job's program with the Job's ServiceAccount publishes the devnet.
    let out = run_job_program(env, &ns, &job)?;
    assert!(out.status.success(), "venus seed devnet: {}", text(&out));
    let genesis = cms.get("devnet-devnet-genesis").await?;
    let car = genesis
        .binary_data
        .as_ref()
        .and_then(|d| d.get("genesis.car"))
        .map(|b| b.0.clone())
        .expect("genesis.car");
    assert!(!car.is_empty());
    let keys = secrets.get("devnet-devnet-keys").await?;
    let files: Vec<String> = keys.data.unwrap_or_default().into_keys().collect();
    assert_eq!(files, ["pre-seal-t01000.json", "pre-seal-t01000.key"]);
    for owners in [
        genesis.metadata.owner_references.clone(),
        keys.metadata.owner_references.clone(),
    ] {
        assert_eq!(owners.unwrap_or_default()[0].name, name);
    }
    assert!(
        !text(&out).contains("Type"),
        "no key in the Job's output: {}",
        text(&out)
    );

    // Published: the node is created from it.
    let node = wait::until(TIMEOUT, "the node StatefulSet", || async {
        Ok(sts.get_opt("devnet-node").await?)
    })
    .await?;
    let node_args = node
        .spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers[0].args.clone().unwrap_or_default())
        .unwrap_or_default();
    assert!(
        node_args.contains(&"--genesisfile=/etc/venus/genesis/genesis.car".to_string()),
        "{node_args:?}"
    );

    // The program again: nothing changes (the same objects, never overwritten).
    let out = run_job_program(env, &ns, &job)?;
    assert!(out.status.success(), "second run: {}", text(&out));
    assert!(text(&out).contains("nothing changed"), "{}", text(&out));
    let again = cms.get("devnet-devnet-genesis").await?;
    assert_eq!(again.metadata.uid, genesis.metadata.uid);

    // Applied again and changed (a new generation reconciled): the Job is not run again and
    // the genesis stays.
    jobs.delete("devnet-devnet-genesis", &DeleteParams::background())
        .await?;
    objects::apply(&env.kubectl(), &ns, &cs)?;
    let api = objects::chainservices(&client, &ns);
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
