//! One pod → the command line of its container's process, as the kubelet would prepare it:
//! volumes projected into directories (ConfigMaps and Secrets read from the API server, a
//! directory per PVC that outlives the pod, a fresh one per emptyDir), env resolved (field refs,
//! Secret and ConfigMap keys, `$(VAR)`), a kubeconfig with a token of the pod's ServiceAccount,
//! then mount paths → directories and in-cluster addresses → 127.0.0.1 ports in the args, env
//! and ConfigMap text.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, ServiceAccount};
use kube::api::{Api, PostParams};

use super::text::{Rewriter, Target, expand, map_addresses};

/// Everything needed to (re)start the container's process.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub dir: PathBuf,
    pub log: PathBuf,
    /// Local port of the container's `api` port (its probes' port).
    pub port: u16,
    /// `readinessProbe.httpGet.path`.
    pub readiness_path: Option<String>,
    /// The pod's init containers, run one after the other to completion before this one
    /// (their own `init` is empty).
    pub init: Vec<Launch>,
    /// The pod's `restartPolicy`: `Always` (the default), `OnFailure` or `Never`.
    pub restart_policy: String,
    /// The container's name.
    pub container: String,
}

/// What [`prepare`] needs from the harness.
pub struct Setting<'a> {
    pub client: &'a kube::Client,
    pub namespace: &'a str,
    pub bin_dir: &'a Path,
    /// Per-incarnation directory of this pod's process.
    pub dir: PathBuf,
    /// Parent of the PVC directories (kept across incarnations).
    pub claims: &'a Path,
    pub api_server: &'a str,
    pub ca: &'a Path,
    /// This pod's local port.
    pub port: u16,
    /// Local port of a Service or pod name that appears in an address.
    pub local: &'a mut (dyn FnMut(&Target) -> Option<u16> + Send),
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// The container's binary: the image is `<repository>/<binary>:<tag>` and the command names
/// the binary; both must agree and the binary must be one of the workspace's.
fn program(container: &Container, bin_dir: &Path) -> anyhow::Result<PathBuf> {
    let command = container.command.as_deref().unwrap_or_default();
    let [binary] = command else {
        bail!(
            "container {}: command {command:?} is not one binary",
            container.name
        );
    };
    let image = container.image.as_deref().unwrap_or_default();
    let image_name = image
        .rsplit('/')
        .next()
        .and_then(|n| n.split([':', '@']).next())
        .unwrap_or_default();
    if image_name != binary {
        bail!(
            "container {}: image {image} does not hold binary {binary}",
            container.name
        );
    }
    let path = bin_dir.join(binary);
    if !path.is_file() {
        bail!("{} is not built", path.display());
    }
    Ok(path)
}

