//! The `Message.*` method table: each handler checks the caller's scope, then reads or
//! writes the store. Every instance serves all of it (standbys accept pushes and answer).

use std::sync::Arc;
use std::time::Duration;

use venus_api::full_node as node_api;
use venus_api::messager::{
    self as m, AddressSpec, FeeSpec, MessageRecord, MessageState, MsgQueryParams, NodeInfo,
    QuickSendParams, ReplaceMessageParams, SharedSpec,
};
use venus_rpc::{Ctx, Router, RpcError};
use venus_types::{Address, Base64Bytes, Cid, TokenAmount};

use crate::pipeline::{Pipeline, chain_message, replacement_premium};
use crate::service::{Messager, store_err};
use crate::store::{MessageFilter, MessageRow, now_micros};
use crate::tracker;

fn not_found(what: impl std::fmt::Display) -> RpcError {
    RpcError::method(format!("{what} not found"))
}

/// The API over `messager` (and the pipeline, for replace and republish).
pub fn router(messager: Arc<Messager>, pipeline: Arc<Pipeline>) -> Router {
    let mut r = Router::new();
    let s = messager;

    macro_rules! route {
        ($method:expr, |$sv:ident, $ctx:ident, $params:pat_param| $body:expr) => {{
            let st = s.clone();
            r.method($method, move |$ctx: Ctx, $params| {
                let $sv = st.clone();
                async move { $body }
            });
        }};
    }

    route!(m::PUSH_MESSAGE, |s, ctx, (msg, spec)| s
        .push(&ctx, None, msg, spec)
        .await);
    route!(m::PUSH_MESSAGE_WITH_ID, |s, ctx, (id, msg, spec)| s
        .push(&ctx, Some(id), msg, spec)
        .await);
    route!(m::HAS_MESSAGE_BY_UID, |s, _ctx, (id,)| Ok(s
        .store
        .message_by_id(&id)
        .await
        .map_err(store_err)?
        .is_some()));
    route!(m::GET_MESSAGE_BY_UID, |s, ctx, (id,)| {
        let row = s.store.message_by_id(&id).await.map_err(store_err)?;
        visible(&s, &ctx, row, || format!("message {id}")).await
    });
    route!(m::GET_MESSAGE_BY_SIGNED_CID, |s, ctx, (cid,)| {
        let row = s
            .store
            .message_by_signed_cid(&cid)
            .await
            .map_err(store_err)?;
        visible(&s, &ctx, row, || format!("message with signed cid {cid}")).await
    });
    route!(m::GET_MESSAGE_BY_UNSIGNED_CID, |s, ctx, (cid,)| {
        let row = s
            .store
            .message_by_unsigned_cid(&cid)
            .await
            .map_err(store_err)?;
        visible(&s, &ctx, row, || format!("message with unsigned cid {cid}")).await
    });
    route!(m::GET_MESSAGE_BY_FROM_AND_NONCE, |s, ctx, (from, nonce)| {
        let from = s.key_address(&from).await?;
        let row = s
            .store
            .message_by_from_nonce(&from, nonce)
            .await
            .map_err(store_err)?;
        visible(&s, &ctx, row, || {
            format!("message of {from} with nonce {nonce}")
        })
        .await
    });
    route!(m::WAIT_MESSAGE, |s, ctx, (id, confidence)| wait(
        &s, &ctx, &id, confidence
    )
    .await);
    route!(m::LIST_MESSAGE, |s, ctx, (p,)| {
        let p: MsgQueryParams = p.unwrap_or_default();
        let Some(from) = scope(&s, &ctx, p.from).await? else {
            return Ok(Vec::new());
        };
        let f = MessageFilter {
            states: p.state,
            from,
            updated_before: p.by_update_at.map(|t| t.timestamp_micros()),
            asc: p.asc,
            limit: p.limit,
            offset: p.offset,
            ..Default::default()
        };
        list(&s, &f).await
    });
    route!(m::LIST_MESSAGE_BY_FROM_STATE, |s,
                                           _ctx,
                                           (
        from,
        state,
        asc,
        page_index,
        page_size,
        older,
    )| {
        let size = page_size.max(1) as u64;
        let f = MessageFilter {
            states: vec![state],
            from: vec![from],
            created_before: (older > 0).then(|| now_micros() - older / 1000),
            asc,
            limit: size,
            offset: (page_index.max(1) as u64 - 1) * size,
            ..Default::default()
        };
        list(&s, &f).await
    });
    route!(m::LIST_MESSAGE_BY_ADDRESS, |s, _ctx, (addr,)| {
        let f = MessageFilter {
            from: vec![addr],
            ..Default::default()
        };
        list(&s, &f).await
    });
    route!(m::LIST_FAILED_MESSAGE, |s, ctx, ()| {
        let Some(from) = scope(&s, &ctx, Vec::new()).await? else {
            return Ok(Vec::new());
        };
        let f = MessageFilter {
            states: vec![MessageState::UnFillMsg],
            from,
            with_error: true,
            ..Default::default()
        };
        list(&s, &f).await
    });
    route!(m::LIST_BLOCKED_MESSAGE, |s, ctx, (addr, older)| {
        let addr: venus_types::MaybeAddress = addr;
        let Some(from) = scope(&s, &ctx, addr.0.into_iter().collect()).await? else {
            return Ok(Vec::new());
        };
        let f = MessageFilter {
            states: vec![
                MessageState::UnFillMsg,
                MessageState::FillMsg,
                MessageState::NoWalletMsg,
            ],
            from,
            created_before: Some(now_micros() - older.max(0) / 1000),
            asc: true,
            ..Default::default()
        };
        list(&s, &f).await
    });
    route!(m::UPDATE_MESSAGE_STATE_BY_ID, |s, ctx, (id, state)| {
        owned(&s, &ctx, &id).await?;
        if !s.store.set_state(&id, state).await.map_err(store_err)? {
            return Err(not_found(format!("message {id}")));
        }
        Ok(())
    });
    route!(m::UPDATE_FILLED_MESSAGE_BY_ID, |s, ctx, (id,)| {
        let row = owned(&s, &ctx, &id).await?;
        let state = row.state();
        if matches!(
            state,
            MessageState::OnChainMsg | MessageState::NonceConflictMsg
        ) {
            return Err(RpcError::method(format!(
                "message {id} is final ({}): nothing to update",
                state.label()
            )));
        }
        let c = s.node_client().await?;
        let landed = tracker::look_up(&s, &c, std::slice::from_ref(&row))
            .await
            .map_err(|e| RpcError::method(format!("looking message {id} up: {e}")))?;
        if landed == 0 {
            return Err(RpcError::method(format!(
                "message {id} was not found on chain"
            )));
        }
        Ok(id)
    });
    route!(m::UPDATE_ALL_FILLED_MESSAGE, |s, _ctx, ()| {
        let fills = s.store.all_filled().await.map_err(store_err)?;
        let c = s.node_client().await?;
        let landed = tracker::look_up(&s, &c, &fills)
            .await
            .map_err(|e| RpcError::method(format!("looking messages up: {e}")))?;
        Ok(landed as i64)
    });
    route!(m::RECOVER_FAILED_MSG, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        let info = s
            .store
            .address(&addr)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found(format!("address {addr}")))?;
        let c = s.node_client().await?;
        let actor = c
            .call(node_api::STATE_GET_ACTOR, (addr, Pipeline::empty_key()))
            .await
            .map_err(|e| RpcError::method(format!("the actor of {addr}: {e}")))?;
        // The messager is behind the chain: the failed messages' nonces are used already.
        if info.nonce < actor.nonce {
            return Ok(Vec::new());
        }
        s.store
            .recover_failed(&addr, actor.nonce)
            .await
            .map_err(store_err)
    });
    route!(m::MARK_BAD_MESSAGE, |s, ctx, (id,)| {
        owned(&s, &ctx, &id).await?;
        if !s.store.mark_bad(&id).await.map_err(store_err)? {
            return Err(RpcError::method(format!(
                "message {id} is on chain already; it cannot be marked bad"
            )));
        }
        Ok(())
    });
    route!(m::CLEAR_UNFILL_MESSAGE, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        Ok(s.store.clear_unfilled(&addr).await.map_err(store_err)? as i64)
    });

    // ---- replace / republish: they sign and push, so they go through the pipeline.
    {
        let st = s.clone();
        let pl = pipeline.clone();
        r.method(
            m::REPLACE_MESSAGE,
            move |ctx: Ctx, (p,): (ReplaceMessageParams,)| {
                let s = st.clone();
                let pl = pl.clone();
                async move { replace(&s, &pl, &ctx, p).await }
            },
        );
        let st = s.clone();
        let pl = pipeline.clone();
        r.method(m::REPUBLISH_MESSAGE, move |_ctx: Ctx, (id,): (String,)| {
            let s = st.clone();
            let pl = pl.clone();
            async move {
                let row = s
                    .store
                    .message_by_id(&id)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| not_found(format!("message {id}")))?;
                if row.state() != MessageState::FillMsg {
                    return Err(RpcError::method(format!(
                        "message {id} is {}: only a FillMsg can be republished",
                        row.state().name()
                    )));
                }
                let sm = crate::pipeline::signed_of(&row).map_err(RpcError::method)?;
                pl.push(std::slice::from_ref(&sm), false).await;
                Ok(())
            }
        });
    }

    // ---- addresses
    // ---- fee spec per (actor code, method)
    route!(m::SAVE_ACTOR_CFG, |s, _ctx, (cfg,)| {
        if cfg.code == Cid::default() {
            return Err(RpcError::method("the actor config's code cid is undefined"));
        }
        s.store.save_actor_cfg(&cfg).await.map_err(|e| {
            if e.is_unique_violation() {
                RpcError::method(format!(
                    "an actor config for code {} method {} exists already",
                    cfg.code, cfg.method
                ))
            } else {
                store_err(e)
            }
        })?;
        Ok(())
    });
    route!(m::UPDATE_ACTOR_CFG, |s, _ctx, (id, change)| {
        if !s
            .store
            .update_actor_cfg(&id, &change)
            .await
            .map_err(store_err)?
        {
            return Err(not_found(format!("actor config {id}")));
        }
        Ok(())
    });
    route!(m::LIST_ACTOR_CFG, |s, _ctx, ()| s
        .store
        .actor_cfgs()
        .await
        .map_err(store_err));
    route!(m::GET_ACTOR_CFG_BY_ID, |s, _ctx, (id,)| s
        .store
        .actor_cfg(&id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| not_found(format!("actor config {id}"))));

    route!(m::GET_ADDRESS, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        s.store
            .address(&addr)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found(format!("address {addr}")))
    });
    route!(m::HAS_ADDRESS, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        Ok(s.store.address(&addr).await.map_err(store_err)?.is_some())
    });
    route!(m::WALLET_HAS, |s, ctx, (addr,)| {
        if s.access.check_signer(&ctx, &addr).await.is_err() {
            return Ok(false);
        }
        Ok(s.wallets.has(&addr).await)
    });
    route!(m::LIST_ADDRESS, |s, ctx, ()| {
        let all = s.store.addresses().await.map_err(store_err)?;
        Ok(match s.access.visible_signers(&ctx).await? {
            None => all,
            Some(mine) => all.into_iter().filter(|a| mine.contains(&a.addr)).collect(),
        })
    });
    route!(m::UPDATE_NONCE, |s, _ctx, (addr, nonce)| {
        if !s.store.set_nonce(&addr, nonce).await.map_err(store_err)? {
            return Err(not_found(format!("address {addr}")));
        }
        Ok(())
    });
    route!(m::DELETE_ADDRESS, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        if !s.store.delete_address(&addr).await.map_err(store_err)? {
            return Err(not_found(format!("address {addr}")));
        }
        Ok(())
    });
    route!(m::FORBIDDEN_ADDRESS, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        address_state(&s, &addr, m::AddressState::Forbbiden).await
    });
    route!(m::ACTIVE_ADDRESS, |s, ctx, (addr,)| {
        s.access.check_signer(&ctx, &addr).await?;
        address_state(&s, &addr, m::AddressState::Alive).await
    });
    route!(m::SET_SELECT_MSG_NUM, |s, ctx, (addr, num)| {
        s.access.check_signer(&ctx, &addr).await?;
        if !s
            .store
            .set_sel_msg_num(&addr, num)
            .await
            .map_err(store_err)?
        {
            return Err(not_found(format!("address {addr}")));
        }
        Ok(())
    });
    route!(m::SET_FEE_PARAMS, |s, ctx, (p,)| {
        let p: AddressSpec = p;
        s.access.check_signer(&ctx, &p.address).await?;
        let cur = s
            .store
            .address(&p.address)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found(format!("address {}", p.address)))?;
        let fee = FeeSpec {
            gas_over_estimation: if p.gas_over_estimation != 0.0 {
                p.gas_over_estimation
            } else {
                cur.fee.gas_over_estimation
            },
            gas_over_premium: if p.gas_over_premium != 0.0 {
                p.gas_over_premium
            } else {
                cur.fee.gas_over_premium
            },
            max_fee: amount_or(&p.max_fee_str, &cur.fee.max_fee, "maxFeeStr")?,
            gas_fee_cap: amount_or(&p.gas_fee_cap_str, &cur.fee.gas_fee_cap, "gasFeeCapStr")?,
            base_fee: amount_or(&p.base_fee_str, &cur.fee.base_fee, "baseFeeStr")?,
        };
        s.store
            .set_fee_params(&p.address, &fee)
            .await
            .map_err(store_err)?;
        Ok(())
    });

    // ---- shared params
    route!(m::GET_SHARED_PARAMS, |s, _ctx, ()| s
        .store
        .shared_params()
        .await
        .map_err(store_err));
    route!(m::SET_SHARED_PARAMS, |s, _ctx, (p,)| {
        let p: SharedSpec = p;
        if p.fee.gas_over_estimation < 0.0 || p.fee.gas_over_premium < 0.0 {
            return Err(RpcError::method(
                "gasOverEstimation and gasOverPremium must not be negative".to_owned(),
            ));
        }
        s.store.set_shared_params(&p).await.map_err(store_err)
    });

    // ---- nodes
    route!(m::SAVE_NODE, |s, _ctx, (n,)| {
        let n: NodeInfo = n;
        if n.name.trim().is_empty() || n.url.trim().is_empty() {
            return Err(RpcError::method("a node needs a name and a url".to_owned()));
        }
        // Dial it first, as the original.
        let ep = crate::nodes::NodeEndpoint::new(&n.name, &n.url, &n.token);
        if ep.probe(Duration::from_secs(5)).await.is_none() {
            return Err(RpcError::method(format!(
                "node {} at {} does not answer ChainHead",
                n.name, n.url
            )));
        }
        s.store.save_node(&n).await.map_err(store_err)
    });
    route!(m::GET_NODE, |s, _ctx, (name,)| s
        .store
        .node(&name)
        .await
        .map_err(store_err)?
        .ok_or_else(|| not_found(format!("node {name}"))));
    route!(m::HAS_NODE, |s, _ctx, (name,)| Ok(s
        .store
        .node(&name)
        .await
        .map_err(store_err)?
        .is_some()));
    route!(m::LIST_NODE, |s, _ctx, ()| s
        .store
        .nodes()
        .await
        .map_err(store_err));
    route!(m::DELETE_NODE, |s, _ctx, (name,)| {
        if !s.store.delete_node(&name).await.map_err(store_err)? {
            return Err(not_found(format!("node {name}")));
        }
        Ok(())
    });

    route!(m::SEND, |s, ctx, (p,)| send(&s, &ctx, p).await);
    r.method(m::VERSION, |_ctx: Ctx, ()| async {
        Ok(m::Version {
            version: format!("{}+venus-rs", env!("CARGO_PKG_VERSION")),
            api_version: 0x010000,
        })
    });
    r.method(m::LOG_LIST, |_ctx: Ctx, ()| async {
        Ok(vec!["venus_messager".to_owned()])
    });
    r.method(
        m::SET_LOG_LEVEL,
        |_ctx: Ctx, (_sub, _level): (String, String)| async {
            Err::<(), _>(RpcError::method(
                "changing the log level at run time is not supported; restart with RUST_LOG"
                    .to_owned(),
            ))
        },
    );
    r
}

