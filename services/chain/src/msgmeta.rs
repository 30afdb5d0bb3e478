//! Message roots: the `Messages` field of a header is the CID of `[BlsRoot, SecpRoot]`, each an
//! AMT v0 of message CIDs (unsigned CIDs for BLS, signed CIDs for secp). Receipts are an AMT v0
//! too.

use fvm_ipld_amt::Amtv0;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_shared::receipt::Receipt;
use multihash_codetable::Code;

/// Stores the two message AMTs and the TxMeta pair; returns the TxMeta CID.
pub fn put_msg_meta<BS: Blockstore>(
    store: &BS,
    bls: &[cid::Cid],
    secp: &[cid::Cid],
) -> anyhow::Result<cid::Cid> {
    let bls_root = Amtv0::new_from_iter(store, bls.iter().copied())?;
    let secp_root = Amtv0::new_from_iter(store, secp.iter().copied())?;
    store.put_cbor(&(bls_root, secp_root), Code::Blake2b256)
}

/// Reads a TxMeta back into its (BLS, secp) CID lists.
pub fn read_msg_meta<BS: Blockstore>(
    store: &BS,
    meta: &cid::Cid,
) -> anyhow::Result<(Vec<cid::Cid>, Vec<cid::Cid>)> {
    let (bls_root, secp_root): (cid::Cid, cid::Cid) = store
        .get_cbor(meta)?
        .ok_or_else(|| anyhow::anyhow!("message meta {meta} not found"))?;
    Ok((
        read_cid_amt(store, &bls_root)?,
        read_cid_amt(store, &secp_root)?,
    ))
}

fn read_cid_amt<BS: Blockstore>(store: &BS, root: &cid::Cid) -> anyhow::Result<Vec<cid::Cid>> {
    let amt: Amtv0<cid::Cid, &BS> = Amtv0::load(root, store)?;
    let mut out = Vec::with_capacity(amt.count() as usize);
    amt.for_each(|_, c| {
        out.push(*c);
        Ok(())
    })?;
    Ok(out)
}

/// Stores receipts as an AMT v0; returns its root.
pub fn put_receipts<BS: Blockstore>(store: &BS, receipts: &[Receipt]) -> anyhow::Result<cid::Cid> {
    Ok(Amtv0::new_from_iter(store, receipts.iter().cloned())?)
}

/// Reads the receipts AMT.
pub fn read_receipts<BS: Blockstore>(store: &BS, root: &cid::Cid) -> anyhow::Result<Vec<Receipt>> {
    let amt: Amtv0<Receipt, &BS> = Amtv0::load(root, store)?;
    let mut out = Vec::with_capacity(amt.count() as usize);
    amt.for_each(|_, r| {
        out.push(r.clone());
        Ok(())
    })?;
    Ok(out)
}
