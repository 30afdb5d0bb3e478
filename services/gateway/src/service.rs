//! The gateway's state and the logic behind each API method: provider registration (wallets,
//! provers), and routing consumers' `WalletSign` / `ComputeProof` to a connection that can
//! serve them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use dashmap::DashMap;
use futures::Stream;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use venus_api::gateway::{
    ComputeProofRequest, ConnectState, ConnectedCompleted, ExtendedSectorInfo, IsUnsealRequest,
    MarketConnectionState, MinerState, MsgMeta, RequestEvent, ResponseEvent, SectorRef,
    UnsealRequest, UnsealState, WalletDetail, WalletRegisterPolicy, WalletSignRequest, event,
};
use venus_rpc::{Caller, Permission, RpcError};
use venus_types::{Address, Base64Bytes, ChainEpoch, Cid, MsgType, PoStProof, Signature};

pub use crate::channel::Provider;
use crate::channel::event_stream;
use crate::config::RequestSection;
use crate::directory::Directory;
use crate::events::{Connection, Events};
use crate::metrics::{GatewayMetrics, Kind};
use crate::miners::MinerStream;
use crate::wallets::WalletRegistry;

/// Everything one gateway process holds (all in memory, as the original).
pub struct Gateway {
    wallet_events: Arc<Events>,
    wallets: WalletRegistry<Address>,
    /// Per wallet channel, the wallet's `SignBytes` (for proofs of possession of new addresses).
    wallet_sign_bytes: DashMap<Uuid, Vec<u8>>,
    provers: Arc<MinerStream>,
    markets: Arc<MinerStream>,
    directory: Arc<dyn Directory>,
    /// Random bytes of this gateway process, mixed into every proof of possession.
    secret: [u8; 32],
    timeouts: RequestSection,
    metrics: GatewayMetrics,
}

/// The accounts a caller may have signatures routed for: an admin (a chain service) any it
/// names, as the original; anyone else only its own user's (issue 26: a user's token must
/// not reach another user's wallet). `None` when a non-admin named none of its own.
pub fn allowed_accounts(caller: &Caller, accounts: Vec<String>) -> Option<Vec<String>> {
    if caller.perm >= Permission::Admin {
        return Some(accounts);
    }
    if accounts.is_empty() {
        return Some(vec![caller.user.clone()]);
    }
    let own: Vec<String> = accounts.into_iter().filter(|a| *a == caller.user).collect();
    (!own.is_empty()).then_some(own)
}

impl Gateway {
    pub fn new(
        directory: Arc<dyn Directory>,
        timeouts: RequestSection,
        metrics: GatewayMetrics,
    ) -> Arc<Self> {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Arc::new(Self {
            wallet_events: Arc::new(Events::new()),
            wallets: WalletRegistry::new(),
            wallet_sign_bytes: DashMap::new(),
            provers: MinerStream::new(Kind::Prover, metrics.clone()),
            markets: MinerStream::new(Kind::Market, metrics.clone()),
            directory,
            secret,
            timeouts,
            metrics,
        })
    }

    pub fn metrics(&self) -> &GatewayMetrics {
        &self.metrics
    }

    // ---------------------------------------------------------------- wallets

    /// `ListenWalletEvent`: open a channel, then (in the background) learn the wallet's
    /// addresses, check it holds each one, and only then register it and send `InitConnect`.
    pub async fn listen_wallet(
        self: &Arc<Self>,
        who: Provider,
        policy: WalletRegisterPolicy,
    ) -> Result<impl Stream<Item = RequestEvent> + Send + use<>, RpcError> {
        let mut support: Vec<String> = policy.support_accounts.unwrap_or_default();
        support.retain(|a| !a.is_empty());
        let mut to_check = support.clone();
        to_check.push(who.account.clone());
        to_check.sort();
        to_check.dedup();
        self.directory
            .verify_users(&to_check)
            .await
            .map_err(RpcError::method)?;

        let (conn, rx) = who.connect();
        let this = self.clone();
        let reg_conn = conn.clone();
        let sign_bytes = policy.sign_bytes.into_vec();
        tokio::spawn(async move { this.register_wallet(reg_conn, support, sign_bytes).await });

        let this = self.clone();
        Ok(event_stream(
            self.wallet_events.clone(),
            conn,
            rx,
            who.peer,
            move |conn| {
                if this.wallets.remove(conn.id()) {
                    this.metrics.unregistered(Kind::Wallet, conn.account());
                    tracing::info!(account = conn.account(), channel = %conn.id(), "wallet disconnected");
                }
                this.wallet_sign_bytes.remove(&conn.id());
                this.refresh_wallet_addresses();
            },
        ))
    }

