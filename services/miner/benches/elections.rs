//! venus-miner measurements (figures in docs/benchmarks.md, section "venus-miner"):
//!
//! - `floor [N]`: the CPU floor of one epoch's elections for N miners, in this process: per
//!   miner the two VRFs the wallet computes (ticket and election proof: `DrawRandomParams`
//!   signing bytes, then a BLS signature) and the win count, spread over 2 threads as on the
//!   2-core machine; plus one thread's cost per signature and the BLS aggregate of 1,000
//!   message signatures that a full block carries.
//! - `pool [N] [ROUNDS]`: real processes (venus-auth, venus-gateway, the `venus` node,
//!   venus-wallet, venus-prover: e2e/src/stack.rs) on a 2k devnet whose genesis holds N
//!   miners of one sector sharing one worker key, mined by a `venus-miner` process: for each
//!   round, the time every election took together (base settled → last result, from its
//!   `round` log line) against the block delay, and from its `/metrics` the mean per-miner
//!   election, WinningPoSt, MinerCreateBlock, settle → block signed, and settle →
//!   SyncSubmitBlock accepted (which includes waiting for the block's timestamp).
//!
//! ```sh
//! cargo bench -p venus-miner --bench elections --profile dev -- floor 1000
//! cargo bench -p venus-miner --bench elections --profile dev -- pool 1000 10
//! cargo bench -p venus-miner --bench elections --profile dev -- pool 1 10
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use venus_consensus::randomness::{election_params, ticket_params};
use venus_e2e::command::run;
use venus_e2e::fixture::free_port;
use venus_e2e::stack::{Spec, Stack, StackOptions, wait_http};
use venus_types::{Address, BeaconEntry, KeyType, PrivateKey, Signature};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let num = |i: usize, default: usize| -> anyhow::Result<usize> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|e| anyhow::anyhow!("argument {s:?}: {e}"))
        })
    };
    match args.first().map(String::as_str) {
        Some("floor") | None => floor(num(1, 1000)?),
        Some("pool") => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(pool(num(1, 1000)?, num(2, 10)?)),
        Some(other) => anyhow::bail!("unknown benchmark {other:?}: floor [N] | pool [N] [ROUNDS]"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What the wallet signs for one miner, and the win count: the election proof, then the
/// ticket for a winner only (`ticket_first`: for every miner, before the election, as
/// sophon-miner).
fn elect_one(
    key: &PrivateKey,
    beacon: &BeaconEntry,
    miner: &Address,
    round: i64,
    ticket_first: bool,
) -> i64 {
    let ticket = || {
        let params = ticket_params(beacon, round, miner, Some(&[7u8; 96]));
        venus_types::randomness::compute_vrf(key, &params.sign_bytes()).unwrap()
    };
    if ticket_first {
        ticket();
    }
    let election = election_params(beacon, round, miner);
    let proof = venus_types::randomness::compute_vrf(key, &election.sign_bytes()).unwrap();
    let power: venus_types::StoragePower = "2048".parse().unwrap();
    let total: venus_types::StoragePower = "2048000".parse().unwrap();
    let wins = venus_consensus::compute_win_count(&proof, &power.0, &total.0);
    if wins > 0 && !ticket_first {
        ticket();
    }
    wins
}

fn floor(n: usize) -> anyhow::Result<()> {
    let mut rng = rand::thread_rng();
    let key = PrivateKey::generate(KeyType::Bls, &mut rng)?;
    let beacon = BeaconEntry {
        round: 1_000,
        data: vec![3u8; 96].into(),
    };
    let miners: Vec<Address> = (0..n as u64).map(|i| Address::new_id(1000 + i)).collect();
    for (ticket_first, what) in [
        (
            false,
            "election VRF for each, ticket VRF for winners (venus-miner)",
        ),
        (true, "ticket and election VRFs for each (sophon-miner)"),
    ] {
        println!("floor: {n} miners, {what}, on 2 threads (5 runs)");
        let mut epochs = Vec::new();
        for round in 0..5 {
            let started = Instant::now();
            let wins: i64 = std::thread::scope(|s| {
                let halves: Vec<_> = miners
                    .chunks(n.div_ceil(2))
                    .map(|chunk| {
                        let (key, beacon) = (&key, &beacon);
                        s.spawn(move || {
                            chunk
                                .iter()
                                .map(|m| elect_one(key, beacon, m, 100 + round, ticket_first))
                                .sum::<i64>()
                        })
                    })
                    .collect();
                halves.into_iter().map(|h| h.join().unwrap()).sum()
            });
            let took = started.elapsed().as_secs_f64();
            println!("  run {round}: {took:.3} s ({wins} wins)");
            epochs.push(took);
        }
        println!(
            "floor: median {:.3} s per epoch of {n} miners",
            median(epochs)
        );
    }

    let data = [5u8; 32];
    let started = Instant::now();
    let sigs: Vec<Signature> = (0..1000).map(|_| key.sign(&data)).collect();
    let per_sign = started.elapsed().as_secs_f64() / 1000.0;
    println!(
        "one thread: {:.3} ms per BLS signature (1,000 signatures)",
        per_sign * 1e3
    );
    let mut aggs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        venus_types::crypto::aggregate_bls(&sigs)?;
        aggs.push(started.elapsed().as_secs_f64());
    }
    println!(
        "BLS aggregate of 1,000 signatures: median {:.2} ms (5 runs)",
        median(aggs) * 1e3
    );
    Ok(())
}

/// A `round` line of the miner's log: (miners, winners, elections ms).
fn parse_round(line: &str) -> Option<(usize, usize, u64)> {
    let plain = strip_ansi(line);
    if !plain.contains(" round ") && !plain.ends_with(" round") {
        return None;
    }
    let field = |name: &str| -> Option<u64> {
        let at = plain.find(&format!("{name}="))? + name.len() + 1;
        plain[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((
        usize::try_from(field("miners")?).ok()?,
        usize::try_from(field("winners")?).ok()?,
        field("elections_ms")?,
    ))
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Mean of a Prometheus histogram: (sum / count, count).
fn histogram_mean(metrics: &str, name: &str) -> (f64, f64) {
    let value = |suffix: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}_{suffix} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let (sum, count) = (value("sum"), value("count"));
    (if count > 0.0 { sum / count } else { 0.0 }, count)
}

/// Mean of a per-method RPC latency histogram of a service (`…rpc_request_duration_seconds`).
fn method_mean(metrics: &str, method: &str) -> (f64, f64) {
    let value = |suffix: &str| -> f64 {
        metrics
            .lines()
            .find(|l| {
                l.contains(&format!("rpc_request_duration_seconds_{suffix}{{"))
                    && l.contains(&format!("method=\"{method}\""))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let (sum, count) = (value("sum"), value("count"));
    (if count > 0.0 { sum / count } else { 0.0 }, count)
}

async fn pool(n: usize, rounds: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        miner_sectors: vec![1; n],
        shared_worker: true,
        senders: 0,
        ..Default::default()
    })
    .await?;
    println!(
        "pool: stack with {n} genesis miners ready in {:.1} s; block delay {:?}",
        started.elapsed().as_secs_f64(),
        stack.block_delay
    );
    let bin = stack.bin_dir.join("venus-miner");
    let repo = stack.path().join("miner");
    let port = free_port()?;
    run(Command::new(&bin)
        .arg(format!("--repo={}", repo.display()))
        .args([
            "init",
            "--nettype",
            "2k",
            "--auth-api",
            &stack.auth_url,
            "--token",
            &stack.admin_token,
            "--gateway-api",
            &stack.gateway_url,
            "--api",
            &stack.node_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]))?;
    let log = stack.path().join("miner.log");
    stack.spawn(
        "miner",
        Spec {
            program: bin,
            args: vec![format!("--repo={}", repo.display()), "run".into()],
            env: Vec::new(),
            log: log.clone(),
        },
    )?;
    wait_http(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(120),
    )
    .await?;

    // Rounds with every miner (the first may start before the miner list is complete).
    let deadline =
        Instant::now() + stack.block_delay * (rounds as u32 * 3) + Duration::from_secs(120);
    let full_rounds = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let full: Vec<(usize, usize, u64)> = text
            .lines()
            .filter_map(parse_round)
            .filter(|(miners, _, _)| *miners == n)
            .collect();
        if full.len() > rounds {
            break full[1..=rounds].to_vec();
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} full rounds before the deadline; miner log:\n{}",
            full.len(),
            text.lines().rev().take(40).collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let delay_ms = stack.block_delay.as_millis() as f64;
    println!("pool: {rounds} rounds of {n} elections (base settled → every result):");
    for (i, (_, winners, ms)) in full_rounds.iter().enumerate() {
        println!(
            "  round {i}: {ms} ms, {winners} winners ({:.0} % of the block delay)",
            *ms as f64 / delay_ms * 100.0
        );
    }
    let ms: Vec<f64> = full_rounds.iter().map(|r| r.2 as f64).collect();
    println!(
        "pool: elections per epoch: median {:.0} ms, max {:.0} ms (block delay {:.0} ms)",
        median(ms.clone()),
        ms.iter().copied().fold(0.0, f64::max),
        delay_ms
    );
    let http = venus_rpc::tls::http_client_builder().build()?;
    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for (name, what) in [
        (
            "venus_miner_election_duration_seconds",
            "one miner's election",
        ),
        (
            "venus_miner_proof_duration_seconds",
            "WinningPoSt through the gateway",
        ),
        (
            "venus_miner_block_create_duration_seconds",
            "MinerCreateBlock",
        ),
        ("venus_miner_block_ready_seconds", "settled → block signed"),
        (
            "venus_miner_submit_latency_seconds",
            "settled → SyncSubmitBlock accepted",
        ),
    ] {
        let (mean, count) = histogram_mean(&metrics, name);
        println!("  {what}: mean {:.1} ms over {count}", mean * 1e3);
    }
    // Where an election's time goes, as the serving processes measured it.
    let gateway_port = stack.gateway_url.rsplit('/').next().unwrap_or_default();
    for (url, method, what) in [
        (
            format!("http://127.0.0.1:{}/metrics", stack.node_port),
            "Filecoin.MinerGetBaseInfo",
            "node: MinerGetBaseInfo",
        ),
        (
            format!("http://127.0.0.1:{gateway_port}/metrics"),
            "Gateway.WalletSign",
            "gateway: WalletSign (to the wallet and back)",
        ),
    ] {
        let text = http.get(url).send().await?.text().await?;
        let (mean, count) = method_mean(&text, method);
        println!("  {what}: mean {:.1} ms over {count}", mean * 1e3);
    }
    let timeouts = metrics
        .lines()
        .filter(|l| l.starts_with("venus_miner_election_timeouts_total{"))
        .count();
    println!("  miners with an election timeout: {timeouts}");
    Ok(())
}
