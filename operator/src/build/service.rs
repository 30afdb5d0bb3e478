//! Services and the PodDisruptionBudget of a component.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::BuildContext;
use crate::component::{Component, HaMode};
use crate::crd::ServiceType;
use crate::keys::{label, role};

fn ports(component: Component) -> Vec<ServicePort> {
    vec![ServicePort {
        name: Some("api".into()),
        port: component.port(),
        target_port: Some(IntOrString::String("api".into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }]
}

/// The Service callers use: every ready pod (for the node: every synced pod).
pub fn client(ctx: &BuildContext, component: Component) -> Service {
    let service_type = component
        .spec(ctx.spec())
        .service_type
        .unwrap_or(ServiceType::ClusterIP);
    Service {
        metadata: ctx.meta(ctx.names.component(component), Some(component)),
        spec: Some(ServiceSpec {
            type_: Some(service_type.as_str().into()),
            selector: Some(ctx.selector_labels(component)),
            ports: Some(ports(component)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Headless Service: per-pod DNS names, also for pods not ready yet (gateway registration,
/// StatefulSet identity, the node pods' libp2p addresses — a syncing node is dialled too).
pub fn headless(ctx: &BuildContext, component: Component) -> Service {
    let mut ports = ports(component);
    if component == Component::Node {
        ports.push(ServicePort {
            name: Some("swarm".into()),
            port: super::NODE_SWARM_PORT,
            target_port: Some(IntOrString::String("swarm".into())),
            protocol: Some("TCP".into()),
            ..Default::default()
        });
    }
    Service {
        metadata: ctx.meta(ctx.names.headless(component), Some(component)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(ctx.selector_labels(component)),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `-rw` Service selecting only the pod labelled primary from its Lease.
pub fn primary(ctx: &BuildContext, component: Component) -> Option<Service> {
    if component.ha_mode(ctx.spec()) != HaMode::PrimaryStandby {
        return None;
    }
    let mut selector = ctx.selector_labels(component);
    selector.insert(label::ROLE.into(), role::PRIMARY.into());
    let service_type = component
        .spec(ctx.spec())
        .service_type
        .unwrap_or(ServiceType::ClusterIP);
    Some(Service {
        metadata: ctx.meta(ctx.names.primary_service(component), Some(component)),
        spec: Some(ServiceSpec {
            type_: Some(service_type.as_str().into()),
            selector: Some(selector),
            ports: Some(ports(component)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// At most one pod of a component down at a time through voluntary disruptions.
pub fn disruption_budget(ctx: &BuildContext, component: Component) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ctx.meta(ctx.names.component(component), Some(component)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            // A crash-looping or unready pod may always be evicted: a budget that counts
            // broken pods as "available to lose" would otherwise block a node drain forever.
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            selector: Some(LabelSelector {
                match_labels: Some(ctx.selector_labels(component)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{chain_service, context_for};

    #[test]
    fn only_the_node_headless_service_publishes_the_libp2p_port() {
        context_for(&chain_service(), |ctx| {
            let node = headless(ctx, Component::Node).spec.expect("spec");
            let ports = node.ports.expect("ports");
            assert_eq!(
                ports
                    .iter()
                    .map(|p| (p.name.as_deref(), p.port))
                    .collect::<Vec<_>>(),
                [(Some("api"), 3453), (Some("swarm"), 1347)]
            );
            // Peers dial pods that are still syncing.
            assert_eq!(node.publish_not_ready_addresses, Some(true));
            // Callers reach only the API, and only on ready (synced) nodes.
            let client = client(ctx, Component::Node).spec.expect("spec");
            assert_eq!(client.ports.expect("ports").len(), 1);
            assert_eq!(client.publish_not_ready_addresses, None);
            let gw = headless(ctx, Component::Gateway).spec.expect("spec");
            assert_eq!(gw.ports.expect("ports").len(), 1);
        });
    }
}
