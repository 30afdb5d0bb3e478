//! The proof stream between the gateway and provers (damocles / venus-sealer in production,
//! `venus-prover` on a devnet): what a `ComputeProof` event carries.

use serde::{Deserialize, Serialize};
use venus_types::{Base64Bytes, ChainEpoch, Cid};

/// A sector as WinningPoSt sees it (Lotus `proof.ExtendedSectorInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedSectorInfo {
    /// `abi.RegisteredSealProof` code.
    #[serde(rename = "SealProof")]
    pub seal_proof: i64,
    #[serde(rename = "SectorNumber")]
    pub sector_number: u64,
    #[serde(rename = "SectorKey", default)]
    pub sector_key: Option<Cid>,
    #[serde(rename = "SealedCID")]
    pub sealed_cid: Cid,
}

/// Payload of a `ComputeProof` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeProofRequest {
    #[serde(rename = "SectorInfos")]
    pub sector_infos: Vec<ExtendedSectorInfo>,
    #[serde(rename = "Rand")]
    pub rand: Base64Bytes,
    #[serde(rename = "Height")]
    pub height: ChainEpoch,
    #[serde(rename = "NWVersion")]
    pub nw_version: u32,
}
