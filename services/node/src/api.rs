//! FullNode JSON-RPC handlers: each `venus_api::full_node` constant routed to the node.
//! Methods not registered here answer "method not found" (the rpc crate's router does that).

use std::sync::Arc;

use venus_api::full_node::{self as api, API_VERSION_V1, MpoolConfig, VersionInfo};
use venus_rpc::{Ctx, Router, RpcError};
use venus_types::{ChainEpoch, NetworkParams, StoragePower};

use crate::mpool::PoolConfig;
use crate::node::{NODE_VERSION, Node};

pub fn router(node: Arc<Node>) -> Router {
    let mut r = Router::new();
    let n = node.clone();
    r.method(api::VERSION, move |_ctx: Ctx, ()| {
        let block_delay = n.params.block_delay_secs;
        async move {
            Ok(VersionInfo {
                version: NODE_VERSION.into(),
                api_version: API_VERSION_V1,
                block_delay,
            })
        }
    });
    let n = node.clone();
    r.method(api::STATE_NETWORK_NAME, move |_ctx: Ctx, ()| {
        let name = n.network_name.clone();
        async move { Ok(name) }
    });
    let n = node.clone();
    r.method(api::STATE_GET_NETWORK_PARAMS, move |_ctx: Ctx, ()| {
        let out = network_params(&n);
        async move { Ok(out) }
    });
    r.method(
        api::STATE_GET_BEACON_ENTRY,
        move |_ctx: Ctx, (epoch,): (ChainEpoch,)| async move {
            Node::beacon_entry(epoch).map_err(RpcError::method)
        },
    );
    let n = node.clone();
    r.method(api::MPOOL_GET_CONFIG, move |_ctx: Ctx, ()| {
        let cfg = mpool_config(&n.pool_config());
        async move { Ok(cfg) }
    });
    #[cfg(feature = "chain")]
    crate::net_api::register(&mut r, node.clone());
    #[cfg(feature = "chain")]
    crate::chain_api::register(&mut r, node);
    #[cfg(not(feature = "chain"))]
    r.method(api::SYNC_STATE, move |_ctx: Ctx, ()| {
        // No chain in this build: one worker in error (public) or idle (local), never done.
        let (stage, message) = match node.check_ready() {
            Ok(()) => (crate::client_cmds::STAGE_IDLE, String::new()),
            Err(m) if !node.params.is_local => (crate::client_cmds::STAGE_ERROR, m),
            Err(m) => (crate::client_cmds::STAGE_IDLE, m),
        };
        async move {
            Ok(api::SyncState {
                active_syncs: vec![api::ActiveSync {
                    worker_id: 0,
                    base: None,
                    target: None,
                    stage,
                    height: 0,
                    start: String::new(),
                    end: String::new(),
                    message,
                }],
                vm_applied: 0,
            })
        }
    });
    r
}

fn network_params(node: &Node) -> NetworkParams {
    let p = &node.params;
    NetworkParams {
        network_name: node.network_name.clone(),
        block_delay_secs: p.block_delay_secs,
        consensus_miner_min_power: StoragePower::from(p.consensus_miner_min_power),
        supported_proof_types: p.supported_proofs.iter().map(|&s| i64::from(s)).collect(),
        pre_commit_challenge_delay: p.pre_commit_challenge_delay,
        // Empty on the local networks: every upgrade is active at genesis.
        fork_upgrade_params: crate::upgrades::fork_upgrade_params(p.kind),
        eip155_chain_id: i64::try_from(p.eip155_chain_id).unwrap_or(i64::MAX),
    }
}

pub fn mpool_config(c: &PoolConfig) -> MpoolConfig {
    MpoolConfig {
        priority_addrs: c.priority_addrs.iter().map(|a| (*a).into()).collect(),
        size_limit_high: c.size_limit_high as i64,
        size_limit_low: c.size_limit_low as i64,
        replace_by_fee_ratio: c.replace_by_fee_ratio,
        prune_cooldown: i64::try_from(c.prune_cooldown_ns).unwrap_or(i64::MAX),
        gas_limit_overestimation: c.gas_limit_overestimation,
    }
}
