//! Gas estimation (`GasEstimateGasLimit`, `GasEstimateFeeCap`, `GasEstimateGasPremium`,
//! `GasEstimateMessageGas`): the message is applied to a throwaway copy of the state, and
//! fees follow Lotus's rules (fee cap = base fee grown by 1/8 per queued block + premium).

use venus_chain::blockstore::BufferedBlockstore;
use venus_chain::exec::child_base_fee;
use venus_chain::network::BLOCK_GAS_LIMIT;
use venus_chain::state::StateTree;
use venus_chain::vm::apply_message;
use venus_types::{Message, MessageSendSpec, Protocol, TipSet, TokenAmount};

use crate::node::Node;

/// Lotus's `MinGasPremium` (attoFIL): the floor of premium estimates.
pub const MIN_GAS_PREMIUM: u64 = 100_000;
/// Default gas-limit overestimation (`GasLimitOverestimation`).
pub const GAS_LIMIT_OVERESTIMATION: f64 = 1.25;
/// Queue depth used for fee-cap estimates (Lotus `GasEstimateMessageGas`).
pub const FEE_CAP_QUEUE_BLOCKS: i64 = 20;
/// Blocks the premium estimate aims for.
pub const PREMIUM_BLOCKS: u64 = 10;
/// config.json `mpool.maxFee` default: 10 FIL.
pub fn default_max_fee() -> TokenAmount {
    TokenAmount::from_whole(10)
}

/// What every estimate on one tipset shares, computed once (a batch estimate of hundreds
/// of messages reads the state root, the next base fee and the premium history once).
pub struct Estimator<'a> {
    n: &'a Node,
    ts: &'a TipSet,
    root: venus_types::Cid,
    base_fee: venus_types::TokenAmount,
    premium: std::cell::OnceCell<TokenAmount>,
}

impl<'a> Estimator<'a> {
    pub fn new(n: &'a Node, ts: &'a TipSet) -> Result<Self, String> {
        Ok(Self {
            n,
            ts,
            root: n.state_after(ts)?,
            base_fee: child_base_fee(&n.cs, ts).map_err(|e| e.to_string())?,
            premium: std::cell::OnceCell::new(),
        })
    }

