//! Message application: Filecoin's gas rules over the native actors.
//!
//! Order as in Lotus `ApplyMessage`: on-chain inclusion gas, sender checks (exists, is an
//! account, nonce, balance for gas limit × fee cap), fee reservation and nonce bump, then the
//! method (value transfer, account creation for new key addresses), then the gas outputs:
//! base fee and over-estimation burnt, the tip to the reward actor (paid to the block's
//! miner), the rest refunded. A sender-side failure never changes the sender; the miner is
//! penalised instead. Nothing a message contains can make this code panic.

use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::ActorID;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;

use crate::actors::{AccountState, ActorKind, BURNT_FUNDS_ACTOR_ID, REWARD_ACTOR_ID};
use crate::gas::{self, GasOutputs, GasTracker};
use crate::state::{StateError, StateTree};

/// The outcome of one message.
#[derive(Debug, Clone)]
pub struct ApplyRet {
    pub receipt: Receipt,
    /// Penalty the including miner pays (burnt from its block reward).
    pub penalty: TokenAmount,
    /// Tip the including miner earns.
    pub miner_tip: TokenAmount,
    pub gas_outputs: GasOutputs,
}

impl ApplyRet {
    fn prevalidation_failure(code: ExitCode, base_fee: &TokenAmount, gas_cost: i64) -> Self {
        ApplyRet {
            receipt: Receipt {
                exit_code: code,
                return_data: RawBytes::default(),
                gas_used: 0,
                events_root: None,
            },
            penalty: base_fee * gas_cost,
            miner_tip: TokenAmount::default(),
            gas_outputs: GasOutputs::default(),
        }
    }
}

/// Applies one message at `base_fee`. `chain_len` is the size of the message as included on
/// chain (the signed message for secp, the unsigned one for BLS). Errors are only store
/// failures; every message-level failure is an exit code in the receipt.
pub fn apply_message<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    msg: &Message,
    chain_len: usize,
    base_fee: &TokenAmount,
) -> Result<ApplyRet, StateError> {
    let inclusion = gas::on_chain_message(chain_len);
    let gas_limit = i64::try_from(msg.gas_limit).unwrap_or(i64::MAX);
    if gas_limit < inclusion {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_OUT_OF_GAS,
            base_fee,
            inclusion,
        ));
    }
    if msg.value.is_negative() || msg.gas_fee_cap.is_negative() || msg.gas_premium.is_negative() {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_STATE_INVALID,
            base_fee,
            inclusion,
        ));
    }
    let Some(from_id) = tree.lookup_id(&msg.from)? else {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_INVALID,
            base_fee,
            inclusion,
        ));
    };
    let Some(mut from_actor) = tree.get_actor_by_id(from_id)? else {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_INVALID,
            base_fee,
            inclusion,
        ));
    };
    if !ActorKind::from_code(&from_actor.code).is_some_and(ActorKind::is_principal) {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_INVALID,
            base_fee,
            inclusion,
        ));
    }
    if from_actor.sequence != msg.sequence {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_STATE_INVALID,
            base_fee,
            inclusion,
        ));
    }
    let gas_cost = &msg.gas_fee_cap * gas_limit;
    if from_actor.balance < gas_cost {
        return Ok(ApplyRet::prevalidation_failure(
            ExitCode::SYS_SENDER_STATE_INVALID,
            base_fee,
            inclusion,
        ));
    }

    // Reserve the whole fee and bump the nonce: from here the sender pays whatever happens.
    from_actor.balance -= &gas_cost;
    from_actor.sequence += 1;
    tree.set_actor(from_id, from_actor)?;

    let mut gas = GasTracker::new(gas_limit, inclusion);
    let exit_code = match invoke(tree, from_id, msg, &mut gas)? {
        Ok(()) => ExitCode::OK,
        Err(code) => code,
    };
    let gas_used = if exit_code == ExitCode::SYS_OUT_OF_GAS {
        gas_limit
    } else {
        gas.used()
    };

    let outputs = gas::compute_gas_outputs(
        gas_used,
        gas_limit,
        base_fee,
        &msg.gas_fee_cap,
        &msg.gas_premium,
        true,
    );
    credit(
        tree,
        BURNT_FUNDS_ACTOR_ID,
        &(&outputs.base_fee_burn + &outputs.over_estimation_burn),
    )?;
    credit(tree, REWARD_ACTOR_ID, &outputs.miner_tip)?;
    credit(tree, from_id, &outputs.refund)?;

    Ok(ApplyRet {
        receipt: Receipt {
            exit_code,
            return_data: RawBytes::default(),
            gas_used: gas_used as u64,
            events_root: None,
        },
        penalty: outputs.miner_penalty.clone(),
        miner_tip: outputs.miner_tip.clone(),
        gas_outputs: outputs,
    })
}