    async fn register_wallet(
        self: Arc<Self>,
        conn: Arc<Connection>,
        support: Vec<String>,
        sign_bytes: Vec<u8>,
    ) {
        let timeout = self.timeouts.wallet_timeout();
        let addrs: Vec<Address> = match self
            .wallet_events
            .call(&conn, event::WALLET_LIST, b"null".to_vec(), timeout)
            .await
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<Option<Vec<Address>>>(&bytes).map_err(|e| e.to_string())
            }) {
            Ok(addrs) => addrs.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(account = conn.account(), channel = %conn.id(), error = %e, "wallet registration failed: WalletList");
                self.wallet_events.close(&conn);
                return;
            }
        };
        let verified = self.verify_possession(&conn, &sign_bytes, &addrs).await;
        self.wallet_sign_bytes.insert(conn.id(), sign_bytes);
        let mut accounts = support.clone();
        accounts.push(conn.account().to_owned());
        self.wallets
            .insert(conn.clone(), support, verified.iter().copied());
        self.register_signers(&accounts, &verified).await;
        self.metrics.registered(Kind::Wallet, conn.account());
        self.refresh_wallet_addresses();
        tracing::info!(account = conn.account(), channel = %conn.id(), addresses = verified.len(), "wallet registered");
        let done = ConnectedCompleted {
            channel_id: conn.id(),
        };
        // A struct of a UUID always serialises.
        let payload = serde_json::to_vec(&done).unwrap_or_default();
        if let Err(e) = conn.notify(event::INIT_CONNECT, payload) {
            tracing::warn!(channel = %conn.id(), error = %e, "could not send InitConnect");
        }
    }

    /// Ask the wallet to sign `sha256(secret ‖ sign_bytes)` with each address; keep those whose
    /// signature verifies. Unlike the original, one bad address does not drop the connection.
    async fn verify_possession(
        &self,
        conn: &Connection,
        sign_bytes: &[u8],
        addrs: &[Address],
    ) -> Vec<Address> {
        let challenge: Vec<u8> = Sha256::new()
            .chain_update(self.secret)
            .chain_update(sign_bytes)
            .finalize()
            .to_vec();
        let mut verified = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let req = WalletSignRequest {
                signer: *addr,
                to_sign: challenge.clone().into(),
                meta: MsgMeta {
                    msg_type: MsgType::VerifyAddress,
                    extra: self.secret.to_vec().into(),
                },
            };
            let payload = serde_json::to_vec(&req).unwrap_or_default();
            let outcome = self
                .wallet_events
                .call(
                    conn,
                    event::WALLET_SIGN,
                    payload,
                    self.timeouts.wallet_timeout(),
                )
                .await
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    serde_json::from_slice::<Signature>(&b)
                        .map_err(|e| format!("bad signature JSON: {e}"))
                })
                .and_then(|sig| {
                    venus_types::crypto::verify(&sig, &challenge, addr).map_err(|e| e.to_string())
                });
            match outcome {
                Ok(()) => verified.push(*addr),
                Err(e) => {
                    tracing::warn!(account = conn.account(), %addr, error = %e, "address not registered: proof of possession failed")
                }
            }
        }
        verified
    }

    async fn register_signers(&self, accounts: &[String], addrs: &[Address]) {
        // Only key addresses can sign.
        let signers: Vec<String> = addrs
            .iter()
            .filter(|a| {
                matches!(
                    a.protocol(),
                    venus_types::Protocol::Secp256k1
                        | venus_types::Protocol::BLS
                        | venus_types::Protocol::Delegated
                )
            })
            .map(ToString::to_string)
            .collect();
        if signers.is_empty() {
            return;
        }
        for account in accounts {
            if let Err(e) = self.directory.register_signers(account, &signers).await {
                tracing::warn!(account, error = %e, "signer registration with venus-auth failed");
            }
        }
    }

    /// The wallet channel `channel`, provided it belongs to the WebSocket `peer_id`.
    fn own_wallet_channel(&self, channel: Uuid, peer_id: u64) -> Result<Arc<Connection>, RpcError> {
        match self.wallets.connection(channel) {
            Some(c) if c.origin() == peer_id => Ok(c),
            Some(_) => Err(RpcError::method(format!(
                "wallet channel {channel} belongs to another connection"
            ))),
            None => Err(RpcError::method(format!(
                "no wallet channel {channel} on this gateway"
            ))),
        }
    }

    pub fn response_wallet(&self, peer_id: u64, resp: ResponseEvent) -> Result<(), RpcError> {
        self.wallet_events
            .respond(peer_id, resp)
            .map_err(RpcError::method)
    }

    pub async fn support_new_account(
        &self,
        peer_id: u64,
        channel: Uuid,
        account: String,
    ) -> Result<(), RpcError> {
        let conn = self.own_wallet_channel(channel, peer_id)?;
        self.directory
            .verify_users(std::slice::from_ref(&account))
            .await
            .map_err(RpcError::method)?;
        self.wallets
            .add_account(channel, account.clone())
            .map_err(RpcError::method)?;
        let addrs = self.wallets.addrs_of(channel);
        self.register_signers(std::slice::from_ref(&account), &addrs)
            .await;
        tracing::info!(
            wallet = conn.account(),
            account,
            "wallet serves a new account"
        );
        Ok(())
    }

    pub async fn add_new_address(
        &self,
        peer_id: u64,
        channel: Uuid,
        addrs: Vec<Address>,
    ) -> Result<(), RpcError> {
        let conn = self.own_wallet_channel(channel, peer_id)?;
        let sign_bytes = self
            .wallet_sign_bytes
            .get(&channel)
            .map(|b| b.clone())
            .unwrap_or_default();
        let verified = self.verify_possession(&conn, &sign_bytes, &addrs).await;
        if verified.len() != addrs.len() {
            let refused: Vec<String> = addrs
                .iter()
                .filter(|a| !verified.contains(a))
                .map(ToString::to_string)
                .collect();
            self.wallets
                .add_addrs(channel, verified.iter().copied())
                .map_err(RpcError::method)?;
            return Err(RpcError::method(format!(
                "proof of possession failed for {}",
                refused.join(", ")
            )));
        }
        self.wallets
            .add_addrs(channel, verified.iter().copied())
            .map_err(RpcError::method)?;
        let accounts = self.wallets.accounts_of(channel);
        self.register_signers(&accounts, &verified).await;
        self.refresh_wallet_addresses();
        Ok(())
    }

    pub fn remove_address(
        &self,
        peer_id: u64,
        channel: Uuid,
        addrs: Vec<Address>,
    ) -> Result<(), RpcError> {
        self.own_wallet_channel(channel, peer_id)?;
        self.wallets
            .remove_addrs(channel, &addrs)
            .map_err(RpcError::method)?;
        self.refresh_wallet_addresses();
        Ok(())
    }

    /// `WalletHas`: a live wallet serving one of `accounts` (narrowed to what `caller` may
    /// use) proved it holds `addr`.
    pub fn wallet_has(&self, caller: &Caller, addr: &Address, accounts: Vec<String>) -> bool {
        allowed_accounts(caller, accounts)
            .is_some_and(|accounts| !self.wallets.candidates(addr, &accounts).is_empty())
    }

    /// `WalletSign`: route to a live wallet serving one of `accounts` (narrowed to what
    /// `caller` may use) that proved it holds `addr`.
    pub async fn wallet_sign(
        &self,
        caller: &Caller,
        addr: Address,
        accounts: Vec<String>,
        to_sign: Base64Bytes,
        meta: MsgMeta,
    ) -> Result<Signature, RpcError> {
        if meta.msg_type == MsgType::VerifyAddress {
            // Proofs of possession are the gateway's own; a caller must not be able to make a
            // wallet produce one for another gateway.
            return Err(RpcError::method(
                "msg type verifyaddress is reserved for the gateway",
            ));
        }
        let Some(accounts) = allowed_accounts(caller, accounts.clone()) else {
            return Err(RpcError::method(format!(
                "a {} token of user {} may sign only for its own account, not for {}",
                caller.perm,
                caller.user,
                accounts.join(", ")
            )));
        };
        let started = Instant::now();
        let req = WalletSignRequest {
            signer: addr,
            to_sign,
            meta,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        let out = self
            .wallet_events
            .route(
                || self.wallets.candidates(&addr, &accounts),
                event::WALLET_SIGN,
                payload,
                self.timeouts.wallet_timeout(),
                || self.wallets.no_wallet_message(&addr, &accounts),
            )
            .await;
        self.metrics
            .observe_route(Kind::Wallet, event::WALLET_SIGN, started.elapsed(), &out);
        let bytes = out.map_err(RpcError::method)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| RpcError::method(format!("wallet answered with a bad signature: {e}")))
    }

    pub fn wallet_details(&self) -> Vec<WalletDetail> {
        let mut by_account: BTreeMap<String, WalletDetail> = BTreeMap::new();
        for info in self.wallets.list() {
            let detail = by_account
                .entry(info.account.clone())
                .or_insert_with(|| WalletDetail {
                    account: info.account.clone(),
                    support_accounts: Vec::new(),
                    connect_states: Vec::new(),
                });
            for a in &info.support_accounts {
                if !detail.support_accounts.contains(a) {
                    detail.support_accounts.push(a.clone());
                }
            }
            detail.connect_states.push(ConnectState {
                addrs: info.addrs.iter().copied().collect(),
                channel_id: info.channel_id,
                ip: info.peer,
                request_count: info.in_flight,
                create_time: info.created.to_rfc3339(),
            });
        }
        by_account.into_values().collect()
    }

    pub fn wallet_detail(&self, account: &str) -> Result<WalletDetail, RpcError> {
        self.wallet_details()
            .into_iter()
            .find(|d| d.account == account)
            .ok_or_else(|| RpcError::method(format!("no wallet of account {account} is connected")))
    }

    // ---------------------------------------------------------------- provers, markets

    /// A provider may serve `miner` only if venus-auth binds the miner to its user.
    async fn check_miner(&self, who: &Provider, miner: &Address) -> Result<(), RpcError> {
        let bound = self
            .directory
            .miner_exists(&who.account, &miner.to_string())
            .await
            .map_err(RpcError::method)?;
        if bound {
            Ok(())
        } else {
            Err(RpcError::method(format!(
                "miner:{miner} not exist in user:{}, please bind it on 'venus-auth'",
                who.account
            )))
        }
    }

    /// `ListenProofEvent`.
    pub async fn listen_proof(
        &self,
        who: Provider,
        miner: Address,
    ) -> Result<impl Stream<Item = RequestEvent> + Send + use<>, RpcError> {
        self.check_miner(&who, &miner).await?;
        Ok(self.provers.open(who, miner))
    }

    pub fn response_proof(&self, peer_id: u64, resp: ResponseEvent) -> Result<(), RpcError> {
        self.provers.respond(peer_id, resp)
    }

    pub async fn compute_proof(
        &self,
        miner: Address,
        sectors: Vec<ExtendedSectorInfo>,
        rand: Base64Bytes,
        height: ChainEpoch,
        nw_version: u32,
    ) -> Result<Vec<PoStProof>, RpcError> {
        let req = ComputeProofRequest {
            sector_infos: sectors,
            rand,
            height,
            nw_version,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        self.provers
            .request(
                &miner,
                event::COMPUTE_PROOF,
                payload,
                self.timeouts.proof_timeout(),
            )
            .await
    }

    pub fn connected_miners(&self) -> Vec<Address> {
        self.provers.miners()
    }

    pub fn miner_state(&self, miner: &Address) -> MinerState {
        self.provers.state_of(miner)
    }

    /// `ListenMarketEvent`: the market side (damocles' unsealer, a droplet) of `miner`.
    pub async fn listen_market(
        &self,
        who: Provider,
        miner: Address,
    ) -> Result<impl Stream<Item = RequestEvent> + Send + use<>, RpcError> {
        self.check_miner(&who, &miner).await?;
        Ok(self.markets.open(who, miner))
    }

    pub fn response_market(&self, peer_id: u64, resp: ResponseEvent) -> Result<(), RpcError> {
        self.markets.respond(peer_id, resp)
    }

    pub fn market_states(&self) -> Vec<MarketConnectionState> {
        self.markets
            .states()
            .into_iter()
            .map(|(addr, conn)| MarketConnectionState { addr, conn })
            .collect()
    }

    /// `SectorsUnsealPiece`: ask a market connection of `miner` to unseal a piece to `dest`.
    pub async fn sectors_unseal_piece(
        &self,
        miner: Address,
        piece_cid: Cid,
        sid: u64,
        offset: u64,
        size: u64,
        dest: String,
    ) -> Result<UnsealState, RpcError> {
        let req = UnsealRequest {
            piece_cid,
            miner,
            sid,
            offset,
            size,
            dest,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        self.markets
            .request(
                &miner,
                event::SECTORS_UNSEAL_PIECE,
                payload,
                self.timeouts.market_timeout(),
            )
            .await
    }

    /// venus-shared v1's `IsUnsealed`: ask a market connection of `miner`.
    pub async fn is_unsealed(
        &self,
        miner: Address,
        piece_cid: Cid,
        sector: SectorRef,
        offset: u64,
        size: u64,
    ) -> Result<bool, RpcError> {
        let req = IsUnsealRequest {
            piece_cid,
            miner,
            sid: sector.id.number,
            offset,
            size,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        self.markets
            .request(
                &miner,
                event::IS_UNSEALED,
                payload,
                self.timeouts.market_query_timeout(),
            )
            .await
    }

    fn refresh_wallet_addresses(&self) {
        let (_, addrs) = self.wallets.counts();
        self.metrics.set_wallet_addresses(addrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user: &str, perm: Permission) -> Caller {
        Caller {
            user: user.into(),
            perm,
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn only_an_admin_routes_on_other_users_accounts() {
        let admin = caller("shared", Permission::Admin);
        assert_eq!(
            allowed_accounts(&admin, s(&["u1", "u2"])),
            Some(s(&["u1", "u2"]))
        );
        let u1 = caller("u1", Permission::Sign);
        assert_eq!(allowed_accounts(&u1, s(&["u1", "u2"])), Some(s(&["u1"])));
        assert_eq!(allowed_accounts(&u1, s(&["u2"])), None);
        assert_eq!(allowed_accounts(&u1, Vec::new()), Some(s(&["u1"])));
    }
}
