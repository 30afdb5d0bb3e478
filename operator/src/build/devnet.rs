//! `spec.network.devnet`: the objects of a devnet the operator makes itself.
//!
//! - The genesis **Job** (`<cs>-devnet-genesis`, the venus image) runs `venus seed devnet`:
//!   it pre-seals the miners, builds the genesis and creates the ConfigMap `<cs>-devnet-genesis`
//!   (the CAR) and the Secret `<cs>-devnet-keys` (the miners' `pre-seal-<miner>.key`/`.json`)
//!   through the API, with its own ServiceAccount whose Role may only create ConfigMaps and
//!   Secrets and read those two by name. The pod is the only place the keys exist, so it
//!   publishes them itself; the operator never sees them. The program refuses to overwrite,
//!   and the operator stops applying the Job once both objects exist.
//! - The devnet's **wallet** (`venus-wallet`, the miners' worker keys) and **prover** (the
//!   pre-sealed sectors' metadata) as Deployments, each registered with every gateway pod
//!   with a token of its own venus-auth user (`devnet-wallet`; `devnet`, which owns the
//!   miners). Their init container `venus seed devnet-register` adds the users, miners,
//!   signers and tokens at venus-auth (idempotent), so venus-miner mines the miners.
//!
//! All of it carries `venus.filecoin.io/devnet: "true"` and is owned by the ChainService.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, KeyToPath, LocalObjectReference,
    PodSpec, PodTemplateSpec, SecretVolumeSource, ServiceAccount, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::workload::{
    container_security_context, field_env, pod_security_context, probe, secret_env,
};
use super::{BuildContext, DEFAULT_IMAGE_REPOSITORY, Desired};
use crate::component::Component;
use crate::crd::{DevnetSpec, PullPolicy};
use crate::keys::label;

/// Key of the genesis CAR in `<cs>-devnet-genesis` (what `venus seed devnet` writes).
pub const GENESIS_KEY: &str = "genesis.car";
/// Keys of `<cs>-devnet-tokens`.
pub const WALLET_TOKEN_KEY: &str = "wallet-token";
pub const PROVER_TOKEN_KEY: &str = "prover-token";
pub const WALLET_PASSWORD_KEY: &str = "wallet-password";
/// venus-auth user that owns the devnet's miners and their workers; the prover's user.
pub const MINERS_USER: &str = "devnet";
/// venus-auth user of the devnet wallet (it signs for [`MINERS_USER`]'s account).
pub const WALLET_USER: &str = "devnet-wallet";

/// Where the devnet Secret is mounted in the wallet and prover pods.
const KEYS_DIR: &str = "/var/run/secrets/venus/devnet";
const WALLET_PORT: i32 = 5678;

/// The miners `venus seed devnet` makes: t01000, t01001, …
pub fn miner_ids(devnet: &DevnetSpec) -> Vec<String> {
    (0..devnet.miners.max(1))
        .map(|i| format!("t0{}", 1000 + i))
        .collect()
}

fn devnet_labels(ctx: &BuildContext, part: &str, binary: &str) -> BTreeMap<String, String> {
    let mut labels = ctx.labels(None);
    labels.extend(selector(ctx, part, binary));
    labels.insert(label::DEVNET.into(), "true".into());
    labels
}

fn selector(ctx: &BuildContext, part: &str, binary: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (label::NAME.to_string(), binary.to_string()),
        (label::INSTANCE.to_string(), ctx.names.instance.clone()),
        (label::COMPONENT.to_string(), format!("devnet-{part}")),
    ])
}

fn meta(ctx: &BuildContext, name: String, part: &str, binary: &str) -> ObjectMeta {
    ObjectMeta {
        labels: Some(devnet_labels(ctx, part, binary)),
        ..ctx.meta(name, None)
    }
}

/// `<repository>/<binary>:<tag>` from `spec.image` (the node's override for the venus image).
fn image(ctx: &BuildContext, binary: &str) -> (String, Option<String>) {
    let global = &ctx.spec().image;
    let over = if binary == Component::Node.binary() {
        ctx.spec().node.image.clone().unwrap_or_default()
    } else {
        Default::default()
    };
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
        format!("{}/{binary}:{tag}", repo.trim_end_matches('/')),
        policy,
    )
}

/// The devnet's pods are placed as the node's are (`spec.node.scheduling`'s node selector and
/// tolerations; its affinity and spread constraints select the node's own pods, so they stay
/// the node's).
fn placement(ctx: &BuildContext) -> (Option<BTreeMap<String, String>>, Option<Vec<Toleration>>) {
    let s = &ctx.spec().node.scheduling;
    (
        (!s.node_selector.is_empty()).then(|| s.node_selector.clone()),
        (!s.tolerations.is_empty()).then(|| s.tolerations.clone()),
    )
}

