//! Block creation from a `BlockTemplate` (`MinerCreateBlock`): fills the parent state root,
//! receipts, weight and base fee from executing the parents, stores the messages, aggregates
//! BLS signatures, and signs the header only when the worker key is given (as venus, which
//! returns the block unsigned when its wallet lacks the key).

use fvm_ipld_blockstore::Blockstore;
use venus_types::crypto::aggregate_bls;
use venus_types::{BlockHeader, BlockMsg, BlockTemplate, Message, PrivateKey, SignedMessage};

use crate::exec::{ExecError, child_base_fee, execute_tipset, tipset_weight};
use crate::network::{BLOCK_GAS_LIMIT, BLOCK_MESSAGE_LIMIT};
use crate::store::ChainStore;

#[derive(Debug, thiserror::Error)]
pub enum CreateBlockError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("block template: {0}")]
    Template(String),
}

/// Builds the block. `worker_key`, when given, signs it.
pub fn create_block<BS: Blockstore>(
    cs: &ChainStore<BS>,
    template: &BlockTemplate,
    worker_key: Option<&PrivateKey>,
) -> Result<BlockMsg, CreateBlockError> {
    let parent = cs.load_tipset(&template.parents).map_err(ExecError::from)?;
    if template.epoch <= parent.height() {
        return Err(CreateBlockError::Template(format!(
            "epoch {} is not above the parents' height {}",
            template.epoch,
            parent.height()
        )));
    }
    if template.messages.len() > BLOCK_MESSAGE_LIMIT {
        return Err(CreateBlockError::Template(format!(
            "{} messages exceed the block limit of {BLOCK_MESSAGE_LIMIT}",
            template.messages.len()
        )));
    }
    let gas: i64 = template
        .messages
        .iter()
        .map(|m| m.message.gas_limit.max(0))
        .sum();
    if gas as u64 > BLOCK_GAS_LIMIT {
        return Err(CreateBlockError::Template(format!(
            "messages use {gas} gas, over the block gas limit"
        )));
    }
    let exec = execute_tipset(cs, &parent)?;
    let parent_weight = tipset_weight(cs, &parent)?;
    let parent_base_fee = child_base_fee(cs, &parent).map_err(ExecError::from)?;

    let (bls, secp): (Vec<&SignedMessage>, Vec<&SignedMessage>) =
        template.messages.iter().partition(|m| m.is_bls());
    let bls_unsigned: Vec<Message> = bls.iter().map(|m| m.message.clone()).collect();
    let secp_signed: Vec<SignedMessage> = secp.into_iter().cloned().collect();
    let bls_aggregate = aggregate_bls(&bls.iter().map(|m| m.signature.clone()).collect::<Vec<_>>())
        .map_err(|e| CreateBlockError::Template(format!("BLS aggregate: {e}")))?;
    let messages = cs
        .put_messages(&bls_unsigned, &secp_signed)
        .map_err(ExecError::from)?;

    let mut header = BlockHeader {
        miner: template.miner,
        ticket: template.ticket.clone(),
        election_proof: template.eproof.clone(),
        beacon_entries: template.beacon_values.clone(),
        win_post_proof: template.winning_post_proof.clone(),
        parents: template.parents.cids().to_vec(),
        parent_weight,
        height: template.epoch,
        parent_state_root: exec.state_root,
        parent_message_receipts: exec.receipts_root,
        messages,
        bls_aggregate: Some(bls_aggregate),
        timestamp: template.timestamp,
        block_sig: None,
        fork_signaling: 0,
        parent_base_fee,
    };
    if let Some(key) = worker_key {
        header.block_sig = Some(key.sign(&header.signing_bytes()));
    }
    Ok(BlockMsg {
        header,
        bls_messages: bls_unsigned.iter().map(Message::cid).collect(),
        secpk_messages: secp_signed.iter().map(SignedMessage::cid).collect(),
    })
}
