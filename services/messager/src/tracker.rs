//! Following messages to the chain. For each new head the tracker walks back to the last
//! tipset it processed; the tipsets walked are applied (their parents' messages and receipts
//! mark ours OnChain, or NonceConflict when another message took the nonce), and if the
//! walk meets our history at a lower height than we had processed, a reorg dropped the
//! tipsets above it and their messages are put back in flight (Fill).
//!
//! The processed history lives in memory; after a start (or a gap too long to walk) every
//! Fill message is looked up once with StateSearchMsg instead, as the original's
//! UpdateAllFilledMessage.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::{Address, Cid, TipSet, TipSetKey};

use crate::service::Messager;
use crate::store::{Landing, MessageRow, StoreError};

/// How far back a walk goes (the original's tipset cache size).
pub const MAX_WALK: usize = 900;

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("node: {0}")]
    Node(String),
}

fn node_err(e: impl std::fmt::Display) -> TrackError {
    TrackError::Node(e.to_string())
}

pub struct Tracker {
    m: Arc<Messager>,
    /// height → key of the tipsets processed, newest last.
    seen: BTreeMap<i64, TipSetKey>,
}

impl Tracker {
    pub fn new(m: Arc<Messager>) -> Self {
        Self {
            m,
            seen: BTreeMap::new(),
        }
    }

    /// Forget the history (a new term as primary starts from the database).
    pub fn reset(&mut self) {
        self.seen.clear();
    }

    /// Brings the database up to `head`.
    pub async fn process(&mut self, head: &TipSet) -> Result<(), TrackError> {
        if self.seen.get(&head.height()) == Some(head.key()) {
            // A head we processed: the chain went back to it (a node restarted from an
            // older store) if we processed tipsets above it.
            if self.seen.keys().next_back() > Some(&head.height()) {
                let n = self.m.store.revert_above(head.height()).await?;
                tracing::warn!(
                    height = head.height(),
                    messages = n,
                    "the head went back to a tipset processed before: messages above it are in flight again"
                );
                self.seen.retain(|h, _| *h <= head.height());
            }
            return Ok(());
        }
        let c = self
            .m
            .node_client()
            .await
            .map_err(|e| TrackError::Node(e.message))?;
        if self.seen.is_empty() {
            self.catch_up(&c, head).await?;
            self.remember(head);
            return Ok(());
        }
        // Walk back until a tipset we processed.
        let mut walked = vec![head.clone()];
        let fork = loop {
            let Some(cur) = walked.last() else {
                break None;
            };
            if self.seen.get(&cur.height()) == Some(cur.key()) {
                break walked.pop();
            }
            let lowest_seen = self.seen.keys().next().copied().unwrap_or(i64::MAX);
            if walked.len() > MAX_WALK || cur.height() <= lowest_seen || cur.height() == 0 {
                break None;
            }
            let parent = c
                .call(api::CHAIN_GET_TIP_SET, (cur.parents(),))
                .await
                .map_err(node_err)?;
            walked.push(parent);
        };
        let Some(fork) = fork else {
            tracing::warn!(
                height = head.height(),
                "the head is not connected to the tipsets processed: looking every in-flight message up"
            );
            self.seen.clear();
            self.catch_up(&c, head).await?;
            self.remember(head);
            return Ok(());
        };
        let replacing: BTreeMap<i64, TipSetKey> = walked
            .iter()
            .map(|t| (t.height(), t.key().clone()))
            .collect();
        match classify(&self.seen, fork.height(), &replacing) {
            HeadMove::Extends => {}
            HeadMove::Grew => {
                // Same height, more blocks: what landed in the smaller tipset is looked at
                // again in the bigger one (usually nothing: it had no child yet).
                let n = self.m.store.revert_above(fork.height()).await?;
                tracing::debug!(
                    height = fork.height() + 1,
                    messages = n,
                    "the head gained blocks at its height"
                );
                self.seen.retain(|h, _| *h <= fork.height());
            }
            HeadMove::Reorg { dropped_from } => {
                let n = self.m.store.revert_above(fork.height()).await?;
                tracing::warn!(
                    fork = fork.height(),
                    dropped_from,
                    messages = n,
                    "reorg: messages of the dropped tipsets are in flight again"
                );
                self.seen.retain(|h, _| *h <= fork.height());
            }
        }
        // Apply oldest first; each tipset's parent is the one before it in the walk.
        walked.reverse();
        let ours = self.our_addresses().await?;
        let mut parent = fork;
        for ts in walked {
            self.apply(&c, &ts, &parent, &ours).await?;
            self.remember(&ts);
            parent = ts;
        }
        Ok(())
    }

    fn remember(&mut self, ts: &TipSet) {
        self.seen.insert(ts.height(), ts.key().clone());
        while self.seen.len() > MAX_WALK {
            self.seen.pop_first();
        }
    }

