//! The miner's JSON-RPC API (`Filecoin.*` on `/rpc/v0`), with sophon-miner's permissions
//! and user scoping: an admin sees every miner; any other caller only the miners venus-auth
//! binds to its user (`GET /user/miner/exist`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use venus_api::full_node as node_api;
use venus_api::miner::{self as api, BlocksQueryParams, MinerInfo};
use venus_rpc::{Ctx, Permission, Router, RpcError};
use venus_types::{Address, TipSetKey};

use crate::mining::Miner;

pub struct Service {
    pub miner: Arc<Miner>,
    /// Cancelled by `Shutdown`.
    pub shutdown: CancellationToken,
}

fn is_admin(ctx: &Ctx) -> bool {
    ctx.caller().perm.grants(Permission::Admin)
}

impl Service {
    /// Whether the caller may see `miner`.
    async fn may_see(&self, ctx: &Ctx, miner: &Address) -> Result<bool, RpcError> {
        if is_admin(ctx) {
            return Ok(true);
        }
        self.miner
            .miners
            .auth()
            .miner_exists(&ctx.caller().user, &miner.to_string())
            .await
            .map_err(|e| RpcError::method(format!("checking miner {miner} in venus-auth: {e}")))
    }

    async fn visible(&self, ctx: &Ctx, miners: Vec<MinerInfo>) -> Result<Vec<MinerInfo>, RpcError> {
        let mut out = Vec::with_capacity(miners.len());
        for m in miners {
            if self.may_see(ctx, &m.addr).await? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// The caller's view of `addrs` (all visible miners when empty); an address the caller
    /// may not see, or that is not a miner of the pool, is an error naming it.
    async fn select(&self, ctx: &Ctx, addrs: Vec<Address>) -> Result<Vec<MinerInfo>, RpcError> {
        if addrs.is_empty() {
            return self.visible(ctx, self.miner.miners.list()).await;
        }
        let mut out = Vec::with_capacity(addrs.len());
        for a in addrs {
            let Some(info) = self.miner.miners.get(&a) else {
                return Err(RpcError::method(format!(
                    "miner {a} is not a miner of this pool (not bound to any user in venus-auth; try `venus-miner address update`)"
                )));
            };
            if !self.may_see(ctx, &a).await? {
                return Err(RpcError::method(format!(
                    "miner {a} does not belong to user {}",
                    ctx.caller().user
                )));
            }
            out.push(info);
        }
        Ok(out)
    }
}

pub fn router(svc: &Arc<Service>) -> Router {
    let mut r = Router::new();
    r.method(api::VERSION, |_ctx, ()| async {
        Ok(api::Version {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: api::API_VERSION,
        })
    });
    let s = svc.clone();
    r.method(api::SHUTDOWN, move |ctx, ()| {
        let s = s.clone();
        async move {
            tracing::warn!(user = %ctx.caller().user, "shutdown requested through the API");
            // After the answer has gone out: the server stops accepting at once.
            let stop = s.shutdown.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                stop.cancel();
            });
            Ok(())
        }
    });
    let s = svc.clone();
    r.method(api::UPDATE_ADDRESS, move |_ctx, (skip, limit)| {
        let s = s.clone();
        async move {
            s.miner
                .miners
                .refresh(skip, limit)
                .await
                .map_err(RpcError::method)
        }
    });
    let s = svc.clone();
    r.method(api::LIST_ADDRESS, move |ctx, ()| {
        let s = s.clone();
        async move { s.visible(&ctx, s.miner.miners.list()).await }
    });
    let s = svc.clone();
    r.method(api::STATES_FOR_MINING, move |ctx, (addrs,)| {
        let s = s.clone();
        async move {
            let chosen: Vec<Address> = s
                .select(&ctx, addrs)
                .await?
                .into_iter()
                .map(|m| m.addr)
                .collect();
            if chosen.is_empty() {
                return Ok(Vec::new());
            }
            s.miner.miners.states(&chosen).map_err(RpcError::method)
        }
    });
    for (method, open) in [(api::START, true), (api::STOP, false)] {
        let s = svc.clone();
        r.method(method, move |ctx, (addrs,): (Vec<Address>,)| {
            let s = s.clone();
            async move {
                if addrs.is_empty() {
                    return Err(RpcError::method(
                        "name the miners to start or stop (no address given)",
                    ));
                }
                let chosen: Vec<Address> =
                    s.select(&ctx, addrs).await?.into_iter().map(|m| m.addr).collect();
                s.miner
                    .miners
                    .set_open(&chosen, open)
                    .await
                    .map_err(RpcError::method)?;
                tracing::info!(miners = ?chosen.iter().map(ToString::to_string).collect::<Vec<_>>(), open, "mining switched");
                Ok(())
            }
        });
    }
    let s = svc.clone();
    r.method(api::COUNT_WINNERS, move |ctx, (addrs, start, end)| {
        let s = s.clone();
        async move {
            if start > end {
                return Err(RpcError::method(format!(
                    "epoch start {start} is after epoch end {end}"
                )));
            }
            if start < 0 {
                return Err(RpcError::method("epoch start must not be negative"));
            }
            let node = s.miner.nodes.main();
            let head = node
                .call(node_api::CHAIN_HEAD, ())
                .await
                .map_err(|e| RpcError::method(format!("ChainHead: {e}")))?;
            if end > head.height() {
                return Err(RpcError::method(format!(
                    "epoch end {end} is above the chain head {}",
                    head.height()
                )));
            }
            let miners = s.select(&ctx, addrs).await?;
            let mut out = Vec::with_capacity(miners.len());
            for m in &miners {
                out.push(crate::winners::count(node, &s.miner.gateways, m, start, end).await);
            }
            Ok(out)
        }
    });
    let s = svc.clone();
    r.method(
        api::LIST_BLOCKS,
        move |ctx, (params,): (BlocksQueryParams,)| {
            let s = s.clone();
            async move {
                let miners: Vec<Address> = if params.miners.is_empty() && is_admin(&ctx) {
                    Vec::new()
                } else {
                    s.select(&ctx, params.miners.clone())
                        .await?
                        .into_iter()
                        .map(|m| m.addr)
                        .collect()
                };
                if miners.is_empty() && !is_admin(&ctx) {
                    return Ok(Vec::new());
                }
                let q = BlocksQueryParams { miners, ..params };
                s.miner.claims.list(&q).await.map_err(RpcError::method)
            }
        },
    );
    let s = svc.clone();
    r.method(
        api::QUERY_RECORD,
        move |ctx, (params,): (api::QueryRecordParams,)| {
            let s = s.clone();
            async move {
                s.select(&ctx, vec![params.miner]).await?;
                let Some(recorder) = &s.miner.recorder else {
                    return Err(RpcError::method(
                        "the mine recorder is off: set [Recorder] Enable = true in the miner's config",
                    ));
                };
                recorder
                    .query(&params.miner.to_string(), params.epoch, params.limit)
                    .map_err(RpcError::method)
            }
        },
    );
    let s = svc.clone();
    r.method(api::WARMUP_FOR_MINER, move |ctx, (addr,): (Address,)| {
        let s = s.clone();
        async move {
            s.select(&ctx, vec![addr]).await?;
            warmup(&s, addr).await.map_err(RpcError::method)
        }
    });
    r
}

