//! What a miner needs to try an epoch (`MinerGetBaseInfo`), computed from the same state the
//! validator checks against: the parent tipset's executed state.
//!
//! A pool asks once per miner and epoch on the same base (1,000 calls within a second), so
//! [`BaseInfoCache`] computes what every miner's answer shares once per base tipset — the
//! executed state root, the power actor's totals, the last beacon entry — and keeps the
//! state's blocks read for one miner (the state tree's and the claims' HAMT nodes, the power
//! actor) for the next: each further call is the miner's own few lookups (its actor, claim,
//! worker key and sectors). Blocks are content-addressed, so a block read on one base is the
//! same block on any other; the cache is keyed by the base only so that it is dropped with it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::address::Address as FvmAddress;
use parking_lot::{Mutex, RwLock};
use venus_types::{Address, BeaconEntry, ExtendedSectorInfo, MiningBaseInfo, TipSet, TipSetKey};

use crate::actors::{Claim, PowerState, SectorOnChainInfo};
use crate::election::beacon_entries_for_block;
use crate::exec::{ExecError, execute_tipset};
use crate::network::NetworkParams;
use crate::query;
use crate::state::{HAMT_BIT_WIDTH, StateError, StateTree};
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
/// exist in that state. Computed from scratch (nothing kept): [`BaseInfoCache::base_info`]
/// gives the same answer for a pool.
pub fn base_info<BS: Blockstore>(
    cs: &ChainStore<BS>,
    params: &NetworkParams,
    miner: &Address,
    epoch: i64,
    parents: &TipSetKey,
) -> Result<Option<MiningBaseInfo>, ExecError> {
    let common = BaseCommon::compute(cs, parents, epoch)?;
    common.base_info(cs.blockstore(), params, miner, epoch)
}

/// Bases kept (the head, a fork or two at the same height, the base of a null round's
/// successor); the oldest is dropped first.
const KEPT_BASES: usize = 4;
/// At most this many bytes of state blocks kept per base; beyond it, reads go to the store.
const MAX_BLOCK_BYTES_PER_BASE: usize = 16 << 20;

/// Per-base memo of what every miner's `MinerGetBaseInfo` shares (see the module docs).
#[derive(Default)]
pub struct BaseInfoCache {
    bases: Mutex<VecDeque<(TipSetKey, Arc<BaseCommon>)>>,
}

impl BaseInfoCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`base_info`], sharing the work common to every miner on `parents`.
    pub fn base_info<BS: Blockstore>(
        &self,
        cs: &ChainStore<BS>,
        params: &NetworkParams,
        miner: &Address,
        epoch: i64,
        parents: &TipSetKey,
    ) -> Result<Option<MiningBaseInfo>, ExecError> {
        let common = self.common(cs, parents, epoch)?;
        common.base_info(cs.blockstore(), params, miner, epoch)
    }

    /// How many bases are kept (for tests).
    pub fn len(&self) -> usize {
        self.bases.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn common<BS: Blockstore>(
        &self,
        cs: &ChainStore<BS>,
        parents: &TipSetKey,
        epoch: i64,
    ) -> Result<Arc<BaseCommon>, ExecError> {
        if let Some((_, c)) = self.bases.lock().iter().find(|(k, _)| k == parents) {
            return Ok(c.clone());
        }
        // Computed outside the lock (calls for other bases go on); two first calls for one
        // base may both compute it, and the second result is dropped.
        let computed = Arc::new(BaseCommon::compute(cs, parents, epoch)?);
        let mut bases = self.bases.lock();
        if let Some((_, c)) = bases.iter().find(|(k, _)| k == parents) {
            return Ok(c.clone());
        }
        if bases.len() >= KEPT_BASES {
            bases.pop_front();
        }
        bases.push_back((parents.clone(), computed.clone()));
        Ok(computed)
    }
}

/// What every miner's base info on one parent tipset shares.
struct BaseCommon {
    state_root: cid::Cid,
    power: PowerState,
    prev_beacon: BeaconEntry,
    /// State blocks read so far on this base, by CID.
    blocks: RwLock<HashMap<cid::Cid, Arc<[u8]>>>,
    block_bytes: AtomicUsize,
}

