//! The Helm charts and the rendered manifests: lint, the CRD copy, install.yaml in sync, chart
//! versions, values validation. Needs only the cache's `helm` (skips without it unless CI).

use std::path::{Path, PathBuf};
use std::process::Command;

use venus_e2e::command::{run, run_expecting_failure};
use venus_e2e::tools::{Tools, in_ci, repo_root};

/// `helm` from the cache, or `None` (skip) / panic (CI) when it was not built.
fn helm(test: &str) -> Option<PathBuf> {
    match Tools::locate() {
        Ok(tools) => Some(tools.helm()),
        Err(why) if in_ci() => panic!("{test}: CI is set and helm is unavailable: {why}"),
        Err(why) => {
            eprintln!("SKIP {test}: {why}");
            None
        }
    }
}

/// helm with its home directories in a throwaway place.
fn helm_cmd(helm: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(helm);
    cmd.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .current_dir(repo_root());
    cmd
}

fn chart(name: &str) -> PathBuf {
    repo_root().join("charts").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `version = "…"` of `[workspace.package]` in the root Cargo.toml (the operator's version).
fn crate_version() -> String {
    let manifest = read(&repo_root().join("Cargo.toml"));
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(rest) = line.strip_prefix("version") {
            let value = rest.trim_start().trim_start_matches('=').trim();
            return value.trim_matches('"').to_owned();
        }
    }
    panic!("no [workspace.package] version in Cargo.toml");
}

fn chart_field(chart_dir: &Path, field: &str) -> String {
    read(&chart_dir.join("Chart.yaml"))
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{field} missing from {}/Chart.yaml", chart_dir.display()))
}

#[test]
fn helm_lint_is_clean_for_both_charts() {
    let Some(helm) = helm("helm_lint_is_clean_for_both_charts") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    for name in ["venus-operator", "venus-chainservice"] {
        let out = run(helm_cmd(&helm, home.path())
            .args(["lint", "--strict"])
            .arg(chart(name)))
        .unwrap_or_else(|e| panic!("helm lint {name}: {e:#}"));
        assert!(
            out.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{name}: {out}"
        );
        assert!(
            !out.contains("[WARNING]"),
            "{name} has lint warnings: {out}"
        );
    }
}

#[test]
fn chart_crd_is_the_repository_crd() {
    let repo_crd = repo_root().join("crds/chainservice.yaml");
    let chart_crd = chart("venus-operator").join("crds/chainservice.yaml");
    assert!(repo_crd.is_file(), "{} missing", repo_crd.display());
    assert_eq!(
        read(&chart_crd),
        read(&repo_crd),
        "charts/venus-operator/crds/chainservice.yaml differs from crds/chainservice.yaml: \
         cp crds/chainservice.yaml charts/venus-operator/crds/ && e2e/cluster/render-install.sh"
    );
}

#[test]
fn chart_versions_follow_the_crate_version() {
    let version = crate_version();
    for name in ["venus-operator", "venus-chainservice"] {
        let dir = chart(name);
        assert_eq!(
            chart_field(&dir, "version"),
            version,
            "{name} Chart.yaml version"
        );
        assert_eq!(
            chart_field(&dir, "appVersion"),
            version,
            "{name} Chart.yaml appVersion"
        );
    }
}

#[test]
fn install_yaml_is_the_rendered_chart() {
    let Some(_) = helm("install_yaml_is_the_rendered_chart") else {
        return;
    };
    let rendered = run(Command::new("bash")
        .arg(repo_root().join("e2e/cluster/render-install.sh"))
        .arg("--stdout"))
    .unwrap_or_else(|e| panic!("render-install.sh: {e:#}"));
    let committed = read(&repo_root().join("manifests/install.yaml"));
    assert!(
        committed == rendered,
        "manifests/install.yaml is stale: run e2e/cluster/render-install.sh"
    );
    // The plain install carries what `kubectl apply -f` users need, and the chart defaults.
    for needle in [
        "kind: Namespace",
        "kind: CustomResourceDefinition",
        "name: chainservices.venus.filecoin.io",
        "kind: ClusterRole",
        "kind: ClusterRoleBinding",
        "kind: Deployment",
        "replicas: 2",
        "--leader-elect=true",
        "--leader-election-lease-name=venus-operator-leader",
        "readOnlyRootFilesystem: true",
    ] {
        assert!(rendered.contains(needle), "install.yaml lacks `{needle}`");
    }
}

#[test]
fn chart_rejects_two_replicas_without_leader_election() {
    let Some(helm) = helm("chart_rejects_two_replicas_without_leader_election") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let err = run_expecting_failure(
        helm_cmd(&helm, home.path())
            .args(["template", "op"])
            .arg(chart("venus-operator"))
            .args(["--set", "leaderElection.enabled=false"]),
    )
    .expect("helm template must fail");
    assert!(
        err.contains("replicaCount > 1 needs leaderElection.enabled=true"),
        "{err}"
    );
    // One replica without leader election is a valid (if not HA) install.
    run(helm_cmd(&helm, home.path())
        .args(["template", "op"])
        .arg(chart("venus-operator"))
        .args(["--set", "leaderElection.enabled=false,replicaCount=1"]))
    .expect("single replica without leader election renders");
}

#[test]
fn chart_values_schema_names_the_bad_value() {
    let Some(helm) = helm("chart_values_schema_names_the_bad_value") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let err = run_expecting_failure(
        helm_cmd(&helm, home.path())
            .args(["template", "op"])
            .arg(chart("venus-operator"))
            .args(["--set", "logging.format=xml"]),
    )
    .expect("helm template must fail");
    assert!(
        err.contains("logging.format") || err.contains("/logging/format"),
        "{err}"
    );
    assert!(err.contains("xml") || err.contains("json"), "{err}");
}

#[test]
fn service_monitor_is_rendered_only_when_enabled() {
    let Some(helm) = helm("service_monitor_is_rendered_only_when_enabled") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let render = |extra: &[&str]| {
        run(helm_cmd(&helm, home.path())
            .args(["template", "op"])
            .arg(chart("venus-operator"))
            .args(extra))
        .expect("helm template")
    };
    assert!(!render(&[]).contains("kind: ServiceMonitor"));
    let with = render(&["--set", "metrics.serviceMonitor.enabled=true"]);
    assert!(with.contains("kind: ServiceMonitor"), "{with}");
    assert!(with.contains("port: metrics"), "{with}");
}

/// The chainservice chart's example values render exactly the spec of the matching example in
/// manifests/examples/ (one source of truth for users of either path).
#[test]
fn chainservice_chart_renders_the_examples() {
    let Some(helm) = helm("chainservice_chart_renders_the_examples") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    for example in ["devnet-small", "production-ha", "aws", "gcp"] {
        let manifest: serde_yaml_ng::Value = serde_yaml_ng::from_str(&read(
            &repo_root().join(format!("manifests/examples/{example}.yaml")),
        ))
        .expect("example parses");
        let values = chart("venus-chainservice").join(format!("examples/{example}.values.yaml"));
        let out = run(helm_cmd(&helm, home.path())
            .args(["template", "cs"])
            .arg(chart("venus-chainservice"))
            .arg("-f")
            .arg(&values)
            .args(["--show-only", "templates/chainservice.yaml"]))
        .unwrap_or_else(|e| panic!("{example}: {e:#}"));
        let rendered: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&out).expect("rendered parses");
        assert_eq!(
            rendered["spec"], manifest["spec"],
            "{example}: spec differs"
        );
        assert_eq!(rendered["kind"], manifest["kind"]);
        assert_eq!(rendered["apiVersion"], manifest["apiVersion"]);
    }
}

