//! The ChainService resource seen through the dynamic API, and status helpers.

use std::time::Duration;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

use crate::wait;

pub const GROUP: &str = "venus.filecoin.io";

/// Components in the operator's deployment order.
pub const COMPONENTS: [&str; 5] = ["auth", "gateway", "node", "messager", "miner"];

pub fn chainservice_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, "v1alpha1", "ChainService"),
        "chainservices",
    )
}

pub fn chainservices(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &chainservice_resource())
}

/// A status condition by type.
pub fn condition<'a>(obj: &'a DynamicObject, kind: &str) -> Option<&'a Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

pub fn condition_status(obj: &DynamicObject, kind: &str) -> Option<String> {
    condition(obj, kind).and_then(|c| c["status"].as_str().map(str::to_owned))
}

pub fn condition_reason(obj: &DynamicObject, kind: &str) -> Option<String> {
    condition(obj, kind).and_then(|c| c["reason"].as_str().map(str::to_owned))
}

/// Whether the status describes the current spec: `status.observedGeneration == generation`.
pub fn status_is_current(obj: &DynamicObject) -> bool {
    obj.metadata.generation.is_some()
        && obj.data["status"]["observedGeneration"].as_i64() == obj.metadata.generation
}

/// Ready=True for the current generation.
pub fn is_ready(obj: &DynamicObject) -> bool {
    status_is_current(obj) && condition_status(obj, "Ready").as_deref() == Some("True")
}

/// Short description of a ChainService's status for timeout messages.
pub fn describe_status(obj: &DynamicObject) -> String {
    let status = &obj.data["status"];
    let conditions: Vec<String> = status["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| format!("{}={}({})", c["type"], c["status"], c["reason"]))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "generation={:?} observedGeneration={} phase={} conditions=[{}]",
        obj.metadata.generation,
        status["observedGeneration"],
        status["phase"],
        conditions.join(", ")
    )
}

/// Waits until the ChainService is Ready for its current generation; returns it.
pub async fn wait_ready(
    api: &Api<DynamicObject>,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<DynamicObject> {
    let last = std::sync::Mutex::new(String::from("(not seen yet)"));
    let result = wait::until(timeout, &format!("ChainService {name} Ready"), || async {
        let obj = api.get(name).await?;
        if let Ok(mut l) = last.lock() {
            *l = describe_status(&obj);
        }
        Ok(is_ready(&obj).then_some(obj))
    })
    .await;
    result.map_err(|e| {
        let seen = last.lock().map(|l| l.clone()).unwrap_or_default();
        e.context(format!("last status: {seen}"))
    })
}

/// An example ChainService of `manifests/examples/<name>.yaml`.
pub fn example(name: &str) -> Value {
    let path = crate::tools::repo_root().join(format!("manifests/examples/{name}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The cloud examples' disks need their clouds' CSI drivers; on kwok, point them at the
/// `kwok-volume` class instead (everything else unchanged).
pub fn on_kwok_storage(mut cs: Value) -> Value {
    let storage = cs["spec"]["storage"].as_object_mut().map(|s| {
        s.remove("preset");
        s.remove("encrypted");
        s.insert("className".into(), serde_json::json!("kwok-volume"));
    });
    if storage.is_none() {
        cs["spec"]["storage"] = serde_json::json!({"className": "kwok-volume"});
    }
    cs
}

/// `kubectl apply` of one object into `namespace` (`kubectl` from the cluster or fixture).
pub fn apply(
    kubectl: &std::process::Command,
    namespace: &str,
    object: &Value,
) -> anyhow::Result<String> {
    let yaml = serde_yaml_ng::to_string(object)?;
    let mut cmd = std::process::Command::new(kubectl.get_program());
    cmd.args(kubectl.get_args());
    for (k, v) in kubectl.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    crate::command::run_with_stdin(cmd.args(["apply", "-n", namespace, "-f", "-"]), &yaml)
}

/// The pods a Service's EndpointSlices list as ready, sorted: whom the Service sends to.
pub async fn ready_endpoint_targets(
    slices: &Api<EndpointSlice>,
    service: &str,
) -> anyhow::Result<Vec<String>> {
    let list = slices
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service}")))
        .await?;
    let mut names: Vec<String> = list
        .items
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .filter_map(|e| e.target_ref.as_ref().and_then(|r| r.name.clone()))
        .collect();
    names.sort();
    Ok(names)
}
