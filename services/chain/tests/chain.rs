//! A local chain end to end: genesis, block production through the API path, messages with
//! gas and receipts, each validation rule violated once, a reorg, restart from disk, CAR
//! round trip.

use venus_chain::create::create_block;
use venus_chain::msgmeta::read_receipts;
use venus_chain::state::StateTree;
use venus_chain::testkit::{Devnet, MINER_ID};
use venus_chain::validate::{FullBlock, Step, SubmitError};
use venus_types::{Address, BlockMsg, HeadChangeType, TokenAmount};

fn rejected_at(devnet: &Devnet, block: &BlockMsg) -> Step {
    match devnet.submit(block) {
        Err(SubmitError::Invalid(e)) => e.step,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn blocks_extend_the_chain_and_messages_pay_gas() {
    let net = Devnet::new(1, 2).expect("devnet");
    let mut events = net.cs.subscribe();
    let genesis = net.cs.heaviest();
    let b1 = net.produce(&genesis, 1, vec![]).expect("block 1");
    assert!(b1.header.block_sig.is_some());
    assert!(net.submit(&b1).expect("submit b1"));
    let head = net.cs.heaviest();
    assert_eq!(head.cids(), &[b1.header.cid()]);
    let changes = events.try_recv().expect("head change");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].change_type, HeadChangeType::Apply);

    // A transfer from account 0 to account 1 and to a fresh address.
    let to = net.accounts[1].address();
    let new_key =
        venus_types::PrivateKey::generate(venus_types::KeyType::Secp256k1, &mut rand::thread_rng())
            .expect("key");
    let msgs = vec![
        net.send(0, to, 0, 5_000),
        net.send(0, new_key.address(), 1, 7_000),
    ];
    let b2 = net
        .produce(&head, head.height() + 1, msgs)
        .expect("block 2");
    net.submit(&b2).expect("submit b2");
    let ts2 = net.cs.heaviest();
    // Deferred execution: block 3 carries the results of block 2's messages.
    let b3 = net
        .produce(&ts2, ts2.height() + 1, vec![])
        .expect("block 3");
    net.submit(&b3).expect("submit b3");
    let receipts =
        read_receipts(net.cs.blockstore(), &b3.header.parent_message_receipts.0).expect("receipts");
    assert_eq!(receipts.len(), 2);
    assert!(
        receipts.iter().all(|r| r.exit_code.is_success()),
        "{receipts:?}"
    );
    assert!(receipts.iter().all(|r| r.gas_used > 0));
    // Creating the new account costs more than a plain send.
    assert!(receipts[1].gas_used > receipts[0].gas_used + 1_000_000);

    let mut tree =
        StateTree::load(net.cs.blockstore(), &b3.header.parent_state_root.0).expect("state");
    let receiver = tree.get_actor(&to.0).expect("get").expect("receiver");
    assert_eq!(
        receiver.balance,
        TokenAmount::from_whole(1000).0 + TokenAmount::from_atto(5_000u64).0
    );
    let created = tree
        .get_actor(&new_key.address().0)
        .expect("get")
        .expect("created account");
    assert_eq!(created.balance, TokenAmount::from_atto(7_000u64).0);
    let sender = tree
        .get_actor(&net.accounts[0].address().0)
        .expect("get")
        .expect("sender");
    assert_eq!(sender.sequence, 2);
    // The sender paid gas on top of the values.
    assert!(sender.balance < TokenAmount::from_whole(1000).0 - TokenAmount::from_atto(12_000u64).0);
    // The miner earned block rewards.
    let miner = tree.get_actor_by_id(MINER_ID).expect("get").expect("miner");
    assert!(miner.balance.is_positive());
}

