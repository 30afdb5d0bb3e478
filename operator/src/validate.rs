//! `validate`: what the CRD schema's CEL rules cannot check, plus a second look at what they
//! can (a ChainService may predate a CRD upgrade). The result is the resolved per-component
//! settings `build` needs, so `build` never has to fail.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ResourceRequirements;

use crate::build::Names;
use crate::component::{Component, uses_mysql};
use crate::crd::{ChainServiceSpec, DatabaseKind, NetworkName};
use crate::profile;
use crate::quantity;
use crate::storage::{self, ClassChoice};

/// A spec the operator refuses, with every problem found (each names its field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid spec: {}", .problems.join("; "))]
pub struct InvalidSpec {
    pub problems: Vec<String>,
}

/// Resolved settings of one component.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidComponent {
    pub replicas: i32,
    pub resources: ResourceRequirements,
    pub storage_size: String,
    pub class: ClassChoice,
}

/// A spec that passed validation, with defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated {
    pub components: BTreeMap<Component, ValidComponent>,
}

impl Validated {
    pub fn component(&self, c: Component) -> &ValidComponent {
        // Validation inserts every component or fails; a missing one is a bug.
        &self.components[&c]
    }
}

/// Facts read from the cluster in `dereference` that validation checks against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Referenced {
    /// Problems with referenced objects (missing Secret key, ConfigMap, StorageClass).
    pub problems: Vec<String>,
}

/// Objects a spec refers to, by name, in the ChainService's namespace (StorageClasses are
/// cluster-scoped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferencedNames {
    pub secrets: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
    pub storage_classes: BTreeSet<String>,
}

/// What `fetch` found for [`ReferencedNames`]: the keys of each Secret/ConfigMap (`None`: not
/// found), whether each StorageClass exists. Keys only: no value is ever read into here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookups {
    pub secrets: BTreeMap<String, Option<BTreeSet<String>>>,
    pub config_maps: BTreeMap<String, Option<BTreeSet<String>>>,
    pub storage_classes: BTreeMap<String, bool>,
}

/// A required `(kind, name, key, field)` reference of the spec.
struct KeyRef<'a> {
    secret: bool,
    name: &'a str,
    key: &'a str,
    field: String,
}

fn key_refs(spec: &ChainServiceSpec) -> Vec<KeyRef<'_>> {
    let mut refs = Vec::new();
    for c in Component::ALL {
        let cs = c.spec(spec);
        if let Some(r) = cs.database.as_ref().and_then(|db| db.dsn_secret.as_ref()) {
            refs.push(KeyRef {
                secret: true,
                name: &r.name,
                key: &r.key,
                field: format!("spec.{c}.database.dsnSecret"),
            });
        }
        for (i, e) in cs.extra_env.iter().enumerate() {
            let Some(from) = &e.value_from else { continue };
            let field = format!("spec.{c}.extraEnv[{i}] ({})", e.name);
            if let Some(r) = &from.secret_key_ref
                && r.optional != Some(true)
            {
                refs.push(KeyRef {
                    secret: true,
                    name: &r.name,
                    key: &r.key,
                    field: field.clone(),
                });
            }
            if let Some(r) = &from.config_map_key_ref
                && r.optional != Some(true)
            {
                refs.push(KeyRef {
                    secret: false,
                    name: &r.name,
                    key: &r.key,
                    field,
                });
            }
        }
    }
    if let Some(g) = &spec.network.genesis {
        refs.push(KeyRef {
            secret: false,
            name: &g.config_map,
            key: &g.key,
            field: "spec.network.genesis".into(),
        });
    }
    refs
}

/// Which objects `fetch` must look up for this spec — pure.
pub fn referenced_names(spec: &ChainServiceSpec) -> ReferencedNames {
    let mut names = ReferencedNames::default();
    for r in key_refs(spec) {
        if r.secret {
            names.secrets.insert(r.name.to_string());
        } else {
            names.config_maps.insert(r.name.to_string());
        }
    }
    if let Some(class) = &spec.storage.class_name {
        names.storage_classes.insert(class.clone());
    }
    names
}

