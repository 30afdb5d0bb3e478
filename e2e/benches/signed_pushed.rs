//! The end-to-end signed-and-pushed rate of venus-messager (e2e/src/stack.rs): messages
//! accepted by PushMessage → given nonces and gas → signed through venus-gateway by a real
//! venus-wallet → persisted → pushed to the `venus` node (MpoolBatchPushUntrusted). A burst of
//! N messages from several addresses is pushed at once (selMsgNum raised so one round can take
//! them all); the figures are the time from the first push until every message is signed and
//! in the node's message pool (or already on chain), and the pipeline's own rate from the
//! first signed message to the last. A measurement, not a test (nothing is asserted).
//!
//!   cargo bench -p venus-e2e --bench signed_pushed                          # 2,000 messages, 8 addresses
//!   VENUS_BENCH_MESSAGES=4000 VENUS_BENCH_SENDERS=8 cargo bench -p venus-e2e --bench signed_pushed

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use venus_api::full_node as api;
use venus_api::messager::{self as m, MessageState, MsgQueryParams};
use venus_e2e::stack::{Stack, StackOptions, transfer};
use venus_rpc::Client;
use venus_types::{TipSetKey, TokenAmount};

/// The messager's WaitingChainHeadStableDuration in this bench.
const DEBOUNCE: Duration = Duration::from_secs(1);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn count_in(c: &Client, states: Vec<MessageState>) -> usize {
    let p = MsgQueryParams {
        state: states,
        limit: 1_000_000,
        ..Default::default()
    };
    c.call(m::LIST_MESSAGE, (Some(p),))
        .await
        .map(|l| l.len())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let n = env_u64("VENUS_BENCH_MESSAGES", 2000) as usize;
    let senders = env_u64("VENUS_BENCH_SENDERS", 8).max(1) as usize;

    let stack = Stack::start(StackOptions::with_messager(senders))
        .await
        .expect("stack");
    let msgr = stack.start_quick_messager().await.expect("messager");
    // One round may select every message of an address (the default selMsgNum is 20).
    let admin = msgr.client(&msgr.local_token().unwrap()).await.unwrap();
    let mut shared = admin.call(m::GET_SHARED_PARAMS, ()).await.unwrap();
    shared.sel_msg_num = n as u64;
    admin
        .call(m::SET_SHARED_PARAMS, (shared,))
        .await
        .expect("set selMsgNum");
    let client = msgr
        .client(&stack.user_token_with("write").unwrap())
        .await
        .unwrap();
    let node = stack.node_client().await.unwrap();

    let started = Instant::now();
    let pushes = (0..n).map(|i| {
        let c = client.clone();
        let from = stack.senders[i % senders];
        let to = stack.senders[(i + 1) % senders];
        async move {
            let msg = transfer(from, to, TokenAmount::from_atto(1_000 + i as u64));
            c.call(m::PUSH_MESSAGE, (msg, None)).await
        }
    });
    let ids: Vec<String> = futures::stream::iter(pushes)
        .buffer_unordered(32)
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    let accepted_in = started.elapsed();
    let accepted = ids.len();

    // Until every message is signed and pushed: Fill or already OnChain in the messager, and
    // in the node's pool or on chain.
    // The round starts after the next head change plus the debounce: the pipeline's own
    // time is measured from there.
    let head_at_accept = stack.head().await.map(|h| h.height()).unwrap_or(0);
    let mut round_start: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    let (signed_at, in_pool) = loop {
        if round_start.is_none()
            && stack.head().await.map(|h| h.height()).unwrap_or(0) > head_at_accept
        {
            round_start = Some(Instant::now() + DEBOUNCE);
        }
        let signed = count_in(
            &client,
            vec![MessageState::FillMsg, MessageState::OnChainMsg],
        )
        .await;
        if signed >= accepted {
            let on_chain = count_in(&client, vec![MessageState::OnChainMsg]).await;
            let pending: HashSet<(String, u64)> = node
                .call(api::MPOOL_PENDING, (TipSetKey::default(),))
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|sm| (sm.message.from.to_string(), sm.message.nonce))
                .collect();
            if pending.len() + on_chain >= accepted {
                break (Instant::now(), pending.len() + on_chain);
            }
        }
        assert!(
            Instant::now() < deadline,
            "{signed} of {accepted} signed after 600 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let total = signed_at.duration_since(started).as_secs_f64();
    let pipeline = round_start
        .map(|t| signed_at.saturating_duration_since(t).as_secs_f64())
        .unwrap_or(total)
        .max(0.001);
    println!(
        "signed_pushed: {accepted} of {n} messages accepted in {:.2} s ({:.0} msgs/s), from {senders} addresses",
        accepted_in.as_secs_f64(),
        accepted as f64 / accepted_in.as_secs_f64()
    );
    println!(
        "signed_pushed: all signed through the gateway and in the node's pool or on chain ({in_pool}) {total:.2} s after the first push: {:.0} msgs/s end to end (including the wait for a head change and the {} s debounce)",
        accepted as f64 / total,
        DEBOUNCE.as_secs()
    );
    println!(
        "signed_pushed: from the selection round's start (head change + debounce) to the last message in the pool: {pipeline:.2} s, {:.0} msgs/s",
        accepted as f64 / pipeline
    );
}
