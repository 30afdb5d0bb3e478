//! The node's answers to peers, from its chain store: hello (its heaviest tipset) and chain
//! exchange (tipsets walked back from a head, with headers and/or messages in Lotus's
//! compacted form).

use venus_chain::store::ChainStore;
use venus_p2p::HelloMessage;
use venus_p2p::xchg::{BlockMessages, BsTipSet, CompactedMessages, Request, Response, Status};
use venus_types::{BigInt, TipSet, TipSetKey};

use crate::node::Node;

/// Our hello: the heaviest tipset, its height and weight, and the genesis.
pub fn hello(node: &Node) -> HelloMessage {
    let head = node.head();
    let weight = node
        .cs
        .weight(head.key())
        .ok()
        .flatten()
        .unwrap_or_else(BigInt::zero);
    HelloMessage {
        heaviest_tipset: head.cids().to_vec(),
        heaviest_tipset_height: head.height(),
        heaviest_tipset_weight: weight,
        genesis_hash: node.cs.genesis().cid(),
    }
}

/// Up to `length` tipsets from `head` back along the parents (head first). Stops early at
/// genesis or at a tipset this node does not have.
pub fn walk_back<BS: fvm_ipld_blockstore::Blockstore>(
    cs: &ChainStore<BS>,
    head: &TipSetKey,
    length: usize,
) -> Vec<TipSet> {
    let mut out = Vec::with_capacity(length.min(1024));
    let mut key = head.clone();
    while out.len() < length && !key.is_empty() {
        let Ok(ts) = cs.load_tipset(&key) else { break };
        let last = ts.height() == 0;
        key = ts.parents();
        out.push(ts);
        if last {
            break;
        }
    }
    out
}

/// A tipset's messages, compacted.
pub fn compact<BS: fvm_ipld_blockstore::Blockstore>(
    cs: &ChainStore<BS>,
    ts: &TipSet,
) -> Result<CompactedMessages, String> {
    let blocks = ts
        .blocks()
        .iter()
        .map(|b| {
            cs.block_messages(b)
                .map(|(bls, secpk)| BlockMessages { bls, secpk })
                .map_err(|e| format!("messages of block {}: {e}", b.cid()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CompactedMessages::compact(&blocks))
}

/// Answers a chain-exchange request from the store (Lotus's server: `NotFound` when the head
/// is unknown, `Partial` when the chain ends before `length`).
pub fn serve<BS: fvm_ipld_blockstore::Blockstore>(cs: &ChainStore<BS>, req: &Request) -> Response {
    if let Err(refused) = req.validate() {
        return refused;
    }
    let head = TipSetKey::new(req.head.clone());
    let length = usize::try_from(req.length).unwrap_or(usize::MAX);
    let tipsets = walk_back(cs, &head, length);
    if tipsets.is_empty() {
        return Response::error(Status::NOT_FOUND, format!("tipset {head} not found"));
    }
    let mut chain = Vec::with_capacity(tipsets.len());
    for ts in tipsets {
        let messages = if req.wants_messages() {
            match compact(cs, &ts) {
                Ok(m) => Some(m),
                // Messages pruned or never stored (a snapshot's old tipsets): what we have.
                Err(e) if !chain.is_empty() => {
                    tracing::debug!(error = %e, "chain exchange: answer cut at missing messages");
                    break;
                }
                Err(e) => return Response::error(Status::INTERNAL_ERROR, e),
            }
        } else {
            None
        };
        let blocks = if req.wants_headers() {
            ts.into_blocks()
        } else {
            Vec::new()
        };
        chain.push(BsTipSet { blocks, messages });
    }
    Response::chain(chain, req.length)
}