async fn visible(
    s: &Messager,
    ctx: &Ctx,
    row: Option<MessageRow>,
    what: impl FnOnce() -> String,
) -> Result<MessageRecord, RpcError> {
    let row = row.ok_or_else(|| not_found(what()))?;
    let rec = row.to_record().map_err(store_err)?;
    s.access.check_signer(ctx, &rec.from).await?;
    Ok(s.present(rec))
}

/// Checks the caller may act on message `id`.
async fn owned(s: &Messager, ctx: &Ctx, id: &str) -> Result<MessageRow, RpcError> {
    let row = s
        .store
        .message_by_id(id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| not_found(format!("message {id}")))?;
    let from = row.from_address().map_err(store_err)?;
    s.access.check_signer(ctx, &from).await?;
    Ok(row)
}

/// The `from` filter a caller may use: an admin any; others only their own signers.
/// `None`: the caller can see nothing.
async fn scope(
    s: &Messager,
    ctx: &Ctx,
    wanted: Vec<Address>,
) -> Result<Option<Vec<Address>>, RpcError> {
    match s.access.visible_signers(ctx).await? {
        None => Ok(Some(wanted)),
        Some(mine) if wanted.is_empty() => Ok((!mine.is_empty()).then_some(mine)),
        Some(mine) => {
            if let Some(a) = wanted.iter().find(|a| !mine.contains(a)) {
                return Err(RpcError::method(format!(
                    "user {} has no permission for signer {a}",
                    ctx.caller().user
                )));
            }
            Ok(Some(wanted))
        }
    }
}

