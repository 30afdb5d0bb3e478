//! Winning PoSt verification behind a trait, with the devnet scheme this node uses.
//!
//! Real Winning PoSt needs filecoin-proofs and Groth16 parameters; local networks here use a
//! devnet stand-in: the proof is blake2b-256 over the miner ID, the challenge randomness and
//! every proven sector's number and sealed CID. It binds a block to its miner's sectors and
//! the epoch's randomness but proves no storage. A real prover plugs in via the trait.

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

/// The devnet scheme (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct DevnetPoSt;

impl DevnetPoSt {
    /// The proof a devnet prover produces for these inputs.
    pub fn prove(miner_id: u64, randomness: &[u8; 32], sectors: &[SectorOnChainInfo]) -> Vec<u8> {
        let mut h = blake2b_simd::Params::new().hash_length(32).to_state();
        h.update(b"venus-devnet-winning-post");
        h.update(&miner_id.to_be_bytes());
        h.update(randomness);
        for s in sectors {
            h.update(&s.sector_number.to_be_bytes());
            h.update(&s.sealed_cid.to_bytes());
        }
        h.finalize().as_bytes().to_vec()
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
        let id = miner.id().ok_or_else(|| format!("miner {miner} is not an ID address"))?;
        let [proof] = proofs else {
            return Err(format!("expected exactly one WinningPoSt proof, got {}", proofs.len()));
        };
        if proof.proof_bytes.as_slice() != Self::prove(id, randomness, sectors).as_slice() {
            return Err("WinningPoSt proof does not match the miner's sectors and randomness".into());
        }
        Ok(())
    }
}
