//! Connections to the node(s) and gateway(s): dialled on first use (a component that is
//! down at start does not stop the miner), then kept (the WebSocket client reconnects by
//! itself).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use venus_rpc::{Client, ClientError, Method};

/// Errors that say the upstream could not be reached, as opposed to an answer it gave.
pub fn is_unreachable(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Connect { .. }
            | ClientError::Closed
            | ClientError::Timeout(_)
            | ClientError::Http { .. }
    )
}

pub struct Upstream {
    addr: String,
    token: String,
    version: &'static str,
    timeout: Duration,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Upstream {
    pub fn new(addr: &str, token: &str, version: &'static str, timeout: Duration) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.to_owned(),
            version,
            timeout,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// The address as configured (never carries the token: a `token:addr` form is split).
    pub fn addr(&self) -> &str {
        self.addr
            .rsplit_once(":/")
            .map_or(self.addr.as_str(), |(_, a)| a)
    }

    async fn client(&self) -> Result<Client, ClientError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let token = (!self.token.is_empty()).then(|| self.token.clone());
        let c = Client::builder(&self.addr)
            .token(token)
            .version(self.version)
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(3))
            .max_reconnect_delay(Duration::from_secs(2))
            .connect()
            .await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
    ) -> Result<R, ClientError> {
        self.client().await?.call(method, params).await
    }

    pub async fn call_timeout<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
        timeout: Duration,
    ) -> Result<R, ClientError> {
        self.client()
            .await?
            .call_timeout(method, params, timeout)
            .await
    }
}
