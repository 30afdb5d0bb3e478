//! Gas: the price list the native actors charge, Filecoin's gas outputs (burn, tip,
//! over-estimation, refund) and the base-fee update.
//!
//! Charges follow Lotus's legacy-VM price list (`chain/vm/gas_v0.go`, calico values), the
//! last one defined for plain sends rather than WASM execution.

use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;

use crate::network::{BASE_FEE_MAX_CHANGE_DENOM, BLOCK_GAS_TARGET, MINIMUM_BASE_FEE};

/// Storage gas is charged at this multiple of the byte count.
pub const STORAGE_GAS_MULTI: i64 = 1300;
pub const ON_CHAIN_MESSAGE_COMPUTE_BASE: i64 = 38_863;
pub const ON_CHAIN_MESSAGE_STORAGE_BASE: i64 = 36;
pub const ON_CHAIN_MESSAGE_STORAGE_PER_BYTE: i64 = 1;
pub const ON_CHAIN_RETURN_VALUE_PER_BYTE: i64 = 1;
pub const SEND_BASE: i64 = 29_233;
pub const SEND_TRANSFER_FUNDS: i64 = 27_500;
pub const SEND_INVOKE_METHOD: i64 = -5_377;
pub const CREATE_ACTOR_COMPUTE: i64 = 1_108_454;
pub const CREATE_ACTOR_STORAGE: i64 = 36 + 40;

/// Gas to include a message of `chain_len` bytes on chain.
pub fn on_chain_message(chain_len: usize) -> i64 {
    ON_CHAIN_MESSAGE_COMPUTE_BASE
        + (ON_CHAIN_MESSAGE_STORAGE_BASE + ON_CHAIN_MESSAGE_STORAGE_PER_BYTE * chain_len as i64)
            * STORAGE_GAS_MULTI
}

/// Gas to store a return value.
pub fn on_chain_return_value(len: usize) -> i64 {
    len as i64 * ON_CHAIN_RETURN_VALUE_PER_BYTE * STORAGE_GAS_MULTI
}

/// Gas of invoking a method (value transfer and method call surcharges).
pub fn on_method_invocation(value_nonzero: bool, method: u64) -> i64 {
    let mut gas = SEND_BASE;
    if value_nonzero {
        gas += SEND_TRANSFER_FUNDS;
    }
    if method != 0 {
        gas += SEND_INVOKE_METHOD;
    }
    gas
}

/// Gas of creating an account actor for a new address.
pub fn on_create_actor() -> i64 {
    CREATE_ACTOR_COMPUTE + CREATE_ACTOR_STORAGE * STORAGE_GAS_MULTI
}

/// A message's running gas account.
#[derive(Debug, Clone, Copy)]
pub struct GasTracker {
    limit: i64,
    used: i64,
}

/// The message ran out of gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfGas;

impl GasTracker {
    pub fn new(limit: i64, used: i64) -> Self {
        GasTracker { limit, used }
    }

    /// Charges `gas`; on running out, `used` is pinned at the limit.
    pub fn charge(&mut self, gas: i64) -> Result<(), OutOfGas> {
        let next = self.used.saturating_add(gas);
        if next > self.limit {
            self.used = self.limit;
            return Err(OutOfGas);
        }
        self.used = next;
        Ok(())
    }

    pub fn used(&self) -> i64 {
        self.used
    }
}

/// Where a message's gas fee goes (Lotus `ComputeGasOutputs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GasOutputs {
    pub base_fee_burn: TokenAmount,
    pub over_estimation_burn: TokenAmount,
    pub miner_penalty: TokenAmount,
    pub miner_tip: TokenAmount,
    pub refund: TokenAmount,
    pub gas_refund: i64,
    pub gas_burned: i64,
}

const GAS_OVERUSE_NUM: i64 = 11;
const GAS_OVERUSE_DENOM: i64 = 10;

/// Gas the message over-reserved and must burn part of.
fn compute_gas_overestimation_burn(gas_used: i64, gas_limit: i64) -> (i64, i64) {
    if gas_used == 0 {
        return (0, gas_limit);
    }
    let mut over = gas_limit - (GAS_OVERUSE_NUM * gas_used) / GAS_OVERUSE_DENOM;
    if over < 0 {
        return (gas_limit - gas_used, 0);
    }
    if over > gas_used {
        over = gas_used;
    }
    let gas_to_burn = BigInt::from(gas_limit - gas_used) * over / gas_used;
    let gas_to_burn = i64::try_from(gas_to_burn).unwrap_or(gas_limit - gas_used);
    (gas_limit - gas_used - gas_to_burn, gas_to_burn)
}

