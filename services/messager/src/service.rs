//! The messager's shared state and the accept side of the API: PushMessage validates,
//! scopes and persists a message, and returns only after its row is committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use venus_api::full_node as api;
use venus_api::messager::{AddressState, MessageRecord, MessageState, SendSpec};
use venus_rpc::{Ctx, RpcError};
use venus_types::{Address, Protocol, TipSetKey, TokenAmount};

use crate::access::Access;
use crate::metrics::MessagerMetrics;
use crate::nodes::NodePool;
use crate::store::{NewMessage, Store, StoreError};
use crate::wallets::Wallets;

/// How long an actor's balance is trusted for the push-time balance check.
const BALANCE_TTL: Duration = Duration::from_secs(2);

pub struct Messager {
    pub store: Store,
    pub nodes: Arc<NodePool>,
    pub wallets: Arc<Wallets>,
    pub access: Access,
    pub metrics: MessagerMetrics,
    pub block_delay: Duration,
    /// The head height last seen (for Confidence).
    pub head_height: AtomicI64,
    /// ID address → key address, resolved once.
    key_addresses: DashMap<Address, Address>,
    balances: DashMap<Address, (Instant, TokenAmount)>,
    /// Woken by every accepted message: the primary selects new messages between head
    /// changes too (run::work).
    pub accepted: tokio::sync::Notify,
}

pub fn store_err(e: StoreError) -> RpcError {
    tracing::error!(error = %e, "database error");
    RpcError::method(format!("database: {e}"))
}

impl Messager {
    pub fn new(
        store: Store,
        nodes: Arc<NodePool>,
        wallets: Arc<Wallets>,
        access: Access,
        metrics: MessagerMetrics,
        block_delay: Duration,
    ) -> Self {
        Self {
            store,
            nodes,
            wallets,
            access,
            metrics,
            block_delay,
            head_height: AtomicI64::new(0),
            key_addresses: DashMap::new(),
            balances: DashMap::new(),
            accepted: tokio::sync::Notify::new(),
        }
    }

    /// The key (public-key) address behind `addr`: messages are kept and signed by it.
    pub async fn key_address(&self, addr: &Address) -> Result<Address, RpcError> {
        if addr.protocol() != Protocol::ID {
            return Ok(*addr);
        }
        if let Some(k) = self.key_addresses.get(addr) {
            return Ok(*k);
        }
        let c = self.node_client().await?;
        let key = c
            .call(api::STATE_ACCOUNT_KEY, (*addr, TipSetKey::default()))
            .await
            .map_err(|e| RpcError::method(format!("unknown address {addr}: {e}")))?;
        self.key_addresses.insert(*addr, key);
        Ok(key)
    }

    pub async fn node_client(&self) -> Result<venus_rpc::Client, RpcError> {
        self.nodes
            .client()
            .await
            .map_err(|e| RpcError::method(format!("no chain node reachable: {e}")))
    }

    /// The balance of `addr` on chain (briefly cached); an error names an address without
    /// an actor.
    async fn balance(&self, addr: &Address) -> Result<TokenAmount, RpcError> {
        if let Some(b) = self.balances.get(addr)
            && b.0.elapsed() < BALANCE_TTL
        {
            return Ok(b.1.clone());
        }
        let c = self.node_client().await?;
        let actor = c
            .call(api::STATE_GET_ACTOR, (*addr, TipSetKey::default()))
            .await
            .map_err(|e| {
                RpcError::method(format!(
                    "unknown address {addr}: it has no actor on chain ({e})"
                ))
            })?;
        self.balances
            .insert(*addr, (Instant::now(), actor.balance.clone()));
        Ok(actor.balance)
    }

    /// PushMessage / PushMessageWithId: checks, then one committed row.
    pub async fn push(
        &self,
        ctx: &Ctx,
        id: Option<String>,
        mut msg: venus_types::Message,
        spec: Option<SendSpec>,
    ) -> Result<String, RpcError> {
        if let Some(id) = &id {
            if id.is_empty() || id.len() > 255 {
                return Err(RpcError::method(
                    "message id must be 1 to 255 characters".to_owned(),
                ));
            }
            // The same id twice is one message.
            if let Some(existing) = self.store.message_by_id(id).await.map_err(store_err)? {
                let from = existing.from_address().map_err(store_err)?;
                self.access.check_signer(ctx, &from).await?;
                return Ok(existing.id);
            }
        }
        validate(&msg)?;
        msg.from = self.key_address(&msg.from).await?;
        self.access.check_signer(ctx, &msg.from).await?;
        let balance = self.balance(&msg.from).await?;
        if msg.value.atto() > balance.atto() {
            return Err(RpcError::method(format!(
                "value {} exceeds the balance {} of {}",
                msg.value.atto(),
                balance.atto(),
                msg.from
            )));
        }
        let address = self
            .store
            .ensure_address(&msg.from)
            .await
            .map_err(store_err)?;
        if address.state == AddressState::Forbbiden {
            return Err(RpcError::method(format!(
                "address {} is forbidden (address active re-enables it)",
                msg.from
            )));
        }
        msg.nonce = 0;
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let new = NewMessage {
            id: id.clone(),
            message: msg,
            spec: spec.unwrap_or_default(),
            wallet_name: ctx.caller().user.clone(),
            state: MessageState::UnFillMsg,
        };
        self.store.insert_message(&new).await.map_err(store_err)?;
        self.accepted.notify_one();
        Ok(id)
    }

    /// A stored record as the API returns it, with Confidence for landed messages.
    pub fn present(&self, mut r: MessageRecord) -> MessageRecord {
        if matches!(
            r.state,
            MessageState::OnChainMsg | MessageState::NonceConflictMsg
        ) && r.height > 0
        {
            r.confidence = (self.head_height.load(Ordering::Relaxed) - r.height).max(0);
        }
        r
    }
}

/// What a message must look like before it is queued.
fn validate(msg: &venus_types::Message) -> Result<(), RpcError> {
    let bad = |what: String| Err(RpcError::method(format!("invalid message: {what}")));
    if msg.version != 0 {
        return bad(format!("version {} is not 0", msg.version));
    }
    if msg.value.atto().sign() == num_bigint::Sign::Minus {
        return bad(format!("value {} is negative", msg.value.atto()));
    }
    if msg.gas_limit < 0 {
        return bad(format!("gas limit {} is negative", msg.gas_limit));
    }
    if msg.gas_fee_cap.atto().sign() == num_bigint::Sign::Minus
        || msg.gas_premium.atto().sign() == num_bigint::Sign::Minus
    {
        return bad("negative gas fee cap or premium".into());
    }
    if msg.params.len() > 32 * 1024 {
        return bad(format!(
            "params are {} bytes, above 32 KiB",
            msg.params.len()
        ));
    }
    Ok(())
}
