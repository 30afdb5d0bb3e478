//! Faults on the chain service (e2e/src/stack.rs): under steady message traffic through
//! venus-messager, with blocks mined by venus-miner, each component is killed with SIGKILL in
//! turn and restarted — messager, node, gateway, wallet, prover, miner, auth; afterwards no
//! message is lost (every pushed message is on chain with a receipt the node confirms), no
//! nonce is reused or skipped (each sender's on-chain nonces are 0..n), and no epoch is
//! double-mined (at most one block per (miner, epoch) on the chain).
//!
//! Not here: the node-to-node item (two nodes synced over libp2p) — it needs node sync; the
//! two-messager/two-miner lease takeovers are messager_mysql.rs and miner_pool.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use venus_api::full_node as api;
use venus_api::messager as m;
use venus_e2e::stack::{
    Stack, StackOptions, chain_blocks, check_gap_free, check_no_epoch_mined_twice, transfer,
    wait_http, wait_on_chain,
};
use venus_rpc::Client;
use venus_types::TokenAmount;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_each_component_under_traffic_loses_nothing() {
    let stack = Arc::new(
        Stack::start(StackOptions {
            senders: 2,
            produce_blocks: false,
            extra_binaries: vec![
                ("venus-messager", "venus-messager"),
                ("venus-miner", "venus-miner"),
            ],
            ..Default::default()
        })
        .await
        .expect("stack"),
    );
    let msgr = stack.start_quick_messager().await.expect("messager");
    let miner = stack.start_miner("miner").await.expect("miner");
    let write = stack.user_token_with("write").unwrap();
    let url = msgr.url();

    // Steady traffic: one message every 300 ms, alternating senders; a push refused while the
    // messager is down is retried (the caller saw an error, so nothing was accepted).
    let ids = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (ids, stop, senders, url, write) = (
            ids.clone(),
            stop.clone(),
            stack.senders.clone(),
            url.clone(),
            write.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = if i.is_multiple_of(2) {
                    (senders[0], senders[1])
                } else {
                    (senders[1], senders[0])
                };
                let pushed = async {
                    let c = Client::builder(&url)
                        .token(Some(write.clone()))
                        .timeout(Duration::from_secs(5))
                        .connect()
                        .await
                        .ok()?;
                    let msg = transfer(from, to, TokenAmount::from_atto(1_000 + i));
                    c.call(m::PUSH_MESSAGE, (msg, None)).await.ok()
                };
                if let Some(id) = pushed.await {
                    ids.lock().await.push(id);
                    i += 1;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };

    // Kill -9 each component in turn, leave it down a little, restart, wait until it serves.
    let node_ready = format!("http://127.0.0.1:{}/readyz", stack.node_port);
    let messager_ready = format!("http://127.0.0.1:{}/readyz", msgr.port);
    let miner_ready = format!("http://127.0.0.1:{}/readyz", miner.port);
    for name in [
        "messager", "node", "gateway", "wallet", "prover", "miner", "auth",
    ] {
        tokio::time::sleep(stack.block_delay * 2).await;
        let before = ids.lock().await.len();
        stack.kill(name).unwrap();
        assert!(!stack.is_running(name), "{name} still runs after SIGKILL");
        tokio::time::sleep(stack.block_delay).await;
        stack.restart(name).unwrap();
        let ready = match name {
            "messager" => Some(messager_ready.as_str()),
            "node" => Some(node_ready.as_str()),
            "miner" => Some(miner_ready.as_str()),
            _ => None,
        };
        if let Some(u) = ready {
            wait_http(u, Duration::from_secs(90))
                .await
                .unwrap_or_else(|e| panic!("{name} after restart: {e}\n{}", stack.log(name)));
        }
        eprintln!(
            "killed and restarted {name}; {} messages pushed so far ({} before the kill)",
            ids.lock().await.len(),
            before
        );
    }
    tokio::time::sleep(stack.block_delay * 2).await;
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    let ids = ids.lock().await.clone();
    assert!(
        ids.len() > 20,
        "too little traffic to mean anything: {}",
        ids.len()
    );

    // No message lost: every accepted push ends on chain with a receipt.
    let messager = msgr.client(&write).await.unwrap();
    let records = wait_on_chain(&messager, &ids, Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}\nmessager log:\n{}", stack.log("messager")));
    let node = stack.node_client().await.unwrap();
    for r in &records {
        let lookup = node
            .call(
                api::STATE_SEARCH_MSG,
                (Default::default(), r.signed_cid.unwrap(), -1, true),
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the node does not find {} on chain", r.id));
        // The record holds the inclusion tipset, the lookup the executing one (its child).
        let executed = node
            .call(api::CHAIN_GET_TIP_SET, (lookup.tipset.clone(),))
            .await
            .unwrap();
        assert_eq!(executed.parents(), r.tipset_key, "{}", r.id);
        assert_eq!(lookup.receipt.exit_code, 0, "{}", r.id);
    }
    // No nonce reused or skipped, and the chain's nonce is the count.
    check_gap_free(&node, &records).await.unwrap();
    // No epoch double-mined: at most one block per (miner, epoch) on the chain; and the miner
    // mined after its own restart.
    let blocks = chain_blocks(&node).await.unwrap();
    check_no_epoch_mined_twice(&blocks).unwrap();
    assert!(
        blocks.iter().all(|(a, _)| *a == stack.miner),
        "a block by an unknown miner: {blocks:?}"
    );
    eprintln!(
        "{} messages on chain, {} blocks, after 7 kills",
        records.len(),
        blocks.len()
    );
}
