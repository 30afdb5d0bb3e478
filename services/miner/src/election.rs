//! One miner's election for one round, as sophon-miner's `mineOne`: base info from the node,
//! the election-proof VRF by the worker key through the gateway and the win count
//! (venus-consensus); for a winner the ticket VRF and the WinningPoSt through the gateway.

use std::time::Instant;

use venus_api::full_node as api;
use venus_api::miner::MinerInfo;
use venus_api::proof::ExtendedSectorInfo;
use venus_consensus::randomness::{
    beacon_base, election_params, ticket_params, winning_post_randomness,
};
use venus_types::{Address, BeaconEntry, ChainEpoch, ElectionProof, PoStProof, Ticket, TipSet};

use crate::gateway::Gateways;
use crate::metrics::{MinerMetrics, Stage};
use crate::recorder::RecordBuilder;
use crate::upstream::Upstream;

/// A failed stage, with a message for `address state` and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError {
    pub stage: Stage,
    pub message: String,
}

impl StageError {
    fn new(stage: Stage, message: impl std::fmt::Display) -> Self {
        Self {
            stage,
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.stage.as_str(), self.message)
    }
}

/// What a winner needs to create its block.
#[derive(Debug, Clone)]
pub struct Won {
    pub miner: MinerInfo,
    pub worker: Address,
    pub ticket: Ticket,
    pub eproof: ElectionProof,
    pub beacon_values: Vec<BeaconEntry>,
    pub winning_post_proof: Vec<PoStProof>,
}

/// The sectors of a base info in the shape `Gateway.ComputeProof` takes.
pub fn proof_sectors(sectors: &[venus_types::ExtendedSectorInfo]) -> Vec<ExtendedSectorInfo> {
    sectors
        .iter()
        .map(|s| ExtendedSectorInfo {
            seal_proof: s.seal_proof,
            sector_number: s.sector_number,
            sector_key: s.sector_key,
            sealed_cid: s.sealed_cid,
        })
        .collect()
}

/// The round every election of one epoch shares.
pub struct Round<'a> {
    pub node: &'a Upstream,
    pub gateways: &'a Gateways,
    pub metrics: &'a MinerMetrics,
    pub base: &'a TipSet,
    pub epoch: ChainEpoch,
    pub network_version: u32,
}

impl Round<'_> {
    /// `Ok(None)`: not eligible or not a winner this round. What happened goes into `rec`
    /// (the mine recorder's fields), also when the election is cut short by a timeout.
    pub async fn elect(
        &self,
        miner: &MinerInfo,
        rec: &mut RecordBuilder,
    ) -> Result<Option<Won>, StageError> {
        let started = Instant::now();
        let result = self.elect_inner(miner, rec).await;
        self.metrics
            .election(&miner.addr.to_string(), started.elapsed());
        result
    }

    async fn elect_inner(
        &self,
        miner: &MinerInfo,
        rec: &mut RecordBuilder,
    ) -> Result<Option<Won>, StageError> {
        let addr = miner.addr;
        let stage = Instant::now();
        let info = self
            .node
            .call(
                api::MINER_GET_BASE_INFO,
                (addr, self.epoch, self.base.key().clone()),
            )
            .await
            .map_err(|e| StageError::new(Stage::BaseInfo, format!("MinerGetBaseInfo: {e}")))?;
        rec.took("getBaseInfo", stage.elapsed());
        let Some(info) = info else {
            rec.set(
                "info",
                "no base info (the miner has no power at the lookback)",
            );
            return Ok(None);
        };
        rec.set("worker", info.worker_key);
        rec.set("minerPower", &info.miner_power.0);
        rec.set("networkPower", &info.network_power.0);
        rec.set("isEligible", info.eligible_for_mining);
        if !info.eligible_for_mining {
            rec.set("info", "not eligible for mining");
            return Ok(None);
        }
        let rbase = beacon_base(&info.beacon_entries, &info.prev_beacon_entry).clone();
        rec.set("beaconEpoch", rbase.round);
        let worker = info.worker_key;

        // The election proof first, the ticket only for a winner (as Lotus): a pool signs one
        // VRF per miner and epoch, not two (sophon-miner signs the ticket first, for everyone).
        let stage = Instant::now();
        let election_in = election_params(&rbase, self.epoch, &addr);
        let eproof = self
            .gateways
            .sign_vrf(worker, &miner.name, &election_in)
            .await
            .map_err(|e| {
                StageError::new(
                    Stage::Election,
                    format!("signing the election proof with {worker}: {e}"),
                )
            })?;
        let wins = venus_consensus::compute_win_count(
            &eproof.data,
            &info.miner_power.0,
            &info.network_power.0,
        );
        rec.took("computeElectionProof", stage.elapsed());
        if wins < 1 {
            rec.set("info", "not to be winner");
            return Ok(None);
        }

        let stage = Instant::now();
        let ticket_in = ticket_params(
            &rbase,
            self.epoch,
            &addr,
            self.base.min_ticket().map(|t| t.vrf_proof.as_slice()),
        );
        let ticket = self
            .gateways
            .sign_vrf(worker, &miner.name, &ticket_in)
            .await
            .map_err(|e| {
                StageError::new(
                    Stage::Ticket,
                    format!("signing the ticket with {worker}: {e}"),
                )
            })?;
        rec.took("computeTicket", stage.elapsed());
        rec.set("winCount", wins);
        self.metrics.won(&addr.to_string());

        let stage = Instant::now();
        let seed = winning_post_randomness(&rbase, self.epoch, &addr);
        rec.took("seed", stage.elapsed());
        let sectors = proof_sectors(&info.sectors);
        let proof_started = Instant::now();
        let winning_post_proof = self
            .gateways
            .compute_proof(addr, sectors, seed, self.epoch, self.network_version)
            .await
            .map_err(|e| StageError::new(Stage::Proof, format!("WinningPoSt: {e}")))?;
        self.metrics.proof(proof_started.elapsed());
        rec.took("computePostProof", proof_started.elapsed());

        Ok(Some(Won {
            miner: miner.clone(),
            worker,
            ticket: Ticket {
                vrf_proof: ticket.data.into(),
            },
            eproof: ElectionProof {
                win_count: wins,
                vrf_proof: eproof.data.into(),
            },
            beacon_values: info.beacon_entries,
            winning_post_proof,
        }))
    }
}
