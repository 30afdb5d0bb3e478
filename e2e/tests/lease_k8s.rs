//! venus-lease's Kubernetes backend on a real kube-apiserver + etcd (the kwokctl cluster of
//! e2e/cluster/): two instances on one coordination.k8s.io/v1 Lease with the default timings
//! (8 s lease, 2 s renewal, 1 s retry). Never two leaders (sampled every 5 ms); a graceful
//! shutdown hands over at once; a killed holder (its runtime dropped, no release) is replaced
//! within 10 s; leaseTransitions counts the takeovers. Timings are printed as `LEASE-TIMING`.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use venus_e2e::Cluster;
use venus_e2e::cluster::client_from_kubeconfig;
use venus_e2e::tools::require_tools;
use venus_lease::test_support::{Exit, Instance, hand_over, sample_exclusive};
use venus_lease::{LeaseBackend, LeaseSettings};

const NAMESPACE: &str = "default";
const LEASE: &str = "venus-lease-e2e";

fn instance(kubeconfig: &Path, identity: &str) -> Instance {
    let (kubeconfig, identity) = (kubeconfig.to_path_buf(), identity.to_owned());
    Instance::spawn(move || async move {
        let client = client_from_kubeconfig(&kubeconfig)
            .await
            .expect("kube client");
        (
            LeaseBackend::Kubernetes {
                client,
                namespace: NAMESPACE.into(),
                name: LEASE.into(),
                identity,
            },
            LeaseSettings::default(),
        )
    })
}

/// (holderIdentity, leaseTransitions) of the Lease.
fn lease(kubeconfig: &Path) -> (Option<String>, Option<i32>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = client_from_kubeconfig(kubeconfig).await.expect("client");
        let lease = Api::<Lease>::namespaced(client, NAMESPACE)
            .get(LEASE)
            .await
            .expect("the Lease exists");
        let spec = lease.spec.unwrap_or_default();
        (spec.holder_identity, spec.lease_transitions)
    })
}

fn wait_leader(i: &Instance, what: &str) {
    let start = Instant::now();
    while !i.is_leader() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} never acquired"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_instances_share_one_kubernetes_lease() {
    let Some(tools) = require_tools("lease_k8s") else {
        return;
    };
    let cluster = Cluster::start(&tools, "venus-lease").expect("cluster starts");
    let kc = cluster.kubeconfig.clone();

    // a creates the Lease; b stands by.
    let mut a = instance(&kc, "a");
    wait_leader(&a, "a");
    let mut b = instance(&kc, "b");
    let (samples, one) = sample_exclusive(&a, &b, Duration::from_secs(4));
    assert_eq!(one, samples, "a leader at every sample");
    assert!(a.is_leader() && !b.is_leader());
    assert_eq!(b.leadership.holder().as_deref(), Some("a"));
    assert_eq!(lease(&kc), (Some("a".into()), Some(0)));

    // Graceful shutdown of a: b takes over on its next try.
    let took = hand_over(&mut a, &b, Exit::Release, Duration::from_secs(10));
    eprintln!("LEASE-TIMING k8s release→takeover {took:?}");
    assert!(
        took < Duration::from_secs(4),
        "takeover after release took {took:?}"
    );
    assert_eq!(lease(&kc), (Some("b".into()), Some(1)));

    // c stands by; b is killed without releasing: c takes over once the Lease expires.
    let c = instance(&kc, "c");
    sample_exclusive(&b, &c, Duration::from_secs(3));
    assert!(b.is_leader() && !c.is_leader());
    let took = hand_over(&mut b, &c, Exit::Kill, Duration::from_secs(12));
    eprintln!("LEASE-TIMING k8s kill→takeover {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "takeover after a kill took {took:?}"
    );
    assert_eq!(lease(&kc), (Some("c".into()), Some(2)));
    assert!(c.metrics().contains("venus_test_lease_transitions_total 1"));
    drop(c);
    drop(cluster);
}