/// The chart ships the docs' dashboard and rules byte for byte (one source for Helm and
/// non-Helm users).
#[test]
fn chainservice_chart_monitoring_files_are_the_docs_files() {
    use venus_e2e::monitoring::{DASHBOARD_FILE, RULES_FILE, docs_dir};
    for file in [DASHBOARD_FILE, RULES_FILE] {
        assert!(
            read(&chart("venus-chainservice").join("files").join(file))
                == read(&docs_dir().join(file)),
            "charts/venus-chainservice/files/{file} differs from docs/monitoring/{file}: \
             cp docs/monitoring/{file} charts/venus-chainservice/files/"
        );
    }
}

/// Monitoring objects appear only when switched on; then one ServiceMonitor per component
/// scraping its headless Service, the dashboard ConfigMap the Grafana sidecar picks up, and a
/// PrometheusRule whose rules pass promtool's check and the docs' unit tests.
#[test]
fn chainservice_chart_renders_monitoring_when_enabled() {
    use venus_e2e::monitoring::{
        DASHBOARD_FILE, RULES_FILE, RULES_TEST_FILE, check_rules, docs_dir, require_promtool,
        test_rules,
    };
    let test = "chainservice_chart_renders_monitoring_when_enabled";
    let Some(helm) = helm(test) else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let render = |extra: &[&str]| -> Vec<serde_yaml_ng::Value> {
        let out = run(helm_cmd(&helm, home.path())
            .args(["template", "pool", "--namespace", "venus"])
            .arg(chart("venus-chainservice"))
            .args(extra))
        .expect("helm template");
        out.split("\n---")
            .filter_map(|doc| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(doc).ok())
            .filter(|doc| doc["kind"].is_string())
            .collect()
    };
    let kinds = |docs: &[serde_yaml_ng::Value]| -> Vec<String> {
        docs.iter()
            .map(|d| d["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let plain = render(&[]);
    assert_eq!(
        kinds(&plain),
        ["ChainService"],
        "monitoring is off by default"
    );

    let docs = render(&[
        "--set",
        "monitoring.serviceMonitors.enabled=true,monitoring.prometheusRule.enabled=true,\
         monitoring.dashboard.enabled=true,monitoring.prometheusRule.labels.release=prom",
    ]);
    let monitors: Vec<_> = docs
        .iter()
        .filter(|d| d["kind"] == "ServiceMonitor")
        .collect();
    let components: Vec<_> = monitors
        .iter()
        .map(|m| m["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"].clone())
        .collect();
    assert_eq!(
        components,
        ["auth", "gateway", "node", "messager", "miner"]
            .map(serde_yaml_ng::Value::from)
            .to_vec()
    );
    for monitor in &monitors {
        let component = monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
            .as_str()
            .expect("a component label");
        assert_eq!(monitor["spec"]["jobLabel"], "app.kubernetes.io/name");
        let endpoint = &monitor["spec"]["endpoints"][0];
        assert_eq!(endpoint["port"], "api");
        assert_eq!(endpoint["path"], "/metrics");
        assert_eq!(endpoint["relabelings"][0]["action"], "keep");
        assert_eq!(
            endpoint["relabelings"][0]["regex"],
            format!("pool-{component}-headless").as_str()
        );
    }

    let dashboard = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("dashboard ConfigMap");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let json = dashboard["data"]["venus-chain-service.json"]
        .as_str()
        .expect("dashboard JSON");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(json).expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&read(&docs_dir().join(DASHBOARD_FILE)))
            .expect("JSON")
    );

    let rule = docs
        .iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .expect("PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "prom");
    let Some(promtool) = require_promtool(test) else {
        return;
    };
    // The rendered spec is a rules file; the docs' unit tests run against it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(RULES_FILE),
        serde_yaml_ng::to_string(&rule["spec"]).expect("yaml"),
    )
    .expect("write rules");
    std::fs::copy(
        docs_dir().join(RULES_TEST_FILE),
        dir.path().join(RULES_TEST_FILE),
    )
    .expect("copy tests");
    let out = check_rules(&promtool, &dir.path().join(RULES_FILE)).expect("check rules");
    assert!(out.contains("SUCCESS"), "{out}");
    let out = test_rules(&promtool, &dir.path().join(RULES_TEST_FILE)).expect("test rules");
    assert!(out.contains("SUCCESS"), "{out}");
}
