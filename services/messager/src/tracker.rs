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
use crate::store::{Landing, StoreError};

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
            return Ok(());
        }
        let c = self
            .m
            .node_client()
            .await
            .map_err(|e| TrackError::Node(e.message))?;
        if self.seen.is_empty() {
            self.catch_up(&c).await?;
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
            self.catch_up(&c).await?;
            self.remember(head);
            return Ok(());
        };
        let newest_seen = self.seen.keys().next_back().copied().unwrap_or(0);
        if newest_seen > fork.height() {
            let n = self.m.store.revert_above(fork.height()).await?;
            tracing::warn!(
                fork = fork.height(),
                dropped_to = newest_seen,
                messages = n,
                "reorg: messages of the dropped tipsets are in flight again"
            );
            self.seen.retain(|h, _| *h <= fork.height());
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
            self.land(&m.message.from, m.message.nonce, &cids, &landing)
                .await?;
        }
        Ok(())
    }

    async fn land(
        &self,
        from: &Address,
        nonce: u64,
        cids: &[Cid],
        landing: &Landing,
    ) -> Result<(), TrackError> {
        if let Some((id, state)) = self.m.store.land(from, nonce, cids, landing).await? {
            if state == venus_api::messager::MessageState::OnChainMsg {
                self.m.metrics.on_chain.inc();
            } else {
                tracing::error!(%id, address = %from, nonce, "nonce conflict: another message with this nonce landed on chain");
            }
        }
        Ok(())
    }

    /// Every Fill message looked up on chain once (after a start or a long gap).
    async fn catch_up(&self, c: &Client) -> Result<(), TrackError> {
        let fills = self.m.store.all_filled().await?;
        if fills.is_empty() {
            return Ok(());
        }
        tracing::info!(
            messages = fills.len(),
            "looking up in-flight messages on chain"
        );
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
                let landing = Landing {
                    height: lookup.height,
                    tipset: lookup.tipset,
                    receipt: lookup.receipt,
                };
                self.land(&from, row.nonce as u64, &[lookup.message], &landing)
                    .await?;
            }
        }
        Ok(())
    }
}
