//! Shared by the operator e2e tests: the role Leases of a ChainService's messager and miner held
//! by venus-lease's Kubernetes loop — the code venus-messager and venus-miner run — as each of
//! their pods (identity = pod name), authenticated as the pods' ServiceAccount `<cs>-venus`, so
//! with exactly the RBAC the operator grants the pods. kwok runs no process in the pods; these
//! loops stand in for the messager/miner processes' lease loops.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::Api;
use venus_e2e::cluster::client_from_kubeconfig;
use venus_e2e::fixture::OperatorEnv;
use venus_e2e::wait;
use venus_lease::test_support::Instance;
use venus_lease::{LeaseBackend, LeaseSettings};

/// A venus-lease instance contending for `lease` as pod `identity`.
pub fn holder(kubeconfig: &Path, namespace: &str, lease: &str, identity: &str) -> Instance {
    let (kubeconfig, namespace, lease, identity) = (
        kubeconfig.to_path_buf(),
        namespace.to_owned(),
        lease.to_owned(),
        identity.to_owned(),
    );
    Instance::spawn(move || async move {
        let client = client_from_kubeconfig(&kubeconfig)
            .await
            .expect("kube client");
        (
            LeaseBackend::Kubernetes {
                client,
                namespace,
                name: lease,
                identity,
            },
            LeaseSettings::default(),
        )
    })
}

/// One lease loop per messager and miner pod of ChainService `name` (`replicas` each, by
/// component), keyed by pod name; they run until dropped.
pub async fn hold_role_leases(
    env: &OperatorEnv,
    client: &kube::Client,
    namespace: &str,
    name: &str,
    replicas: &dyn Fn(&str) -> i32,
) -> anyhow::Result<BTreeMap<String, Instance>> {
    let sa = format!("{name}-venus");
    wait::until(
        Duration::from_secs(60),
        "the pods' ServiceAccount",
        || async {
            let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
            Ok(sas.get_opt(&sa).await?.map(|_| ()))
        },
    )
    .await?;
    let kubeconfig = env.cluster.service_account_kubeconfig(namespace, &sa)?;
    let mut holders = BTreeMap::new();
    for component in ["messager", "miner"] {
        for i in 0..replicas(component) {
            let pod = format!("{name}-{component}-{i}");
            let lease = format!("{name}-{component}");
            holders.insert(pod.clone(), holder(&kubeconfig, namespace, &lease, &pod));
        }
    }
    Ok(holders)
}