fn pull_secrets(ctx: &BuildContext) -> Option<Vec<LocalObjectReference>> {
    let s: Vec<_> = ctx
        .spec()
        .image
        .pull_secrets
        .iter()
        .map(|name| LocalObjectReference { name: name.clone() })
        .collect();
    (!s.is_empty()).then_some(s)
}

fn tmp_volume() -> (Volume, VolumeMount) {
    (
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        },
    )
}

/// The devnet Secret, limited to the files `ext` (`json`, `key`) of every miner.
fn keys_volume(ctx: &BuildContext, devnet: &DevnetSpec, exts: &[&str]) -> (Volume, VolumeMount) {
    let items = miner_ids(devnet)
        .iter()
        .flat_map(|m| {
            exts.iter().map(move |ext| {
                let file = format!("pre-seal-{m}.{ext}");
                KeyToPath {
                    key: file.clone(),
                    path: file,
                    ..Default::default()
                }
            })
        })
        .collect();
    (
        Volume {
            name: "devnet-keys".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.names.devnet_keys()),
                items: Some(items),
                default_mode: Some(0o400),
                ..Default::default()
            }),
            ..Default::default()
        },
        VolumeMount {
            name: "devnet-keys".into(),
            mount_path: KEYS_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
    )
}

/// The genesis Job's ServiceAccount, Role and RoleBinding, then the wallet and prover.
pub fn objects(ctx: &BuildContext) -> Vec<Desired> {
    let Some(devnet) = &ctx.spec().network.devnet else {
        return Vec::new();
    };
    let name = ctx.names.devnet_job();
    let m = || meta(ctx, name.clone(), "genesis", Component::Node.binary());
    // Create cannot be limited by name (the object does not exist yet); reading is limited to
    // the two objects the Job checks before it makes anything. No update, patch or delete:
    // the Job cannot replace a devnet, even by mistake.
    let rule = |resource: &str, verbs: &[&str], names: Option<Vec<String>>| PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec![resource.into()]),
        resource_names: names,
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    };
    vec![
        Desired::new(ServiceAccount {
            metadata: m(),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        Desired::new(Role {
            metadata: m(),
            rules: Some(vec![
                rule("configmaps", &["create"], None),
                rule(
                    "configmaps",
                    &["get"],
                    Some(vec![ctx.names.devnet_genesis()]),
                ),
                rule("secrets", &["create"], None),
                rule("secrets", &["get"], Some(vec![ctx.names.devnet_keys()])),
            ]),
        }),
        Desired::new(RoleBinding {
            metadata: m(),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: name.clone(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: name.clone(),
                namespace: Some(ctx.names.namespace.clone()),
                ..Default::default()
            }]),
        }),
        Desired::new(wallet(ctx, devnet)),
        Desired::new(prover(ctx, devnet)),
    ]
}

