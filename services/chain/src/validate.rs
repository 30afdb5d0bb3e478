//! Block validation as named steps, each failing with its own reason, and block submission
//! (validate → store → tipset → fork choice). Works for blocks from any source.
//!
//! Every check reads the block's parent tipset and the state that executing it produced (the
//! state the block must carry as `ParentStateRoot`); miner power, worker key and sectors come
//! from that state.
// Block errors carry the rejected block's CID; they are rare, so their size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use fvm_ipld_blockstore::Blockstore;
use parking_lot::Mutex;
use venus_types::cbor::cid_of_cbor_bytes;
use venus_types::crypto::{verify, verify_bls_aggregate};
use venus_types::randomness::{DomainSeparationTag, address_entropy, draw_randomness, verify_vrf};
use venus_types::{Address, BlockHeader, BlockMsg, Cid, Message, SignedMessage, TipSet, TipSetKey};

use crate::election::{beacon_entries_for_block, compute_win_count};
use crate::exec::{child_base_fee, execute_tipset, tipset_weight};
use crate::gas;
use crate::mining::latest_beacon_entry;
use crate::network::{
    ALLOWABLE_CLOCK_DRIFT_SECS, BLOCK_GAS_LIMIT, BLOCK_MESSAGE_LIMIT, NetworkParams,
};
use crate::post::WinningPoStVerifier;
use crate::query;
use crate::state::StateTree;
use crate::store::{ChainError, ChainStore};

/// The validation steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Sanity,
    Parents,
    Timestamp,
    Miner,
    Beacon,
    Ticket,
    Election,
    WinningPoSt,
    BlockSignature,
    Messages,
    State,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Step::Sanity => "sanity",
            Step::Parents => "parents",
            Step::Timestamp => "timestamp",
            Step::Miner => "miner",
            Step::Beacon => "beacon",
            Step::Ticket => "ticket",
            Step::Election => "election",
            Step::WinningPoSt => "winning-post",
            Step::BlockSignature => "block-signature",
            Step::Messages => "messages",
            Step::State => "state",
        };
        f.write_str(name)
    }
}

/// A rejected block: which step failed and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {block} rejected at step {step}: {reason}")]
pub struct BlockError {
    pub block: Cid,
    pub step: Step,
    pub reason: String,
}

/// A block with its messages.
#[derive(Debug, Clone)]
pub struct FullBlock {
    pub header: BlockHeader,
    pub bls_messages: Vec<Message>,
    pub secp_messages: Vec<SignedMessage>,
}

impl FullBlock {
    /// Loads a `BlockMsg`'s messages from the store (they were stored by `create_block` or by
    /// the mpool / sync before submission).
    pub fn from_block_msg<BS: Blockstore>(
        cs: &ChainStore<BS>,
        msg: &BlockMsg,
    ) -> Result<FullBlock, BlockError> {
        let fail = |reason: String| BlockError {
            block: msg.header.cid(),
            step: Step::Messages,
            reason,
        };
        let mut bls_messages = Vec::with_capacity(msg.bls_messages.len());
        for c in &msg.bls_messages {
            match cs.get_message(c) {
                Ok(crate::store::ChainMessage::Bls(m)) => bls_messages.push(m),
                Ok(_) => {
                    return Err(fail(format!(
                        "{c} is listed as BLS but is a signed secp message"
                    )));
                }
                Err(e) => return Err(fail(format!("BLS message {c}: {e}"))),
            }
        }
        let mut secp_messages = Vec::with_capacity(msg.secpk_messages.len());
        for c in &msg.secpk_messages {
            match cs.get_message(c) {
                Ok(crate::store::ChainMessage::Secp(m)) => secp_messages.push(m),
                Ok(_) => {
                    return Err(fail(format!(
                        "{c} is listed as secp but is an unsigned message"
                    )));
                }
                Err(e) => return Err(fail(format!("secp message {c}: {e}"))),
            }
        }
        Ok(FullBlock {
            header: msg.header.clone(),
            bls_messages,
            secp_messages,
        })
    }
}

/// Validates blocks and adds them to the chain.
pub struct BlockValidator<'a, BS> {
    pub cs: &'a ChainStore<BS>,
    pub params: &'a NetworkParams,
    pub post: &'a dyn WinningPoStVerifier,
}

