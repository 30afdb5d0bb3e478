//! `P2pHandle`: what the node calls to act on the network, and `NetEvent`: what it hears.

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use venus_types::{BlockMsg, SignedMessage, TipSetKey};

use crate::error::P2pError;
use crate::hello::HelloMessage;
use crate::xchg::{self, BsTipSet};

/// Something that happened on the network, in the order the service saw it.
// Blocks are the common large event; boxing them would only move the size to the heap.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum NetEvent {
    /// A first connection to this peer was established.
    PeerConnected(PeerId),
    /// The last connection to this peer closed.
    PeerDisconnected(PeerId),
    /// A peer on our genesis said hello: its heaviest tipset is a candidate head to sync to.
    Hello { peer: PeerId, msg: HelloMessage },
    /// A block arrived on the blocks topic (decoded and size-checked, not validated).
    Block { from: PeerId, msg: BlockMsg },
    /// A signed message arrived on the messages topic (decoded and size-checked, not validated).
    Message { from: PeerId, msg: SignedMessage },
}

/// A connected peer and the addresses we are connected to it on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub id: PeerId,
    pub addrs: Vec<Multiaddr>,
}

/// Counters since start, for logs and metrics (the node exports them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Peers connected now.
    pub peers: u64,
    /// Peers banned now ([`P2pHandle::report_bad_peer`]).
    pub banned_peers: u64,
    /// Gossip messages accepted (decoded, within caps) and passed on.
    pub gossip_accepted: u64,
    /// Gossip messages rejected (undecodable, over a cap, unknown topic); their senders lose score.
    pub gossip_rejected: u64,
    /// Chain-exchange requests answered from the provider.
    pub xchg_served: u64,
    /// Chain-exchange requests refused without asking the provider (`BadRequest`, `GoAway`).
    pub xchg_refused: u64,
    /// Hello or chain-exchange frames that could not be read (garbage, over a cap, cut short)
    /// and inbound requests that timed out.
    pub inbound_failures: u64,
    /// Hellos naming another genesis (those peers are disconnected).
    pub wrong_genesis: u64,
    /// Events dropped because the node's receiver was full.
    pub events_dropped: u64,
}

/// What a handle asks the service's task to do; each carries where to answer.
pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Stats(oneshot::Sender<NetStats>),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    GossipPeers(oneshot::Sender<Vec<PeerId>>),
    Connect(Multiaddr, oneshot::Sender<Result<PeerId, P2pError>>),
    Publish {
        topic: crate::service::Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    ChainExchange {
        peer: PeerId,
        request: xchg::Request,
        reply: oneshot::Sender<Result<xchg::Response, P2pError>>,
    },
    ProtectAdd(Vec<PeerId>, oneshot::Sender<()>),
    ProtectRemove(Vec<PeerId>, oneshot::Sender<()>),
    ProtectList(oneshot::Sender<Vec<PeerId>>),
    ReportBadPeer(PeerId, String, oneshot::Sender<()>),
}

