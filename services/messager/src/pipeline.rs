//! The primary's work per settled head, for each Alive address: nonce sync with the chain →
//! re-price stuck messages → select waiting messages → batch gas estimate → sign through the
//! gateway → persist (one transaction with the address nonce) → push to every node.
//!
//! Nonces are only handed out inside [`Store::fill_batch`], which commits only if the
//! address's nonce is still the one the round started from and this instance is still
//! primary; a message that failed estimation or signing never takes a nonce, and the first
//! signing failure ends the address's round, so the sequence has no holes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use parking_lot::RwLock;
use venus_api::full_node::{self as api, EstimateMessage};
use venus_api::messager::{AddressInfo, AddressState, FeeSpec, MessageState, SharedSpec};
use venus_types::{Address, Cid, MessageSendSpec, SignedMessage, TipSet, TipSetKey, TokenAmount};

use crate::service::Messager;
use crate::store::{FilledMessage, MessageRow, StoreError};
use crate::wallets::SignError;

/// Messages estimated per address per round at most (the original caps at 100).
pub const MAX_SELECT: u64 = 1000;
/// Messages of one address in flight (signed, not on chain) at most, whatever its selMsgNum:
/// the pushes are `MpoolBatchPushUntrusted` (as the original's), and a node takes at most
/// this many pending messages per sender from untrusted pushes (venus's
/// `MaxUntrustedActorPendingMessages`, the node's `mpool::MAX_UNTRUSTED_ACTOR_PENDING`).
pub const MAX_IN_FLIGHT: u64 = 100;
/// Concurrent WalletSign calls per address round.
const SIGN_CONCURRENCY: usize = 16;
/// The block gas limit: an estimate above it can never be included.
const BLOCK_GAS_LIMIT: i64 = 10_000_000_000;
/// Fill messages re-pushed one by one per round, lowest nonces first: only the head of the
/// line decides whether the rest can land.
const REPUSH_PER_ROUND: usize = 20;

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub estimate_timeout: Duration,
    pub default_timeout: Duration,
    pub replace_after_epochs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("node: {0}")]
    Node(String),
}

pub struct Pipeline {
    m: Arc<Messager>,
    opts: PipelineOptions,
    /// The ActorCfg rows by (actor code, method), read at the start of each round.
    actor_cfgs: RwLock<HashMap<(Cid, u64), FeeSpec>>,
    /// Actor code of each `to` address met this round (only read when ActorCfgs exist).
    actor_codes: RwLock<HashMap<Address, Option<Cid>>>,
}

/// The first non-zero of the values, in precedence order.
fn first_positive(values: &[f64]) -> f64 {
    values.iter().copied().find(|v| *v > 0.0).unwrap_or(0.0)
}

fn first_amount(values: &[&TokenAmount]) -> TokenAmount {
    values
        .iter()
        .find(|v| v.atto().sign() == num_bigint::Sign::Plus)
        .map(|v| (*v).clone())
        .unwrap_or_else(TokenAmount::zero)
}

/// The fee spec of one message: its own SendSpec > the address's > its (actor code,
/// method)'s ActorCfg > the global one.
fn send_spec(
    row: &MessageRow,
    addr: &AddressInfo,
    actor: &FeeSpec,
    shared: &SharedSpec,
) -> MessageSendSpec {
    let own_max = row
        .meta_max_fee
        .parse::<num_bigint::BigInt>()
        .map(TokenAmount::from_atto)
        .unwrap_or_else(|_| TokenAmount::zero());
    MessageSendSpec {
        max_fee: first_amount(&[
            &own_max,
            &addr.fee.max_fee,
            &actor.max_fee,
            &shared.fee.max_fee,
        ]),
        gas_over_estimation: first_positive(&[
            row.meta_gas_over_estimation,
            addr.fee.gas_over_estimation,
            actor.gas_over_estimation,
            shared.fee.gas_over_estimation,
        ]),
        gas_over_premium: first_positive(&[
            row.meta_gas_over_premium,
            addr.fee.gas_over_premium,
            actor.gas_over_premium,
            shared.fee.gas_over_premium,
        ]),
        msg_uuid: None,
        maximize_fee_cap: false,
    }
}

