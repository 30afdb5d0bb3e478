//! The reconcile pipeline: dereference → validate → build → apply → update_status, inside a
//! finalizer. Only this module talks to the API server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{info, instrument, warn};

use crate::build::{self, DesiredState, MANAGER, Names, ROLE_LABEL};
use crate::component::{Component, HaMode};
use crate::crd::{ChainService, ChainServiceStatus, RetentionAction};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::secrets::{self, Material};
use crate::status::{self, Observed, StatusInput};
use crate::validate::{self, Referenced};

pub const FINALIZER: &str = "venus.filecoin.io/cleanup";
/// Requeue while something is still rolling out or waiting.
const REQUEUE_BUSY: Duration = Duration::from_secs(15);
/// Resync when everything is ready.
const REQUEUE_IDLE: Duration = Duration::from_secs(300);
/// Requeue after a failure.
const REQUEUE_ERROR: Duration = Duration::from_secs(10);

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
}

#[instrument(skip_all, fields(chainservice = %cs.name_any(), namespace = cs.namespace().unwrap_or_default()))]
pub async fn reconcile(cs: Arc<ChainService>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.start();
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    let api: Api<ChainService> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, cs, |event| async {
        match event {
            FinalizerEvent::Apply(cs) => apply(&cs, &ctx).await,
            FinalizerEvent::Cleanup(cs) => cleanup(&cs, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))
}

/// Log, count and requeue. An invalid spec never gets here (it is a status, not an error).
pub fn error_policy(cs: Arc<ChainService>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(chainservice = %cs.name_any(), stage = error.stage(), %error, "reconcile failed");
    ctx.metrics.failed(error.stage());
    Action::requeue(REQUEUE_ERROR)
}

/// What `dereference` read from the cluster.
struct Dereferenced {
    referenced: Referenced,
    stateful_sets: BTreeMap<Component, StatefulSet>,
    primaries: BTreeMap<Component, String>,
    jwt_secret: Option<Secret>,
    admin_token_exists: bool,
}

async fn apply(cs: &ChainService, ctx: &Context) -> Result<Action> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    let names = Names::new(&cs.name_any(), &ns);
    let deref = dereference(cs, &names, &ctx.client).await?;

    let valid = match validate::validate(&cs.spec, &deref.referenced) {
        Ok(v) => v,
        Err(invalid) => {
            let message = invalid.to_string();
            warn!(%message, "spec refused");
            let observed = observe_existing(cs, &deref);
            update_status(cs, ctx, &names, Err(message), &observed, None).await?;
            // Nothing to retry until the spec (or a referenced object, via the resync) changes.
            return Ok(Action::requeue(REQUEUE_IDLE));
        }
    };

    let desired = build::build(cs, &valid);
    ensure_secrets(cs, &names, &ctx.client, &deref).await?;
    let (observed, waiting_at) = apply_in_order(cs, &ctx.client, &desired, &deref).await?;
    label_roles(&ctx.client, &names, cs, &deref.primaries).await?;
    let status = update_status(cs, ctx, &names, Ok(()), &observed, waiting_at).await?;

    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    Ok(Action::requeue(if ready {
        REQUEUE_IDLE
    } else {
        REQUEUE_BUSY
    }))
}