    async fn our_addresses(&self) -> Result<HashSet<Address>, TrackError> {
        Ok(self
            .m
            .store
            .addresses()
            .await?
            .into_iter()
            .map(|a| a.addr)
            .collect())
    }

    /// `ts` executed the messages of `parent`: those are the ones that landed.
    async fn apply(
        &self,
        c: &Client,
        ts: &TipSet,
        parent: &TipSet,
        ours: &HashSet<Address>,
    ) -> Result<(), TrackError> {
        let Some(block) = ts.cids().first() else {
            return Ok(());
        };
        let msgs = c
            .call(api::CHAIN_GET_PARENT_MESSAGES, (*block,))
            .await
            .map_err(node_err)?;
        if !msgs.iter().any(|m| ours.contains(&m.message.from)) {
            return Ok(());
        }
        let receipts = c
            .call(api::CHAIN_GET_PARENT_RECEIPTS, (*block,))
            .await
            .map_err(node_err)?;
        if receipts.len() != msgs.len() {
            return Err(TrackError::Node(format!(
                "tipset {}: {} parent messages but {} receipts",
                ts.height(),
                msgs.len(),
                receipts.len()
            )));
        }
        for (m, receipt) in msgs.into_iter().zip(receipts) {
            if !ours.contains(&m.message.from) {
                continue;
            }
            let landing = Landing {
                height: parent.height(),
                tipset: parent.key().clone(),
                receipt,
            };
            let cids = [m.cid, m.message.cid()];
            land(&self.m, &m.message.from, m.message.nonce, &cids, &landing).await?;
        }
        Ok(())
    }

    /// After a start or a gap in tracking (a node that restarted from an older store, a
    /// head not connected to what was processed): the landed records of the last
    /// [`MAX_WALK`] epochs are checked against the chain of `head` — a record in a tipset the
    /// chain no longer has is in flight again — then every Fill message is looked up once.
    async fn catch_up(&self, c: &Client, head: &TipSet) -> Result<(), TrackError> {
        self.recheck_landed(c, head).await?;
        let fills = self.m.store.all_filled().await?;
        if !fills.is_empty() {
            tracing::info!(
                messages = fills.len(),
                "looking up in-flight messages on chain"
            );
            look_up(&self.m, c, &fills).await?;
        }
        Ok(())
    }

    async fn recheck_landed(&self, c: &Client, head: &TipSet) -> Result<(), TrackError> {
        let since = head.height() - MAX_WALK as i64;
        let landed = self.m.store.landed_tipsets_above(since).await?;
        // The rows come by height: one lookup per height.
        let mut canonical: Option<(i64, TipSetKey)> = None;
        for (height, stored_key) in landed {
            let recorded: Option<TipSetKey> = serde_json::from_str(&stored_key).ok();
            let still_there = if height > head.height() {
                false
            } else {
                if canonical.as_ref().map(|(h, _)| *h) != Some(height) {
                    let ts = c
                        .call(
                            api::CHAIN_GET_TIP_SET_BY_HEIGHT,
                            (height, head.key().clone()),
                        )
                        .await
                        .map_err(node_err)?;
                    canonical = Some((height, ts.key().clone()));
                }
                // A null round at `height` answers the tipset below it: a different key.
                canonical.as_ref().map(|(_, k)| k) == recorded.as_ref()
            };
            if !still_there {
                let n = self.m.store.revert_tipset(height, &stored_key).await?;
                tracing::warn!(
                    height,
                    messages = n,
                    "a tipset recorded as holding our messages is not on the chain: they are in flight again"
                );
            }
        }
        Ok(())
    }
}

/// Records one landing; counts it, or reports a nonce conflict.
async fn land(
    m: &Messager,
    from: &Address,
    nonce: u64,
    cids: &[Cid],
    landing: &Landing,
) -> Result<bool, TrackError> {
    let Some((id, state)) = m.store.land(from, nonce, cids, landing).await? else {
        return Ok(false);
    };
    if state == venus_api::messager::MessageState::OnChainMsg {
        m.metrics.on_chain.inc();
    } else {
        tracing::error!(%id, address = %from, nonce, "nonce conflict: another message with this nonce landed on chain");
    }
    Ok(true)
}