/// The genesis Job (`venus seed devnet`).
pub fn genesis_job(ctx: &BuildContext) -> Option<Job> {
    let devnet = ctx.spec().network.devnet.as_ref()?;
    let (image, pull_policy) = image(ctx, Component::Node.binary());
    let (tmp, tmp_mount) = tmp_volume();
    let mut args = vec![
        "seed".into(),
        "devnet".into(),
        format!("--miners={}", devnet.miners),
        format!("--sector-size={}", devnet.sector_size),
        format!("--config-map={}", ctx.names.devnet_genesis()),
        format!("--secret={}", ctx.names.devnet_keys()),
        "--work-dir=/tmp".into(),
    ];
    if let Some(uid) = &ctx.cs.metadata.uid {
        args.push(format!("--owner-name={}", ctx.names.instance));
        args.push(format!("--owner-uid={uid}"));
    }
    let labels = devnet_labels(ctx, "genesis", Component::Node.binary());
    let (node_selector, tolerations) = placement(ctx);
    Some(Job {
        metadata: meta(
            ctx,
            ctx.names.devnet_job(),
            "genesis",
            Component::Node.binary(),
        ),
        spec: Some(JobSpec {
            backoff_limit: Some(3),
            // A finished Job goes after a day; the operator does not re-create it once the
            // devnet's ConfigMap and Secret exist.
            ttl_seconds_after_finished: Some(86_400),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    service_account_name: Some(ctx.names.devnet_job()),
                    automount_service_account_token: Some(true),
                    containers: vec![Container {
                        name: "genesis".into(),
                        image: Some(image),
                        image_pull_policy: pull_policy,
                        command: Some(vec![Component::Node.binary().into()]),
                        args: Some(args),
                        env: Some(vec![field_env("POD_NAMESPACE", "metadata.namespace")]),
                        volume_mounts: Some(vec![tmp_mount]),
                        security_context: Some(container_security_context()),
                        ..Default::default()
                    }],
                    volumes: Some(vec![tmp]),
                    image_pull_secrets: pull_secrets(ctx),
                    security_context: Some(pod_security_context()),
                    node_selector,
                    tolerations,
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn token_env(ctx: &BuildContext, name: &str, key: &str) -> EnvVar {
    secret_env(name, &ctx.names.devnet_tokens(), key)
}

/// `venus seed devnet-register` before the wallet or prover starts: users, miners, signers,
/// and both tokens at venus-auth (idempotent; waits for venus-auth).
fn register_container(ctx: &BuildContext, devnet: &DevnetSpec) -> Container {
    let (image, pull_policy) = image(ctx, Component::Node.binary());
    let (_, keys_mount) = keys_volume(ctx, devnet, &["json"]);
    Container {
        name: "register".into(),
        image: Some(image),
        image_pull_policy: pull_policy,
        command: Some(vec![Component::Node.binary().into()]),
        args: Some(vec![
            "seed".into(),
            "devnet-register".into(),
            format!("--auth-url={}", ctx.names.auth_url()),
            format!("--keys-dir={KEYS_DIR}"),
            format!("--user={MINERS_USER}"),
        ]),
        env: Some(vec![
            // An admin token of the chain service: the miner's, the component that mines them.
            secret_env(
                "VENUS_ADMIN_TOKEN",
                &ctx.names.admin_token_secret(),
                crate::secrets::token_key(Component::Miner),
            ),
            token_env(ctx, "VENUS_WALLET_GATEWAY_TOKEN", WALLET_TOKEN_KEY),
            token_env(ctx, "VENUS_PROVER_GATEWAY_TOKEN", PROVER_TOKEN_KEY),
        ]),
        volume_mounts: Some(vec![keys_mount]),
        security_context: Some(container_security_context()),
        ..Default::default()
    }
}

fn gateways(ctx: &BuildContext) -> String {
    let replicas = ctx.valid.component(Component::Gateway).replicas;
    ctx.names
        .pod_multiaddrs(Component::Gateway, replicas)
        .join(",")
}

fn deployment(
    ctx: &BuildContext,
    part: &str,
    binary: &str,
    init: Container,
    main: Container,
    volumes: Vec<Volume>,
) -> Deployment {
    let (node_selector, tolerations) = placement(ctx);
    Deployment {
        metadata: meta(ctx, ctx.names.devnet_part(part), part, binary),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(selector(ctx, part, binary)),
                ..Default::default()
            },
            // One holder of the keys at a time.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(devnet_labels(ctx, part, binary)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    init_containers: Some(vec![init]),
                    containers: vec![main],
                    volumes: Some(volumes),
                    automount_service_account_token: Some(false),
                    image_pull_secrets: pull_secrets(ctx),
                    security_context: Some(pod_security_context()),
                    node_selector,
                    tolerations,
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// venus-wallet with the miners' worker keys (imported from the Secret at each start into
/// an emptyDir keystore), registered with every gateway pod as `devnet-wallet`, signing for
/// the miners' account.
fn wallet(ctx: &BuildContext, devnet: &DevnetSpec) -> Deployment {
    let binary = "venus-wallet";
    let (image, pull_policy) = image(ctx, binary);
    let (keys, keys_mount) = keys_volume(ctx, devnet, &["json", "key"]);
    let (tmp, tmp_mount) = tmp_volume();
    let key_files: Vec<String> = miner_ids(devnet)
        .iter()
        .map(|m| format!("{KEYS_DIR}/pre-seal-{m}.key"))
        .collect();
    let data = Volume {
        name: "data".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    };
    let data_mount = VolumeMount {
        name: "data".into(),
        mount_path: "/data".into(),
        ..Default::default()
    };
    let main = Container {
        name: "wallet".into(),
        image: Some(image),
        image_pull_policy: pull_policy,
        command: Some(vec![binary.into()]),
        args: Some(vec![
            "--repo=/data".into(),
            "run".into(),
            format!("--listen=/ip4/0.0.0.0/tcp/{WALLET_PORT}"),
            format!("--gateway-api={}", gateways(ctx)),
            format!("--support-accounts={MINERS_USER}"),
            format!("--import-key={}", key_files.join(",")),
        ]),
        env: Some(vec![
            token_env(ctx, "VENUS_WALLET_GATEWAY_TOKEN", WALLET_TOKEN_KEY),
            token_env(ctx, "VENUS_WALLET_PASSWORD", WALLET_PASSWORD_KEY),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("api".into()),
            container_port: WALLET_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        liveness_probe: Some(probe("/livez", 10, 6)),
        readiness_probe: Some(probe("/readyz", 5, 3)),
        volume_mounts: Some(vec![keys_mount, data_mount, tmp_mount]),
        security_context: Some(container_security_context()),
        ..Default::default()
    };
    deployment(
        ctx,
        "wallet",
        binary,
        register_container(ctx, devnet),
        main,
        vec![keys, data, tmp],
    )
}

/// The devnet prover with the miners' pre-seal metadata (not their keys), registered with
/// every gateway pod as `devnet`, the miners' user.
fn prover(ctx: &BuildContext, devnet: &DevnetSpec) -> Deployment {
    let binary = "venus-prover";
    let (image, pull_policy) = image(ctx, binary);
    let (keys, keys_mount) = keys_volume(ctx, devnet, &["json"]);
    let (tmp, tmp_mount) = tmp_volume();
    let main = Container {
        name: "prover".into(),
        image: Some(image),
        image_pull_policy: pull_policy,
        command: Some(vec![binary.into()]),
        args: Some(vec![
            "run".into(),
            format!("--gateway-url={}", gateways(ctx)),
            format!("--sector-store={KEYS_DIR}"),
        ]),
        env: Some(vec![token_env(
            ctx,
            "VENUS_PROVER_GATEWAY_TOKEN",
            PROVER_TOKEN_KEY,
        )]),
        volume_mounts: Some(vec![keys_mount, tmp_mount]),
        security_context: Some(container_security_context()),
        ..Default::default()
    };
    deployment(
        ctx,
        "prover",
        binary,
        register_container(ctx, devnet),
        main,
        vec![keys, tmp],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{chain_service, context_for};
    use crate::crd::{ChainService, NetworkName};

    fn devnet_cs(miners: i32) -> ChainService {
        let mut cs = chain_service();
        cs.spec.network.name = NetworkName::TwoK;
        cs.spec.node.scheduling.tolerations = vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        }];
        cs.spec.node.scheduling.node_selector = BTreeMap::from([("pool".into(), "chain".into())]);
        cs.spec.network.devnet = Some(DevnetSpec {
            miners,
            ..Default::default()
        });
        cs
    }

    fn args_of(c: &Container) -> Vec<String> {
        c.args.clone().unwrap_or_default()
    }

    #[test]
    fn a_devnets_node_is_ready_once_it_serves_others_once_synced() {
        use crate::build::workload::readiness_path;
        context_for(&devnet_cs(1), |ctx| {
            assert_eq!(readiness_path(ctx, Component::Node), "/livez");
            assert_eq!(readiness_path(ctx, Component::Miner), "/readyz");
        });
        context_for(&chain_service(), |ctx| {
            assert_eq!(readiness_path(ctx, Component::Node), "/readyz");
        });
    }

    #[test]
    fn no_devnet_objects_without_spec_network_devnet() {
        context_for(&chain_service(), |ctx| {
            assert!(objects(ctx).is_empty());
            assert!(genesis_job(ctx).is_none());
            assert!(ctx.genesis().is_none());
        });
    }

    #[test]
    fn the_job_makes_the_genesis_with_its_own_narrow_service_account() {
        context_for(&devnet_cs(2), |ctx| {
            let job = genesis_job(ctx).expect("job");
            assert_eq!(job.metadata.name.as_deref(), Some("cs-devnet-genesis"));
            let labels = job.metadata.labels.as_ref().expect("labels");
            assert_eq!(labels[label::DEVNET], "true");
            let pod = job
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .expect("pod");
            assert_eq!(
                pod.service_account_name.as_deref(),
                Some("cs-devnet-genesis")
            );
            assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
            let c = &pod.containers[0];
            assert!(
                c.image
                    .as_deref()
                    .is_some_and(|i| i.starts_with("docker.io/venusrs/venus:"))
            );
            let a = args_of(c);
            for want in [
                "seed",
                "devnet",
                "--miners=2",
                "--sector-size=2KiB",
                "--config-map=cs-devnet-genesis",
                "--secret=cs-devnet-keys",
                "--owner-name=cs",
                "--owner-uid=00000000-0000-0000-0000-000000000001",
            ] {
                assert!(a.contains(&want.to_string()), "{want} in {a:?}");
            }
            // The Role may create, and read only the two objects by name; never update.
            let objs = objects(ctx);
            let role = objs
                .iter()
                .find(|d| d.resource.kind == "Role")
                .expect("role");
            let rules = role.object["rules"].as_array().expect("rules");
            for r in rules {
                let verbs: Vec<_> = r["verbs"].as_array().expect("verbs").iter().collect();
                assert!(verbs.iter().all(|v| *v == "create" || *v == "get"), "{r}");
                if verbs.iter().any(|v| *v == "get") {
                    assert!(r["resourceNames"].is_array(), "get is limited by name: {r}");
                }
            }
            // The node starts from the generated ConfigMap.
            let g = ctx.genesis().expect("genesis");
            assert_eq!(
                (g.config_map.as_str(), g.key.as_str()),
                ("cs-devnet-genesis", "genesis.car")
            );
        });
    }

    #[test]
    fn wallet_and_prover_hold_the_keys_and_sectors_with_their_own_tokens() {
        context_for(&devnet_cs(2), |ctx| {
            let devnet = ctx.spec().network.devnet.clone().expect("devnet");
            let w = wallet(ctx, &devnet);
            let pod = w
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .expect("pod");
            let main = &pod.containers[0];
            let a = args_of(main);
            assert!(
                a.contains(&"--support-accounts=devnet".to_string()),
                "{a:?}"
            );
            assert!(a.contains(
                &"--import-key=/var/run/secrets/venus/devnet/pre-seal-t01000.key,/var/run/secrets/venus/devnet/pre-seal-t01001.key".to_string()
            ), "{a:?}");
            assert!(
                a.contains(
                    &"--gateway-api=/dns/cs-gateway-0.cs-gateway-headless.ns.svc/tcp/45132"
                        .to_string()
                ),
                "{a:?}"
            );
            // No token or password on a command line.
            assert!(
                a.iter()
                    .all(|x| !x.contains("token=") && !x.contains("password")),
                "{a:?}"
            );
            let env: Vec<_> = main
                .env
                .iter()
                .flatten()
                .map(|e| {
                    (
                        e.name.as_str(),
                        e.value_from
                            .as_ref()
                            .and_then(|v| v.secret_key_ref.as_ref())
                            .map(|r| (r.name.as_str(), r.key.as_str())),
                    )
                })
                .collect();
            assert!(
                env.contains(&(
                    "VENUS_WALLET_GATEWAY_TOKEN",
                    Some(("cs-devnet-tokens", WALLET_TOKEN_KEY))
                )),
                "{env:?}"
            );
            assert!(
                env.contains(&(
                    "VENUS_WALLET_PASSWORD",
                    Some(("cs-devnet-tokens", WALLET_PASSWORD_KEY))
                )),
                "{env:?}"
            );
            let init = &pod.init_containers.as_ref().expect("init")[0];
            assert_eq!(&args_of(init)[..2], ["seed", "devnet-register"]);

            let p = prover(ctx, &devnet);
            let pod = p
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .expect("pod");
            let a = args_of(&pod.containers[0]);
            assert!(
                a.contains(&"--sector-store=/var/run/secrets/venus/devnet".to_string()),
                "{a:?}"
            );
            // The prover gets the pre-seal metadata, not the keys.
            let vol = pod
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == "devnet-keys")
                .expect("keys volume");
            let items: Vec<_> = vol
                .secret
                .as_ref()
                .and_then(|s| s.items.as_ref())
                .expect("items")
                .iter()
                .map(|i| i.key.as_str())
                .collect();
            assert_eq!(items, ["pre-seal-t01000.json", "pre-seal-t01001.json"]);
            // Placed as the node is.
            let toleration = |pod: &PodSpec| {
                pod.tolerations
                    .as_ref()
                    .map(|t| t[0].key.clone())
                    .unwrap_or_default()
            };
            assert_eq!(toleration(pod), Some("dedicated".to_string()));
            assert_eq!(
                pod.node_selector.as_ref().map(|n| n["pool"].as_str()),
                Some("chain")
            );
            let job = genesis_job(ctx).expect("job");
            let job_pod = job
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .expect("job pod");
            assert_eq!(toleration(job_pod), Some("dedicated".to_string()));
            for d in [&w.metadata, &p.metadata] {
                assert_eq!(d.labels.as_ref().expect("labels")[label::DEVNET], "true");
                assert_eq!(
                    d.owner_references.as_ref().expect("owner")[0].uid,
                    "00000000-0000-0000-0000-000000000001"
                );
            }
        });
    }
}
