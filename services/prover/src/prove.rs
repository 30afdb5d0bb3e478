//! Answering `ComputeProof`: check the request against the sector store, then prove with the
//! configured scheme. The scheme is a trait so damocles-grade proofs can replace the devnet
//! one without touching the gateway side.

use venus_api::proof::{ComputeProofRequest, ExtendedSectorInfo};
use venus_types::{Address, PoStProof};

use crate::store::SectorStore;

/// Produces WinningPoSt proofs for sectors the prover holds.
pub trait ProofScheme: Send + Sync + 'static {
    fn winning_post(
        &self,
        miner: &Address,
        sectors: &[ExtendedSectorInfo],
        randomness: &[u8],
        network_version: u32,
    ) -> Result<Vec<PoStProof>, String>;
}

/// Refuse sectors this prover does not hold (or holds with another sealed CID).
pub fn check_sectors(store: &SectorStore, miner: &Address, sectors: &[ExtendedSectorInfo]) -> Result<(), String> {
    if sectors.is_empty() {
        return Err("ComputeProof with no sectors".into());
    }
    for s in sectors {
        match store.sector(miner, s.sector_number) {
            None => return Err(format!("sector {} of miner {miner} is not in this prover's store", s.sector_number)),
            Some(held) if held.sealed_cid != s.sealed_cid => {
                return Err(format!(
                    "sector {} of miner {miner}: sealed CID {} differs from the stored {}",
                    s.sector_number, s.sealed_cid, held.sealed_cid
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub fn compute(
    scheme: &dyn ProofScheme,
    store: &SectorStore,
    miner: &Address,
    req: &ComputeProofRequest,
) -> Result<Vec<PoStProof>, String> {
    check_sectors(store, miner, &req.sector_infos)?;
    scheme.winning_post(miner, &req.sector_infos, &req.rand, req.nw_version)
}