pub async fn prepare(pod: &Pod, ctx: Setting<'_>) -> anyhow::Result<Launch> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().context("pod without spec")?;
    let [container] = spec.containers.as_slice() else {
        bail!("{name}: one container expected");
    };
    let program = program(container, ctx.bin_dir)?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ctx.namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ctx.namespace);
    let volume_dir = |volume: &str| ctx.dir.join("volumes").join(volume);
    let mounts = container.volume_mounts.as_deref().unwrap_or_default();
    let local = ctx.local;
    // The `api` port is the pod's port; any other container port (the node's `swarm`) gets a
    // local port of its own, the one other pods' addresses of it map to.
    let own: Vec<(i32, u16)> = container
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            if p.name.as_deref() == Some("api") {
                Some((p.container_port, ctx.port))
            } else {
                local(&Target::Pod(name.clone(), p.container_port)).map(|l| (p.container_port, l))
            }
        })
        .collect();
    let paths = mount_paths(mounts, spec, &volume_dir, ctx.claims);
    let mut rewrite = |text: &str| map_addresses(&paths.rewrite(text), ctx.namespace, &own, local);

    // Volumes.
    let mut read_only_dirs = Vec::new();
    for v in spec.volumes.iter().flatten() {
        let dir = match &v.persistent_volume_claim {
            Some(claim) => ctx.claims.join(&claim.claim_name),
            None => volume_dir(&v.name),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Some(cm) = &v.config_map {
            let object = config_maps
                .get(&cm.name)
                .await
                .with_context(|| format!("{name}: ConfigMap {}", cm.name))?;
            for (key, text) in object.data.iter().flatten() {
                write_file(&dir.join(key), rewrite(text).as_bytes(), 0o644)?;
            }
            for (key, bytes) in object.binary_data.iter().flatten() {
                write_file(&dir.join(key), &bytes.0, 0o644)?;
            }
        } else if let Some(s) = &v.secret {
            let secret_name = s.secret_name.as_deref().unwrap_or_default();
            let object = secrets
                .get(secret_name)
                .await
                .with_context(|| format!("{name}: Secret {secret_name}"))?;
            // The kubelet adds group read for the pod's fsGroup; the process runs as us.
            let mode = u32::try_from(s.default_mode.unwrap_or(0o644)).unwrap_or(0o644) | 0o600;
            for (key, bytes) in object.data.iter().flatten() {
                // `items` projects only the listed keys, each to its path.
                let path = match &s.items {
                    Some(items) => match items.iter().find(|i| &i.key == key) {
                        Some(item) => item.path.clone(),
                        None => continue,
                    },
                    None => key.clone(),
                };
                write_file(&dir.join(path), &bytes.0, mode)?;
            }
        } else if v.projected.is_some() && v.name.starts_with("kube-api-access-") {
            // The ServiceAccount token volume: the kubeconfig below carries the token instead.
        } else if v.empty_dir.is_none() && v.persistent_volume_claim.is_none() {
            bail!(
                "{name}: volume {} of a kind the harness does not project",
                v.name
            );
        }
    }
    for m in mounts {
        if m.read_only == Some(true) {
            read_only_dirs.push(volume_dir(&m.name));
        }
    }

    let env = resolve_env(container, pod, ctx.namespace, &secrets, &config_maps).await?;
    let args: Vec<String> = container
        .args
        .iter()
        .flatten()
        .map(|a| rewrite(&expand(a, &env)))
        .collect();
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.clone(), rewrite(v))).collect();
    for dir in read_only_dirs {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555))?;
    }

    let mut env = env;
    // The ServiceAccount's token, as the projected token volume would hold it.
    if spec.automount_service_account_token != Some(false) {
        let sa = spec.service_account_name.as_deref().unwrap_or("default");
        let token = Api::<ServiceAccount>::namespaced(ctx.client.clone(), ctx.namespace)
            .create_token_request(
                sa,
                &PostParams::default(),
                &TokenRequest {
                    spec: TokenRequestSpec {
                        audiences: Vec::new(),
                        expiration_seconds: Some(7200),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("{name}: a token of ServiceAccount {sa}"))?
            .status
            .map(|s| s.token)
            .context("TokenRequest without a token")?;
        let kubeconfig = ctx.dir.join("kubeconfig");
        crate::cluster::write_token_kubeconfig(
            &kubeconfig,
            ctx.api_server,
            ctx.ca,
            ctx.namespace,
            sa,
            &token,
        )?;
        env.insert("KUBECONFIG".into(), kubeconfig.display().to_string());
    }
    let home = ctx.dir.join("home");
    std::fs::create_dir_all(&home)?;
    env.insert("HOME".into(), home.display().to_string());
    env.entry("PATH".into())
        .or_insert_with(|| "/usr/bin:/bin".into());
    if let Some(tmp) = mounts.iter().find(|m| m.mount_path == "/tmp") {
        env.insert("TMPDIR".into(), volume_dir(&tmp.name).display().to_string());
    }
    let readiness_path = container
        .readiness_probe
        .as_ref()
        .and_then(|p| p.http_get.as_ref())
        .and_then(|g| g.path.clone());
    let log = ctx.dir.join("container.log");
    let restart_policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());

    // Init containers: the same volumes and pod-level env (token, HOME), their own mounts,
    // env and args; no port of their own.
    let mut init = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        let init_program = self::program(c, ctx.bin_dir)?;
        let mounts = c.volume_mounts.as_deref().unwrap_or_default();
        let paths = mount_paths(mounts, spec, &volume_dir, ctx.claims);
        let mut rewrite =
            |text: &str| map_addresses(&paths.rewrite(text), ctx.namespace, &[], local);
        let own_env = resolve_env(c, pod, ctx.namespace, &secrets, &config_maps).await?;
        let args: Vec<String> = c
            .args
            .iter()
            .flatten()
            .map(|a| rewrite(&expand(a, &own_env)))
            .collect();
        let mut init_env: BTreeMap<String, String> = own_env
            .iter()
            .map(|(k, v)| (k.clone(), rewrite(v)))
            .collect();
        for key in ["KUBECONFIG", "HOME", "PATH"] {
            if let Some(v) = env.get(key) {
                init_env.entry(key.into()).or_insert_with(|| v.clone());
            }
        }
        if let Some(tmp) = mounts.iter().find(|m| m.mount_path == "/tmp") {
            init_env.insert("TMPDIR".into(), volume_dir(&tmp.name).display().to_string());
        }
        init.push(Launch {
            program: init_program,
            args,
            env: init_env,
            dir: ctx.dir.clone(),
            log: log.clone(),
            port: ctx.port,
            readiness_path: None,
            init: Vec::new(),
            restart_policy: restart_policy.clone(),
            container: c.name.clone(),
        });
    }
    Ok(Launch {
        program,
        args,
        env,
        log,
        dir: ctx.dir,
        port: ctx.port,
        readiness_path,
        init,
        restart_policy,
        container: container.name.clone(),
    })
}

