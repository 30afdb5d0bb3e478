//! The sector store: the pre-seal output of `venus seed pre-seal` / `lotus-seed pre-seal`
//! (`pre-seal-<miner>.json`, a map of miner id → `{ID, Sectors:[{CommR, SectorID, ProofType…}]}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use venus_types::{Address, Cid};

/// What the prover knows of one sector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sector {
    pub number: u64,
    pub sealed_cid: Cid,
    pub seal_proof: i64,
}

#[derive(Deserialize)]
struct PreSealMiner {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Sectors", default)]
    sectors: Option<Vec<PreSealSector>>,
}

#[derive(Deserialize)]
struct PreSealSector {
    #[serde(rename = "CommR")]
    comm_r: Cid,
    #[serde(rename = "SectorID")]
    sector_id: u64,
    #[serde(rename = "ProofType")]
    proof_type: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a pre-seal file: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("no pre-seal-*.json in {0}: run `venus seed pre-seal --sector-dir {0}` first")]
    Empty(PathBuf),
}

/// Sectors by miner.
#[derive(Debug, Clone, Default)]
pub struct SectorStore {
    miners: BTreeMap<Address, BTreeMap<u64, Sector>>,
}

impl SectorStore {
    /// Load every `pre-seal-*.json` in `dir`.
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut store = Self::default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("pre-seal-") && n.ends_with(".json"))
            })
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            let parsed: BTreeMap<String, PreSealMiner> =
                serde_json::from_str(&text).map_err(|e| StoreError::Parse {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            for (_, m) in parsed {
                let miner: Address = m.id.parse().map_err(|e| StoreError::Parse {
                    path: path.clone(),
                    reason: format!("miner ID {:?}: {e}", m.id),
                })?;
                let sectors = store.miners.entry(miner).or_default();
                for s in m.sectors.unwrap_or_default() {
                    sectors.insert(
                        s.sector_id,
                        Sector {
                            number: s.sector_id,
                            sealed_cid: s.comm_r,
                            seal_proof: s.proof_type,
                        },
                    );
                }
            }
        }
        if store.miners.is_empty() {
            return Err(StoreError::Empty(dir.to_owned()));
        }
        Ok(store)
    }

    pub fn miners(&self) -> Vec<Address> {
        self.miners.keys().copied().collect()
    }

    pub fn sector(&self, miner: &Address, number: u64) -> Option<&Sector> {
        self.miners.get(miner)?.get(&number)
    }

    /// The seal proof type of a miner's sectors (the first one; pre-seals use one type).
    pub fn seal_proof(&self, miner: &Address) -> Option<i64> {
        self.miners
            .get(miner)?
            .values()
            .next()
            .map(|s| s.seal_proof)
    }

    pub fn sector_count(&self, miner: &Address) -> usize {
        self.miners.get(miner).map_or(0, BTreeMap::len)
    }
}
