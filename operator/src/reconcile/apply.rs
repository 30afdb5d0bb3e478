//! `apply`: the generated Secrets (created once), the desired objects by server-side apply in
//! deployment order, and the role labels from the Lease holders.
//!
//! Quiet at rest: an object is sent only when its desired content changed since it was last
//! applied, when its StatefulSet is missing, or once per [`super::DRIFT_RESYNC`] (to undo
//! hand edits). Everything else is a no-op the API server would have answered anyway.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, info};

use super::fetch::{Fetched, component_pods};
use super::{Context, DRIFT_RESYNC};
use crate::build::{self, DesiredState, Names};
use crate::component::{Component, HaMode};
use crate::crd::ChainService;
use crate::error::{Error, Result};
use crate::keys::{MANAGER, label, role};
use crate::secrets::{self, Material};
use crate::status::Observed;

/// Per object (`<uid>/<Kind>/<name>`): hash of the content last applied, and when.
pub type AppliedCache = HashMap<String, (u64, Instant)>;

fn cache_key(cs: &ChainService, d: &build::Desired) -> String {
    format!(
        "{}/{}",
        cs.metadata.uid.as_deref().unwrap_or_default(),
        d.id()
    )
}

fn digest(d: &build::Desired) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    d.object.to_string().hash(&mut h);
    h.finish()
}

/// Forget a ChainService's entries (on deletion).
pub fn forget(ctx: &Context, cs: &ChainService) {
    let prefix = format!("{}/", cs.metadata.uid.as_deref().unwrap_or_default());
    if let Ok(mut cache) = ctx.applied.lock() {
        cache.retain(|k, _| !k.starts_with(&prefix));
    }
}

/// Readiness of the components that exist, from the fetched StatefulSets.
pub fn observe_existing(fetched: &Fetched) -> Vec<(Component, Observed)> {
    fetched
        .stateful_sets
        .iter()
        .map(|(c, sts)| {
            (
                *c,
                Observed::from_stateful_set(sts, fetched.primaries.get(c).cloned()),
            )
        })
        .collect()
}

/// Create the JWT secret, the admin token and the node identities once. Existing ones are
/// never touched.
pub async fn ensure_secrets(
    cs: &ChainService,
    names: &Names,
    client: &Client,
    fetched: &Fetched,
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &names.namespace);
    if !fetched.node_identities_exist {
        let name = names.node_identities();
        let secret = secrets::node_identities_secret(secret_meta(cs, names, name.clone()), names)
            .map_err(|e| Error::Secrets {
            name: name.clone(),
            source: kube::Error::Service(e.into()),
        })?;
        create_once(&api, secret).await?;
    }
    if fetched.jwt_secret_exists && fetched.admin_token_exists {
        return Ok(());
    }
    // Re-sign a lost token with the existing secret, or start afresh.
    let existing = if fetched.jwt_secret_exists {
        api.get_opt(&names.jwt_secret())
            .await
            .map_err(|source| Error::Dereference {
                what: "Secret (auth JWT)".into(),
                source,
            })?
    } else {
        None
    };
    let material = match existing.as_ref().and_then(secrets::read_jwt_secret) {
        Some(secret) => Material::from_secret(secret),
        None => Material::generate(),
    };
    let meta = |name: String| secret_meta(cs, names, name);
    let mut to_create = Vec::new();
    if existing.is_none() && !fetched.jwt_secret_exists {
        to_create.push(secrets::jwt_secret(meta(names.jwt_secret()), &material));
    }
    if !fetched.admin_token_exists {
        to_create.push(secrets::admin_token_secret(
            meta(names.admin_token_secret()),
            &material,
        ));
    }
    for secret in to_create {
        create_once(&api, secret).await?;
    }
    Ok(())
}

/// A generated Secret's metadata: owned by the ChainService, labelled as the operator's.
fn secret_meta(
    cs: &ChainService,
    names: &Names,
    name: String,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name),
        namespace: Some(names.namespace.clone()),
        owner_references: Some(cs.controller_owner_ref(&()).into_iter().collect()),
        labels: Some(BTreeMap::from([
            (label::INSTANCE.to_string(), names.instance.clone()),
            (label::MANAGED_BY.to_string(), MANAGER.to_string()),
        ])),
        ..Default::default()
    }
}

/// Create, never replace: a Secret another reconcile created first stands.
async fn create_once(api: &Api<Secret>, secret: Secret) -> Result<()> {
    let name = secret.name_any();
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => info!(secret = %name, "created"),
        // Another reconcile won the race; theirs stands.
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(source) => return Err(Error::Secrets { name, source }),
    }
    Ok(())
}

async fn apply_one(client: &Client, ns: &str, d: &build::Desired) -> Result<DynamicObject> {
    let api: Api<DynamicObject> = if d.namespaced {
        Api::namespaced_with(client.clone(), ns, &d.resource)
    } else {
        Api::all_with(client.clone(), &d.resource)
    };
    api.patch(
        &d.name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&d.object),
    )
    .await
    .map_err(|source| Error::Apply {
        object: d.id(),
        source,
    })
}

