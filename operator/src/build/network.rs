//! One NetworkPolicy per component (ingress only): each accepts only its callers on its API
//! port, and the node its other pods on its libp2p port. venus-auth: the chain service's own pods (and the monitoring peers). The gateway, node,
//! messager and miner: the chain service's pods and the clients named in
//! `spec.networkPolicy.clients` (the mining clusters' wallets, provers, tools) — or anyone when
//! that list is empty. Off with `spec.networkPolicy.enabled: false`.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::BuildContext;
use crate::component::Component;
use crate::keys::label;

/// Pods of this chain service (every component carries these labels).
fn own_pods(ctx: &BuildContext) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([
                (label::INSTANCE.to_string(), ctx.names.instance.clone()),
                (label::PART_OF.to_string(), label::PART_OF_VALUE.to_string()),
            ])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Who may call `component`; `None`: anyone.
pub fn callers(ctx: &BuildContext, component: Component) -> Option<Vec<NetworkPolicyPeer>> {
    let spec = &ctx.spec().network_policy;
    let mut from = vec![own_pods(ctx)];
    from.extend(spec.monitoring.iter().cloned());
    match component {
        Component::Auth => Some(from),
        _ if spec.clients.is_empty() => None,
        _ => {
            from.extend(spec.clients.iter().cloned());
            Some(from)
        }
    }
}

fn tcp(port: i32) -> Option<Vec<NetworkPolicyPort>> {
    Some(vec![NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }])
}

/// The API port for the callers; for the node also its libp2p port, from the other node pods.
fn ingress(ctx: &BuildContext, component: Component) -> Vec<NetworkPolicyIngressRule> {
    let mut rules = vec![NetworkPolicyIngressRule {
        from: callers(ctx, component),
        ports: tcp(component.port()),
    }];
    if component == Component::Node {
        rules.push(NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(ctx.selector_labels(Component::Node)),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ports: tcp(super::NODE_SWARM_PORT),
        });
    }
    rules
}

pub fn policy(ctx: &BuildContext, component: Component) -> Option<NetworkPolicy> {
    if !ctx.spec().network_policy.enabled {
        return None;
    }
    Some(NetworkPolicy {
        metadata: ctx.meta(ctx.names.component(component), Some(component)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(ctx.selector_labels(component)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(ingress(ctx, component)),
            ..Default::default()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{chain_service, context_for};

    #[test]
    fn auth_accepts_only_the_chain_service_and_others_their_clients() {
        let mut cs = chain_service();
        context_for(&cs, |ctx| {
            let auth = policy(ctx, Component::Auth).expect("enabled by default");
            let rule = &auth
                .spec
                .as_ref()
                .expect("spec")
                .ingress
                .as_ref()
                .expect("ingress")[0];
            let from = rule.from.as_ref().expect("auth is never open");
            assert_eq!(from.len(), 1);
            let labels = from[0]
                .pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.clone());
            assert_eq!(
                labels
                    .and_then(|l| l.get(label::INSTANCE).cloned())
                    .as_deref(),
                Some("cs")
            );
            assert_eq!(
                rule.ports.as_ref().expect("ports")[0].port,
                Some(IntOrString::Int(8989))
            );
            // No clients named: the gateway is open to every caller.
            let gw = policy(ctx, Component::Gateway).expect("policy");
            assert!(
                gw.spec.expect("spec").ingress.expect("ingress")[0]
                    .from
                    .is_none()
            );
        });
        let wallets = NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("venus/clients".into(), "true".into())])),
                ..Default::default()
            }),
            ..Default::default()
        };
        cs.spec.network_policy.clients = vec![wallets.clone()];
        context_for(&cs, |ctx| {
            let from = callers(ctx, Component::Gateway).expect("restricted");
            assert_eq!(from.len(), 2);
            assert_eq!(from[1], wallets);
            // Clients never reach auth.
            assert_eq!(callers(ctx, Component::Auth).expect("restricted").len(), 1);
        });
        context_for(&cs, |ctx| {
            // The node's libp2p port: only from the other node pods.
            let node = policy(ctx, Component::Node).expect("policy");
            let rules = node.spec.expect("spec").ingress.expect("ingress");
            assert_eq!(rules.len(), 2);
            assert_eq!(
                rules[1].ports.as_ref().expect("ports")[0].port,
                Some(IntOrString::Int(1347))
            );
            let from = rules[1].from.as_ref().expect("restricted");
            let labels = from[0]
                .pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.clone())
                .expect("pod selector");
            assert_eq!(
                labels.get(label::COMPONENT).map(String::as_str),
                Some("node")
            );
        });
        cs.spec.network_policy.enabled = false;
        context_for(&cs, |ctx| assert!(policy(ctx, Component::Node).is_none()));
    }
}
