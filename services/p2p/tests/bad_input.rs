//! Bad input from peers: garbage and oversized frames on the hello and chain-exchange streams,
//! undecodable and oversized gossip. The service rejects them, counts them and keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{PeerId, StreamProtocol, Swarm};
use support::{FakeChain, Node, eventually, signed_message};
use venus_p2p::{Limits, NetEvent, xchg};

const DEADLINE: Duration = Duration::from_secs(30);

/// Writes whatever bytes it is given, reads whatever comes back (a peer that ignores the format).
#[derive(Clone, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Vec<u8>> {
        Err(io::Error::other("raw client serves nothing"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        io.take(1 << 20).read_to_end(&mut bytes).await?;
        if bytes.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(bytes)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&req).await?;
        io.flush().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()> {
        Ok(())
    }
}

#[derive(NetworkBehaviour)]
struct RawPeer {
    hello: request_response::Behaviour<RawCodec>,
    xchg: request_response::Behaviour<RawCodec>,
}

fn raw_behaviour(protocol: &'static str) -> request_response::Behaviour<RawCodec> {
    request_response::Behaviour::new(
        [(StreamProtocol::new(protocol), ProtocolSupport::Outbound)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
    )
}

fn raw_swarm() -> Swarm<RawPeer> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| RawPeer {
            hello: raw_behaviour(venus_p2p::hello::PROTOCOL),
            xchg: raw_behaviour(xchg::PROTOCOL),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// What became of a raw request.
#[derive(Debug)]
enum Outcome {
    Answered(Vec<u8>),
    Failed(#[allow(dead_code)] String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_streams_are_refused_and_the_service_keeps_serving() {
    let a = Node::start(FakeChain::new(10, 1, 2, 7), vec![]).await;
    let a_addr = a.addr().await;
    let a_id: PeerId = a.handle.peer_id();

    let mut raw = raw_swarm();
    raw.dial(a_addr.clone()).unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline, raw.select_next_some())
            .await
            .unwrap();
        if let SwarmEvent::ConnectionEstablished { peer_id, .. } = event {
            assert_eq!(peer_id, a_id);
            break;
        }
    }

    let head = a.chain.head().key();
    let valid_over_limit = venus_types::to_cbor(&xchg::Request {
        head: head.cids().to_vec(),
        length: 901,
        options: 3,
    })
    .unwrap();
    // The same request, from the documented layout: [[cid], 901, 3].
    let mut by_hand = vec![0x83, 0x81, 0xd8, 0x2a, 0x58, 0x27, 0x00];
    by_hand.extend(head.cids()[0].to_bytes());
    by_hand.extend([0x19, 0x03, 0x85, 0x03]);
    assert_eq!(valid_over_limit, by_hand);

    let mut oversized = vec![0x5a, 0x00, 0x10, 0x00, 0x00]; // a 1 MiB byte string …
    oversized.resize(64 << 10, 0xab); // … of which 64 KiB come, over the 16 KiB cap
    let garbage: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let huge_count = vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let indefinite = vec![0x9f, 0x01, 0xff];
    let truncated = vec![0x84, 0x81]; // then the stream closes

    // Request ids count per behaviour: the key is (is_xchg, id).
    let mut sent: Vec<(&str, (bool, OutboundRequestId))> = Vec::new();
    let behaviour = raw.behaviour_mut();
    let mut hello = |name, bytes| (name, (false, behaviour.hello.send_request(&a_id, bytes)));
    sent.push(hello("hello garbage", garbage.clone()));
    sent.push(hello("hello oversized", oversized.clone()));
    let mut xchg = |name, bytes| (name, (true, behaviour.xchg.send_request(&a_id, bytes)));
    sent.push(xchg("xchg garbage", garbage));
    sent.push(xchg("xchg oversized", oversized));
    sent.push(xchg("xchg huge count", huge_count));
    sent.push(xchg("xchg indefinite", indefinite));
    sent.push(xchg("xchg truncated", truncated));
    sent.push(xchg("xchg length 901", valid_over_limit));

    let mut outcomes = std::collections::HashMap::new();
    while outcomes.len() < sent.len() {
        let Ok(event) = tokio::time::timeout_at(deadline, raw.select_next_some()).await else {
            let pending: Vec<&str> = sent
                .iter()
                .filter(|(_, id)| !outcomes.contains_key(id))
                .map(|(name, _)| *name)
                .collect();
            panic!("no outcome within {DEADLINE:?} for {pending:?}; got {outcomes:?}");
        };
        let (is_xchg, e) = match event {
            SwarmEvent::Behaviour(RawPeerEvent::Hello(e)) => (false, e),
            SwarmEvent::Behaviour(RawPeerEvent::Xchg(e)) => (true, e),
            _ => continue,
        };
        let (id, outcome) = match e {
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => (request_id, Outcome::Answered(response)),
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => (request_id, Outcome::Failed(error.to_string())),
            _ => continue,
        };
        outcomes.insert((is_xchg, id), outcome);
    }
    for (name, id) in &sent {
        let outcome = &outcomes[id];
        if *name == "xchg length 901" {
            let Outcome::Answered(bytes) = outcome else {
                panic!("{name}: {outcome:?}");
            };
            let response: xchg::Response = venus_types::from_cbor(bytes).unwrap();
            assert_eq!(response.status, xchg::Status::BAD_REQUEST);
            assert_eq!(
                response.error_message,
                "request length over maximum allowed (900)"
            );
        } else {
            assert!(
                matches!(outcome, Outcome::Failed(_)),
                "{name} was answered: {outcome:?}"
            );
        }
    }
    eventually("A counts the seven bad frames", DEADLINE, || async {
        (a.handle.stats().await.unwrap().inbound_failures >= 7).then_some(())
    })
    .await;

    // The service still serves a well-behaved peer.
    let b = Node::start(FakeChain::new(1, 1, 0, 7), vec![]).await;
    b.handle.connect(a_addr).await.unwrap();
    let got = b
        .handle
        .fetch_chain(a_id, &head, 10, xchg::HEADERS | xchg::MESSAGES)
        .await
        .unwrap();
    assert_eq!(got.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_and_oversized_gossip_is_rejected() {
    let mut a = Node::start(FakeChain::new(3, 1, 1, 8), vec![]).await;
    let a_addr = a.addr().await;
    // E sends what A refuses: its own caps are far larger.
    let loose = Limits {
        max_message_bytes: 4 << 20,
        max_block_msg_bytes: 4 << 20,
        ..Limits::default()
    };
    let e = Node::start_with(FakeChain::new(3, 1, 1, 8), vec![a_addr], loose).await;
    let a_id = a.handle.peer_id();
    e.wait_gossip_peer(a_id).await;

    // Garbage on the blocks topic, and a message over A's 64 KiB cap on the messages topic.
    e.handle
        .publish_raw(false, b"not a block".to_vec())
        .await
        .unwrap();
    let mut big = signed_message(9, 1);
    big.message.params = vec![0u8; 200 << 10].into();
    e.handle.publish_message(&big).await.unwrap();
    eventually("A rejects both", DEADLINE, || async {
        (a.handle.stats().await.unwrap().gossip_rejected >= 2).then_some(())
    })
    .await;
    // Over A's gossipsub frame cap altogether: dropped before validation.
    let mut huge = signed_message(9, 2);
    huge.message.params = vec![0u8; 2 << 20].into();
    e.handle.publish_message(&huge).await.unwrap();

    // A is alive and surfaced none of them.
    let stats = a.handle.stats().await.unwrap();
    assert_eq!(stats.gossip_accepted, 0, "{stats:?}");
    while let Ok(event) = a.events.try_recv() {
        assert!(
            !matches!(event, NetEvent::Block { .. } | NetEvent::Message { .. }),
            "bad gossip surfaced: {event:?}"
        );
    }
}