/// A cheap, cloneable handle on a running [`crate::P2pService`]. The service stops when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct P2pHandle {
    pub(crate) peer_id: PeerId,
    pub(crate) commands: mpsc::Sender<Command>,
    /// Peers connected now (kept by the service's task).
    pub(crate) connected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl P2pHandle {
    /// How many peers are connected now, without a round trip to the service.
    pub fn connected_peers(&self) -> usize {
        self.connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the service listens on (a `0` port resolved to the one the kernel chose).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, P2pError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Counters since start.
    pub async fn stats(&self) -> Result<NetStats, P2pError> {
        self.ask(Command::Stats).await
    }

    /// The connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, P2pError> {
        self.ask(Command::Peers).await
    }

    /// The peers subscribed to our blocks topic (those a published block goes to).
    pub async fn gossip_peers(&self) -> Result<Vec<PeerId>, P2pError> {
        self.ask(Command::GossipPeers).await
    }

    /// Dials `addr` (with or without a `/p2p/<id>` suffix) and returns the peer once connected.
    pub async fn connect(&self, addr: Multiaddr) -> Result<PeerId, P2pError> {
        self.ask(|tx| Command::Connect(addr, tx)).await?
    }

    async fn publish(&self, topic: crate::service::Topic, data: Vec<u8>) -> Result<(), P2pError> {
        self.ask(|reply| Command::Publish { topic, data, reply })
            .await?
    }

    /// Publishes a block on the blocks topic. With no peer subscribed yet it is not an error
    /// (the block is simply not sent), as in Lotus.
    pub async fn publish_block(&self, block: &BlockMsg) -> Result<(), P2pError> {
        let data = venus_types::to_cbor(block).map_err(|e| P2pError::Encode(e.to_string()))?;
        self.publish(crate::service::Topic::Blocks, data).await
    }

    /// Publishes a signed message on the messages topic (no peer yet is not an error).
    pub async fn publish_message(&self, message: &SignedMessage) -> Result<(), P2pError> {
        let data = venus_types::to_cbor(message).map_err(|e| P2pError::Encode(e.to_string()))?;
        self.publish(crate::service::Topic::Messages, data).await
    }

    /// Publishes raw bytes on a topic, skipping encoding: for tests that play a bad peer.
    #[doc(hidden)]
    pub async fn publish_raw(&self, messages_topic: bool, data: Vec<u8>) -> Result<(), P2pError> {
        let topic = if messages_topic {
            crate::service::Topic::Messages
        } else {
            crate::service::Topic::Blocks
        };
        self.publish(topic, data).await
    }

    /// Sends one chain-exchange request as is and returns the peer's answer, whatever its
    /// status. [`P2pHandle::fetch_chain`] is the checked form.
    pub async fn chain_exchange(
        &self,
        peer: PeerId,
        request: xchg::Request,
    ) -> Result<xchg::Response, P2pError> {
        self.ask(|reply| Command::ChainExchange {
            peer,
            request,
            reply,
        })
        .await?
    }

    /// Fetches `length` tipsets from `peer` going back from `head` (`options`: [`xchg::HEADERS`]
    /// and/or [`xchg::MESSAGES`]). The answer is checked as Lotus's client checks it (status,
    /// count, head and parent links, message indexes); a `Partial` answer returns what came.
    pub async fn fetch_chain(
        &self,
        peer: PeerId,
        head: &TipSetKey,
        length: u64,
        options: u64,
    ) -> Result<Vec<BsTipSet>, P2pError> {
        let request = xchg::Request {
            head: head.cids().to_vec(),
            length,
            options,
        };
        if let Err(refused) = request.validate() {
            return Err(P2pError::Status {
                peer: "(not sent)".into(),
                status: refused.status,
                message: refused.error_message,
            });
        }
        let response = self.chain_exchange(peer, request.clone()).await?;
        if !response.status.is_success() {
            return Err(P2pError::Status {
                peer: peer.to_string(),
                status: response.status,
                message: response.error_message,
            });
        }
        xchg::check_response(&request, &response).map_err(|reason| P2pError::InvalidResponse {
            peer: peer.to_string(),
            reason,
        })?;
        Ok(response.chain)
    }

    /// Protects peers from being dropped when the service is over its peer cap.
    pub async fn protect_add(&self, peers: Vec<PeerId>) -> Result<(), P2pError> {
        self.ask(|tx| Command::ProtectAdd(peers, tx)).await
    }

    /// Removes peers' protection.
    pub async fn protect_remove(&self, peers: Vec<PeerId>) -> Result<(), P2pError> {
        self.ask(|tx| Command::ProtectRemove(peers, tx)).await
    }

    /// The protected peers.
    pub async fn protect_list(&self) -> Result<Vec<PeerId>, P2pError> {
        self.ask(Command::ProtectList).await
    }

    /// Reports a peer that misbehaved (served invalid blocks, …): it is blacklisted on gossip,
    /// disconnected, and refused (both ways) for [`crate::Limits::ban_duration`].
    pub async fn report_bad_peer(&self, peer: PeerId, reason: &str) -> Result<(), P2pError> {
        self.ask(|tx| Command::ReportBadPeer(peer, reason.to_string(), tx))
            .await
    }
}
