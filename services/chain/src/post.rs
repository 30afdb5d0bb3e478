//! WinningPoSt verification behind a trait, with the devnet scheme this node uses.
//!
//! Real Winning PoSt needs filecoin-proofs and Groth16 parameters; local networks here use
//! `venus_consensus::DevnetWinningPoSt`, the same stand-in the devnet prover (`venus-prover`)
//! answers `ComputeProof` with: a blake2b-256 commitment to the miner ID, the challenge
//! randomness and every proven sector's number and sealed CID. It binds a block to its miner's
//! sectors and the epoch's randomness but proves no storage. A real prover plugs in via the
//! trait.

use venus_consensus::{DevnetWinningPoSt, SectorChallenge, WinningPoStScheme};
use venus_types::{Address, PoStProof};

use crate::actors::SectorOnChainInfo;

/// Verifies a block's WinningPoSt proofs.
pub trait WinningPoStVerifier: Send + Sync {
    fn verify(
        &self,
        miner: &Address,
        randomness: &[u8; 32],
        sectors: &[SectorOnChainInfo],
        proofs: &[PoStProof],
    ) -> Result<(), String>;
}

/// The devnet scheme (see the module doc). The proof type follows the miner's seal proof, as
/// the prover derives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevnetPoSt;

impl DevnetPoSt {
    fn scheme(sectors: &[SectorOnChainInfo]) -> Result<DevnetWinningPoSt, String> {
        let seal_proof = sectors
            .first()
            .map(|s| i64::from(s.seal_proof))
            .ok_or_else(|| "the miner has no sectors to prove".to_string())?;
        Ok(DevnetWinningPoSt {
            proof_type: venus_consensus::winning_post_proof_type(seal_proof)?,
            ..DevnetWinningPoSt::default()
        })
    }

    fn challenges(sectors: &[SectorOnChainInfo]) -> Vec<SectorChallenge> {
        sectors
            .iter()
            .map(|s| SectorChallenge {
                sector_number: s.sector_number,
                sealed_cid: venus_types::Cid(s.sealed_cid),
            })
            .collect()
    }

    /// The proofs a devnet prover produces for these inputs.
    pub fn prove(
        miner_id: u64,
        randomness: &[u8; 32],
        sectors: &[SectorOnChainInfo],
    ) -> Result<Vec<PoStProof>, String> {
        Self::scheme(sectors)?
            .prove(miner_id, &Self::challenges(sectors), randomness)
            .map_err(|e| e.to_string())
    }
}

impl WinningPoStVerifier for DevnetPoSt {
    fn verify(
        &self,
        miner: &Address,
        randomness: &[u8; 32],
        sectors: &[SectorOnChainInfo],
        proofs: &[PoStProof],
    ) -> Result<(), String> {
        let id = miner
            .id()
            .ok_or_else(|| format!("miner {miner} is not an ID address"))?;
        Self::scheme(sectors)?
            .verify(id, &Self::challenges(sectors), randomness, proofs)
            .map_err(|e| format!("WinningPoSt proof does not verify: {e}"))
    }
}