/// Runs the method. All checks happen before any state changes, so a failure needs no undo.
fn invoke<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    from_id: ActorID,
    msg: &Message,
    gas: &mut GasTracker,
) -> Result<Result<(), ExitCode>, StateError> {
    let value_nonzero = !msg.value.is_zero();
    if gas
        .charge(gas::on_method_invocation(value_nonzero, msg.method_num))
        .is_err()
    {
        return Ok(Err(ExitCode::SYS_OUT_OF_GAS));
    }
    let to_id = match tree.lookup_id(&msg.to)? {
        Some(id) if tree.get_actor_by_id(id)?.is_some() => id,
        // Sending to a fresh key address creates its account actor (init's implicit path).
        _ if matches!(msg.to.protocol(), Protocol::Secp256k1 | Protocol::BLS) => {
            if gas.charge(gas::on_create_actor()).is_err() {
                return Ok(Err(ExitCode::SYS_OUT_OF_GAS));
            }
            let sender = tree
                .get_actor_by_id(from_id)?
                .ok_or(StateError::ActorNotFound(msg.from))?;
            if sender.balance < msg.value {
                return Ok(Err(ExitCode::SYS_INSUFFICIENT_FUNDS));
            }
            if msg.method_num != 0 {
                return Ok(Err(ExitCode::USR_UNHANDLED_MESSAGE));
            }
            let id = tree.register_new_address(&msg.to)?;
            tree.create_actor(
                id,
                ActorKind::Account,
                &AccountState { address: msg.to },
                TokenAmount::default(),
                None,
            )?;
            id
        }
        _ => return Ok(Err(ExitCode::SYS_INVALID_RECEIVER)),
    };
    let sender = tree
        .get_actor_by_id(from_id)?
        .ok_or(StateError::ActorNotFound(msg.from))?;
    if sender.balance < msg.value {
        return Ok(Err(ExitCode::SYS_INSUFFICIENT_FUNDS));
    }
    // The native actors export only method 0 (send); any other method is unhandled and the
    // value stays with the sender.
    if msg.method_num != 0 {
        return Ok(Err(ExitCode::USR_UNHANDLED_MESSAGE));
    }
    transfer(tree, from_id, to_id, &msg.value)?;
    Ok(Ok(()))
}

/// Moves `amount` between two existing actors (the caller checked the balance).
pub fn transfer<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    from: ActorID,
    to: ActorID,
    amount: &TokenAmount,
) -> Result<(), StateError> {
    if amount.is_zero() || from == to {
        return Ok(());
    }
    let mut src = tree
        .get_actor_by_id(from)?
        .ok_or(StateError::ActorNotFound(Address::new_id(from)))?;
    if src.balance < *amount {
        return Err(StateError::Store(format!(
            "transfer of {amount} from f0{from} exceeds its balance"
        )));
    }
    src.balance -= amount;
    tree.set_actor(from, src)?;
    credit(tree, to, amount)
}

fn credit<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    id: ActorID,
    amount: &TokenAmount,
) -> Result<(), StateError> {
    if amount.is_zero() {
        return Ok(());
    }
    let mut actor = tree
        .get_actor_by_id(id)?
        .ok_or(StateError::ActorNotFound(Address::new_id(id)))?;
    actor.balance += amount;
    tree.set_actor(id, actor)
}
