//! Clients nobody in this project wrote, against the chain service (e2e/src/stack.rs):
//! `@filecoin-shipyard/lotus-client-rpc` with the published Lotus schema reads the chain and
//! follows `ChainNotify` over WebSocket; a transfer signed by `@zondax/filecoin-signing-tools`
//! is accepted by `Filecoin.MpoolPush` and lands on chain with the balance moved. The npm
//! packages are pinned in e2e/js/package.json (+ package-lock.json; `npm ci` in e2e/js).
//!
//! Under CI a missing node/npm or e2e/js/node_modules is a failure, not a skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::path::PathBuf;
use std::time::Duration;

use rand::SeedableRng;
use venus_api::full_node as api;
use venus_api::messager::{self as m, MessageState};
use venus_e2e::stack::{Stack, StackOptions};
use venus_e2e::tools::{find_on_path, in_ci};
use venus_rpc::Client;
use venus_types::{Address, Base64Bytes, KeyType, PrivateKey, TipSetKey, TokenAmount};

fn js_dir() -> PathBuf {
    venus_e2e::tools::repo_root().join("e2e/js")
}

/// `node` and the installed packages, or `None` after printing why this is skipped.
fn js_ready(test: &str) -> Option<PathBuf> {
    let dir = js_dir();
    let why = if find_on_path("node").is_none() || find_on_path("npm").is_none() {
        Some("node/npm not found on PATH".to_owned())
    } else if !dir
        .join("node_modules/@zondax/filecoin-signing-tools")
        .is_dir()
    {
        Some(format!(
            "{}/node_modules is missing: run `npm ci` there",
            dir.display()
        ))
    } else {
        None
    };
    match why {
        None => Some(dir),
        Some(why) if in_ci() => panic!("{test}: CI is set and the JS clients are unusable: {why}"),
        Some(why) => {
            eprintln!("SKIP {test}: {why} (CI is unset, so this is a skip, not a failure)");
            None
        }
    }
}