impl<BS: Blockstore> BlockValidator<'_, BS> {
    /// Runs every step; `now` is the wall clock in Unix seconds.
    pub fn validate(&self, block: &FullBlock, now: u64) -> Result<(), BlockError> {
        let h = &block.header;
        let cid = h.cid();
        let fail = |step: Step| {
            move |reason: String| BlockError {
                block: cid,
                step,
                reason,
            }
        };

        // Sanity.
        let sanity = fail(Step::Sanity);
        let ticket = h
            .ticket
            .as_ref()
            .ok_or_else(|| sanity("no ticket".into()))?;
        let eproof = h
            .election_proof
            .as_ref()
            .ok_or_else(|| sanity("no election proof".into()))?;
        let block_sig = h
            .block_sig
            .as_ref()
            .ok_or_else(|| sanity("unsigned block".into()))?;
        let bls_aggregate = h
            .bls_aggregate
            .as_ref()
            .ok_or_else(|| sanity("no BLS aggregate".into()))?;
        if h.parents.is_empty() {
            return Err(sanity("no parents".into()));
        }

        // Parents known.
        let parent = self
            .cs
            .load_tipset(&TipSetKey::new(h.parents.clone()))
            .map_err(|e| fail(Step::Parents)(format!("parent tipset unknown: {e}")))?;
        // Stored is not enough (sync stores headers before validating them): the parent must
        // have been validated, which gave it its weight.
        if !matches!(self.cs.weight(parent.key()), Ok(Some(_))) {
            return Err(fail(Step::Parents)(format!(
                "parent tipset {} is not validated",
                parent.key()
            )));
        }
        if h.height <= parent.height() {
            return Err(fail(Step::Parents)(format!(
                "height {} is not above the parents' {}",
                h.height,
                parent.height()
            )));
        }

        // Timestamp = genesis + height × block delay, and not in the future.
        let expected = self.cs.genesis().timestamp + h.height as u64 * self.params.block_delay_secs;
        if h.timestamp != expected {
            return Err(fail(Step::Timestamp)(format!(
                "timestamp {} should be {expected} (genesis + height × {} s)",
                h.timestamp, self.params.block_delay_secs
            )));
        }
        if h.timestamp > now + ALLOWABLE_CLOCK_DRIFT_SECS {
            return Err(fail(Step::Timestamp)(format!(
                "timestamp {} is in the future (now {now})",
                h.timestamp
            )));
        }

        // The state the block builds on.
        let exec = execute_tipset(self.cs, &parent)
            .map_err(|e| fail(Step::State)(format!("executing parent tipset: {e}")))?;
        let mut tree = StateTree::load(self.cs.blockstore(), &exec.state_root.0)
            .map_err(|e| fail(Step::State)(e.to_string()))?;

        // Miner exists, has power, worker key.
        let miner_fail = fail(Step::Miner);
        let (_, miner_state) =
            query::miner_state(&mut tree, &h.miner.0).map_err(|e| miner_fail(e.to_string()))?;
        let power = query::miner_power(&mut tree, &h.miner.0, self.params)
            .map_err(|e| miner_fail(e.to_string()))?;
        if !power.has_min_power {
            return Err(miner_fail(format!(
                "miner {} is not eligible: its power is below the consensus minimum",
                h.miner
            )));
        }
        let worker = Address(
            query::account_key(&mut tree, &miner_state.info.worker)
                .map_err(|e| miner_fail(e.to_string()))?,
        );

        // Beacon entries.
        let prev_entry =
            latest_beacon_entry(self.cs, &parent).map_err(|e| fail(Step::Beacon)(e.to_string()))?;
        let expected_entries = beacon_entries_for_block(prev_entry.round, h.height);
        if h.beacon_entries != expected_entries {
            return Err(fail(Step::Beacon)(format!(
                "beacon entries for rounds {:?} do not match the mock beacon's rounds {:?}",
                h.beacon_entries.iter().map(|e| e.round).collect::<Vec<_>>(),
                expected_entries.iter().map(|e| e.round).collect::<Vec<_>>()
            )));
        }
        let rbase = h.beacon_entries.last().unwrap_or(&prev_entry).data.clone();
        let miner_entropy = address_entropy(&h.miner);

        // Ticket VRF.
        let mut ticket_entropy = miner_entropy.clone();
        if let Some(t) = parent.min_ticket() {
            ticket_entropy.extend_from_slice(t.vrf_proof.as_slice());
        }
        let ticket_input = draw_randomness(
            rbase.as_slice(),
            DomainSeparationTag::TicketProduction as i64,
            h.height - 1,
            &ticket_entropy,
        );
        // Election proof VRF input.
        let election_input = draw_randomness(
            rbase.as_slice(),
            DomainSeparationTag::ElectionProofProduction as i64,
            h.height,
            &miner_entropy,
        );
        let signing_bytes = h.signing_bytes();
        // The three BLS checks by the worker key (ticket VRF, election VRF, block signature;
        // most of a block's validation time) run on another core while this one does the
        // election, PoSt, message and state checks. Errors are still reported in step order.
        let bls_checks = || {
            (
                verify_vrf(&worker, &ticket_input, ticket.vrf_proof.as_slice()),
                verify_vrf(&worker, &election_input, eproof.vrf_proof.as_slice()),
                verify(block_sig, &signing_bytes, &worker),
            )
        };
        let (bls, election_and_post, messages) = std::thread::scope(|scope| {
            let side = std::thread::Builder::new().spawn_scoped(scope, bls_checks);
            let post_randomness = draw_randomness(
                rbase.as_slice(),
                DomainSeparationTag::WinningPoStChallengeSeed as i64,
                h.height,
                &miner_entropy,
            );
            let election_and_post =
                self.check_election_and_post(h, eproof, &power, &post_randomness, &mut tree);
            // The message checks only matter when everything before them passed.
            let messages = match &election_and_post {
                Ok(()) => self.check_messages(block, bls_aggregate, &mut tree),
                Err(_) => Ok(()),
            };
            let bls = match side {
                Ok(handle) => match handle.join() {
                    Ok(found) => found,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                // No thread to be had (resource limits): check here instead.
                Err(_) => bls_checks(),
            };
            (bls, election_and_post, messages)
        });
        let (ticket_ok, election_ok, signature_ok) = bls;
        ticket_ok.map_err(|e| fail(Step::Ticket)(format!("ticket VRF: {e}")))?;
        election_ok.map_err(|e| fail(Step::Election)(format!("election VRF: {e}")))?;
        election_and_post.map_err(|(step, reason)| fail(step)(reason))?;
        signature_ok.map_err(|e| fail(Step::BlockSignature)(e.to_string()))?;
        messages.map_err(fail(Step::Messages))?;

        // Parent state, receipts, weight, base fee recomputed.
        let state_fail = fail(Step::State);
        if h.parent_state_root != exec.state_root {
            return Err(state_fail(format!(
                "parent state root {} should be {}",
                h.parent_state_root, exec.state_root
            )));
        }
        if h.parent_message_receipts != exec.receipts_root {
            return Err(state_fail(format!(
                "parent receipts {} should be {}",
                h.parent_message_receipts, exec.receipts_root
            )));
        }
        let weight = tipset_weight(self.cs, &parent).map_err(|e| state_fail(e.to_string()))?;
        if h.parent_weight != weight {
            return Err(state_fail(format!(
                "parent weight {} should be {weight}",
                h.parent_weight
            )));
        }
        let base_fee = child_base_fee(self.cs, &parent).map_err(|e| state_fail(e.to_string()))?;
        if h.parent_base_fee != base_fee {
            return Err(state_fail(format!(
                "parent base fee {} should be {base_fee}",
                h.parent_base_fee
            )));
        }
        Ok(())
    }

    /// The win count the election proof claims, and the WinningPoSt; the failing step and why.
    fn check_election_and_post<S: Blockstore>(
        &self,
        h: &BlockHeader,
        eproof: &venus_types::ElectionProof,
        power: &query::MinerPowerView,
        post_randomness: &[u8; 32],
        tree: &mut StateTree<S>,
    ) -> Result<(), (Step, String)> {
        let wins = compute_win_count(
            eproof.vrf_proof.as_slice(),
            &power.miner.quality_adj_power,
            &power.total.quality_adj_power,
        );
        if wins < 1 {
            return Err((Step::Election, "the election proof does not win".into()));
        }
        if wins != eproof.win_count {
            return Err((
                Step::Election,
                format!("win count {} should be {wins}", eproof.win_count),
            ));
        }
        let sectors = query::miner_sectors(tree, &h.miner.0)
            .map_err(|e| (Step::WinningPoSt, e.to_string()))?;
        self.post
            .verify(&h.miner, post_randomness, &sectors, &h.win_post_proof)
            .map_err(|e| (Step::WinningPoSt, e))
    }

    fn check_messages<S: Blockstore>(
        &self,
        block: &FullBlock,
        bls_aggregate: &venus_types::Signature,
        tree: &mut StateTree<S>,
    ) -> Result<(), String> {
        let count = block.bls_messages.len() + block.secp_messages.len();
        if count > BLOCK_MESSAGE_LIMIT {
            return Err(format!(
                "{count} messages exceed the limit of {BLOCK_MESSAGE_LIMIT}"
            ));
        }
        // Message root. Each message is encoded once, for its CID and its on-chain size.
        let bls_cbor: Vec<Vec<u8>> = block.bls_messages.iter().map(Message::to_cbor).collect();
        let bls_cids: Vec<cid::Cid> = bls_cbor.iter().map(|b| cid_of_cbor_bytes(b).0).collect();
        let secp_cbor: Vec<Vec<u8>> = block
            .secp_messages
            .iter()
            .map(SignedMessage::to_cbor)
            .collect();
        let secp_cids: Vec<cid::Cid> = block
            .secp_messages
            .iter()
            .zip(&secp_cbor)
            // `SignedMessage::cid`: a BLS-signed message is named by its unsigned CID.
            .map(|(s, b)| {
                if s.is_bls() {
                    s.message.cid().0
                } else {
                    cid_of_cbor_bytes(b).0
                }
            })
            .collect();
        let scratch = fvm_ipld_blockstore::MemoryBlockstore::new();
        let root = crate::msgmeta::put_msg_meta(&scratch, &bls_cids, &secp_cids)
            .map_err(|e| e.to_string())?;
        if root != block.header.messages.0 {
            return Err(format!(
                "messages root {} does not match the block's messages ({})",
                block.header.messages,
                Cid(root)
            ));
        }
        // Per-message checks, nonces in order from the parent state.
        let mut nonces: HashMap<fvm_shared::address::Address, u64> = HashMap::new();
        let mut total_gas: i64 = 0;
        let all = block
            .bls_messages
            .iter()
            .zip(&bls_cbor)
            .map(|(m, b)| (m, b.len()))
            .chain(
                block
                    .secp_messages
                    .iter()
                    .zip(&secp_cbor)
                    .map(|(s, b)| (&s.message, b.len())),
            );
        for (m, len) in all {
            let min_gas = gas::on_chain_message(len);
            if m.gas_limit < min_gas {
                return Err(format!(
                    "message {} gas limit {} is below its inclusion cost {min_gas}",
                    m.cid(),
                    m.gas_limit
                ));
            }
            if m.value.0.is_negative()
                || m.gas_fee_cap.0.is_negative()
                || m.gas_premium.0 > m.gas_fee_cap.0
            {
                return Err(format!(
                    "message {} has a negative value/fee cap or a premium above its fee cap",
                    m.cid()
                ));
            }
            total_gas = total_gas.saturating_add(m.gas_limit);
            let id = tree
                .lookup_id(&m.from.0)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("message {} sender {} has no actor", m.cid(), m.from))?;
            let expected = match nonces.get(&m.from.0) {
                Some(n) => *n,
                None => tree
                    .get_actor_by_id(id)
                    .map_err(|e| e.to_string())?
                    .map_or(0, |a| a.sequence),
            };
            if m.nonce != expected {
                return Err(format!(
                    "message {} from {} has nonce {}, expected {expected}",
                    m.cid(),
                    m.from,
                    m.nonce
                ));
            }
            nonces.insert(m.from.0, expected + 1);
        }
        if total_gas as u64 > BLOCK_GAS_LIMIT {
            return Err(format!(
                "messages use {total_gas} gas, over the block limit {BLOCK_GAS_LIMIT}"
            ));
        }
        // secp signatures. Sender keys come from the state first, once per sender (the tree
        // needs `&mut` and is not shared across threads); the key recoveries, nearly all of
        // validation's time, then run on every core.
        let mut keys: HashMap<fvm_shared::address::Address, Address> = HashMap::new();
        let mut checks = Vec::with_capacity(block.secp_messages.len());
        let mut lookup_error = None;
        for (s, cid) in block.secp_messages.iter().zip(&secp_cids) {
            let from = s.message.from.0;
            let key = match keys.get(&from) {
                Some(key) => *key,
                None => match query::account_key(tree, &from) {
                    Ok(key) => *keys.entry(from).or_insert(Address(key)),
                    Err(e) => {
                        lookup_error = Some(e.to_string());
                        break;
                    }
                },
            };
            checks.push((s, key, cid));
        }
        // Signatures before a failed lookup are checked first: a bad signature on an earlier
        // message is the error, as when each message was looked up and checked in turn.
        first_error_parallel(&checks, |(s, key, cid)| {
            verify(&s.signature, &s.message.signing_bytes(), key)
                .map_err(|e| format!("message {}: {e}", Cid(**cid)))
        })?;
        if let Some(e) = lookup_error {
            return Err(e);
        }
        // BLS aggregate (identity when empty); a BLS message signs its CID bytes.
        let mut keys = Vec::with_capacity(block.bls_messages.len());
        for (m, cid) in block.bls_messages.iter().zip(&bls_cids) {
            let key = query::account_key(tree, &m.from.0).map_err(|e| e.to_string())?;
            if key.protocol() != fvm_shared::address::Protocol::BLS {
                return Err(format!(
                    "message {} is in the BLS list but {} is not a BLS key",
                    Cid(*cid),
                    m.from
                ));
            }
            keys.push((key.payload_bytes(), cid.to_bytes()));
        }
        let pairs: Vec<(&[u8], &[u8])> = keys
            .iter()
            .map(|(k, d)| (k.as_slice(), d.as_slice()))
            .collect();
        verify_bls_aggregate(bls_aggregate, &pairs).map_err(|e| format!("BLS aggregate: {e}"))?;
        Ok(())
    }
}

