//! WinningPoSt behind a trait, with a **devnet stand-in** implementation.
//!
//! `DevnetWinningPoSt` is NOT a proof of storage: its "proof" is a blake2b-256 commitment to
//! (miner id, challenged sector numbers and sealed CIDs, randomness). Anyone who knows those
//! public values can produce it. It lets a devnet's node and prover agree deterministically and
//! fast, with no Groth16 parameters. A filecoin-proofs implementation of [`WinningPoStScheme`]
//! replaces it for real networks.

use venus_types::{Cid, PoStProof};

/// A sector the prover is challenged on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectorChallenge {
    pub sector_number: u64,
    pub sealed_cid: Cid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoStError {
    #[error("no eligible sectors to challenge")]
    NoSectors,
    #[error("expected {expected} proof(s), got {got}")]
    WrongProofCount { expected: usize, got: usize },
    #[error("proof type {got} does not match the scheme's {expected}")]
    WrongProofType { expected: i64, got: i64 },
    #[error("winning PoSt proof does not verify")]
    Invalid,
}

/// How WinningPoSt challenges are chosen, proven and verified.
pub trait WinningPoStScheme: Send + Sync {
    /// Indices (into the miner's eligible sector list) the prover must prove.
    fn challenge_indices(
        &self,
        randomness: &[u8; 32],
        miner_id: u64,
        eligible_sector_count: u64,
    ) -> Result<Vec<u64>, PoStError>;

    /// Produces the proof for the challenged sectors.
    fn prove(
        &self,
        miner_id: u64,
        sectors: &[SectorChallenge],
        randomness: &[u8; 32],
    ) -> Result<Vec<PoStProof>, PoStError>;

    /// Verifies a proof from a block.
    fn verify(
        &self,
        miner_id: u64,
        sectors: &[SectorChallenge],
        randomness: &[u8; 32],
        proofs: &[PoStProof],
    ) -> Result<(), PoStError>;
}

/// The registered WinningPoSt proof type for a seal proof type (Lotus
/// `RegisteredSealProof.RegisteredWinningPoStProof`): 2KiB 0, 8MiB 1, 512MiB 2, 32GiB 3,
/// 64GiB 4, for both V1 (0–4) and V1_1 (5–9) seal proofs. Node and prover both derive the
/// devnet scheme's proof type with it, so their commitments agree.
pub fn winning_post_proof_type(seal_proof: i64) -> Result<i64, String> {
    match seal_proof {
        0..=9 => Ok(seal_proof % 5),
        other => Err(format!(
            "seal proof type {other} has no WinningPoSt proof type known here"
        )),
    }
}

/// Domain tag so the commitment can never collide with another blake2b use.
const DEVNET_POST_DOMAIN: &[u8] = b"venus-devnet-winning-post-v1";

/// Deterministic devnet WinningPoSt (see the module docs: not a real proof).
#[derive(Clone, Copy, Debug)]
pub struct DevnetWinningPoSt {
    /// Registered PoSt proof type written into blocks (e.g. 0 = StackedDrgWinning2KiBV1).
    pub proof_type: i64,
    /// Sectors challenged per proof (Filecoin's WinningPoSt challenges 1).
    pub sector_count: u64,
}

impl Default for DevnetWinningPoSt {
    fn default() -> Self {
        Self {
            proof_type: 0,
            sector_count: 1,
        }
    }
}

/// Filecoin truncates PoSt randomness to a field element (`rand[31] &= 0x3f`).
fn fr32(randomness: &[u8; 32]) -> [u8; 32] {
    let mut r = *randomness;
    r[31] &= 0x3f;
    r
}

impl DevnetWinningPoSt {
    fn commitment(
        &self,
        miner_id: u64,
        sectors: &[SectorChallenge],
        randomness: &[u8; 32],
    ) -> Vec<u8> {
        let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
        state.update(DEVNET_POST_DOMAIN);
        state.update(&self.proof_type.to_be_bytes());
        state.update(&miner_id.to_be_bytes());
        state.update(&fr32(randomness));
        state.update(&(sectors.len() as u64).to_be_bytes());
        for s in sectors {
            state.update(&s.sector_number.to_be_bytes());
            let cid = s.sealed_cid.to_bytes();
            state.update(&(cid.len() as u64).to_be_bytes());
            state.update(&cid);
        }
        state.finalize().as_bytes().to_vec()
    }
}

impl WinningPoStScheme for DevnetWinningPoSt {
    fn challenge_indices(
        &self,
        randomness: &[u8; 32],
        miner_id: u64,
        eligible_sector_count: u64,
    ) -> Result<Vec<u64>, PoStError> {
        if eligible_sector_count == 0 {
            return Err(PoStError::NoSectors);
        }
        let rand = fr32(randomness);
        Ok((0..self.sector_count)
            .map(|n| {
                let digest = blake2b_simd::Params::new()
                    .hash_length(32)
                    .to_state()
                    .update(DEVNET_POST_DOMAIN)
                    .update(&rand)
                    .update(&miner_id.to_be_bytes())
                    .update(&n.to_be_bytes())
                    .finalize();
                let mut first = [0u8; 8];
                first.copy_from_slice(&digest.as_bytes()[..8]);
                u64::from_le_bytes(first) % eligible_sector_count
            })
            .collect())
    }

    fn prove(
        &self,
        miner_id: u64,
        sectors: &[SectorChallenge],
        randomness: &[u8; 32],
    ) -> Result<Vec<PoStProof>, PoStError> {
        if sectors.is_empty() {
            return Err(PoStError::NoSectors);
        }
        Ok(vec![PoStProof {
            post_proof: self.proof_type,
            proof_bytes: self.commitment(miner_id, sectors, randomness).into(),
        }])
    }

    fn verify(
        &self,
        miner_id: u64,
        sectors: &[SectorChallenge],
        randomness: &[u8; 32],
        proofs: &[PoStProof],
    ) -> Result<(), PoStError> {
        let [proof] = proofs else {
            return Err(PoStError::WrongProofCount {
                expected: 1,
                got: proofs.len(),
            });
        };
        if proof.post_proof != self.proof_type {
            return Err(PoStError::WrongProofType {
                expected: self.proof_type,
                got: proof.post_proof,
            });
        }
        if sectors.is_empty() {
            return Err(PoStError::NoSectors);
        }
        if proof.proof_bytes.as_slice() == self.commitment(miner_id, sectors, randomness) {
            Ok(())
        } else {
            Err(PoStError::Invalid)
        }
    }
}