/// Looks each message up on chain (StateSearchMsg) and records the ones found (as the
/// original's UpdateFilledMessageByID / UpdateAllFilledMessage); returns how many landed.
pub async fn look_up(m: &Messager, c: &Client, fills: &[MessageRow]) -> Result<usize, TrackError> {
    let mut landed = 0;
    // executing tipset → (height, key) of its parent, where the messages were included
    let mut inclusion: BTreeMap<TipSetKey, (i64, TipSetKey)> = BTreeMap::new();
    for row in fills {
        let Some(cid) = row
            .signed_cid
            .as_deref()
            .and_then(|s| s.parse::<Cid>().ok())
        else {
            continue;
        };
        let found = c
            .call(api::STATE_SEARCH_MSG, (TipSetKey::default(), cid, -1, true))
            .await
            .map_err(node_err)?;
        if let Some(lookup) = found {
            let from = row.from_address()?;
            // The lookup names the tipset that executed the message; the record holds the
            // one that included it (its parent), as `apply` does.
            if !inclusion.contains_key(&lookup.tipset) {
                let executed = c
                    .call(api::CHAIN_GET_TIP_SET, (lookup.tipset.clone(),))
                    .await
                    .map_err(node_err)?;
                let included = c
                    .call(api::CHAIN_GET_TIP_SET, (executed.parents(),))
                    .await
                    .map_err(node_err)?;
                inclusion.insert(
                    lookup.tipset.clone(),
                    (included.height(), included.key().clone()),
                );
            }
            let Some((height, tipset)) = inclusion.get(&lookup.tipset).cloned() else {
                continue;
            };
            let landing = Landing {
                height,
                tipset,
                receipt: lookup.receipt,
            };
            if land(m, &from, row.nonce as u64, &[lookup.message], &landing).await? {
                landed += 1;
            }
        }
    }
    Ok(landed)
}

/// How a new head relates to the tipsets processed above the point where its chain meets
/// them (`fork_height`); `replacing` holds the new chain's tipsets above that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadMove {
    /// Nothing processed above the fork point: the chain only grew taller.
    Extends,
    /// A processed tipset gained blocks at its height (every block of it is in the new
    /// tipset): the chain grew wider, nothing was dropped.
    Grew,
    /// A processed tipset is not on the new chain: a reorg, from this height up.
    Reorg { dropped_from: i64 },
}

pub fn classify(
    seen: &BTreeMap<i64, TipSetKey>,
    fork_height: i64,
    replacing: &BTreeMap<i64, TipSetKey>,
) -> HeadMove {
    let mut grew = false;
    for (height, key) in seen.range(fork_height + 1..) {
        let kept = replacing
            .get(height)
            .is_some_and(|new| key.cids().iter().all(|c| new.cids().contains(c)));
        if !kept {
            return HeadMove::Reorg {
                dropped_from: *height,
            };
        }
        grew = true;
    }
    if grew {
        HeadMove::Grew
    } else {
        HeadMove::Extends
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> Cid {
        venus_types::cbor::cid_of_cbor_bytes(&[n])
    }

    fn key(blocks: &[u8]) -> TipSetKey {
        TipSetKey::new(blocks.iter().map(|b| cid(*b)).collect())
    }

    fn chain(tipsets: &[(i64, &TipSetKey)]) -> BTreeMap<i64, TipSetKey> {
        tipsets.iter().map(|(h, k)| (*h, (*k).clone())).collect()
    }

    #[test]
    fn a_taller_chain_extends() {
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[10]))]);
        let (a, b) = (key(&[11]), key(&[12]));
        let new = chain(&[(11, &a), (12, &b)]);
        assert_eq!(classify(&seen, 10, &new), HeadMove::Extends);
    }

    #[test]
    fn a_second_block_at_the_head_height_is_not_a_reorg() {
        // Head {A} at 10, then {A, B} at 10: the walk meets the history at 9.
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[1]))]);
        let wider = key(&[1, 2]);
        let new = chain(&[(10, &wider)]);
        assert_eq!(classify(&seen, 9, &new), HeadMove::Grew);
        // And growing again, then a child on top.
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[1, 2]))]);
        let (wider, child) = (key(&[1, 2, 3]), key(&[20]));
        let new = chain(&[(10, &wider), (11, &child)]);
        assert_eq!(classify(&seen, 9, &new), HeadMove::Grew);
    }

    #[test]
    fn a_tipset_off_the_new_chain_is_a_reorg() {
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[1])), (11, key(&[5]))]);
        // 10 grew but 11 was replaced by another block.
        let (wider, other) = (key(&[1, 2]), key(&[6]));
        let new = chain(&[(10, &wider), (11, &other)]);
        assert_eq!(
            classify(&seen, 9, &new),
            HeadMove::Reorg { dropped_from: 11 }
        );
        // A different block at the same height (not a superset).
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[1, 2]))]);
        let narrower = key(&[1]);
        let new = chain(&[(10, &narrower)]);
        assert_eq!(
            classify(&seen, 9, &new),
            HeadMove::Reorg { dropped_from: 10 }
        );
        // A head at a lower height than what was processed (a null round on the new chain).
        let seen = BTreeMap::from([(9, key(&[9])), (10, key(&[1])), (11, key(&[5]))]);
        let lower = key(&[7]);
        let new = chain(&[(10, &lower)]);
        assert_eq!(
            classify(&seen, 9, &new),
            HeadMove::Reorg { dropped_from: 10 }
        );
    }
}
