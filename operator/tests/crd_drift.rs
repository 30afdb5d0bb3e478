//! `crds/chainservice.yaml` must be what the Rust types generate, and `venus-operator crd`
//! must print exactly that. Regenerate with
//! `cargo run -p venus-operator -- crd > crds/chainservice.yaml`.

use std::path::Path;
use std::process::Command;

fn committed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/chainservice.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn committed_crd_matches_the_rust_types() {
    let generated = venus_operator::crd_yaml().expect("serialises");
    assert!(
        committed() == generated,
        "crds/chainservice.yaml drifted from the Rust types: run `cargo run -p venus-operator -- crd > crds/chainservice.yaml`"
    );
}

#[test]
fn crd_subcommand_prints_the_crd() {
    let out = Command::new(env!("CARGO_BIN_EXE_venus-operator"))
        .arg("crd")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed());
}

#[test]
fn crd_has_the_required_shape() {
    let crd: serde_json::Value = serde_yaml_ng::from_str(&committed()).expect("yaml");
    assert_eq!(crd["spec"]["group"], "venus.filecoin.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "chainsvc");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<_> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(
        columns,
        [
            "Ready", "Phase", "Head", "Messager", "Miner", "Paused", "Network", "Age"
        ]
    );
    let text = committed();
    for message in [
        "spec.auth.replicas > 1 needs spec.auth.database.type: mysql",
        "spec.messager.replicas > 1 needs spec.messager.database.type: mysql",
        "storage.size must be a positive Kubernetes quantity",
        "spec.network is immutable",
        "database.dsnSecret is required when database.type is mysql",
    ] {
        assert!(
            text.contains(message),
            "CRD lacks the CEL message {message:?}"
        );
    }
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_venus-operator"))
        .args(["run", "--metrics-address", "not-an-address"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--metrics-address"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_venus-operator"))
        .args([
            "run",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--metrics-address",
            "127.0.0.1:0",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
}
