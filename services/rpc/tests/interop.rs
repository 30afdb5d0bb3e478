//! Interop with a go-jsonrpc-style client nobody here wrote: the Lotus JS client
//! (`@filecoin-shipyard/lotus-client-rpc` + `lotus-client-provider-nodejs`), over HTTP and
//! WebSocket, including a channel subscription and its cancellation.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed assertion

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use venus_rpc::Permission;

fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn lotus_js_client_talks_to_our_server() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    if !tool_available("node") || !tool_available("npm") {
        assert!(
            std::env::var_os("CI").is_none(),
            "node and npm are required for the interop test under CI"
        );
        eprintln!("SKIPPED: node/npm not found; install them to run the Lotus JS interop test");
        return;
    }
    if !dir
        .join("node_modules/@filecoin-shipyard/lotus-client-rpc")
        .exists()
    {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let s = common::start().await;
    let admin = s.verifier.issue("interop-user", Permission::Admin);
    let read = s.verifier.issue("interop-reader", Permission::Read);
    let url = s.http_url();
    let script = dir.join("interop.mjs");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node")
            .arg(&script)
            .args([&url, &admin, &read])
            .current_dir(&dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node script finishes within 60 s")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("INTEROP OK"),
        "node failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        "http: calls ok",
        "ws: calls ok",
        "ws: permission error ok",
        "ws: subscription ok [0,1,2]",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert_eq!(
        s.ran.count("Filecoin.AdminThing"),
        0,
        "a read token must not run an admin method"
    );
    assert_eq!(s.ran.count("Filecoin.Add"), 2);
    s.stop().await;
}
