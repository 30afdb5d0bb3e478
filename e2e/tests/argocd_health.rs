//! docs/argocd-health.lua run by a real Lua interpreter (lua5.4, the language version of Argo
//! CD's gopher-lua subset used here) on ChainService objects in each state.
//! Skips without `lua5.4` unless CI is set (`apt-get install lua5.4`).

use std::process::Command;

use serde_json::{Value, json};
use venus_e2e::command::run;
use venus_e2e::tools::{find_on_path, in_ci, repo_root};

/// serde_json value → Lua table constructor.
fn lua(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => {
            format!(
                "{{{}}}",
                items.iter().map(lua).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("[{k:?}] = {}", lua(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// (status, message) the script returns for `obj`.
fn health(obj: &Value) -> Option<(String, String)> {
    let interpreter = match find_on_path("lua5.4") {
        Some(path) => path,
        None if in_ci() => panic!("CI is set and lua5.4 is not installed"),
        None => {
            eprintln!("SKIP argocd health tests: lua5.4 not installed (apt-get install lua5.4)");
            return None;
        }
    };
    let script = repo_root().join("docs/argocd-health.lua");
    let program = format!(
        "obj = {}\nlocal hs = dofile({:?})\nio.write(hs.status, \"\\n\", hs.message or \"\")",
        lua(obj),
        script.display().to_string()
    );
    let out = run(Command::new(interpreter).args(["-e", &program])).expect("lua runs the script");
    let (status, message) = out.split_once('\n').unwrap_or((&out, ""));
    Some((status.to_owned(), message.to_owned()))
}

fn chain_service(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "venus.filecoin.io/v1alpha1",
        "kind": "ChainService",
        "metadata": {"name": "mainnet", "generation": generation},
        "spec": {"network": {"name": "mainnet"}},
        "status": status,
    })
}

fn cond(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message})
}

#[test]
fn ready_at_the_current_generation_is_healthy() {
    let obj = chain_service(
        3,
        json!({
            "observedGeneration": 3, "phase": "Ready",
            "conditions": [cond("Ready", "True", "AllReady", "all components ready")]
        }),
    );
    let Some((status, message)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Healthy");
    assert_eq!(message, "all components ready");
}

#[test]
fn a_stale_status_is_progressing_even_if_it_said_ready() {
    let obj = chain_service(
        4,
        json!({
            "observedGeneration": 3, "phase": "Ready",
            "conditions": [cond("Ready", "True", "AllReady", "all components ready")]
        }),
    );
    let Some((status, message)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Progressing");
    assert!(message.contains("generation 4"), "{message}");
}

#[test]
fn no_status_yet_is_progressing() {
    let obj = json!({"metadata": {"name": "x", "generation": 1}, "spec": {}});
    let Some((status, _)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Progressing");
}

#[test]
fn an_invalid_spec_is_degraded_with_the_operators_message() {
    let obj = chain_service(
        2,
        json!({
            "observedGeneration": 2, "phase": "Failed",
            "conditions": [cond("Ready", "False", "InvalidSpec", "spec.auth.database.dsnSecret: Secret no-such-secret not found")]
        }),
    );
    let Some((status, message)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Degraded");
    assert!(message.contains("no-such-secret"), "{message}");
}

#[test]
fn serving_without_a_standby_is_degraded() {
    let obj = chain_service(
        5,
        json!({
            "observedGeneration": 5, "phase": "Degraded",
            "conditions": [
                cond("Ready", "True", "AllReady", "serving"),
                cond("Degraded", "True", "StandbyMissing", "messager has no standby")
            ]
        }),
    );
    let Some((status, message)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Degraded");
    assert_eq!(message, "messager has no standby");
}

#[test]
fn rolling_out_is_progressing() {
    let obj = chain_service(
        6,
        json!({
            "observedGeneration": 6, "phase": "Progressing",
            "conditions": [cond("Ready", "False", "WaitingForAuth", "waiting for auth")]
        }),
    );
    let Some((status, message)) = health(&obj) else {
        return;
    };
    assert_eq!(status, "Progressing");
    assert_eq!(message, "waiting for auth");
}
