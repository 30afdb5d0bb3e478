//! Golden files: each example ChainService in `manifests/examples/` builds exactly the objects
//! in `tests/golden/<example>.yaml`. Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p venus-operator --test golden` and review the diff.

use std::path::{Path, PathBuf};

use venus_operator::ChainService;
use venus_operator::build::build;
use venus_operator::validate::{Referenced, validate};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/examples")
}

/// An example as the API server would hand it to the operator: namespaced, with a uid.
fn load(path: &Path) -> ChainService {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cs: ChainService =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cs.metadata.namespace.get_or_insert_with(|| "chain".into());
    cs.metadata.uid = Some("11111111-2222-3333-4444-555555555555".into());
    cs
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(examples_dir())
        .expect("manifests/examples exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn examples_build_the_golden_objects() {
    let paths = examples();
    assert!(
        paths.len() >= 4,
        "expected the four example ChainServices, found {paths:?}"
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatched = Vec::new();
    for path in paths {
        let cs = load(&path);
        let valid = validate(&cs.spec, &Referenced::default())
            .unwrap_or_else(|e| panic!("{} is not valid: {e}", path.display()));
        let yaml = build(&cs, &valid).to_yaml().expect("serialises");
        let name = path.file_name().expect("file name");
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if update {
            std::fs::write(&golden, &yaml).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != yaml {
            mismatched.push(golden.display().to_string());
        }
    }
    assert!(
        mismatched.is_empty(),
        "desired objects differ from {mismatched:?}; run UPDATE_GOLDEN=1 cargo test -p venus-operator --test golden and review"
    );
}

#[test]
fn production_ha_example_has_the_ha_shape() {
    let cs = load(&examples_dir().join("production-ha.yaml"));
    let valid = validate(&cs.spec, &Referenced::default()).expect("valid");
    let state = build(&cs, &valid);
    let kinds = |kind: &str| -> Vec<String> {
        state
            .all()
            .filter(|d| d.resource.kind == kind)
            .map(|d| d.name.clone())
            .collect()
    };
    let rw = kinds("Service")
        .into_iter()
        .filter(|n| n.ends_with("-rw"))
        .collect::<Vec<_>>();
    assert_eq!(rw, ["mainnet-messager-rw", "mainnet-miner-rw"]);
    assert_eq!(kinds("Lease"), ["mainnet-messager", "mainnet-miner"]);
    let classes = kinds("StorageClass");
    // The 2 TiB node disk asked for PL2; the smaller disks default to PL1.
    assert_eq!(
        classes,
        ["venus-essd-pl1-encrypted", "venus-essd-pl2-encrypted"]
    );
    let node = state
        .all()
        .find(|d| d.id() == "StatefulSet/mainnet-node")
        .expect("node sts");
    let claim = &node.object["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(claim["storageClassName"], "venus-essd-pl2-encrypted");
    assert_eq!(claim["resources"]["requests"]["storage"], "2Ti");
    assert_eq!(node.object["spec"]["replicas"], 2);
}