async fn list(s: &Messager, f: &MessageFilter) -> Result<Vec<MessageRecord>, RpcError> {
    let rows = s.store.list_messages(f).await.map_err(store_err)?;
    rows.iter()
        .map(|r| r.to_record().map(|rec| s.present(rec)).map_err(store_err))
        .collect()
}

async fn address_state(s: &Messager, addr: &Address, st: m::AddressState) -> Result<(), RpcError> {
    if !s
        .store
        .set_address_state(addr, st)
        .await
        .map_err(store_err)?
    {
        return Err(not_found(format!("address {addr}")));
    }
    Ok(())
}

fn amount_or(text: &str, current: &TokenAmount, key: &str) -> Result<TokenAmount, RpcError> {
    if text.trim().is_empty() {
        return Ok(current.clone());
    }
    text.trim()
        .parse::<num_bigint::BigInt>()
        .map(TokenAmount::from_atto)
        .map_err(|e| RpcError::method(format!("{key} {text:?} is not an amount in attoFIL: {e}")))
}

async fn wait(
    s: &Messager,
    ctx: &Ctx,
    id: &str,
    confidence: u64,
) -> Result<MessageRecord, RpcError> {
    let first = owned(s, ctx, id).await?;
    drop(first);
    let poll = (s.block_delay / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        let row = s
            .store
            .message_by_id(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found(format!("message {id}")))?;
        let rec = s.present(row.to_record().map_err(store_err)?);
        match rec.state {
            MessageState::OnChainMsg | MessageState::NonceConflictMsg
                if rec.confidence >= confidence as i64 =>
            {
                return Ok(rec);
            }
            MessageState::FailedMsg => return Ok(rec),
            _ => tokio::time::sleep(poll).await,
        }
    }
}

