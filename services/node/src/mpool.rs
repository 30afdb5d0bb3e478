//! The message pool: per-sender pending messages in nonce order, checked on entry
//! (signature, gas, nonce, balance), replace-by-fee, selection for blocks by gas premium
//! within the block gas limit (`MpoolSelect`, venus's `MpoolSelects`), pruning on head
//! changes and size limits, and persistence of local messages across restarts.
//!
//! The pool is generic over the message type ([`PoolMessage`]) and the state it checks
//! against ([`StateView`]) so it can be tested on its own and fed from any source.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use cid::Cid;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Filecoin's block gas limit (10 G gas).
pub const BLOCK_GAS_LIMIT: u64 = 10_000_000_000;
/// At most this many messages in one block.
pub const BLOCK_MESSAGE_LIMIT: usize = 10_000;
/// Lotus's minimum base fee; a fee cap below it can never be included.
pub const MINIMUM_BASE_FEE: u64 = 100;
/// Replace-by-fee: the new premium must be at least 125 % of the old one, plus one.
pub const RBF_PERCENT: u64 = 125;
/// Pending messages one sender may have from untrusted pushes (`MpoolPushUntrusted`,
/// `MpoolBatchPushUntrusted`): venus's `MaxUntrustedActorPendingMessages` (Lotus: 10).
pub const MAX_UNTRUSTED_ACTOR_PENDING: usize = 100;

/// Where a message comes from: what it is checked against and whether it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Trusted push through this node's API (`MpoolPush`, `MpoolBatchPush`): queued up to
    /// `maxNonceGap` ahead, no per-sender cap, saved across restarts and never pruned for size.
    Local,
    /// Untrusted push through the API (`MpoolPushUntrusted`, `MpoolBatchPushUntrusted`): the
    /// strict checks of venus/Lotus `msgSet.add(strict, untrusted)` — no nonce gap (the nonce
    /// is at most the sender's next one), at most [`MAX_UNTRUSTED_ACTOR_PENDING`] pending
    /// messages per sender — and not saved (the pusher re-pushes; venus#5662).
    Untrusted,
    /// Received from peers (gossip): `maxNonceGap`, not saved, pruned first.
    Remote,
}

impl Origin {
    fn is_local(self) -> bool {
        self == Origin::Local
    }
}

/// What the pool needs from a signed message.
pub trait PoolMessage: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    fn cid(&self) -> Cid;
    fn from(&self) -> Address;
    fn to(&self) -> Address;
    fn nonce(&self) -> u64;
    fn value(&self) -> TokenAmount;
    fn gas_limit(&self) -> u64;
    fn gas_fee_cap(&self) -> TokenAmount;
    fn gas_premium(&self) -> TokenAmount;
    /// Serialized size in bytes (for the 32 KiB message size limit).
    fn size(&self) -> usize;
    /// Check the signature against the sender's key address (resolved by the caller).
    fn verify_signature(&self, key: &Address) -> Result<(), String>;

    /// Value plus the most the message can pay for gas.
    fn required_funds(&self) -> TokenAmount {
        self.value() + self.gas_fee_cap() * self.gas_limit()
    }
}

/// The state the pool checks senders against (the head's state).
pub trait StateView {
    /// `(nonce, balance)` of an actor, `None` if it does not exist.
    fn actor(&self, addr: &Address) -> Option<(u64, TokenAmount)>;
    /// The key address behind an ID address (for signature checks); key addresses map to
    /// themselves.
    fn key_address(&self, addr: &Address) -> Option<Address>;
}

/// `MpoolGetConfig` / `MpoolSetConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    pub priority_addrs: Vec<Address>,
    pub size_limit_high: usize,
    pub size_limit_low: usize,
    pub replace_by_fee_ratio: f64,
    pub prune_cooldown_ns: u64,
    pub gas_limit_overestimation: f64,
    /// How far ahead of the state nonce a sender may queue (config.json `mpool.maxNonceGap`).
    pub max_nonce_gap: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            priority_addrs: Vec::new(),
            size_limit_high: 30_000,
            size_limit_low: 20_000,
            replace_by_fee_ratio: 1.25,
            prune_cooldown_ns: 60_000_000_000,
            gas_limit_overestimation: 1.25,
            max_nonce_gap: 100,
        }
    }
}

