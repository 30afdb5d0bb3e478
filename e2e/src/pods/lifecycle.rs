//! What the kubelet does around a pod's container: its init containers one after the other to
//! completion first, and — for a pod whose `restartPolicy` is not `Always` (a Job's) — the end
//! of the pod when its container ends: phase `Succeeded` or `Failed` and the container's
//! terminated state in the pod status, which the Job controller counts.

use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::Shared;
use super::launch::Launch;

/// Whether a container that ended with `status` is started again (the kubelet's rule).
pub fn restarts(restart_policy: &str, status: ExitStatus) -> bool {
    match restart_policy {
        "Never" => false,
        "OnFailure" => !status.success(),
        _ => true,
    }
}

/// Waits for the process in `child` to end; pends forever once the slot was emptied (the pod's
/// process was stopped: the supervisor is being aborted).
async fn wait_exit(child: &Mutex<Option<Child>>) -> ExitStatus {
    loop {
        let state = child
            .lock()
            .ok()
            .and_then(|mut c| c.as_mut().map(|c| c.try_wait().ok().flatten()));
        match state {
            Some(Some(status)) => return status,
            Some(None) => {}
            None => futures::future::pending::<()>().await,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn put(child: &Mutex<Option<Child>>, new: Child) {
    if let Ok(mut c) = child.lock() {
        *c = Some(new);
    }
}

/// Runs `launch.init` to completion in order (the first is already running in `child`, started
/// by `start`), then starts the container itself in `child`. `false`: the pod ended here (an
/// init container failed under `restartPolicy: Never`) or its container could not be started.
pub async fn run_init_containers(
    shared: &Arc<Shared>,
    pods: &Api<Pod>,
    name: &str,
    launch: &Launch,
    child: &Mutex<Option<Child>>,
) -> bool {
    if launch.init.is_empty() {
        return true;
    }
    for (i, init) in launch.init.iter().enumerate() {
        let mut backoff = Duration::from_millis(500);
        let mut running = i == 0;
        loop {
            if !running {
                match super::spawn(init, shared) {
                    Ok(new) => put(child, new),
                    Err(e) => {
                        shared.note(name, format!("init container {}: {e:#}", init.container));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            running = false;
            let status = wait_exit(child).await;
            if status.success() {
                shared.note(name, format!("init container {} completed", init.container));
                break;
            }
            if launch.restart_policy == "Never" {
                shared.note(
                    name,
                    format!(
                        "init container {} failed ({status}): pod failed",
                        init.container
                    ),
                );
                finish(pods, name, "initContainerStatuses", &init.container, status).await;
                return false;
            }
            shared.note(
                name,
                format!(
                    "init container {} failed ({status}); again in {backoff:?}",
                    init.container
                ),
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
    match super::spawn(launch, shared) {
        Ok(new) => {
            put(child, new);
            shared.note(name, format!("started container {}", launch.container));
            true
        }
        Err(e) => {
            shared.note(
                name,
                format!("container {} not started: {e:#}", launch.container),
            );
            false
        }
    }
}

/// The pod's end as the kubelet reports it: the phase, not Ready, and the container's
/// terminated state (`key`: `containerStatuses` or `initContainerStatuses`). Retried a few
/// times: the Job controller waits for it.
pub async fn finish(pods: &Api<Pod>, name: &str, key: &str, container: &str, status: ExitStatus) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(9)
    });
    let (phase, reason) = if status.success() {
        ("Succeeded", "Completed")
    } else {
        ("Failed", "Error")
    };
    let patch = json!({"status": {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": now, "reason": "PodCompleted"},
            {"type": "ContainersReady", "status": "False", "lastTransitionTime": now, "reason": "PodCompleted"},
        ],
        key: [{
            "name": container,
            "ready": false,
            "started": false,
            // A strategic merge: the `running` state kwok wrote goes.
            "state": {"running": null, "terminated": {
                "exitCode": code, "reason": reason, "startedAt": now, "finishedAt": now,
            }},
        }],
    }});
    for _ in 0..5 {
        match pods
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Strategic(patch.clone()),
            )
            .await
        {
            Ok(_) => return,
            Err(kube::Error::Api(e)) if e.code == 404 => return,
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn the_kubelets_restart_rule() {
        let ok = ExitStatus::from_raw(0);
        let failed = ExitStatus::from_raw(1 << 8);
        assert!(restarts("Always", ok) && restarts("Always", failed));
        assert!(!restarts("OnFailure", ok) && restarts("OnFailure", failed));
        assert!(!restarts("Never", ok) && !restarts("Never", failed));
    }
}