pub fn compute_gas_outputs(
    gas_used: i64,
    gas_limit: i64,
    base_fee: &TokenAmount,
    fee_cap: &TokenAmount,
    premium: &TokenAmount,
    charge_network_fee: bool,
) -> GasOutputs {
    let mut out = GasOutputs::default();
    let mut base_fee_to_pay = base_fee.clone();
    if base_fee > fee_cap {
        base_fee_to_pay = fee_cap.clone();
        out.miner_penalty = (base_fee - fee_cap) * gas_used;
    }
    if charge_network_fee {
        out.base_fee_burn = &base_fee_to_pay * gas_used;
    }
    let mut miner_tip = premium.clone();
    let headroom = fee_cap - &base_fee_to_pay;
    if headroom < miner_tip {
        miner_tip = headroom;
    }
    out.miner_tip = miner_tip * gas_limit;
    let (refund, burned) = compute_gas_overestimation_burn(gas_used, gas_limit);
    out.gas_refund = refund;
    out.gas_burned = burned;
    if out.gas_burned != 0 {
        out.over_estimation_burn = &base_fee_to_pay * out.gas_burned;
        out.miner_penalty += (base_fee - &base_fee_to_pay) * out.gas_burned;
    }
    let required = fee_cap * gas_limit;
    out.refund = required - &out.base_fee_burn - &out.over_estimation_burn - &out.miner_tip;
    if out.refund.is_negative() {
        out.refund = TokenAmount::default();
    }
    out
}

/// The next base fee from this tipset's base fee and the summed gas limits of its unique
/// messages over `blocks` blocks (Lotus `ComputeNextBaseFee`, post-Smoke form).
pub fn next_base_fee(base_fee: &TokenAmount, gas_limit_used: i64, blocks: usize) -> TokenAmount {
    let blocks = blocks.max(1) as i64;
    let delta =
        (gas_limit_used / blocks - BLOCK_GAS_TARGET).clamp(-BLOCK_GAS_TARGET, BLOCK_GAS_TARGET);
    let change = base_fee.atto() * delta / BLOCK_GAS_TARGET / BASE_FEE_MAX_CHANGE_DENOM;
    let next = TokenAmount::from_atto(base_fee.atto() + change);
    let min = TokenAmount::from_atto(MINIMUM_BASE_FEE);
    if next < min { min } else { next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atto(n: u64) -> TokenAmount {
        TokenAmount::from_atto(n)
    }

    #[test]
    fn base_fee_moves_at_most_one_eighth() {
        let base = atto(100_000_000);
        // Empty tipset: drops by 1/8.
        assert_eq!(next_base_fee(&base, 0, 1), atto(87_500_000));
        // Full blocks: rises by 1/8.
        assert_eq!(next_base_fee(&base, 10_000_000_000, 1), atto(112_500_000));
        // At target: unchanged.
        assert_eq!(next_base_fee(&base, 5_000_000_000, 1), base);
        // Never under the minimum.
        assert_eq!(next_base_fee(&atto(100), 0, 1), atto(100));
    }

    #[test]
    fn gas_outputs_balance_to_the_reserved_fee() {
        let (limit, used) = (1_000_000i64, 400_000i64);
        let (base, cap, premium) = (atto(100), atto(300), atto(50));
        let out = compute_gas_outputs(used, limit, &base, &cap, &premium, true);
        assert_eq!(out.base_fee_burn, atto(100 * 400_000));
        assert_eq!(out.miner_tip, atto(50 * 1_000_000));
        // over = 1_000_000 - 440_000 = 560_000 capped at 400_000; burn = 600_000*400_000/400_000
        assert_eq!(out.gas_burned, 600_000);
        assert_eq!(out.over_estimation_burn, atto(100 * 600_000));
        let total = &out.base_fee_burn + &out.over_estimation_burn + &out.miner_tip + &out.refund;
        assert_eq!(total, &cap * limit);
        assert!(out.miner_penalty.is_zero());
    }

    #[test]
    fn fee_cap_below_base_fee_penalises_the_miner() {
        let out = compute_gas_outputs(1000, 1000, &atto(200), &atto(150), &atto(10), true);
        assert_eq!(out.miner_penalty, atto(50 * 1000));
        assert!(out.miner_tip.is_zero());
        let mut g = GasTracker::new(10, 0);
        assert_eq!(g.charge(11), Err(OutOfGas));
        assert_eq!(g.used(), 10);
    }
}