/// Why a message was refused; the text goes back to the API caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("message size {0} exceeds the 32 KiB limit")]
    TooBig(usize),
    #[error("gas limit {0} is zero or above the block gas limit {BLOCK_GAS_LIMIT}")]
    GasLimit(u64),
    #[error("gas fee cap {0} is below the minimum base fee {MINIMUM_BASE_FEE}")]
    FeeCapTooLow(String),
    #[error("gas premium {premium} exceeds gas fee cap {fee_cap}")]
    PremiumAboveCap { premium: String, fee_cap: String },
    #[error("sender {0} does not exist in the head state")]
    UnknownSender(String),
    #[error("invalid signature: {0}")]
    Signature(String),
    #[error("nonce {got} is below the sender's state nonce {expected} (already applied)")]
    NonceTooLow { got: u64, expected: u64 },
    #[error("nonce {got} is more than {gap} ahead of the sender's next nonce {next}")]
    NonceGap { got: u64, next: u64, gap: u64 },
    #[error(
        "insufficient funds: the sender has {balance}, pending messages up to this one need {required}"
    )]
    InsufficientFunds { balance: String, required: String },
    #[error(
        "replace-by-fee: gas premium {got} is below the minimum {min} to replace message with nonce {nonce}"
    )]
    ReplaceByFeeTooLow {
        nonce: u64,
        got: String,
        min: String,
    },
    #[error("message already in the pool")]
    Duplicate,
    #[error(
        "too many pending messages from {sender}: {pending} (at most {limit} from untrusted pushes)"
    )]
    TooManyPending {
        sender: String,
        pending: usize,
        limit: usize,
    },
}

struct Entry<M> {
    msg: M,
    local: bool,
}

/// The pool. Not internally synchronised: the node wraps it in a lock.
pub struct MessagePool<M: PoolMessage> {
    config: PoolConfig,
    /// sender → nonce → message.
    by_sender: HashMap<Address, BTreeMap<u64, Entry<M>>>,
    by_cid: HashMap<Cid, (Address, u64)>,
    persist: Option<PathBuf>,
}

/// Minimum premium to replace a message whose premium is `cur` (Lotus `ComputeMinRBF`).
pub fn min_rbf_premium(cur: &TokenAmount) -> TokenAmount {
    TokenAmount::from_atto(cur.atto() * RBF_PERCENT / 100u64 + 1u64)
}

impl<M: PoolMessage> MessagePool<M> {
    /// A pool that keeps its local messages in `persist` (a JSON file), loading any
    /// saved there. Saved messages are re-checked by [`MessagePool::add`] on load.
    pub fn with_persistence(config: PoolConfig, persist: PathBuf, state: &dyn StateView) -> Self {
        let mut pool = Self::new(config);
        let saved: Vec<M> = match std::fs::read(&persist) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %persist.display(), error = %e, "ignoring unreadable saved local messages");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        let mut restored = 0;
        for m in saved {
            if pool.add(m, true, state).is_ok() {
                restored += 1;
            }
        }
        if restored > 0 {
            tracing::info!(restored, "restored local messages into the pool");
        }
        pool.persist = Some(persist);
        pool
    }

    fn save_local(&self) {
        let Some(path) = &self.persist else { return };
        let locals: Vec<&M> = self
            .by_sender
            .values()
            .flat_map(|q| q.values())
            .filter(|e| e.local)
            .map(|e| &e.msg)
            .collect();
        match serde_json::to_vec(&locals) {
            Ok(bytes) => {
                if let Err(e) = crate::repo::write_atomic(path, &bytes) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot save local messages");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot encode local messages"),
        }
    }
}

