//! Three `venus` processes of one 2k devnet on loopback, the second and third started from the
//! first's genesis CAR and bootstrapped to it over libp2p: blocks produced through the first
//! reach the others by gossip; a message pushed to one node reaches the other pools; a node
//! killed while the chain grows catches up by chain exchange when restarted, and `/readyz`,
//! `SyncState` and `venus sync status` say so; peers serving invalid blocks are dropped.

mod common;
mod mining;

use std::time::{Duration, Instant};

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::crypto::{KeyType, PrivateKey};
use venus_types::{BlockHeader, TipSet, TokenAmount};

/// Epochs the genesis lies in the past: blocks up to the wall clock can be made at once.
const GENESIS_EPOCHS_AGO: u64 = 40;

async fn client(d: &Daemon) -> Client {
    Client::connect(&d.url, Some(d.token.clone()))
        .await
        .expect("client")
}

/// Polls `f` until it returns `Some`, or fails naming `what`.
async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn head(c: &Client) -> TipSet {
    c.call(api::CHAIN_HEAD, ()).await.expect("head")
}

async fn same_head(c: &Client, want: &TipSet) -> Option<()> {
    let h = c.call(api::CHAIN_HEAD, ()).await.ok()?;
    (h.key() == want.key()).then_some(())
}

async fn readyz(d: &Daemon) -> (u16, String) {
    let resp = venus_rpc::tls::http_client_builder()
        .build()
        .expect("http")
        .get(format!("{}/readyz?verbose", d.url))
        .send()
        .await
        .expect("readyz");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_follow_gossip_share_messages_and_catch_up_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Node A makes the network.
    let NetworkSeed { key, car, first: a } = start_network(dir.path(), GENESIS_EPOCHS_AGO);
    let repo_a = a.repo.clone();
    let ca = client(&a).await;
    let listen = ca.call(api::NET_ADDRS_LISTEN, ()).await.expect("listen");
    let id_a = ca.call(api::ID, ()).await.expect("id");
    assert_eq!(listen.id, id_a);
    let boot = format!("{}/p2p/{id_a}", listen.addrs[0]);
    // The peer identity is kept in the repo, private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(repo_a.join("libp2p.key")).expect("identity file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // A few blocks before the others start: they catch up on hello.
    for _ in 0..3 {
        produce(&ca, &key, Vec::new()).await;
    }

    let genesis = format!("--genesisfile={}", car.display());
    let bootstrap = format!("--bootstrap-peers={boot}");
    let start_follower = |name: &str| {
        let repo = dir.path().join(name);
        write_net_config(&repo);
        start_daemon(&repo, &["daemon", "--network=2k", &genesis, &bootstrap])
    };
    let b = start_follower("b");
    let c = start_follower("c");
    let cb = client(&b).await;
    let cc = client(&c).await;

    let want = head(&ca).await;
    for (name, cl) in [("b", &cb), ("c", &cc)] {
        eventually(
            &format!("{name} catches up to A's head at start"),
            60,
            || same_head(cl, &want),
        )
        .await;
        let peers = cl.call(api::NET_PEERS, ()).await.expect("peers");
        assert!(
            peers.iter().any(|p| p.id == id_a),
            "{name} peers: {peers:?}"
        );
    }

    // Blocks made through A reach B and C by gossip.
    for _ in 0..3 {
        let block = produce(&ca, &key, Vec::new()).await;
        let want = head(&ca).await;
        assert!(want.cids().contains(&block.header.cid()));
        for (name, cl) in [("b", &cb), ("c", &cc)] {
            eventually(
                &format!("{name} follows block at {}", want.height()),
                30,
                || same_head(cl, &want),
            )
            .await;
        }
    }

    // A message pushed to B reaches A's and C's pools.
    let to = PrivateKey::generate(KeyType::Secp256k1, &mut rand::thread_rng())
        .expect("key")
        .address();
    let msg = signed_transfer(&cb, &key, to, TokenAmount::from_whole(1)).await;
    let cid = cb
        .call(api::MPOOL_PUSH, (msg.clone(),))
        .await
        .expect("push");
    for (name, cl) in [("a", &ca), ("c", &cc)] {
        eventually(
            &format!("the message reaches {name}'s pool"),
            30,
            || async {
                let pending = cl
                    .call(api::MPOOL_PENDING, (Default::default(),))
                    .await
                    .ok()?;
                pending.iter().any(|m| m.cid() == cid).then_some(())
            },
        )
        .await;
    }
    // A mines it; C applies the block (its messages came by gossip or by exchange).
    let selected = ca
        .call(api::MPOOL_SELECTS, (Default::default(), vec![0.9]))
        .await
        .expect("select");
    assert_eq!(selected[0].len(), 1);
    produce(&ca, &key, selected[0].clone()).await;
    let want = head(&ca).await;
    eventually("c applies the block with the message", 30, || {
        same_head(&cc, &want)
    })
    .await;

    // C goes down while the chain grows to the wall clock; restarted, it catches up.
    drop(cc);
    drop(c);
    let before = want.height();
    loop {
        let made = produce(&ca, &key, Vec::new()).await;
        if made.header.height + 1 >= a_expected_epoch(&ca).await {
            break;
        }
    }
    let want = head(&ca).await;
    assert!(
        want.height() > before + 10,
        "the chain grew while C was down"
    );
    let c = start_daemon(
        &dir.path().join("c"),
        &["daemon", "--network=2k", &genesis, &bootstrap],
    );
    let cc = client(&c).await;
    eventually("restarted c catches up", 90, || async {
        let h = cc.call(api::CHAIN_HEAD, ()).await.ok()?;
        (h.height() >= want.height()).then_some(())
    })
    .await;
    let state = cc.call(api::SYNC_STATE, ()).await.expect("sync state");
    eprintln!(
        "c was down from height {before} to {}; applied {} tipsets",
        want.height(),
        state.vm_applied
    );
    let w = &state.active_syncs[0];
    assert!(
        state.vm_applied >= (want.height() - before) as u64 / 2,
        "{state:?}"
    );
    assert!(
        w.base.as_ref().is_some_and(|b| b.height() <= before),
        "{w:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("c.log")).expect("log");
    assert!(log.contains("catch-up complete"), "{log}");

    // Caught up with its peers and the clock: ready, and `sync status` is done.
    produce(&ca, &key, Vec::new()).await;
    let want = head(&ca).await;
    eventually("c follows the next block", 30, || same_head(&cc, &want)).await;
    eventually("c's /readyz turns ready", 30, || async {
        let (status, _) = readyz(&c).await;
        (status == 200).then_some(())
    })
    .await;
    let out = venus(&c.repo, &["sync", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Done!"), "{text}");
    let out = venus(&c.repo, &["net", "peers"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&id_a),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The epoch the wall clock is at on A's network.
async fn a_expected_epoch(c: &Client) -> i64 {
    let g = c.call(api::CHAIN_GET_GENESIS, ()).await.expect("genesis");
    let now = venus_node::node::now_secs();
    ((now - g.min_timestamp()) / 4) as i64
}

/// Two nodes of one network mine apart (A two blocks, B four), then A connects to B
/// (`NetConnect`): A reorgs onto B's heavier chain and its `ChainNotify` reverts its own
/// blocks and applies B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_ends_on_the_heavier_chain_with_revert_and_apply() {
    use futures::StreamExt as _;
    use venus_types::HeadChangeType;

    let dir = tempfile::tempdir().expect("tempdir");
    let NetworkSeed { key, car, first: a } = start_network(dir.path(), GENESIS_EPOCHS_AGO);
    let repo_b = dir.path().join("b");
    write_net_config(&repo_b);
    let genesis = format!("--genesisfile={}", car.display());
    let b = start_daemon(&repo_b, &["daemon", "--network=2k", &genesis]);
    let ca = client(&a).await;
    let cb = client(&b).await;
    assert!(ca.call(api::NET_PEERS, ()).await.expect("peers").is_empty());

    // Apart: A mines two empty blocks; B mines a block with a message (so its chain differs
    // from the first block on) and three more.
    produce(&ca, &key, Vec::new()).await;
    produce(&ca, &key, Vec::new()).await;
    let a_head = head(&ca).await;
    let to = PrivateKey::generate(KeyType::Secp256k1, &mut rand::thread_rng())
        .expect("key")
        .address();
    let msg = signed_transfer(&cb, &key, to, TokenAmount::from_whole(1)).await;
    cb.call(api::MPOOL_PUSH, (msg.clone(),))
        .await
        .expect("push");
    produce(&cb, &key, vec![msg]).await;
    for _ in 0..3 {
        produce(&cb, &key, Vec::new()).await;
    }
    let b_head = head(&cb).await;
    assert_ne!(a_head.key(), b_head.key());

    let ws = Client::connect(&a.url.replace("http://", "ws://"), Some(a.token.clone()))
        .await
        .expect("ws client");
    let mut changes = ws.subscribe(api::CHAIN_NOTIFY, ()).await.expect("notify");
    let first = changes.next().await.expect("current");
    assert_eq!(first[0].change_type, HeadChangeType::Current);

    // Heal: A dials B.
    let b_addrs = cb.call(api::NET_ADDRS_LISTEN, ()).await.expect("listen");
    ca.call(api::NET_CONNECT, (b_addrs.clone(),))
        .await
        .expect("connect");
    eventually("A reorgs onto B's heavier chain", 60, || {
        same_head(&ca, &b_head)
    })
    .await;

    let (mut reverted, mut applied) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(reverted && applied) {
        let batch = tokio::time::timeout_at(deadline.into(), changes.next())
            .await
            .expect("revert and apply within 30 s")
            .expect("notify stream open");
        for c in batch {
            match c.change_type {
                HeadChangeType::Revert if c.val.key() == a_head.key() => reverted = true,
                HeadChangeType::Apply if c.val.key() == b_head.key() => applied = true,
                _ => {}
            }
        }
    }
    // B stayed on its own chain, and both see each other as peers.
    assert_eq!(head(&cb).await.key(), b_head.key());
    let peers = cb.call(api::NET_PEERS, ()).await.expect("peers");
    let id_a = ca.call(api::ID, ()).await.expect("id");
    assert!(peers.iter().any(|p| p.id == id_a), "{peers:?}");
}

/// Serves an invalid chain: A's blocks and one tampered block on top, which its hello claims
/// as a far heavier head. The node's own p2p crate and chain-exchange server, in this process
/// on loopback; only the data is bad.
struct BadChain {
    cs: venus_chain::store::ChainStore<venus_chain::blockstore::RedbBlockstore>,
    hello: venus_p2p::HelloMessage,
}

impl venus_p2p::ChainProvider for BadChain {
    fn hello(&self) -> venus_p2p::HelloMessage {
        self.hello.clone()
    }

    fn chain_exchange(&self, request: &venus_p2p::xchg::Request) -> venus_p2p::xchg::Response {
        venus_node::sync::exchange::serve(&self.cs, request)
    }
}

/// A's chain from genesis to `head`: each block with its messages.
async fn read_blocks(c: &Client, head: &TipSet) -> Vec<(BlockHeader, api::BlockMessages)> {
    let mut out = Vec::new();
    let mut ts = head.clone();
    while ts.height() > 0 {
        for b in ts.blocks() {
            let m = c
                .call(api::CHAIN_GET_BLOCK_MESSAGES, (b.cid(),))
                .await
                .expect("block messages");
            out.push((b.clone(), m));
        }
        ts = c
            .call(api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .expect("parent");
    }
    out
}

/// Starts a peer serving `chain` plus `bad` as its head; returns its handle and address.
async fn start_bad_peer(
    dir: &std::path::Path,
    genesis: &BlockHeader,
    network_name: &str,
    chain: &[(BlockHeader, api::BlockMessages)],
    bad: &BlockHeader,
) -> (venus_p2p::P2pHandle, api::AddrInfo) {
    std::fs::create_dir_all(dir).expect("dir");
    let cs =
        venus_chain::store::ChainStore::open_redb(&dir.join("chain.redb"), Some(genesis.clone()))
            .expect("store");
    for (header, m) in chain {
        cs.put_messages(&m.bls_messages, &m.secpk_messages)
            .expect("messages");
        cs.put_block(header).expect("header");
    }
    cs.put_block(bad).expect("bad header");
    let hello = venus_p2p::HelloMessage {
        heaviest_tipset: vec![bad.cid()],
        heaviest_tipset_height: bad.height,
        heaviest_tipset_weight: venus_types::BigInt::from(1u64 << 40),
        genesis_hash: genesis.cid(),
    };
    let config = venus_p2p::P2pConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")],
        bootstrap: Vec::new(),
        keypair: venus_p2p::Keypair::generate_ed25519(),
        network_name: network_name.to_owned(),
        genesis: genesis.cid(),
        limits: venus_p2p::Limits::default(),
    };
    // Its events (B's hello) are not needed: dropping the receiver discards them.
    let (handle, _events) =
        venus_p2p::P2pService::start(config, std::sync::Arc::new(BadChain { cs, hello }))
            .await
            .expect("p2p service");
    let addrs = handle.listen_addrs().await.expect("addrs");
    let info = api::AddrInfo {
        id: handle.peer_id().to_string(),
        addrs: addrs.iter().map(ToString::to_string).collect(),
    };
    (handle, info)
}

/// Peers that serve invalid blocks during a catch-up (a bad block signature, a wrong parent
/// state root, a parent they cannot serve) are reported, banned and disconnected one after
/// the other; the node never takes their head and ends on A's valid chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_serving_invalid_blocks_are_dropped_and_the_node_stays_on_the_valid_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let NetworkSeed { key, car, first: a } = start_network(dir.path(), GENESIS_EPOCHS_AGO);
    let ca = client(&a).await;
    for _ in 0..3 {
        produce(&ca, &key, Vec::new()).await;
    }
    let a_head = head(&ca).await;
    let genesis = ca.call(api::CHAIN_GET_GENESIS, ()).await.expect("genesis");
    let genesis = genesis.blocks()[0].clone();
    let network_name = ca.call(api::STATE_NETWORK_NAME, ()).await.expect("name");
    let chain = read_blocks(&ca, &a_head).await;
    let top = a_head.blocks()[0].clone();

    // Three ways to tamper with A's head block (the last two re-signed by the worker, so
    // only the named fault is wrong).
    let resign = |mut h: BlockHeader| {
        h.block_sig = Some(key.sign(&h.signing_bytes()));
        h
    };
    let mut bad_sig = top.clone();
    if let Some(sig) = bad_sig.block_sig.as_mut() {
        let last = sig.data.len() - 1;
        sig.data[last] ^= 1;
    }
    let mut bad_state = top.clone();
    bad_state.parent_state_root = top.messages;
    let bad_state = resign(bad_state);
    let mut bad_parent = top.clone();
    bad_parent.parents = vec![venus_types::cbor::cid_of_cbor_bytes(b"\x43bad")];
    let bad_parent = resign(bad_parent);

    let repo_b = dir.path().join("b");
    write_net_config(&repo_b);
    let genesis_flag = format!("--genesisfile={}", car.display());
    let b = start_daemon(&repo_b, &["daemon", "--network=2k", &genesis_flag]);
    let cb = client(&b).await;
    let log_b = dir.path().join("b.log");
    for (index, (name, bad, reason)) in [
        ("bad block signature", &bad_sig, "step block-signature"),
        ("wrong parent state root", &bad_state, "step state"),
        (
            "a parent it cannot serve",
            &bad_parent,
            "cannot serve a tipset it named",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (m, info) =
            start_bad_peer(&dir.path().join(name), &genesis, &network_name, &chain, bad).await;
        cb.call(api::NET_CONNECT, (info.clone(),))
            .await
            .expect("connect to the bad peer");
        let reported = index + 1;
        eventually(
            &format!("b reports the peer serving a {name}"),
            45,
            || async {
                let log = std::fs::read_to_string(&log_b).unwrap_or_default();
                let lines = log
                    .lines()
                    .filter(|l| l.contains("peer served an invalid chain"))
                    .collect::<Vec<_>>();
                (lines.len() >= reported && lines.iter().any(|l| l.contains(reason))).then_some(())
            },
        )
        .await;
        eventually(
            &format!("the peer serving a {name} is disconnected"),
            30,
            || async {
                let peers = cb.call(api::NET_PEERS, ()).await.ok()?;
                (m.connected_peers() == 0 && !peers.iter().any(|p| p.id == info.id)).then_some(())
            },
        )
        .await;
        let h = head(&cb).await;
        assert!(
            !h.cids().contains(&bad.cid()),
            "b took the {name} block as its head"
        );
    }
    // The valid blocks b took from the first bad peer are A's; with A connected, b ends on
    // A's head.
    let h = head(&cb).await;
    assert!(
        h.height() > 0 && h.height() < a_head.height(),
        "{}",
        h.height()
    );
    assert_eq!(
        ca.call(
            api::CHAIN_GET_TIP_SET_BY_HEIGHT,
            (h.height(), a_head.key().clone())
        )
        .await
        .expect("a's tipset")
        .key(),
        h.key()
    );
    let a_info = ca.call(api::NET_ADDRS_LISTEN, ()).await.expect("listen");
    cb.call(api::NET_CONNECT, (a_info,))
        .await
        .expect("connect to a");
    eventually("b catches up to A's valid head", 45, || {
        same_head(&cb, &a_head)
    })
    .await;
}