/// The minimum premium that replaces `old` (×1.25, plus one).
pub fn replacement_premium(old: &TokenAmount) -> TokenAmount {
    TokenAmount::from_atto(old.atto() * 125u32 / 100u32 + 1u32)
}

impl Pipeline {
    pub fn new(m: Arc<Messager>, opts: PipelineOptions) -> Self {
        Self {
            m,
            opts,
            actor_cfgs: RwLock::new(HashMap::new()),
            actor_codes: RwLock::new(HashMap::new()),
        }
    }

    pub fn messager(&self) -> &Messager {
        &self.m
    }

    /// One round over every Alive address on `head`, while `still_primary` holds. A round
    /// for newly accepted messages (`new_only`, between head changes) only selects, signs
    /// and pushes: stuck messages and re-pushes wait for the next head.
    pub async fn round(
        &self,
        head: &TipSet,
        new_only: bool,
        still_primary: &(dyn Fn() -> bool + Sync),
    ) {
        let addresses = match self.m.store.addresses().await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "listing addresses");
                return;
            }
        };
        let shared = match self.m.store.shared_params().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "reading shared params");
                return;
            }
        };
        match self.m.store.actor_cfgs().await {
            Ok(cfgs) => {
                *self.actor_cfgs.write() = cfgs
                    .into_iter()
                    .map(|c| ((c.code, c.method), c.fee))
                    .collect();
                self.actor_codes.write().clear();
            }
            Err(e) => tracing::warn!(error = %e, "reading the actor configs"),
        }
        let in_head = match self.nonces_in_tipset(head).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "messages of the head");
                HashMap::new()
            }
        };
        let rounds = addresses
            .into_iter()
            .filter(|a| a.state == AddressState::Alive)
            .map(|a| {
                let in_head = in_head.get(&a.addr).copied();
                let shared = &shared;
                async move {
                    let addr = a.addr;
                    if let Err(e) = self
                        .address_round(head, a, shared, in_head, new_only, still_primary)
                        .await
                    {
                        tracing::warn!(address = %addr, error = %e, "selection round failed");
                    }
                }
            });
        futures::stream::iter(rounds)
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
    }

    /// For each sender: the next nonce after its messages included in `head` itself (the
    /// state at `head` does not reflect them yet).
    async fn nonces_in_tipset(&self, head: &TipSet) -> Result<HashMap<Address, u64>, RoundError> {
        let c = self
            .m
            .node_client()
            .await
            .map_err(|e| RoundError::Node(e.message))?;
        let msgs = c
            .call_timeout(
                api::CHAIN_GET_MESSAGES_IN_TIPSET,
                (head.key().clone(),),
                self.opts.estimate_timeout,
            )
            .await
            .map_err(|e| RoundError::Node(e.to_string()))?;
        let mut out: HashMap<Address, u64> = HashMap::new();
        for m in msgs {
            let e = out.entry(m.message.from).or_insert(0);
            *e = (*e).max(m.message.nonce + 1);
        }
        Ok(out)
    }

    async fn address_round(
        &self,
        head: &TipSet,
        addr: AddressInfo,
        shared: &SharedSpec,
        in_head: Option<u64>,
        new_only: bool,
        still_primary: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), RoundError> {
        let from = addr.addr;
        let c = self
            .m
            .node_client()
            .await
            .map_err(|e| RoundError::Node(e.message))?;
        let actor = c
            .call_timeout(
                api::STATE_GET_ACTOR,
                (from, head.key().clone()),
                self.opts.default_timeout.max(Duration::from_secs(5)),
            )
            .await
            .map_err(|e| RoundError::Node(format!("StateGetActor {from}: {e}")))?;
        let chain_nonce = actor.nonce.max(in_head.unwrap_or(0));
        if self.m.store.raise_nonce(&from, chain_nonce).await? {
            tracing::warn!(address = %from, chain_nonce, "the chain is ahead of our nonce: messages were sent outside the messager");
        }
        let Some(addr) = self.m.store.address(&from).await? else {
            return Ok(());
        };
        // In flight: signed, not yet on chain.
        let fills: Vec<MessageRow> = self
            .m
            .store
            .messages_in_state(&from, MessageState::FillMsg)
            .await?
            .into_iter()
            .filter(|r| r.nonce as u64 >= chain_nonce)
            .collect();
        if self.opts.replace_after_epochs > 0 && !new_only {
            self.replace_stuck(head, &addr, shared, &fills, still_primary)
                .await;
        }
        // Re-push the head of the line first (a node may have dropped or never got it): the
        // node takes untrusted pushes without a nonce gap, so the older ones go before the
        // new batch.
        let repush: Vec<SignedMessage> = fills
            .iter()
            .take(REPUSH_PER_ROUND)
            .filter_map(|r| signed_of(r).ok())
            .collect();
        if !repush.is_empty() && !new_only && still_primary() {
            let t = Instant::now();
            self.push(&repush, false).await;
            self.m.metrics.observe_phase("repush", t.elapsed());
        }
        let gap = addr.nonce.saturating_sub(chain_nonce);
        let configured = if addr.sel_msg_num > 0 {
            addr.sel_msg_num
        } else {
            shared.sel_msg_num
        };
        let sel = configured.min(MAX_IN_FLIGHT);
        if gap < sel && still_primary() {
            if configured > sel {
                tracing::debug!(address = %from, sel_msg_num = configured, in_flight_cap = MAX_IN_FLIGHT, "selMsgNum above what a node takes untrusted: capped");
            }
            let pushed = self
                .fill_new(
                    head,
                    &addr,
                    shared,
                    (sel - gap).min(MAX_SELECT),
                    still_primary,
                )
                .await?;
            if !pushed.is_empty() {
                let t = Instant::now();
                self.push(&pushed, true).await;
                self.m.metrics.observe_phase("push", t.elapsed());
                tracing::debug!(address = %from, count = pushed.len(), push_ms = t.elapsed().as_millis() as u64, "pushed");
            }
        } else if gap >= sel {
            tracing::debug!(address = %from, gap, sel, "selMsgNum messages in flight: only re-pushing");
        }
        Ok(())
    }

    /// Select, estimate, sign and persist new messages of `addr`; returns the signed ones.
    async fn fill_new(
        &self,
        head: &TipSet,
        addr: &AddressInfo,
        shared: &SharedSpec,
        wanted: u64,
        still_primary: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<SignedMessage>, RoundError> {
        let from = addr.addr;
        let t_select = Instant::now();
        let mut waiting = self.m.store.waiting_messages(&from, wanted).await?;
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        self.m.metrics.observe_phase("select", t_select.elapsed());
        if !self.m.wallets.has(&from).await {
            let n = self.m.store.set_wallet_wait(&from, true).await?;
            if n > 0 {
                tracing::warn!(address = %from, messages = n, "no wallet online for the address: messages wait (NoWallet)");
            }
            return Ok(Vec::new());
        }
        // Picked newest first; nonces are handed out oldest first within the pick.
        waiting.reverse();
        let c = self
            .m
            .node_client()
            .await
            .map_err(|e| RoundError::Node(e.message))?;
        let t_estimate = Instant::now();
        let parent_base_fee = head.blocks().first().map(|b| b.parent_base_fee.clone());
        let mut estimates = Vec::with_capacity(waiting.len());
        let mut kept = Vec::with_capacity(waiting.len());
        let mut held_by_base_fee = 0usize;
        for row in waiting {
            let mut msg = chain_message(&row)?;
            let actor = self.actor_fee(&c, head, &msg).await;
            // A message waits while the base fee is above its cap (address > actor > global).
            let base_fee_cap =
                first_amount(&[&addr.fee.base_fee, &actor.base_fee, &shared.fee.base_fee]);
            if base_fee_cap.atto().sign() == num_bigint::Sign::Plus
                && parent_base_fee
                    .as_ref()
                    .is_some_and(|b| b.atto() > base_fee_cap.atto())
            {
                held_by_base_fee += 1;
                continue;
            }
            if msg.gas_fee_cap.atto().sign() != num_bigint::Sign::Plus {
                msg.gas_fee_cap = first_amount(&[
                    &addr.fee.gas_fee_cap,
                    &actor.gas_fee_cap,
                    &shared.fee.gas_fee_cap,
                ]);
            }
            estimates.push(EstimateMessage {
                msg,
                spec: Some(send_spec(&row, addr, &actor, shared)),
            });
            kept.push(row);
        }
        if held_by_base_fee > 0 {
            tracing::info!(address = %from, messages = held_by_base_fee, base_fee = ?parent_base_fee.as_ref().map(|b| b.atto().to_string()), "base fee above the cap: waiting");
        }
        let waiting = kept;
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let results = c
            .call_timeout(
                api::GAS_BATCH_ESTIMATE_MESSAGE_GAS,
                (estimates, addr.nonce, head.key().clone()),
                self.opts.estimate_timeout,
            )
            .await
            .map_err(|e| RoundError::Node(format!("GasBatchEstimateMessageGas: {e}")))?;
        let mut ready = Vec::new();
        for (row, res) in waiting.iter().zip(results) {
            match res.msg {
                Some(m) if m.gas_limit <= BLOCK_GAS_LIMIT => ready.push((row.id.clone(), m)),
                Some(m) => {
                    self.m
                        .store
                        .set_error(
                            std::slice::from_ref(&row.id),
                            &format!(
                                "gas estimate: gas limit {} above the block gas limit",
                                m.gas_limit
                            ),
                        )
                        .await?;
                }
                None => {
                    self.m
                        .store
                        .set_error(
                            std::slice::from_ref(&row.id),
                            &format!("gas estimate: {}", res.err),
                        )
                        .await?;
                }
            }
        }
        for (i, (_, m)) in ready.iter_mut().enumerate() {
            m.nonce = addr.nonce + i as u64;
        }
        let estimate_time = t_estimate.elapsed();
        self.m.metrics.observe_phase("estimate", estimate_time);
        let t_sign = Instant::now();
        let filled = self.sign_prefix(&from, ready).await;
        let sign_time = t_sign.elapsed();
        self.m.metrics.observe_phase("sign", sign_time);
        if filled.is_empty() || !still_primary() {
            return Ok(Vec::new());
        }
        let t_persist = Instant::now();
        // Waiting messages were NoWallet perhaps: they are signable now.
        let committed = self
            .m
            .store
            .fill_batch(&from, addr.nonce, &filled, head.height(), || {
                still_primary()
            })
            .await?;
        if !committed {
            tracing::warn!(address = %from, "the address nonce or its messages changed during the round (or the lease was lost): nothing committed; the next round retries");
            return Ok(Vec::new());
        }
        let persist_time = t_persist.elapsed();
        self.m.metrics.observe_phase("persist", persist_time);
        tracing::info!(address = %from, from_nonce = addr.nonce, count = filled.len(),
            select_ms = t_select.elapsed().saturating_sub(estimate_time + sign_time + persist_time).as_millis() as u64,
            estimate_ms = estimate_time.as_millis() as u64, sign_ms = sign_time.as_millis() as u64,
            persist_ms = persist_time.as_millis() as u64, "signed messages");
        Ok(filled
            .into_iter()
            .map(|f| SignedMessage {
                message: f.message,
                signature: f.signature,
            })
            .collect())
    }

    /// The ActorCfg fee spec of `msg`'s (receiver code, method); all zero (no say) when there
    /// is none, or the receiver has no actor yet.
    async fn actor_fee(
        &self,
        c: &venus_rpc::Client,
        head: &TipSet,
        msg: &venus_types::Message,
    ) -> FeeSpec {
        if self.actor_cfgs.read().is_empty() {
            return FeeSpec::default();
        }
        let cached = self.actor_codes.read().get(&msg.to).copied();
        let code = match cached {
            Some(code) => code,
            None => {
                let code = c
                    .call_timeout(
                        api::STATE_GET_ACTOR,
                        (msg.to, head.key().clone()),
                        self.opts.default_timeout.max(Duration::from_secs(5)),
                    )
                    .await
                    .ok()
                    .map(|a| a.code);
                self.actor_codes.write().insert(msg.to, code);
                code
            }
        };
        code.and_then(|code| self.actor_cfgs.read().get(&(code, msg.method)).cloned())
            .unwrap_or_default()
    }

    /// Signs messages concurrently and keeps the run of successes before the first failure.
    async fn sign_prefix(
        &self,
        from: &Address,
        ready: Vec<(String, venus_types::Message)>,
    ) -> Vec<FilledMessage> {
        let wallets = self.m.wallets.clone();
        let metrics = self.m.metrics.clone();
        let signed: Vec<Result<FilledMessage, SignError>> = futures::stream::iter(ready)
            .map(|(id, m)| {
                let wallets = wallets.clone();
                let metrics = metrics.clone();
                async move {
                    let t = Instant::now();
                    let sig = wallets.sign_message(&m).await;
                    metrics.observe_sign(t.elapsed());
                    sig.map(|signature| {
                        let sm = SignedMessage {
                            message: m.clone(),
                            signature: signature.clone(),
                        };
                        FilledMessage {
                            id,
                            signed_cid: sm.cid(),
                            message: m,
                            signature,
                        }
                    })
                }
            })
            .buffered(SIGN_CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::new();
        for r in signed {
            match r {
                Ok(f) => out.push(f),
                Err(e) => {
                    self.m.metrics.sign_error(&from.to_string());
                    tracing::warn!(address = %from, error = %e, "signing failed: the round stops here for this address");
                    break;
                }
            }
        }
        out
    }

    /// Pushes to the active node and every other healthy node. Errors are recorded on the
    /// messages (not their state): they stay Fill and are re-pushed.
    pub async fn push(&self, msgs: &[SignedMessage], fresh: bool) {
        let targets = self.m.nodes.push_targets();
        for (i, node) in targets.iter().enumerate() {
            let t = Instant::now();
            let result = match node.client().await {
                Ok(c) if fresh => c
                    .call(api::MPOOL_BATCH_PUSH_UNTRUSTED, (msgs.to_vec(),))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Ok(c) => {
                    // One by one: a message already in the pool is not an error here.
                    let mut err = None;
                    for m in msgs {
                        if let Err(e) = c.call(api::MPOOL_PUSH_UNTRUSTED, (m.clone(),)).await {
                            let text = e.to_string();
                            if !is_benign_push_error(&text) {
                                err = Some(text);
                            }
                        }
                    }
                    err.map_or(Ok(()), Err)
                }
                Err(e) => Err(e.to_string()),
            };
            self.m.metrics.observe_push(t.elapsed());
            match result {
                Ok(()) => {
                    if i == 0 && fresh {
                        self.m.metrics.pushed.inc_by(msgs.len() as u64);
                    }
                }
                Err(e) if is_benign_push_error(&e) => {}
                Err(e) => {
                    self.m.metrics.push_error(&node.name);
                    tracing::warn!(node = %node.name, error = %e, count = msgs.len(), "push failed");
                    if i == 0 {
                        let ids: Vec<String> = futures::future::join_all(msgs.iter().map(|m| {
                            let store = self.m.store.clone();
                            let cid = m.cid();
                            async move {
                                store
                                    .message_by_signed_cid(&cid)
                                    .await
                                    .ok()
                                    .flatten()
                                    .map(|r| r.id)
                            }
                        }))
                        .await
                        .into_iter()
                        .flatten()
                        .collect();
                        let _ = self
                            .m
                            .store
                            .set_error(&ids, &format!("push to {}: {e}", node.name))
                            .await;
                    }
                }
            }
        }
    }

    /// Re-prices Fill messages that have been off chain for `replace_after_epochs`.
    async fn replace_stuck(
        &self,
        head: &TipSet,
        addr: &AddressInfo,
        shared: &SharedSpec,
        fills: &[MessageRow],
        still_primary: &(dyn Fn() -> bool + Sync),
    ) {
        let max_fee = first_amount(&[&addr.fee.max_fee, &shared.fee.max_fee]);
        for row in fills {
            if head.height() - row.fill_epoch < self.opts.replace_after_epochs as i64
                || !still_primary()
            {
                continue;
            }
            let Ok(mut m) = chain_message(row) else {
                continue;
            };
            m.gas_premium = replacement_premium(&m.gas_premium);
            if m.gas_fee_cap.atto() < m.gas_premium.atto() {
                m.gas_fee_cap = m.gas_premium.clone();
            }
            let fee = m.gas_fee_cap.atto() * m.gas_limit;
            if max_fee.atto().sign() == num_bigint::Sign::Plus && &fee > max_fee.atto() {
                tracing::warn!(id = %row.id, "stuck message: re-pricing would exceed the address's max fee; left as is");
                continue;
            }
            match self.resign_and_store(&row.id, m, head.height()).await {
                Ok(sm) => {
                    tracing::info!(id = %row.id, nonce = sm.message.nonce, premium = %sm.message.gas_premium.atto(), "re-priced a stuck message");
                    self.push(std::slice::from_ref(&sm), false).await;
                }
                Err(e) => {
                    tracing::warn!(id = %row.id, error = %e, "re-pricing a stuck message failed")
                }
            }
        }
    }

    /// Signs a new version of a Fill message and stores it (only while it is still Fill).
    pub async fn resign_and_store(
        &self,
        id: &str,
        m: venus_types::Message,
        epoch: i64,
    ) -> Result<SignedMessage, String> {
        let t = Instant::now();
        let sig = self.m.wallets.sign_message(&m).await.map_err(|e| {
            self.m.metrics.sign_error(&m.from.to_string());
            e.to_string()
        })?;
        self.m.metrics.observe_sign(t.elapsed());
        let sm = SignedMessage {
            message: m,
            signature: sig,
        };
        let f = FilledMessage {
            id: id.to_owned(),
            message: sm.message.clone(),
            signature: sm.signature.clone(),
            signed_cid: sm.cid(),
        };
        match self.m.store.replace_filled(id, &f, epoch).await {
            Ok(true) => Ok(sm),
            Ok(false) => Err("the message is no longer waiting on chain (Fill)".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The head key to estimate on: the active node's head.
    pub async fn head(&self) -> Result<TipSet, String> {
        let c = self.m.node_client().await.map_err(|e| e.message)?;
        c.call(api::CHAIN_HEAD, ()).await.map_err(|e| e.to_string())
    }

    pub fn empty_key() -> TipSetKey {
        TipSetKey::default()
    }
}

fn is_benign_push_error(e: &str) -> bool {
    e.contains("already in the pool")
        || e.contains("already exists")
        || e.contains("already applied")
        || e.contains("minimum expected nonce")
}

pub fn chain_message(row: &MessageRow) -> Result<venus_types::Message, StoreError> {
    Ok(row.to_record()?.chain_message())
}

pub fn signed_of(row: &MessageRow) -> Result<SignedMessage, String> {
    let signature = row
        .signature()
        .map_err(|e| e.to_string())?
        .ok_or("not signed")?;
    Ok(SignedMessage {
        message: chain_message(row).map_err(|e| e.to_string())?,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_is_at_least_a_quarter_more() {
        let p = replacement_premium(&TokenAmount::from_atto(100_000u64));
        assert_eq!(p.atto(), &num_bigint::BigInt::from(125_001u64));
    }

    #[test]
    fn precedence_takes_the_first_set_value() {
        assert_eq!(first_positive(&[0.0, 1.5, 1.25]), 1.5);
        assert_eq!(first_positive(&[0.0, 0.0]), 0.0);
        let a = TokenAmount::zero();
        let b = TokenAmount::from_atto(7u64);
        assert_eq!(first_amount(&[&a, &b]).atto(), b.atto());
    }
}
