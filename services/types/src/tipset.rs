//! `TipSetKey` and `TipSet`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cbor::{cid_of_cbor_bytes, to_cbor_infallible};
use crate::{BigInt, BlockHeader, ChainEpoch, Cid, Ticket};

/// The ordered CIDs of a tipset's blocks. CBOR: one byte string holding the concatenated CID
/// bytes (Lotus `TipSetKey`); JSON: an array of `{"/":…}` (`null` reads as the empty key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TipSetKey(Vec<Cid>);

/// A tipset key's byte form is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tipset key bytes at offset {offset}: {reason}")]
pub struct TipSetKeyError {
    pub offset: usize,
    pub reason: String,
}

impl TipSetKey {
    pub fn new(cids: Vec<Cid>) -> Self {
        Self(cids)
    }

    pub fn cids(&self) -> &[Cid] {
        &self.0
    }

    pub fn into_cids(self) -> Vec<Cid> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The concatenated CID bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|c| c.to_bytes()).collect()
    }

    /// Splits concatenated CID bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TipSetKeyError> {
        let mut cids = Vec::new();
        let mut cursor = std::io::Cursor::new(bytes);
        while (cursor.position() as usize) < bytes.len() {
            let offset = cursor.position() as usize;
            let cid = cid::Cid::read_bytes(&mut cursor).map_err(|e| TipSetKeyError {
                offset,
                reason: e.to_string(),
            })?;
            cids.push(Cid(cid));
        }
        Ok(Self(cids))
    }

    /// The blake2b-256 DAG-CBOR CID of the key's CBOR (a byte string of the CID bytes).
    pub fn cid(&self) -> Cid {
        cid_of_cbor_bytes(&to_cbor_infallible(self))
    }
}

impl From<Vec<Cid>> for TipSetKey {
    fn from(cids: Vec<Cid>) -> Self {
        Self(cids)
    }
}

impl std::fmt::Display for TipSetKey {
    /// `{bafy…,bafy…}` as Lotus prints keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for TipSetKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.0.serialize(s)
        } else {
            s.serialize_bytes(&self.to_bytes())
        }
    }
}

impl<'de> Deserialize<'de> for TipSetKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let cids: Option<Vec<Cid>> = Option::deserialize(d)?;
            Ok(Self(cids.unwrap_or_default()))
        } else {
            let bytes: Vec<u8> = fvm_ipld_encoding::strict_bytes::deserialize(d)?;
            Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
        }
    }
}

/// Blocks do not form a tipset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TipSetError {
    #[error("a tipset needs at least one block")]
    Empty,
    #[error("block {index} has height {found}, the tipset has height {expected}")]
    MixedHeights {
        index: usize,
        expected: ChainEpoch,
        found: ChainEpoch,
    },
    #[error("block {index} has different parents from the first block")]
    MixedParents { index: usize },
    #[error("block {index} has no ticket (only genesis may lack one, and it is alone)")]
    MissingTicket { index: usize },
    #[error("tipset cids {given} do not match its blocks {computed}")]
    CidMismatch {
        given: TipSetKey,
        computed: TipSetKey,
    },
}

/// Blocks at one height with the same parents, in canonical order (ascending blake2b-256 of the
/// ticket's VRF proof, ties broken by block CID bytes — Lotus `tipset.go`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipSet {
    blocks: Vec<BlockHeader>,
    key: TipSetKey,
}

impl TipSet {
    /// Validates and sorts `blocks`.
    pub fn new(blocks: Vec<BlockHeader>) -> Result<Self, TipSetError> {
        let first = blocks.first().ok_or(TipSetError::Empty)?;
        let (height, parents) = (first.height, first.parents.clone());
        for (index, b) in blocks.iter().enumerate() {
            if b.height != height {
                return Err(TipSetError::MixedHeights {
                    index,
                    expected: height,
                    found: b.height,
                });
            }
            if b.parents != parents {
                return Err(TipSetError::MixedParents { index });
            }
            if b.ticket.is_none() && blocks.len() > 1 {
                return Err(TipSetError::MissingTicket { index });
            }
        }
        let mut keyed: Vec<([u8; 32], Vec<u8>, Cid, BlockHeader)> = blocks
            .into_iter()
            .map(|b| {
                let digest = b.ticket.as_ref().map(Ticket::digest).unwrap_or_default();
                let cid = b.cid();
                (digest, cid.to_bytes(), cid, b)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let key = TipSetKey(keyed.iter().map(|k| k.2).collect());
        let blocks = keyed.into_iter().map(|k| k.3).collect();
        Ok(Self { blocks, key })
    }

    pub fn blocks(&self) -> &[BlockHeader] {
        &self.blocks
    }

    pub fn into_blocks(self) -> Vec<BlockHeader> {
        self.blocks
    }

    pub fn key(&self) -> &TipSetKey {
        &self.key
    }

    pub fn cids(&self) -> &[Cid] {
        self.key.cids()
    }

    pub fn height(&self) -> ChainEpoch {
        self.blocks[0].height
    }

    pub fn parents(&self) -> TipSetKey {
        self.blocks[0].parents_key()
    }

    pub fn parent_weight(&self) -> &BigInt {
        &self.blocks[0].parent_weight
    }

    pub fn parent_state(&self) -> Cid {
        self.blocks[0].parent_state_root
    }

    /// The smallest ticket (the first block's, by the sort order).
    pub fn min_ticket(&self) -> Option<&Ticket> {
        self.blocks[0].ticket.as_ref()
    }

    pub fn min_timestamp(&self) -> u64 {
        self.blocks.iter().map(|b| b.timestamp).min().unwrap_or(0)
    }

    /// The tipset's blocks count (`len` of a tipset is never zero).
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

#[derive(Serialize)]
struct TipSetOut<'a> {
    #[serde(rename = "Cids")]
    cids: &'a [Cid],
    #[serde(rename = "Blocks")]
    blocks: &'a [BlockHeader],
    #[serde(rename = "Height")]
    height: ChainEpoch,
}

#[derive(Deserialize)]
struct TipSetIn {
    #[serde(rename = "Cids")]
    cids: Option<Vec<Cid>>,
    #[serde(rename = "Blocks")]
    blocks: Vec<BlockHeader>,
    #[serde(rename = "Height")]
    #[allow(dead_code)]
    height: ChainEpoch,
}

impl Serialize for TipSet {
    /// Lotus `ExpTipSet`: JSON `{"Cids","Blocks","Height"}`, CBOR the same as a tuple.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            TipSetOut {
                cids: self.cids(),
                blocks: &self.blocks,
                height: self.height(),
            }
            .serialize(s)
        } else {
            (self.cids(), &self.blocks, self.height()).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for TipSet {
    /// Rebuilds the tipset from its blocks (validated and re-sorted) and checks that the given
    /// `Cids`, if any, match.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (cids, blocks) = if d.is_human_readable() {
            let t = TipSetIn::deserialize(d)?;
            (t.cids.unwrap_or_default(), t.blocks)
        } else {
            let (cids, blocks, _height): (Vec<Cid>, Vec<BlockHeader>, ChainEpoch) =
                Deserialize::deserialize(d)?;
            (cids, blocks)
        };
        let ts = TipSet::new(blocks).map_err(serde::de::Error::custom)?;
        if !cids.is_empty() && cids != ts.cids() {
            return Err(serde::de::Error::custom(TipSetError::CidMismatch {
                given: TipSetKey(cids),
                computed: ts.key.clone(),
            }));
        }
        Ok(ts)
    }
}
