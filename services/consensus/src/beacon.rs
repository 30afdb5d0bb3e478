//! Randomness beacons. The devnet uses Lotus's mock beacon (`chain/beacon/mock.go`): entry data
//! for round r is blake2b-256(r as big-endian u64), and epoch e maps to round e + 100.

use venus_types::{BeaconEntry, ChainEpoch};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    #[error("beacon entry for round {round} is invalid")]
    InvalidEntry { round: u64 },
    #[error("expected {expected} beacon entries for epochs {parent_epoch}..{epoch}, got {got}")]
    WrongCount {
        parent_epoch: ChainEpoch,
        epoch: ChainEpoch,
        expected: usize,
        got: usize,
    },
    #[error("beacon entry {index} has round {got}, expected {expected}")]
    WrongRound {
        index: usize,
        expected: u64,
        got: u64,
    },
    #[error("epoch {epoch} is not after parent epoch {parent_epoch}")]
    EpochOrder {
        parent_epoch: ChainEpoch,
        epoch: ChainEpoch,
    },
}

/// A randomness beacon as the chain uses it (unchained form, as drand quicknet and the mock).
pub trait RandomBeacon: Send + Sync {
    /// The entry for a round.
    fn entry(&self, round: u64) -> Result<BeaconEntry, BeaconError>;
    /// Checks an entry.
    fn verify_entry(&self, entry: &BeaconEntry) -> Result<(), BeaconError>;
    /// The beacon round a block at `epoch` must include last.
    fn max_round_for_epoch(&self, epoch: ChainEpoch) -> u64;

    /// The entries a block at `epoch` on a parent at `parent_epoch` carries: one per epoch in
    /// `(parent_epoch, epoch]`, ascending (Lotus `BeaconEntriesForBlock`, unchained beacons).
    fn entries_for_block(
        &self,
        epoch: ChainEpoch,
        parent_epoch: ChainEpoch,
    ) -> Result<Vec<BeaconEntry>, BeaconError> {
        if epoch <= parent_epoch {
            return Err(BeaconError::EpochOrder {
                parent_epoch,
                epoch,
            });
        }
        ((parent_epoch + 1)..=epoch)
            .map(|e| self.entry(self.max_round_for_epoch(e)))
            .collect()
    }

    /// Validates a block's entries against [`Self::entries_for_block`]'s rule.
    fn validate_block_entries(
        &self,
        entries: &[BeaconEntry],
        epoch: ChainEpoch,
        parent_epoch: ChainEpoch,
    ) -> Result<(), BeaconError> {
        if epoch <= parent_epoch {
            return Err(BeaconError::EpochOrder {
                parent_epoch,
                epoch,
            });
        }
        let expected = usize::try_from(epoch - parent_epoch).unwrap_or(usize::MAX);
        if entries.len() != expected {
            return Err(BeaconError::WrongCount {
                parent_epoch,
                epoch,
                expected,
                got: entries.len(),
            });
        }
        for (index, entry) in entries.iter().enumerate() {
            let want = self.max_round_for_epoch(parent_epoch + 1 + index as ChainEpoch);
            if entry.round != want {
                return Err(BeaconError::WrongRound {
                    index,
                    expected: want,
                    got: entry.round,
                });
            }
            self.verify_entry(entry)?;
        }
        Ok(())
    }
}

/// Lotus's mock beacon: deterministic, needs no network. For devnets only.
#[derive(Clone, Copy, Debug, Default)]
pub struct MockBeacon;

/// Lotus mock offset: epoch e uses round e + 100.
pub const MOCK_ROUND_OFFSET: i64 = 100;

impl MockBeacon {
    /// blake2b-256 of the round as big-endian u64.
    pub fn data_for_round(round: u64) -> [u8; 32] {
        let digest = blake2b_simd::Params::new()
            .hash_length(32)
            .hash(&round.to_be_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_bytes());
        out
    }
}

impl RandomBeacon for MockBeacon {
    fn entry(&self, round: u64) -> Result<BeaconEntry, BeaconError> {
        Ok(BeaconEntry {
            round,
            data: Self::data_for_round(round).to_vec().into(),
        })
    }

    fn verify_entry(&self, entry: &BeaconEntry) -> Result<(), BeaconError> {
        if entry.data.as_slice() == Self::data_for_round(entry.round) {
            Ok(())
        } else {
            Err(BeaconError::InvalidEntry { round: entry.round })
        }
    }

    fn max_round_for_epoch(&self, epoch: ChainEpoch) -> u64 {
        // Go converts `uint64(epoch + 100)`; epochs are never below −100 on a real chain.
        u64::try_from(epoch.saturating_add(MOCK_ROUND_OFFSET)).unwrap_or(0)
    }
}