/// A test WinningPoSt through the gateway on the current head (sophon-miner `WarmupForMiner`).
async fn warmup(s: &Service, miner: Address) -> Result<(), String> {
    let node = s.miner.nodes.main();
    let head = node
        .call(node_api::CHAIN_HEAD, ())
        .await
        .map_err(|e| format!("ChainHead: {e}"))?;
    let round = head.height() + 1;
    let info = node
        .call(
            node_api::MINER_GET_BASE_INFO,
            (miner, round, head.key().clone()),
        )
        .await
        .map_err(|e| format!("MinerGetBaseInfo: {e}"))?
        .ok_or_else(|| format!("miner {miner} has no base info (no power?)"))?;
    let nv = node
        .call(node_api::STATE_NETWORK_VERSION, (TipSetKey::default(),))
        .await
        .map_err(|e| format!("StateNetworkVersion: {e}"))?;
    let sectors = crate::election::proof_sectors(&info.sectors);
    let mut rand = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut rand);
    rand[31] &= 0x3f;
    let started = std::time::Instant::now();
    s.miner
        .gateways
        .compute_proof(miner, sectors, rand, round, nv)
        .await
        .map_err(|e| format!("WinningPoSt through the gateway: {e}"))?;
    tracing::info!(%miner, took = ?started.elapsed(), "warmup WinningPoSt done");
    Ok(())
}