/// Runs `node real_clients.mjs <args>` and returns its `RESULT` JSON.
async fn node_script(dir: &PathBuf, args: &[&str]) -> serde_json::Value {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg("real_clients.mjs")
            .args(args)
            .current_dir(dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node script finishes within 180 s")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node real_clients.mjs {} failed\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.first().unwrap_or(&"")
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line in\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

fn transfer(from: Address, to: Address, value: TokenAmount) -> venus_types::Message {
    venus_types::Message {
        version: 0,
        to,
        from,
        nonce: 0,
        value,
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: Base64Bytes::default(),
    }
}

fn base_url(stack: &Stack) -> String {
    format!("http://127.0.0.1:{}", stack.node_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lotus_js_client_reads_the_chain_and_follows_chain_notify() {
    let Some(dir) = js_ready("lotus_js_client_reads_the_chain_and_follows_chain_notify") else {
        return;
    };
    let stack = Stack::start(StackOptions::default()).await.expect("stack");
    // A user's read token, verified by the node at venus-auth.
    let read = stack
        .auth_cli(&["token", "gen", "--perm", "read", &stack.user])
        .unwrap();
    let node = stack.node_client().await.unwrap();
    let before = node.call(api::CHAIN_HEAD, ()).await.unwrap();
    let r = node_script(&dir, &["read", &base_url(&stack), &read, "3"]).await;

    // What the JS client read is the node's chain.
    let genesis = node.call(api::CHAIN_GET_GENESIS, ()).await.unwrap();
    let network = node.call(api::STATE_NETWORK_NAME, ()).await.unwrap();
    for transport in ["http", "ws"] {
        let c = &r["chain"][transport];
        assert_eq!(c["network"], network, "{transport}: {c}");
        assert_eq!(
            c["genesis"],
            serde_json::to_value(genesis.key()).unwrap(),
            "{transport}: genesis"
        );
        let height = c["height"].as_i64().unwrap();
        assert!(
            height >= before.height(),
            "{transport}: head went back: {c}"
        );
        let cids: TipSetKey = serde_json::from_value(c["cids"].clone()).unwrap();
        let ts = node.call(api::CHAIN_GET_TIP_SET, (cids,)).await.unwrap();
        assert_eq!(
            ts.height(),
            height,
            "{transport}: the head it read is a node tipset"
        );
    }
    // ChainNotify: `current`, then ≥ 3 applies, each a tipset of the node's chain at its height.
    let events = r["notify"].as_array().unwrap();
    assert_eq!(events[0]["type"], "current");
    let applies: Vec<&serde_json::Value> = events.iter().filter(|e| e["type"] == "apply").collect();
    assert!(applies.len() >= 3, "{events:?}");
    let head = node.call(api::CHAIN_HEAD, ()).await.unwrap();
    for e in applies {
        let height = e["height"].as_i64().unwrap();
        let on_chain = node
            .call(
                api::CHAIN_GET_TIP_SET_BY_HEIGHT,
                (height, head.key().clone()),
            )
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(on_chain.key()).unwrap(),
            e["cids"],
            "the applied tipset at {height} is the chain's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zondax_signed_transfer_lands_on_chain_through_mpool_push() {
    let Some(dir) = js_ready("zondax_signed_transfer_lands_on_chain_through_mpool_push") else {
        return;
    };
    let stack = Stack::start(StackOptions {
        senders: 2,
        extra_binaries: vec![("venus-messager", "venus-messager")],
        ..Default::default()
    })
    .await
    .expect("stack");
    let msgr = stack
        .start_messager(
            "messager",
            "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\n",
            &[],
        )
        .await
        .expect("messager");
    let write = stack
        .auth_cli(&["token", "gen", "--perm", "write", &stack.user])
        .unwrap();
    let node = stack.node_client().await.unwrap();

    // A key only the JS side signs with, funded through the messager from a stack sender.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x2a2a);
    let key = PrivateKey::generate(KeyType::Secp256k1, &mut rng).unwrap();
    let key_b64 = serde_json::to_value(key.to_key_info()).unwrap()["PrivateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let fund = TokenAmount::from_atto(10u128.pow(20)); // 100 FIL
    let messager = Client::builder(&msgr.url())
        .token(Some(write.clone()))
        .connect()
        .await
        .unwrap();
    let id = messager
        .call(
            m::PUSH_MESSAGE,
            (
                transfer(stack.senders[0], key.address(), fund.clone()),
                None,
            ),
        )
        .await
        .unwrap();
    venus_e2e::stack::eventually(
        "the funding message on chain",
        Duration::from_secs(120),
        || {
            let (c, id) = (&messager, id.clone());
            async move {
                c.call(m::GET_MESSAGE_BY_UID, (id,))
                    .await
                    .is_ok_and(|r| r.state == MessageState::OnChainMsg)
            }
        },
    )
    .await
    .unwrap();
    let funded = node
        .call(api::WALLET_BALANCE, (key.address(),))
        .await
        .unwrap();
    assert_eq!(funded, fund);

    let to = stack.senders[1];
    let to_before = node.call(api::WALLET_BALANCE, (to,)).await.unwrap();
    let amount = 1_234_567_890_000_000_000u128; // 1.23456789 FIL
    let r = node_script(
        &dir,
        &[
            "transfer",
            &base_url(&stack),
            &write,
            &key_b64,
            &to.to_string(),
            &amount.to_string(),
        ],
    )
    .await;
    // Zondax derived the same address from the key, and its CID of the signed message is the
    // one the node gave back.
    let from: Address = r["from"].as_str().unwrap().parse().unwrap();
    assert_eq!(from, key.address(), "{r}");
    assert_eq!(r["cid"], r["zondaxCid"], "{r}");
    assert_eq!(r["exitCode"], 0, "{r}");

    // The node agrees: the message is on chain at the height the client saw, the recipient got
    // exactly the amount, the sender paid the amount plus gas, its nonce moved on.
    let cid: venus_types::Cid = r["cid"].as_str().unwrap().parse().unwrap();
    let lookup = node
        .call(api::STATE_SEARCH_MSG, (TipSetKey::default(), cid, -1, true))
        .await
        .unwrap()
        .expect("the node finds the message on chain");
    assert_eq!(lookup.height, r["height"].as_i64().unwrap());
    assert_eq!(lookup.receipt.exit_code, 0);
    let to_after = node.call(api::WALLET_BALANCE, (to,)).await.unwrap();
    assert_eq!(
        &to_after - &to_before,
        TokenAmount::from_atto(amount),
        "the recipient's balance moved by the amount"
    );
    let actor = node
        .call(api::STATE_GET_ACTOR, (key.address(), TipSetKey::default()))
        .await
        .unwrap();
    assert_eq!(actor.nonce, 1);
    let spent = &fund - &actor.balance;
    assert!(
        spent > TokenAmount::from_atto(amount),
        "the sender paid the amount and gas: spent {spent:?}"
    );
    assert_eq!(
        r["balanceAfter"].as_str().unwrap(),
        actor.balance.to_string(),
        "the JS client's WalletBalance is the node's StateGetActor balance"
    );
}
