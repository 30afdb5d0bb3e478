//! Sync with peers: the node's side of the chain exchange and hello ([`exchange`]), catch-up
//! to a heavier peer head ([`catchup`]), and the loop that turns network events into work —
//! gossiped blocks into the chain, gossiped messages into the pool, heavier heads into
//! catch-ups — and publishes what the node accepts ([`Announcer`]).

pub mod catchup;
pub mod exchange;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use venus_p2p::xchg::{self, BsTipSet};
use venus_p2p::{ChainProvider, HelloMessage, NetEvent, P2pError, P2pHandle, PeerId};
use venus_types::{BigInt, BlockMsg, ChainEpoch, SignedMessage, TipSetKey};

use crate::node::{Announce, Node};
use catchup::{ChainFetch, Fault, catch_up, is_known};

/// Serves hello and chain exchange from the node's store.
pub struct NodeProvider(pub Arc<Node>);

impl ChainProvider for NodeProvider {
    fn hello(&self) -> HelloMessage {
        exchange::hello(&self.0)
    }

    fn chain_exchange(&self, request: &xchg::Request) -> xchg::Response {
        exchange::serve(&self.0.cs, request)
    }
}

/// Chain exchange with one peer.
pub struct PeerFetch {
    pub handle: P2pHandle,
    pub peer: PeerId,
}

#[async_trait::async_trait]
impl ChainFetch for PeerFetch {
    async fn fetch(
        &self,
        head: &TipSetKey,
        length: u64,
        messages: bool,
    ) -> Result<Vec<BsTipSet>, Fault> {
        let options = if messages {
            xchg::MESSAGES
        } else {
            xchg::HEADERS
        };
        self.handle
            .fetch_chain(self.peer, head, length, options)
            .await
            .map_err(|e| {
                let not_found = matches!(
                    &e,
                    P2pError::Status { status, .. } if *status == xchg::Status::NOT_FOUND
                );
                match e {
                    P2pError::InvalidResponse { .. } => Fault::Peer(e.to_string()),
                    _ if not_found => Fault::NotFound(e.to_string()),
                    other => Fault::Local(other.to_string()),
                }
            })
    }
}

/// What accepted blocks and local messages are published through: a bounded queue drained
/// by a task (callers may be on blocking threads; a full queue drops and logs).
pub struct Announcer {
    tx: mpsc::Sender<Outgoing>,
}

enum Outgoing {
    Block(Box<BlockMsg>),
    Message(Box<SignedMessage>),
}

/// Announcements waiting to be published.
const ANNOUNCE_QUEUE: usize = 1024;

impl Announcer {
    pub fn spawn(handle: P2pHandle) -> Announcer {
        let (tx, mut rx) = mpsc::channel::<Outgoing>(ANNOUNCE_QUEUE);
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let result = match &out {
                    Outgoing::Block(b) => handle.publish_block(b).await,
                    Outgoing::Message(m) => handle.publish_message(m).await,
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "gossip publish failed");
                }
            }
        });
        Announcer { tx }
    }

    fn send(&self, out: Outgoing) {
        if self.tx.try_send(out).is_err() {
            tracing::warn!("gossip queue full: an announcement was dropped");
        }
    }
}

impl Announce for Announcer {
    fn block(&self, block: &BlockMsg) {
        self.send(Outgoing::Block(Box::new(block.clone())));
    }

    fn message(&self, msg: &SignedMessage) {
        self.send(Outgoing::Message(Box::new(msg.clone())));
    }
}

/// A head to catch up to, and the peer that has it.
#[derive(Debug, Clone)]
struct Target {
    peer: PeerId,
    key: TipSetKey,
    height: ChainEpoch,
    attempts: u32,
}

/// The best pending catch-up target (the highest one wins; one catch-up runs at a time).
#[derive(Default)]
struct Pending {
    target: Mutex<Option<Target>>,
    wake: Notify,
}

impl Pending {
    fn offer(&self, t: Target) {
        let mut g = self.target.lock();
        if g.as_ref().is_none_or(|cur| t.height >= cur.height) {
            *g = Some(t);
            self.wake.notify_one();
        }
    }

    async fn take(&self) -> Target {
        loop {
            if let Some(t) = self.target.lock().take() {
                return t;
            }
            self.wake.notified().await;
        }
    }
}

