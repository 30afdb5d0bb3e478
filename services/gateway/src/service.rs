//! The gateway's state and the logic behind each API method: provider registration (wallets,
//! provers), and routing consumers' `WalletSign` / `ComputeProof` to a connection that can
//! serve them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use dashmap::DashMap;
use futures::Stream;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use venus_api::gateway::{
    ComputeProofRequest, ConnectState, ConnectedCompleted, ExtendedSectorInfo, MinerState, MsgMeta,
    ProverConnection, RequestEvent, ResponseEvent, WalletDetail, WalletRegisterPolicy,
    WalletSignRequest, event,
};
use venus_rpc::RpcError;
use venus_types::{Address, Base64Bytes, ChainEpoch, MsgType, PoStProof, Signature};

use crate::config::RequestSection;
use crate::directory::Directory;
use crate::events::{Connection, Events, RouteError};
use crate::metrics::GatewayMetrics;
use crate::provers::ProverRegistry;
use crate::wallets::WalletRegistry;

/// Everything one gateway process holds (all in memory, as the original).
pub struct Gateway {
    wallet_events: Events,
    wallets: WalletRegistry<Address>,
    /// Per wallet channel, the wallet's `SignBytes` (for proofs of possession of new addresses).
    wallet_sign_bytes: DashMap<Uuid, Vec<u8>>,
    proof_events: Events,
    provers: ProverRegistry<Address>,
    directory: Arc<dyn Directory>,
    /// Random bytes of this gateway process, mixed into every proof of possession.
    secret: [u8; 32],
    timeouts: RequestSection,
    metrics: GatewayMetrics,
}

/// Who registers: the token's user, the WebSocket the call came on.
#[derive(Debug, Clone)]
pub struct Provider {
    pub account: String,
    pub peer_id: u64,
    pub remote: Option<SocketAddr>,
    /// The WebSocket, watched so a dead connection is dropped even if its stream lingers.
    pub peer: Option<venus_rpc::Peer>,
}