/// Check the spec's references against what `fetch` found — pure, testable without an API
/// server. Each problem names the field and the object, never a value.
pub fn check_references(spec: &ChainServiceSpec, names: &Names, found: &Lookups) -> Referenced {
    let mut problems = Vec::new();
    let generated = [
        names.jwt_secret(),
        names.admin_token_secret(),
        names.node_identities(),
        names.devnet_keys(),
        names.devnet_tokens(),
    ];
    for r in key_refs(spec) {
        if r.secret && generated.iter().any(|g| g == r.name) {
            problems.push(format!(
                "{}: Secret {} is generated by the operator and may not be injected",
                r.field, r.name
            ));
            continue;
        }
        let (kind, map) = if r.secret {
            ("Secret", &found.secrets)
        } else {
            ("ConfigMap", &found.config_maps)
        };
        match map.get(r.name) {
            Some(Some(keys)) if keys.contains(r.key) => {}
            Some(Some(_)) => problems.push(format!(
                "{}: {kind} {} has no key {}",
                r.field, r.name, r.key
            )),
            // Not found, or not looked up (a bug in fetch): either way it is not there.
            _ => problems.push(format!("{}: {kind} {} not found", r.field, r.name)),
        }
    }
    if let Some(class) = &spec.storage.class_name
        && found.storage_classes.get(class) != Some(&true)
    {
        problems.push(format!(
            "spec.storage.className: StorageClass {class} not found"
        ));
    }
    Referenced { problems }
}

