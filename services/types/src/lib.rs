//! Filecoin wire types, byte-compatible (DAG-CBOR) and JSON-compatible with Lotus and venus.
//!
//! Every type serialises two ways from one serde impl that switches on
//! `Serializer::is_human_readable()`:
//! - DAG-CBOR via `fvm_ipld_encoding` (not human-readable): the cbor-gen tuple shape, so CIDs
//!   match Lotus byte for byte;
//! - JSON via `serde_json` (human-readable): the Lotus JSON shape (`{"/":cid}`, base64 bytes,
//!   decimal big integers, Lotus field names in Lotus order).
//!
//! So the same value can be an RPC param/result and a block on the wire. See `README.md`.

mod address;
mod api;
mod bigint;
mod block;
mod bytes;
pub mod cbor;
mod cid;
pub mod crypto;
mod message;
mod msg_meta;
pub mod network;
pub mod randomness;
mod signature;
mod state;
mod tipset;
mod txmeta;
mod wire;

pub use address::{Address, AddressError, MaybeAddress, Network, UNDEF_ADDRESS};
pub use api::{
    BeneficiaryTerm, BlockMsg, BlockTemplate, ChainWeight, Claim, ExtendedSectorInfo,
    ForkUpgradeParams, HeadChange, HeadChangeType, MessageSendSpec, MinerInfo, MinerPower,
    MiningBaseInfo, MsgLookup, NetworkParams, PendingBeneficiaryChange,
};
pub use bigint::{BigInt, BigIntError, ChainEpoch, MAX_BIGINT_BYTES, StoragePower, TokenAmount};
pub use block::{BeaconEntry, BlockHeader, ElectionProof, PoStProof, Ticket};
pub use bytes::Base64Bytes;
pub use cbor::{CborError, cid_of, from_cbor, to_cbor};
pub use cid::{Cid, CidError};
pub use crypto::{KeyInfo, KeyType, PrivateKey};
pub use fvm_shared::address::Protocol;
pub use message::{Message, SignedMessage};
pub use msg_meta::{MsgMeta, MsgType};
pub use randomness::{DomainSeparationTag, DrawRandomParams};
pub use signature::{
    BLS_PUBLIC_KEY_LEN, BLS_SIGNATURE_LEN, SECP_SIGNATURE_LEN, Signature, SignatureError,
    SignatureType,
};
pub use state::{Actor, MessageReceipt};
pub use tipset::{TipSet, TipSetError, TipSetKey, TipSetKeyError};
pub use txmeta::{
    MsgRootError, TxMeta, amt_v0_root, compute_msg_meta, msg_meta_root, receipts_root,
};
