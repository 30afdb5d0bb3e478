//! `winner count`: re-runs past elections (winners are not stored): for each height h in
//! [start, end] the election of round h + 1 on the tipset at h, with the election VRF signed
//! through the gateway (so the wallet must be online), at most 100 at once.

use futures::StreamExt;
use venus_api::full_node as api;
use venus_api::miner::{CountWinners, MinerInfo, SimpleWinInfo};
use venus_consensus::randomness::{beacon_base, election_params};
use venus_types::{ChainEpoch, TipSetKey};

use crate::gateway::Gateways;
use crate::upstream::Upstream;

const CONCURRENCY: usize = 100;

async fn one(
    node: &Upstream,
    gateways: &Gateways,
    miner: &MinerInfo,
    height: ChainEpoch,
) -> Result<Option<SimpleWinInfo>, String> {
    let ts = node
        .call(
            api::CHAIN_GET_TIP_SET_BY_HEIGHT,
            (height, TipSetKey::default()),
        )
        .await
        .map_err(|e| format!("ChainGetTipSetByHeight({height}): {e}"))?;
    let round = height + 1;
    let info = node
        .call(
            api::MINER_GET_BASE_INFO,
            (miner.addr, round, ts.key().clone()),
        )
        .await
        .map_err(|e| format!("MinerGetBaseInfo({round}): {e}"))?;
    let Some(info) = info.filter(|i| i.eligible_for_mining) else {
        return Ok(None);
    };
    let rbase = beacon_base(&info.beacon_entries, &info.prev_beacon_entry);
    let params = election_params(rbase, round, &miner.addr);
    let sig = gateways
        .sign_vrf(info.worker_key, &miner.name, &params)
        .await
        .map_err(|e| format!("signing the election proof of {round}: {e}"))?;
    let wins =
        venus_consensus::compute_win_count(&sig.data, &info.miner_power.0, &info.network_power.0);
    Ok((wins > 0).then_some(SimpleWinInfo {
        epoch: round,
        win_count: wins,
        msg: String::new(),
    }))
}

pub async fn count(
    node: &Upstream,
    gateways: &Gateways,
    miner: &MinerInfo,
    start: ChainEpoch,
    end: ChainEpoch,
) -> CountWinners {
    let results: Vec<_> = futures::stream::iter(start..=end)
        .map(|h| one(node, gateways, miner, h))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut out = CountWinners {
        miner: miner.addr,
        total_win_count: 0,
        msg: String::new(),
        win_epoch_list: Vec::new(),
    };
    for r in results {
        match r {
            Ok(Some(w)) => {
                out.total_win_count += w.win_count;
                out.win_epoch_list.push(w);
            }
            Ok(None) => {}
            Err(e) => {
                if out.msg.is_empty() {
                    out.msg = e;
                }
            }
        }
    }
    out
}
