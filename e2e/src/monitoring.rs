//! The monitoring files a pool operator installs (docs/monitoring/: the Grafana dashboard, the
//! alert rules and their promtool tests; the same files ship in the venus-chainservice chart),
//! and what the tests need to hold them to the services: which metric names they reference,
//! which names a `/metrics` page offers, and `promtool` to check and unit-test the rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::command::run;
use crate::tools::{find_on_path, in_ci, repo_root};

/// The directory of the plain files.
pub fn docs_dir() -> PathBuf {
    repo_root().join("docs/monitoring")
}

pub const DASHBOARD_FILE: &str = "venus-dashboard.json";
pub const RULES_FILE: &str = "venus-rules.yaml";
pub const RULES_TEST_FILE: &str = "venus-rules.test.yaml";

/// Series Prometheus makes itself: referenced by the files, served by no service.
pub const PROMETHEUS_SERIES: [&str; 3] = ["up", "ALERTS", "ALERTS_FOR_STATE"];

/// `promtool` from PATH (Debian's `prometheus` package), or why not.
pub fn promtool() -> Result<PathBuf, String> {
    find_on_path("promtool")
        .ok_or_else(|| "promtool not found on PATH (apt-get install prometheus)".to_owned())
}

/// `promtool`, or `None` after printing why `test` is skipped; under CI a missing promtool
/// fails the test.
pub fn require_promtool(test: &str) -> Option<PathBuf> {
    match promtool() {
        Ok(path) => Some(path),
        Err(why) if in_ci() => panic!("{test}: CI is set and {why}"),
        Err(why) => {
            eprintln!("SKIP {test}: {why} (CI is unset, so this is a skip, not a failure)");
            None
        }
    }
}

/// `promtool check rules <file>`; its output on success.
pub fn check_rules(promtool: &Path, rules: &Path) -> anyhow::Result<String> {
    run(Command::new(promtool).args(["check", "rules"]).arg(rules))
}

/// `promtool test rules <file>` (rule files are found relative to the test file).
pub fn test_rules(promtool: &Path, tests: &Path) -> anyhow::Result<String> {
    run(Command::new(promtool).args(["test", "rules"]).arg(tests))
}

/// Every PromQL expression of a Grafana dashboard (panel targets, nested rows included).
pub fn dashboard_exprs(dashboard: &serde_json::Value) -> Vec<String> {
    fn walk(panels: &serde_json::Value, out: &mut Vec<String>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push(expr.to_owned());
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// `(alert or record name, expr)` of every rule of a Prometheus rules file.
pub fn rule_exprs(rules: &serde_yaml_ng::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for group in rules["groups"].as_sequence().into_iter().flatten() {
        for rule in group["rules"].as_sequence().into_iter().flatten() {
            let name = rule["alert"]
                .as_str()
                .or_else(|| rule["record"].as_str())
                .unwrap_or_default();
            if let Some(expr) = rule["expr"].as_str() {
                out.push((name.to_owned(), expr.to_owned()));
            }
        }
    }
    out
}

/// Dashboard variables as Grafana would substitute them, so the expressions parse as PromQL.
pub fn substitute_dashboard_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("$namespace", ".*")
        .replace("$instance", ".*")
}

const KEYWORDS: [&str; 10] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
];

/// The metric names a PromQL expression selects. Strings, label matchers, range and
/// subquery brackets, and label lists after `by`/`on`/… are skipped; a name followed by `(`
/// is a function or aggregation.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut label_list_next = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, i),
            '{' => i = skip_to(&chars, i, '}'),
            '[' => i = skip_to(&chars, i, ']'),
            '(' if label_list_next => {
                label_list_next = false;
                i = skip_to(&chars, i, ')');
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number (1, 0.95, 1e3): its letters are not a name.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next].is_whitespace() {
                    next += 1;
                }
                // `sum by (l) (x)`: an aggregation whose grouping comes before its argument.
                let following: String = chars[next..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                let is_call =
                    chars.get(next) == Some(&'(') || (following == "by" || following == "without");
                if KEYWORDS.contains(&word.as_str()) {
                    label_list_next = matches!(
                        word.as_str(),
                        "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                    );
                } else if word == "offset" {
                    // `offset 5m`: skip the duration.
                    i = next;
                    while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                } else {
                    // `group_left` may have no label list: whatever follows is not one.
                    label_list_next = false;
                    if !is_call {
                        names.insert(word);
                    }
                }
            }
            _ => i += 1,
        }
    }
    names
}

fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\\' && quote != '`' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// Index after the `close` matching the opener at `start` (strings inside are skipped).
fn skip_to(chars: &[char], start: usize, close: char) -> usize {
    let open = chars[start];
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The metric names the dashboard and the rules select, each with where it is used.
pub fn referenced_metrics(
    dashboard: &serde_json::Value,
    rules: &serde_yaml_ng::Value,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let panels = dashboard_titles_and_exprs(dashboard);
    for (title, expr) in panels {
        for name in metric_names(&expr) {
            refs.entry(name)
                .or_default()
                .insert(format!("panel {title:?}"));
        }
    }
    for (alert, expr) in rule_exprs(rules) {
        for name in metric_names(&expr) {
            refs.entry(name)
                .or_default()
                .insert(format!("rule {alert}"));
        }
    }
    refs
}

fn dashboard_titles_and_exprs(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.to_owned(), expr.to_owned()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// What a `/metrics` page (Prometheus text or OpenMetrics) offers: the sample names, and the
/// families declared by `# TYPE` lines with their type. A registered family shows its `# TYPE`
/// line even before it has a labelled series.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeSet<String>,
    pub families: BTreeMap<String, String>,
}

