//! Chain exchange, `/fil/chain/xchg/0.0.1`: a peer asks for `length` tipsets going back from
//! `head`, with their headers, their messages or both (Lotus `chain/exchange`).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use venus_types::{BlockHeader, Cid, Message, SignedMessage, TipSetKey};

use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple, serde_tuple};

/// The chain-exchange protocol id.
pub const PROTOCOL: &str = "/fil/chain/xchg/0.0.1";

/// Most tipsets one request may ask for (Lotus: `policy.ChainFinality`).
pub const MAX_REQUEST_LENGTH: u64 = 900;

/// Option bit: send the tipsets' block headers.
pub const HEADERS: u64 = 1;
/// Option bit: send the tipsets' messages.
pub const MESSAGES: u64 = 2;

/// Most blocks in one tipset a response may carry (Lotus's expected max tipset size is 15;
/// headroom for forks of a local network).
pub const MAX_BLOCKS_PER_TIPSET: usize = 100;

/// A chain-exchange request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Request {
    /// The CIDs of the tipset to start from (its key), going back to its parents.
    pub head: Vec<Cid>,
    /// How many tipsets, `head` included: 1 ..= [`MAX_REQUEST_LENGTH`].
    pub length: u64,
    /// [`HEADERS`] | [`MESSAGES`].
    pub options: u64,
}

impl Request {
    /// Whether the headers are asked for.
    pub fn wants_headers(&self) -> bool {
        self.options & HEADERS != 0
    }

    /// Whether the messages are asked for.
    pub fn wants_messages(&self) -> bool {
        self.options & MESSAGES != 0
    }

    /// Lotus's checks, in Lotus's order and words: `Err` is the `BadRequest` answer to send.
    pub fn validate(&self) -> Result<(), Response> {
        let bad = |message: String| Response::error(Status::BAD_REQUEST, message);
        if !self.wants_headers() && !self.wants_messages() {
            return Err(bad("no options set".into()));
        }
        if self.length > MAX_REQUEST_LENGTH {
            return Err(bad(format!(
                "request length over maximum allowed ({MAX_REQUEST_LENGTH})"
            )));
        }
        if self.length == 0 {
            return Err(bad("invalid request length of zero".into()));
        }
        if self.head.is_empty() {
            return Err(bad("no cids in request".into()));
        }
        Ok(())
    }
}

/// A response status (Lotus's codes; any other number decodes too and reads as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Status(pub u64);

impl Status {
    /// Everything asked for.
    pub const OK: Status = Status(0);
    /// Fewer tipsets than asked for, but at least the head (not an error).
    pub const PARTIAL: Status = Status(101);
    /// The head is not known.
    pub const NOT_FOUND: Status = Status(201);
    /// The server will not serve this peer now (busy).
    pub const GO_AWAY: Status = Status(202);
    /// The server failed.
    pub const INTERNAL_ERROR: Status = Status(203);
    /// The request breaks the protocol's limits.
    pub const BAD_REQUEST: Status = Status(204);

    /// `Ok` or `Partial`.
    pub fn is_success(self) -> bool {
        self == Self::OK || self == Self::PARTIAL
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::OK => "Ok",
            Self::PARTIAL => "Partial",
            Self::NOT_FOUND => "NotFound",
            Self::GO_AWAY => "GoAway",
            Self::INTERNAL_ERROR => "InternalError",
            Self::BAD_REQUEST => "BadRequest",
            _ => "Unknown",
        };
        write!(f, "{name} ({})", self.0)
    }
}

/// A chain-exchange response.
#[derive(Clone, Debug, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Response {
    /// How it went.
    pub status: Status,
    /// Why, when it went wrong.
    pub error_message: String,
    /// The tipsets, `head` first, each next one the previous one's parent.
    pub chain: Vec<BsTipSet>,
}

impl Response {
    /// An answer with `status` (an error) and no tipsets.
    pub fn error(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            error_message: message.into(),
            chain: Vec::new(),
        }
    }

    /// A successful answer to a request of `length`: `Ok` when complete, else `Partial`.
    pub fn chain(chain: Vec<BsTipSet>, length: u64) -> Self {
        let status = if (chain.len() as u64) < length {
            Status::PARTIAL
        } else {
            Status::OK
        };
        Self {
            status,
            error_message: String::new(),
            chain,
        }
    }
}

/// One tipset of a response: its headers and/or its messages (each empty when not asked).
#[derive(Clone, Debug, Default, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct BsTipSet {
    /// The tipset's block headers (empty when headers were not asked for).
    pub blocks: Vec<BlockHeader>,
    /// The tipset's messages (`None`, CBOR null, when messages were not asked for).
    pub messages: Option<CompactedMessages>,
}

