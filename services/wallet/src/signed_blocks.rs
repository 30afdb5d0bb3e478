//! Slashing protection for block signatures, independent of the miner: the wallet keeps,
//! per signing key, the block headers it signed (miner, height → header CID) in a file, and
//! refuses to sign a second, different header for the same miner and height (two blocks of
//! one miner at one epoch are a slashable consensus fault). The same header again is fine.
//!
//! The record is written (and synced) before the signature is made, so a crash can never
//! leave a signature the record does not know. It is bounded: heights more than
//! [`KEEP_HEIGHTS`] below the newest of a key are forgotten.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use venus_types::{Address, BlockHeader};

/// How far below a key's newest signed height records are kept (a week of 30 s epochs).
pub const KEEP_HEIGHTS: i64 = 20_160;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlashingError {
    #[error(
        "refusing to sign a second block for miner {miner} at height {height}: block {signed} was already signed (double signing is a slashable fault)"
    )]
    DoubleSign {
        miner: String,
        height: i64,
        signed: String,
    },
    #[error("signed-blocks record {path}: {reason}")]
    Store { path: String, reason: String },
}

/// Per signer: (miner, height) → header CID.
type Record = BTreeMap<String, BTreeMap<String, BTreeMap<i64, String>>>;

pub struct SignedBlocks {
    path: Mutex<Option<PathBuf>>,
    record: Mutex<Record>,
}

impl Default for SignedBlocks {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl SignedBlocks {
    /// Kept in memory only (until [`SignedBlocks::persist_to`]).
    pub fn in_memory() -> Self {
        Self {
            path: Mutex::new(None),
            record: Mutex::new(Record::new()),
        }
    }

    /// Load the record from `path` (if it exists) and keep it there from now on; what was
    /// recorded in memory before is kept too.
    pub fn persist_to(&self, path: &Path) -> Result<(), SlashingError> {
        let err = |reason: String| SlashingError::Store {
            path: path.display().to_string(),
            reason,
        };
        let loaded: Record = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Record::new(),
            Err(e) => return Err(err(e.to_string())),
        };
        let mut record = self.record.lock();
        for (signer, miners) in loaded {
            let mine = record.entry(signer).or_default();
            for (miner, heights) in miners {
                mine.entry(miner).or_default().extend(heights);
            }
        }
        write(path, &record).map_err(err)?;
        *self.path.lock() = Some(path.to_owned());
        Ok(())
    }

    /// Check `header` (unsigned, as the wallet is asked to sign it) against what `signer`
    /// signed before, and record it. Errors when a different header of the same miner and
    /// height was signed.
    pub fn check_and_record(
        &self,
        signer: &Address,
        header: &BlockHeader,
    ) -> Result<(), SlashingError> {
        let mut unsigned = header.clone();
        unsigned.block_sig = None;
        let cid = unsigned.cid().to_string();
        let miner = header.miner.to_string();
        let height = header.height;
        let mut record = self.record.lock();
        let heights = record
            .entry(signer.to_string())
            .or_default()
            .entry(miner.clone())
            .or_default();
        match heights.get(&height) {
            Some(signed) if *signed == cid => return Ok(()),
            Some(signed) => {
                return Err(SlashingError::DoubleSign {
                    miner,
                    height,
                    signed: signed.clone(),
                });
            }
            None => {}
        }
        heights.insert(height, cid);
        let newest = heights.keys().next_back().copied().unwrap_or(height);
        heights.retain(|h, _| *h >= newest - KEEP_HEIGHTS);
        if let Some(path) = self.path.lock().as_deref()
            && let Err(reason) = write(path, &record)
        {
            // Not recorded, not signed: undo so a retry behaves the same.
            if let Some(h) = record
                .get_mut(&signer.to_string())
                .and_then(|m| m.get_mut(&header.miner.to_string()))
            {
                h.remove(&height);
            }
            return Err(SlashingError::Store {
                path: path.display().to_string(),
                reason,
            });
        }
        Ok(())
    }
}

/// Write atomically and durably: temp file, fsync, rename.
fn write(path: &Path, record: &Record) -> Result<(), String> {
    let bytes = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    f.write_all(&bytes).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(miner: &str, height: i64, ts: u64) -> BlockHeader {
        let cid = venus_types::cid_of(&height).unwrap();
        BlockHeader {
            miner: miner.parse().unwrap(),
            ticket: None,
            election_proof: None,
            beacon_entries: Vec::new(),
            win_post_proof: Vec::new(),
            parents: vec![cid],
            parent_weight: venus_types::BigInt::default(),
            height,
            parent_state_root: cid,
            parent_message_receipts: cid,
            messages: cid,
            bls_aggregate: None,
            timestamp: ts,
            block_sig: None,
            fork_signaling: 0,
            parent_base_fee: venus_types::TokenAmount::default(),
        }
    }

    #[test]
    fn a_second_header_for_one_height_is_refused_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signed_blocks.json");
        let signer: Address = "t01".parse().unwrap();
        let s = SignedBlocks::in_memory();
        s.persist_to(&path).unwrap();
        s.check_and_record(&signer, &header("t01000", 10, 1))
            .unwrap();
        // The same header again (a retry) is fine, even with a signature attached.
        let mut signed = header("t01000", 10, 1);
        signed.block_sig = Some(venus_types::Signature::new_bls(vec![1; 96]));
        s.check_and_record(&signer, &signed).unwrap();
        // Another miner, or another height, is fine.
        s.check_and_record(&signer, &header("t01001", 10, 2))
            .unwrap();
        s.check_and_record(&signer, &header("t01000", 11, 2))
            .unwrap();
        drop(s);

        let s = SignedBlocks::in_memory();
        s.persist_to(&path).unwrap();
        let err = s
            .check_and_record(&signer, &header("t01000", 10, 9))
            .unwrap_err();
        assert!(
            matches!(&err, SlashingError::DoubleSign { miner, height: 10, .. }
                if miner.parse::<Address>().unwrap() == "t01000".parse::<Address>().unwrap()),
            "{err}"
        );
        assert!(err.to_string().contains("refusing to sign a second block"));
    }

    #[test]
    fn old_heights_are_forgotten() {
        let signer: Address = "t01".parse().unwrap();
        let s = SignedBlocks::in_memory();
        s.check_and_record(&signer, &header("t01000", 1, 1))
            .unwrap();
        s.check_and_record(&signer, &header("t01000", 2 + KEEP_HEIGHTS, 1))
            .unwrap();
        // Height 1 fell out of the window: a different header there is no longer known.
        s.check_and_record(&signer, &header("t01000", 1, 7))
            .unwrap();
        let rec = s.record.lock();
        let miner = "t01000".parse::<Address>().unwrap().to_string();
        assert_eq!(
            rec[&signer.to_string()][&miner].len(),
            1,
            "height 1 is outside the window again"
        );
    }
}
