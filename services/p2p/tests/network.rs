//! Services on loopback TCP with real libp2p: hello, gossip, chain exchange, bans.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{FakeChain, Node, eventually, signed_message};
use venus_p2p::xchg::{self, Status};
use venus_p2p::{NetEvent, P2pError};
use venus_types::BlockMsg;

/// The status of a chain-exchange refusal (any other outcome fails the test).
fn refused<T: std::fmt::Debug>(result: Result<T, P2pError>) -> Status {
    match result {
        Err(P2pError::Status { status, .. }) => status,
        other => panic!("expected a status refusal, got {other:?}"),
    }
}

/// Generous: the test machine is a loaded 2-core VM.
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_say_hello_and_gossip_blocks_and_messages() {
    let mut a = Node::start(FakeChain::new(12, 2, 3, 1), vec![]).await;
    let a_addr = a.addr().await;
    // B and C share A's genesis (same salt) but have shorter chains.
    let mut b = Node::start(FakeChain::new(5, 1, 1, 1), vec![a_addr.clone()]).await;
    let mut c = Node::start(FakeChain::new(3, 1, 1, 1), vec![a_addr.clone()]).await;
    let (a_id, b_id, c_id) = (a.handle.peer_id(), b.handle.peer_id(), c.handle.peer_id());

    // Each bootstrapped node hears A's hello with A's heaviest tipset, and A hears theirs.
    let a_head = a.chain.head().key().into_cids();
    for node in [&mut b, &mut c] {
        let msg = node
            .expect("hello from A", DEADLINE, |e| match e {
                NetEvent::Hello { peer, msg } if *peer == a_id => Some(msg.clone()),
                _ => None,
            })
            .await;
        assert_eq!(msg.heaviest_tipset, a_head);
        assert_eq!(msg.heaviest_tipset_height, 11);
        assert_eq!(msg.genesis_hash, a.chain.genesis());
    }
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let (peer, height) = a
            .expect("hellos from B and C", DEADLINE, |e| match e {
                NetEvent::Hello { peer, msg } => Some((*peer, msg.heaviest_tipset_height)),
                _ => None,
            })
            .await;
        heard.push((peer, height));
    }
    heard.sort_by_key(|(_, h)| *h);
    assert_eq!(heard, vec![(c_id, 2), (b_id, 4)]);

    let peers = a.handle.peers().await.unwrap();
    assert_eq!(peers.len(), 2, "{peers:?}");
    assert!(peers.iter().all(|p| !p.addrs.is_empty()));

    // Wait until B's and C's subscriptions reached A, so a publish has somewhere to go.
    eventually("A sees B and C on the blocks topic", DEADLINE, || async {
        let peers = a.handle.gossip_peers().await.unwrap();
        (peers.contains(&b_id) && peers.contains(&c_id)).then_some(())
    })
    .await;
    b.wait_gossip_peer(a_id).await;

    // A block published on B reaches A directly and C through A (B and C are not connected).
    let header = a.chain.tipsets[7].blocks[0].clone();
    let block = BlockMsg {
        header: header.clone(),
        bls_messages: vec![],
        secpk_messages: vec![signed_message(5, 1).cid()],
    };
    b.handle.publish_block(&block).await.unwrap();
    for (name, node) in [("A", &mut a), ("C", &mut c)] {
        let got = node
            .expect(&format!("the block at {name}"), DEADLINE, |e| match e {
                NetEvent::Block { msg, .. } => Some(msg.clone()),
                _ => None,
            })
            .await;
        assert_eq!(got, block, "at {name}");
    }

    // A message published on C reaches A and B.
    let message = signed_message(42, 7);
    c.handle.publish_message(&message).await.unwrap();
    for (name, node) in [("A", &mut a), ("B", &mut b)] {
        let (from, got) = node
            .expect(&format!("the message at {name}"), DEADLINE, |e| match e {
                NetEvent::Message { from, msg } => Some((*from, msg.clone())),
                _ => None,
            })
            .await;
        assert_eq!(got, message, "at {name}");
        if name == "A" {
            assert_eq!(from, c_id);
        }
    }
    let stats = a.handle.stats().await.unwrap();
    assert!(stats.gossip_accepted >= 2, "{stats:?}");
    assert_eq!(stats.gossip_rejected, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_chain_returns_headers_and_messages_within_the_limits() {
    let a = Node::start(FakeChain::new(20, 2, 4, 2), vec![]).await;
    let a_addr = a.addr().await;
    let b = Node::start(FakeChain::new(1, 1, 0, 2), vec![]).await;
    let a_id = b.handle.connect(a_addr).await.unwrap();
    assert_eq!(a_id, a.handle.peer_id());

    let head = a.chain.head().key();
    let both = xchg::HEADERS | xchg::MESSAGES;
    let got = b.handle.fetch_chain(a_id, &head, 5, both).await.unwrap();
    assert_eq!(got.len(), 5);
    for (i, ts) in got.iter().enumerate() {
        let want = &a.chain.tipsets[19 - i];
        assert_eq!(ts.blocks, want.blocks, "headers of tipset {i}");
        let messages = ts
            .messages
            .as_ref()
            .unwrap()
            .expand(ts.blocks.len())
            .unwrap();
        assert_eq!(messages, want.messages, "messages of tipset {i}");
        // The message every block of the tipset includes is sent once.
        let compacted = ts.messages.as_ref().unwrap();
        assert_eq!(compacted.secpk.len(), 2 * 3 - 1, "tipset {i}");
    }

    // Headers only: no messages; messages only: no headers.
    let headers = b
        .handle
        .fetch_chain(a_id, &head, 3, xchg::HEADERS)
        .await
        .unwrap();
    assert!(
        headers
            .iter()
            .all(|ts| ts.messages.is_none() && ts.blocks.len() == 2)
    );
    let messages = b
        .handle
        .fetch_chain(a_id, &head, 3, xchg::MESSAGES)
        .await
        .unwrap();
    assert!(
        messages
            .iter()
            .all(|ts| ts.blocks.is_empty() && ts.messages.is_some())
    );

    // A raw request, whatever its status.
    let ask = |head: Vec<venus_types::Cid>, length: u64, options: u64| {
        let handle = b.handle.clone();
        async move {
            let request = xchg::Request {
                head,
                length,
                options,
            };
            handle.chain_exchange(a_id, request).await.unwrap()
        }
    };
    // Asking past genesis: a Partial answer with what there is, down to genesis.
    let raw = ask(head.cids().to_vec(), 50, both).await;
    assert_eq!(raw.status, Status::PARTIAL);
    assert_eq!(raw.chain.len(), 20);
    assert_eq!(raw.chain.last().unwrap().blocks[0].height, 0);

    // Lotus's limits, answered by A with Lotus's status and words.
    let over = ask(head.cids().to_vec(), 901, both).await;
    assert_eq!(over.status, Status::BAD_REQUEST);
    assert_eq!(
        over.error_message,
        "request length over maximum allowed (900)"
    );
    assert!(over.chain.is_empty());
    let no_options = ask(head.cids().to_vec(), 1, 0).await;
    assert_eq!(
        (no_options.status, no_options.error_message.as_str()),
        (Status::BAD_REQUEST, "no options set")
    );
    let zero = ask(head.cids().to_vec(), 0, both).await;
    assert_eq!(zero.status, Status::BAD_REQUEST);
    let no_head = ask(vec![], 1, both).await;
    assert_eq!(
        (no_head.status, no_head.error_message.as_str()),
        (Status::BAD_REQUEST, "no cids in request")
    );

    // The checked form refuses the same without sending, and reports an unknown head.
    assert_eq!(
        refused(b.handle.fetch_chain(a_id, &head, 901, both).await),
        Status::BAD_REQUEST
    );
    let unknown = venus_types::TipSetKey::new(vec![support::header(999, 5, vec![]).cid()]);
    assert_eq!(
        refused(b.handle.fetch_chain(a_id, &unknown, 1, both).await),
        Status::NOT_FOUND
    );

    let stats = a.handle.stats().await.unwrap();
    assert!(stats.xchg_refused >= 4, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_reported_bad_is_disconnected_and_refused() {
    let mut a = Node::start(FakeChain::new(4, 1, 1, 3), vec![]).await;
    let a_addr = a.addr().await;
    let mut b = Node::start(FakeChain::new(4, 1, 1, 3), vec![]).await;
    let b_id = b.handle.peer_id();
    b.handle.connect(a_addr.clone()).await.unwrap();
    a.expect("B connected", DEADLINE, |e| {
        matches!(e, NetEvent::PeerConnected(p) if *p == b_id).then_some(())
    })
    .await;

    a.handle
        .report_bad_peer(b_id, "served an invalid block")
        .await
        .unwrap();
    a.expect("B disconnected", DEADLINE, |e| {
        matches!(e, NetEvent::PeerDisconnected(p) if *p == b_id).then_some(())
    })
    .await;
    let a_id = a.handle.peer_id();
    b.expect("A gone", DEADLINE, |e| {
        matches!(e, NetEvent::PeerDisconnected(p) if *p == a_id).then_some(())
    })
    .await;
    assert!(a.handle.peers().await.unwrap().is_empty());
    assert_eq!(a.handle.stats().await.unwrap().banned_peers, 1);

    // B dials again: A refuses the connection, whatever B's dial reports.
    let _ = b.handle.connect(a_addr).await;
    eventually("B's second connection closed", DEADLINE, || async {
        b.handle.peers().await.unwrap().is_empty().then_some(())
    })
    .await;
    assert!(a.handle.peers().await.unwrap().is_empty());
    while let Ok(event) = a.events.try_recv() {
        assert!(
            !matches!(event, NetEvent::PeerConnected(p) if p == b_id),
            "A accepted B again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_on_another_genesis_is_dropped_without_a_hello() {
    let mut a = Node::start(FakeChain::new(4, 1, 1, 4), vec![]).await;
    let a_addr = a.addr().await;
    let mut other = Node::start(FakeChain::new(4, 1, 1, 5), vec![a_addr]).await;
    let other_id = other.handle.peer_id();
    a.expect("the other network's peer gone", DEADLINE, |e| match e {
        NetEvent::Hello { peer, .. } if *peer == other_id => {
            panic!("hello from another genesis surfaced")
        }
        NetEvent::PeerDisconnected(p) if *p == other_id => Some(()),
        _ => None,
    })
    .await;
    let a_id = a.handle.peer_id();
    other
        .expect("A gone", DEADLINE, |e| match e {
            NetEvent::Hello { peer, .. } if *peer == a_id => {
                panic!("hello from another genesis surfaced")
            }
            NetEvent::PeerDisconnected(p) if *p == a_id => Some(()),
            _ => None,
        })
        .await;
    // Whichever side read the other's hello first dropped the connection.
    let refused = a.handle.stats().await.unwrap().wrong_genesis
        + other.handle.stats().await.unwrap().wrong_genesis;
    assert!(refused >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_identity_and_its_peers_redial_it() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("keystore").join("libp2p-host");
    let chain = FakeChain::new(4, 1, 1, 6);
    let start_a = |listen: venus_p2p::Multiaddr| {
        let chain = chain.clone();
        let key_path = key_path.clone();
        async move {
            let mut config = support::config(&chain, vec![], venus_p2p::Limits::default());
            config.keypair = venus_p2p::load_or_create_identity(&key_path).unwrap();
            config.listen = vec![listen];
            let (handle, events) =
                venus_p2p::P2pService::start(config, std::sync::Arc::new(chain.clone()))
                    .await
                    .unwrap();
            Node {
                handle,
                events,
                chain: std::sync::Arc::new(chain),
            }
        }
    };
    let a = start_a(support::loopback()).await;
    let a_id = a.handle.peer_id();
    let a_listen = a.handle.listen_addrs().await.unwrap().remove(0);
    let a_addr = a.addr().await;
    let mut b = Node::start(FakeChain::new(4, 1, 1, 6), vec![a_addr]).await;
    b.expect("A's hello", DEADLINE, |e| {
        matches!(e, NetEvent::Hello { peer, .. } if *peer == a_id).then_some(())
    })
    .await;

    // A stops (its last handle dropped) and starts again on the same address and key file.
    drop(a);
    b.expect("A gone", DEADLINE, |e| {
        matches!(e, NetEvent::PeerDisconnected(p) if *p == a_id).then_some(())
    })
    .await;
    let a = start_a(a_listen).await;
    assert_eq!(a.handle.peer_id(), a_id, "same identity after a restart");
    // B re-dials its bootstrap peer by itself.
    b.expect("A's hello again", DEADLINE, |e| {
        matches!(e, NetEvent::Hello { peer, .. } if *peer == a_id).then_some(())
    })
    .await;
}
