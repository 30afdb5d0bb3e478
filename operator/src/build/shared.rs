//! Objects shared by the components, applied before any of them: StorageClasses the preset
//! needs, the pods' ServiceAccount with its Lease RBAC, and the role Leases.

use std::collections::BTreeSet;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{BuildContext, Desired};
use crate::component::{Component, HaMode};

pub fn objects(ctx: &BuildContext) -> Vec<Desired> {
    let mut out = Vec::new();
    // One class per distinct choice, sorted for a stable order.
    let classes: BTreeSet<_> = Component::ALL
        .iter()
        .map(|c| ctx.valid.component(*c).class.clone())
        .collect();
    for choice in classes {
        if let Some(class) = choice.storage_class(&ctx.spec().storage) {
            out.push(Desired::new(class));
        }
    }
    let leases: Vec<String> = Component::ALL
        .iter()
        .filter(|c| c.ha_mode(ctx.spec()) == HaMode::PrimaryStandby)
        .map(|c| ctx.names.lease(*c))
        .collect();

    out.push(Desired::new(ServiceAccount {
        metadata: ctx.meta(ctx.names.service_account(), None),
        automount_service_account_token: Some(false),
        ..Default::default()
    }));
    // The messager and miner hold their role Lease themselves; they may touch only their own
    // Leases, which the operator creates (so no `create` verb is granted).
    out.push(Desired::new(Role {
        metadata: ctx.meta(ctx.names.service_account(), None),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["coordination.k8s.io".into()]),
            resources: Some(vec!["leases".into()]),
            resource_names: Some(leases.clone()),
            verbs: vec![
                "get".into(),
                "watch".into(),
                "update".into(),
                "patch".into(),
            ],
            ..Default::default()
        }]),
    }));
    out.push(Desired::new(RoleBinding {
        metadata: ctx.meta(ctx.names.service_account(), None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: ctx.names.service_account(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: ctx.names.service_account(),
            namespace: Some(ctx.names.namespace.clone()),
            ..Default::default()
        }]),
    }));
    for name in leases {
        // Only metadata is applied: holder and timings belong to the services.
        out.push(Desired::new(Lease {
            metadata: ctx.meta(name, None),
            spec: Some(LeaseSpec::default()),
        }));
    }
    out
}