impl BaseCommon {
    fn compute<BS: Blockstore>(
        cs: &ChainStore<BS>,
        parents: &TipSetKey,
        epoch: i64,
    ) -> Result<Self, ExecError> {
        let parent = cs.load_tipset(parents)?;
        let state_root = execute_tipset(cs, &parent)?.state_root.0;
        let state_err = |source: StateError| ExecError::State {
            height: epoch,
            source,
        };
        let tree = StateTree::load(cs.blockstore(), &state_root).map_err(state_err)?;
        let power = query::power_state(&tree).map_err(state_err)?;
        Ok(BaseCommon {
            state_root,
            power,
            prev_beacon: latest_beacon_entry(cs, &parent)?,
            blocks: RwLock::default(),
            block_bytes: AtomicUsize::new(0),
        })
    }

    fn reads<'a, BS: Blockstore>(&'a self, store: &'a BS) -> SharedReads<'a, BS> {
        SharedReads {
            store,
            common: self,
        }
    }

    fn base_info<BS: Blockstore>(
        &self,
        store: &BS,
        params: &NetworkParams,
        miner: &Address,
        epoch: i64,
    ) -> Result<Option<MiningBaseInfo>, ExecError> {
        let state_err = |source: StateError| ExecError::State {
            height: epoch,
            source,
        };
        let reads = self.reads(store);
        let mut tree = StateTree::load(&reads, &self.state_root).map_err(state_err)?;
        let (id, miner_state) = match query::miner_state(&mut tree, &miner.0) {
            Ok(m) => m,
            Err(StateError::ActorNotFound(_)) => return Ok(None),
            Err(e) => return Err(state_err(e)),
        };
        let claims: Hamt<&SharedReads<'_, BS>, Claim, BytesKey> =
            Hamt::load_with_bit_width(&self.power.claims, &reads, HAMT_BIT_WIDTH)
                .map_err(|e| state_err(StateError::store(e)))?;
        let claim = claims
            .get(&BytesKey(FvmAddress::new_id(id).to_bytes()))
            .map_err(|e| state_err(StateError::store(e)))?
            .cloned()
            .unwrap_or_default();
        let power = query::power_view(claim, &self.power, params);
        let worker_key =
            query::account_key(&mut tree, &miner_state.info.worker).map_err(state_err)?;
        let amt: Amt<SectorOnChainInfo, &SharedReads<'_, BS>> =
            Amt::load(&miner_state.sectors, &reads).map_err(|e| state_err(StateError::store(e)))?;
        let mut sectors =
            Vec::with_capacity(usize::try_from(miner_state.sector_count).unwrap_or(0));
        amt.for_each(|_, s| {
            sectors.push(ExtendedSectorInfo {
                seal_proof: i64::from(s.seal_proof),
                sector_number: s.sector_number,
                sector_key: None,
                sealed_cid: venus_types::Cid(s.sealed_cid),
            });
            Ok(())
        })
        .map_err(|e| state_err(StateError::store(e)))?;
        Ok(Some(MiningBaseInfo {
            miner_power: venus_types::BigInt(power.miner.quality_adj_power),
            network_power: venus_types::BigInt(power.total.quality_adj_power),
            sectors,
            worker_key: Address(worker_key),
            sector_size: miner_state.info.sector_size as u64,
            beacon_entries: beacon_entries_for_block(self.prev_beacon.round, epoch),
            prev_beacon_entry: self.prev_beacon.clone(),
            eligible_for_mining: power.has_min_power,
        }))
    }
}

/// A read-only view of the store that keeps the blocks it read in the base's memo.
struct SharedReads<'a, BS> {
    store: &'a BS,
    common: &'a BaseCommon,
}

