//! venus-messager against real venus-auth, venus-gateway, venus node, venus-wallet and
//! venus-prover processes (e2e/src/stack.rs): messages from several addresses land on chain
//! with gap-free nonces; a kill -9 mid-run loses and duplicates nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use venus_api::messager::{self as m, MessageState, MsgQueryParams};
use venus_e2e::stack::{
    Stack, StackOptions, check_gap_free, eventually, transfer_atto, wait_on_chain,
};
use venus_rpc::Client;

/// How many messages the bulk test pushes (at least 200 are always checked).
fn message_count() -> usize {
    std::env::var("VENUS_MESSAGER_E2E_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240)
        .max(200)
}

async fn all_on_chain(c: &Client, n: usize) -> bool {
    let p = MsgQueryParams {
        state: vec![MessageState::OnChainMsg],
        limit: 100_000,
        ..Default::default()
    };
    c.call(m::LIST_MESSAGE, (Some(p),))
        .await
        .map(|l| l.len() >= n)
        .unwrap_or(false)
}

/// Every message on chain exactly once with a receipt, nonces 0..k per sender without a gap,
/// and the chain's nonce of each sender equal to k.
async fn check_all_landed_gap_free(stack: &Stack, c: &Client, ids: &[String]) {
    let records = wait_on_chain(c, ids, Duration::from_secs(5)).await.unwrap();
    assert!(
        records
            .iter()
            .all(|r| r.height > 0 && r.signed_cid.is_some())
    );
    let node = stack.node_client().await.unwrap();
    check_gap_free(&node, &records).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_from_several_addresses_land_with_gap_free_nonces_across_a_kill_9() {
    let stack = Stack::start(StackOptions::with_messager(3))
        .await
        .expect("stack");
    let config = "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\n";
    let msgr = stack
        .start_messager("messager", config, &[])
        .await
        .expect("messager");
    let c = Client::builder(&msgr.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    let mut shared = c.call(m::GET_SHARED_PARAMS, ()).await.unwrap();
    assert_eq!(shared.sel_msg_num, 20, "the original's default");
    shared.sel_msg_num = 80;
    c.call(m::SET_SHARED_PARAMS, (shared,)).await.unwrap();

    let n = message_count();
    let half = n / 2;
    let mut ids = Vec::new();
    for i in 0..half {
        let from = stack.senders[i % stack.senders.len()];
        let to = stack.senders[(i + 1) % stack.senders.len()];
        ids.push(
            c.call(
                m::PUSH_MESSAGE,
                (transfer_atto(from, to, 1 + i as u64), None),
            )
            .await
            .unwrap(),
        );
    }
    // Some of them get signed and pushed; then the messager dies mid-run.
    eventually("some messages signed", Duration::from_secs(60), || {
        let c = c.clone();
        async move {
            let p = MsgQueryParams {
                state: vec![MessageState::FillMsg, MessageState::OnChainMsg],
                limit: 100_000,
                ..Default::default()
            };
            c.call(m::LIST_MESSAGE, (Some(p),))
                .await
                .map(|l| !l.is_empty())
                .unwrap_or(false)
        }
    })
    .await
    .unwrap();
    stack.kill("messager").unwrap();
    stack.restart("messager").unwrap();
    venus_e2e::stack::wait_http(
        &format!("http://127.0.0.1:{}/readyz", msgr.port),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let c = Client::builder(&msgr.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    for i in half..n {
        let from = stack.senders[i % stack.senders.len()];
        let to = stack.senders[(i + 1) % stack.senders.len()];
        ids.push(
            c.call(
                m::PUSH_MESSAGE,
                (transfer_atto(from, to, 1 + i as u64), None),
            )
            .await
            .unwrap(),
        );
    }
    let within = Duration::from_secs(60 + 2 * n as u64);
    if let Err(e) = eventually("every message on chain", within, || all_on_chain(&c, n)).await {
        panic!("{e}\nmessager log:\n{}", stack.log("messager"));
    }
    check_all_landed_gap_free(&stack, &c, &ids).await;
    let metrics = msgr.metrics().await.unwrap();
    assert!(metrics.contains("venus_messager_messages{"), "{metrics}");
    assert!(metrics.contains("venus_messager_lease_holder"), "{metrics}");
}
