//! The original Go clients against our venus-gateway: e2e/go/gatewayclient (our program) is
//! built with venus-shared's own gateway v1/v2 and chain v1 clients (`NewIGatewayRPC`,
//! `NewFullNodeRPC`, go-jsonrpc as sophon-gateway builds them; e2e/go/README.md), and run
//! against a chain service stack (e2e/src/stack.rs: auth, gateway, node, wallet, prover). It
//! registers as the miner's market over the go-jsonrpc channel flow and answers the unseal
//! requests, then calls the market, wallet and proxy methods as a chain service; every answer
//! is decoded into venus-shared's types (the structured ones also with unknown fields refused)
//! and printed re-encoded by them. This test checks those values against the stack.
//!
//! Under CI a missing Go toolchain is a failure, not a skip (e2e/go/build.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::process::Command;
use std::time::Duration;

use venus_api::full_node as api;
use venus_e2e::stack::{Stack, StackOptions};
use venus_e2e::tools::{in_ci, repo_root};
use venus_types::{Address, Cid, Signature};

/// Builds (or finds, when warm) the Go client; `None` after printing why this is skipped.
fn go_client(test: &str) -> Option<std::path::PathBuf> {
    let out = Command::new("bash")
        .arg(repo_root().join("e2e/go/build.sh"))
        .output()
        .expect("running e2e/go/build.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&out.stdout).trim().into()),
        Some(2) if !in_ci() => {
            eprintln!("SKIP {test}: {stderr} (CI is unset, so this is a skip, not a failure)");
            None
        }
        _ => panic!("{test}: e2e/go/build.sh failed: {stderr}"),
    }
}

/// An address as the Go client prints it (venus-shared's default network prefix, `t`); ours
/// prints the process's current network's.
fn t(a: &Address) -> String {
    format!("t{}", &a.to_string()[1..])
}

fn sig(v: &serde_json::Value) -> Signature {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("a signature: {e}: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venus_shared_go_clients_get_the_originals_shapes() {
    let test = "venus_shared_go_clients_get_the_originals_shapes";
    let Some(bin) = go_client(test) else { return };
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        senders: 1,
        ..Default::default()
    })
    .await
    .expect("stack");
    let gateway = stack
        .gateway_url
        .strip_prefix("/ip4/")
        .and_then(|r| r.split_once("/tcp/"))
        .map(|(ip, port)| format!("{ip}:{port}"))
        .expect("gateway multiaddr");
    let wallet = stack.senders[0];
    let piece: Cid = venus_types::cid_of(&"a piece of t01000").expect("cid");
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(&bin)
            .args(["-gateway", &gateway])
            .args(["-admin-token", &stack.admin_token])
            .args(["-market-token", &stack.user_token])
            .args(["-account", &stack.user])
            .args(["-miner", &stack.miner.to_string()])
            .args(["-wallet", &wallet.to_string()])
            .args(["-piece", &piece.to_string()])
            .args(["-node", &stack.node_url])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Go client finished in time")
    .expect("the Go client ran");
    assert!(
        out.status.success(),
        "the Go client failed: {}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        stack.log("gateway")
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("its JSON");

    // The market: one connection (the Go client's own), the original's connection fields.
    let states = r["ListMarketConnectionsState"].as_array().expect("a list");
    let mine = states
        .iter()
        .find(|s| s["Addr"] == t(&stack.miner))
        .unwrap_or_else(|| panic!("{} missing: {r}", stack.miner));
    assert_eq!(mine["Conn"]["ConnectionCount"], 1, "{r}");
    let conn = &mine["Conn"]["Connections"][0];
    for key in ["Addrs", "ChannelId", "Ip", "RequestCount", "CreateTime"] {
        assert!(conn.get(key).is_some(), "{key} missing: {r}");
    }
    assert_eq!(r["SectorsUnsealPiece"], "finished", "{r}");
    assert_eq!(r["IsUnsealed"], true, "{r}");
    // What the market side received, decoded into venus-shared's UnsealRequest and the
    // v1 IsUnsealed payload.
    let events = r["MarketEvents"].as_array().expect("events");
    let methods: Vec<&str> = events
        .iter()
        .map(|e| e["Method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["InitConnect", "SectorsUnsealPiece", "IsUnsealed"],
        "{r}"
    );
    assert_eq!(
        events[1]["Payload"],
        serde_json::json!({"PieceCid": {"/": piece.to_string()}, "Miner": t(&stack.miner),
            "Sid": 9, "Offset": 0, "Size": 1016, "Dest": "http://dest/go"}),
        "{r}"
    );
    assert_eq!(
        events[2]["Payload"],
        serde_json::json!({"PieceCid": {"/": piece.to_string()}, "Miner": t(&stack.miner),
            "Sid": 9, "Offset": 0, "Size": 1024}),
        "{r}"
    );

    // The wallet: the account's detail lists the address; both forms of WalletHas say yes;
    // both signatures of the message CID verify with the sender's key.
    let detail = &r["ListWalletInfoByWallet"];
    assert_eq!(detail["Account"], stack.user, "{r}");
    assert!(
        detail["ConnectStates"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["Addrs"]
                .as_array()
                .is_some_and(|a| a.contains(&serde_json::json!(t(&wallet)))))),
        "{r}"
    );
    assert_eq!(r["WalletHasV1"], true, "{r}");
    assert_eq!(r["WalletHasV2"], true, "{r}");
    let signed: Cid = serde_json::from_value(r["SignedCid"].clone()).expect("the signed CID");
    for key in ["WalletSignV1", "WalletSignV2"] {
        venus_types::crypto::verify(&sig(&r[key]), &signed.to_bytes(), &wallet)
            .unwrap_or_else(|e| panic!("{key} does not verify: {e}: {r}"));
    }

    // The proxy: refused without a node target, the node's own tipset once registered.
    assert!(
        r["ProxyWithoutTarget"]
            .as_str()
            .is_some_and(|e| e.contains("http status 400")),
        "{r}"
    );
    let node = stack.node_client().await.expect("node client");
    let cids = r["ProxyChainHead"]["Cids"].as_array().expect("cids");
    assert!(!cids.is_empty(), "{r}");
    for c in cids {
        let c: Cid = serde_json::from_value(c.clone()).expect("a cid");
        let block = node
            .call(api::CHAIN_GET_BLOCK, (c,))
            .await
            .expect("the proxied head's block is the node's");
        assert_eq!(
            serde_json::json!(block.height),
            r["ProxyChainHead"]["Height"],
            "{r}"
        );
    }
}