/// Read what the spec points at — existence and keys only, never a Secret's values into a
/// message — and the current state of the components.
async fn dereference(cs: &ChainService, names: &Names, client: &Client) -> Result<Dereferenced> {
    let ns = &names.namespace;
    let deref_err = |what: String| move |source| Error::Dereference { what, source };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut problems = Vec::new();

    for c in Component::ALL {
        if let Some(db) = &c.spec(&cs.spec).database
            && let Some(r) = &db.dsn_secret
        {
            let found = secrets
                .get_opt(&r.name)
                .await
                .map_err(deref_err(format!("Secret {}", r.name)))?;
            match found {
                None => problems.push(format!(
                    "spec.{c}.database.dsnSecret: Secret {} not found",
                    r.name
                )),
                Some(s) if !has_key(&s, &r.key) => problems.push(format!(
                    "spec.{c}.database.dsnSecret: Secret {} has no key {}",
                    r.name, r.key
                )),
                Some(_) => {}
            }
        }
    }
    if let Some(g) = &cs.spec.network.genesis {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        match cms
            .get_opt(&g.config_map)
            .await
            .map_err(deref_err(format!("ConfigMap {}", g.config_map)))?
        {
            None => problems.push(format!(
                "spec.network.genesis: ConfigMap {} not found",
                g.config_map
            )),
            Some(cm) => {
                let in_data = cm.data.as_ref().is_some_and(|d| d.contains_key(&g.key));
                let in_binary = cm
                    .binary_data
                    .as_ref()
                    .is_some_and(|d| d.contains_key(&g.key));
                if !in_data && !in_binary {
                    problems.push(format!(
                        "spec.network.genesis: ConfigMap {} has no key {}",
                        g.config_map, g.key
                    ));
                }
            }
        }
    }
    if let Some(class) = &cs.spec.storage.class_name {
        let classes: Api<StorageClass> = Api::all(client.clone());
        if classes
            .get_opt(class)
            .await
            .map_err(deref_err(format!("StorageClass {class}")))?
            .is_none()
        {
            problems.push(format!(
                "spec.storage.className: StorageClass {class} not found"
            ));
        }
    }

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let mut stateful_sets = BTreeMap::new();
    for c in Component::ALL {
        let name = names.component(c);
        if let Some(sts) = sts_api
            .get_opt(&name)
            .await
            .map_err(deref_err(format!("StatefulSet {name}")))?
        {
            stateful_sets.insert(c, sts);
        }
    }

    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let mut primaries = BTreeMap::new();
    for c in [Component::Messager, Component::Miner] {
        let name = names.lease(c);
        let lease = leases
            .get_opt(&name)
            .await
            .map_err(deref_err(format!("Lease {name}")))?;
        if let Some(holder) = lease
            .as_ref()
            .and_then(|l| live_holder(l, &names.component(c)))
        {
            primaries.insert(c, holder);
        }
    }

    let jwt_secret = secrets
        .get_opt(&names.jwt_secret())
        .await
        .map_err(deref_err("Secret (auth JWT)".into()))?;
    let admin_token_exists = secrets
        .get_metadata_opt(&names.admin_token_secret())
        .await
        .map_err(deref_err("Secret (admin token)".into()))?
        .is_some();

    Ok(Dereferenced {
        referenced: Referenced { problems },
        stateful_sets,
        primaries,
        jwt_secret,
        admin_token_exists,
    })
}

fn has_key(s: &Secret, key: &str) -> bool {
    s.data.as_ref().is_some_and(|d| d.contains_key(key))
        || s.string_data.as_ref().is_some_and(|d| d.contains_key(key))
}

/// The Lease holder if the Lease is still valid and the holder is one of this component's
/// pods (`<cs>-<component>-<ordinal>`).
pub fn live_holder(lease: &Lease, pod_prefix: &str) -> Option<String> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let ordinal = holder.strip_prefix(pod_prefix)?.strip_prefix('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let expires = renewed.0.as_second() + duration;
    (k8s_openapi::jiff::Timestamp::now().as_second() < expires).then_some(holder)
}

fn observe_existing(_cs: &ChainService, deref: &Dereferenced) -> Vec<(Component, Observed)> {
    deref
        .stateful_sets
        .iter()
        .map(|(c, sts)| {
            (
                *c,
                Observed::from_stateful_set(sts, deref.primaries.get(c).cloned()),
            )
        })
        .collect()
}

/// Create the JWT secret and the admin token once. Existing ones are never touched.
async fn ensure_secrets(
    cs: &ChainService,
    names: &Names,
    client: &Client,
    deref: &Dereferenced,
) -> Result<()> {
    if deref.jwt_secret.is_some() && deref.admin_token_exists {
        return Ok(());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &names.namespace);
    let material = match deref.jwt_secret.as_ref().and_then(secrets::read_jwt_secret) {
        Some(existing) => Material::from_secret(existing),
        None => Material::generate(),
    };
    let owner = cs.controller_owner_ref(&()).into_iter().collect::<Vec<_>>();
    let meta = |name: String| k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name),
        namespace: Some(names.namespace.clone()),
        owner_references: Some(owner.clone()),
        labels: Some(BTreeMap::from([
            (
                "app.kubernetes.io/instance".to_string(),
                names.instance.clone(),
            ),
            (
                "app.kubernetes.io/managed-by".to_string(),
                MANAGER.to_string(),
            ),
        ])),
        ..Default::default()
    };
    let mut to_create = Vec::new();
    if deref.jwt_secret.is_none() {
        to_create.push(secrets::jwt_secret(meta(names.jwt_secret()), &material));
    }
    if !deref.admin_token_exists {
        to_create.push(secrets::admin_token_secret(
            meta(names.admin_token_secret()),
            &material,
        ));
    }
    for secret in to_create {
        let name = secret.name_any();
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => info!(secret = %name, "created"),
            // Another reconcile won the race; theirs stands.
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(source) => return Err(Error::Secrets { name, source }),
        }
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

