//! The block header and its parts.

use crate::cbor::{blake2b_256, cid_of_cbor_bytes, to_cbor_infallible};
use crate::wire::wire_struct;
use crate::{Address, Base64Bytes, BigInt, ChainEpoch, Cid, Signature, TokenAmount};

wire_struct! {
    /// The block's VRF ticket. CBOR `[VRFProof]`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Ticket {
        "VRFProof" => pub vrf_proof: Base64Bytes,
    }
}

impl Ticket {
    /// blake2b-256 of the VRF proof; tipsets order blocks by it.
    pub fn digest(&self) -> [u8; 32] {
        blake2b_256(&self.vrf_proof)
    }

    /// Lotus `Ticket.Quality`: 1 − digest/2^256, as used by message selection.
    pub fn quality(&self) -> f64 {
        let digest = self.digest();
        // 2^-256 scaled big-endian fraction; f64 precision is what Lotus gets from big.Float.
        let fraction = digest
            .iter()
            .rev()
            .fold(0.0f64, |acc, &b| (acc + f64::from(b)) / 256.0);
        1.0 - fraction
    }
}

wire_struct! {
    /// CBOR `[WinCount, VRFProof]`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct ElectionProof {
        "WinCount" => pub win_count: i64,
        "VRFProof" => pub vrf_proof: Base64Bytes,
    }
}

wire_struct! {
    /// A drand (or mock) beacon entry. CBOR `[Round, Data]`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct BeaconEntry {
        "Round" => pub round: u64,
        "Data" => pub data: Base64Bytes,
    }
}

wire_struct! {
    /// CBOR `[PoStProof, ProofBytes]` (`PoStProof` is the registered proof type number).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PoStProof {
        "PoStProof" => pub post_proof: i64,
        "ProofBytes" => pub proof_bytes: Base64Bytes,
    }
}

wire_struct! {
    /// A block header: CBOR array of 16 in cbor-gen order.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct BlockHeader {
        "Miner" => pub miner: Address,
        "Ticket" => pub ticket: Option<Ticket>,
        "ElectionProof" => pub election_proof: Option<ElectionProof>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "BeaconEntries" => pub beacon_entries: Vec<BeaconEntry>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "WinPoStProof" => pub win_post_proof: Vec<PoStProof>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "Parents" => pub parents: Vec<Cid>,
        "ParentWeight" => pub parent_weight: BigInt,
        "Height" => pub height: ChainEpoch,
        "ParentStateRoot" => pub parent_state_root: Cid,
        "ParentMessageReceipts" => pub parent_message_receipts: Cid,
        "Messages" => pub messages: Cid,
        "BLSAggregate" => pub bls_aggregate: Option<Signature>,
        "Timestamp" => pub timestamp: u64,
        "BlockSig" => pub block_sig: Option<Signature>,
        "ForkSignaling" => pub fork_signaling: u64,
        "ParentBaseFee" => pub parent_base_fee: TokenAmount,
    }
}

impl BlockHeader {
    pub fn to_cbor(&self) -> Vec<u8> {
        to_cbor_infallible(self)
    }

    /// blake2b-256 DAG-CBOR CID of the full header (signature included).
    pub fn cid(&self) -> Cid {
        cid_of_cbor_bytes(&self.to_cbor())
    }

    /// The bytes the worker key signs: the header CBOR with `BlockSig` null
    /// (Lotus `SigningBytes`, venus `SignatureData`).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let unsigned = BlockHeader {
            block_sig: None,
            ..self.clone()
        };
        unsigned.to_cbor()
    }

    /// The parents as a tipset key.
    pub fn parents_key(&self) -> crate::TipSetKey {
        crate::TipSetKey::new(self.parents.clone())
    }
}
