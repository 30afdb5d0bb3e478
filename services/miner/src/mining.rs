//! The epoch loop (sophon-miner `mine`, reference 2.6): settle the base, run every open
//! miner's election (64 at a time, each within `MinerOnceTimeout`), pick distinct message sets for
//! the winners, create and sign their blocks, claim (miner, epoch), then submit to every node.
//!
//! Null rounds come from the clock: on a base with timestamp `T`, the round mined at time
//! `t` is the slot `k ≥ 1` with `T + (k−1)·delay + propagation ≤ t < T + k·delay +
//! propagation`, i.e. epoch `base + k`. A miner that starts late therefore mines the
//! current slot, never a stale one, and a round nobody won simply moves to the next slot.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use venus_api::full_node as api;
use venus_api::miner::MinerInfo;
use venus_types::{BlockMsg, BlockTemplate, ChainEpoch, SignedMessage, TipSet, TipSetKey};

use crate::claims::{Claim, ClaimError, ClaimStore, Claimed, MineState};
use crate::election::{Round, StageError, Won};
use crate::gateway::Gateways;
use crate::metrics::{MinerMetrics, Stage};
use crate::miners::Miners;
use crate::nodes::Nodes;
use crate::recorder::{MineRecorder, RecordBuilder};

/// Elections in flight at once. The work is CPU-bound on the node (base info) and the wallet
/// (VRFs), so more in flight only lengthens each one: with every miner of a large pool in
/// flight, each election waits for all the others and runs into `MinerOnceTimeout`.
const ELECTION_CONCURRENCY: usize = 64;

/// Timings of the loop.
#[derive(Debug, Clone)]
pub struct Timing {
    pub block_delay: Duration,
    pub propagation_delay: Duration,
    pub miner_once_timeout: Duration,
    pub mpool_select_timeout: Option<Duration>,
}

pub struct Miner {
    pub timing: Timing,
    pub nodes: Nodes,
    pub gateways: Gateways,
    pub miners: Arc<Miners>,
    pub claims: ClaimStore,
    pub metrics: MinerMetrics,
    /// `[Recorder] Enable`: the mine recorder.
    pub recorder: Option<MineRecorder>,
    /// Set `ForkSignaling = 1` on the headers this miner signs, as sophon-miner since v1.19
    /// (`DISABLE_FORK_SIGNALING=1` turns it off).
    pub fork_signaling: bool,
}

/// sophon-miner's switch for the `ForkSignaling` bit.
pub const DISABLE_FORK_SIGNALING_ENV: &str = "DISABLE_FORK_SIGNALING";

/// Whether headers get `ForkSignaling = 1`: unless `DISABLE_FORK_SIGNALING` is `1`/`true`.
pub fn fork_signaling_from_env(value: Option<&str>) -> bool {
    !matches!(
        value.map(str::trim),
        Some(v) if v == "1" || v.eq_ignore_ascii_case("true")
    )
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Sleep until a unix time; false if `stop` fired first.
async fn sleep_until_unix(at: Duration, stop: &CancellationToken) -> bool {
    let wait = at.saturating_sub(unix_now());
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        () = stop.cancelled() => false,
    }
}

/// The slot (k ≥ 1) to mine on a base with timestamp `base_ts` at time `now`.
pub fn slot(base_ts: u64, now: Duration, t: &Timing) -> i64 {
    let start = Duration::from_secs(base_ts) + t.propagation_delay;
    let delay = t.block_delay.as_secs_f64().max(0.001);
    if now < start {
        return 1;
    }
    ((now - start).as_secs_f64() / delay).floor() as i64 + 1
}

