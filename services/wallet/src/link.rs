//! One link per gateway: dial, `ListenWalletEvent`, answer each event, and start over after a
//! disconnect (gateway restart) — the wallet's side of the event-channel flow.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use venus_api::gateway::{
    self as api, ConnectedCompleted, RequestEvent, ResponseEvent, WalletRegisterPolicy,
    WalletSignRequest, event,
};
use venus_rpc::Client;

use crate::wallet::{AddressChange, Wallet};

/// Delay before redialling a gateway (the original retries after 1 s).
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The state of one gateway link, shared with the API (`AddSupportAccount`) and status.
pub struct GatewayLink {
    url: String,
    token: String,
    accounts: Mutex<Vec<String>>,
    /// Set once `InitConnect` arrived: the link is registered and may push changes.
    session: Mutex<Option<(Client, Uuid)>>,
}

impl GatewayLink {
    pub fn new(url: String, token: String, accounts: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            url,
            token,
            accounts: Mutex::new(accounts),
            session: Mutex::new(None),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The channel id while registered.
    pub fn channel(&self) -> Option<Uuid> {
        self.session.lock().as_ref().map(|(_, c)| *c)
    }

    /// Serve the gateway until `stop`; redial after every disconnect.
    pub async fn run(self: Arc<Self>, wallet: Arc<Wallet>, stop: CancellationToken) {
        let mut delay = RETRY_MIN;
        loop {
            let outcome = tokio::select! {
                r = self.session_once(&wallet) => r,
                _ = stop.cancelled() => return,
            };
            *self.session.lock() = None;
            match outcome {
                Ok(()) => {
                    tracing::warn!(gateway = %self.url, "gateway closed the event channel; reconnecting");
                    delay = RETRY_MIN;
                }
                Err(e) => {
                    tracing::warn!(gateway = %self.url, error = %e, retry_in = ?delay, "gateway link failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return,
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    async fn session_once(&self, wallet: &Arc<Wallet>) -> anyhow::Result<()> {
        let client = Client::builder(&self.url)
            .version("v2")
            .token(Some(self.token.clone()))
            .connect()
            .await?;
        let policy = WalletRegisterPolicy {
            support_accounts: Some(self.accounts.lock().clone()),
            sign_bytes: wallet.sign_bytes().to_vec().into(),
        };
        let mut events = client
            .subscribe(api::LISTEN_WALLET_EVENT, (policy,))
            .await?;
        let mut changes = wallet.subscribe_changes();
        // The gateway asks for WalletList before it sends InitConnect with our channel id: a
        // key made in between is in neither, so it waits here until the channel is known.
        let mut pending: Vec<AddressChange> = Vec::new();
        tracing::info!(gateway = %self.url, "listening for wallet events");
        loop {
            tokio::select! {
                ev = events.next() => {
                    let Some(ev) = ev else { return Ok(()) };
                    self.on_event(&client, wallet, ev);
                    if let Some(channel) = self.channel() {
                        for change in pending.drain(..) {
                            self.spawn_push(&client, channel, change);
                        }
                    }
                }
                change = changes.recv() => {
                    match change {
                        Ok(change) => match self.channel() {
                            Some(channel) => self.spawn_push(&client, channel, change),
                            None => pending.push(change),
                        },
                        // Missed changes: re-register to resync the address list.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => anyhow::bail!("address changes lagged; re-registering"),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    }
                }
            }
        }
    }

    /// Off the event loop: the gateway answers only after this wallet signs its
    /// proof-of-possession challenge, which arrives as an event.
    fn spawn_push(&self, client: &Client, channel: Uuid, change: AddressChange) {
        let (client, url) = (client.clone(), self.url.clone());
        tokio::spawn(async move { push_change(&client, channel, &url, change).await });
    }

    fn on_event(&self, client: &Client, wallet: &Arc<Wallet>, ev: RequestEvent) {
        if ev.method == event::INIT_CONNECT {
            match serde_json::from_slice::<ConnectedCompleted>(&ev.payload) {
                Ok(done) => {
                    tracing::info!(gateway = %self.url, channel = %done.channel_id, "registered with gateway");
                    *self.session.lock() = Some((client.clone(), done.channel_id));
                }
                Err(e) => {
                    tracing::warn!(gateway = %self.url, error = %e, "bad InitConnect payload")
                }
            }
            return;
        }
        // Each request on its own task: a slow signature never holds up the others.
        let client = client.clone();
        let wallet = wallet.clone();
        // The gateway does not say which of its callers asked: name the link and the
        // accounts it serves (the gateway routed the request on one of them).
        let caller = format!(
            "gateway {} for {}",
            self.url,
            self.accounts.lock().join(",")
        );
        tokio::spawn(async move {
            let resp = answer(&wallet, &ev, &caller);
            if let Err(e) = client.call(api::RESPONSE_WALLET_EVENT, (resp,)).await {
                tracing::warn!(request = %ev.id, error = %e, "could not deliver the answer to the gateway");
            }
        });
    }

    /// Serve one more account: remembered for reconnects and told to the gateway now.
    pub async fn support_account(&self, account: &str) -> anyhow::Result<()> {
        {
            let mut accounts = self.accounts.lock();
            if !accounts.iter().any(|a| a == account) {
                accounts.push(account.to_owned());
            }
        }
        let session = self.session.lock().clone();
        if let Some((client, channel)) = session {
            client
                .call(api::SUPPORT_NEW_ACCOUNT, (channel, account.to_owned()))
                .await?;
        }
        Ok(())
    }
}

/// The answer to one gateway request.
fn answer(wallet: &Wallet, ev: &RequestEvent, caller: &str) -> ResponseEvent {
    let result: Result<Vec<u8>, String> = match ev.method.as_str() {
        event::WALLET_LIST => wallet
            .list()
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::to_vec(&l).map_err(|e| e.to_string())),
        event::WALLET_SIGN => serde_json::from_slice::<WalletSignRequest>(&ev.payload)
            .map_err(|e| format!("bad WalletSign payload: {e}"))
            .and_then(|req| {
                wallet
                    .sign_as(caller, &req.signer, &req.to_sign, &req.meta)
                    .map_err(|e| e.to_string())
            })
            .and_then(|sig| serde_json::to_vec(&sig).map_err(|e| e.to_string())),
        other => Err(format!("unsupported event method {other}")),
    };
    match result {
        Ok(payload) => ResponseEvent {
            id: ev.id,
            payload: payload.into(),
            error: String::new(),
        },
        Err(error) => {
            tracing::debug!(request = %ev.id, method = %ev.method, %error, "refused a gateway request");
            ResponseEvent {
                id: ev.id,
                payload: Vec::new().into(),
                error,
            }
        }
    }
}

async fn push_change(client: &Client, channel: Uuid, url: &str, change: AddressChange) {
    let result = match change {
        AddressChange::Added(a) => client.call(api::ADD_NEW_ADDRESS, (channel, vec![a])).await,
        AddressChange::Removed(a) => client.call(api::REMOVE_ADDRESS, (channel, vec![a])).await,
    };
    if let Err(e) = result {
        tracing::warn!(gateway = %url, error = %e, "could not tell the gateway about an address change");
    }
}
