//! CAR (v1) export and import of the chain: every header back to genesis, every block's
//! messages and message AMTs, and the state and receipts the head's children build on, so an
//! imported chain can validate and extend the head. Links are found by scanning DAG-CBOR for
//! tag 42, so any block layout is followed. Full state is written for the head (its parent
//! state and its own executed state) and for genesis; older states are not.

use std::collections::HashSet;
use std::io::{Read, Write};

use fvm_ipld_blockstore::Blockstore;
use venus_types::{TipSet, TipSetKey};

use crate::exec::execute_tipset;
use crate::store::ChainStore;

#[derive(Debug, thiserror::Error)]
pub enum CarError {
    #[error("CAR I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed CAR: {0}")]
    Malformed(String),
    #[error("CAR export: {0}")]
    Chain(String),
}

fn malformed(e: impl std::fmt::Display) -> CarError {
    CarError::Malformed(e.to_string())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CarHeader {
    roots: Vec<cid::Cid>,
    version: u64,
}

fn write_varint(w: &mut dyn Write, mut v: u64) -> std::io::Result<()> {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            return w.write_all(&[byte]);
        }
        w.write_all(&[byte | 0x80])?;
    }
}

/// Reads a varint; `None` at a clean end of input.
fn read_varint(r: &mut impl Read) -> Result<Option<u64>, CarError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return if shift == 0 {
                Ok(None)
            } else {
                Err(malformed("truncated varint"))
            };
        }
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(Some(v));
        }
    }
    Err(malformed("varint too long"))
}

/// Exports the chain ending at `head` to `out`; returns the number of blocks written.
pub fn export_chain<BS: Blockstore>(
    cs: &ChainStore<BS>,
    head: &TipSet,
    out: &mut impl Write,
) -> Result<u64, CarError> {
    let chain_err = |e: &dyn std::fmt::Display| CarError::Chain(e.to_string());
    let header = CarHeader {
        roots: head.cids().iter().map(|c| c.0).collect(),
        version: 1,
    };
    let header_bytes = fvm_ipld_encoding::to_vec(&header).map_err(|e| chain_err(&e))?;
    write_varint(out, header_bytes.len() as u64)?;
    out.write_all(&header_bytes)?;

    let mut seen = HashSet::new();
    let mut written = 0u64;
    let mut emit = |cid: cid::Cid, out: &mut dyn Write, walk: bool| -> Result<(), CarError> {
        let mut stack = vec![cid];
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            // Identity CIDs (actor codes) carry their data inline; commitment CIDs (sealed and
            // unsealed sectors) name data that lives outside the chain.
            let on_chain = matches!(
                c.codec(),
                fvm_ipld_encoding::DAG_CBOR | fvm_ipld_encoding::IPLD_RAW
            );
            if c.hash().code() == 0 || !on_chain {
                continue;
            }
            let data = cs
                .blockstore()
                .get(&c)
                .map_err(|e| chain_err(&e))?
                .ok_or_else(|| CarError::Chain(format!("block {c} missing from the store")))?;
            let cid_bytes = c.to_bytes();
            write_varint(out, (cid_bytes.len() + data.len()) as u64)?;
            out.write_all(&cid_bytes)?;
            out.write_all(&data)?;
            written += 1;
            if walk && c.codec() == fvm_ipld_encoding::DAG_CBOR {
                cbor_links(&data, &mut stack).map_err(malformed)?;
            }
        }
        Ok(())
    };

    // The head's executed state (what its children carry), then every tipset to genesis.
    let exec = execute_tipset(cs, head).map_err(|e| chain_err(&e))?;
    emit(exec.state_root.0, out, true)?;
    emit(exec.receipts_root.0, out, true)?;
    let mut ts = head.clone();
    loop {
        for b in ts.blocks() {
            emit(b.cid().0, out, false)?;
            emit(b.messages.0, out, true)?;
            emit(b.parent_message_receipts.0, out, true)?;
            emit(
                b.parent_state_root.0,
                out,
                ts.height() == 0 || ts.key() == head.key(),
            )?;
        }
        if ts.height() == 0 {
            break;
        }
        ts = cs.load_tipset(&ts.parents()).map_err(|e| chain_err(&e))?;
    }
    Ok(written)
}

