//! Test and bench support: an in-memory chain served as a `ChainProvider`, and services on
//! loopback with free ports.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use venus_p2p::xchg::{self, BlockMessages, BsTipSet, CompactedMessages};
use venus_p2p::{
    ChainProvider, HelloMessage, Keypair, Limits, Multiaddr, NetEvent, P2pConfig, P2pHandle,
    P2pService,
};
use venus_types::{
    Address, BigInt, BlockHeader, Cid, Message, Signature, SignedMessage, TipSetKey, TokenAmount,
    cbor,
};

/// One tipset of the fake chain: its headers and each block's messages.
#[derive(Clone, Debug)]
pub struct FakeTipSet {
    pub blocks: Vec<BlockHeader>,
    pub messages: Vec<BlockMessages>,
}

impl FakeTipSet {
    pub fn key(&self) -> TipSetKey {
        TipSetKey::new(self.blocks.iter().map(BlockHeader::cid).collect())
    }
}

/// A linear chain from genesis (index = height), unvalidated but well linked.
#[derive(Clone, Debug)]
pub struct FakeChain {
    pub tipsets: Vec<FakeTipSet>,
    index: HashMap<TipSetKey, usize>,
}

pub fn message(from: u64, nonce: u64) -> Message {
    Message {
        version: 0,
        to: Address::new_id(1000),
        from: Address::new_id(from),
        nonce,
        value: TokenAmount::from_atto(1),
        gas_limit: 1_000_000,
        gas_fee_cap: TokenAmount::from_atto(100),
        gas_premium: TokenAmount::from_atto(10),
        method: 0,
        params: Default::default(),
    }
}

pub fn signed_message(from: u64, nonce: u64) -> SignedMessage {
    SignedMessage {
        message: message(from, nonce),
        signature: Signature::new_secp256k1(vec![7; 65]),
    }
}

pub fn header(seed: u64, height: i64, parents: Vec<Cid>) -> BlockHeader {
    let cid = cbor::cid_of_cbor_bytes(&seed.to_be_bytes());
    BlockHeader {
        miner: Address::new_id(1000 + seed % 7),
        ticket: None,
        election_proof: None,
        beacon_entries: vec![],
        win_post_proof: vec![],
        parents,
        parent_weight: BigInt::from(height as u64 * 10),
        height,
        parent_state_root: cid,
        parent_message_receipts: cid,
        messages: cid,
        bls_aggregate: None,
        timestamp: 1_700_000_000 + height as u64 * 30,
        block_sig: Some(Signature::new_bls(vec![6; 96])),
        fork_signaling: 0,
        parent_base_fee: TokenAmount::from_atto(100),
    }
}

impl FakeChain {
    /// `length` tipsets (heights 0 .. length), `blocks_per_tipset` blocks each from height 1,
    /// each block with `messages` messages (a third BLS, the rest secp256k1; the first message
    /// shared by every block of the tipset, so compaction matters). `salt` makes distinct chains.
    pub fn new(length: usize, blocks_per_tipset: usize, messages: usize, salt: u64) -> Self {
        let mut tipsets = Vec::with_capacity(length);
        let genesis = header(salt << 32, 0, vec![]);
        tipsets.push(FakeTipSet {
            blocks: vec![genesis],
            messages: vec![BlockMessages::default()],
        });
        for height in 1..length {
            let parents = tipsets[height - 1].key().into_cids();
            let mut blocks = Vec::new();
            let mut msgs = Vec::new();
            for b in 0..blocks_per_tipset {
                let seed = (salt << 32) + (height as u64) * 100 + b as u64;
                blocks.push(header(seed, height as i64, parents.clone()));
                let mut block = BlockMessages::default();
                for m in 0..messages {
                    let nonce = if m == 0 {
                        height as u64 * 1000
                    } else {
                        seed * 1000 + m as u64
                    };
                    if m % 3 == 1 {
                        block.bls.push(message(2000, nonce));
                    } else {
                        block.secpk.push(signed_message(3000, nonce));
                    }
                }
                msgs.push(block);
            }
            tipsets.push(FakeTipSet {
                blocks,
                messages: msgs,
            });
        }
        let index = tipsets
            .iter()
            .enumerate()
            .map(|(i, ts)| (ts.key(), i))
            .collect();
        Self { tipsets, index }
    }

