//! The whole flow on the chain service (e2e/src/stack.rs): messages pushed to venus-messager
//! with a mining cluster's write token land on chain with receipts; `Filecoin.StateWaitMsg` on
//! the node agrees with the messager's record (the inclusion tipset and height, the receipt); each sender's nonces
//! are 0, 1, 2, … with none reused; the registered miner's blocks make the chain.
//!
//! Two miners mined by the real venus-miner are covered by seed_guide.rs (the guide's flow);
//! this stack seeds one genesis miner.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::collections::BTreeMap;
use std::time::Duration;

use venus_api::full_node as api;
use venus_api::messager::{self as m, MessageRecord, MessageState};
use venus_e2e::stack::{Stack, StackOptions};
use venus_rpc::Client;
use venus_types::{Address, Base64Bytes, TokenAmount};

fn transfer(from: Address, to: Address, value: TokenAmount) -> venus_types::Message {
    venus_types::Message {
        version: 0,
        to,
        from,
        nonce: 0,
        value,
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: Base64Bytes::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_land_with_receipts_that_the_node_confirms() {
    let stack = Stack::start(StackOptions {
        senders: 2,
        extra_binaries: vec![("venus-messager", "venus-messager")],
        ..Default::default()
    })
    .await
    .expect("stack");
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
    let messager = Client::builder(&msgr.url())
        .token(Some(write))
        .connect()
        .await
        .unwrap();
    let node = stack.node_client().await.unwrap();

    // 6 messages from each of the two senders, to the other, in one burst.
    let per_sender = 6u64;
    let mut ids = Vec::new();
    for i in 0..per_sender {
        for (from, to) in [
            (stack.senders[0], stack.senders[1]),
            (stack.senders[1], stack.senders[0]),
        ] {
            let value = TokenAmount::from_atto(1_000_000_000_000u64 + i);
            let id = messager
                .call(m::PUSH_MESSAGE, (transfer(from, to, value), None))
                .await
                .unwrap();
            ids.push(id);
        }
    }
    let records: Vec<MessageRecord> =
        eventually_all_on_chain(&messager, &ids, Duration::from_secs(180)).await;

    let mut nonces: BTreeMap<Address, Vec<u64>> = BTreeMap::new();
    for r in &records {
        let receipt = r.receipt.clone().expect("an on-chain record has a receipt");
        assert_eq!(receipt.exit_code, 0, "{r:?}");
        nonces.entry(r.from).or_default().push(r.nonce);
        // The node's StateWaitMsg for the signed CID agrees with the messager's record.
        let cid = r.signed_cid.expect("a signed record has its CID");
        let lookup = node
            .call(api::STATE_WAIT_MSG, (cid, 1, -1, true))
            .await
            .unwrap();
        // The messager records the inclusion tipset (as sophon-messager); StateWaitMsg names the
        // tipset that executed it, whose parent that is.
        let executed = node
            .call(api::CHAIN_GET_TIP_SET, (lookup.tipset.clone(),))
            .await
            .unwrap();
        assert_eq!(executed.height(), lookup.height);
        assert_eq!(
            executed.parents(),
            r.tipset_key,
            "inclusion tipset of {}",
            r.id
        );
        let included = node
            .call(api::CHAIN_GET_TIP_SET, (r.tipset_key.clone(),))
            .await
            .unwrap();
        assert_eq!(included.height(), r.height, "inclusion height of {}", r.id);
        assert_eq!(lookup.receipt, receipt, "receipt of {}", r.id);
        // The chain holds exactly what was signed.
        let unsigned = r
            .unsigned_cid
            .expect("a signed record has its unsigned CID");
        let msg = node
            .call(api::CHAIN_GET_MESSAGE, (unsigned,))
            .await
            .unwrap();
        assert_eq!(
            (msg.from, msg.nonce, &msg.value),
            (r.from, r.nonce, &r.value)
        );
    }
    for (from, mut n) in nonces {
        n.sort_unstable();
        assert_eq!(
            n,
            (0..per_sender).collect::<Vec<_>>(),
            "{from}: nonces 0..{per_sender}, none reused or skipped"
        );
        let actor = node
            .call(api::STATE_GET_ACTOR, (from, Default::default()))
            .await
            .unwrap();
        assert_eq!(actor.nonce, per_sender, "{from}: the chain's nonce");
    }

    // Every block from the head down was made by the user's registered miner, and it mined.
    let mut ts = node.call(api::CHAIN_HEAD, ()).await.unwrap();
    let mut blocks = 0;
    while ts.height() > 0 {
        for b in ts.blocks() {
            assert_eq!(
                b.miner,
                stack.miner,
                "a block by an unknown miner at {}",
                ts.height()
            );
            blocks += 1;
        }
        ts = node
            .call(api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .unwrap();
    }
    assert!(blocks > 0, "the registered miner mined no block");
}

async fn eventually_all_on_chain(
    c: &Client,
    ids: &[String],
    within: Duration,
) -> Vec<MessageRecord> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let mut got = Vec::new();
        for id in ids {
            match c.call(m::GET_MESSAGE_BY_UID, (id.clone(),)).await {
                Ok(r) if r.state == MessageState::OnChainMsg => got.push(r),
                Ok(r) => assert!(r.state != MessageState::FailedMsg, "message failed: {r:?}"),
                Err(_) => {}
            }
        }
        if got.len() == ids.len() {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {} messages on chain after {within:?}",
            got.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
