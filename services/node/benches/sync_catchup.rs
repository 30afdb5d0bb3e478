//! Catch-up sync from one peer over loopback: node A (a 2k devnet, genesis set far enough in
//! the past) gets `SYNC_BENCH_TIPSETS` tipsets (default 1,000) of `SYNC_BENCH_MSGS` transfers
//! each (default 3) through its API; then node B starts from the genesis CAR, bootstrapped to
//! A, and the time until B's head is A's is measured. B validates every block (all consensus
//! steps, signatures, execution) as it applies it. Prints tipsets/s and B's peak RSS.
//!
//! `cargo bench -p venus-node --bench sync_catchup` (release binaries).

#[path = "../tests/common.rs"]
mod common;
#[path = "../tests/mining/mod.rs"]
mod mining;

use std::time::{Duration, Instant};

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::TokenAmount;
use venus_types::crypto::{KeyType, PrivateKey};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set of a process (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
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
        if (i + 1) % 100 == 0 {
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
    let cb = Client::connect(&b.url, Some(b.token.clone()))
        .await
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let h = cb.call(api::CHAIN_HEAD, ()).await.expect("head");
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
    let rss = peak_rss_mib(b.child.id());
    println!(
        "catch-up of {tipsets} tipsets ({per_block} messages each) from one peer over loopback: {:.2} s from B's start, {:.0} tipsets/s; B's peak RSS {rss:.0} MiB",
        took.as_secs_f64(),
        tipsets as f64 / took.as_secs_f64()
    );
}
