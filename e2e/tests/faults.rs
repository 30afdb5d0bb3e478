//! Faults on the chain service (e2e/src/stack.rs): under steady message traffic through
//! venus-messager, each component is killed with SIGKILL in turn and restarted; afterwards no
//! message is lost (every pushed message is on chain with a receipt), no nonce is reused or
//! skipped (each sender's on-chain nonces are 0..n), and no epoch is double-mined (at most one
//! block per (miner, epoch) on the chain).
//!
//! Not here: the node-to-node item (two nodes synced over libp2p) — the node has no libp2p sync
//! yet; the block maker of this stack is its in-test block producer, so killing venus-miner and
//! the two-messager/two-miner lease takeovers are covered by messager_failover.rs and
//! miner_pool.rs, not repeated here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use venus_api::full_node as api;
use venus_api::messager::{self as m, MessageState};
use venus_e2e::stack::{Stack, StackOptions, wait_http};
use venus_rpc::Client;
use venus_types::{Address, Base64Bytes, TokenAmount};

fn transfer(from: Address, to: Address, value: u64) -> venus_types::Message {
    venus_types::Message {
        version: 0,
        to,
        from,
        nonce: 0,
        value: TokenAmount::from_atto(value),
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: Base64Bytes::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_each_component_under_traffic_loses_nothing() {
    let stack = Arc::new(
        Stack::start(StackOptions {
            senders: 2,
            extra_binaries: vec![("venus-messager", "venus-messager")],
            ..Default::default()
        })
        .await
        .expect("stack"),
    );
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
                    c.call(m::PUSH_MESSAGE, (transfer(from, to, 1_000 + i), None))
                        .await
                        .ok()
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
    for name in ["messager", "node", "gateway", "wallet", "prover", "auth"] {
        tokio::time::sleep(stack.block_delay * 2).await;
        let before = ids.lock().await.len();
        stack.kill(name).unwrap();
        assert!(!stack.is_running(name), "{name} still runs after SIGKILL");
        tokio::time::sleep(stack.block_delay).await;
        stack.restart(name).unwrap();
        let ready = match name {
            "messager" => Some(messager_ready.as_str()),
            "node" => Some(node_ready.as_str()),
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
    let messager = Client::builder(&url)
        .token(Some(write))
        .connect()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    let records = loop {
        let mut on_chain = Vec::new();
        let mut pending = Vec::new();
        for id in &ids {
            match messager.call(m::GET_MESSAGE_BY_UID, (id.clone(),)).await {
                Ok(r) if r.state == MessageState::OnChainMsg => on_chain.push(r),
                Ok(r) => pending.push(format!("{}:{:?}", r.id, r.state)),
                Err(e) => pending.push(format!("{id}: {e}")),
            }
        }
        if pending.is_empty() {
            break on_chain;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} messages not on chain: {pending:?}",
            pending.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let node = stack.node_client().await.unwrap();
    let mut nonces: BTreeMap<Address, Vec<u64>> = BTreeMap::new();
    for r in &records {
        assert_eq!(r.receipt.as_ref().map(|x| x.exit_code), Some(0), "{r:?}");
        nonces.entry(r.from).or_default().push(r.nonce);
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
    for (from, mut n) in nonces {
        let count = n.len() as u64;
        n.sort_unstable();
        let distinct: BTreeSet<u64> = n.iter().copied().collect();
        assert_eq!(
            distinct.len() as u64,
            count,
            "{from}: a nonce used twice: {n:?}"
        );
        assert_eq!(n, (0..count).collect::<Vec<_>>(), "{from}: nonces skipped");
        let actor = node
            .call(api::STATE_GET_ACTOR, (from, Default::default()))
            .await
            .unwrap();
        assert_eq!(actor.nonce, count, "{from}: chain nonce");
    }
    // No epoch double-mined: at most one block per (miner, epoch) on the chain.
    let mut seen: BTreeSet<(Address, i64)> = BTreeSet::new();
    let mut ts = node.call(api::CHAIN_HEAD, ()).await.unwrap();
    while ts.height() > 0 {
        for b in ts.blocks() {
            assert!(
                seen.insert((b.miner, ts.height())),
                "{} mined two blocks at epoch {}",
                b.miner,
                ts.height()
            );
        }
        ts = node
            .call(api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .unwrap();
    }
    eprintln!(
        "{} messages on chain, {} blocks, after 6 kills",
        records.len(),
        seen.len()
    );
}