/// A catch-up that failed for a local reason (timeout, disconnect) is retried this many times.
const MAX_ATTEMPTS: u32 = 5;
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Runs the sync loops until the event stream ends.
pub async fn run(node: Arc<Node>, handle: P2pHandle, mut events: mpsc::Receiver<NetEvent>) {
    let pending = Arc::new(Pending::default());
    tokio::spawn(catch_up_loop(node.clone(), handle.clone(), pending.clone()));
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::PeerConnected(peer) => tracing::info!(%peer, "peer connected"),
            NetEvent::PeerDisconnected(peer) => tracing::info!(%peer, "peer disconnected"),
            NetEvent::Hello { peer, msg } => on_hello(&node, &pending, peer, &msg),
            NetEvent::Block { from, msg } => on_block(&node, &pending, from, msg).await,
            NetEvent::Message { from, msg } => on_message(&node, from, msg).await,
        }
    }
    tracing::info!("network event stream ended");
}

fn our_weight(node: &Node) -> BigInt {
    node.cs
        .weight(node.head().key())
        .ok()
        .flatten()
        .unwrap_or_else(BigInt::zero)
}

fn on_hello(node: &Node, pending: &Pending, peer: PeerId, msg: &HelloMessage) {
    let key = TipSetKey::new(msg.heaviest_tipset.clone());
    let ours = our_weight(node);
    tracing::info!(%peer, height = msg.heaviest_tipset_height, weight = %msg.heaviest_tipset_weight.0, "hello");
    if msg.heaviest_tipset_weight.0 <= ours.0 || is_known(node, &key) {
        return;
    }
    node.sync
        .peer_head(msg.heaviest_tipset_height, &peer.to_string());
    pending.offer(Target {
        peer,
        key,
        height: msg.heaviest_tipset_height,
        attempts: 0,
    });
}

async fn on_block(node: &Arc<Node>, pending: &Pending, from: PeerId, msg: BlockMsg) {
    let cid = msg.header.cid();
    let height = msg.header.height;
    if is_known(node, &TipSetKey::new(vec![cid])) {
        return;
    }
    let parents = TipSetKey::new(msg.header.parents.clone());
    if is_known(node, &parents) {
        match node.submit_block(&msg).await {
            Ok(_) => {
                tracing::debug!(%from, %cid, height, "gossiped block accepted");
                return;
            }
            // Usually messages we never received: the sender has them, fetch the block
            // with its messages below.
            Err(e) => {
                tracing::info!(%from, %cid, height, error = %e, "gossiped block not applied; fetching it")
            }
        }
    } else {
        tracing::info!(%from, %cid, height, "gossiped block on unknown parents; catching up");
    }
    node.sync.peer_head(height, &from.to_string());
    pending.offer(Target {
        peer: from,
        key: TipSetKey::new(vec![cid]),
        height,
        attempts: 0,
    });
}

async fn on_message(node: &Arc<Node>, from: PeerId, msg: SignedMessage) {
    let n = node.clone();
    // Untrusted: the pool's checks and size limits apply, and it is not kept across restarts.
    let result = tokio::task::spawn_blocking(move || n.push_message(msg, false)).await;
    match result {
        Ok(Ok(cid)) => tracing::debug!(%from, %cid, "gossiped message added to the pool"),
        Ok(Err(e)) => tracing::debug!(%from, error = %e, "gossiped message refused"),
        Err(e) => tracing::warn!(error = %e, "message task failed"),
    }
}

async fn catch_up_loop(node: Arc<Node>, handle: P2pHandle, pending: Arc<Pending>) {
    loop {
        let target = pending.take().await;
        if is_known(&node, &target.key) {
            continue;
        }
        let fetch = PeerFetch {
            handle: handle.clone(),
            peer: target.peer,
        };
        let peer = target.peer.to_string();
        match catch_up(&node, &fetch, &target.key, &peer).await {
            Ok(_) => {}
            Err(Fault::Peer(reason)) => {
                tracing::warn!(%peer, %reason, "peer served an invalid chain: reported");
                node.sync.forget_peer(&peer);
                if let Err(e) = handle.report_bad_peer(target.peer, &reason).await {
                    tracing::warn!(error = %e, "cannot report the peer");
                }
            }
            Err(Fault::Local(reason) | Fault::NotFound(reason))
                if target.attempts + 1 < MAX_ATTEMPTS =>
            {
                tracing::info!(%peer, %reason, attempt = target.attempts + 1, "catch-up will be retried");
                tokio::time::sleep(RETRY_DELAY).await;
                pending.offer(Target {
                    attempts: target.attempts + 1,
                    ..target
                });
            }
            Err(Fault::Local(reason) | Fault::NotFound(reason)) => {
                tracing::warn!(%peer, %reason, "catch-up gave up");
            }
        }
    }
}
