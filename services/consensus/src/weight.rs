//! Chain weight: Lotus `chain/consensus/filcns/weight.go`.
//!
//! `w = parentWeight + (log2P << 8) + ((log2P × WRatioNum) << 8) × ΣWinCount /
//! (BlocksPerEpoch × WRatioDen)`, with `log2P = bitlen(total QA power) − 1` from the parent state.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::Signed;
use venus_types::BigInt as WireBigInt;

use crate::election::BLOCKS_PER_EPOCH;

/// Lotus `build.WRatioNum` / `WRatioDen`.
pub const W_RATIO_NUM: i64 = 1;
pub const W_RATIO_DEN: i64 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightError {
    /// Lotus's message for zero network power.
    #[error("All power in the net is gone. You network might be disconnected, or the net is dead!")]
    NoPower,
}

/// The weight of a tipset given its parent weight, the network's total quality-adjusted power
/// in the parent state, and the win counts of its blocks.
pub fn tipset_weight(
    parent_weight: &WireBigInt,
    total_qa_power: &WireBigInt,
    win_counts: impl IntoIterator<Item = i64>,
) -> Result<WireBigInt, WeightError> {
    if !total_qa_power.0.is_positive() {
        return Err(WeightError::NoPower);
    }
    let log2p = total_qa_power.0.bits() as i64 - 1;
    let total_wins: i64 = win_counts.into_iter().sum();
    let mut out = parent_weight.0.clone() + BigInt::from(log2p << 8);
    let e_weight: BigInt = (BigInt::from(log2p * W_RATIO_NUM) << 8) * BigInt::from(total_wins);
    // Go's Div (Euclidean) with a positive divisor is floor division.
    out += e_weight.div_floor(&BigInt::from(BLOCKS_PER_EPOCH as i64 * W_RATIO_DEN));
    Ok(WireBigInt(out))
}
