//! `build`: the pure step of the pipeline — a validated `ChainService` in, the desired
//! Kubernetes objects out. No client, no clock, no randomness: the same input always gives
//! byte-identical output (golden-file tested against `manifests/examples/`).
//!
//! Secrets are not built here: their material is random and they are created once by
//! [`crate::secrets`], never re-applied.

mod config;
pub mod devnet;
mod names;
mod network;
mod service;
mod shared;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::core::ApiResource;
use kube::{Resource, ResourceExt};
use serde::Serialize;

use crate::component::Component;
use crate::crd::ChainService;
use crate::validate::Validated;

pub use config::config_file;
pub use names::{NODE_SWARM_PORT, Names};

pub use crate::keys::MANAGER;
use crate::keys::label;
/// Default image repository; a component's image is `<repository>/<binary>:<tag>`.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "docker.io/venusrs";
/// Default image tag: the operator's own version.
pub const DEFAULT_IMAGE_TAG: &str = env!("CARGO_PKG_VERSION");

/// One object to server-side apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub name: String,
    /// Full object with apiVersion and kind, ready for `Patch::Apply`.
    pub object: serde_json::Value,
}

impl Desired {
    fn new<K>(obj: K) -> Self
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        let resource = ApiResource::erase::<K>(&());
        let name = obj.meta().name.clone().unwrap_or_default();
        let namespaced = obj.meta().namespace.is_some();
        // Serialising k8s-openapi types to a Value cannot fail (no non-string map keys).
        let mut object = serde_json::to_value(&obj).unwrap_or(serde_json::Value::Null);
        if let Some(map) = object.as_object_mut() {
            map.insert("apiVersion".into(), resource.api_version.clone().into());
            map.insert("kind".into(), resource.kind.clone().into());
        }
        Desired {
            resource,
            namespaced,
            name,
            object,
        }
    }

    /// `Kind/name`, for logs and events.
    pub fn id(&self) -> String {
        format!("{}/{}", self.resource.kind, self.name)
    }
}

/// The objects of one component, applied only when its predecessors are Ready.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentObjects {
    pub component: Component,
    pub objects: Vec<Desired>,
}

/// Everything a ChainService should consist of.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredState {
    /// Applied first, regardless of readiness: StorageClasses, ServiceAccount, RBAC, Leases.
    pub shared: Vec<Desired>,
    /// In deployment order.
    pub components: Vec<ComponentObjects>,
    /// `spec.network.devnet`: the genesis Job's RBAC and the devnet's wallet and prover,
    /// applied with the shared objects (labelled `venus.filecoin.io/devnet`).
    pub devnet: Vec<Desired>,
    /// The Job that makes the devnet's genesis; applied only while its ConfigMap and Secret
    /// do not both exist (never over an existing chain).
    pub genesis_job: Option<Desired>,
}

impl DesiredState {
    pub fn all(&self) -> impl Iterator<Item = &Desired> {
        self.shared
            .iter()
            .chain(self.devnet.iter())
            .chain(self.genesis_job.iter())
            .chain(self.components.iter().flat_map(|c| c.objects.iter()))
    }

    /// All objects as one multi-document YAML stream (the golden-file format).
    pub fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
        let mut out = String::new();
        for d in self.all() {
            out.push_str("---\n");
            out.push_str(&serde_yaml_ng::to_string(&d.object)?);
        }
        Ok(out)
    }
}

/// Build the desired state of a validated ChainService.
pub fn build(cs: &ChainService, valid: &Validated) -> DesiredState {
    let ctx = BuildContext::new(cs, valid);
    let shared = shared::objects(&ctx);
    let components = Component::ALL
        .iter()
        .map(|&component| ComponentObjects {
            component,
            objects: component_objects(&ctx, component),
        })
        .collect();
    DesiredState {
        shared,
        components,
        devnet: devnet::objects(&ctx),
        genesis_job: devnet::genesis_job(&ctx).map(Desired::new),
    }
}

fn component_objects(ctx: &BuildContext, component: Component) -> Vec<Desired> {
    let config = config::config_map(ctx, component);
    let mut objects = vec![
        Desired::new(config.clone()),
        Desired::new(service::client(ctx, component)),
        Desired::new(service::headless(ctx, component)),
    ];
    if let Some(rw) = service::primary(ctx, component) {
        objects.push(Desired::new(rw));
    }
    objects.push(Desired::new(service::disruption_budget(ctx, component)));
    if let Some(policy) = network::policy(ctx, component) {
        objects.push(Desired::new(policy));
    }
    objects.push(Desired::new(workload::stateful_set(
        ctx, component, &config,
    )));
    objects
}

