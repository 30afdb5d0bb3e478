//! What wakes the reconcile: predicates over the watched objects (kube-rs
//! `predicate_filter`). Each hashes only the fields the operator acts on, so an update that
//! changes nothing of them — a Lease renewal every few seconds, the operator's own status
//! write, a pod's heartbeat-driven status churn — triggers no reconcile.

use std::hash::{Hash, Hasher};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;

use crate::crd::ChainService;
use crate::keys::label;

fn hash_of(value: impl Hash) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    Some(h.finish())
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<i64> {
    t.map(|t| t.0.as_millisecond())
}

/// A ChainService: its spec (generation), finalizers and deletion — not its status, which
/// the operator writes itself.
pub fn chain_service(cs: &ChainService) -> Option<u64> {
    let m = &cs.metadata;
    hash_of((
        m.generation,
        &m.finalizers,
        time(m.deletion_timestamp.as_ref()),
    ))
}

/// A role Lease: who holds it and since when. A renewal changes only `renewTime`.
pub fn lease_holder(lease: &Lease) -> Option<u64> {
    let spec = lease.spec.as_ref();
    hash_of((
        spec.and_then(|s| s.holder_identity.as_deref()),
        spec.and_then(|s| s.acquire_time.as_ref().map(|t| t.0.as_millisecond())),
        spec.and_then(|s| s.lease_transitions),
        time(lease.metadata.deletion_timestamp.as_ref()),
    ))
}

/// A StatefulSet: its spec and the rollout/readiness counters.
pub fn stateful_set(sts: &StatefulSet) -> Option<u64> {
    let st = sts.status.as_ref();
    hash_of((
        sts.metadata.generation,
        st.and_then(|s| s.observed_generation),
        st.map(|s| s.replicas),
        st.and_then(|s| s.ready_replicas),
        st.and_then(|s| s.updated_replicas),
        st.and_then(|s| s.current_revision.as_deref()),
        st.and_then(|s| s.update_revision.as_deref()),
        time(sts.metadata.deletion_timestamp.as_ref()),
    ))
}

/// A pod: which one it is (a recreated pod has a new uid), whether it is ready, its role label
/// and whether it is going away.
pub fn pod(pod: &Pod) -> Option<u64> {
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    hash_of((
        pod.metadata.uid.as_deref(),
        ready,
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(label::ROLE)),
        time(pod.metadata.deletion_timestamp.as_ref()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use k8s_openapi::jiff::Timestamp;

    fn lease(holder: &str, acquired: i64, renewed: i64) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                acquire_time: Some(MicroTime(Timestamp::from_second(acquired).expect("t"))),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed).expect("t"))),
                lease_duration_seconds: Some(8),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_lease_renewal_is_no_trigger_but_a_new_holder_is() {
        let held = lease_holder(&lease("cs-messager-0", 100, 100));
        assert_eq!(held, lease_holder(&lease("cs-messager-0", 100, 130)));
        assert_ne!(held, lease_holder(&lease("cs-messager-1", 140, 140)));
        // The same pod name taking the Lease again after it lapsed (a recreated pod).
        assert_ne!(held, lease_holder(&lease("cs-messager-0", 200, 200)));
    }

    #[test]
    fn status_writes_are_no_trigger_but_spec_changes_are() {
        let mut cs = ChainService::new("cs", Default::default());
        cs.metadata.generation = Some(1);
        let before = chain_service(&cs);
        cs.status = Some(Default::default());
        cs.metadata.resource_version = Some("99".into());
        assert_eq!(before, chain_service(&cs));
        cs.metadata.generation = Some(2);
        assert_ne!(before, chain_service(&cs));
    }

    #[test]
    fn pod_readiness_and_role_are_triggers_other_status_is_not() {
        let mut p = Pod::default();
        p.metadata.uid = Some("u1".into());
        let ready = |p: &mut Pod, s: &str| {
            p.status = Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: s.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            });
        };
        ready(&mut p, "True");
        let before = pod(&p);
        p.status.as_mut().expect("status").pod_ip = Some("10.0.0.1".into());
        assert_eq!(before, pod(&p));
        ready(&mut p, "False");
        assert_ne!(before, pod(&p));
        ready(&mut p, "True");
        p.metadata.labels = Some([(label::ROLE.to_string(), "primary".to_string())].into());
        assert_ne!(before, pod(&p));
    }
}
