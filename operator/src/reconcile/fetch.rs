//! `fetch` (dereference): read what the spec points at and the components' current state.
//! Referenced Secrets and ConfigMaps are read for their keys only — values never leave this
//! module except the JWT secret, which `apply` needs to sign tokens. StatefulSets, role Leases
//! and pods come from the watch caches (reflector stores), not from the API server: the
//! controller watches them anyway, so reading them costs no request.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};

use super::Stores;
use crate::build::Names;
use crate::component::Component;
use crate::crd::ChainService;
use crate::error::{Error, Result};
use crate::validate::{Lookups, referenced_names};

/// What `fetch` read from the cluster.
pub struct Fetched {
    /// Keys of the referenced Secrets/ConfigMaps, existence of StorageClasses.
    pub lookups: Lookups,
    pub stateful_sets: BTreeMap<Component, StatefulSet>,
    /// Live Lease holders of the primary/standby components.
    pub primaries: BTreeMap<Component, String>,
    /// The generated Secrets exist (their values are read only to re-sign a lost token).
    pub jwt_secret_exists: bool,
    pub admin_token_exists: bool,
    /// The node pods' libp2p identities exist (never read back: the pods mount them).
    pub node_identities_exist: bool,
    /// `spec.network.devnet`: what of it exists (`None` without a devnet).
    pub devnet: Option<super::devnet::DevnetState>,
}

pub async fn fetch(
    cs: &ChainService,
    names: &Names,
    client: &Client,
    stores: &Stores,
) -> Result<Fetched> {
    let ns = &names.namespace;
    let deref_err = |what: String| move |source| Error::Dereference { what, source };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let wanted = referenced_names(&cs.spec);

    let mut lookups = Lookups::default();
    for name in &wanted.secrets {
        let found = secrets
            .get_opt(name)
            .await
            .map_err(deref_err(format!("Secret {name}")))?;
        lookups
            .secrets
            .insert(name.clone(), found.as_ref().map(secret_keys));
    }
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for name in &wanted.config_maps {
        let found = config_maps
            .get_opt(name)
            .await
            .map_err(deref_err(format!("ConfigMap {name}")))?;
        lookups
            .config_maps
            .insert(name.clone(), found.as_ref().map(config_map_keys));
    }
    let classes: Api<StorageClass> = Api::all(client.clone());
    for name in &wanted.storage_classes {
        let found = classes
            .get_metadata_opt(name)
            .await
            .map_err(deref_err(format!("StorageClass {name}")))?;
        lookups
            .storage_classes
            .insert(name.clone(), found.is_some());
    }

    let mut stateful_sets = BTreeMap::new();
    for c in Component::ALL {
        let key = ObjectRef::<StatefulSet>::new(&names.component(c)).within(ns);
        if let Some(sts) = stores.stateful_sets.get(&key) {
            stateful_sets.insert(c, (*sts).clone());
        }
    }
    let mut primaries = BTreeMap::new();
    for c in [Component::Messager, Component::Miner] {
        let key = ObjectRef::<Lease>::new(&names.lease(c)).within(ns);
        if let Some(holder) = stores
            .leases
            .get(&key)
            .and_then(|l| live_holder(&l, &names.component(c)))
            .and_then(|h| holder_pod(stores, ns, &h))
        {
            primaries.insert(c, holder);
        }
    }

    let jwt_secret_exists = secrets
        .get_metadata_opt(&names.jwt_secret())
        .await
        .map_err(deref_err("Secret (auth JWT)".into()))?
        .is_some();
    let admin_token_exists = secrets
        .get_metadata_opt(&names.admin_token_secret())
        .await
        .map_err(deref_err("Secret (admin token)".into()))?
        .is_some();
    let node_identities_exist = secrets
        .get_metadata_opt(&names.node_identities())
        .await
        .map_err(deref_err("Secret (node identities)".into()))?
        .is_some();

    let devnet = super::devnet::fetch(cs, names, client).await?;

    Ok(Fetched {
        lookups,
        stateful_sets,
        primaries,
        jwt_secret_exists,
        admin_token_exists,
        node_identities_exist,
        devnet,
    })
}

fn secret_keys(s: &Secret) -> BTreeSet<String> {
    s.data
        .iter()
        .flat_map(|d| d.keys())
        .chain(s.string_data.iter().flat_map(|d| d.keys()))
        .cloned()
        .collect()
}

fn config_map_keys(cm: &ConfigMap) -> BTreeSet<String> {
    cm.data
        .iter()
        .flat_map(|d| d.keys())
        .chain(cm.binary_data.iter().flat_map(|d| d.keys()))
        .cloned()
        .collect()
}

/// The Lease holder if the Lease is still valid and the holder is one of this component's
/// pods (`<cs>-<component>-<ordinal>`).
pub fn live_holder(lease: &Lease, pod_prefix: &str) -> Option<String> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let pod = holder
        .split_once(crate::keys::LEASE_IDENTITY_SEPARATOR)
        .map_or(holder.as_str(), |(pod, _uid)| pod);
    let ordinal = pod.strip_prefix(pod_prefix)?.strip_prefix('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let expires = renewed.0.as_second() + duration;
    (k8s_openapi::jiff::Timestamp::now().as_second() < expires).then_some(holder)
}

/// The pod a holder identity names: `<pod>` (as the test lease loops use), or `<pod>_<uid>`
/// (what the operator renders) when that pod still has that UID — the holder of a pod that
/// was replaced is no pod's.
fn holder_pod(stores: &Stores, ns: &str, holder: &str) -> Option<String> {
    let Some((pod, uid)) = holder.split_once(crate::keys::LEASE_IDENTITY_SEPARATOR) else {
        return Some(holder.to_owned());
    };
    let current = stores
        .pods
        .get(&ObjectRef::<k8s_openapi::api::core::v1::Pod>::new(pod).within(ns))?;
    (current.metadata.uid.as_deref() == Some(uid)).then(|| pod.to_owned())
}

/// Pods of one component from the watch cache.
pub fn component_pods(
    stores: &Stores,
    names: &Names,
    c: Component,
) -> Vec<std::sync::Arc<k8s_openapi::api::core::v1::Pod>> {
    use crate::keys::label;
    stores
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(names.namespace.as_str()))
        .filter(|p| {
            let l = p.labels();
            l.get(label::INSTANCE) == Some(&names.instance)
                && l.get(label::COMPONENT).map(String::as_str) == Some(c.name())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str) -> Lease {
        let now = k8s_openapi::jiff::Timestamp::now();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cs-messager"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 8,
                     "renewTime": now.to_string()}
        }))
        .expect("lease")
    }

    #[test]
    fn holders_are_pods_of_the_component_with_or_without_their_uid() {
        for (holder, expected) in [
            ("cs-messager-1", Some("cs-messager-1")),
            ("cs-messager-1_0b5d-uid", Some("cs-messager-1_0b5d-uid")),
            ("cs-miner-0_uid", None),
            ("cs-messager-x_uid", None),
            ("", None),
        ] {
            assert_eq!(
                live_holder(&lease(holder), "cs-messager").as_deref(),
                expected,
                "{holder}"
            );
        }
    }
}