#[test]
fn a_wrong_nonce_fails_in_its_receipt_not_the_block() {
    let net = Devnet::new(2, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    // Nonce 5 for a fresh account: the block check catches it first.
    let bad = net
        .produce(&genesis, 1, vec![net.send(0, net.owner.address(), 5, 1)])
        .expect("block");
    assert_eq!(rejected_at(&net, &bad), Step::Messages);
    // Insufficient value: included, fails with SYS_INSUFFICIENT_FUNDS in the receipt.
    let too_much = net.send_amount(0, net.owner.address(), 0, TokenAmount::from_whole(5000));
    let b1 = net.produce(&genesis, 1, vec![too_much]).expect("block");
    net.submit(&b1).expect("submit");
    let head = net.cs.heaviest();
    let b2 = net
        .produce(&head, head.height() + 1, vec![])
        .expect("block 2");
    let receipts =
        read_receipts(net.cs.blockstore(), &b2.header.parent_message_receipts.0).expect("receipts");
    assert_eq!(
        receipts[0].exit_code,
        fvm_shared::error::ExitCode::SYS_INSUFFICIENT_FUNDS
    );
}

#[test]
fn each_validation_rule_rejects_a_bad_block() {
    let net = Devnet::new(3, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    let good = net.produce(&genesis, 1, vec![]).expect("block");
    let resign = |mut b: BlockMsg| {
        b.header.block_sig = Some(net.worker.sign(&b.header.signing_bytes()));
        b
    };

    let mut b = good.clone();
    b.header.ticket = None;
    assert_eq!(rejected_at(&net, &resign(b)), Step::Sanity);

    let mut b = good.clone();
    b.header.parents = vec![b.header.messages];
    assert_eq!(rejected_at(&net, &resign(b)), Step::Parents);

    let mut b = good.clone();
    b.header.timestamp += 1;
    assert_eq!(rejected_at(&net, &resign(b)), Step::Timestamp);

    let mut b = good.clone();
    b.header.miner = Address::new_id(1234);
    assert_eq!(rejected_at(&net, &resign(b)), Step::Miner);

    let mut b = good.clone();
    b.header.beacon_entries[0].data = vec![0u8; 32].into();
    assert_eq!(rejected_at(&net, &resign(b)), Step::Beacon);

    let mut b = good.clone();
    if let Some(t) = b.header.ticket.as_mut() {
        t.vrf_proof = net.worker.sign(b"not the ticket input").data.into();
    }
    assert_eq!(rejected_at(&net, &resign(b)), Step::Ticket);

    let mut b = good.clone();
    if let Some(e) = b.header.election_proof.as_mut() {
        e.win_count += 1;
    }
    assert_eq!(rejected_at(&net, &resign(b)), Step::Election);

    let mut b = good.clone();
    b.header.win_post_proof[0].proof_bytes = vec![1u8; 32].into();
    assert_eq!(rejected_at(&net, &resign(b)), Step::WinningPoSt);

    let mut b = good.clone();
    b.header.block_sig = Some(net.worker.sign(b"something else"));
    assert_eq!(rejected_at(&net, &b), Step::BlockSignature);

    let mut b = good.clone();
    b.header.bls_aggregate = Some(net.worker.sign(b"not an aggregate"));
    assert_eq!(rejected_at(&net, &resign(b)), Step::Messages);

    let mut b = good.clone();
    b.header.parent_state_root = b.header.messages;
    assert_eq!(rejected_at(&net, &resign(b)), Step::State);

    // And the untouched block is accepted.
    assert!(net.submit(&good).expect("good block"));
}

#[test]
fn unsigned_block_without_key_and_heavier_fork_reorgs() {
    let net = Devnet::new(4, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    let template = net.template_for(&genesis, 1, vec![]).expect("template");
    let unsigned = create_block(&net.cs, &template, None).expect("create");
    assert!(unsigned.header.block_sig.is_none());
    assert_eq!(rejected_at(&net, &unsigned), Step::Sanity);

    // Chain A: one block. Chain B: two blocks from genesis on a later epoch → heavier.
    let a1 = net.produce(&genesis, 1, vec![]).expect("a1");
    net.submit(&a1).expect("a1");
    let mut events = net.cs.subscribe();
    let b1 = net
        .produce(&genesis, a1.header.height + 1, vec![])
        .expect("b1");
    net.submit(&b1).expect("b1"); // same weight, may or may not win the tie
    let b1_ts = net
        .cs
        .load_tipset(&venus_types::TipSetKey::new(vec![b1.header.cid()]))
        .expect("b1 ts");
    let b2 = net
        .produce(&b1_ts, b1.header.height + 1, vec![])
        .expect("b2");
    assert!(net.submit(&b2).expect("b2"));
    assert_eq!(net.cs.heaviest().cids(), &[b2.header.cid()]);
    let all: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .flatten()
        .collect();
    assert!(
        all.iter()
            .any(|c| c.change_type == HeadChangeType::Apply && c.val.cids() == [b2.header.cid()])
    );
    // a1 was reverted at some point (either by b1 on the tie, or by b2).
    assert!(
        all.iter()
            .any(|c| c.change_type == HeadChangeType::Revert && c.val.cids() == [a1.header.cid()])
    );
}

#[test]
fn restart_resumes_from_disk_and_car_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chain.redb");
    let net = Devnet::new(5, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    let b1 = net.produce(&genesis, 1, vec![]).expect("b1");
    net.submit(&b1).expect("b1");
    let head = net.cs.heaviest();

    // Export from memory, import into redb, open a chain store there.
    let mut car = Vec::new();
    let written = venus_chain::car::export_chain(&net.cs, &head, &mut car).expect("export");
    assert!(written > 3);
    {
        let bs = venus_chain::blockstore::RedbBlockstore::open(&path).expect("open");
        let root = venus_chain::car::import_car(&bs, &mut car.as_slice()).expect("import");
        assert_eq!(&root, head.key());
        let meta = venus_chain::store::MetaStore::Redb(bs.database().clone());
        let cs = venus_chain::store::ChainStore::open(bs, meta, Some(net.cs.genesis().clone()))
            .expect("store");
        let ts = cs.load_tipset(&root).expect("imported head");
        let weight = venus_chain::exec::tipset_weight(&cs, &ts).expect("weight");
        assert!(cs.add_tipset(&ts, &weight).expect("add"));
    }
    // Reopen: the head is the imported one.
    let cs = venus_chain::store::ChainStore::open_redb(&path, None).expect("reopen");
    assert_eq!(cs.heaviest().key(), head.key());
    assert_eq!(
        cs.tipset_by_height(0, None, true).expect("genesis").cids(),
        genesis.cids()
    );
    // A corrupted CAR is refused.
    let mut bad = car.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let bs = fvm_ipld_blockstore::MemoryBlockstore::new();
    assert!(venus_chain::car::import_car(&bs, &mut bad.as_slice()).is_err());
    let _ = FullBlock::from_block_msg(&cs, &b1).expect("messages of b1 are in the store");
}

/// secp signatures are checked on every core; the rejection still names the first bad message
/// in block order, whichever thread found it.
#[test]
fn the_first_bad_secp_signature_in_block_order_is_reported() {
    let net = Devnet::new(6, 4).expect("devnet");
    let genesis = net.cs.heaviest();
    let mut msgs = Vec::new();
    for nonce in 0..10 {
        for from in 0..4 {
            msgs.push(net.send(from, net.accounts[(from + 1) % 4].address(), nonce, 1));
        }
    }
    let rejection = |msgs: Vec<venus_types::SignedMessage>, bad: &venus_types::SignedMessage| {
        let block = net.produce(&genesis, 1, msgs).expect("block");
        let full = FullBlock::from_block_msg(&net.cs, &block).expect("full block");
        assert_eq!(full.secp_messages.len(), 40);
        assert!(full.secp_messages.iter().any(|s| s.cid() == bad.cid()));
        let e = net
            .validator()
            .validate(&full, net.now())
            .expect_err("a bad signature");
        assert_eq!(e.step, Step::Messages);
        assert!(
            e.reason.starts_with(&format!("message {}: ", bad.cid())),
            "{}",
            e.reason
        );
        e.reason
    };
    // Message 15 (sender 3) signed by sender 0's key; message 25 with a truncated signature.
    let mut wrong_key = msgs.clone();
    wrong_key[15].signature = net.accounts[0].sign(&wrong_key[15].message.signing_bytes());
    wrong_key[25].signature.data.pop();
    let (first, later) = (wrong_key[15].clone(), wrong_key[25].clone());
    let reason = rejection(wrong_key.clone(), &first);
    assert!(reason.contains("signature verification failed"), "{reason}");
    // With 15 repaired, 25 is the first bad one.
    wrong_key[15] = msgs[15].clone();
    let reason = rejection(wrong_key, &later);
    assert!(reason.contains("malformed secp256k1 signature"), "{reason}");
    // The same messages, all correctly signed, pass.
    let block = net.produce(&genesis, 1, msgs).expect("block");
    let full = FullBlock::from_block_msg(&net.cs, &block).expect("full block");
    net.validator()
        .validate(&full, net.now())
        .expect("valid block");
}

#[test]
fn an_included_secp_message_is_found_by_its_signed_and_its_unsigned_cid() {
    let net = Devnet::new(7, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    let msg = net.send(0, net.owner.address(), 0, 7);
    let block = net.produce(&genesis, 1, vec![msg.clone()]).expect("block");
    net.submit(&block).expect("submit");
    for cid in [msg.cid(), msg.message.cid()] {
        let found = net.cs.get_message(&cid).expect("stored");
        assert_eq!(found.message(), &msg.message, "{cid:?}");
    }
}

/// Two sides of a partition mine on one parent at one height: this node groups the peer's
/// block with its own, yet the peer's next block names the peer's one-block tipset as its
/// parent. Sync adds that tipset as served (`add_validated`), so the child validates.
#[test]
fn a_served_tipset_is_added_as_served_beside_the_local_grouping() {
    let net = Devnet::new(8, 1).expect("devnet");
    let genesis = net.cs.heaviest();
    let ours = net.produce(&genesis, 1, vec![]).expect("ours");
    net.submit(&ours).expect("ours");
    // The peer's block: same parent and height, different content.
    let send = net.send(0, Address::new_id(MINER_ID), 0, 1);
    let theirs = net
        .produce(&genesis, ours.header.height, vec![send])
        .expect("theirs");
    assert_eq!(theirs.header.height, ours.header.height);
    assert_ne!(theirs.header.cid(), ours.header.cid());
    net.submit(&theirs).expect("theirs");
    let served = venus_types::TipSet::new(vec![theirs.header.clone()]).expect("tipset");
    assert_eq!(
        net.cs.weight(served.key()).expect("weight"),
        None,
        "the builder grouped it with ours only"
    );
    let child = net
        .produce(&served, theirs.header.height + 1, vec![])
        .expect("child");
    assert_eq!(rejected_at(&net, &child), Step::Parents);

    net.builder
        .add_validated(&net.cs, &served)
        .expect("every block of it was validated");
    assert!(net.cs.weight(served.key()).expect("weight").is_some());
    net.submit(&child).expect("the child of the served tipset");

    // A tipset with a block never submitted here is refused.
    let other = net
        .produce(&genesis, child.header.height + 5, vec![])
        .expect("other");
    let unvalidated = venus_types::TipSet::new(vec![other.header.clone()]).expect("tipset");
    let err = net
        .builder
        .add_validated(&net.cs, &unvalidated)
        .expect_err("not validated");
    assert!(err.to_string().contains("was not validated"), "{err}");
}
