//! The randomness inputs of block production (Lotus `miner/miner.go`, `chain/gen/gen.go`).

use venus_types::randomness::{DomainSeparationTag, address_entropy, draw_randomness};
use venus_types::{Address, BeaconEntry, ChainEpoch, DrawRandomParams};

/// Lotus `build.TicketRandomnessLookback`.
pub const TICKET_RANDOMNESS_LOOKBACK: ChainEpoch = 1;

/// The beacon value a miner draws from: the last new entry, else the previous one.
pub fn beacon_base<'a>(entries: &'a [BeaconEntry], prev: &'a BeaconEntry) -> &'a BeaconEntry {
    entries.last().unwrap_or(prev)
}

/// Ticket VRF input parameters for `round`: entropy is CBOR(miner) followed by the parent's
/// min-ticket VRF proof (after UpgradeSmokeHeight — always on devnets).
pub fn ticket_params(
    rbase: &BeaconEntry,
    round: ChainEpoch,
    miner: &Address,
    parent_min_ticket: Option<&[u8]>,
) -> DrawRandomParams {
    let mut entropy = address_entropy(miner);
    if let Some(ticket) = parent_min_ticket {
        entropy.extend_from_slice(ticket);
    }
    DrawRandomParams {
        rbase: rbase.data.clone(),
        pers: DomainSeparationTag::TicketProduction as i64,
        round: round - TICKET_RANDOMNESS_LOOKBACK,
        entropy: entropy.into(),
    }
}

/// Election proof VRF input parameters for `round`.
pub fn election_params(
    rbase: &BeaconEntry,
    round: ChainEpoch,
    miner: &Address,
) -> DrawRandomParams {
    DrawRandomParams {
        rbase: rbase.data.clone(),
        pers: DomainSeparationTag::ElectionProofProduction as i64,
        round,
        entropy: address_entropy(miner).into(),
    }
}

/// WinningPoSt challenge seed for `round`.
pub fn winning_post_randomness(
    rbase: &BeaconEntry,
    round: ChainEpoch,
    miner: &Address,
) -> [u8; 32] {
    draw_randomness(
        &rbase.data,
        DomainSeparationTag::WinningPoStChallengeSeed as i64,
        round,
        &address_entropy(miner),
    )
}