    pub fn genesis(&self) -> Cid {
        self.tipsets[0].blocks[0].cid()
    }

    pub fn head(&self) -> &FakeTipSet {
        self.tipsets.last().expect("a chain has genesis")
    }

    pub fn position(&self, key: &TipSetKey) -> Option<usize> {
        self.index.get(key).copied()
    }
}

impl ChainProvider for FakeChain {
    fn hello(&self) -> HelloMessage {
        let head = self.head();
        HelloMessage {
            heaviest_tipset: head.key().into_cids(),
            heaviest_tipset_height: head.blocks[0].height,
            heaviest_tipset_weight: BigInt::from(head.blocks[0].height as u64 * 10 + 10),
            genesis_hash: self.genesis(),
        }
    }

    fn chain_exchange(&self, request: &xchg::Request) -> xchg::Response {
        let Some(start) = self.position(&TipSetKey::new(request.head.clone())) else {
            return xchg::Response::error(xchg::Status::NOT_FOUND, "head not found");
        };
        let chain = (0..=start)
            .rev()
            .take(request.length as usize)
            .map(|i| {
                let ts = &self.tipsets[i];
                BsTipSet {
                    blocks: if request.wants_headers() {
                        ts.blocks.clone()
                    } else {
                        vec![]
                    },
                    messages: request
                        .wants_messages()
                        .then(|| CompactedMessages::compact(&ts.messages)),
                }
            })
            .collect();
        xchg::Response::chain(chain, request.length)
    }
}

/// A loopback listen address on a port the kernel picks.
pub fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

pub fn config(chain: &FakeChain, bootstrap: Vec<Multiaddr>, limits: Limits) -> P2pConfig {
    P2pConfig {
        listen: vec![loopback()],
        bootstrap,
        keypair: Keypair::generate_ed25519(),
        network_name: "testnetnet".into(),
        genesis: chain.genesis(),
        limits,
    }
}

/// A running service over `chain`.
pub struct Node {
    pub handle: P2pHandle,
    pub events: mpsc::Receiver<NetEvent>,
    pub chain: Arc<FakeChain>,
}

impl Node {
    pub async fn start(chain: FakeChain, bootstrap: Vec<Multiaddr>) -> Node {
        Self::start_with(chain, bootstrap, Limits::default()).await
    }

    pub async fn start_with(chain: FakeChain, bootstrap: Vec<Multiaddr>, limits: Limits) -> Node {
        let config = config(&chain, bootstrap, limits);
        let chain = Arc::new(chain);
        let (handle, events) = P2pService::start(config, chain.clone()).await.unwrap();
        Node {
            handle,
            events,
            chain,
        }
    }

    /// This node's dialable address, `/ip4/127.0.0.1/tcp/<port>/p2p/<id>`.
    pub async fn addr(&self) -> Multiaddr {
        let addr = self.handle.listen_addrs().await.unwrap().remove(0);
        addr.with(venus_p2p::multiaddr::Protocol::P2p(self.handle.peer_id()))
    }

    /// Waits until `peer` is subscribed to our blocks topic (so a publish reaches it).
    pub async fn wait_gossip_peer(&self, peer: venus_p2p::PeerId) {
        eventually("a gossip peer", Duration::from_secs(30), || async {
            self.handle
                .gossip_peers()
                .await
                .unwrap()
                .contains(&peer)
                .then_some(())
        })
        .await
    }

    /// The first event `pick` maps to `Some`, within `deadline`; other events are skipped.
    pub async fn expect<T>(
        &mut self,
        what: &str,
        deadline: Duration,
        mut pick: impl FnMut(&NetEvent) -> Option<T>,
    ) -> T {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Ok(Some(event)) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Ok(None) => panic!("event stream ended waiting for {what}"),
                Err(_) => panic!("no {what} within {deadline:?}"),
            }
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if tokio::time::Instant::now() >= until {
            panic!("{what}: not within {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