/// Runs `check` on every item, in contiguous chunks over the available cores, and returns the
/// error of the lowest-indexed failing item: the error a one-by-one loop would return.
fn first_error_parallel<T: Sync>(
    items: &[T],
    check: impl Fn(&T) -> Result<(), String> + Sync,
) -> Result<(), String> {
    // A secp256k1 recovery costs tens of µs and a thread spawn about as much as one, so tiny
    // batches stay on the calling thread.
    const MIN_PER_THREAD: usize = 16;
    // `available_parallelism` reads cgroup files on Linux; ask once.
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let threads = cores.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().try_for_each(check);
    }
    let chunk_len = items.len().div_ceil(threads);
    // The lowest failing index found so far: items past it cannot change the answer.
    let failed_at = AtomicUsize::new(usize::MAX);
    let run = |first: usize, chunk: &[T]| -> Option<(usize, String)> {
        for (index, item) in (first..).zip(chunk) {
            if index > failed_at.load(Ordering::Relaxed) {
                return None;
            }
            if let Err(e) = check(item) {
                failed_at.fetch_min(index, Ordering::Relaxed);
                return Some((index, e));
            }
        }
        None
    };
    let errors = std::thread::scope(|scope| {
        let run = &run;
        let mut chunks = items.chunks(chunk_len).enumerate();
        let head = chunks.next();
        let mut errors: Vec<(usize, String)> = Vec::new();
        let mut workers = Vec::new();
        for (n, chunk) in chunks {
            let first = n * chunk_len;
            match std::thread::Builder::new().spawn_scoped(scope, move || run(first, chunk)) {
                Ok(worker) => workers.push(worker),
                // No thread to be had (resource limits): check this chunk here instead.
                Err(_) => errors.extend(run(first, chunk)),
            }
        }
        // The calling thread takes the first chunk itself.
        errors.extend(head.and_then(|(_, chunk)| run(0, chunk)));
        for worker in workers {
            match worker.join() {
                Ok(found) => errors.extend(found),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        errors
    });
    match errors.into_iter().min_by_key(|(index, _)| *index) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Validated blocks waiting to be grouped into tipsets, by (parents, height).
#[derive(Default)]
pub struct TipSetBuilder {
    pending: Mutex<HashMap<(TipSetKey, i64), Vec<BlockHeader>>>,
}

/// Why a submitted block was not added.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] BlockError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("{0}")]
    Other(String),
}

impl TipSetBuilder {
    /// Validates a block and adds it to the chain, in a tipset with its validated siblings.
    /// Returns true when the head changed.
    pub fn submit<BS: Blockstore>(
        &self,
        v: &BlockValidator<'_, BS>,
        block: &FullBlock,
        now: u64,
    ) -> Result<bool, SubmitError> {
        if let Err(e) = v.validate(block, now) {
            tracing::warn!(block = %e.block, step = %e.step, reason = %e.reason, "block rejected");
            return Err(e.into());
        }
        v.cs.put_messages(&block.bls_messages, &block.secp_messages)?;
        v.cs.put_block(&block.header)?;
        let key = (
            TipSetKey::new(block.header.parents.clone()),
            block.header.height,
        );
        let blocks = {
            let mut pending = self.pending.lock();
            // Forget groups far below the new block: they can no longer grow.
            pending.retain(|(_, h), _| *h + 900 > block.header.height);
            let group = pending.entry(key).or_default();
            if !group.iter().any(|b| b.cid() == block.header.cid()) {
                group.push(block.header.clone());
            }
            group.clone()
        };
        let ts = TipSet::new(blocks).map_err(ChainError::from)?;
        let weight = tipset_weight(v.cs, &ts).map_err(|e| SubmitError::Other(e.to_string()))?;
        tracing::info!(block = %block.header.cid(), height = block.header.height, "block accepted");
        Ok(v.cs.add_tipset(&ts, &weight)?)
    }

    /// Records `ts` itself once each of its blocks was submitted here (sync's path). The
    /// builder groups a block with every validated sibling of its parents and height, this
    /// node's own included; a peer's later blocks name the tipset as the peer formed it, and
    /// their parent must be validated, i.e. have a weight. Returns true when the head changed.
    pub fn add_validated<BS: Blockstore>(
        &self,
        cs: &ChainStore<BS>,
        ts: &TipSet,
    ) -> Result<bool, SubmitError> {
        if cs.weight(ts.key())?.is_some() {
            return Ok(false);
        }
        {
            let pending = self.pending.lock();
            let group = pending.get(&(ts.parents(), ts.height()));
            if let Some(missing) = ts
                .blocks()
                .iter()
                .find(|b| group.is_none_or(|g| !g.iter().any(|v| v.cid() == b.cid())))
            {
                return Err(SubmitError::Other(format!(
                    "block {} of tipset {} was not validated",
                    missing.cid(),
                    ts.key()
                )));
            }
        }
        let weight = tipset_weight(cs, ts).map_err(|e| SubmitError::Other(e.to_string()))?;
        Ok(cs.add_tipset(ts, &weight)?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use parking_lot::Mutex;

    use super::first_error_parallel;

    fn run(items: &[usize], bad: &[usize]) -> Result<(), String> {
        first_error_parallel(items, |i| {
            if bad.contains(i) {
                Err(format!("item {i}"))
            } else {
                Ok(())
            }
        })
    }

    #[test]
    fn first_error_parallel_reports_the_lowest_failing_index() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(run(&items, &[]), Ok(()));
        assert_eq!(run(&items, &[999]), Err("item 999".into()));
        assert_eq!(run(&items, &[0]), Err("item 0".into()));
        assert_eq!(run(&items, &[700, 3]), Err("item 3".into()));
        assert_eq!(run(&items, &[501, 499, 500]), Err("item 499".into()));
        // Small batches run inline with the same answer.
        assert_eq!(run(&items[..5], &[4, 2]), Err("item 2".into()));
        assert_eq!(run(&[], &[0]), Ok(()));
    }

    #[test]
    fn first_error_parallel_uses_the_available_cores() {
        let items: Vec<usize> = (0..256).collect();
        let threads = Mutex::new(HashSet::new());
        let seen = Mutex::new(Vec::new());
        first_error_parallel(&items, |i| {
            threads.lock().insert(std::thread::current().id());
            seen.lock().push(*i);
            Ok(())
        })
        .expect("no errors");
        let mut seen = seen.into_inner();
        seen.sort_unstable();
        assert_eq!(seen, items, "every item checked exactly once");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads.into_inner().len(), cores.min(256 / 16));
    }
}
