//! Deferred execution: applying a tipset's messages to its parent state gives the state root
//! and receipts root that its children carry. Callable for tipsets from any source (API,
//! sync), cached per tipset in the chain store.

use fvm_ipld_blockstore::Blockstore;
use fvm_shared::address::Address as FvmAddress;
use fvm_shared::econ::TokenAmount as FvmTokenAmount;
use fvm_shared::receipt::Receipt;
use venus_types::{BigInt, Cid, TipSet, TokenAmount};

use crate::actors::{ActorKind, BURNT_FUNDS_ACTOR_ID, REWARD_ACTOR_ID, RewardState};
use crate::blockstore::BufferedBlockstore;
use crate::gas::next_base_fee;
use crate::state::{StateError, StateTree};
use crate::store::{ChainError, ChainStore, ExecResult};
use crate::vm::{apply_message, transfer};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("executing tipset at height {height}: {source}")]
    State { height: i64, source: StateError },
    #[error("executing tipset: {0}")]
    Store(String),
}

/// Everything executing one tipset produced.
#[derive(Debug, Clone)]
pub struct TipSetOutput {
    pub result: ExecResult,
    /// One receipt per unique message, in execution order.
    pub receipts: Vec<Receipt>,
}

/// Executes `ts` on its parent state (or returns the cached result).
pub fn execute_tipset<BS: Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<ExecResult, ExecError> {
    if let Some(done) = cs.exec_result(ts.key())? {
        return Ok(done);
    }
    let out = run_tipset(cs, ts)?;
    cs.set_exec_result(ts.key(), out.result)?;
    Ok(out.result)
}

/// Executes `ts` without consulting or filling the cache.
pub fn run_tipset<BS: Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<TipSetOutput, ExecError> {
    let height = ts.height();
    let state_err = |source| ExecError::State { height, source };
    let buffered = BufferedBlockstore::new(cs.blockstore());
    let mut tree = StateTree::load(&buffered, &ts.parent_state().0).map_err(state_err)?;
    let base_fee: FvmTokenAmount = ts.blocks()[0].parent_base_fee.0.clone();

    let messages = cs.tipset_messages(ts)?;
    let mut receipts = Vec::with_capacity(messages.len());
    let mut penalties = vec![FvmTokenAmount::default(); ts.len()];
    let mut tips = vec![FvmTokenAmount::default(); ts.len()];
    for (block, msg) in &messages {
        let fvm_msg: fvm_shared::message::Message = msg.message().clone().into();
        let ret =
            apply_message(&mut tree, &fvm_msg, msg.chain_length(), &base_fee).map_err(state_err)?;
        penalties[*block] += &ret.penalty;
        tips[*block] += &ret.miner_tip;
        receipts.push(ret.receipt);
    }

    let mut reward: RewardState = tree
        .actor_state(REWARD_ACTOR_ID, ActorKind::Reward)
        .map_err(state_err)?;
    reward.advance_to(height);
    for (i, block) in ts.blocks().iter().enumerate() {
        let win_count = block.election_proof.as_ref().map_or(0, |e| e.win_count);
        award_block_reward(
            &mut tree,
            &mut reward,
            &block.miner.0,
            win_count,
            &penalties[i],
            &tips[i],
        )
        .map_err(state_err)?;
    }
    tree.put_actor_state(REWARD_ACTOR_ID, &reward)
        .map_err(state_err)?;

    let state_root = tree.flush().map_err(state_err)?;
    let receipts_root = crate::msgmeta::put_receipts(&buffered, &receipts)
        .map_err(|e| ExecError::Store(e.to_string()))?;
    buffered
        .flush()
        .map_err(|e| ExecError::Store(e.to_string()))?;
    Ok(TipSetOutput {
        result: ExecResult {
            state_root: Cid(state_root),
            receipts_root: Cid(receipts_root),
        },
        receipts,
    })
}

/// The reward actor's AwardBlockReward: block reward for the win count plus the block's tips,
/// less the miner's penalty (burnt), paid to the miner actor.
fn award_block_reward<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    reward: &mut RewardState,
    miner: &FvmAddress,
    win_count: i64,
    penalty: &FvmTokenAmount,
    tips: &FvmTokenAmount,
) -> Result<(), StateError> {
    let Some(miner_id) = tree.lookup_id(miner)? else {
        tracing::warn!(%miner, "block reward skipped: miner actor not found");
        return Ok(());
    };
    let reward_balance = tree
        .get_actor_by_id(REWARD_ACTOR_ID)?
        .ok_or(StateError::ActorNotFound(FvmAddress::new_id(
            REWARD_ACTOR_ID,
        )))?
        .balance;
    let mut total = reward.block_reward(win_count) + tips;
    if total > reward_balance {
        total = reward_balance;
    }
    let burn = if penalty < &total {
        penalty.clone()
    } else {
        total.clone()
    };
    let to_miner = &total - &burn;
    transfer(tree, REWARD_ACTOR_ID, miner_id, &to_miner)?;
    transfer(tree, REWARD_ACTOR_ID, BURNT_FUNDS_ACTOR_ID, &burn)?;
    reward.total_mined += &(&total - tips);
    Ok(())
}

/// The base fee of `ts`'s children: from `ts`'s own base fee and the gas limits of its unique
/// messages.
pub fn child_base_fee<BS: Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<TokenAmount, ChainError> {
    let messages = cs.tipset_messages(ts)?;
    let gas_limits: i64 = messages
        .iter()
        .map(|(_, m)| m.message().gas_limit.max(0))
        .sum();
    let parent_fee = &ts.blocks()[0].parent_base_fee.0;
    Ok(TokenAmount(next_base_fee(parent_fee, gas_limits, ts.len())))
}

/// Chain weight (Lotus `filcns.Weight`): parent weight + (log2 P << 8) + ((log2 P × 1) << 8)
/// × Σ win count / (BlocksPerEpoch × 2), with P the network's QA power in `ts`'s parent state.
pub fn tipset_weight<BS: Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<BigInt, ExecError> {
    if ts.height() == 0 {
        return Ok(BigInt::zero());
    }
    let height = ts.height();
    let tree = StateTree::load(cs.blockstore(), &ts.parent_state().0)
        .map_err(|source| ExecError::State { height, source })?;
    let power =
        crate::query::power_state(&tree).map_err(|source| ExecError::State { height, source })?;
    let win_counts = ts
        .blocks()
        .iter()
        .map(|b| b.election_proof.as_ref().map_or(0, |e| e.win_count));
    venus_consensus::weight::tipset_weight(
        ts.parent_weight(),
        &BigInt(power.total_quality_adj_power),
        win_counts,
    )
    .map_err(|e| ExecError::Store(e.to_string()))
}
