//! The block's `Messages` root (TxMeta / MsgMeta `[BlsMessages, SecpkMessages]`, each an AMT v0
//! of message CIDs) and the receipts root.

use fvm_ipld_amt::Amtv0;
use fvm_ipld_blockstore::{Blockstore, MemoryBlockstore};
use fvm_ipld_encoding::CborStore;
use multihash_codetable::Code;

use crate::wire::wire_struct;
use crate::{Cid, MessageReceipt};

wire_struct! {
    /// CBOR `[BlsMessages, SecpkMessages]`: roots of AMT v0 arrays of CIDs (unsigned CIDs for
    /// BLS messages, signed-message CIDs for secp ones).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct TxMeta {
        "BlsMessages" => pub bls_message_root: Cid,
        "SecpkMessages" => pub secpk_message_root: Cid,
    }
}

/// Building an AMT or writing to the blockstore failed.
#[derive(Debug, thiserror::Error)]
#[error("message root: {0}")]
pub struct MsgRootError(String);

/// Stores an AMT v0 of `values` and returns its root.
pub fn amt_v0_root<BS: Blockstore, V: serde::Serialize + serde::de::DeserializeOwned>(
    store: &BS,
    values: impl IntoIterator<Item = V>,
) -> Result<Cid, MsgRootError> {
    Amtv0::new_from_iter(store, values)
        .map(Cid)
        .map_err(|e| MsgRootError(e.to_string()))
}

/// Builds both AMTs and the TxMeta in `store`; returns the header's `Messages` CID.
pub fn compute_msg_meta<BS: Blockstore>(
    store: &BS,
    bls_cids: &[Cid],
    secpk_cids: &[Cid],
) -> Result<Cid, MsgRootError> {
    let meta = TxMeta {
        bls_message_root: amt_v0_root(store, bls_cids.iter().map(|c| c.0))?,
        secpk_message_root: amt_v0_root(store, secpk_cids.iter().map(|c| c.0))?,
    };
    store
        .put_cbor(&meta, Code::Blake2b256)
        .map(Cid)
        .map_err(|e| MsgRootError(e.to_string()))
}

/// [`compute_msg_meta`] with a throwaway in-memory store (when only the CID is wanted).
pub fn msg_meta_root(bls_cids: &[Cid], secpk_cids: &[Cid]) -> Result<Cid, MsgRootError> {
    compute_msg_meta(&MemoryBlockstore::new(), bls_cids, secpk_cids)
}

/// Stores the receipts AMT v0 (the header's `ParentMessageReceipts`).
pub fn receipts_root<BS: Blockstore>(
    store: &BS,
    receipts: &[MessageReceipt],
) -> Result<Cid, MsgRootError> {
    amt_v0_root(store, receipts.iter().cloned())
}