impl<M: PoolMessage> MessagePool<M> {
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            by_sender: HashMap::new(),
            by_cid: HashMap::new(),
            persist: None,
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: PoolConfig) {
        self.config = config;
    }

    pub fn len(&self) -> usize {
        self.by_cid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_cid.is_empty()
    }

    pub fn contains(&self, cid: &Cid) -> bool {
        self.by_cid.contains_key(cid)
    }

    pub fn get(&self, cid: &Cid) -> Option<&M> {
        let (from, nonce) = self.by_cid.get(cid)?;
        self.by_sender.get(from)?.get(nonce).map(|e| &e.msg)
    }

    /// The next nonce for `addr`: after its last contiguous pending message, or the state
    /// nonce when none is pending.
    pub fn next_nonce(&self, addr: &Address, state: &dyn StateView) -> u64 {
        let mut next = state.actor(addr).map(|(n, _)| n).unwrap_or(0);
        if let Some(q) = self.by_sender.get(addr) {
            while q.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Every pending message, by sender then nonce.
    pub fn pending(&self) -> Vec<M> {
        let mut senders: Vec<_> = self.by_sender.keys().collect();
        senders.sort_by_key(|a| a.to_bytes());
        senders
            .into_iter()
            .flat_map(|a| self.by_sender[a].values().map(|e| e.msg.clone()))
            .collect()
    }

    /// Check and add a message; `local` messages (pushed through this node) survive
    /// restarts and size pruning. Returns the CID.
    pub fn add(&mut self, msg: M, local: bool, state: &dyn StateView) -> Result<Cid, PoolError> {
        let origin = if local { Origin::Local } else { Origin::Remote };
        let cid = self.insert(msg, origin, state)?;
        if local {
            self.save_local();
        }
        Ok(cid)
    }

    /// Checks and adds `msgs` in order, as venus's `MpoolBatchPush*`: stops at the first
    /// refusal and returns the CIDs added before it with that error. The saved local
    /// messages are written once for the whole batch.
    pub fn add_batch(
        &mut self,
        msgs: Vec<M>,
        origin: Origin,
        state: &dyn StateView,
    ) -> (Vec<Cid>, Option<PoolError>) {
        let mut added = Vec::with_capacity(msgs.len());
        let mut error = None;
        for m in msgs {
            match self.insert(m, origin, state) {
                Ok(cid) => added.push(cid),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if origin.is_local() && !added.is_empty() {
            self.save_local();
        }
        (added, error)
    }

    fn insert(&mut self, msg: M, origin: Origin, state: &dyn StateView) -> Result<Cid, PoolError> {
        let local = origin.is_local();
        let cid = msg.cid();
        if self.by_cid.contains_key(&cid) {
            return Err(PoolError::Duplicate);
        }
        if msg.size() > 32 * 1024 {
            return Err(PoolError::TooBig(msg.size()));
        }
        if msg.gas_limit() == 0 || msg.gas_limit() > BLOCK_GAS_LIMIT {
            return Err(PoolError::GasLimit(msg.gas_limit()));
        }
        if msg.gas_fee_cap() < TokenAmount::from_atto(MINIMUM_BASE_FEE) {
            return Err(PoolError::FeeCapTooLow(
                msg.gas_fee_cap().atto().to_string(),
            ));
        }
        if msg.gas_premium() > msg.gas_fee_cap() {
            return Err(PoolError::PremiumAboveCap {
                premium: msg.gas_premium().atto().to_string(),
                fee_cap: msg.gas_fee_cap().atto().to_string(),
            });
        }
        let from = msg.from();
        let (state_nonce, balance) = state
            .actor(&from)
            .ok_or_else(|| PoolError::UnknownSender(from.to_string()))?;
        let key = state
            .key_address(&from)
            .ok_or_else(|| PoolError::UnknownSender(from.to_string()))?;
        msg.verify_signature(&key).map_err(PoolError::Signature)?;
        if msg.nonce() < state_nonce {
            return Err(PoolError::NonceTooLow {
                got: msg.nonce(),
                expected: state_nonce,
            });
        }
        let next = self.next_nonce(&from, state);
        let max_gap = if origin == Origin::Untrusted {
            0
        } else {
            self.config.max_nonce_gap
        };
        if msg.nonce() > next + max_gap {
            return Err(PoolError::NonceGap {
                got: msg.nonce(),
                next,
                gap: max_gap,
            });
        }
        let queue = self.by_sender.get(&from);
        let replaces = queue.and_then(|q| q.get(&msg.nonce()));
        if origin == Origin::Untrusted && replaces.is_none() {
            let pending = queue.map_or(0, BTreeMap::len);
            if pending >= MAX_UNTRUSTED_ACTOR_PENDING {
                return Err(PoolError::TooManyPending {
                    sender: from.to_string(),
                    pending,
                    limit: MAX_UNTRUSTED_ACTOR_PENDING,
                });
            }
        }
        if let Some(old) = replaces {
            let min = min_rbf_premium(&old.msg.gas_premium());
            if msg.gas_premium() < min {
                return Err(PoolError::ReplaceByFeeTooLow {
                    nonce: msg.nonce(),
                    got: msg.gas_premium().atto().to_string(),
                    min: min.atto().to_string(),
                });
            }
        }
        // Funds for every pending message of this sender up to and including this nonce.
        let mut required = msg.required_funds();
        if let Some(q) = queue {
            for (n, e) in q.range(..msg.nonce()) {
                debug_assert!(*n < msg.nonce());
                required += e.msg.required_funds();
            }
        }
        if balance < required {
            return Err(PoolError::InsufficientFunds {
                balance: balance.atto().to_string(),
                required: required.atto().to_string(),
            });
        }
        let nonce = msg.nonce();
        let q = self.by_sender.entry(from).or_default();
        if let Some(replaced) = q.insert(nonce, Entry { msg, local }) {
            self.by_cid.remove(&replaced.msg.cid());
        }
        self.by_cid.insert(cid, (from, nonce));
        self.prune_to_size();
        Ok(cid)
    }

    /// After a head change: drop messages the new state has applied (nonce below the
    /// sender's state nonce).
    pub fn prune_applied(&mut self, state: &dyn StateView) -> usize {
        let mut removed = 0;
        for (addr, q) in self.by_sender.iter_mut() {
            let state_nonce = state.actor(addr).map(|(n, _)| n).unwrap_or(0);
            let stale: Vec<u64> = q.range(..state_nonce).map(|(n, _)| *n).collect();
            for n in stale {
                if let Some(e) = q.remove(&n) {
                    self.by_cid.remove(&e.msg.cid());
                    removed += 1;
                }
            }
        }
        self.by_sender.retain(|_, q| !q.is_empty());
        if removed > 0 {
            self.save_local();
        }
        removed
    }

    /// Remove one message by CID (`MpoolClear`-style removals, tests).
    pub fn remove(&mut self, cid: &Cid) -> Option<M> {
        let (from, nonce) = self.by_cid.remove(cid)?;
        let q = self.by_sender.get_mut(&from)?;
        let e = q.remove(&nonce);
        if q.is_empty() {
            self.by_sender.remove(&from);
        }
        e.map(|e| e.msg)
    }

    pub fn clear(&mut self, include_local: bool) {
        for q in self.by_sender.values_mut() {
            q.retain(|_, e| e.local && !include_local);
        }
        self.by_sender.retain(|_, q| !q.is_empty());
        let keep: HashMap<Cid, (Address, u64)> = self
            .by_sender
            .iter()
            .flat_map(|(a, q)| q.iter().map(move |(n, e)| (e.msg.cid(), (*a, *n))))
            .collect();
        self.by_cid = keep;
        self.save_local();
    }

    /// Above `size_limit_high`, drop the worst-paying non-local chains' tails until at
    /// `size_limit_low`.
    fn prune_to_size(&mut self) {
        if self.by_cid.len() <= self.config.size_limit_high {
            return;
        }
        let priority: HashSet<Address> = self.config.priority_addrs.iter().copied().collect();
        let mut candidates: Vec<(TokenAmount, Address, u64)> = self
            .by_sender
            .iter()
            .filter(|(a, _)| !priority.contains(*a))
            .flat_map(|(a, q)| {
                q.iter()
                    .filter(|(_, e)| !e.local)
                    .map(move |(n, e)| (e.msg.gas_premium(), *a, *n))
            })
            .collect();
        // Lowest premium first; within a sender, highest nonce first so chains stay gapless.
        candidates.sort_by(|x, y| x.0.cmp(&y.0).then(y.2.cmp(&x.2)));
        let excess = self.by_cid.len() - self.config.size_limit_low;
        for (_, addr, nonce) in candidates.into_iter().take(excess) {
            if let Some(q) = self.by_sender.get_mut(&addr)
                && let Some(e) = q.remove(&nonce)
            {
                self.by_cid.remove(&e.msg.cid());
            }
        }
        self.by_sender.retain(|_, q| !q.is_empty());
    }

    /// Messages for one block: each sender's gapless chain from its state nonce, chains
    /// ordered by gas reward per unit of gas at `base_fee`, packed within the block gas
    /// limit and message limit. Chains whose next message cannot pay the base fee stop
    /// there.
    pub fn select(&self, state: &dyn StateView, base_fee: &TokenAmount) -> Vec<M> {
        self.select_excluding(state, base_fee, &HashSet::new())
    }

    fn chains(
        &self,
        state: &dyn StateView,
        base_fee: &TokenAmount,
        skip: &HashSet<Address>,
    ) -> Vec<Chain<M>> {
        let mut chains = Vec::new();
        for (addr, q) in &self.by_sender {
            if skip.contains(addr) {
                continue;
            }
            let Some((mut nonce, mut balance)) = state.actor(addr) else {
                continue;
            };
            let mut msgs = Vec::new();
            let mut gas = 0u64;
            let mut reward = TokenAmount::from_atto(0);
            while let Some(e) = q.get(&nonce) {
                let m = &e.msg;
                if m.gas_fee_cap() < *base_fee || balance < m.required_funds() {
                    break;
                }
                balance -= m.required_funds();
                let cap_over_base = m.gas_fee_cap() - base_fee.clone();
                let premium = std::cmp::min(m.gas_premium(), cap_over_base);
                reward += premium * m.gas_limit();
                gas += m.gas_limit();
                msgs.push(m.clone());
                nonce += 1;
            }
            if !msgs.is_empty() {
                chains.push(Chain {
                    sender: *addr,
                    msgs,
                    gas,
                    reward,
                });
            }
        }
        // Higher reward per gas first; ties broken by sender bytes for determinism.
        chains.sort_by(|a, b| {
            let lhs = b.reward.atto() * a.gas;
            let rhs = a.reward.atto() * b.gas;
            lhs.cmp(&rhs)
                .then_with(|| a.sender.to_bytes().cmp(&b.sender.to_bytes()))
        });
        chains
    }

    fn select_excluding(
        &self,
        state: &dyn StateView,
        base_fee: &TokenAmount,
        skip: &HashSet<Address>,
    ) -> Vec<M> {
        let mut out = Vec::new();
        let mut gas_left = BLOCK_GAS_LIMIT;
        for chain in self.chains(state, base_fee, skip) {
            for m in chain.msgs {
                if m.gas_limit() > gas_left || out.len() >= BLOCK_MESSAGE_LIMIT {
                    break;
                }
                gas_left -= m.gas_limit();
                out.push(m);
            }
        }
        out
    }

    /// venus `MpoolSelects`: one selection per ticket quality (best ticket first gets the
    /// best chains); a sender's messages go to one block only, so the blocks of a tipset
    /// never carry the same message twice. Results are in the callers' order.
    pub fn select_many(
        &self,
        state: &dyn StateView,
        base_fee: &TokenAmount,
        qualities: &[f64],
    ) -> Vec<Vec<M>> {
        let mut order: Vec<usize> = (0..qualities.len()).collect();
        order.sort_by(|a, b| {
            qualities[*b]
                .partial_cmp(&qualities[*a])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut used = HashSet::new();
        let mut results = vec![Vec::new(); qualities.len()];
        for i in order {
            let sel = self.select_excluding(state, base_fee, &used);
            used.extend(sel.iter().map(|m| m.from()));
            results[i] = sel;
        }
        results
    }
}

struct Chain<M> {
    sender: Address,
    msgs: Vec<M>,
    gas: u64,
    reward: TokenAmount,
}

#[cfg(test)]
mod tests {
    use super::*;
    use multihash_codetable::{Code, MultihashDigest};
    use serde::Deserialize;

    /// A message stand-in: signature validity is a flag, the CID hashes the fields.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct TestMsg {
        from: u64,
        nonce: u64,
        value: u64,
        gas_limit: u64,
        fee_cap: u64,
        premium: u64,
        good_sig: bool,
    }

    impl PoolMessage for TestMsg {
        fn cid(&self) -> Cid {
            let bytes = serde_json::to_vec(self).unwrap_or_default();
            Cid::new_v1(0x71, Code::Blake2b256.digest(&bytes))
        }
        fn from(&self) -> Address {
            Address::new_id(self.from)
        }
        fn to(&self) -> Address {
            Address::new_id(99)
        }
        fn nonce(&self) -> u64 {
            self.nonce
        }
        fn value(&self) -> TokenAmount {
            TokenAmount::from_atto(self.value)
        }
        fn gas_limit(&self) -> u64 {
            self.gas_limit
        }
        fn gas_fee_cap(&self) -> TokenAmount {
            TokenAmount::from_atto(self.fee_cap)
        }
        fn gas_premium(&self) -> TokenAmount {
            TokenAmount::from_atto(self.premium)
        }
        fn size(&self) -> usize {
            100
        }
        fn verify_signature(&self, _key: &Address) -> Result<(), String> {
            if self.good_sig {
                Ok(())
            } else {
                Err("bad signature".into())
            }
        }
    }

    struct State(HashMap<u64, (u64, u64)>);

    impl StateView for State {
        fn actor(&self, addr: &Address) -> Option<(u64, TokenAmount)> {
            let id = addr.id().ok()?;
            self.0
                .get(&id)
                .map(|(n, b)| (*n, TokenAmount::from_atto(*b)))
        }
        fn key_address(&self, addr: &Address) -> Option<Address> {
            Some(*addr)
        }
    }

    fn msg(from: u64, nonce: u64, premium: u64) -> TestMsg {
        TestMsg {
            from,
            nonce,
            value: 0,
            gas_limit: 1_000_000,
            fee_cap: 1_000,
            premium,
            good_sig: true,
        }
    }

    fn state() -> State {
        State(
            [
                (1, (5, 1_000_000_000_000)),
                (2, (0, 1_000_000_000_000)),
                (3, (0, 10)),
            ]
            .into_iter()
            .collect(),
        )
    }

    #[test]
    fn entry_checks_refuse_bad_messages_with_reasons() {
        let st = state();
        let mut pool = MessagePool::new(PoolConfig::default());
        assert_eq!(
            pool.add(msg(1, 4, 10), false, &st),
            Err(PoolError::NonceTooLow {
                got: 4,
                expected: 5
            })
        );
        assert!(matches!(
            pool.add(msg(9, 0, 10), false, &st),
            Err(PoolError::UnknownSender(_))
        ));
        assert!(matches!(
            pool.add(msg(3, 0, 10), false, &st),
            Err(PoolError::InsufficientFunds { .. })
        ));
        let bad = TestMsg {
            good_sig: false,
            ..msg(1, 5, 10)
        };
        assert!(matches!(
            pool.add(bad, false, &st),
            Err(PoolError::Signature(_))
        ));
        let m = TestMsg {
            gas_limit: BLOCK_GAS_LIMIT + 1,
            ..msg(1, 5, 10)
        };
        assert!(matches!(
            pool.add(m, false, &st),
            Err(PoolError::GasLimit(_))
        ));
        let m = TestMsg {
            fee_cap: 99,
            premium: 1,
            ..msg(1, 5, 1)
        };
        assert!(matches!(
            pool.add(m, false, &st),
            Err(PoolError::FeeCapTooLow(_))
        ));
        let m = TestMsg {
            premium: 2_000,
            ..msg(1, 5, 0)
        };
        assert!(matches!(
            pool.add(m, false, &st),
            Err(PoolError::PremiumAboveCap { .. })
        ));
        assert!(matches!(
            pool.add(msg(1, 5 + 101, 10), false, &st),
            Err(PoolError::NonceGap { .. })
        ));
        assert!(pool.is_empty());
    }

    #[test]
    fn nonces_and_replace_by_fee() {
        let st = state();
        let mut pool = MessagePool::new(PoolConfig::default());
        pool.add(msg(1, 5, 100), false, &st).expect("first");
        pool.add(msg(1, 6, 100), false, &st).expect("second");
        assert_eq!(pool.next_nonce(&Address::new_id(1), &st), 7);
        assert_eq!(
            pool.add(msg(1, 5, 100), false, &st),
            Err(PoolError::Duplicate)
        );
        // 125 % of 100, plus one, is the minimum.
        let err = pool.add(msg(1, 5, 125), false, &st).expect_err("must fail");
        assert!(matches!(err, PoolError::ReplaceByFeeTooLow { .. }), "{err}");
        let cid = pool.add(msg(1, 5, 126), false, &st).expect("replace");
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.get(&cid).expect("replacement").premium, 126);
    }

    #[test]
    fn select_orders_by_premium_keeps_nonce_order_and_respects_base_fee() {
        let st = state();
        let mut pool = MessagePool::new(PoolConfig::default());
        pool.add(msg(1, 5, 10), false, &st).expect("a");
        pool.add(msg(1, 6, 10), false, &st).expect("b");
        pool.add(msg(2, 0, 500), false, &st).expect("c");
        pool.add(msg(2, 2, 500), false, &st)
            .expect("gap: not selectable");
        let sel = pool.select(&st, &TokenAmount::from_atto(100));
        let got: Vec<(u64, u64)> = sel.iter().map(|m| (m.from, m.nonce)).collect();
        assert_eq!(got, vec![(2, 0), (1, 5), (1, 6)]);
        // A base fee above every fee cap selects nothing.
        assert!(pool.select(&st, &TokenAmount::from_atto(5_000)).is_empty());
        // The best ticket (0.9) selects first; senders it took are not offered again.
        let many = pool.select_many(&st, &TokenAmount::from_atto(100), &[0.1, 0.9]);
        assert_eq!(
            many[1].iter().map(|m| m.from).collect::<Vec<_>>(),
            vec![2, 1, 1]
        );
        assert!(many[0].is_empty());
    }

    #[test]
    fn select_stays_within_the_block_gas_limit() {
        let st = State((1..=30).map(|i| (i, (0, u64::MAX))).collect());
        let mut pool = MessagePool::new(PoolConfig::default());
        for i in 1..=30 {
            let m = TestMsg {
                gas_limit: 1_000_000_000,
                ..msg(i, 0, i)
            };
            pool.add(m, false, &st).expect("add");
        }
        let sel = pool.select(&st, &TokenAmount::from_atto(100));
        assert_eq!(sel.len(), 10);
        assert!(sel.iter().map(|m| m.gas_limit).sum::<u64>() <= BLOCK_GAS_LIMIT);
        assert_eq!(sel[0].premium, 30, "best premium first");
    }

    #[test]
    fn pruning_and_local_persistence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mpool.json");
        let st = state();
        let mut pool = MessagePool::with_persistence(PoolConfig::default(), path.clone(), &st);
        pool.add(msg(1, 5, 10), true, &st).expect("local");
        pool.add(msg(2, 0, 10), false, &st).expect("remote");
        drop(pool);
        let restored: MessagePool<TestMsg> =
            MessagePool::with_persistence(PoolConfig::default(), path.clone(), &st);
        assert_eq!(
            restored.len(),
            1,
            "only the local message survives a restart"
        );
        let mut pool = restored;
        let applied = State([(1, (6, 1_000_000_000_000))].into_iter().collect());
        assert_eq!(pool.prune_applied(&applied), 1);
        assert!(pool.is_empty());
        let again: MessagePool<TestMsg> =
            MessagePool::with_persistence(PoolConfig::default(), path, &st);
        assert!(again.is_empty(), "applied local messages are forgotten");
    }

    #[test]
    fn untrusted_pushes_take_no_gap_and_at_most_the_untrusted_cap_per_sender() {
        let st = State(
            [(1, (0, u64::MAX)), (2, (0, u64::MAX))]
                .into_iter()
                .collect(),
        );
        let mut pool = MessagePool::new(PoolConfig::default());
        // A gap of one is refused untrusted, accepted trusted (maxNonceGap 100).
        let (added, err) = pool.add_batch(vec![msg(1, 1, 10)], Origin::Untrusted, &st);
        assert!(added.is_empty());
        assert_eq!(
            err,
            Some(PoolError::NonceGap {
                got: 1,
                next: 0,
                gap: 0
            })
        );
        let (added, err) = pool.add_batch(vec![msg(2, 1, 10)], Origin::Local, &st);
        assert_eq!((added.len(), err), (1, None));
        // In order, the untrusted cap: 100 accepted, the 101st refused, the batch stops there.
        let batch: Vec<TestMsg> = (0..105).map(|n| msg(1, n, 10)).collect();
        let (added, err) = pool.add_batch(batch, Origin::Untrusted, &st);
        assert_eq!(added.len(), MAX_UNTRUSTED_ACTOR_PENDING);
        assert_eq!(
            err,
            Some(PoolError::TooManyPending {
                sender: Address::new_id(1).to_string(),
                pending: 100,
                limit: 100
            })
        );
        assert_eq!(pool.next_nonce(&Address::new_id(1), &st), 100);
        // A replacement of a pending nonce is no new pending message: allowed at the cap.
        let (added, err) = pool.add_batch(vec![msg(1, 50, 13)], Origin::Untrusted, &st);
        assert_eq!((added.len(), err), (1, None));
        // Trusted pushes have no per-sender cap.
        let (added, err) = pool.add_batch(vec![msg(1, 100, 10)], Origin::Local, &st);
        assert_eq!((added.len(), err), (1, None));
        // Once the state moves on (messages applied), untrusted pushes fit again.
        let applied = State(
            [(1, (60, u64::MAX)), (2, (0, u64::MAX))]
                .into_iter()
                .collect(),
        );
        assert_eq!(pool.prune_applied(&applied), 60);
        let (added, err) = pool.add_batch(vec![msg(1, 101, 10)], Origin::Untrusted, &applied);
        assert_eq!((added.len(), err), (1, None));
    }

    #[test]
    fn a_batch_saves_the_local_messages_once_and_untrusted_ones_never() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mpool.json");
        let st = state();
        let mut pool = MessagePool::with_persistence(PoolConfig::default(), path.clone(), &st);
        let (added, err) = pool.add_batch(vec![msg(1, 5, 10), msg(1, 6, 10)], Origin::Local, &st);
        assert_eq!((added.len(), err), (2, None));
        let (added, err) = pool.add_batch(vec![msg(2, 0, 10)], Origin::Untrusted, &st);
        assert_eq!((added.len(), err), (1, None));
        drop(pool);
        let restored: MessagePool<TestMsg> =
            MessagePool::with_persistence(PoolConfig::default(), path, &st);
        let mut kept: Vec<(u64, u64)> = restored
            .pending()
            .iter()
            .map(|m| (m.from, m.nonce))
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![(1, 5), (1, 6)]);
    }

    #[test]
    fn size_limit_prunes_non_local_low_premium_first() {
        let st = State((1..=10).map(|i| (i, (0, u64::MAX))).collect());
        let cfg = PoolConfig {
            size_limit_high: 5,
            size_limit_low: 3,
            ..PoolConfig::default()
        };
        let mut pool = MessagePool::new(cfg);
        pool.add(msg(1, 0, 1), true, &st).expect("local, cheapest");
        for i in 2..=6 {
            pool.add(msg(i, 0, i * 10), false, &st).expect("add");
        }
        assert_eq!(pool.len(), 3);
        let senders: HashSet<u64> = pool.pending().iter().map(|m| m.from).collect();
        assert_eq!(senders, [1, 5, 6].into_iter().collect());
    }
}