impl Exposition {
    pub fn parse(text: &str) -> Self {
        let mut exp = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    exp.families.insert(name.to_owned(), kind.to_owned());
                }
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                exp.samples.insert(line[..end].to_owned());
            }
        }
        exp
    }

    /// Whether `name` (as a query would select it) is served: a sample with that name, or a
    /// family whose type gives samples of that name (`x_total` of counter `x`, `x_bucket` of
    /// histogram `x`, …).
    pub fn offers(&self, name: &str) -> bool {
        if self.samples.contains(name) || self.families.contains_key(name) {
            return true;
        }
        self.families.iter().any(|(family, kind)| {
            let Some(suffix) = name.strip_prefix(family.as_str()) else {
                return false;
            };
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                "gaugehistogram" => &["_bucket", "_gsum", "_gcount"],
                "summary" => &["_sum", "_count", "_created"],
                "info" => &["_info"],
                _ => &[],
            };
            suffixes.contains(&suffix)
        })
    }
}

/// Reads and parses the docs' dashboard and rules.
pub fn load_docs() -> anyhow::Result<(serde_json::Value, serde_yaml_ng::Value)> {
    let dir = docs_dir();
    let dashboard_path = dir.join(DASHBOARD_FILE);
    let rules_path = dir.join(RULES_FILE);
    let dashboard = serde_json::from_str(
        &std::fs::read_to_string(&dashboard_path)
            .with_context(|| format!("reading {}", dashboard_path.display()))?,
    )
    .with_context(|| format!("parsing {}", dashboard_path.display()))?;
    let rules = serde_yaml_ng::from_str(
        &std::fs::read_to_string(&rules_path)
            .with_context(|| format!("reading {}", rules_path.display()))?,
    )
    .with_context(|| format!("parsing {}", rules_path.display()))?;
    if rule_exprs(&rules).is_empty() {
        bail!("{} has no rules", rules_path.display());
    }
    Ok((dashboard, rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_skip_functions_labels_strings_and_durations() {
        let expr = r#"histogram_quantile(0.95, sum by (le, kind) (rate(venus_gateway_request_duration_seconds_bucket{namespace=~"$namespace", kind="wallet"}[5m])))"#;
        assert_eq!(
            metric_names(expr),
            set(&["venus_gateway_request_duration_seconds_bucket"])
        );
    }

    #[test]
    fn names_of_binary_operations_and_matching_clauses() {
        let expr = "max by (namespace) (venus_node_head_height) - on (namespace) group_right () venus_node_head_height > 5\nand on(namespace) sum by(namespace)(venus_miner_miners) > 0";
        assert_eq!(
            metric_names(expr),
            set(&["venus_node_head_height", "venus_miner_miners"])
        );
        let expr = r#"label_replace(sum by (namespace) (increase(venus_miner_lease_transitions_total[30m])), "component", "miner", "", "") > 3 or scalar(x_total offset 5m) unless vector(0)"#;
        assert_eq!(
            metric_names(expr),
            set(&["venus_miner_lease_transitions_total", "x_total"])
        );
        assert_eq!(
            metric_names("time() - a_seconds * 1e3"),
            set(&["a_seconds"])
        );
        assert_eq!(
            metric_names("a * on (x) group_left sum by (x) (b)"),
            set(&["a", "b"])
        );
        assert_eq!(
            metric_names(r#"count(ALERTS{alertname=~"Venus.*"}) or vector(0)"#),
            set(&["ALERTS"])
        );
    }

    #[test]
    fn names_from_a_dashboard_and_rules_carry_where_they_are_used() {
        let dashboard = serde_json::json!({"panels": [
            {"title": "Row", "type": "row", "panels": [
                {"title": "Heads", "targets": [{"expr": "venus_node_head_height{namespace=~\"$namespace\"}"}]}
            ]},
            {"title": "Memory", "targets": [{"expr": "process_resident_memory_bytes"}]}
        ]});
        let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n  - record: r\n    expr: sum(venus_node_head_height)\n",
        )
        .expect("yaml");
        let refs = referenced_metrics(&dashboard, &rules);
        assert_eq!(
            refs.keys().cloned().collect::<BTreeSet<_>>(),
            set(&[
                "process_resident_memory_bytes",
                "up",
                "venus_node_head_height"
            ])
        );
        assert_eq!(
            refs["venus_node_head_height"],
            set(&["panel \"Heads\"", "rule r"])
        );
    }

    #[test]
    fn exposition_offers_samples_and_declared_families() {
        let text = "# HELP venus_auth_token_verify Token verifications.\n\
            # TYPE venus_auth_token_verify counter\n\
            # HELP rpc_request_duration_seconds Latency.\n\
            # TYPE rpc_request_duration_seconds histogram\n\
            rpc_request_duration_seconds_bucket{method=\"a\",le=\"0.1\"} 1\n\
            # TYPE venus_node_head_height gauge\n\
            venus_node_head_height 12\n\
            # EOF\n";
        let exp = Exposition::parse(text);
        // A counter family with no series yet: offered through its # TYPE line.
        assert!(exp.offers("venus_auth_token_verify_total"));
        assert!(!exp.offers("venus_auth_token_verify_bucket"));
        assert!(exp.offers("rpc_request_duration_seconds_bucket"));
        assert!(exp.offers("rpc_request_duration_seconds_count"));
        assert!(exp.offers("venus_node_head_height"));
        assert!(!exp.offers("venus_node_head_height_total"));
        assert!(!exp.offers("venus_node_expected_height"));
    }
}
