//! The beacon rounds a block carries on a local network (Lotus's mock beacon). The win count
//! is venus-consensus's, re-exported so chain code has one place to import election rules from.

use venus_consensus::beacon::MockBeacon;
pub use venus_consensus::{MAX_WIN_COUNT, compute_win_count};

/// Lotus's mock beacon: the entry for a round is blake2b-256(round, big-endian).
pub fn mock_beacon_entry(round: u64) -> venus_types::BeaconEntry {
    venus_types::BeaconEntry {
        round,
        data: MockBeacon::data_for_round(round).to_vec().into(),
    }
}

/// The latest beacon round for an epoch: one round per epoch from genesis (Lotus's mock adds
/// an offset of 100 rounds; a local network started from our genesis has no need for it).
pub fn max_beacon_round_for_epoch(epoch: i64) -> u64 {
    epoch.max(0) as u64
}

/// The beacon entries a block at `epoch` must carry, after the parent chain's last round.
pub fn beacon_entries_for_block(prev_round: u64, epoch: i64) -> Vec<venus_types::BeaconEntry> {
    let max = max_beacon_round_for_epoch(epoch);
    (prev_round + 1..=max).map(mock_beacon_entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_beacon_hashes_the_round() {
        let e = mock_beacon_entry(1);
        let expected = blake2b_simd::Params::new()
            .hash_length(32)
            .hash(&[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(e.data.as_slice(), expected.as_bytes());
        let entries = beacon_entries_for_block(3, 5);
        assert_eq!(
            entries.iter().map(|e| e.round).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }
}