/// Apply `d` unless the same content was applied within the drift window (`present`: the
/// object is known to exist).
async fn apply_if_changed(
    cs: &ChainService,
    ctx: &Context,
    ns: &str,
    d: &build::Desired,
    present: bool,
) -> Result<Option<DynamicObject>> {
    let key = cache_key(cs, d);
    let hash = digest(d);
    let fresh = ctx
        .applied
        .lock()
        .ok()
        .and_then(|c| c.get(&key).copied())
        .is_some_and(|(h, at)| h == hash && at.elapsed() < DRIFT_RESYNC);
    if fresh && present {
        return Ok(None);
    }
    let applied = apply_one(&ctx.client, ns, d).await?;
    if let Ok(mut cache) = ctx.applied.lock() {
        cache.insert(key, (hash, Instant::now()));
    }
    debug!(object = %d.id(), "applied");
    Ok(Some(applied))
}

/// Apply the shared objects, then each component once every earlier one is Ready. Returns
/// what was observed per component and where the rollout stopped.
pub async fn apply_in_order(
    cs: &ChainService,
    ctx: &Context,
    desired: &DesiredState,
    fetched: &Fetched,
) -> Result<(Vec<(Component, Observed)>, Option<Component>)> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    for d in desired.shared.iter().chain(&desired.devnet) {
        apply_if_changed(cs, ctx, &ns, d, true).await?;
    }
    // The devnet's genesis Job, only until its ConfigMap and Secret exist (never again).
    let genesis_pending = fetched.devnet.is_some_and(|d| !d.published);
    if genesis_pending && let Some(job) = &desired.genesis_job {
        apply_if_changed(cs, ctx, &ns, job, false).await?;
    }
    let mut observed: BTreeMap<Component, Observed> =
        observe_existing(fetched).into_iter().collect();
    let mut waiting_at = None;
    for group in &desired.components {
        let c = group.component;
        let blocked = c.predecessors().iter().any(|p| {
            !observed
                .get(p)
                .is_some_and(|o| o.is_ready(p.ha_mode(&cs.spec)))
        });
        // The node of a devnet starts from the genesis the Job has not published yet.
        if blocked || (c == Component::Node && genesis_pending) {
            waiting_at = Some(c);
            break;
        }
        // A missing StatefulSet means the component's objects may be gone too: send them all.
        let present = fetched.stateful_sets.contains_key(&c);
        for d in &group.objects {
            let Some(applied) = apply_if_changed(cs, ctx, &ns, d, present).await? else {
                continue;
            };
            if d.resource.kind == "StatefulSet" {
                // The patch response carries the new generation: a changed template makes the
                // component not-ready until rolled out, which holds back the next one.
                if let Ok(sts) = applied.try_parse::<StatefulSet>() {
                    observed.insert(
                        c,
                        Observed::from_stateful_set(&sts, fetched.primaries.get(&c).cloned()),
                    );
                }
            }
        }
        if !cs.spec.network_policy.enabled && present {
            remove_network_policy(cs, ctx, &ns, &Names::new(&cs.name_any(), &ns).component(c))
                .await?;
        }
    }
    Ok((observed.into_iter().collect(), waiting_at))
}

/// `spec.networkPolicy.enabled: false` after it was on: delete the component's policy (once
/// per drift window; a missing one is fine).
async fn remove_network_policy(
    cs: &ChainService,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<()> {
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let key = format!(
        "{}/NetworkPolicy/{name}#absent",
        cs.metadata.uid.as_deref().unwrap_or_default()
    );
    let fresh = ctx
        .applied
        .lock()
        .ok()
        .and_then(|c| c.get(&key).copied())
        .is_some_and(|(_, at)| at.elapsed() < DRIFT_RESYNC);
    if fresh {
        return Ok(());
    }
    let api: Api<NetworkPolicy> = Api::namespaced(ctx.client.clone(), ns);
    match api.delete(name, &kube::api::DeleteParams::default()).await {
        Ok(_) => info!(policy = %name, "NetworkPolicy removed (spec.networkPolicy.enabled: false)"),
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(source) => {
            return Err(Error::Apply {
                object: format!("NetworkPolicy/{name} (delete)"),
                source,
            });
        }
    }
    if let Ok(mut cache) = ctx.applied.lock() {
        cache.insert(key, (0, Instant::now()));
    }
    Ok(())
}

/// The role label a pod should carry.
pub fn role_for(pod: &str, primary: Option<&String>) -> &'static str {
    if primary.is_some_and(|p| p == pod) {
        role::PRIMARY
    } else {
        role::STANDBY
    }
}

/// Label messager and miner pods `primary`/`standby` from their Lease holder; pods come from
/// the watch cache and only pods whose label is wrong are patched.
pub async fn label_roles(
    ctx: &Context,
    names: &Names,
    cs: &ChainService,
    primaries: &BTreeMap<Component, String>,
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &names.namespace);
    for c in Component::ALL
        .into_iter()
        .filter(|c| c.ha_mode(&cs.spec) == HaMode::PrimaryStandby)
    {
        for pod in component_pods(&ctx.stores, names, c) {
            let name = pod.name_any();
            let role = role_for(&name, primaries.get(&c));
            if pod.labels().get(label::ROLE).map(String::as_str) == Some(role)
                || pod.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            let patch = json!({ "metadata": { "labels": { label::ROLE: role } } });
            match pods
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => info!(pod = %name, role, "role label set"),
                // The cache was behind: the pod is already gone.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(source) => {
                    return Err(Error::RoleLabel {
                        pod: name.clone(),
                        role,
                        source,
                    });
                }
            }
        }
    }
    Ok(())
}