impl Miner {
    /// Mine until `term` is cancelled (lease lost or shutdown).
    pub async fn run(&self, term: &CancellationToken) {
        let mut last: Option<(TipSetKey, ChainEpoch)> = None;
        while !term.is_cancelled() {
            let (mining, stopped) = self.miners.counts();
            self.metrics.miners(mining, stopped);
            if mining == 0 {
                if !sleep_until_unix(unix_now() + Duration::from_secs(5), term).await {
                    return;
                }
                continue;
            }
            let (node, head) = match self.nodes.best_head().await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "no mining base");
                    if !sleep_until_unix(unix_now() + Duration::from_secs(1), term).await {
                        return;
                    }
                    continue;
                }
            };
            let k = slot(head.min_timestamp(), unix_now(), &self.timing);
            let epoch = head.height() + k;
            let slot_start = Duration::from_secs(head.min_timestamp())
                + self.timing.block_delay * u32::try_from(k - 1).unwrap_or(0)
                + self.timing.propagation_delay;
            if last.as_ref() == Some(&(head.key().clone(), epoch)) {
                // Already mined this slot on this base: wait for the next slot (or a new head).
                let next = slot_start + self.timing.block_delay;
                let until = next.min(unix_now() + Duration::from_millis(500));
                if !sleep_until_unix(until, term).await {
                    return;
                }
                continue;
            }
            // Let the base settle: wait for the slot to open, then mine only if the head is
            // still the same.
            if unix_now() < slot_start {
                if !sleep_until_unix(slot_start, term).await {
                    return;
                }
                continue;
            }
            let settled = Instant::now();
            self.metrics.base_height(head.height());
            for m in self.miners.open() {
                self.metrics.watching(&m.addr.to_string(), head.height());
            }
            if let Err(e) = self
                .nodes
                .get(node)
                .call(api::STATE_GET_BEACON_ENTRY, (epoch,))
                .await
            {
                tracing::warn!(epoch, error = %e, "beacon entry not available yet");
                if !sleep_until_unix(unix_now() + Duration::from_millis(500), term).await {
                    return;
                }
                continue;
            }
            last = Some((head.key().clone(), epoch));
            self.round(node, &head, epoch, settled, term).await;
        }
    }

    /// One round on `base` for `epoch`.
    pub async fn round(
        &self,
        node_index: usize,
        base: &TipSet,
        epoch: ChainEpoch,
        settled: Instant,
        term: &CancellationToken,
    ) {
        let node = self.nodes.get(node_index);
        let miners = self.miners.open();
        let network_version = match node
            .call(api::STATE_NETWORK_VERSION, (base.key().clone(),))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "StateNetworkVersion failed; skipping the round");
                return;
            }
        };
        let round = Round {
            node,
            gateways: &self.gateways,
            metrics: &self.metrics,
            base,
            epoch,
            network_version,
        };
        let once = self.timing.miner_once_timeout;
        let base_delta = unix_now().saturating_sub(Duration::from_secs(base.min_timestamp()));
        // Futures first, then the stream: a closure inside the stream trips rustc's Send
        // check of the spawned loop (rust-lang/rust#102211).
        let elections: Vec<_> = miners
            .iter()
            .map(|m| self.elect_one(&round, m, base_delta, settled))
            .collect();
        let results: Vec<_> = futures::stream::iter(elections)
            .buffer_unordered(ELECTION_CONCURRENCY)
            .collect()
            .await;
        let elections_took = settled.elapsed();
        self.metrics.round_elections(elections_took);
        let mut winners: Vec<Won> = Vec::new();
        let mut records: Vec<(venus_types::Address, RecordBuilder)> = Vec::new();
        for (m, r, mut rec) in results {
            let label = m.addr.to_string();
            match r {
                Ok(Ok(Some(w))) => {
                    self.miners.clear_errors(&m.addr);
                    winners.push(w);
                }
                Ok(Ok(None)) => {
                    self.miners.clear_errors(&m.addr);
                    rec.now("end");
                }
                Ok(Err(e)) => {
                    self.fail(&m.addr, epoch, &e);
                    rec.set("error", &e);
                    rec.now("end");
                }
                Err(_) => {
                    self.metrics.timeout(&label);
                    let msg = format!(
                        "epoch {epoch}: election timed out after {once:?} (MinerOnceTimeout)"
                    );
                    tracing::warn!(miner = %label, "{msg}");
                    rec.set("error", &msg);
                    rec.now("end");
                    self.miners.record_error(&m.addr, msg);
                }
            }
            records.push((m.addr, rec));
        }
        tracing::info!(
            epoch,
            base = base.height(),
            miners = miners.len(),
            winners = winners.len(),
            elections_ms = u64::try_from(elections_took.as_millis()).unwrap_or(u64::MAX),
            "round"
        );
        if !winners.is_empty() && !term.is_cancelled() {
            self.produce_all(
                node_index,
                base,
                epoch,
                winners,
                settled,
                term,
                &mut records,
            )
            .await;
        }
        self.write_records(epoch, records);
    }

    /// Messages for every winner, then each winner's block, concurrently.
    #[allow(clippy::too_many_arguments)]
    async fn produce_all(
        &self,
        node_index: usize,
        base: &TipSet,
        epoch: ChainEpoch,
        winners: Vec<Won>,
        settled: Instant,
        term: &CancellationToken,
        records: &mut [(venus_types::Address, RecordBuilder)],
    ) {
        let node = self.nodes.get(node_index);
        let select_started = Instant::now();
        let qualities: Vec<f64> = winners.iter().map(|w| w.ticket.quality()).collect();
        let select = node.call_timeout(
            api::MPOOL_SELECTS,
            (base.key().clone(), qualities),
            self.timing
                .mpool_select_timeout
                .unwrap_or(Duration::from_secs(60)),
        );
        let mut sets = match select.await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "MpoolSelects failed; mining empty blocks");
                Vec::new()
            }
        };
        let select_took = select_started.elapsed();
        sets.resize(winners.len(), Vec::new());
        let produced = join_all(
            winners
                .into_iter()
                .zip(sets)
                .map(|(w, msgs)| self.produce(node_index, base, epoch, w, msgs, settled, term)),
        )
        .await;
        for (addr, mut rec) in produced {
            rec.took("selectMessage", select_took);
            rec.now("end");
            if let Some((_, r)) = records.iter_mut().find(|(a, _)| *a == addr) {
                r.merge(rec);
            }
        }
    }

    /// The round's records in one write (a failing recorder never stops mining).
    fn write_records(
        &self,
        epoch: ChainEpoch,
        records: Vec<(venus_types::Address, RecordBuilder)>,
    ) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let records: Vec<_> = records
            .into_iter()
            .map(|(a, r)| (a.to_string(), r.into_records()))
            .collect();
        if let Err(e) = recorder.record(epoch, &records) {
            tracing::warn!(epoch, error = %e, "mine recorder");
        }
    }

    /// One miner's election within `MinerOnceTimeout`, with its record so far.
    async fn elect_one<'m>(
        &self,
        round: &Round<'_>,
        m: &'m MinerInfo,
        base_delta: Duration,
        settled: Instant,
    ) -> (
        &'m MinerInfo,
        Result<Result<Option<Won>, StageError>, tokio::time::error::Elapsed>,
        RecordBuilder,
    ) {
        let mut rec = RecordBuilder::default();
        if self.recorder.is_some() {
            let base = round.base;
            rec.now("start");
            rec.set("baseEpoch", base.height());
            rec.set("nullRounds", round.epoch - base.height() - 1);
            rec.took("baseDelta", base_delta);
            rec.set("lateStart", settled.elapsed() > self.timing.block_delay);
        }
        let once = self.timing.miner_once_timeout;
        let r = tokio::time::timeout(once, round.elect(m, &mut rec)).await;
        (m, r, rec)
    }

    fn fail(&self, miner: &venus_types::Address, epoch: ChainEpoch, e: &StageError) {
        let label = miner.to_string();
        self.metrics.error(&label, e.stage);
        tracing::warn!(miner = %label, epoch, stage = e.stage.as_str(), error = %e.message, "mining failed");
        self.miners
            .record_error(miner, format!("epoch {epoch}: {e}"));
    }

    #[allow(clippy::too_many_arguments)]
    async fn produce(
        &self,
        node_index: usize,
        base: &TipSet,
        epoch: ChainEpoch,
        w: Won,
        messages: Vec<SignedMessage>,
        settled: Instant,
        term: &CancellationToken,
    ) -> (venus_types::Address, RecordBuilder) {
        let addr = w.miner.addr;
        let mut rec = RecordBuilder::default();
        match self
            .produce_inner(
                node_index, base, epoch, &w, messages, settled, term, &mut rec,
            )
            .await
        {
            Ok(Some(cid)) => {
                tracing::info!(miner = %addr, epoch, %cid, win_count = w.eproof.win_count, "block mined");
                rec.set("info", format!("block mined: {cid}"));
            }
            Ok(None) => rec.set("info", "stopped before the block was broadcast"),
            Err(e) => {
                self.fail(&addr, epoch, &e);
                rec.set("error", &e);
            }
        }
        (addr, rec)
    }

    #[allow(clippy::too_many_arguments)]
    async fn produce_inner(
        &self,
        node_index: usize,
        base: &TipSet,
        epoch: ChainEpoch,
        w: &Won,
        messages: Vec<SignedMessage>,
        settled: Instant,
        term: &CancellationToken,
        rec: &mut RecordBuilder,
    ) -> Result<Option<venus_types::Cid>, StageError> {
        let node = self.nodes.get(node_index);
        let err = |stage, m: String| StageError { stage, message: m };
        let nulls_and_one = u64::try_from(epoch - base.height()).unwrap_or(1);
        let timestamp = base.min_timestamp() + self.timing.block_delay.as_secs() * nulls_and_one;
        let template = BlockTemplate {
            miner: w.miner.addr,
            parents: base.key().clone(),
            ticket: Some(w.ticket.clone()),
            eproof: Some(w.eproof.clone()),
            beacon_values: w.beacon_values.clone(),
            messages,
            epoch,
            timestamp,
            winning_post_proof: w.winning_post_proof.clone(),
        };
        let started = Instant::now();
        let mut block: BlockMsg = node
            .call(api::MINER_CREATE_BLOCK, (template,))
            .await
            .map_err(|e| err(Stage::Create, format!("MinerCreateBlock: {e}")))?;
        self.metrics.create(started.elapsed());
        rec.took("createBlock", started.elapsed());
        if block.header.block_sig.is_none() {
            // Only a header we sign ourselves: the signature covers the bit.
            if self.fork_signaling {
                block.header.fork_signaling = 1;
            }
            let sig = self
                .gateways
                .sign_block(w.worker, &w.miner.name, block.header.to_cbor())
                .await
                .map_err(|e| {
                    err(
                        Stage::Sign,
                        format!("signing the block with {}: {e}", w.worker),
                    )
                })?;
            block.header.block_sig = Some(sig);
        }
        self.metrics.block_ready(settled.elapsed());
        // Broadcast at the block's time, not before (it would be refused as from the future).
        if !sleep_until_unix(Duration::from_secs(timestamp), term).await {
            return Ok(None);
        }
        if term.is_cancelled() {
            return Ok(None);
        }
        let cid = block.header.cid();
        let claim = Claim {
            miner: w.miner.addr.to_string(),
            epoch,
            parent_epoch: base.height(),
            parent_key: base.key().to_string(),
            cid: cid.to_string(),
        };
        match self.claims.claim(&claim).await {
            Ok(Claimed::New | Claimed::Again) => {}
            Err(e @ ClaimError::AlreadyMined { .. }) => {
                return Err(err(Stage::Submit, e.to_string()));
            }
            Err(e) => return Err(err(Stage::Submit, format!("claiming the slot: {e}"))),
        }
        let (accepted, errors) = self.nodes.submit(&block).await;
        if !accepted {
            let _ = self
                .claims
                .set_state(&claim.miner, epoch, MineState::Error)
                .await;
            return Err(err(
                Stage::Submit,
                format!(
                    "SyncSubmitBlock refused by every node: {}",
                    errors.join("; ")
                ),
            ));
        }
        if !errors.is_empty() {
            tracing::warn!(miner = %claim.miner, epoch, ?errors, "some nodes refused the block");
        }
        self.metrics.submitted(settled.elapsed());
        self.metrics.mined(&claim.miner, epoch);
        if let Err(e) = self
            .claims
            .set_state(&claim.miner, epoch, MineState::Success)
            .await
        {
            tracing::warn!(error = %e, "recording the mined block");
        }
        Ok(Some(cid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(delay: u64, prop: u64) -> Timing {
        Timing {
            block_delay: Duration::from_secs(delay),
            propagation_delay: Duration::from_secs(prop),
            miner_once_timeout: Duration::from_secs(2),
            mpool_select_timeout: None,
        }
    }

    #[test]
    fn fork_signaling_is_on_unless_disabled() {
        assert!(fork_signaling_from_env(None));
        assert!(fork_signaling_from_env(Some("0")));
        assert!(fork_signaling_from_env(Some("")));
        assert!(!fork_signaling_from_env(Some("1")));
        assert!(!fork_signaling_from_env(Some(" true ")));
    }

    #[test]
    fn the_slot_follows_the_clock() {
        let t = timing(4, 1);
        // Before the base settles: the next epoch.
        assert_eq!(slot(100, Duration::from_secs(100), &t), 1);
        assert_eq!(slot(100, Duration::from_secs(101), &t), 1);
        assert_eq!(slot(100, Duration::from_millis(104_900), &t), 1);
        // A slot nobody won: the next one.
        assert_eq!(slot(100, Duration::from_secs(105), &t), 2);
        // A miner starting late mines the current slot.
        assert_eq!(slot(100, Duration::from_secs(141), &t), 11);
    }
}
