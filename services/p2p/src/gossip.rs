//! The gossipsub side: Lotus's topic names, message id and the checks a gossiped block or
//! message passes before it is forwarded (decode failures are rejected, which scores the
//! sender down).

use venus_types::{BlockMsg, SignedMessage};

/// Most messages one block may carry (Lotus `build.BlockMessageLimit`).
pub const BLOCK_MESSAGE_LIMIT: usize = 10_000;

/// The blocks topic of a network: `/fil/blocks/<network name>`.
pub fn blocks_topic(network_name: &str) -> String {
    format!("/fil/blocks/{network_name}")
}

/// The messages topic of a network: `/fil/msgs/<network name>`.
pub fn msgs_topic(network_name: &str) -> String {
    format!("/fil/msgs/{network_name}")
}

/// Lotus's gossipsub message id: blake2b-256 of the message data (not of author and sequence
/// number), so the same block from two publishers is one message.
pub fn message_id(data: &[u8]) -> Vec<u8> {
    venus_types::cbor::blake2b_256(data).to_vec()
}

/// Decodes a gossiped block, refusing one over `max_bytes` or with more than
/// [`BLOCK_MESSAGE_LIMIT`] messages.
pub fn decode_block(data: &[u8], max_bytes: usize) -> Result<BlockMsg, String> {
    if data.len() > max_bytes {
        return Err(format!(
            "block message of {} bytes over the {max_bytes}-byte cap",
            data.len()
        ));
    }
    let block: BlockMsg = venus_types::from_cbor(data).map_err(|e| format!("block: {e}"))?;
    let count = block.bls_messages.len() + block.secpk_messages.len();
    if count > BLOCK_MESSAGE_LIMIT {
        return Err(format!(
            "block with {count} messages (limit {BLOCK_MESSAGE_LIMIT})"
        ));
    }
    Ok(block)
}

/// Decodes a gossiped signed message, refusing one over `max_bytes`.
pub fn decode_message(data: &[u8], max_bytes: usize) -> Result<SignedMessage, String> {
    if data.len() > max_bytes {
        return Err(format!(
            "message of {} bytes over the {max_bytes}-byte cap",
            data.len()
        ));
    }
    venus_types::from_cbor(data).map_err(|e| format!("message: {e}"))
}
