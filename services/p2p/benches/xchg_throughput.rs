//! Chain-exchange throughput over loopback TCP: one service serves an in-memory chain, another
//! fetches it back from the head to genesis in requests of up to 900 tipsets (headers and
//! messages, each response checked as `fetch_chain` checks it), as a catching-up node would.
//!
//!     cargo bench -p venus-p2p --bench xchg_throughput -- [TIPSETS] [BLOCKS] [MESSAGES] [ROUNDS]
//!
//! Defaults: 10,000 tipsets of 2 blocks with 4 messages each (one shared by both blocks), 3
//! rounds. Prints tipsets/s per round and the process's peak resident memory (both services).
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::{FakeChain, Node};
use venus_p2p::xchg::{self, MAX_REQUEST_LENGTH};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .map(|a| a.parse().expect("a number"))
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let tipsets = arg(0, 10_000);
    let blocks = arg(1, 2);
    let messages = arg(2, 4);
    let rounds = arg(3, 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let chain = FakeChain::new(tipsets, blocks, messages, 21);
        let sample = xchg::Response::chain(
            vec![xchg::BsTipSet {
                blocks: chain.tipsets[1].blocks.clone(),
                messages: Some(xchg::CompactedMessages::compact(&chain.tipsets[1].messages)),
            }],
            1,
        );
        let tipset_bytes = venus_types::to_cbor(&sample).expect("encode").len();
        let server = Node::start(chain.clone(), vec![]).await;
        let client = Node::start(FakeChain::new(1, 1, 0, 21), vec![]).await;
        let peer = client.handle.connect(server.addr().await).await.expect("connect");
        println!(
            "chain exchange over loopback: {tipsets} tipsets of {blocks} blocks × {messages} messages \
             (≈{tipset_bytes} bytes each on the wire), requests of {MAX_REQUEST_LENGTH}"
        );
        for round in 1..=rounds {
            let started = Instant::now();
            let mut head = chain.head().key();
            let mut fetched = 0usize;
            let mut requests = 0usize;
            loop {
                let got = client
                    .handle
                    .fetch_chain(peer, &head, MAX_REQUEST_LENGTH, xchg::HEADERS | xchg::MESSAGES)
                    .await
                    .expect("fetch");
                requests += 1;
                fetched += got.len();
                let last = got.last().expect("a tipset");
                if last.blocks[0].height == 0 {
                    break;
                }
                head = last.blocks[0].parents_key();
            }
            assert_eq!(fetched, tipsets);
            let secs = started.elapsed().as_secs_f64();
            println!(
                "round {round}: {fetched} tipsets in {requests} requests, {secs:.2} s → {:.0} tipsets/s, {:.1} MiB/s",
                fetched as f64 / secs,
                (fetched * tipset_bytes) as f64 / secs / (1 << 20) as f64,
            );
        }
        println!("peak resident memory (both services, the chain held once per side): {:.0} MiB", peak_rss_mib());
    });
}
