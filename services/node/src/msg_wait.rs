//! `StateWaitMsg`: every waiter shares one scan per new tipset, and no wait is unbounded.
//!
//! A waiter searches the chain once when it arrives (back to its lookback `limit`), then
//! registers its message CID. One task follows the head for all of them: for each tipset
//! applied it reads the parent's messages once and answers every waiter whose message is
//! there; a reverted tipset takes its answers back. Waiters only compare heights for their
//! confidence. Before, each waiter rescanned the chain from the head on every new block.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use venus_rpc::RpcError;
use venus_types::{ChainEpoch, Cid, MsgLookup, TipSet};

use crate::node::Node;

/// The longest a `StateWaitMsg` call waits (under venus-rpc's 15-minute request deadline,
/// so an HTTP caller gets this error rather than a 503). `VENUS_STATE_WAIT_MSG_TIMEOUT`
/// (seconds) overrides it.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10 * 60);

pub fn max_wait_from_env() -> Duration {
    std::env::var("VENUS_STATE_WAIT_MSG_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_MAX_WAIT, Duration::from_secs)
}

/// What a message's waiters are told: where it was executed, if it is on the chain.
type Found = Option<MsgLookup>;

struct Waiting {
    found: watch::Sender<Found>,
    waiters: usize,
}

/// The waiters of one node.
pub struct MsgWaiters {
    node: Arc<Node>,
    max_wait: Duration,
    waiting: Mutex<HashMap<Cid, Waiting>>,
    follower: OnceLock<()>,
}

impl MsgWaiters {
    pub fn new(node: Arc<Node>, max_wait: Duration) -> Arc<Self> {
        Arc::new(Self {
            node,
            max_wait,
            waiting: Mutex::new(HashMap::new()),
            follower: OnceLock::new(),
        })
    }

    /// Wait until `cid` is executed with `confidence` tipsets on top, searching back at most
    /// `limit` epochs from the head at first (negative: to genesis); an error after the
    /// maximum wait.
    pub async fn wait(
        self: &Arc<Self>,
        cid: Cid,
        confidence: u64,
        limit: ChainEpoch,
    ) -> Result<MsgLookup, RpcError> {
        self.follow();
        // Registered before the first search, so no tipset applied meanwhile is missed.
        let (registration, mut found) = self.register(cid);
        let node = self.node.clone();
        let head = node.head();
        let earlier = tokio::task::spawn_blocking(move || {
            crate::chain_api::search_msg(&node, &head, &cid, limit)
        })
        .await
        .map_err(RpcError::internal)??;
        if let Some(lookup) = earlier {
            registration.found.send_if_modified(|f| {
                let unset = f.is_none();
                if unset {
                    *f = Some(lookup);
                }
                unset
            });
        }
        let confidence = i64::try_from(confidence).unwrap_or(i64::MAX);
        let mut heads = self.node.cs.subscribe();
        let waited = tokio::time::timeout(self.max_wait, async {
            loop {
                let current = found.borrow_and_update().clone();
                if let Some(lookup) = current
                    && self.node.head().height() - lookup.height >= confidence
                {
                    return lookup;
                }
                tokio::select! {
                    _ = found.changed() => {}
                    // Lagged or not, only the head's height matters here.
                    _ = heads.recv() => {}
                }
            }
        })
        .await;
        drop(registration);
        waited.map_err(|_| {
            RpcError::method(format!(
                "message {cid} not found with {confidence} confirmations within {:?}; call again to keep waiting",
                self.max_wait
            ))
        })
    }

    fn register(self: &Arc<Self>, cid: Cid) -> (Registration, watch::Receiver<Found>) {
        let mut waiting = self.waiting.lock();
        let entry = waiting.entry(cid).or_insert_with(|| Waiting {
            found: watch::channel(None).0,
            waiters: 0,
        });
        entry.waiters += 1;
        let rx = entry.found.subscribe();
        let registration = Registration {
            waiters: self.clone(),
            cid,
            found: entry.found.clone(),
        };
        (registration, rx)
    }

    /// Start the task that follows the head for every waiter (once).
    fn follow(self: &Arc<Self>) {
        self.follower.get_or_init(|| {
            let waiters = Arc::downgrade(self);
            tokio::spawn(follow_head(waiters, self.node.head()));
        });
    }

    /// Record what `applied` and `reverted` say about the registered messages: one read of
    /// each applied tipset's parent messages, whatever the number of waiters.
    fn scan(&self, reverted: &[TipSet], applied: &[TipSet]) {
        let wanted: Vec<(Cid, watch::Sender<Found>)> = self
            .waiting
            .lock()
            .iter()
            .map(|(cid, w)| (*cid, w.found.clone()))
            .collect();
        if wanted.is_empty() {
            return;
        }
        for ts in reverted {
            for (_, found) in &wanted {
                found.send_if_modified(|f| {
                    let undone = f.as_ref().is_some_and(|l| &l.tipset == ts.key());
                    if undone {
                        *f = None;
                    }
                    undone
                });
            }
        }
        for ts in applied {
            let lookups = match crate::chain_api::lookups_in(&self.node, ts, |cid| {
                wanted.iter().any(|(w, _)| w == cid)
            }) {
                Ok(lookups) => lookups,
                Err(e) => {
                    tracing::warn!(height = ts.height(), error = %e.message, "StateWaitMsg: could not read a new tipset's messages");
                    continue;
                }
            };
            tracing::debug!(
                height = ts.height(),
                waiting = wanted.len(),
                found = lookups.len(),
                "StateWaitMsg: scanned a new tipset for the waiting messages"
            );
            for lookup in lookups {
                if let Some((_, found)) = wanted.iter().find(|(w, _)| *w == lookup.message) {
                    found.send_replace(Some(lookup));
                }
            }
        }
    }
}

/// A waiter's interest in one CID; the CID is forgotten with its last waiter.
struct Registration {
    waiters: Arc<MsgWaiters>,
    cid: Cid,
    found: watch::Sender<Found>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut waiting = self.waiters.waiting.lock();
        if let Some(w) = waiting.get_mut(&self.cid) {
            w.waiters -= 1;
            if w.waiters == 0 {
                waiting.remove(&self.cid);
            }
        }
    }
}

/// Follow the head while the waiters exist: on every head change (or a lag), the path from
/// the last head seen to the new one, scanned once.
async fn follow_head(waiters: std::sync::Weak<MsgWaiters>, mut last: TipSet) {
    let Some(node) = waiters.upgrade().map(|w| w.node.clone()) else {
        return;
    };
    let mut heads = node.cs.subscribe();
    loop {
        if let Err(tokio::sync::broadcast::error::RecvError::Closed) = heads.recv().await {
            return;
        }
        let Some(w) = waiters.upgrade() else { return };
        let head = node.head();
        if head.key() == last.key() {
            continue;
        }
        let from = last.clone();
        let to = head.clone();
        let scanned = tokio::task::spawn_blocking(move || {
            let (reverted, applied) = w.node.cs.reorg_path(&from, &to)?;
            w.scan(&reverted, &applied);
            Ok::<_, venus_chain::store::ChainError>(())
        })
        .await;
        match scanned {
            Ok(Ok(())) => last = head,
            Ok(Err(e)) => tracing::warn!(error = %e, "StateWaitMsg: could not follow the head"),
            Err(e) => tracing::warn!(error = %e, "StateWaitMsg: the scan failed"),
        }
    }
}
