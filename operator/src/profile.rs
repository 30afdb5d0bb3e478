//! Hardware profiles: per-component CPU, memory and disk defaults.
//!
//! `production` is the deployment guide's hardware: the node on 32 CPU / 128 GiB with a 2 TiB
//! ESSD; auth and messager share one 16 CPU / 32 GiB / 200 GiB host there, so here they split
//! it (4/8 GiB/50 GiB and 12/24 GiB/150 GiB); gateway and miner get 16 CPU / 32 GiB / 200 GiB.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::component::Component;
use crate::crd::Profile;

/// Default CPU, memory and disk of a component under a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    pub cpu: &'static str,
    pub memory: &'static str,
    pub disk: &'static str,
}

pub fn sizing(profile: Profile, component: Component) -> Sizing {
    use Component::*;
    let (cpu, memory, disk) = match (profile, component) {
        (Profile::Production, Node) => ("32", "128Gi", "2Ti"),
        (Profile::Production, Auth) => ("4", "8Gi", "50Gi"),
        (Profile::Production, Messager) => ("12", "24Gi", "150Gi"),
        (Profile::Production, Gateway | Miner) => ("16", "32Gi", "200Gi"),
        (Profile::Small, Node) => ("1", "2Gi", "20Gi"),
        (Profile::Small, Auth | Gateway) => ("100m", "128Mi", "1Gi"),
        (Profile::Small, Messager | Miner) => ("100m", "256Mi", "1Gi"),
    };
    Sizing { cpu, memory, disk }
}

/// Requests = limits for memory (no OOM surprises under pressure); CPU limited only in
/// production, where the guide dedicates the cores.
pub fn resources(profile: Profile, component: Component) -> ResourceRequirements {
    let s = sizing(profile, component);
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), Quantity(s.cpu.into()));
    requests.insert("memory".to_string(), Quantity(s.memory.into()));
    let mut limits = BTreeMap::new();
    limits.insert("memory".to_string(), Quantity(s.memory.into()));
    if profile == Profile::Production {
        limits.insert("cpu".to_string(), Quantity(s.cpu.into()));
    }
    ResourceRequirements {
        requests: Some(requests),
        limits: Some(limits),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_matches_the_deployment_guide() {
        let node = sizing(Profile::Production, Component::Node);
        assert_eq!((node.cpu, node.memory, node.disk), ("32", "128Gi", "2Ti"));
        for c in [Component::Gateway, Component::Miner] {
            let s = sizing(Profile::Production, c);
            assert_eq!((s.cpu, s.memory, s.disk), ("16", "32Gi", "200Gi"));
        }
        // auth + messager share the guide's one 16 CPU / 32 GiB / 200 GiB host.
        let a = sizing(Profile::Production, Component::Auth);
        let m = sizing(Profile::Production, Component::Messager);
        let cpu = |s: &str| crate::quantity::parse(s).expect("static quantity");
        assert_eq!(cpu(a.cpu) + cpu(m.cpu), 16.0);
        assert_eq!(cpu(a.memory) + cpu(m.memory), cpu("32Gi"));
        assert_eq!(cpu(a.disk) + cpu(m.disk), cpu("200Gi"));
    }
}
