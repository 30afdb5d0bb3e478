//! The whole flow on the chain service (e2e/src/stack.rs): messages pushed to venus-messager
//! with a mining cluster's write token land on chain with receipts; `Filecoin.StateWaitMsg` on
//! the node agrees with the messager's record (the inclusion tipset and height, the receipt); each sender's nonces
//! are 0, 1, 2, … with none reused; the registered miner's blocks make the chain.
//!
//! Two miners mined by the real venus-miner are covered by seed_guide.rs (the guide's flow);
//! this stack seeds one genesis miner.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed assertion

use std::time::Duration;

use venus_api::full_node as api;
use venus_e2e::stack::{Stack, StackOptions, chain_blocks, check_gap_free, transfer};
use venus_types::TokenAmount;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_land_with_receipts_that_the_node_confirms() {
    let stack = Stack::start(StackOptions::with_messager(2))
        .await
        .expect("stack");
    let msgr = stack.start_quick_messager().await.expect("messager");
    let write = stack.user_token_with("write").unwrap();
    let messager = msgr.client(&write).await.unwrap();
    let node = stack.node_client().await.unwrap();

    // 6 messages from each of the two senders, to the other, in one burst.
    let per_sender = 6u64;
    let mut burst = Vec::new();
    for i in 0..per_sender {
        for (from, to) in [
            (stack.senders[0], stack.senders[1]),
            (stack.senders[1], stack.senders[0]),
        ] {
            let value = TokenAmount::from_atto(1_000_000_000_000u64 + i);
            burst.push(transfer(from, to, value));
        }
    }
    let records = stack
        .push_and_wait(&messager, burst, Duration::from_secs(180))
        .await
        .unwrap_or_else(|e| panic!("{e}\nmessager log:\n{}", stack.log("messager")));

    for r in &records {
        let receipt = r.receipt.clone().expect("an on-chain record has a receipt");
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
    // Nonces 0..6 per sender, none reused or skipped; the chain's nonce is 6.
    check_gap_free(&node, &records).await.unwrap();
    assert_eq!(records.len() as u64, 2 * per_sender);

    // Every block from the head down was made by the user's registered miner, and it mined.
    let blocks = chain_blocks(&node).await.unwrap();
    assert!(!blocks.is_empty(), "the registered miner mined no block");
    for (miner, height) in blocks {
        assert_eq!(
            miner, stack.miner,
            "a block by an unknown miner at {height}"
        );
    }
}