/// What every builder needs: names, owner, labels and the validated facts.
pub struct BuildContext<'a> {
    pub cs: &'a ChainService,
    pub valid: &'a Validated,
    pub names: Names,
    pub owner: OwnerReference,
}

impl<'a> BuildContext<'a> {
    fn new(cs: &'a ChainService, valid: &'a Validated) -> Self {
        let names = Names::new(&cs.name_any(), &cs.namespace().unwrap_or_default());
        // controller_owner_ref is None only without a uid; the reconciler only sees stored
        // objects, and tests give one.
        let owner = cs.controller_owner_ref(&()).unwrap_or_default();
        BuildContext {
            cs,
            valid,
            names,
            owner,
        }
    }

    pub fn spec(&self) -> &crate::crd::ChainServiceSpec {
        &self.cs.spec
    }

    /// The genesis the node starts from: `spec.network.genesis`, or the devnet's generated
    /// ConfigMap.
    pub fn genesis(&self) -> Option<crate::crd::GenesisSource> {
        let network = &self.spec().network;
        network.genesis.clone().or_else(|| {
            network.devnet.as_ref().map(|_| crate::crd::GenesisSource {
                config_map: self.names.devnet_genesis(),
                key: devnet::GENESIS_KEY.into(),
            })
        })
    }

    pub fn image_tag(&self) -> String {
        self.spec()
            .image
            .tag
            .clone()
            .unwrap_or_else(|| DEFAULT_IMAGE_TAG.into())
    }

    /// Labels that select a component's pods (stable: never change after creation).
    pub fn selector_labels(&self, component: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            (label::NAME.to_string(), component.binary().to_string()),
            (label::INSTANCE.to_string(), self.names.instance.clone()),
            (label::COMPONENT.to_string(), component.name().to_string()),
        ])
    }

    /// Labels on every object of a component.
    pub fn labels(&self, component: Option<Component>) -> BTreeMap<String, String> {
        let mut labels = match component {
            Some(c) => self.selector_labels(c),
            None => BTreeMap::from([(label::INSTANCE.to_string(), self.names.instance.clone())]),
        };
        labels.insert(label::PART_OF.into(), label::PART_OF_VALUE.into());
        labels.insert(label::MANAGED_BY.into(), MANAGER.into());
        labels.insert(label::VERSION.into(), self.image_tag());
        labels
    }

    pub fn meta(
        &self,
        name: String,
        component: Option<Component>,
    ) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name),
            namespace: Some(self.names.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: Some(vec![self.owner.clone()]),
            ..Default::default()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::validate::{Referenced, validate};

    /// A stored-looking ChainService `ns/cs` with a uid, default spec.
    pub fn chain_service() -> ChainService {
        let mut cs = ChainService::new("cs", crate::crd::ChainServiceSpec::default());
        cs.metadata.namespace = Some("ns".into());
        cs.metadata.uid = Some("00000000-0000-0000-0000-000000000001".into());
        cs
    }

    /// Run `f` with a build context of a valid `cs`.
    pub fn context_for(cs: &ChainService, f: impl FnOnce(&BuildContext)) {
        let valid = validate(&cs.spec, &Referenced::default()).expect("valid test spec");
        f(&BuildContext::new(cs, &valid));
    }

    #[test]
    fn every_namespaced_object_is_owned_by_the_chain_service() {
        let cs = chain_service();
        let valid = validate(&cs.spec, &Referenced::default()).expect("valid");
        let state = build(&cs, &valid);
        let mut count = 0;
        for d in state.all().filter(|d| d.namespaced) {
            let owner = &d.object["metadata"]["ownerReferences"][0];
            assert_eq!(
                owner["uid"],
                "00000000-0000-0000-0000-000000000001",
                "{}",
                d.id()
            );
            assert_eq!(owner["controller"], true, "{}", d.id());
            count += 1;
        }
        // 5 components × (ConfigMap, 2 Services, PDB, NetworkPolicy, StatefulSet) + 2 `-rw`
        // + SA, Role, RoleBinding, 2 Leases.
        assert_eq!(count, 5 * 6 + 2 + 5);
    }

    #[test]
    fn build_is_deterministic() {
        let cs = chain_service();
        let valid = validate(&cs.spec, &Referenced::default()).expect("valid");
        assert_eq!(build(&cs, &valid), build(&cs, &valid));
    }
}
