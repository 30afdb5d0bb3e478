//! Catch-up sync from one peer over loopback: node A (a 2k devnet, genesis set far enough in
//! the past) gets `SYNC_BENCH_TIPSETS` tipsets (default 1,000) of `SYNC_BENCH_MSGS` transfers
//! each (default 3) through its API; then node B starts from the genesis CAR, bootstrapped to
//! A, and the time until B's head is A's is measured. B validates every block (all consensus
//! steps, signatures, execution) as it applies it. Prints tipsets/s and B's memory over the
//! catch-up (RSS sampled as it goes, at each quarter of the range, the peak and at the end).
//!
//! The ceiling, in the same run: the same blocks (read from A beforehand) applied in this
//! process through the same path (`Node::submit_full`, in windows as the catch-up does),
//! with no network: the apply-only rate.
//!
//! `cargo bench -p venus-node --bench sync_catchup` (release binaries);
//! `SYNC_BENCH_TIPSETS=10000` for the memory figure.

#[path = "../tests/common.rs"]
mod common;
#[path = "../tests/mining/mod.rs"]
mod mining;

use std::time::{Duration, Instant};

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_chain::validate::FullBlock;
use venus_node::network::Network;
use venus_node::node::{GenesisSource, Node};
use venus_node::repo::Repo;
use venus_node::sync::catchup::MESSAGE_WINDOW;
use venus_rpc::Client;
use venus_types::crypto::{KeyType, PrivateKey};
use venus_types::{TipSet, TokenAmount};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `/proc/<pid>/status` field (`VmHWM`: peak RSS, `VmRSS`: RSS now), in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Every block of the chain ending at `head` with its messages, oldest tipset first.
async fn read_chain(c: &Client, head: &TipSet) -> Vec<Vec<FullBlock>> {
    let mut out = Vec::new();
    let mut ts = head.clone();
    while ts.height() > 0 {
        let mut blocks = Vec::new();
        for b in ts.blocks() {
            let m = c
                .call(api::CHAIN_GET_BLOCK_MESSAGES, (b.cid(),))
                .await
                .expect("block messages");
            blocks.push(FullBlock {
                header: b.clone(),
                bls_messages: m.bls_messages,
                secp_messages: m.secpk_messages,
            });
        }
        out.push(blocks);
        ts = c
            .call(api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .expect("parent");
    }
    out.reverse();
    out
}

/// Applies `chain` from genesis in this process, as a catch-up does (a write batch per
/// window of `MESSAGE_WINDOW` tipsets, every block through `Node::submit_full`); returns
/// the time taken.
async fn apply_only(
    dir: &std::path::Path,
    car: &std::path::Path,
    chain: &[Vec<FullBlock>],
) -> Duration {
    let repo = Repo::new(&dir.join("apply-only"));
    repo.ensure_dirs().expect("repo");
    let node = Node::open(&repo, Network::TwoK, GenesisSource::Car(car)).expect("node");
    let started = Instant::now();
    for window in chain.chunks(MESSAGE_WINDOW as usize) {
        let batch = node.cs.write_batch();
        for tipset in window {
            for block in tipset {
                node.submit_full(block).await.expect("valid block");
            }
        }
        batch.finish().expect("durable");
    }
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let tipsets = env_or("SYNC_BENCH_TIPSETS", 1000);
    let per_block = env_or("SYNC_BENCH_MSGS", 3);
    let dir = tempfile::tempdir().expect("tempdir");
    // Genesis far enough back that every block can be made at once (null rounds included).
    let NetworkSeed { key, car, first: a } = start_network(dir.path(), tipsets * 2 + 100);
    let ca = Client::connect(&a.url, Some(a.token.clone()))
        .await
        .expect("client");
    let to = PrivateKey::generate(KeyType::Secp256k1, &mut rand::thread_rng())
        .expect("key")
        .address();

    let built = Instant::now();
    let mut messages = 0usize;
    for i in 0..tipsets {
        let mut msgs = Vec::new();
        for _ in 0..per_block {
            let m = signed_transfer(&ca, &key, to, TokenAmount::from_atto(1u64)).await;
            ca.call(api::MPOOL_PUSH, (m.clone(),)).await.expect("push");
            msgs.push(m);
        }
        messages += msgs.len();
        produce(&ca, &key, msgs).await;
        if (i + 1) % 500 == 0 {
            eprintln!("A: {} tipsets built", i + 1);
        }
    }
    let head = ca.call(api::CHAIN_HEAD, ()).await.expect("head");
    eprintln!(
        "A: head at height {} ({tipsets} tipsets, {messages} messages) built in {:.1?}",
        head.height(),
        built.elapsed()
    );

    let listen = ca.call(api::NET_ADDRS_LISTEN, ()).await.expect("listen");
    let boot = format!("--bootstrap-peers={}/p2p/{}", listen.addrs[0], listen.id);
    let genesis = format!("--genesisfile={}", car.display());
    let repo_b = dir.path().join("b");
    write_net_config(&repo_b);
    let started = Instant::now();
    let b = start_daemon(&repo_b, &["daemon", "--network=2k", &genesis, &boot]);
    let pid = b.child.id();
    let cb = Client::connect(&b.url, Some(b.token.clone()))
        .await
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(3600);
    // RSS when B's head first reaches each quarter of A's height.
    let mut quarters: Vec<(i64, f64)> = Vec::new();
    let mut sampled_max = 0f64;
    loop {
        let h = cb.call(api::CHAIN_HEAD, ()).await.expect("head");
        let rss = status_mib(pid, "VmRSS:");
        sampled_max = sampled_max.max(rss);
        let next_quarter = head.height() * (quarters.len() as i64 + 1) / 4;
        if quarters.len() < 4 && h.height() >= next_quarter {
            quarters.push((h.height(), rss));
        }
        if h.key() == head.key() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not catch up within an hour"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let peak = status_mib(pid, "VmHWM:");
    let end = status_mib(pid, "VmRSS:");
    println!(
        "catch-up of {tipsets} tipsets ({per_block} messages each) from one peer over loopback: {:.2} s from B's start, {:.0} tipsets/s",
        took.as_secs_f64(),
        tipsets as f64 / took.as_secs_f64()
    );
    let quarters: Vec<String> = quarters
        .iter()
        .map(|(h, rss)| format!("height {h}: {rss:.0} MiB"))
        .collect();
    println!(
        "B's RSS over the catch-up: {}; sampled max {sampled_max:.0} MiB, peak (VmHWM) {peak:.0} MiB, at the end {end:.0} MiB",
        quarters.join(", ")
    );
    drop(b);

    // The ceiling: the same blocks applied without the network.
    let chain = read_chain(&ca, &head).await;
    let took = apply_only(dir.path(), &car, &chain).await;
    println!(
        "apply-only (same validation and store path, in process, no network): {} tipsets in {:.2} s, {:.0} tipsets/s",
        chain.len(),
        took.as_secs_f64(),
        chain.len() as f64 / took.as_secs_f64()
    );
}
