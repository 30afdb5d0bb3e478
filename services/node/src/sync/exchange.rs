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

#[cfg(test)]
mod tests {
    use venus_chain::testkit::Devnet;
    use venus_p2p::xchg::{HEADERS, MESSAGES};

    use super::*;

    /// Genesis + three blocks, the first with two messages.
    fn chain() -> (Devnet, Vec<TipSet>) {
        let net = Devnet::new(7, 2).expect("devnet");
        let mut tipsets = vec![net.cs.heaviest()];
        for i in 0..3u64 {
            let parent = tipsets.last().expect("parent").clone();
            let to = net.accounts[1].address();
            let msgs = if i == 0 {
                vec![net.send(0, to, 0, 10), net.send(0, to, 1, 20)]
            } else {
                Vec::new()
            };
            let block = net
                .produce(&parent, parent.height() + 1, msgs)
                .expect("block");
            net.submit(&block).expect("valid");
            tipsets.push(TipSet::new(vec![block.header]).expect("tipset"));
        }
        (net, tipsets)
    }

    fn request(head: &TipSet, length: u64, options: u64) -> Request {
        Request {
            head: head.cids().to_vec(),
            length,
            options,
        }
    }

    #[test]
    fn serves_headers_and_compacted_messages_back_to_genesis() {
        let (net, tipsets) = chain();
        let top = tipsets.last().expect("head");
        let r = serve(&net.cs, &request(top, 2, HEADERS | MESSAGES));
        assert_eq!(r.status, Status::OK);
        assert_eq!(r.chain.len(), 2);
        assert_eq!(r.chain[0].blocks, top.blocks().to_vec());
        assert_eq!(r.chain[1].blocks, tipsets[2].blocks().to_vec());

        // Asking past genesis: Partial, genesis last; the first block's messages are there.
        let r = serve(&net.cs, &request(top, 900, HEADERS | MESSAGES));
        assert_eq!(r.status, Status::PARTIAL);
        assert_eq!(r.chain.len(), 4);
        let first = r.chain[2].messages.as_ref().expect("messages");
        assert_eq!(first.secpk.len(), 2);
        assert_eq!(first.secpk_includes, vec![vec![0, 1]]);
        let (_, secp) = net
            .cs
            .block_messages(&tipsets[1].blocks()[0])
            .expect("stored");
        assert_eq!(first.expand(1).expect("expand")[0].secpk, secp);

        // Messages only: no headers.
        let r = serve(&net.cs, &request(top, 3, MESSAGES));
        assert!(
            r.chain
                .iter()
                .all(|t| t.blocks.is_empty() && t.messages.is_some())
        );
    }

    #[test]
    fn unknown_heads_and_bad_requests_are_refused() {
        let (net, tipsets) = chain();
        let other = Devnet::new(8, 1).expect("devnet");
        let foreign = other
            .produce(&other.cs.heaviest(), 1, Vec::new())
            .expect("block");
        let r = serve(
            &net.cs,
            &Request {
                head: vec![foreign.header.cid()],
                length: 1,
                options: HEADERS,
            },
        );
        assert_eq!(r.status, Status::NOT_FOUND);
        let r = serve(&net.cs, &request(&tipsets[1], 901, HEADERS));
        assert_eq!(r.status, Status::BAD_REQUEST);
        let r = serve(&net.cs, &request(&tipsets[1], 1, 0));
        assert_eq!(r.status, Status::BAD_REQUEST);
    }
}
