//! Read-only questions about a state: account keys, miner info and power, eligibility.

use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::ActorID;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::sector::StoragePower;

use crate::actors::{
    AccountState, ActorKind, Claim, MinerState, POWER_ACTOR_ID, PowerState, SectorOnChainInfo,
};
use crate::network::{CONSENSUS_MINER_MIN_MINERS, NetworkParams};
use crate::state::{HAMT_BIT_WIDTH, StateError, StateTree};

/// A miner's power next to the network's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerPowerView {
    pub miner: Claim,
    pub total: Claim,
    /// Whether the miner meets the consensus minimum (or the minimum is waived because too few
    /// miners meet it).
    pub has_min_power: bool,
}

/// The key (secp/BLS) address behind an account, resolving IDs.
pub fn account_key<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    addr: &Address,
) -> Result<Address, StateError> {
    if matches!(addr.protocol(), Protocol::Secp256k1 | Protocol::BLS) {
        return Ok(*addr);
    }
    let id = tree
        .lookup_id(addr)?
        .ok_or(StateError::ActorNotFound(*addr))?;
    let account: AccountState = tree.actor_state(id, ActorKind::Account)?;
    Ok(account.address)
}

/// A miner's state.
pub fn miner_state<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    miner: &Address,
) -> Result<(ActorID, MinerState), StateError> {
    let id = tree
        .lookup_id(miner)?
        .ok_or(StateError::ActorNotFound(*miner))?;
    Ok((id, tree.actor_state(id, ActorKind::Miner)?))
}

/// A miner's proven sectors, in sector-number order.
pub fn miner_sectors<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    miner: &Address,
) -> Result<Vec<SectorOnChainInfo>, StateError> {
    let (_, state) = miner_state(tree, miner)?;
    let amt: Amt<SectorOnChainInfo, &BS> =
        Amt::load(&state.sectors, tree.store()).map_err(StateError::store)?;
    let mut out = Vec::new();
    amt.for_each(|_, s| {
        out.push(s.clone());
        Ok(())
    })
    .map_err(StateError::store)?;
    Ok(out)
}

pub fn power_state<BS: Blockstore>(tree: &StateTree<BS>) -> Result<PowerState, StateError> {
    tree.actor_state(POWER_ACTOR_ID, ActorKind::Power)
}

/// A miner's claim (zero when it has none).
pub fn miner_claim<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    miner: &Address,
) -> Result<Claim, StateError> {
    let id = tree
        .lookup_id(miner)?
        .ok_or(StateError::ActorNotFound(*miner))?;
    let power = power_state(tree)?;
    let claims: Hamt<&BS, Claim, BytesKey> =
        Hamt::load_with_bit_width(&power.claims, tree.store(), HAMT_BIT_WIDTH)
            .map_err(StateError::store)?;
    Ok(claims
        .get(&BytesKey(Address::new_id(id).to_bytes()))
        .map_err(StateError::store)?
        .cloned()
        .unwrap_or_default())
}

/// Miner and network power, with the consensus-minimum verdict.
pub fn miner_power<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    miner: &Address,
    params: &NetworkParams,
) -> Result<MinerPowerView, StateError> {
    let claim = miner_claim(tree, miner)?;
    let power = power_state(tree)?;
    Ok(power_view(claim, &power, params))
}

/// A miner's claim next to the power actor's totals, with the consensus-minimum verdict.
pub fn power_view(claim: Claim, power: &PowerState, params: &NetworkParams) -> MinerPowerView {
    let min = StoragePower::from(params.consensus_miner_min_power);
    let has_min_power = if power.miner_above_min_power_count < CONSENSUS_MINER_MIN_MINERS {
        claim.raw_byte_power > StoragePower::from(0)
    } else {
        claim.raw_byte_power >= min
    };
    MinerPowerView {
        miner: claim,
        total: Claim {
            raw_byte_power: power.total_raw_byte_power.clone(),
            quality_adj_power: power.total_quality_adj_power.clone(),
        },
        has_min_power,
    }
}