    /// Gas the message uses when applied on the state after the tipset (with the sender's
    /// state nonce).
    pub fn gas_limit(&self, msg: &Message) -> Result<i64, String> {
        let buffered = BufferedBlockstore::new(self.n.cs.blockstore());
        let mut tree = StateTree::load(&buffered, &self.root.0).map_err(|e| e.to_string())?;
        let from = tree
            .get_actor(&msg.from.0)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("sender {} not found", msg.from))?;
        let mut probe = msg.clone();
        probe.nonce = from.sequence;
        probe.gas_limit = BLOCK_GAS_LIMIT as i64;
        if probe.gas_fee_cap.atto() <= &num_bigint::BigInt::from(0) {
            probe.gas_fee_cap = TokenAmount::from_atto(venus_chain::network::MINIMUM_BASE_FEE);
        }
        // A secp message goes on chain signed: count the 65-byte signature and its framing.
        let chain_len = probe.to_cbor().len()
            + if msg.from.protocol() == Protocol::Secp256k1 {
                68
            } else {
                0
            };
        let fvm_msg: fvm_shared::message::Message = probe.into();
        let ret = apply_message(&mut tree, &fvm_msg, chain_len, &self.base_fee.0)
            .map_err(|e| e.to_string())?;
        buffered.discard();
        if !ret.receipt.exit_code.is_success() {
            return Err(format!(
                "message execution failed: exit {}",
                ret.receipt.exit_code.value()
            ));
        }
        i64::try_from(ret.receipt.gas_used).map_err(|e| e.to_string())
    }

    /// Base fee of the next block grown by 1/8 for each of `max_queue` blocks, plus the
    /// premium.
    pub fn fee_cap(&self, msg: &Message, max_queue: i64) -> TokenAmount {
        let mut fee = self.base_fee.atto().clone();
        for _ in 0..max_queue.clamp(0, 200) {
            fee += &fee / 8;
        }
        TokenAmount::from_atto(fee + msg.gas_premium.atto())
    }

    /// [`estimate_gas_premium`] over [`PREMIUM_BLOCKS`], once per estimator.
    pub fn premium(&self) -> Result<TokenAmount, String> {
        if let Some(p) = self.premium.get() {
            return Ok(p.clone());
        }
        let p = estimate_gas_premium(self.n, PREMIUM_BLOCKS, self.ts)?;
        Ok(self.premium.get_or_init(|| p).clone())
    }

    /// Fill in whatever of gas limit, premium and fee cap is zero, then cap the fee at
    /// `spec.MaxFee` (or the 10 FIL default).
    pub fn message_gas(&self, mut msg: Message, spec: MessageSendSpec) -> Result<Message, String> {
        if msg.gas_limit == 0 {
            let used = self.gas_limit(&msg)?;
            let over = if spec.gas_over_estimation > 0.0 {
                spec.gas_over_estimation
            } else {
                GAS_LIMIT_OVERESTIMATION
            };
            msg.gas_limit = ((used as f64) * over).min(BLOCK_GAS_LIMIT as f64) as i64;
        }
        let zero = num_bigint::BigInt::from(0);
        if msg.gas_premium.atto() == &zero {
            let p = self.premium()?;
            msg.gas_premium = if spec.gas_over_premium > 0.0 {
                let scaled = (spec.gas_over_premium * 1000.0) as u64;
                TokenAmount::from_atto(p.atto() * scaled / 1000u64)
            } else {
                p
            };
        }
        if msg.gas_fee_cap.atto() == &zero {
            msg.gas_fee_cap = self.fee_cap(&msg, FEE_CAP_QUEUE_BLOCKS);
        }
        let max_fee = if spec.max_fee.atto() > &zero {
            spec.max_fee.clone()
        } else {
            default_max_fee()
        };
        let limit = num_bigint::BigInt::from(msg.gas_limit.max(1));
        if msg.gas_fee_cap.atto() * &limit > *max_fee.atto() {
            msg.gas_fee_cap = TokenAmount::from_atto(max_fee.atto() / &limit);
            if msg.gas_premium.atto() > msg.gas_fee_cap.atto() {
                msg.gas_premium = msg.gas_fee_cap.clone();
            }
        }
        Ok(msg)
    }
}

/// Gas the message uses when applied on the state after `ts` (with the sender's state nonce).
pub fn estimate_gas_limit(n: &Node, msg: &Message, ts: &TipSet) -> Result<i64, String> {
    Estimator::new(n, ts)?.gas_limit(msg)
}

/// Base fee of the next block grown by 1/8 for each of `max_queue` blocks, plus the premium.
pub fn estimate_fee_cap(
    n: &Node,
    msg: &Message,
    max_queue: i64,
    ts: &TipSet,
) -> Result<TokenAmount, String> {
    Ok(Estimator::new(n, ts)?.fee_cap(msg, max_queue))
}

/// The median premium of the messages in the last `2 × nblocks` tipsets, at least
/// [`MIN_GAS_PREMIUM`]. Deterministic (Lotus adds random noise; we do not).
pub fn estimate_gas_premium(n: &Node, nblocks: u64, ts: &TipSet) -> Result<TokenAmount, String> {
    let mut premiums = Vec::new();
    let mut cur = ts.clone();
    for _ in 0..(2 * nblocks.max(1)) {
        for (_, m) in n.cs.tipset_messages(&cur).map_err(|e| e.to_string())? {
            premiums.push(m.message().gas_premium.atto().clone());
        }
        if cur.height() == 0 {
            break;
        }
        cur =
            n.cs.load_tipset(&cur.parents())
                .map_err(|e| e.to_string())?;
    }
    premiums.sort();
    let floor = num_bigint::BigInt::from(MIN_GAS_PREMIUM);
    let median = premiums
        .get(premiums.len() / 2)
        .cloned()
        .unwrap_or_else(|| floor.clone());
    Ok(TokenAmount::from_atto(median.max(floor)))
}

/// Fill in whatever of gas limit, premium and fee cap is zero, then cap the fee at
/// `spec.MaxFee` (or the 10 FIL default).
pub fn estimate_message_gas(
    n: &Node,
    msg: Message,
    spec: MessageSendSpec,
    ts: &TipSet,
) -> Result<Message, String> {
    Estimator::new(n, ts)?.message_gas(msg, spec)
}
