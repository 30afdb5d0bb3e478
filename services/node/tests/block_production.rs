//! A local 2k network from `venus seed` files, blocks produced through the API the way
//! sophon-miner does (MinerGetBaseInfo → ticket and election VRFs with the worker key →
//! MinerCreateBlock → sign → SyncSubmitBlock), wrong blocks rejected with reasons, a FIL
//! transfer through the mpool, and a restart that resumes from disk.

mod common;
mod mining;

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::crypto::{KeyType, PrivateKey};
use venus_types::{BlockMsg, Ticket, TokenAmount};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_through_the_api_rejections_transfer_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tpl, key) = seed_network(dir.path());
    let repo = dir.path().join("repo");
    write_free_port_config(&repo);
    let car = dir.path().join("devgen.car");
    let make = format!("--make-genesis={}", car.display());
    let gt = format!("--genesis-template={}", tpl.display());
    let d = start_daemon(&repo, &["daemon", "--network=2k", &make, &gt]);
    let c = Client::connect(&d.url, Some(d.token.clone()))
        .await
        .expect("client");

    let name = c.call(api::STATE_NETWORK_NAME, ()).await.expect("name");
    assert!(name.starts_with("localnet-"), "{name}");
    let b1 = produce(&c, &key, Vec::new()).await;
    let head = c.call(api::CHAIN_HEAD, ()).await.expect("head");
    assert_eq!(head.cids(), &[b1.header.cid()][..]);

    // Wrong blocks are refused with the failing step in the error.
    let p = winning_template(&c, &key, &head, Vec::new()).await;
    wait_for_time(p.template.timestamp).await;
    let good = c
        .call(api::MINER_CREATE_BLOCK, (p.template.clone(),))
        .await
        .expect("create");
    let sign = |mut b: BlockMsg| {
        b.header.block_sig = Some(key.sign(&b.header.signing_bytes()));
        b
    };
    let mut bad_ticket = good.clone();
    bad_ticket.header.ticket = Some(Ticket {
        vrf_proof: vec![7u8; 96].into(),
    });
    let mut bad_time = good.clone();
    bad_time.header.timestamp += 1;
    let mut bad_weight = good.clone();
    bad_weight.header.parent_weight = venus_types::BigInt::from(12345);
    let mut bad_sig = good.clone();
    bad_sig.header.block_sig = Some(
        PrivateKey::generate(KeyType::Bls, &mut rand::thread_rng())
            .expect("k")
            .sign(&good.header.signing_bytes()),
    );
    for (block, step) in [
        (sign(bad_ticket), "ticket"),
        (sign(bad_time), "timestamp"),
        (sign(bad_weight), "state"),
        (bad_sig, "block-signature"),
        (good.clone(), "sanity"),
    ] {
        let e = c
            .call(api::SYNC_SUBMIT_BLOCK, (block,))
            .await
            .expect_err("must be rejected");
        assert!(
            e.to_string().contains(&format!("step {step}")),
            "{step}: {e}"
        );
    }
    c.call(api::SYNC_SUBMIT_BLOCK, (sign(good),))
        .await
        .expect("the untampered block");

    // Send FIL from the miner's owner (funded at genesis) to a new address.
    let to = PrivateKey::generate(KeyType::Secp256k1, &mut rand::thread_rng())
        .expect("k")
        .address();
    let signed = signed_transfer(&c, &key, to, TokenAmount::from_whole(3)).await;
    let cid = c
        .call(api::MPOOL_PUSH, (signed.clone(),))
        .await
        .expect("push");
    assert_eq!(cid, signed.cid());
    let again = c
        .call(api::MPOOL_PUSH, (signed.clone(),))
        .await
        .expect_err("duplicate");
    assert!(again.to_string().contains("already"), "{again}");
    let selected = c
        .call(api::MPOOL_SELECTS, (Default::default(), vec![0.9]))
        .await
        .expect("select");
    assert_eq!(selected[0].len(), 1);
    produce(&c, &key, selected[0].clone()).await;
    produce(&c, &key, Vec::new()).await; // executes the message (deferred execution)
    let found = c
        .call(api::STATE_SEARCH_MSG, (Default::default(), cid, -1, true))
        .await
        .expect("search")
        .expect("found");
    assert_eq!(found.receipt.exit_code, 0);
    let bal = c.call(api::WALLET_BALANCE, (to,)).await.expect("balance");
    assert_eq!(bal, TokenAmount::from_whole(3));
    let head_before = c.call(api::CHAIN_HEAD, ()).await.expect("head");

    // Restart from disk: same head.
    drop(c);
    drop(d);
    let d = start_daemon(&repo, &["daemon"]);
    let c = Client::connect(&d.url, Some(d.token.clone()))
        .await
        .expect("client");
    let head_after = c.call(api::CHAIN_HEAD, ()).await.expect("head");
    assert_eq!(head_after.key(), head_before.key());
    let out = venus(&repo, &["chain", "head"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("\"Height\": {}", head_after.height()))
    );

    // The devnet runs every upgrade from genesis: network version 26 at genesis and head.
    let genesis = c
        .call(
            api::CHAIN_GET_TIP_SET_BY_HEIGHT,
            (0, head_after.key().clone()),
        )
        .await
        .expect("genesis");
    for tsk in [
        genesis.key().clone(),
        head_after.key().clone(),
        Default::default(),
    ] {
        let nv = c
            .call(api::STATE_NETWORK_VERSION, (tsk,))
            .await
            .expect("network version");
        assert_eq!(nv, 26);
    }

    // Untrusted pushes: at most 100 pending per sender, no nonce gap; the trusted push takes
    // both. A batch stops at the first refusal, keeping what it added before.
    let from = key.address();
    let next = c.call(api::MPOOL_GET_NONCE, (from,)).await.expect("nonce");
    let template = signed_transfer(&c, &key, to, TokenAmount::from_atto(1u64)).await;
    let at = |nonce: u64| {
        let mut m = template.message.clone();
        m.nonce = nonce;
        venus_types::SignedMessage {
            signature: key.sign(&m.signing_bytes()),
            message: m,
        }
    };
    let batch: Vec<_> = (next..next + 101).map(at).collect();
    let e = c
        .call(api::MPOOL_BATCH_PUSH_UNTRUSTED, (batch,))
        .await
        .expect_err("the 101st untrusted message");
    assert!(e.to_string().contains("too many pending messages"), "{e}");
    let pending = c
        .call(api::MPOOL_PENDING, (Default::default(),))
        .await
        .expect("pending");
    let ours: Vec<u64> = pending
        .iter()
        .filter(|m| m.message.from == from)
        .map(|m| m.message.nonce)
        .collect();
    assert_eq!(ours, (next..next + 100).collect::<Vec<_>>());
    let gapped = at(next + 101);
    let e = c
        .call(api::MPOOL_PUSH_UNTRUSTED, (gapped.clone(),))
        .await
        .expect_err("a nonce gap, untrusted");
    assert!(
        e.to_string().contains("ahead of the sender's next nonce"),
        "{e}"
    );
    let e = c
        .call(api::MPOOL_PUSH_UNTRUSTED, (at(next + 100),))
        .await
        .expect_err("the cap, one by one too");
    assert!(e.to_string().contains("too many pending messages"), "{e}");
    c.call(api::MPOOL_BATCH_PUSH, (vec![at(next + 100), gapped],))
        .await
        .expect("trusted: past the untrusted cap");
}
