//! The end-to-end signed-and-pushed rate of venus-messager (e2e/src/stack.rs): messages
//! accepted by PushMessage → given nonces and gas → signed through venus-gateway by a real
//! venus-wallet → persisted → pushed to the `venus` node (MpoolBatchPushUntrusted). A burst of
//! N messages from several addresses is pushed at once (100 per address by default: the most
//! a node takes per sender from untrusted pushes, so one round can take them all); the figures
//! are the time from the first push until every message is signed and in the node's message
//! pool (or already on chain), and the pipeline's own rate from the first signed message to
//! the last, with the messager's time per step (`venus_messager_round_phase_seconds`).
//!
//! Then, in the same run, the ceilings: each step alone at the messager's concurrency (8
//! addresses at once, 16 signatures in flight per address), straight against the node and
//! the gateway — `GasBatchEstimateMessageGas` of 100 messages per address,
//! `Gateway.WalletSign` of each, `MpoolBatchPushUntrusted` of 100 per address. A measurement,
//! not a test (nothing is asserted).
//!
//!   cargo bench -p venus-e2e --bench signed_pushed                          # 2,000 messages, 20 addresses
//!   VENUS_BENCH_MESSAGES=4000 VENUS_BENCH_SENDERS=40 cargo bench -p venus-e2e --bench signed_pushed

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use venus_api::full_node::{self as api, EstimateMessage};
use venus_api::gateway as gw;
use venus_api::messager::{self as m, MessageState, MsgQueryParams};
use venus_e2e::stack::{Stack, StackOptions, transfer};
use venus_rpc::Client;
use venus_types::{Base64Bytes, MsgMeta, MsgType, SignedMessage, TipSetKey, TokenAmount};

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
    let senders = env_u64("VENUS_BENCH_SENDERS", 20).max(1) as usize;

    let stack = Stack::start(StackOptions::with_messager(senders))
        .await
        .expect("stack");
    let msgr = stack.start_quick_messager().await.expect("messager");
    // One round may select every message of an address (the default selMsgNum is 20; the
    // messager keeps at most 100 in flight per address whatever selMsgNum says).
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
    // in the node's pool or on chain. The messager selects newly accepted messages at once
    // (not only at the next head): the pipeline's own time runs from its first signed
    // message to the last one in the pool.
    let mut first_signed: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    let (signed_at, in_pool) = loop {
        let signed = count_in(
            &client,
            vec![MessageState::FillMsg, MessageState::OnChainMsg],
        )
        .await;
        if signed > 0 && first_signed.is_none() {
            first_signed = Some(Instant::now());
        }
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
    let pipeline = first_signed
        .map(|t| signed_at.saturating_duration_since(t).as_secs_f64())
        .unwrap_or(total)
        .max(0.001);
    println!(
        "signed_pushed: {accepted} of {n} messages accepted in {:.2} s ({:.0} msgs/s), from {senders} addresses",
        accepted_in.as_secs_f64(),
        accepted as f64 / accepted_in.as_secs_f64()
    );
    println!(
        "signed_pushed: all signed through the gateway and in the node's pool or on chain ({in_pool}) {total:.2} s after the first push: {:.0} msgs/s end to end",
        accepted as f64 / total
    );
    println!(
        "signed_pushed: from the first message signed to the last in the pool: {pipeline:.2} s, {:.0} msgs/s",
        accepted as f64 / pipeline
    );
    if let Ok(text) = msgr.metrics().await {
        for phase in ["select", "estimate", "sign", "persist", "push", "repush"] {
            let sum = metric(&text, "venus_messager_round_phase_seconds_sum", phase);
            let count = metric(&text, "venus_messager_round_phase_seconds_count", phase);
            println!(
                "signed_pushed: messager step {phase}: {count:.0} address rounds, {sum:.2} s in all"
            );
        }
    }

    // ---- The ceilings, each step alone, once the pool has drained onto the chain.
    let drained = Instant::now() + Duration::from_secs(300);
    while Instant::now() < drained {
        let pending = node
            .call(api::MPOOL_PENDING, (TipSetKey::default(),))
            .await
            .map(|p| p.len())
            .unwrap_or(usize::MAX);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let per = (n / senders).clamp(1, 100);
    let head = stack.head().await.expect("head");
    let t = Instant::now();
    let estimated: Vec<Vec<venus_types::Message>> =
        futures::stream::iter(stack.senders.iter().copied().enumerate().map(|(k, from)| {
            let node = node.clone();
            let to = stack.senders[(k + 1) % senders];
            let key = head.key().clone();
            async move {
                let nonce = node
                    .call(api::MPOOL_GET_NONCE, (from,))
                    .await
                    .expect("nonce");
                let list: Vec<EstimateMessage> = (0..per)
                    .map(|i| EstimateMessage {
                        msg: transfer(from, to, TokenAmount::from_atto(7 + i as u64)),
                        spec: None,
                    })
                    .collect();
                let out = node
                    .call(api::GAS_BATCH_ESTIMATE_MESSAGE_GAS, (list, nonce, key))
                    .await
                    .expect("estimate");
                out.into_iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        r.msg.map(|mut m| {
                            m.nonce = nonce + i as u64;
                            m
                        })
                    })
                    .collect::<Vec<_>>()
            }
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let estimate_time = t.elapsed().as_secs_f64();
    let total: usize = estimated.iter().map(Vec::len).sum();

    let gateway = Client::builder(&stack.gateway_url)
        .version("v2")
        .token(Some(stack.admin_token.clone()))
        .timeout(Duration::from_secs(60))
        .connect()
        .await
        .expect("gateway");
    let accounts = vec![stack.user.clone()];
    let t = Instant::now();
    let signed: Vec<Vec<SignedMessage>> =
        futures::stream::iter(estimated.into_iter().map(|msgs| {
            let gateway = gateway.clone();
            let accounts = accounts.clone();
            async move {
                futures::stream::iter(msgs.into_iter().map(|m| {
                    let gateway = gateway.clone();
                    let accounts = accounts.clone();
                    async move {
                        let meta = MsgMeta {
                            msg_type: MsgType::parse("message"),
                            extra: Base64Bytes(m.to_cbor()),
                        };
                        let sig = gateway
                            .call(
                                gw::WALLET_SIGN,
                                (m.from, accounts, Base64Bytes(m.signing_bytes()), meta),
                            )
                            .await
                            .expect("sign");
                        SignedMessage {
                            message: m,
                            signature: sig,
                        }
                    }
                }))
                .buffered(16)
                .collect::<Vec<_>>()
                .await
            }
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let sign_time = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let pushed: usize = futures::stream::iter(signed.into_iter().map(|msgs| {
        let node = node.clone();
        async move {
            node.call(api::MPOOL_BATCH_PUSH_UNTRUSTED, (msgs,))
                .await
                .map(|c| c.len())
                .unwrap_or_else(|e| {
                    eprintln!("push: {e}");
                    0
                })
        }
    }))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .sum();
    let push_time = t.elapsed().as_secs_f64();
    let rate = |k: usize, secs: f64| k as f64 / secs.max(0.001);
    println!(
        "signed_pushed: ceiling, each step alone ({senders} addresses × {per}, 8 addresses at once): GasBatchEstimateMessageGas {total} in {estimate_time:.2} s ({:.0} msgs/s); Gateway.WalletSign → wallet {total} in {sign_time:.2} s ({:.0} msgs/s, 16 in flight per address); MpoolBatchPushUntrusted {pushed} in {push_time:.2} s ({:.0} msgs/s)",
        rate(total, estimate_time),
        rate(total, sign_time),
        rate(pushed, push_time)
    );
    println!(
        "signed_pushed: ceiling of the three in sequence: {:.0} msgs/s",
        rate(total, estimate_time + sign_time + push_time)
    );
}

/// The value of `name{phase="<phase>"}` in a Prometheus text exposition (0 when absent).
fn metric(text: &str, name: &str, phase: &str) -> f64 {
    let prefix = format!("{name}{{phase=\"{phase}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
