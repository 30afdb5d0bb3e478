//! What the syncer is doing, for `SyncState`, `venus sync status`, `/readyz` and the metrics:
//! the current catch-up (stage, base, target, height reached) and the best head a peer has
//! announced.

use parking_lot::Mutex;
use venus_api::full_node::{ActiveSync, SyncState};
use venus_types::{ChainEpoch, TipSet};

/// Lotus `api.SyncStateStage` numbers (what `SyncState` carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Idle = 0,
    Headers = 1,
    Messages = 3,
    Complete = 4,
    Error = 5,
}

/// The most recent (or running) catch-up.
#[derive(Debug, Clone)]
struct Worker {
    stage: Stage,
    /// Our head when the catch-up started.
    base: Option<TipSet>,
    /// The peer head it syncs to.
    target: Option<TipSet>,
    /// The height reached so far: headers fetched down to (header stage), or tipsets applied
    /// up to (message stage).
    height: ChainEpoch,
    peer: String,
    started: String,
    ended: String,
    error: String,
}

#[derive(Debug, Default)]
struct Inner {
    worker: Option<Worker>,
    /// The highest head any peer announced (hello or gossip), with who announced it.
    best_peer_height: Option<(ChainEpoch, String)>,
    /// Tipsets applied by catch-ups since start (`VMApplied`).
    applied: u64,
}

/// Shared sync progress; cheap to read from the API and health checks.
#[derive(Debug, Default)]
pub struct SyncStatus {
    inner: Mutex<Inner>,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl SyncStatus {
    /// A peer announced a head at `height`.
    pub fn peer_head(&self, height: ChainEpoch, peer: &str) {
        let mut g = self.inner.lock();
        if g.best_peer_height.as_ref().is_none_or(|(h, _)| height > *h) {
            g.best_peer_height = Some((height, peer.to_owned()));
        }
    }

    /// Forgets the head `peer` announced (it served an invalid chain).
    pub fn forget_peer(&self, peer: &str) {
        let mut g = self.inner.lock();
        if g.best_peer_height.as_ref().is_some_and(|(_, p)| p == peer) {
            g.best_peer_height = None;
        }
    }

    pub fn best_peer_height(&self) -> Option<ChainEpoch> {
        self.inner.lock().best_peer_height.as_ref().map(|(h, _)| *h)
    }

    /// The last catch-up's stage (`Idle` before any).
    pub fn stage_number(&self) -> i64 {
        self.inner
            .lock()
            .worker
            .as_ref()
            .map_or(Stage::Idle, |w| w.stage) as i64
    }

    /// Tipsets applied by catch-ups since start.
    pub fn applied_count(&self) -> u64 {
        self.inner.lock().applied
    }

    /// A catch-up from `base` to `target` starts, fetching headers.
    pub fn start(
        &self,
        base: TipSet,
        target: Option<TipSet>,
        target_height: ChainEpoch,
        peer: &str,
    ) {
        let mut g = self.inner.lock();
        g.worker = Some(Worker {
            stage: Stage::Headers,
            base: Some(base),
            target,
            height: target_height,
            peer: peer.to_owned(),
            started: now_rfc3339(),
            ended: String::new(),
            error: String::new(),
        });
    }

    pub fn set_target(&self, target: TipSet) {
        if let Some(w) = self.inner.lock().worker.as_mut() {
            w.target = Some(target);
        }
    }

    pub fn progress(&self, stage: Stage, height: ChainEpoch) {
        if let Some(w) = self.inner.lock().worker.as_mut() {
            w.stage = stage;
            w.height = height;
        }
    }

    pub fn applied(&self, height: ChainEpoch) {
        let mut g = self.inner.lock();
        g.applied += 1;
        if let Some(w) = g.worker.as_mut() {
            w.stage = Stage::Messages;
            w.height = height;
        }
    }

    pub fn finish(&self, result: Result<(), String>) {
        if let Some(w) = self.inner.lock().worker.as_mut() {
            w.ended = now_rfc3339();
            match result {
                Ok(()) => w.stage = Stage::Complete,
                Err(e) => {
                    w.stage = Stage::Error;
                    w.error = e;
                }
            }
        }
    }

    /// A catch-up is fetching or applying.
    pub fn running(&self) -> bool {
        self.inner
            .lock()
            .worker
            .as_ref()
            .is_some_and(|w| matches!(w.stage, Stage::Headers | Stage::Messages))
    }

    /// Why the node is not caught up with its peers, if it is not: a catch-up is running, or
    /// a peer announced a head more than one epoch above ours.
    pub fn behind_peers(&self, head: ChainEpoch) -> Option<String> {
        let g = self.inner.lock();
        if let Some(w) = g.worker.as_ref()
            && matches!(w.stage, Stage::Headers | Stage::Messages)
        {
            return Some(format!(
                "catching up from peer {}: {} at epoch {}, head at {head}",
                w.peer,
                stage_label(w.stage),
                w.height
            ));
        }
        match &g.best_peer_height {
            Some((h, peer)) if *h > head + 1 => Some(format!(
                "head at epoch {head} is behind peer {peer}'s head at epoch {h}"
            )),
            _ => None,
        }
    }

    /// `SyncState`: the catch-up worker, or (none yet) one idle/complete entry at our head.
    /// `fallback` is the stage, message and height used before any catch-up ran.
    pub fn to_api(
        &self,
        head: &TipSet,
        genesis: Option<TipSet>,
        fallback: (i64, String, ChainEpoch),
    ) -> SyncState {
        let g = self.inner.lock();
        let entry = match &g.worker {
            Some(w) => {
                // A finished catch-up reports the head we are at now.
                let (target, height) = match w.stage {
                    Stage::Complete => (Some(head.clone()), head.height()),
                    _ => (w.target.clone(), w.height),
                };
                ActiveSync {
                    worker_id: 1,
                    base: w.base.clone(),
                    target,
                    stage: w.stage as i64,
                    height,
                    start: w.started.clone(),
                    end: w.ended.clone(),
                    message: if w.stage == Stage::Complete {
                        String::new()
                    } else {
                        w.error.clone()
                    },
                }
            }
            None => ActiveSync {
                worker_id: 0,
                base: genesis,
                target: Some(head.clone()),
                stage: fallback.0,
                height: fallback.2,
                start: String::new(),
                end: String::new(),
                message: fallback.1,
            },
        };
        SyncState {
            active_syncs: vec![entry],
            vm_applied: g.applied,
        }
    }
}

fn stage_label(s: Stage) -> &'static str {
    match s {
        Stage::Idle => "idle",
        Stage::Headers => "header sync",
        Stage::Messages => "message sync",
        Stage::Complete => "complete",
        Stage::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_until_caught_up_with_the_best_peer() {
        let s = SyncStatus::default();
        assert_eq!(
            s.behind_peers(10),
            None,
            "no peer yet: nothing to be behind"
        );
        s.peer_head(20, "p1");
        s.peer_head(15, "p2");
        assert_eq!(s.best_peer_height(), Some(20));
        let why = s.behind_peers(10).expect("behind");
        assert!(why.contains("p1") && why.contains("20"), "{why}");
        assert_eq!(s.behind_peers(19), None, "one epoch behind is in step");
    }
}