/// Close `conn` as soon as the WebSocket it lives on goes away.
fn watch_peer(
    events_owner: Arc<Gateway>,
    conn: Arc<Connection>,
    peer: Option<venus_rpc::Peer>,
    proof: bool,
) {
    let Some(peer) = peer else { return };
    tokio::spawn(async move {
        tokio::select! {
            _ = peer.closed() => {
                let events = if proof { &events_owner.proof_events } else { &events_owner.wallet_events };
                events.close(&conn);
            }
            _ = conn.closed() => {}
        }
    });
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
            wallet_events: Events::new(),
            wallets: WalletRegistry::new(),
            wallet_sign_bytes: DashMap::new(),
            proof_events: Events::new(),
            provers: ProverRegistry::new(),
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

        let (conn, rx) = Connection::new(who.account.clone(), who.peer_id, who.remote);
        watch_peer(self.clone(), conn.clone(), who.peer, false);
        let this = self.clone();
        let reg_conn = conn.clone();
        let sign_bytes = policy.sign_bytes.into_vec();
        tokio::spawn(async move { this.register_wallet(reg_conn, support, sign_bytes).await });

        let this = self.clone();
        Ok(channel_stream(conn, rx, move |conn| {
            this.wallet_events.close(conn);
            if this.wallets.remove(conn.id()) {
                this.metrics.wallet_unregistered();
                tracing::info!(account = conn.account(), channel = %conn.id(), "wallet disconnected");
            }
            this.wallet_sign_bytes.remove(&conn.id());
            this.refresh_gauges();
        }))
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
        self.metrics.wallet_registered();
        self.refresh_gauges();
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
        self.refresh_gauges();
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
        self.refresh_gauges();
        Ok(())
    }

    pub fn wallet_has(&self, addr: &Address, accounts: &[String]) -> bool {
        !self.wallets.candidates(addr, accounts).is_empty()
    }

    pub async fn wallet_sign(
        &self,
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
        let started = Instant::now();
        let candidates = self.wallets.candidates(&addr, &accounts);
        let req = WalletSignRequest {
            signer: addr,
            to_sign,
            meta,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        let out = self
            .wallet_events
            .route(
                candidates,
                event::WALLET_SIGN,
                payload,
                self.timeouts.wallet_timeout(),
                || self.wallets.no_wallet_message(&addr, &accounts),
            )
            .await;
        self.metrics
            .observe_route("WalletSign", started.elapsed(), &out);
        let bytes = out.map_err(route_error)?;
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

    // ---------------------------------------------------------------- provers

    /// `ListenProofEvent`: a prover serves `miner` if venus-auth binds the miner to its user.
    pub async fn listen_proof(
        self: &Arc<Self>,
        who: Provider,
        miner: Address,
    ) -> Result<impl Stream<Item = RequestEvent> + Send + use<>, RpcError> {
        let bound = self
            .directory
            .miner_exists(&who.account, &miner.to_string())
            .await
            .map_err(RpcError::method)?;
        if !bound {
            return Err(RpcError::method(format!(
                "miner:{miner} not exist in user:{}, please bind it on 'venus-auth'",
                who.account
            )));
        }
        let (conn, rx) = Connection::new(who.account.clone(), who.peer_id, who.remote);
        watch_peer(self.clone(), conn.clone(), who.peer, true);
        self.provers.insert(miner, conn.clone());
        self.metrics.prover_registered();
        self.refresh_gauges();
        tracing::info!(account = %who.account, %miner, channel = %conn.id(), "prover registered");
        let payload = serde_json::to_vec(&ConnectedCompleted {
            channel_id: conn.id(),
        })
        .unwrap_or_default();
        // A fresh queue has room.
        let _ = conn.notify(event::INIT_CONNECT, payload);
        let this = self.clone();
        Ok(channel_stream(conn, rx, move |conn| {
            this.proof_events.close(conn);
            if this.provers.remove(&miner, conn.id()) {
                this.metrics.prover_unregistered();
                tracing::info!(%miner, channel = %conn.id(), "prover disconnected");
            }
            this.refresh_gauges();
        }))
    }

    pub fn response_proof(&self, peer_id: u64, resp: ResponseEvent) -> Result<(), RpcError> {
        self.proof_events
            .respond(peer_id, resp)
            .map_err(RpcError::method)
    }

    pub async fn compute_proof(
        &self,
        miner: Address,
        sectors: Vec<ExtendedSectorInfo>,
        rand: Base64Bytes,
        height: ChainEpoch,
        nw_version: u32,
    ) -> Result<Vec<PoStProof>, RpcError> {
        let started = Instant::now();
        let req = ComputeProofRequest {
            sector_infos: sectors,
            rand,
            height,
            nw_version,
        };
        let payload = serde_json::to_vec(&req).map_err(RpcError::internal)?;
        let out = self
            .proof_events
            .route(
                self.provers.candidates(&miner),
                event::COMPUTE_PROOF,
                payload,
                self.timeouts.proof_timeout(),
                || ProverRegistry::no_prover_message(&miner),
            )
            .await;
        self.metrics
            .observe_route("ComputeProof", started.elapsed(), &out);
        let bytes = out.map_err(route_error)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| RpcError::method(format!("prover answered with bad proofs: {e}")))
    }

    pub fn connected_miners(&self) -> Vec<Address> {
        self.provers.miners()
    }

    pub fn miner_state(&self, miner: &Address) -> MinerState {
        let connections: Vec<ProverConnection> = self
            .provers
            .connections_of(miner)
            .into_iter()
            .map(|c| ProverConnection {
                channel_id: c.channel_id,
                account: c.account,
                ip: c.peer,
                request_count: c.in_flight,
                create_time: c.created.to_rfc3339(),
            })
            .collect();
        MinerState {
            connection_count: connections.len(),
            connections,
        }
    }

    fn refresh_gauges(&self) {
        let (wallet_conns, addrs) = self.wallets.counts();
        let (miners, prover_conns) = self.provers.counts();
        self.metrics
            .set_gauges(wallet_conns, addrs, miners, prover_conns);
    }
}

fn route_error(e: RouteError) -> RpcError {
    RpcError::method(e)
}

/// The provider's side of a channel: the connection's queue as a stream, which ends when the
/// connection is closed and runs `on_close` exactly once when it ends or is dropped (the
/// WebSocket went away, or the provider cancelled the call).
fn channel_stream(
    conn: Arc<Connection>,
    rx: tokio::sync::mpsc::Receiver<RequestEvent>,
    on_close: impl FnOnce(&Connection) + Send + 'static,
) -> impl Stream<Item = RequestEvent> + Send + 'static {
    struct Guard<F: FnOnce(&Connection)> {
        conn: Arc<Connection>,
        on_close: Option<F>,
    }
    impl<F: FnOnce(&Connection)> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.on_close.take() {
                f(&self.conn);
            }
        }
    }
    let guard = Guard {
        conn,
        on_close: Some(on_close),
    };
    futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let conn = guard.conn.clone();
        let next = tokio::select! {
            ev = rx.recv() => ev,
            _ = conn.closed() => None,
        };
        next.map(|ev| (ev, (rx, guard)))
    })
}