async fn replace(
    s: &Messager,
    pl: &Pipeline,
    ctx: &Ctx,
    p: ReplaceMessageParams,
) -> Result<Cid, RpcError> {
    let row = owned(s, ctx, &p.id).await?;
    if row.state() != MessageState::FillMsg {
        return Err(RpcError::method(format!(
            "message {} is {}: only a signed message waiting for the chain (FillMsg) can be replaced",
            p.id,
            row.state().name()
        )));
    }
    let mut msg = chain_message(&row).map_err(store_err)?;
    let min_premium = replacement_premium(&msg.gas_premium);
    if p.gas_limit > 0 {
        msg.gas_limit = p.gas_limit;
    }
    if p.auto {
        let c = s.node_client().await?;
        let mut probe = msg.clone();
        probe.gas_fee_cap = TokenAmount::zero();
        probe.gas_premium = TokenAmount::zero();
        let spec = venus_types::MessageSendSpec {
            max_fee: p.max_fee.clone(),
            gas_over_premium: p.gas_over_premium,
            ..Default::default()
        };
        let est = c
            .call(
                node_api::GAS_ESTIMATE_MESSAGE_GAS,
                (probe, Some(spec), venus_types::TipSetKey::default()),
            )
            .await
            .map_err(|e| RpcError::method(format!("estimating the replacement's gas: {e}")))?;
        msg.gas_premium = if est.gas_premium.atto() > min_premium.atto() {
            est.gas_premium
        } else {
            min_premium
        };
        msg.gas_fee_cap = if est.gas_fee_cap.atto() > msg.gas_premium.atto() {
            est.gas_fee_cap
        } else {
            msg.gas_premium.clone()
        };
    } else {
        if p.gas_premium.atto().sign() != num_bigint::Sign::Plus
            || p.gas_feecap.atto().sign() != num_bigint::Sign::Plus
        {
            return Err(RpcError::method(
                "give --gas-premium and --gas-feecap (both above 0), or --auto".to_owned(),
            ));
        }
        if p.gas_feecap.atto() < p.gas_premium.atto() {
            return Err(RpcError::method(format!(
                "gas fee cap {} is below gas premium {}",
                p.gas_feecap.atto(),
                p.gas_premium.atto()
            )));
        }
        if p.gas_premium.atto() < min_premium.atto() {
            return Err(RpcError::method(format!(
                "gas premium {} is below the minimum {} to replace (old premium × 1.25)",
                p.gas_premium.atto(),
                min_premium.atto()
            )));
        }
        msg.gas_premium = p.gas_premium;
        msg.gas_fee_cap = p.gas_feecap;
    }
    let epoch = s.head_height.load(std::sync::atomic::Ordering::Relaxed);
    let sm = pl
        .resign_and_store(&p.id, msg, epoch)
        .await
        .map_err(|e| RpcError::method(format!("replacing {}: {e}", p.id)))?;
    pl.push(std::slice::from_ref(&sm), false).await;
    Ok(sm.cid())
}

async fn send(s: &Messager, ctx: &Ctx, p: QuickSendParams) -> Result<String, RpcError> {
    let params = match p.params_type.as_str() {
        _ if p.params.trim().is_empty() => Vec::new(),
        "hex" => hex::decode(p.params.trim().trim_start_matches("0x"))
            .map_err(|e| RpcError::method(format!("params are not hex: {e}")))?,
        other => {
            return Err(RpcError::method(format!(
                "params of type {other:?} are not supported: encode them and use hex (--params-hex)"
            )));
        }
    };
    let msg = venus_types::Message {
        version: 0,
        to: p.to,
        from: p.from,
        nonce: 0,
        value: p.val,
        gas_limit: p.gas_limit.unwrap_or(0),
        gas_fee_cap: p.gas_fee_cap.unwrap_or_else(TokenAmount::zero),
        gas_premium: p.gas_premium.unwrap_or_else(TokenAmount::zero),
        method: p.method,
        params: Base64Bytes(params),
    };
    s.push(ctx, None, msg, None).await
}
