//! `validate`: what the CRD schema's CEL rules cannot check, plus a second look at what they
//! can (a ChainService may predate a CRD upgrade). The result is the resolved per-component
//! settings `build` needs, so `build` never has to fail.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;

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

pub fn validate(
    spec: &ChainServiceSpec,
    referenced: &Referenced,
) -> Result<Validated, InvalidSpec> {
    let mut problems = referenced.problems.clone();
    if spec.network.name == NetworkName::TwoK && spec.network.genesis.is_none() {
        problems.push("spec.network.genesis is required for a private (2k) network".into());
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
}
