//! Soak: the chain service (e2e/src/stack.rs: auth, gateway, node, wallet, prover,
//! venus-messager, venus-miner) under steady message load for several minutes. Every few seconds
//! it samples, from /proc, the resident memory (VmRSS) and open file handles (fd count) of every
//! process, and the size of the wallet's repo (its keystore plus the record of signed block
//! headers, which must stay bounded). Every sample is printed as it is taken (one line: RSS MiB /
//! fds per process); at the end a table per process (start, the maximum of each quarter of the
//! run, end) shows whether a figure levelled off or kept rising, then the series per process every
//! `VENUS_SOAK_SERIES_SECS` (60 s) and the message throughput. A measurement, not a test
//! (nothing is asserted).
//!
//!   cargo bench -p venus-e2e --bench soak                       # 300 s, 4 messages/s
//!   VENUS_SOAK_SECS=1200 VENUS_SOAK_RATE=8 cargo bench -p venus-e2e --bench soak
//!   cargo bench --profile dev -p venus-e2e --bench soak         # debug binaries (no release build)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use venus_api::messager as m;
use venus_api::messager::{MessageState, MsgQueryParams};
use venus_e2e::stack::{Stack, StackOptions, transfer};
use venus_types::TokenAmount;

/// One process's samples: (seconds since the load started, RSS KiB, fds).
type Samples = Vec<(u64, u64, u64)>;

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The maximum of each quarter of the run (by sample index), for a figure picked by `f`.
fn quarter_maxima(samples: &[(u64, u64, u64)], f: impl Fn(&(u64, u64, u64)) -> u64) -> [u64; 4] {
    let n = samples.len();
    let mut out = [0; 4];
    for (i, s) in samples.iter().enumerate() {
        let q = (i * 4 / n.max(1)).min(3);
        out[q] = out[q].max(f(s));
    }
    out
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(md) if md.is_dir() => dir_bytes(&e.path()),
            Ok(md) => md.len(),
            Err(_) => 0,
        })
        .sum()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let secs = env_u64("VENUS_SOAK_SECS", 300);
    let rate = env_u64("VENUS_SOAK_RATE", 4).max(1);
    let sample_every = Duration::from_secs(env_u64("VENUS_SOAK_SAMPLE_SECS", 5));

    let stack = Arc::new(
        Stack::start(StackOptions {
            senders: 4,
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
    stack.start_miner("miner").await.expect("miner");
    let client = msgr
        .client(&stack.user_token_with("write").unwrap())
        .await
        .unwrap();

    let pushed = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let load = {
        let (pushed, refused, senders) = (pushed.clone(), refused.clone(), stack.senders.clone());
        let client = client.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / rate));
            let mut i = 0usize;
            loop {
                tick.tick().await;
                let from = senders[i % senders.len()];
                let to = senders[(i + 1) % senders.len()];
                let msg = transfer(from, to, TokenAmount::from_atto(1_000u64 + i as u64));
                match client.call(m::PUSH_MESSAGE, (msg, None)).await {
                    Ok(_) => pushed.fetch_add(1, Ordering::Relaxed),
                    Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                };
                i += 1;
            }
        })
    };

    let started = Instant::now();
    let mut samples: BTreeMap<String, Samples> = BTreeMap::new();
    let mut wallet: Vec<(u64, u64)> = Vec::new();
    let wallet_repo = stack.path().join("wallet");
    while started.elapsed() < Duration::from_secs(secs) {
        let t = started.elapsed().as_secs();
        let mut line = format!("t={t:>5} s pushed {:>6}", pushed.load(Ordering::Relaxed));
        for (name, pid) in stack.pids() {
            if let (Some(r), Some(f)) = (rss_kib(pid), fds(pid)) {
                samples.entry(name.clone()).or_default().push((t, r, f));
                line.push_str(&format!(" | {name} {}M/{f}", mib(r)));
            } else {
                line.push_str(&format!(" | {name} gone"));
            }
        }
        let w = dir_bytes(&wallet_repo);
        wallet.push((t, w));
        println!("{line} | wallet repo {w} B");
        tokio::time::sleep(sample_every).await;
    }
    load.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let head = stack.head().await.map(|h| h.height()).unwrap_or(-1);
    let on_chain = client
        .call(
            m::LIST_MESSAGE,
            (Some(MsgQueryParams {
                state: vec![MessageState::OnChainMsg],
                limit: 1_000_000,
                ..Default::default()
            }),),
        )
        .await
        .map(|l| l.len())
        .unwrap_or(0);
    println!(
        "soak: {elapsed:.0} s at {rate} msg/s: {} pushed, {} refused, {on_chain} on chain, head height {head}",
        pushed.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    let series_every = env_u64("VENUS_SOAK_SERIES_SECS", 60).max(1);
    println!();
    println!(
        "RSS (MiB), maximum of each quarter of the run ({} samples every {} s):",
        samples.values().map(Vec::len).max().unwrap_or(0),
        sample_every.as_secs()
    );
    println!("| process | start | max Q1 | max Q2 | max Q3 | max Q4 | end |");
    println!("|---|---|---|---|---|---|---|");
    for (name, s) in &samples {
        let q = quarter_maxima(s, |x| x.1);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            mib(s.first().map_or(0, |x| x.1)),
            mib(q[0]),
            mib(q[1]),
            mib(q[2]),
            mib(q[3]),
            mib(s.last().map_or(0, |x| x.1))
        );
    }
    println!();
    println!("open file handles, maximum of each quarter of the run:");
    println!("| process | start | max Q1 | max Q2 | max Q3 | max Q4 | end |");
    println!("|---|---|---|---|---|---|---|");
    for (name, s) in &samples {
        let q = quarter_maxima(s, |x| x.2);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            s.first().map_or(0, |x| x.2),
            q[0],
            q[1],
            q[2],
            q[3],
            s.last().map_or(0, |x| x.2)
        );
    }
    println!();
    println!("series every {series_every} s (RSS MiB / fds):");
    for (name, s) in &samples {
        let mut next = 0;
        let mut out = Vec::new();
        for (t, r, f) in s {
            if *t >= next {
                out.push(format!("{}/{f}", mib(*r)));
                next = t + series_every;
            }
        }
        println!("{name}: {}", out.join(" "));
    }
    let w: Vec<String> = {
        let mut next = 0;
        let mut out = Vec::new();
        for (t, b) in &wallet {
            if *t >= next {
                out.push(b.to_string());
                next = t + series_every;
            }
        }
        out
    };
    println!(
        "wallet repo (keystore + signed-blocks record) B: {}",
        w.join(" ")
    );
}
