//! Filecoin networking for the venus node, over libp2p (TCP + noise + yamux).
//!
//! Speaks the protocols and wire formats Lotus and Forest speak, byte for byte:
//! - hello, `/fil/hello/1.0.0` ([`hello`]): each side sends its heaviest tipset on connect;
//! - chain exchange, `/fil/chain/xchg/0.0.1` ([`xchg`]): headers and messages for a range of
//!   tipsets, with Lotus's request limits;
//! - gossipsub topics `/fil/blocks/<network>` and `/fil/msgs/<network>` ([`gossip`]) carrying
//!   Lotus's CBOR `BlockMsg` and `SignedMessage`, with Lotus's message id (blake2b-256 of the data).
//!
//! The node starts a [`P2pService`] with a [`P2pConfig`] and its [`ChainProvider`] (which serves
//! hello and chain-exchange requests from its store), gets a [`P2pHandle`] to act on the network
//! and a stream of [`NetEvent`]s (peers, hellos, gossiped blocks and messages). Every inbound
//! frame, request and gossip message is size-capped and every request times out ([`Limits`]).

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod behaviour;
pub mod config;
mod error;
mod frame;
pub mod gossip;
mod handle;
pub mod hello;
mod service;
pub mod xchg;

pub use config::{Limits, P2pConfig, load_or_create_identity};
pub use error::P2pError;
pub use handle::{NetEvent, NetStats, P2pHandle, PeerInfo};
pub use hello::{HelloMessage, LatencyMessage};
pub use service::{ChainProvider, P2pService};

/// libp2p types the API uses, re-exported so callers need no direct libp2p dependency.
pub use libp2p::{Multiaddr, PeerId, identity::Keypair, multiaddr};