/// Imports a CAR into `store`, checking each block against its CID; returns the root tipset
/// key (the exported head).
pub fn import_car<BS: Blockstore>(
    store: &BS,
    input: &mut impl Read,
) -> Result<TipSetKey, CarError> {
    let header_len = read_varint(input)?.ok_or_else(|| malformed("empty file"))?;
    if header_len > 1 << 20 {
        return Err(malformed(format!(
            "header length {header_len} is implausible"
        )));
    }
    let mut header_bytes = vec![0u8; header_len as usize];
    input.read_exact(&mut header_bytes)?;
    let header: CarHeader = fvm_ipld_encoding::from_slice(&header_bytes).map_err(malformed)?;
    if header.version != 1 {
        return Err(malformed(format!(
            "CAR version {} (only 1 is supported)",
            header.version
        )));
    }
    let mut batch: Vec<(cid::Cid, Vec<u8>)> = Vec::new();
    while let Some(len) = read_varint(input)? {
        if len > 1 << 30 {
            return Err(malformed(format!("section length {len} is implausible")));
        }
        let mut section = vec![0u8; len as usize];
        input.read_exact(&mut section)?;
        let mut cursor = std::io::Cursor::new(section.as_slice());
        let cid = cid::Cid::read_bytes(&mut cursor).map_err(malformed)?;
        let data = section[cursor.position() as usize..].to_vec();
        let code = multihash_codetable::Code::try_from(cid.hash().code()).map_err(malformed)?;
        let digest = multihash_codetable::MultihashDigest::digest(&code, &data);
        if digest.digest() != cid.hash().digest() {
            return Err(malformed(format!("block {cid} does not match its data")));
        }
        batch.push((cid, data));
        if batch.len() >= 4096 {
            store
                .put_many_keyed(std::mem::take(&mut batch))
                .map_err(malformed)?;
        }
    }
    store.put_many_keyed(batch).map_err(malformed)?;
    Ok(TipSetKey::new(
        header.roots.into_iter().map(venus_types::Cid).collect(),
    ))
}

/// Collects the CIDs (CBOR tag 42) linked from a DAG-CBOR block.
fn cbor_links(data: &[u8], out: &mut Vec<cid::Cid>) -> Result<(), String> {
    let mut pos = 0usize;
    let mut pending = 1usize; // items still to read
    while pending > 0 {
        pending -= 1;
        let (major, arg, next) = cbor_head(data, pos)?;
        pos = next;
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                pos = pos
                    .checked_add(arg as usize)
                    .filter(|p| *p <= data.len())
                    .ok_or("string past the end")?
            }
            4 => pending += arg as usize,
            5 => pending += 2 * arg as usize,
            6 if arg == 42 => {
                let (m, len, start) = cbor_head(data, pos)?;
                if m != 2 {
                    return Err("tag 42 without a byte string".into());
                }
                let end = start
                    .checked_add(len as usize)
                    .filter(|e| *e <= data.len())
                    .ok_or("CID past the end")?;
                let bytes = data.get(start + 1..end).ok_or("empty CID")?; // skip the 0x00 multibase prefix
                out.push(cid::Cid::try_from(bytes).map_err(|e| e.to_string())?);
                pos = end;
            }
            6 => pending += 1,
            _ => return Err(format!("unknown major type {major}")),
        }
        if pending > data.len() {
            return Err("more items than bytes".into());
        }
    }
    Ok(())
}

/// (major type, argument, position after the head).
fn cbor_head(data: &[u8], pos: usize) -> Result<(u8, u64, usize), String> {
    let first = *data.get(pos).ok_or("unexpected end of CBOR")?;
    let (major, info) = (first >> 5, first & 0x1f);
    let extra = match info {
        0..=23 => return Ok((major, u64::from(info), pos + 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return Err(format!("unsupported CBOR additional info {info}")),
    };
    let bytes = data
        .get(pos + 1..pos + 1 + extra)
        .ok_or("unexpected end of CBOR")?;
    let arg = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((major, arg, pos + 1 + extra))
}
