//! The StatefulSet of a component: command line, config, secrets, probes, security, disk.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference,
    ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile,
    SecretKeySelector, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::config::{ADMIN_TOKEN_DIR, JWT_SECRET_DIR};
use super::{BuildContext, DEFAULT_IMAGE_REPOSITORY};
use crate::component::{Component, HaMode, uses_mysql};
use crate::crd::PullPolicy;
use crate::keys::annotation;

const DATA_DIR: &str = "/data";
const CONFIG_DIR: &str = "/etc/venus";
const GENESIS_DIR: &str = "/etc/venus/genesis";
/// Where the node-identity Secret is mounted in node pods (`<pod>.key` per node pod).
const NODE_IDENTITY_DIR: &str = "/var/run/secrets/venus/node-identity";

/// The env var holding node pod `i`'s peer ID (from the node-identity Secret).
fn node_peer_env(i: i32) -> String {
    format!("VENUS_NODE_PEER_{i}")
}
/// Non-root user the images run as.
const RUN_AS: i64 = 10001;

pub fn stateful_set(ctx: &BuildContext, component: Component, config: &ConfigMap) -> StatefulSet {
    let valid = ctx.valid.component(component);
    let spec = ctx.spec();
    let retention = &spec.storage.retention;
    let selector = ctx.selector_labels(component);

    let mut annotations = BTreeMap::new();
    annotations.insert(annotation::CONFIG_HASH.to_string(), config_hash(config));

    let pod = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(ctx.labels(Some(component))),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(pod_spec(ctx, component)),
    };

    StatefulSet {
        metadata: ctx.meta(ctx.names.component(component), Some(component)),
        spec: Some(StatefulSetSpec {
            replicas: Some(valid.replicas),
            service_name: Some(ctx.names.headless(component)),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            },
            template: pod,
            update_strategy: Some(update_strategy(component.ha_mode(spec))),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention.when_deleted.as_str().into()),
                    when_scaled: Some(retention.when_scaled.as_str().into()),
                },
            ),
            volume_claim_templates: Some(vec![data_claim(ctx, component)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Load-balanced and single components roll as StatefulSets do. A primary/standby one is
/// `OnDelete`: the operator replaces its pods itself, standbys first, then a switchover from the
/// primary (`reconcile/upgrade.rs`) — the StatefulSet controller would replace the highest
/// ordinal first, whichever pod is the primary.
pub fn update_strategy(mode: HaMode) -> StatefulSetUpdateStrategy {
    StatefulSetUpdateStrategy {
        type_: Some(
            match mode {
                HaMode::PrimaryStandby => "OnDelete",
                HaMode::LoadBalanced | HaMode::Single => "RollingUpdate",
            }
            .into(),
        ),
        ..Default::default()
    }
}

fn config_hash(config: &ConfigMap) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in config.data.iter().flatten() {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

fn data_claim(ctx: &BuildContext, component: Component) -> PersistentVolumeClaim {
    let valid = ctx.valid.component(component);
    let mut requests = BTreeMap::new();
    requests.insert("storage".to_string(), Quantity(valid.storage_size.clone()));
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(ctx.selector_labels(component)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: valid.class.class_name(&ctx.spec().storage),
            resources: Some(VolumeResourceRequirements {
                requests: Some(requests),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn image(ctx: &BuildContext, component: Component) -> (String, Option<String>) {
    let global = &ctx.spec().image;
    let over = component.spec(ctx.spec()).image.clone().unwrap_or_default();
    let repo = over
        .repository
        .or_else(|| global.repository.clone())
        .unwrap_or_else(|| DEFAULT_IMAGE_REPOSITORY.into());
    let tag = over.tag.unwrap_or_else(|| ctx.image_tag());
    let policy = over
        .pull_policy
        .or(global.pull_policy)
        .map(PullPolicy::as_str)
        .map(String::from);
    (
        format!(
            "{}/{}:{tag}",
            repo.trim_end_matches('/'),
            component.binary()
        ),
        policy,
    )
}

pub(super) fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The command line: the originals' flags (the deployment guide's commands). No secret is ever
/// an argument (`ps` and /proc show arguments to every user of the node): tokens and DSNs reach
/// the process as Secret-backed env vars ([`token_env`], `VENUS_MYSQL_DSN`), which the `--mysql-dsn`
/// flag names as `$(VENUS_MYSQL_DSN)` only where the binary has no env of its own.
/// Addresses the config file already carries (listen, auth URL) are not repeated for auth and
/// gateway: the mounted file is their one source. `e2e/tests/operator_pods_run.rs` runs the
/// real binaries with these args.
fn args(ctx: &BuildContext, component: Component) -> Vec<String> {
    let names = &ctx.names;
    let config = format!("--config={CONFIG_DIR}/{}", component.config_file());
    let repo = format!("--repo={DATA_DIR}");
    let mysql = uses_mysql(component.spec(ctx.spec()));
    let mut a: Vec<String> = match component {
        Component::Auth => vec![repo, config, "run".into()],
        // `[API] ListenAddress` and `[Auth] URL` come from the config file.
        Component::Gateway => vec![repo, config, "run".into()],
        Component::Node => {
            let mut a = vec![
                repo,
                "daemon".into(),
                config,
                format!("--network={}", ctx.spec().network.name.as_str()),
                format!("--auth-url={}", names.auth_url()),
            ];
            if let Some(g) = ctx.genesis() {
                a.push(format!("--genesisfile={GENESIS_DIR}/{}", g.key));
            }
            // Each pod's own identity from the Secret, so its peer ID is known in advance; the
            // node pods dial each other through the headless Service (a pod skips itself).
            a.push(format!(
                "--libp2p-key-file={NODE_IDENTITY_DIR}/{}",
                crate::secrets::node_key_key("$(POD_NAME)")
            ));
            let replicas = ctx.valid.component(Component::Node).replicas;
            if replicas >= 2 {
                let peers: Vec<String> = (0..replicas)
                    .map(|i| names.node_swarm_multiaddr(i, &format!("$({})", node_peer_env(i))))
                    .collect();
                a.push(format!("--bootstrap-peers={}", peers.join(",")));
            }
            a
        }
        Component::Messager => vec![
            repo,
            config,
            "run".into(),
            format!("--auth-url={}", names.auth_url()),
            format!("--node-url={}", names.multiaddr(Component::Node)),
            format!("--gateway-url={}", names.multiaddr(Component::Gateway)),
        ],
        Component::Miner => vec![
            repo,
            config,
            "run".into(),
            format!("--listen=/ip4/0.0.0.0/tcp/{}", component.port()),
        ],
    };
    if mysql {
        a.push("--db-type=mysql".into());
        a.push("--mysql-dsn=$(VENUS_MYSQL_DSN)".into());
    }
    a.extend(component.spec(ctx.spec()).extra_args.iter().cloned());
    a
}

/// The env var each binary reads its venus-auth token from (never a flag): the gateway's
/// `--auth-token` env, the node's, and `VENUS_ADMIN_TOKEN` for messager and miner. Each holds
/// the component's own token (its key of the token Secret), so one can be revoked alone.
pub fn token_env(component: Component) -> Option<&'static str> {
    match component {
        Component::Auth => None,
        Component::Gateway => Some("VENUS_GATEWAY_AUTH_TOKEN"),
        Component::Node => Some("VENUS_AUTH_TOKEN"),
        Component::Messager | Component::Miner => Some("VENUS_ADMIN_TOKEN"),
    }
}

fn env(ctx: &BuildContext, component: Component) -> Vec<EnvVar> {
    let mut env = vec![
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_NAMESPACE", "metadata.namespace"),
    ];
    if let Some(name) = token_env(component) {
        env.push(secret_env(
            name,
            &ctx.names.admin_token_secret(),
            crate::secrets::token_key(component),
        ));
    }
    let node_replicas = ctx.valid.component(Component::Node).replicas;
    if component == Component::Node && node_replicas >= 2 {
        let secret = ctx.names.node_identities();
        for i in 0..node_replicas {
            let pod = ctx.names.pod(Component::Node, i);
            env.push(secret_env(
                &node_peer_env(i),
                &secret,
                &crate::secrets::node_peer_key(&pod),
            ));
        }
    }
    if let Some(db) = &component.spec(ctx.spec()).database
        && let Some(dsn) = db
            .dsn_secret
            .as_ref()
            .filter(|_| uses_mysql(component.spec(ctx.spec())))
    {
        env.push(secret_env("VENUS_MYSQL_DSN", &dsn.name, &dsn.key));
    }
    if component.ha_mode(ctx.spec()) == HaMode::PrimaryStandby {
        // The service's own lease loop: contend for this Lease as this pod.
        env.push(EnvVar {
            name: "VENUS_LEASE_NAME".into(),
            value: Some(ctx.names.lease(component)),
            ..Default::default()
        });
        env.push(EnvVar {
            name: "VENUS_LEASE_NAMESPACE".into(),
            value: Some("$(POD_NAMESPACE)".into()),
            ..Default::default()
        });
        // The pod's name and UID: a recreated pod (same name) is a new contender, never taken
        // for the holder it replaces — that one may still run on a lost node.
        env.push(field_env("POD_UID", "metadata.uid"));
        env.push(EnvVar {
            name: "VENUS_LEASE_IDENTITY".into(),
            value: Some(format!(
                "$(POD_NAME){}$(POD_UID)",
                crate::keys::LEASE_IDENTITY_SEPARATOR
            )),
            ..Default::default()
        });
    }
    env.extend(component.spec(ctx.spec()).extra_env.iter().cloned());
    env
}

pub(super) fn probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("api".into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn volumes(ctx: &BuildContext, component: Component) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = vec![
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: ctx.names.component(component),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
    ];
    let mount = |name: &str, path: &str| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(name != "data" && name != "tmp"),
        ..Default::default()
    };
    let mut mounts = vec![
        mount("data", DATA_DIR),
        mount("config", CONFIG_DIR),
        mount("tmp", "/tmp"),
    ];
    // Mode 0400 owned by root: the kubelet adds group read for the pod's fsGroup (see
    // pod_spec), which is how the non-root services read them.
    let secret_volume = |name: &str, secret: String| Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    };
    if component == Component::Node {
        volumes.push(secret_volume("node-identity", ctx.names.node_identities()));
        mounts.push(mount("node-identity", NODE_IDENTITY_DIR));
    }
    if component == Component::Auth {
        volumes.push(secret_volume("jwt", ctx.names.jwt_secret()));
        mounts.push(mount("jwt", JWT_SECRET_DIR));
        volumes.push(secret_volume("admin-token", ctx.names.admin_token_secret()));
        mounts.push(mount("admin-token", ADMIN_TOKEN_DIR));
    }
    if component == Component::Node
        && let Some(g) = ctx.genesis()
    {
        volumes.push(Volume {
            name: "genesis".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: g.config_map.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(mount("genesis", GENESIS_DIR));
    }
    (volumes, mounts)
}

/// Every container: no privilege escalation, read-only root, non-root, no capabilities.
pub(super) fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every pod: user 10001, the runtime's seccomp profile.
pub(super) fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        // Also makes the 0400 Secret files group-readable by this user (kubelet ORs 0440
        // into Secret volume files of a pod with an fsGroup).
        fs_group: Some(RUN_AS),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread replicas over hosts unless the user placed them explicitly.
fn default_affinity(ctx: &BuildContext, component: Component) -> Option<Affinity> {
    if ctx.valid.component(component).replicas < 2 {
        return None;
    }
    Some(Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(ctx.selector_labels(component)),
                            ..Default::default()
                        }),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn container_ports(component: Component) -> Vec<ContainerPort> {
    let port = |name: &str, number: i32| ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mut ports = vec![port("api", component.port())];
    if component == Component::Node {
        ports.push(port("swarm", super::NODE_SWARM_PORT));
    }
    ports
}

/// `/readyz`, except for a devnet's node: "synced" there means "within a few epochs of the
/// wall clock", which its own miner — started only once the node is ready, and reaching it
/// only through the ready endpoints — must first make true. Its node is ready once it serves.
pub(super) fn readiness_path(ctx: &BuildContext, component: Component) -> &'static str {
    if component == Component::Node && ctx.spec().network.devnet.is_some() {
        "/livez"
    } else {
        "/readyz"
    }
}

fn pod_spec(ctx: &BuildContext, component: Component) -> PodSpec {
    let cs = component.spec(ctx.spec());
    let (image, pull_policy) = image(ctx, component);
    let (volumes, mounts) = volumes(ctx, component);
    let primary_standby = component.ha_mode(ctx.spec()) == HaMode::PrimaryStandby;
    // The node imports and syncs before its API is up: give it up to an hour to start.
    let startup_failures = if component == Component::Node {
        360
    } else {
        60
    };
    let container = Container {
        name: component.name().into(),
        image: Some(image),
        image_pull_policy: pull_policy,
        command: Some(vec![component.binary().into()]),
        args: Some(args(ctx, component)),
        env: Some(env(ctx, component)),
        ports: Some(container_ports(component)),
        resources: Some(ctx.valid.component(component).resources.clone()),
        startup_probe: Some(probe("/livez", 10, startup_failures)),
        liveness_probe: Some(probe("/livez", 10, 6)),
        // The node's /readyz means "synced": a syncing node gets no traffic.
        readiness_probe: Some(probe(readiness_path(ctx, component), 5, 3)),
        volume_mounts: Some(mounts),
        security_context: Some(container_security_context()),
        ..Default::default()
    };
    let pull_secrets: Vec<_> = ctx
        .spec()
        .image
        .pull_secrets
        .iter()
        .map(|name| LocalObjectReference { name: name.clone() })
        .collect();
    PodSpec {
        containers: vec![container],
        volumes: Some(volumes),
        service_account_name: Some(ctx.names.service_account()),
        // Only the Lease holders talk to the API server.
        automount_service_account_token: Some(primary_standby),
        image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
        security_context: Some(pod_security_context()),
        termination_grace_period_seconds: Some(60),
        node_selector: (!cs.scheduling.node_selector.is_empty())
            .then(|| cs.scheduling.node_selector.clone()),
        affinity: cs
            .scheduling
            .affinity
            .clone()
            .or_else(|| default_affinity(ctx, component)),
        tolerations: (!cs.scheduling.tolerations.is_empty())
            .then(|| cs.scheduling.tolerations.clone()),
        topology_spread_constraints: (!cs.scheduling.topology_spread_constraints.is_empty())
            .then(|| cs.scheduling.topology_spread_constraints.clone()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{chain_service, context_for};

    #[test]
    fn primary_standby_components_are_replaced_by_the_operator_the_others_roll() {
        context_for(&chain_service(), |ctx| {
            for c in Component::ALL {
                let config = super::super::config::config_map(ctx, c);
                let strategy = stateful_set(ctx, c, &config)
                    .spec
                    .and_then(|s| s.update_strategy)
                    .and_then(|u| u.type_)
                    .unwrap_or_default();
                let expected = match c {
                    Component::Messager | Component::Miner => "OnDelete",
                    _ => "RollingUpdate",
                };
                assert_eq!(strategy, expected, "{c}");
            }
        });
    }

    #[test]
    fn image_defaults_and_per_component_override() {
        let mut cs = chain_service();
        cs.spec.image.repository = Some("registry.example/venus/".into());
        cs.spec.miner.image = Some(crate::crd::ImageOverride {
            tag: Some("1.2.3".into()),
            ..Default::default()
        });
        context_for(&cs, |ctx| {
            let (node, _) = image(ctx, Component::Node);
            assert_eq!(
                node,
                format!("registry.example/venus/venus:{}", env!("CARGO_PKG_VERSION"))
            );
            let (miner, _) = image(ctx, Component::Miner);
            assert_eq!(miner, "registry.example/venus/venus-miner:1.2.3");
        });
    }

    #[test]
    fn secrets_reach_the_pod_only_through_secret_refs() {
        let mut cs = chain_service();
        cs.spec.messager.replicas = Some(2);
        cs.spec.messager.database = Some(crate::crd::DatabaseSpec {
            kind: crate::crd::DatabaseKind::Mysql,
            dsn_secret: Some(crate::crd::SecretKeyRef {
                name: "db".into(),
                key: "dsn".into(),
            }),
        });
        context_for(&cs, |ctx| {
            let env = env(ctx, Component::Messager);
            let dsn = env
                .iter()
                .find(|e| e.name == "VENUS_MYSQL_DSN")
                .expect("dsn env");
            assert!(dsn.value.is_none());
            let r = dsn
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                .expect("secret ref");
            assert_eq!((r.name.as_str(), r.key.as_str()), ("db", "dsn"));
            let args = args(ctx, Component::Messager);
            assert!(args.contains(&"--mysql-dsn=$(VENUS_MYSQL_DSN)".to_string()));
            assert!(
                !args.iter().any(|a| a.contains("token")),
                "a token on the command line: {args:?}"
            );
            assert!(
                env.iter()
                    .any(|e| e.name == "VENUS_LEASE_NAME"
                        && e.value.as_deref() == Some("cs-messager"))
            );
        });
    }

    #[test]
    fn tokens_reach_each_component_by_env_from_the_secret_never_by_argument() {
        context_for(&chain_service(), |ctx| {
            for c in Component::ALL {
                let args = args(ctx, c);
                assert!(
                    !args.iter().any(|a| a.to_lowercase().contains("token")),
                    "{c}: {args:?}"
                );
                let env = env(ctx, c);
                let Some(name) = token_env(c) else {
                    assert!(!env.iter().any(|e| e.name.contains("TOKEN")), "{c}");
                    continue;
                };
                let r = env
                    .iter()
                    .find(|e| e.name == name)
                    .and_then(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
                    .unwrap_or_else(|| panic!("{c}: no secret-backed {name}"));
                // Its own key: one component's token can be revoked without the others'.
                assert_eq!(
                    (r.name.as_str(), r.key.as_str()),
                    ("cs-admin-token", c.name())
                );
            }
        });
    }

    #[test]
    fn node_replicas_get_their_own_identity_and_bootstrap_to_each_other() {
        let mut cs = chain_service();
        context_for(&cs, |ctx| {
            // One node: its identity from the Secret, nobody to dial.
            let args = args(ctx, Component::Node);
            assert!(args.contains(
                &"--libp2p-key-file=/var/run/secrets/venus/node-identity/$(POD_NAME).key".into()
            ));
            assert!(!args.iter().any(|a| a.starts_with("--bootstrap-peers")));
        });
        cs.spec.node.replicas = Some(3);
        context_for(&cs, |ctx| {
            let args = args(ctx, Component::Node);
            let peers = args
                .iter()
                .find_map(|a| a.strip_prefix("--bootstrap-peers="))
                .expect("bootstrap peers");
            let list: Vec<&str> = peers.split(',').collect();
            assert_eq!(
                list,
                (0..3)
                    .map(|i| format!(
                        "/dns4/cs-node-{i}.cs-node-headless.ns.svc/tcp/1347/p2p/$(VENUS_NODE_PEER_{i})"
                    ))
                    .collect::<Vec<_>>()
            );
            // Each peer ID from its key of the identity Secret, never a literal.
            let node_env = env(ctx, Component::Node);
            for i in 0..3 {
                let r = node_env
                    .iter()
                    .find(|e| e.name == format!("VENUS_NODE_PEER_{i}"))
                    .and_then(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
                    .expect("secret-backed peer ID");
                assert_eq!(r.name, "cs-node-identities");
                assert_eq!(r.key, format!("cs-node-{i}.id"));
            }
            let (vols, mounts) = volumes(ctx, Component::Node);
            let v = vols
                .iter()
                .find(|v| v.name == "node-identity")
                .expect("volume");
            let s = v.secret.as_ref().expect("secret volume");
            assert_eq!(s.secret_name.as_deref(), Some("cs-node-identities"));
            assert_eq!(s.default_mode, Some(0o400));
            let m = mounts
                .iter()
                .find(|m| m.name == "node-identity")
                .expect("mount");
            assert_eq!(m.read_only, Some(true));
            let ports = container_ports(Component::Node);
            assert_eq!(ports[1].name.as_deref(), Some("swarm"));
            assert_eq!(ports[1].container_port, 1347);
            // Other components neither dial nor mount it.
            assert!(
                !env(ctx, Component::Messager)
                    .iter()
                    .any(|e| e.name.starts_with("VENUS_NODE_PEER"))
            );
        });
    }

    #[test]
    fn auth_mounts_both_secrets_read_only_and_readable_through_fs_group() {
        context_for(&chain_service(), |ctx| {
            let (vols, mounts) = volumes(ctx, Component::Auth);
            for (name, secret, dir) in [
                ("jwt", "cs-auth-jwt", JWT_SECRET_DIR),
                ("admin-token", "cs-admin-token", ADMIN_TOKEN_DIR),
            ] {
                let v = vols.iter().find(|v| v.name == name).expect(name);
                let s = v.secret.as_ref().expect("secret volume");
                assert_eq!(s.secret_name.as_deref(), Some(secret));
                assert_eq!(s.default_mode, Some(0o400));
                let m = mounts.iter().find(|m| m.name == name).expect(name);
                assert_eq!((m.mount_path.as_str(), m.read_only), (dir, Some(true)));
            }
            // Without an fsGroup equal to the user, the 0400 root-owned files are unreadable.
            let sc = pod_spec(ctx, Component::Auth)
                .security_context
                .expect("pod security context");
            assert_eq!(sc.fs_group, sc.run_as_user);
            // Other components get no secret volume.
            let (gw, _) = volumes(ctx, Component::Gateway);
            assert!(gw.iter().all(|v| v.secret.is_none()));
        });
    }
}
