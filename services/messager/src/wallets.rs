//! Signing through the gateways (`Gateway.WalletHas` / `Gateway.WalletSign` on `/rpc/v2`
//! with the shared admin token), for the venus-auth users bound to the signer, as the
//! original: every configured gateway is asked, the first that has a wallet for the address
//! signs, and that choice is remembered per address until a signing error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::Mutex;
use venus_api::gateway as gw;
use venus_auth_client::AuthClient;
use venus_rpc::{Client, ClientError};
use venus_types::{Address, Base64Bytes, MsgMeta, MsgType, Signature};

/// How long the users bound to a signer are remembered.
const ACCOUNTS_TTL: Duration = Duration::from_secs(10);

struct GatewayConn {
    url: String,
    client: Mutex<Option<Client>>,
}

pub struct Wallets {
    gateways: Vec<GatewayConn>,
    token: String,
    auth: Option<Arc<AuthClient>>,
    timeout: Duration,
    chosen: DashMap<Address, usize>,
    accounts: DashMap<Address, (Instant, Vec<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// No connected wallet serves the address (the message waits as NoWallet).
    #[error("no wallet online for {0}")]
    NoWallet(Address),
    #[error("signing with {addr} through {gateway}: {reason}")]
    Failed {
        addr: Address,
        gateway: String,
        reason: String,
    },
}

impl Wallets {
    pub fn new(
        urls: &[String],
        token: &str,
        auth: Option<Arc<AuthClient>>,
        timeout: Duration,
    ) -> Self {
        Self {
            gateways: urls
                .iter()
                .filter(|u| !u.trim().is_empty())
                .map(|u| GatewayConn {
                    url: u.trim().to_owned(),
                    client: Mutex::new(None),
                })
                .collect(),
            token: token.to_owned(),
            auth,
            timeout,
            chosen: DashMap::new(),
            accounts: DashMap::new(),
        }
    }

    async fn client(&self, i: usize) -> Result<Client, ClientError> {
        let g = &self.gateways[i];
        let mut slot = g.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = Client::builder(&g.url)
            .version("v2")
            .token((!self.token.is_empty()).then(|| self.token.clone()))
            .timeout(self.timeout.max(Duration::from_secs(1)))
            .connect_timeout(Duration::from_secs(3))
            .connect()
            .await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn reset(&self, i: usize) {
        *self.gateways[i].client.lock().await = None;
    }

    /// The venus-auth users bound to `addr` (the gateway routes by them).
    pub async fn accounts(&self, addr: &Address) -> Vec<String> {
        if let Some(e) = self.accounts.get(addr)
            && e.0.elapsed() < ACCOUNTS_TTL
        {
            return e.1.clone();
        }
        let Some(auth) = &self.auth else {
            return Vec::new();
        };
        match auth.get_user_by_signer(&addr.to_string()).await {
            Ok(users) => {
                let names: Vec<String> = users.into_iter().map(|u| u.name).collect();
                self.accounts.insert(*addr, (Instant::now(), names.clone()));
                names
            }
            Err(e) => {
                tracing::warn!(address = %addr, error = %e, "venus-auth: users of signer");
                self.accounts
                    .get(addr)
                    .map(|e| e.1.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// The gateway with a wallet for `addr`, if any.
    async fn find(&self, addr: &Address, accounts: &[String]) -> Option<usize> {
        if let Some(i) = self.chosen.get(addr) {
            return Some(*i);
        }
        let asks = (0..self.gateways.len()).map(|i| async move {
            let c = self.client(i).await.ok()?;
            match c
                .call_timeout(gw::WALLET_HAS, (*addr, accounts.to_vec()), self.timeout)
                .await
            {
                Ok(true) => Some(i),
                Ok(false) => None,
                Err(e) => {
                    tracing::debug!(gateway = %self.gateways[i].url, error = %e, "WalletHas");
                    if matches!(e, ClientError::Connect { .. } | ClientError::Closed) {
                        self.reset(i).await;
                    }
                    None
                }
            }
        });
        let found = futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .next()?;
        self.chosen.insert(*addr, found);
        Some(found)
    }

    /// Whether some gateway has a wallet online for `addr`.
    pub async fn has(&self, addr: &Address) -> bool {
        let accounts = self.accounts(addr).await;
        self.chosen.remove(addr);
        self.find(addr, &accounts).await.is_some()
    }

    /// Signs `message` with `addr` (MsgMeta `message`, Extra = the CBOR message), retrying
    /// once on another gateway after an error.
    pub async fn sign_message(
        &self,
        message: &venus_types::Message,
    ) -> Result<Signature, SignError> {
        let addr = message.from;
        let accounts = self.accounts(&addr).await;
        let meta = MsgMeta {
            msg_type: MsgType::parse("message"),
            extra: Base64Bytes(message.to_cbor()),
        };
        let to_sign = Base64Bytes(message.signing_bytes());
        let mut last = None;
        for _ in 0..2 {
            let Some(i) = self.find(&addr, &accounts).await else {
                return Err(last.unwrap_or(SignError::NoWallet(addr)));
            };
            let result = match self.client(i).await {
                Ok(c) => {
                    c.call_timeout(
                        gw::WALLET_SIGN,
                        (addr, accounts.clone(), to_sign.clone(), meta.clone()),
                        self.timeout,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(sig) => return Ok(sig),
                Err(e) => {
                    self.chosen.remove(&addr);
                    if matches!(e, ClientError::Connect { .. } | ClientError::Closed) {
                        self.reset(i).await;
                    }
                    last = Some(SignError::Failed {
                        addr,
                        gateway: self.gateways[i].url.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Err(last.unwrap_or(SignError::NoWallet(addr)))
    }
}
