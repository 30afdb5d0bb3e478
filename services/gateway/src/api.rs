//! The JSON-RPC method table: `/rpc/v2` (current API) and `/rpc/v1` (the same, with
//! `WalletHas`/`WalletSign` taking one account first, as sophon-gateway's v1 wrapper, plus
//! venus-shared v1's `IsUnsealed`).

use std::sync::Arc;

use venus_api::gateway as api;
use venus_rpc::{Ctx, Router, RpcError};

use crate::service::{Gateway, Provider};

fn provider(ctx: &Ctx) -> Result<Provider, RpcError> {
    let peer = ctx
        .peer()
        .ok_or_else(|| RpcError::no_channel_support(ctx.method()))?;
    Ok(Provider {
        account: ctx.caller().user.clone(),
        peer_id: peer.id(),
        remote: ctx.remote_addr().or(peer.remote_addr()),
        peer: Some(peer.clone()),
    })
}

fn peer_id(ctx: &Ctx) -> Result<u64, RpcError> {
    ctx.peer().map(venus_rpc::Peer::id).ok_or_else(|| {
        RpcError::method(format!(
            "{} must be called on the WebSocket that registered",
            ctx.method()
        ))
    })
}

/// Methods shared by v1 and v2 (everything but the account-shaped wallet calls).
fn common(gw: &Arc<Gateway>) -> Router {
    let mut r = Router::new();
    let g = gw.clone();
    r.subscription(api::LISTEN_WALLET_EVENT, move |ctx, (policy,)| {
        let g = g.clone();
        async move { g.listen_wallet(provider(&ctx)?, policy).await }
    });
    let g = gw.clone();
    r.method(api::RESPONSE_WALLET_EVENT, move |ctx, (resp,)| {
        let g = g.clone();
        async move {
            let peer = peer_id(&ctx)?;
            g.response_wallet(peer, resp)
        }
    });
    let g = gw.clone();
    r.method(api::SUPPORT_NEW_ACCOUNT, move |ctx, (channel, account)| {
        let g = g.clone();
        async move {
            g.support_new_account(peer_id(&ctx)?, channel, account)
                .await
        }
    });
    let g = gw.clone();
    r.method(api::ADD_NEW_ADDRESS, move |ctx, (channel, addrs)| {
        let g = g.clone();
        async move { g.add_new_address(peer_id(&ctx)?, channel, addrs).await }
    });
    let g = gw.clone();
    r.method(api::REMOVE_ADDRESS, move |ctx, (channel, addrs)| {
        let g = g.clone();
        async move { g.remove_address(peer_id(&ctx)?, channel, addrs) }
    });
    let g = gw.clone();
    r.subscription(api::LISTEN_PROOF_EVENT, move |ctx, (policy,)| {
        let g = g.clone();
        async move { g.listen_proof(provider(&ctx)?, policy.miner_address).await }
    });
    let g = gw.clone();
    r.method(api::RESPONSE_PROOF_EVENT, move |ctx, (resp,)| {
        let g = g.clone();
        async move {
            let peer = peer_id(&ctx)?;
            g.response_proof(peer, resp)
        }
    });
    let g = gw.clone();
    r.subscription(api::LISTEN_MARKET_EVENT, move |ctx, (policy,)| {
        let g = g.clone();
        async move { g.listen_market(provider(&ctx)?, policy.miner).await }
    });
    let g = gw.clone();
    r.method(api::RESPONSE_MARKET_EVENT, move |ctx, (resp,)| {
        let g = g.clone();
        async move {
            let peer = peer_id(&ctx)?;
            g.response_market(peer, resp)
        }
    });
    let g = gw.clone();
    r.method(api::LIST_MARKET_CONNECTIONS_STATE, move |_ctx, ()| {
        let g = g.clone();
        async move { Ok(g.market_states()) }
    });
    // The original's /rpc/v1 serves the v2 form too (its v1 wrapper does not override it).
    let g = gw.clone();
    r.method(
        api::SECTORS_UNSEAL_PIECE,
        move |_ctx, (miner, piece, sid, offset, size, dest)| {
            let g = g.clone();
            async move {
                g.sectors_unseal_piece(miner, piece, sid, offset, size, dest)
                    .await
            }
        },
    );
    r.method(api::VERSION, |_ctx, ()| async {
        Ok(api::Version {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: 0x0002_0000,
        })
    });
    let g = gw.clone();
    r.method(api::LIST_WALLET_INFO, move |_ctx, ()| {
        let g = g.clone();
        async move { Ok(g.wallet_details()) }
    });
    let g = gw.clone();
    r.method(api::LIST_WALLET_INFO_BY_WALLET, move |_ctx, (account,)| {
        let g = g.clone();
        async move { g.wallet_detail(&account) }
    });
    let g = gw.clone();
    r.method(
        api::COMPUTE_PROOF,
        move |_ctx, (miner, sectors, rand, height, nv)| {
            let g = g.clone();
            async move { g.compute_proof(miner, sectors, rand, height, nv).await }
        },
    );
    let g = gw.clone();
    r.method(api::LIST_CONNECTED_MINERS, move |_ctx, ()| {
        let g = g.clone();
        async move { Ok(g.connected_miners()) }
    });
    let g = gw.clone();
    r.method(api::LIST_MINER_CONNECTION, move |_ctx, (miner,)| {
        let g = g.clone();
        async move { Ok(g.miner_state(&miner)) }
    });
    r
}

/// The `/rpc/v2` method table.
pub fn v2(gw: &Arc<Gateway>) -> Router {
    let mut r = common(gw);
    let g = gw.clone();
    r.method(api::WALLET_HAS, move |ctx, (addr, accounts)| {
        let g = g.clone();
        async move { Ok(g.wallet_has(ctx.caller(), &addr, accounts)) }
    });
    let g = gw.clone();
    r.method(
        api::WALLET_SIGN,
        move |ctx, (addr, accounts, to_sign, meta)| {
            let g = g.clone();
            async move {
                g.wallet_sign(ctx.caller(), addr, accounts, to_sign, meta)
                    .await
            }
        },
    );
    r
}

/// The `/rpc/v1` method table.
pub fn v1(gw: &Arc<Gateway>) -> Router {
    let mut r = common(gw);
    let g = gw.clone();
    r.method(api::V1_WALLET_HAS, move |ctx, (account, addr)| {
        let g = g.clone();
        async move { Ok(g.wallet_has(ctx.caller(), &addr, vec![account])) }
    });
    let g = gw.clone();
    r.method(
        api::V1_WALLET_SIGN,
        move |ctx, (account, addr, to_sign, meta)| {
            let g = g.clone();
            async move {
                g.wallet_sign(ctx.caller(), addr, vec![account], to_sign, meta)
                    .await
            }
        },
    );
    let g = gw.clone();
    r.method(
        api::V1_IS_UNSEALED,
        move |_ctx, (miner, piece, sector, offset, size)| {
            let g = g.clone();
            async move { g.is_unsealed(miner, piece, sector, offset, size).await }
        },
    );
    r
}
