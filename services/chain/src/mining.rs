//! What a miner needs to try an epoch (`MinerGetBaseInfo`), computed from the same state the
//! validator checks against: the parent tipset's executed state.

use fvm_ipld_blockstore::Blockstore;
use venus_types::{Address, BeaconEntry, ExtendedSectorInfo, MiningBaseInfo, TipSet, TipSetKey};

use crate::election::beacon_entries_for_block;
use crate::exec::{ExecError, execute_tipset};
use crate::network::NetworkParams;
use crate::query;
use crate::state::{StateError, StateTree};
use crate::store::{ChainError, ChainStore};

/// The last beacon entry on the chain ending at `ts` (genesis carries round 0).
pub fn latest_beacon_entry<BS: Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<BeaconEntry, ChainError> {
    let mut cur = ts.clone();
    loop {
        if let Some(e) = cur.blocks()[0].beacon_entries.last() {
            return Ok(e.clone());
        }
        if cur.height() == 0 {
            return Ok(BeaconEntry::default());
        }
        cur = cs.load_tipset(&cur.parents())?;
    }
}

/// Mining base info for `miner` at `epoch` on top of `parents`; `None` if the miner does not
/// exist in that state.
pub fn base_info<BS: Blockstore>(
    cs: &ChainStore<BS>,
    params: &NetworkParams,
    miner: &Address,
    epoch: i64,
    parents: &TipSetKey,
) -> Result<Option<MiningBaseInfo>, ExecError> {
    let parent = cs.load_tipset(parents)?;
    let state_root = execute_tipset(cs, &parent)?.state_root;
    let state_err = |source: StateError| ExecError::State {
        height: epoch,
        source,
    };
    let mut tree = StateTree::load(cs.blockstore(), &state_root.0).map_err(state_err)?;
    let (_, miner_state) = match query::miner_state(&mut tree, &miner.0) {
        Ok(m) => m,
        Err(StateError::ActorNotFound(_)) => return Ok(None),
        Err(e) => return Err(state_err(e)),
    };
    let power = query::miner_power(&mut tree, &miner.0, params).map_err(state_err)?;
    let worker_key = query::account_key(&mut tree, &miner_state.info.worker).map_err(state_err)?;
    let sectors = query::miner_sectors(&mut tree, &miner.0).map_err(state_err)?;
    let prev = latest_beacon_entry(cs, &parent)?;
    Ok(Some(MiningBaseInfo {
        miner_power: venus_types::BigInt(power.miner.quality_adj_power),
        network_power: venus_types::BigInt(power.total.quality_adj_power),
        sectors: sectors
            .iter()
            .map(|s| ExtendedSectorInfo {
                seal_proof: i64::from(s.seal_proof),
                sector_number: s.sector_number,
                sector_key: None,
                sealed_cid: venus_types::Cid(s.sealed_cid),
            })
            .collect(),
        worker_key: Address(worker_key),
        sector_size: miner_state.info.sector_size as u64,
        beacon_entries: beacon_entries_for_block(prev.round, epoch),
        prev_beacon_entry: prev,
        eligible_for_mining: power.has_min_power,
    }))
}