/// A tipset's messages, each once, with per-block index lists into them.
#[derive(Clone, Debug, Default, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct CompactedMessages {
    /// The BLS messages of all the tipset's blocks, each once.
    pub bls: Vec<Message>,
    /// Per block (in tipset order), indexes into `bls`.
    pub bls_includes: Vec<Vec<u64>>,
    /// The secp256k1 messages of all the tipset's blocks, each once.
    pub secpk: Vec<SignedMessage>,
    /// Per block (in tipset order), indexes into `secpk`.
    pub secpk_includes: Vec<Vec<u64>>,
}

/// One block's messages, in the block's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockMessages {
    /// The block's BLS messages.
    pub bls: Vec<Message>,
    /// The block's secp256k1 messages.
    pub secpk: Vec<SignedMessage>,
}

impl CompactedMessages {
    /// Compacts the messages of a tipset's blocks (in tipset order): a message included by
    /// several blocks is sent once, as Lotus does.
    pub fn compact(blocks: &[BlockMessages]) -> Self {
        let mut out = Self::default();
        let mut bls_index: HashMap<Cid, u64> = HashMap::new();
        let mut secpk_index: HashMap<Cid, u64> = HashMap::new();
        for block in blocks {
            let mut bls_incl = Vec::with_capacity(block.bls.len());
            for m in &block.bls {
                let i = *bls_index.entry(m.cid()).or_insert_with(|| {
                    out.bls.push(m.clone());
                    out.bls.len() as u64 - 1
                });
                bls_incl.push(i);
            }
            out.bls_includes.push(bls_incl);
            let mut secpk_incl = Vec::with_capacity(block.secpk.len());
            for m in &block.secpk {
                let i = *secpk_index.entry(m.cid()).or_insert_with(|| {
                    out.secpk.push(m.clone());
                    out.secpk.len() as u64 - 1
                });
                secpk_incl.push(i);
            }
            out.secpk_includes.push(secpk_incl);
        }
        out
    }

    /// Each block's messages, for a tipset of `blocks` blocks; an error when the index lists
    /// do not match the block count or point outside the message lists.
    pub fn expand(&self, blocks: usize) -> Result<Vec<BlockMessages>, String> {
        if self.bls_includes.len() != blocks || self.secpk_includes.len() != blocks {
            return Err(format!(
                "message includes for {} / {} blocks, the tipset has {blocks}",
                self.bls_includes.len(),
                self.secpk_includes.len()
            ));
        }
        let pick = |list_len: usize, index: u64, kind: &str| -> Result<usize, String> {
            usize::try_from(index)
                .ok()
                .filter(|&i| i < list_len)
                .ok_or_else(|| format!("{kind} message index {index} out of {list_len}"))
        };
        let mut out = Vec::with_capacity(blocks);
        for (bls_incl, secpk_incl) in self.bls_includes.iter().zip(&self.secpk_includes) {
            let count = bls_incl.len() + secpk_incl.len();
            if count > crate::gossip::BLOCK_MESSAGE_LIMIT {
                return Err(format!(
                    "a block with {count} messages (limit {})",
                    crate::gossip::BLOCK_MESSAGE_LIMIT
                ));
            }
            let mut block = BlockMessages::default();
            for &i in bls_incl {
                block
                    .bls
                    .push(self.bls[pick(self.bls.len(), i, "bls")?].clone());
            }
            for &i in secpk_incl {
                block
                    .secpk
                    .push(self.secpk[pick(self.secpk.len(), i, "secpk")?].clone());
            }
            out.push(block);
        }
        Ok(out)
    }
}

/// Checks a successful response against its request, as Lotus's client does: no more tipsets
/// than asked, the headers (when asked) start at `head` and each tipset is the previous one's
/// parent, the messages (when asked) are there with indexes that fit the blocks.
pub fn check_response(request: &Request, response: &Response) -> Result<(), String> {
    if response.chain.is_empty() {
        return Err("no tipsets in a successful response".into());
    }
    if response.chain.len() as u64 > request.length {
        return Err(format!(
            "{} tipsets for a request of {}",
            response.chain.len(),
            request.length
        ));
    }
    let mut expected_key = TipSetKey::new(request.head.clone());
    for (i, ts) in response.chain.iter().enumerate() {
        if request.wants_headers() {
            if ts.blocks.is_empty() || ts.blocks.len() > MAX_BLOCKS_PER_TIPSET {
                return Err(format!("tipset {i} has {} blocks", ts.blocks.len()));
            }
            let key = TipSetKey::new(ts.blocks.iter().map(BlockHeader::cid).collect());
            if key != expected_key {
                return Err(format!(
                    "tipset {i} is {key}, expected {expected_key} (head or parent link)"
                ));
            }
            expected_key = ts.blocks[0].parents_key();
        }
        if request.wants_messages() {
            let Some(messages) = &ts.messages else {
                return Err(format!("tipset {i} has no messages"));
            };
            if request.wants_headers() {
                messages.expand(ts.blocks.len())?;
            }
        }
    }
    Ok(())
}
