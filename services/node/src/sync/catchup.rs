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
/// in windows of a few hundred too). Also the durability window: one fsync per window.
pub const MESSAGE_WINDOW: u64 = 200;

/// A run of stored, not yet applied headers: the newest tipset's key and how many tipsets
/// (it and its ancestors). A catch-up holds one of these per `MESSAGE_WINDOW` tipsets, so its
/// memory does not grow with the range (≈1 KiB per 200 tipsets).
#[derive(Debug, Clone)]
struct Window {
    top: TipSetKey,
    len: usize,
}

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
    /// The peer does not have the tipset asked for: the peer's fault when it named that
    /// tipset itself (a parent in the headers it served), else (a head heard of, perhaps
    /// through a relay) a local one.
    #[error("{0}")]
    NotFound(String),
}

impl Fault {
    /// A not-found answer for a tipset the peer itself served or named: its fault.
    fn served(self) -> Fault {
        match self {
            Fault::NotFound(e) => Fault::Peer(format!("cannot serve a tipset it named: {e}")),
            other => other,
        }
    }
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

/// Headers from `target` down to (excluding) the first known tipset, stored as they arrive
/// (not yet validated, as Lotus does); returns them as windows, oldest first.
async fn fetch_headers(
    node: &Arc<Node>,
    fetch: &dyn ChainFetch,
    target: &TipSetKey,
) -> Result<Vec<Window>, Fault> {
    let mut windows: Vec<Window> = Vec::new();
    let mut fetched = 0usize;
    let mut cursor = target.clone();
    let mut last_height = None;
    // Nothing above the wall clock's epoch can be valid: this bounds what a peer can make
    // us fetch and store.
    let newest_valid = node.expected_epoch() + 1;
    'fetch: loop {
        let batch = match fetch.fetch(&cursor, MAX_REQUEST_LENGTH, false).await {
            // Past the first request the cursor is a parent the peer served.
            Err(e) if fetched > 0 => return Err(e.served()),
            other => other?,
        };
        if batch.is_empty() {
            return Err(Fault::Peer(format!("no tipsets for {cursor}")));
        }
        let mut headers = Vec::new();
        let mut reached_known = false;
        for f in batch {
            let ts = TipSet::new(f.blocks).map_err(|e| Fault::Peer(format!("bad tipset: {e}")))?;
            if ts.key() != &cursor {
                return Err(Fault::Peer(format!(
                    "asked for {cursor}, got {} at height {}",
                    ts.key(),
                    ts.height()
                )));
            }
            if let Some(child) = last_height
                && ts.height() >= child
            {
                return Err(Fault::Peer(format!(
                    "parent at height {} is not below its child at {child}",
                    ts.height()
                )));
            }
            if ts.height() > newest_valid {
                return Err(Fault::Peer(format!(
                    "tipset at height {} is in the future (the clock is at epoch {})",
                    ts.height(),
                    newest_valid - 1
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
            if fetched == 0 {
                node.sync.set_target(ts.clone());
            }
            fetched += 1;
            last_height = Some(ts.height());
            cursor = ts.parents();
            node.sync.progress(Stage::Headers, ts.height());
            match windows.last_mut() {
                Some(w) if w.len < MESSAGE_WINDOW as usize => w.len += 1,
                _ => windows.push(Window {
                    top: ts.key().clone(),
                    len: 1,
                }),
            }
            headers.extend(ts.blocks().iter().cloned());
            if is_known(node, &cursor) {
                reached_known = true;
                break;
            }
        }
        node.cs
            .put_blocks(&headers)
            .map_err(|e| Fault::Local(format!("cannot store headers: {e}")))?;
        if let Some(h) = last_height {
            tracing::info!(height = h, fetched, "catch-up: headers");
        }
        if reached_known {
            break 'fetch;
        }
    }
    // Cut from the newest end: the oldest window may be short.
    windows.reverse();
    Ok(windows)
}

/// Loads a window's tipsets from the store, oldest first.
fn load_window(node: &Node, w: &Window) -> Result<Vec<TipSet>, Fault> {
    let mut out = Vec::with_capacity(w.len);
    let mut key = w.top.clone();
    for _ in 0..w.len {
        let ts = node
            .cs
            .load_tipset(&key)
            .map_err(|e| Fault::Local(format!("stored headers: {e}")))?;
        key = ts.parents();
        out.push(ts);
    }
    out.reverse();
    Ok(out)
}

/// Fetches messages window by window (oldest first) and applies each tipset.
async fn apply_with_messages(
    node: &Arc<Node>,
    fetch: &dyn ChainFetch,
    windows: &[Window],
) -> Result<usize, Fault> {
    let total: usize = windows.iter().map(|w| w.len).sum();
    let mut applied = 0;
    for w in windows {
        let window = load_window(node, w)?;
        let Some(top) = window.last() else { continue };
        let answer = fetch
            .fetch(top.key(), window.len() as u64, true)
            .await
            .map_err(Fault::served)?;
        if answer.len() != window.len() {
            return Err(Fault::Peer(format!(
                "asked for messages of {} tipsets, got {}",
                window.len(),
                answer.len()
            )));
        }
        // One fsync for the window (see `ChainStore::write_batch`): a crash loses at most
        // the window, and the stored head always has its data. A failure ends the batch too,
        // keeping the tipsets applied before it.
        let batch = node.cs.write_batch();
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
        batch
            .finish()
            .map_err(|e| Fault::Local(format!("cannot make the applied tipsets durable: {e}")))?;
        tracing::info!(height = top.height(), applied, total, "catch-up: applied");
    }
    Ok(applied)
}

/// Validates each block of `ts` with its messages and adds `ts` as served.
pub async fn apply_tipset(node: &Node, ts: &TipSet, msgs: &CompactedMessages) -> Result<(), Fault> {
    let per_block = msgs.expand(ts.blocks().len()).map_err(Fault::Peer)?;
    let blocks: Vec<FullBlock> = ts
        .blocks()
        .iter()
        .zip(per_block)
        .map(|(header, m)| FullBlock {
            header: header.clone(),
            bls_messages: m.bls,
            secp_messages: m.secpk,
        })
        .collect();
    match node.submit_tipset(ts, &blocks).await {
        Ok(_) => Ok(()),
        Err(SubmitError::Invalid(e)) => Err(Fault::Peer(e.to_string())),
        Err(e) => Err(Fault::Local(e.to_string())),
    }
}