/// Apply the shared objects, then each component once every earlier one is Ready. Returns
/// what was observed per component and where the rollout stopped.
async fn apply_in_order(
    cs: &ChainService,
    client: &Client,
    desired: &DesiredState,
    deref: &Dereferenced,
) -> Result<(Vec<(Component, Observed)>, Option<Component>)> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    for d in &desired.shared {
        apply_one(client, &ns, d).await?;
    }
    let mut observed: BTreeMap<Component, Observed> =
        observe_existing(cs, deref).into_iter().collect();
    let mut waiting_at = None;
    for group in &desired.components {
        let c = group.component;
        let blocked = c.predecessors().iter().any(|p| {
            !observed
                .get(p)
                .is_some_and(|o| o.is_ready(p.ha_mode(&cs.spec)))
        });
        if blocked {
            waiting_at = Some(c);
            break;
        }
        for d in &group.objects {
            let applied = apply_one(client, &ns, d).await?;
            if d.resource.kind == "StatefulSet" {
                // The patch response carries the new generation: a changed template makes the
                // component not-ready until rolled out, which holds back the next one.
                if let Ok(sts) = applied.try_parse::<StatefulSet>() {
                    observed.insert(
                        c,
                        Observed::from_stateful_set(&sts, deref.primaries.get(&c).cloned()),
                    );
                }
            }
        }
    }
    Ok((observed.into_iter().collect(), waiting_at))
}

/// Label messager and miner pods `primary`/`standby` from their Lease holder.
async fn label_roles(
    client: &Client,
    names: &Names,
    cs: &ChainService,
    primaries: &BTreeMap<Component, String>,
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &names.namespace);
    for c in Component::ALL
        .into_iter()
        .filter(|c| c.ha_mode(&cs.spec) == HaMode::PrimaryStandby)
    {
        let selector = format!(
            "app.kubernetes.io/instance={},app.kubernetes.io/component={}",
            names.instance,
            c.name()
        );
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|source| Error::Dereference {
                what: format!("pods of {c}"),
                source,
            })?;
        for pod in list {
            let name = pod.name_any();
            let role = if primaries.get(&c) == Some(&name) {
                "primary"
            } else {
                "standby"
            };
            if pod.labels().get(ROLE_LABEL).map(String::as_str) == Some(role) {
                continue;
            }
            let patch = json!({ "metadata": { "labels": { ROLE_LABEL: role } } });
            pods.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|source| Error::RoleLabel {
                    pod: name.clone(),
                    role,
                    source,
                })?;
            info!(pod = %name, role, "role label set");
        }
    }
    Ok(())
}

async fn update_status(
    cs: &ChainService,
    ctx: &Context,
    names: &Names,
    validation: Result<(), String>,
    observed: &[(Component, Observed)],
    waiting_at: Option<Component>,
) -> Result<ChainServiceStatus> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let next = status::compute(&StatusInput {
        spec: &cs.spec,
        generation: cs.metadata.generation,
        names,
        previous: cs.status.as_ref(),
        validation,
        observed,
        waiting_at,
        now,
    });
    for change in status::transitions(cs.status.as_ref(), &next) {
        let warning = change.reason == status::REASON_INVALID_SPEC
            || (change.type_ == "Degraded" && change.status == "True");
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: format!(
                "{}{}",
                change.type_,
                if change.status == "True" { "" } else { "False" }
            ),
            note: Some(truncate(
                &format!("{}: {}", change.reason, change.message),
                1000,
            )),
            action: "Reconcile".into(),
            secondary: None,
        };
        // An Event that cannot be written must not block the rollout.
        if let Err(e) = ctx.recorder.publish(&event, &cs.object_ref(&())).await {
            warn!(error = %e, "publishing event failed");
        }
    }
    if cs.status.as_ref() != Some(&next) {
        let api: Api<ChainService> = Api::namespaced(ctx.client.clone(), &names.namespace);
        let patch = json!({
            "apiVersion": ChainService::api_version(&()),
            "kind": ChainService::kind(&()),
            "status": next,
        });
        api.patch_status(
            &cs.name_any(),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::UpdateStatus)?;
    }
    Ok(next)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// On deletion: owned objects go with the ChainService (owner references). PVCs follow the