pub fn validate(
    spec: &ChainServiceSpec,
    referenced: &Referenced,
) -> Result<Validated, InvalidSpec> {
    let mut problems = referenced.problems.clone();
    if spec.network.name == NetworkName::TwoK
        && spec.network.genesis.is_none()
        && spec.network.devnet.is_none()
    {
        problems.push(
            "spec.network.genesis or spec.network.devnet is required for a private (2k) network"
                .into(),
        );
    }
    problems.extend(devnet_problems(&spec.network));
    if let Some(r) = &spec.image.repository
        && let Err(e) = injection::repository(r)
    {
        problems.push(format!("spec.image.repository: {e}"));
    }
    if let Some(t) = &spec.image.tag
        && let Err(e) = injection::tag(t)
    {
        problems.push(format!("spec.image.tag: {e}"));
    }
    if spec.storage.class_name.is_some() && spec.storage.preset.is_some() {
        problems.push("spec.storage: set either className or preset, not both".into());
    }
    let mut components = BTreeMap::new();
    for c in Component::ALL {
        match validate_component(spec, c) {
            Ok(v) => {
                components.insert(c, v);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(Validated { components })
    } else {
        Err(InvalidSpec { problems })
    }
}

/// Sector sizes `venus seed pre-seal` makes (the registered seal proofs).
pub const DEVNET_SECTOR_SIZES: [&str; 5] = ["2KiB", "8MiB", "512MiB", "32GiB", "64GiB"];

fn devnet_problems(network: &crate::crd::NetworkSpec) -> Vec<String> {
    let Some(d) = &network.devnet else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if network.name != NetworkName::TwoK {
        problems.push(format!(
            "spec.network.devnet needs spec.network.name: 2k (not {})",
            network.name.as_str()
        ));
    }
    if network.genesis.is_some() {
        problems.push("spec.network: set either genesis or devnet, not both".into());
    }
    if !(1..=16).contains(&d.miners) {
        problems.push(format!(
            "spec.network.devnet.miners: {} is not between 1 and 16",
            d.miners
        ));
    }
    if !DEVNET_SECTOR_SIZES.contains(&d.sector_size.as_str()) {
        problems.push(format!(
            "spec.network.devnet.sectorSize: {:?} is not one of {}",
            d.sector_size,
            DEVNET_SECTOR_SIZES.join(", ")
        ));
    }
    if d.block_delay_secs != 4 {
        problems.push(format!(
            "spec.network.devnet.blockDelaySecs: {} is not supported; the 2k network's block time is 4",
            d.block_delay_secs
        ));
    }
    problems
}

fn validate_component(
    spec: &ChainServiceSpec,
    c: Component,
) -> Result<ValidComponent, Vec<String>> {
    let cs = c.spec(spec);
    let field = |f: &str| format!("spec.{}.{f}", c.name());
    let mut problems = Vec::new();

    let replicas = cs.replicas.unwrap_or(1);
    if !(0..=16).contains(&replicas) {
        problems.push(format!(
            "{}: {replicas} is not between 0 and 16",
            field("replicas")
        ));
    }
    if let Some(db) = &cs.database {
        if !c.has_database() {
            problems.push(format!(
                "{} is not supported: only auth and messager use a database",
                field("database")
            ));
        }
        if db.kind == DatabaseKind::Mysql && db.dsn_secret.is_none() {
            problems.push(format!(
                "{} is required when database.type is mysql",
                field("database.dsnSecret")
            ));
        }
    }
    if c.has_database() && replicas > 1 && !uses_mysql(cs) {
        problems.push(format!(
            "{} > 1 needs {}: mysql (sqlite serves one replica)",
            field("replicas"),
            field("database.type")
        ));
    }

    problems.extend(injection::problems(cs, &field));

    let resources = cs
        .resources
        .clone()
        .unwrap_or_else(|| profile::resources(spec.profile, c));
    for (kind, map) in [
        ("requests", &resources.requests),
        ("limits", &resources.limits),
    ] {
        for (name, q) in map.iter().flatten() {
            if let Err(e) = quantity::parse(&q.0) {
                problems.push(format!(
                    "{}: {e}",
                    field(&format!("resources.{kind}.{name}"))
                ));
            }
        }
    }

    let storage = cs.storage.clone().unwrap_or_default();
    let storage_size = storage
        .size
        .clone()
        .unwrap_or_else(|| profile::sizing(spec.profile, c).disk.to_string());
    let mut class = ClassChoice::ClusterDefault;
    match quantity::gib_ceil(&storage_size) {
        Ok(0) => problems.push(format!("{}: must be positive", field("storage.size"))),
        Ok(gib) => {
            match storage::choose_class(
                &spec.storage,
                gib,
                storage.performance_level,
                c == Component::Node,
                &field("storage.performanceLevel"),
            ) {
                Ok(choice) => class = choice,
                Err(e) => problems.push(e.to_string()),
            }
        }
        Err(e) => problems.push(format!("{}: {e}", field("storage.size"))),
    }

    if problems.is_empty() {
        Ok(ValidComponent {
            replicas,
            resources,
            storage_size,
            class,
        })
    } else {
        Err(problems)
    }
}

/// What a user may inject into the pods: images, env, args, tolerations.
mod injection {
    use k8s_openapi::api::core::v1::Toleration;

    use crate::crd::ComponentSpec;

    /// Env the operator sets itself; overriding one would redirect a pod's Lease, token or DSN.
    pub const RESERVED_ENV: [&str; 9] = [
        "POD_NAME",
        "POD_NAMESPACE",
        "VENUS_ADMIN_TOKEN",
        "VENUS_AUTH_TOKEN",
        "VENUS_GATEWAY_AUTH_TOKEN",
        "VENUS_MYSQL_DSN",
        "VENUS_LEASE_NAME",
        "VENUS_LEASE_NAMESPACE",
        "VENUS_LEASE_IDENTITY",
    ];

    /// Flags the operator sets, and `--auth-token`, which would put a secret in `ps`.
    const RESERVED_FLAGS: [&str; 5] = [
        "--repo",
        "--config",
        "--auth-token",
        "--mysql-dsn",
        "--token",
    ];

    pub fn problems(cs: &ComponentSpec, field: &dyn Fn(&str) -> String) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(image) = &cs.image {
            if let Some(r) = &image.repository
                && let Err(e) = repository(r)
            {
                out.push(format!("{}: {e}", field("image.repository")));
            }
            if let Some(t) = &image.tag
                && let Err(e) = tag(t)
            {
                out.push(format!("{}: {e}", field("image.tag")));
            }
        }
        for (i, e) in cs.extra_env.iter().enumerate() {
            let f = field(&format!("extraEnv[{i}].name"));
            if RESERVED_ENV.contains(&e.name.as_str()) {
                out.push(format!("{f}: {} is set by the operator", e.name));
            } else if !env_name(&e.name) {
                out.push(format!(
                    "{f}: {:?} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
                    e.name
                ));
            }
        }
        for (i, a) in cs.extra_args.iter().enumerate() {
            let flag = a.split('=').next().unwrap_or_default();
            if RESERVED_FLAGS.contains(&flag) {
                out.push(format!(
                    "{}: {flag} is set by the operator (secrets go in env, never on the command line)",
                    field(&format!("extraArgs[{i}]"))
                ));
            }
        }
        for (i, t) in cs.scheduling.tolerations.iter().enumerate() {
            if let Err(e) = toleration(t) {
                out.push(format!(
                    "{}: {e}",
                    field(&format!("scheduling.tolerations[{i}]"))
                ));
            }
        }
        out
    }

    /// `registry[:port]/path` in the distribution reference grammar's character set.
    pub fn repository(r: &str) -> Result<(), String> {
        let trimmed = r.trim_end_matches('/');
        let ok = !trimmed.is_empty()
            && trimmed.len() <= 255
            && !trimmed.contains("://")
            && !trimmed.starts_with('/')
            && !trimmed.contains("//")
            && trimmed.split('/').enumerate().all(|(i, part)| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                            // host:port and host names with capitals only in the first part
                            || (i == 0 && (b == b':' || b.is_ascii_uppercase()))
                    })
            });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{r:?} is not an image repository such as registry.example.com:5000/venus"
            ))
        }
    }

    /// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    pub fn tag(t: &str) -> Result<(), String> {
        let mut bytes = t.bytes();
        let ok = t.len() <= 128
            && bytes
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(())
        } else {
            Err(format!("{t:?} is not an image tag"))
        }
    }

    fn env_name(n: &str) -> bool {
        let mut b = n.bytes();
        b.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
    }

    pub fn toleration(t: &Toleration) -> Result<(), String> {
        let op = t.operator.as_deref().unwrap_or("Equal");
        let key = t.key.as_deref().unwrap_or_default();
        match op {
            "Exists" | "Equal" => {}
            other => return Err(format!("operator {other:?} is neither Exists nor Equal")),
        }
        if key.is_empty() && op == "Exists" {
            return Err(
                "an empty key with operator Exists tolerates every taint (control-plane and \
                 unreachable nodes included); name the taint's key"
                    .into(),
            );
        }
        if key.is_empty() {
            return Err("key is required with operator Equal".into());
        }
        if op == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err("value must be empty with operator Exists".into());
        }
        let effect = t.effect.as_deref().unwrap_or_default();
        if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(format!(
                "effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            return Err("tolerationSeconds applies only to effect NoExecute".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{ComponentStorage, DatabaseSpec, PerformanceLevel, StoragePreset};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn spec() -> ChainServiceSpec {
        ChainServiceSpec::default()
    }

    fn problems(spec: &ChainServiceSpec) -> Vec<String> {
        validate(spec, &Referenced::default())
            .expect_err("spec should be refused")
            .problems
    }

    #[test]
    fn default_spec_is_valid_with_production_sizes() {
        let v = validate(&spec(), &Referenced::default()).expect("valid");
        let node = v.component(Component::Node);
        assert_eq!(node.storage_size, "2Ti");
        assert_eq!(node.replicas, 1);
        assert_eq!(node.class, ClassChoice::ClusterDefault);
    }

    #[test]
    fn two_messagers_on_sqlite_are_refused_naming_the_field() {
        let mut s = spec();
        s.messager.replicas = Some(2);
        let p = problems(&s);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("spec.messager.replicas") && p[0].contains("mysql"),
            "{p:?}"
        );
    }

    #[test]
    fn mysql_without_dsn_secret_is_refused() {
        let mut s = spec();
        s.auth.database = Some(DatabaseSpec {
            kind: DatabaseKind::Mysql,
            dsn_secret: None,
        });
        let p = problems(&s);
        assert!(
            p.iter().any(|p| p.contains("spec.auth.database.dsnSecret")),
            "{p:?}"
        );
    }

    #[test]
    fn database_on_a_component_without_one_is_refused() {
        let mut s = spec();
        s.miner.database = Some(DatabaseSpec::default());
        assert!(
            problems(&s)
                .iter()
                .any(|p| p.contains("spec.miner.database"))
        );
    }

    #[test]
    fn bad_quantities_are_refused_naming_the_field() {
        let mut s = spec();
        s.gateway.storage = Some(ComponentStorage {
            size: Some("lots".into()),
            performance_level: None,
        });
        let mut res = profile::resources(s.profile, Component::Node);
        res.requests
            .get_or_insert_default()
            .insert("memory".into(), Quantity("128 gigs".into()));
        s.node.resources = Some(res);
        let p = problems(&s);
        assert!(
            p.iter()
                .any(|p| p.contains("spec.gateway.storage.size") && p.contains("\"lots\"")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| p.contains("spec.node.resources.requests.memory")),
            "{p:?}"
        );
    }

    #[test]
    fn pl2_on_a_200gib_disk_is_refused_and_pl2_on_the_node_accepted() {
        let mut s = spec();
        s.storage.preset = Some(StoragePreset::AlicloudEssd);
        s.node.storage = Some(ComponentStorage {
            size: None,
            performance_level: Some(PerformanceLevel::PL2),
        });
        let v = validate(&s, &Referenced::default()).expect("node PL2 is allowed at 2 TiB");
        assert_eq!(
            v.component(Component::Node).class,
            ClassChoice::Essd(PerformanceLevel::PL2)
        );
        assert_eq!(
            v.component(Component::Miner).class,
            ClassChoice::Essd(PerformanceLevel::PL1)
        );

        s.miner.storage = Some(ComponentStorage {
            size: None,
            performance_level: Some(PerformanceLevel::PL2),
        });
        let p = problems(&s);
        assert!(
            p.iter()
                .any(|p| p.contains("spec.miner.storage.performanceLevel")),
            "{p:?}"
        );
    }

    #[test]
    fn injected_image_env_args_and_tolerations_are_checked() {
        use k8s_openapi::api::core::v1::{EnvVar, Toleration};
        let mut s = spec();
        s.image.repository = Some("https://evil.example/x".into());
        s.node.image = Some(crate::crd::ImageOverride {
            tag: Some("v1 && rm".into()),
            ..Default::default()
        });
        s.gateway.extra_env = vec![
            EnvVar {
                name: "VENUS_LEASE_NAME".into(),
                value: Some("someone-elses".into()),
                ..Default::default()
            },
            EnvVar {
                name: "1BAD".into(),
                ..Default::default()
            },
        ];
        s.miner.extra_args = vec!["--auth-token=abc".into()];
        s.messager.scheduling.tolerations = vec![Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        }];
        let p = problems(&s);
        for needle in [
            "spec.image.repository",
            "spec.node.image.tag",
            "spec.gateway.extraEnv[0].name: VENUS_LEASE_NAME is set by the operator",
            "spec.gateway.extraEnv[1].name",
            "spec.miner.extraArgs[0]: --auth-token",
            "spec.messager.scheduling.tolerations[0]: an empty key",
        ] {
            assert!(p.iter().any(|p| p.contains(needle)), "{needle}: {p:#?}");
        }
        assert!(
            !p.iter().any(|p| p.contains("abc")),
            "a value leaked: {p:?}"
        );

        let mut ok = spec();
        ok.image.repository = Some("registry.example.com:5000/venus/".into());
        ok.node.image = Some(crate::crd::ImageOverride {
            tag: Some("v1.2.3-rc_1".into()),
            ..Default::default()
        });
        ok.node.scheduling.tolerations = vec![Toleration {
            key: Some("node.kubernetes.io/not-ready".into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(5),
            ..Default::default()
        }];
        validate(&ok, &Referenced::default()).expect("valid injections pass");
    }

    #[test]
    fn references_are_checked_without_an_api_server() {
        use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};
        let mut s = spec();
        s.network.genesis = Some(crate::crd::GenesisSource {
            config_map: "genesis".into(),
            key: "genesis.car".into(),
        });
        s.storage.class_name = Some("fast".into());
        s.auth.database = Some(DatabaseSpec {
            kind: DatabaseKind::Mysql,
            dsn_secret: Some(crate::crd::SecretKeyRef {
                name: "db".into(),
                key: "dsn".into(),
            }),
        });
        let secret_env = |name: &str, secret: &str| EnvVar {
            name: name.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.into(),
                    key: "k".into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        s.node.extra_env = vec![secret_env("X", "cs-auth-jwt"), secret_env("Y", "extra")];
        let wanted = referenced_names(&s);
        assert_eq!(
            wanted.secrets,
            BTreeSet::from(["cs-auth-jwt".into(), "db".into(), "extra".into()])
        );
        assert_eq!(wanted.config_maps, BTreeSet::from(["genesis".into()]));

        let names = Names::new("cs", "ns");
        let mut found = Lookups::default();
        found
            .secrets
            .insert("db".into(), Some(BTreeSet::from(["password".into()])));
        found.secrets.insert("extra".into(), None);
        found.config_maps.insert(
            "genesis".into(),
            Some(BTreeSet::from(["genesis.car".into()])),
        );
        found.storage_classes.insert("fast".into(), false);
        let p = check_references(&s, &names, &found).problems;
        for needle in [
            "spec.auth.database.dsnSecret: Secret db has no key dsn",
            "spec.node.extraEnv[1] (Y): Secret extra not found",
            "spec.node.extraEnv[0] (X): Secret cs-auth-jwt is generated by the operator",
            "spec.storage.className: StorageClass fast not found",
        ] {
            assert!(p.iter().any(|p| p.contains(needle)), "{needle}: {p:#?}");
        }
        assert_eq!(p.len(), 4, "{p:#?}");
        found
            .secrets
            .insert("db".into(), Some(BTreeSet::from(["dsn".into()])));
        found
            .secrets
            .insert("extra".into(), Some(BTreeSet::from(["k".into()])));
        found.storage_classes.insert("fast".into(), true);
        s.node.extra_env.remove(0);
        assert!(check_references(&s, &names, &found).problems.is_empty());
    }

    #[test]
    fn private_network_needs_genesis_and_referenced_problems_are_kept() {
        let mut s = spec();
        s.network.name = NetworkName::TwoK;
        let referenced = Referenced {
            problems: vec!["Secret db/dsn: not found".into()],
        };
        let p = validate(&s, &referenced).expect_err("refused").problems;
        assert!(p.iter().any(|p| p.contains("spec.network.genesis")));
        assert!(p.iter().any(|p| p.contains("Secret db/dsn")));
    }

    #[test]
    fn a_devnet_replaces_the_genesis_of_a_2k_network() {
        let mut s = spec();
        s.network.name = NetworkName::TwoK;
        s.network.devnet = Some(crate::crd::DevnetSpec::default());
        assert!(validate(&s, &Referenced::default()).is_ok());
        // Nothing to look up: the operator makes the genesis ConfigMap itself.
        assert!(referenced_names(&s).config_maps.is_empty());
    }

    #[test]
    fn bad_devnets_are_refused_naming_each_field() {
        let mut s = spec();
        s.network.name = NetworkName::Calibrationnet;
        s.network.genesis = Some(crate::crd::GenesisSource {
            config_map: "g".into(),
            key: "genesis.car".into(),
        });
        s.network.devnet = Some(crate::crd::DevnetSpec {
            miners: 17,
            sector_size: "3KiB".into(),
            block_delay_secs: 30,
        });
        let p = problems(&s);
        for want in [
            "spec.network.devnet needs spec.network.name: 2k (not calibrationnet)",
            "spec.network: set either genesis or devnet, not both",
            "spec.network.devnet.miners: 17 is not between 1 and 16",
            "spec.network.devnet.sectorSize: \"3KiB\" is not one of 2KiB, 8MiB, 512MiB, 32GiB, 64GiB",
            "spec.network.devnet.blockDelaySecs: 30 is not supported",
        ] {
            assert!(p.iter().any(|p| p.starts_with(want)), "{want:?} in {p:?}");
        }
        s.network.devnet = Some(crate::crd::DevnetSpec {
            miners: 0,
            ..Default::default()
        });
        assert!(problems(&s).iter().any(|p| p.contains("miners: 0")));
    }

    #[test]
    fn the_devnet_secrets_may_not_be_injected() {
        let mut s = spec();
        s.node.extra_env.push(k8s_openapi::api::core::v1::EnvVar {
            name: "KEYS".into(),
            value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                secret_key_ref: Some(k8s_openapi::api::core::v1::SecretKeySelector {
                    name: "cs-devnet-keys".into(),
                    key: "pre-seal-t01000.key".into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        let names = Names::new("cs", "ns");
        let p = check_references(&s, &names, &Lookups::default()).problems;
        assert!(
            p.iter()
                .any(|p| p.contains("Secret cs-devnet-keys is generated by the operator")),
            "{p:?}"
        );
    }
}