/// Mount paths → the directories of their volumes (a PVC's outlives the pod).
fn mount_paths(
    mounts: &[k8s_openapi::api::core::v1::VolumeMount],
    spec: &k8s_openapi::api::core::v1::PodSpec,
    volume_dir: &dyn Fn(&str) -> PathBuf,
    claims: &Path,
) -> Rewriter {
    Rewriter::new(
        mounts
            .iter()
            .map(|m| {
                let dir = spec
                    .volumes
                    .iter()
                    .flatten()
                    .find(|v| v.name == m.name)
                    .and_then(|v| v.persistent_volume_claim.as_ref())
                    .map_or_else(|| volume_dir(&m.name), |c| claims.join(&c.claim_name));
                (m.mount_path.clone(), dir.display().to_string())
            })
            .collect(),
    )
}

/// A container's env, in order, as the kubelet resolves it (before address mapping).
async fn resolve_env(
    container: &Container,
    pod: &Pod,
    namespace: &str,
    secrets: &Api<Secret>,
    config_maps: &Api<ConfigMap>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().context("pod without spec")?;
    let mut env = BTreeMap::new();
    for e in container.env.iter().flatten() {
        let value = if let Some(v) = &e.value {
            expand(v, &env)
        } else if let Some(from) = &e.value_from {
            if let Some(f) = &from.field_ref {
                match f.field_path.as_str() {
                    "metadata.name" => name.clone(),
                    "metadata.namespace" => namespace.to_owned(),
                    "metadata.uid" => pod.metadata.uid.clone().unwrap_or_default(),
                    "spec.nodeName" => spec.node_name.clone().unwrap_or_default(),
                    "spec.serviceAccountName" => {
                        spec.service_account_name.clone().unwrap_or_default()
                    }
                    "status.podIP" | "status.hostIP" => "127.0.0.1".to_owned(),
                    other => bail!("{name}: env {} from unsupported field {other}", e.name),
                }
            } else if let Some(r) = &from.secret_key_ref {
                let object = secrets
                    .get(&r.name)
                    .await
                    .with_context(|| format!("{name}: env {} from Secret {}", e.name, r.name))?;
                let bytes = object
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&r.key))
                    .with_context(|| format!("{name}: Secret {} has no key {}", r.name, r.key))?;
                String::from_utf8(bytes.0.clone())
                    .with_context(|| format!("{name}: Secret {} key {}", r.name, r.key))?
            } else if let Some(r) = &from.config_map_key_ref {
                let object = config_maps.get(&r.name).await?;
                object
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&r.key))
                    .cloned()
                    .with_context(|| format!("{name}: ConfigMap {} has no key {}", r.name, r.key))?
            } else {
                bail!("{name}: env {} from an unsupported source", e.name);
            }
        } else {
            String::new()
        };
        env.insert(e.name.clone(), value);
    }
    Ok(env)
}
