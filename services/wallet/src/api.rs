//! The wallet's own `Filecoin.*` API (`/rpc/v0`), used by its CLI and by Lotus-style callers.

use std::sync::Arc;

use venus_api::wallet as api;
use venus_rpc::{Router, RpcError};

use crate::link::GatewayLink;
use crate::wallet::Wallet;

fn err(e: impl std::fmt::Display) -> RpcError {
    RpcError::method(e)
}

pub fn router(wallet: &Arc<Wallet>, links: &[Arc<GatewayLink>]) -> Router {
    let mut r = Router::new();
    let w = wallet.clone();
    r.method(api::WALLET_NEW, move |_ctx, (kt,)| {
        let w = w.clone();
        async move { w.new_key(kt).map_err(err) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_HAS, move |_ctx, (addr,)| {
        let w = w.clone();
        async move { Ok(w.has(&addr)) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_LIST, move |_ctx, ()| {
        let w = w.clone();
        async move { w.list().map_err(err) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_SIGN, move |ctx, (signer, to_sign, meta)| {
        let w = w.clone();
        let caller = ctx.caller().user.clone();
        async move { w.sign_as(&caller, &signer, &to_sign, &meta).map_err(err) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_EXPORT, move |_ctx, (addr,)| {
        let w = w.clone();
        async move { w.export(&addr).map_err(err) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_IMPORT, move |_ctx, (info,)| {
        let w = w.clone();
        async move { w.import(&info).map_err(err) }
    });
    let w = wallet.clone();
    r.method(api::WALLET_DELETE, move |_ctx, (addr,)| {
        let w = w.clone();
        async move { w.delete(&addr).map_err(err) }
    });
    // Password calls run scrypt (about a second at the default cost): off the async threads.
    let w = wallet.clone();
    r.method(api::SET_PASSWORD, move |_ctx, (pw,)| {
        let w = w.clone();
        async move { blocking(move || w.keystore().set_password(&pw)).await }
    });
    let w = wallet.clone();
    r.method(api::UNLOCK, move |_ctx, (pw,)| {
        let w = w.clone();
        async move {
            blocking(move || {
                if w.keystore().has_password() {
                    w.keystore().unlock(&pw)
                } else {
                    w.keystore().set_password(&pw)
                }
            })
            .await
        }
    });
    let w = wallet.clone();
    r.method(api::LOCK, move |_ctx, (pw,)| {
        let w = w.clone();
        async move {
            let w2 = w.clone();
            blocking(move || w2.keystore().verify_password(&pw)).await?;
            w.lock();
            Ok(())
        }
    });
    let w = wallet.clone();
    r.method(api::LOCK_STATE, move |_ctx, ()| {
        let w = w.clone();
        async move { Ok(!w.keystore().is_unlocked()) }
    });
    let w = wallet.clone();
    r.method(api::VERIFY_PASSWORD, move |_ctx, (pw,)| {
        let w = w.clone();
        async move { blocking(move || w.keystore().verify_password(&pw)).await }
    });
    let links = links.to_vec();
    r.method(api::ADD_SUPPORT_ACCOUNT, move |_ctx, (account,)| {
        let links = links.clone();
        async move {
            if links.is_empty() {
                return Err(RpcError::method(
                    "this wallet is not connected to any gateway",
                ));
            }
            for l in &links {
                l.support_account(&account)
                    .await
                    .map_err(|e| RpcError::method(format!("gateway {}: {e}", l.url())))?;
            }
            Ok(())
        }
    });
    r.method(api::VERSION, |_ctx, ()| async {
        Ok(serde_json::json!({ "Version": env!("CARGO_PKG_VERSION") }))
    });
    r
}

async fn blocking<E: std::fmt::Display + Send + 'static>(
    f: impl FnOnce() -> Result<(), E> + Send + 'static,
) -> Result<(), RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(RpcError::internal)?
        .map_err(err)
}