impl<BS: Blockstore> Blockstore for SharedReads<'_, BS> {
    fn get(&self, k: &cid::Cid) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(b) = self.common.blocks.read().get(k) {
            return Ok(Some(b.to_vec()));
        }
        let Some(block) = self.store.get(k)? else {
            return Ok(None);
        };
        let bytes = &self.common.block_bytes;
        if bytes.load(Ordering::Relaxed) + block.len() <= MAX_BLOCK_BYTES_PER_BASE {
            let mut blocks = self.common.blocks.write();
            if !blocks.contains_key(k) {
                bytes.fetch_add(block.len(), Ordering::Relaxed);
                blocks.insert(*k, block.as_slice().into());
            }
        }
        Ok(Some(block))
    }

    fn put_keyed(&self, k: &cid::Cid, _block: &[u8]) -> anyhow::Result<()> {
        anyhow::bail!("mining base info reads the state only (a write of {k} was attempted)")
    }

    fn has(&self, k: &cid::Cid) -> anyhow::Result<bool> {
        Ok(self.common.blocks.read().contains_key(k) || self.store.has(k)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Devnet;

    /// The memo answers exactly what a computation from scratch answers, for every base it
    /// keeps or has dropped: forks at one height (a reorg between them), a child, null rounds
    /// on one base (the epoch is not part of the memo), an unknown miner, an unknown base.
    #[test]
    fn cache_answers_as_from_scratch_across_bases_and_reorgs() {
        let net = Devnet::new(11, 2).expect("test step");
        let genesis = net.cs.heaviest();
        // Two blocks at height 1 with different states (a transfer in one of them), a child on
        // the first, and a grandchild.
        let a = net
            .produce(
                &genesis,
                1,
                vec![net.send(0, net.accounts[1].address(), 0, 5)],
            )
            .expect("test step");
        let b = net.produce(&genesis, 1, Vec::new()).expect("test step");
        assert_eq!(a.header.height, b.header.height);
        net.submit(&a).expect("test step");
        net.cs.put_block(&b.header).expect("test step");
        let ts =
            |blk: &venus_types::BlockMsg| TipSet::new(vec![blk.header.clone()]).expect("test step");
        let (ta, tb) = (ts(&a), ts(&b));
        assert_ne!(
            execute_tipset(&net.cs, &ta).expect("test step").state_root,
            execute_tipset(&net.cs, &tb).expect("test step").state_root,
            "the forks must have different states"
        );
        let c = net
            .produce(&ta, ta.height() + 1, Vec::new())
            .expect("test step");
        net.submit(&c).expect("test step");
        let tc = ts(&c);
        let d = net
            .produce(&tc, tc.height() + 1, Vec::new())
            .expect("test step");
        net.submit(&d).expect("test step");
        let td = ts(&d);

        let cache = BaseInfoCache::new();
        let unknown = Address::new_id(4242);
        let asks: Vec<(&TipSet, i64)> = vec![
            (&genesis, 1),
            (&ta, 2),
            (&tb, 2), // the other fork: a reorg away from `ta`
            (&ta, 5), // null rounds on `ta`
            (&tb, 3),
            (&tc, tc.height() + 1),
            (&td, td.height() + 1), // a fifth base: `genesis` is dropped
            (&genesis, 4),
            (&ta, 2),
        ];
        let mut answers = Vec::new();
        for (base, epoch) in asks {
            for miner in [net.miner, unknown] {
                let cached = cache
                    .base_info(&net.cs, &net.params, &miner, epoch, base.key())
                    .expect("test step");
                let scratch =
                    base_info(&net.cs, &net.params, &miner, epoch, base.key()).expect("test step");
                assert_eq!(
                    cached,
                    scratch,
                    "base {} epoch {epoch} miner {miner}",
                    base.height()
                );
                if miner == unknown {
                    assert!(cached.is_none());
                } else {
                    answers.push(cached.expect("test step"));
                }
            }
        }
        assert!(cache.len() <= KEPT_BASES);
        // The answers differ where the base or the epoch does (a memo that ignored either
        // would have failed the comparisons above).
        assert_eq!(answers[0].prev_beacon_entry.round, 0);
        assert_ne!(answers[1].beacon_entries, answers[3].beacon_entries);
        assert_ne!(
            answers[1].prev_beacon_entry.round,
            answers[5].prev_beacon_entry.round
        );
        assert!(
            answers
                .iter()
                .all(|i| i.eligible_for_mining && i.sectors.len() == 2)
        );

        // An unknown base is the same error either way, and is not kept.
        let missing = TipSetKey::new(vec![a.header.messages]);
        let kept = cache.len();
        assert!(
            cache
                .base_info(&net.cs, &net.params, &net.miner, 9, &missing)
                .is_err()
        );
        assert!(base_info(&net.cs, &net.params, &net.miner, 9, &missing).is_err());
        assert_eq!(cache.len(), kept);
    }
}
