//! Catch-up from one peer: headers fetched backwards in batches from the peer's head until a
//! tipset this node has validated, then the messages of those tipsets in batches, each tipset
//! validated and applied oldest first through the node's usual block path. A peer whose
//! answer is malformed or whose blocks fail validation is the peer's fault (`Fault::Peer`).

use std::sync::Arc;

use venus_chain::validate::{FullBlock, SubmitError};
use venus_p2p::xchg::{BsTipSet, CompactedMessages, MAX_REQUEST_LENGTH};
use venus_types::{TipSet, TipSetKey};

use super::status::Stage;
use crate::node::Node;
/// Tipsets per message request: bounded so one answer stays small (Lotus fetches messages
/// in windows of a few hundred too).
pub const MESSAGE_WINDOW: u64 = 200;
/// The most tipsets one catch-up holds in memory before applying (headers only, ≈1 KiB
/// each): a peer claiming a longer chain is followed in several catch-ups.
pub const MAX_CATCHUP_TIPSETS: usize = 200_000;

/// Fetches tipsets from one peer (the libp2p chain exchange in the daemon).
#[async_trait::async_trait]
pub trait ChainFetch: Send + Sync {
    /// Up to `length` tipsets from `head` back along the parents, head first.
    async fn fetch(
        &self,
        head: &TipSetKey,
        length: u64,
        messages: bool,
    ) -> Result<Vec<BsTipSet>, Fault>;
}

/// Why a catch-up stopped.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The peer answered wrongly or served invalid blocks: score it down.
    #[error("peer: {0}")]
    Peer(String),
    /// The request failed (timeout, disconnect) or the node could not store: retry later.
    #[error("{0}")]
    Local(String),
}

/// Whether this node has validated `key` (genesis included).
pub fn is_known(node: &Node, key: &TipSetKey) -> bool {
    matches!(node.cs.weight(key), Ok(Some(_)))
}

/// Syncs the node to `target` (a peer's head) through `fetch`; returns the tipsets applied.
pub async fn catch_up(
    node: &Arc<Node>,
    fetch: &dyn ChainFetch,
    target: &TipSetKey,
    peer: &str,
) -> Result<usize, Fault> {
    if is_known(node, target) {
        return Ok(0);
    }
    let base = node.head();
    node.sync.start(base.clone(), None, 0, peer);
    tracing::info!(%peer, target = %target, head = base.height(), "catch-up: fetching headers");
    let result = async {
        let chain = fetch_headers(node, fetch, target).await?;
        if let Some(top) = chain.last() {
            node.sync.set_target(top.clone());
        }
        apply_with_messages(node, fetch, &chain).await
    }
    .await;
    match &result {
        Ok(n) => {
            let head = node.head();
            tracing::info!(%peer, applied = n, height = head.height(), head = %head.key(), "catch-up complete");
            node.sync.finish(Ok(()));
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "catch-up failed");
            node.sync.finish(Err(e.to_string()));
        }
    }
    result
}

/// Headers from `target` down to (excluding) the first known tipset, returned oldest first.
async fn fetch_headers(
    node: &Arc<Node>,
    fetch: &dyn ChainFetch,
    target: &TipSetKey,
) -> Result<Vec<TipSet>, Fault> {
    let mut chain: Vec<TipSet> = Vec::new();
    let mut cursor = target.clone();
    'fetch: loop {
        let batch = fetch.fetch(&cursor, MAX_REQUEST_LENGTH, false).await?;
        if batch.is_empty() {
            return Err(Fault::Peer(format!("no tipsets for {cursor}")));
        }
        for f in batch {
            let ts = TipSet::new(f.blocks).map_err(|e| Fault::Peer(format!("bad tipset: {e}")))?;
            if ts.key() != &cursor {
                return Err(Fault::Peer(format!(
                    "asked for {cursor}, got {} at height {}",
                    ts.key(),
                    ts.height()
                )));
            }
            if let Some(child) = chain.last()
                && ts.height() >= child.height()
            {
                return Err(Fault::Peer(format!(
                    "parent at height {} is not below its child at {}",
                    ts.height(),
                    child.height()
                )));
            }
            if ts.height() == 0 {
                // A genesis we do not know: another network's chain.
                return Err(Fault::Peer(format!(
                    "chain descends from genesis {}, ours is {}",
                    ts.key(),
                    node.cs.genesis().cid()
                )));
            }
            cursor = ts.parents();
            node.sync.progress(Stage::Headers, ts.height());
            chain.push(ts);
            if chain.len() > MAX_CATCHUP_TIPSETS {
                // Apply the newest window later; keep memory bounded. (The next hello
                // starts another catch-up from where this one ends.)
                return Err(Fault::Local(format!(
                    "peer chain is more than {MAX_CATCHUP_TIPSETS} tipsets ahead"
                )));
            }
            if is_known(node, &cursor) {
                break 'fetch;
            }
        }
        if let Some(t) = chain.last() {
            tracing::info!(
                height = t.height(),
                fetched = chain.len(),
                "catch-up: headers"
            );
        }
    }
    chain.reverse();
    Ok(chain)
}

/// Fetches messages window by window (oldest first) and applies each tipset.
async fn apply_with_messages(
    node: &Arc<Node>,
    fetch: &dyn ChainFetch,
    chain: &[TipSet],
) -> Result<usize, Fault> {
    let mut applied = 0;
    for window in chain.chunks(MESSAGE_WINDOW as usize) {
        let Some(top) = window.last() else { continue };
        let answer = fetch.fetch(top.key(), window.len() as u64, true).await?;
        if answer.len() != window.len() {
            return Err(Fault::Peer(format!(
                "asked for messages of {} tipsets, got {}",
                window.len(),
                answer.len()
            )));
        }
        // The answer is newest first.
        for (ts, f) in window.iter().zip(answer.iter().rev()) {
            let msgs = f
                .messages
                .as_ref()
                .ok_or_else(|| Fault::Peer(format!("no messages for height {}", ts.height())))?;
            apply_tipset(node, ts, msgs).await?;
            applied += 1;
            node.sync.applied(ts.height());
        }
        tracing::info!(
            height = top.height(),
            applied,
            total = chain.len(),
            "catch-up: applied"
        );
    }
    Ok(applied)
}

/// Validates and adds each block of `ts` with its messages.
pub async fn apply_tipset(node: &Node, ts: &TipSet, msgs: &CompactedMessages) -> Result<(), Fault> {
    let per_block = msgs.expand(ts.blocks().len()).map_err(Fault::Peer)?;
    for (header, m) in ts.blocks().iter().zip(per_block) {
        let block = FullBlock {
            header: header.clone(),
            bls_messages: m.bls,
            secp_messages: m.secpk,
        };
        match node.submit_full(&block).await {
            Ok(_) => {}
            Err(SubmitError::Invalid(e)) => return Err(Fault::Peer(e.to_string())),
            Err(e) => return Err(Fault::Local(e.to_string())),
        }
    }
    Ok(())
}
