//! Answering `ComputeProof`: check the request against the sector store, then prove with the
//! miner's WinningPoSt scheme (`venus_consensus::WinningPoStScheme`: the devnet stand-in
//! today, a filecoin-proofs implementation later — nothing here changes then).

use venus_api::proof::{ComputeProofRequest, ExtendedSectorInfo};
use venus_consensus::{DevnetWinningPoSt, SectorChallenge, WinningPoStScheme};
use venus_types::{Address, PoStProof};

use crate::store::SectorStore;

pub use venus_consensus::winning_post_proof_type;

/// The devnet scheme for a miner whose sectors use `seal_proof`.
pub fn devnet_scheme(seal_proof: i64) -> Result<DevnetWinningPoSt, String> {
    Ok(DevnetWinningPoSt {
        proof_type: winning_post_proof_type(seal_proof)?,
        ..DevnetWinningPoSt::default()
    })
}

/// Refuse sectors this prover does not hold (or holds with another sealed CID).
pub fn check_sectors(
    store: &SectorStore,
    miner: &Address,
    sectors: &[ExtendedSectorInfo],
) -> Result<(), String> {
    if sectors.is_empty() {
        return Err("ComputeProof with no sectors".into());
    }
    for s in sectors {
        match store.sector(miner, s.sector_number) {
            None => {
                return Err(format!(
                    "sector {} of miner {miner} is not in this prover's store",
                    s.sector_number
                ));
            }
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
    scheme: &dyn WinningPoStScheme,
    store: &SectorStore,
    miner: &Address,
    req: &ComputeProofRequest,
) -> Result<Vec<PoStProof>, String> {
    let miner_id = miner
        .id()
        .ok_or_else(|| format!("miner {miner} is not an ID address"))?;
    let randomness: [u8; 32] = req
        .rand
        .as_slice()
        .try_into()
        .map_err(|_| format!("randomness must be 32 bytes, got {}", req.rand.len()))?;
    check_sectors(store, miner, &req.sector_infos)?;
    let challenges: Vec<SectorChallenge> = req
        .sector_infos
        .iter()
        .map(|s| SectorChallenge {
            sector_number: s.sector_number,
            sealed_cid: s.sealed_cid,
        })
        .collect();
    scheme
        .prove(miner_id, &challenges, &randomness)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> SectorStore {
        let comm_r = venus_types::cid_of(&"sealed sector 0").expect("cid");
        let json = format!(
            r#"{{"t01000":{{"ID":"t01000","Owner":"t3x","Worker":"t3x","PeerId":"p","MarketBalance":"0","PowerBalance":"0",
               "SectorSize":2048,"Sectors":[{{"CommR":{},"SectorID":0,"Deal":{{}},"ProofType":5}}]}}}}"#,
            serde_json::to_string(&comm_r).expect("cid json")
        );
        std::fs::write(dir.join("pre-seal-t01000.json"), json).expect("write");
        SectorStore::load(dir).expect("load")
    }

    #[test]
    fn proves_held_sectors_and_the_node_side_verifies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let miner: Address = "t01000".parse().expect("addr");
        let sector = store.sector(&miner, 0).expect("sector").clone();
        assert_eq!(sector.seal_proof, 5);
        let scheme = devnet_scheme(sector.seal_proof).expect("scheme");
        let info = ExtendedSectorInfo {
            seal_proof: 5,
            sector_number: 0,
            sector_key: None,
            sealed_cid: sector.sealed_cid,
        };
        let req = ComputeProofRequest {
            sector_infos: vec![info.clone()],
            rand: vec![7; 32].into(),
            height: 10,
            nw_version: 21,
        };
        let proofs = compute(&scheme, &store, &miner, &req).expect("proved");
        let challenge = [SectorChallenge {
            sector_number: 0,
            sealed_cid: sector.sealed_cid,
        }];
        scheme
            .verify(1000, &challenge, &[7; 32], &proofs)
            .expect("verifies");
        assert!(scheme.verify(1000, &challenge, &[8; 32], &proofs).is_err());

        let missing = ComputeProofRequest {
            sector_infos: vec![ExtendedSectorInfo {
                sector_number: 9,
                ..info.clone()
            }],
            ..req.clone()
        };
        assert!(
            compute(&scheme, &store, &miner, &missing)
                .expect_err("missing")
                .contains("not in this prover's store")
        );
        let short = ComputeProofRequest {
            rand: vec![1; 3].into(),
            ..req.clone()
        };
        assert!(
            compute(&scheme, &store, &miner, &short)
                .expect_err("short")
                .contains("32 bytes")
        );
        let other: Address = "t01001".parse().expect("addr");
        assert!(compute(&scheme, &store, &other, &req).is_err());
    }

    #[test]
    fn proof_type_mapping() {
        assert_eq!(winning_post_proof_type(0), Ok(0));
        assert_eq!(winning_post_proof_type(8), Ok(3));
        assert!(winning_post_proof_type(42).is_err());
    }
}