/// retention policy; with `whenDeleted: Delete` they are deleted here too, for clusters where
/// the StatefulSet PVC auto-deletion is unavailable.
async fn cleanup(cs: &ChainService, ctx: &Context) -> Result<Action> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    if cs.spec.storage.retention.when_deleted == RetentionAction::Delete {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
        let selector = format!("app.kubernetes.io/instance={}", cs.name_any());
        pvcs.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&selector),
        )
        .await
        .map_err(Error::Cleanup)?;
    }
    let event = Event {
        type_: EventType::Normal,
        reason: "Deleted".into(),
        note: Some(format!(
            "chain service removed; volumes {}",
            match cs.spec.storage.retention.when_deleted {
                RetentionAction::Retain => "kept (retention Retain)",
                RetentionAction::Delete => "deleted",
            }
        )),
        action: "Cleanup".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cs.object_ref(&())).await {
        warn!(error = %e, "publishing event failed");
    }
    Ok(Action::await_change())
}

/// Reconcile request sequences against a fake API server (tower-test), controller-rs style:
/// the fake answers every request by a simple rule and records it; tests assert the sequence.
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::{Request, Response, StatusCode};
    use kube::client::Body;
    use serde_json::Value;

    use super::*;
    use crate::crd::{ChainServiceSpec, DatabaseKind, DatabaseSpec};

    #[derive(Clone, Debug)]
    struct Recorded {
        method: String,
        path: String,
        body: Value,
    }

    type Log = Arc<Mutex<Vec<Recorded>>>;

    fn not_found() -> Response<Body> {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "not found", "reason": "NotFound", "code": 404});
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from(serde_json::to_vec(&status).expect("json")))
            .expect("response")
    }

    fn ok(value: &Value) -> Response<Body> {
        Response::builder()
            .body(Body::from(serde_json::to_vec(value).expect("json")))
            .expect("response")
    }

    /// An empty cluster: GETs find nothing, lists are empty, writes echo their body (a
    /// StatefulSet comes back at generation 1 with no status, i.e. not ready).
    async fn fake_api(
        mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
        log: Log,
    ) {
        while let Some((req, send)) = handle.next_request().await {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let bytes = req.into_body().collect_bytes().await.expect("body");
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            log.lock().expect("log").push(Recorded {
                method: method.clone(),
                path: path.clone(),
                body: body.clone(),
            });
            let response = match method.as_str() {
                "GET" if path.ends_with("/pods") => {
                    ok(&json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}))
                }
                "GET" => not_found(),
                _ => {
                    let mut echo = body;
                    if path.contains("/chainservices/") {
                        // Finalizer JSON patch or status patch: answer with a ChainService.
                        let status = echo.get("status").cloned().unwrap_or(Value::Null);
                        echo = json!({"apiVersion": "venus.filecoin.io/v1alpha1", "kind": "ChainService",
                            "metadata": {"name": "cs", "namespace": "ns"},
                            "spec": {"network": {"name": "mainnet"}}, "status": status});
                    }
                    if let Some(meta) = echo.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.insert("generation".into(), json!(1));
                        meta.entry("name").or_insert(json!("x"));
                    }
                    ok(&echo)
                }
            };
            send.send_response(response);
        }
    }

    fn chain_service(spec: ChainServiceSpec, finalized: bool) -> ChainService {
        let mut cs = ChainService::new("cs", spec);
        cs.metadata.namespace = Some("ns".into());
        cs.metadata.uid = Some("00000000-0000-0000-0000-000000000009".into());
        cs.metadata.generation = Some(4);
        cs.metadata.resource_version = Some("7".into());
        if finalized {
            cs.metadata.finalizers = Some(vec![FINALIZER.into()]);
        }
        cs
    }

    async fn run(cs: ChainService) -> (Result<Action>, Vec<Recorded>) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let log: Log = Arc::default();
        tokio::spawn(fake_api(handle, log.clone()));
        let client = Client::new(service, "ns");
        let ctx = Arc::new(Context {
            client: client.clone(),
            recorder: Recorder::new(
                client,
                kube::runtime::events::Reporter {
                    controller: MANAGER.into(),
                    instance: None,
                },
            ),
            metrics: Arc::new(Metrics::default()),
        });
        let result = tokio::time::timeout(Duration::from_secs(10), reconcile(Arc::new(cs), ctx))
            .await
            .expect("reconcile finished in time");
        let recorded = log.lock().expect("log").clone();
        (result, recorded)
    }

    fn writes(log: &[Recorded]) -> Vec<String> {
        log.iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    #[tokio::test]
    async fn first_reconcile_only_adds_the_finalizer() {
        let (result, log) = run(chain_service(ChainServiceSpec::default(), false)).await;
        result.expect("ok");
        let w = writes(&log);
        assert_eq!(
            w,
            ["PATCH /apis/venus.filecoin.io/v1alpha1/namespaces/ns/chainservices/cs"],
            "{w:#?}"
        );
        assert!(log[0].body.to_string().contains(FINALIZER));
    }

    #[tokio::test]
    async fn new_chain_service_creates_secrets_shared_objects_then_auth_only() {
        let (result, log) = run(chain_service(ChainServiceSpec::default(), true)).await;
        result.expect("ok");
        let w = writes(&log);
        let ns = "/api/v1/namespaces/ns";
        let expected_prefix = [
            format!("POST {ns}/secrets"),
            format!("POST {ns}/secrets"),
            format!("PATCH {ns}/serviceaccounts/cs-venus"),
            "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles/cs-venus".to_string(),
            "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/cs-venus"
                .to_string(),
            "PATCH /apis/coordination.k8s.io/v1/namespaces/ns/leases/cs-messager".to_string(),
            "PATCH /apis/coordination.k8s.io/v1/namespaces/ns/leases/cs-miner".to_string(),
            format!("PATCH {ns}/configmaps/cs-auth"),
            format!("PATCH {ns}/services/cs-auth"),
            format!("PATCH {ns}/services/cs-auth-headless"),
            "PATCH /apis/policy/v1/namespaces/ns/poddisruptionbudgets/cs-auth".to_string(),
            "PATCH /apis/apps/v1/namespaces/ns/statefulsets/cs-auth".to_string(),
        ];
        assert_eq!(&w[..expected_prefix.len()], &expected_prefix, "{w:#?}");
        // auth is not ready yet: nothing of the gateway or later is touched.
        assert!(
            !w.iter()
                .any(|p| p.contains("cs-gateway") || p.contains("cs-node")),
            "{w:#?}"
        );
        assert_eq!(
            w.last().map(String::as_str),
            Some("PATCH /apis/venus.filecoin.io/v1alpha1/namespaces/ns/chainservices/cs/status")
        );

        // Secret material never appears outside the Secret bodies.
        let token = log
            .iter()
            .find(|r| r.path.ends_with("/secrets") && r.body["data"]["token"].is_string())
            .map(|r| {
                r.body["data"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .expect("admin token secret created");
        for r in log.iter().filter(|r| !r.path.ends_with("/secrets")) {
            assert!(
                !r.body.to_string().contains(&token),
                "token leaked into {} {}",
                r.method,
                r.path
            );
        }

        let status = &log.last().expect("status patch").body["status"];
        assert_eq!(status["phase"], "Progressing");
        assert_eq!(status["observedGeneration"], 4);
        assert_eq!(status["adminTokenSecret"], "cs-admin-token");
        let progressing = status["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .find(|c| c["type"] == "Progressing")
            .expect("Progressing");
        assert_eq!(
            progressing["message"],
            "waiting for auth to be ready before gateway"
        );
        // One Event per condition set for the first time.
        let events = log.iter().filter(|r| r.path.contains("/events")).count();
        assert_eq!(events, 8);
    }

    #[tokio::test]
    async fn invalid_spec_writes_status_and_event_and_applies_nothing() {
        let mut spec = ChainServiceSpec::default();
        spec.messager.replicas = Some(2);
        spec.messager.database = Some(DatabaseSpec {
            kind: DatabaseKind::Sqlite,
            dsn_secret: None,
        });
        let (result, log) = run(chain_service(spec, true)).await;
        result.expect("an invalid spec is a status, not a reconcile error");
        let w = writes(&log);
        assert!(
            !w.iter()
                .any(|p| p.contains("/statefulsets/") || p.contains("/secrets")),
            "{w:#?}"
        );
        let status = &log.last().expect("status patch").body["status"];
        assert_eq!(status["phase"], "Failed");
        let ready = status["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .find(|c| c["type"] == "Ready")
            .expect("Ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "InvalidSpec");
        assert!(
            ready["message"]
                .as_str()
                .unwrap_or_default()
                .contains("spec.messager.replicas")
        );
        let warning = log
            .iter()
            .find(|r| r.path.contains("/events") && r.body["type"] == "Warning")
            .expect("a Warning event");
        assert!(
            warning.body["note"]
                .as_str()
                .unwrap_or_default()
                .contains("InvalidSpec")
        );
    }
}
