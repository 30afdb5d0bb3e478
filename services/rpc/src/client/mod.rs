//! The typed client: HTTP or WebSocket, chosen by the address; timeouts; reconnect with
//! back-off (WebSocket); channel subscriptions; handlers the server may call back.

pub mod addr;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use parking_lot::RwLock;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

use crate::call_error::ClientError;
use crate::conn::{self, ChannelStream, ConnLimits, ConnSetup, Peer, WsIn, WsOut};
use crate::ctx::Ctx;
use crate::error::RpcError;
use crate::method::{Method, Subscription};
use crate::perm::Permission;
use crate::router::Router;
use crate::verify::Caller;
use crate::wire::{self, InFrame};

pub use addr::{Endpoint, parse_address};

/// Options for [`Client`]; start with [`Client::builder`]. (No `Debug`: it holds the token.)
#[derive(Clone)]
pub struct ClientBuilder {
    addr: String,
    token: Option<String>,
    version: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_reconnect_delay: Duration,
    max_message_bytes: usize,
    limits: ConnLimits,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// TLS for `https://`/`wss://` addresses; default [`crate::tls::client_config`] (system
    /// roots, `SSL_CERT_FILE`). Set this to trust a private CA for this client only.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The token to send as `Authorization: Bearer`; overrides one given in the address.
    pub fn token(mut self, token: Option<impl Into<String>>) -> Self {
        if let Some(t) = token {
            self.token = Some(t.into());
        }
        self
    }

    /// API version for addresses that name no path (`/rpc/<version>`; default `v1`).
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_owned();
        self
    }

    /// Timeout of each call (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.limits.call_timeout = timeout;
        self
    }

    /// Timeout of one connection attempt (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Upper bound of the reconnect back-off (default 5 s; it starts at 100 ms and doubles).
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    /// Limits of the WebSocket connection (buffers, ping, idle timeout).
    pub fn conn_limits(mut self, limits: ConnLimits) -> Self {
        let timeout = self.timeout;
        self.limits = ConnLimits {
            call_timeout: timeout,
            ..limits
        };
        self
    }

    /// An extra header on every request and upgrade (e.g. `X-VENUS-API-NAMESPACE`).
    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Resolve the address and, for WebSocket, connect.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let endpoint = addr::parse_address(&self.addr, &self.version)?;
        let token = self.token.clone().or(endpoint.token.clone());
        let transport = if endpoint.is_websocket() {
            Transport::Ws(WsTransport {
                handlers: Arc::new(RwLock::new(Router::new())),
                current: parking_lot::Mutex::new(None),
                dial: tokio::sync::Mutex::new(()),
                stop: CancellationToken::new(),
            })
        } else {
            let tls = self.tls.clone().unwrap_or_else(crate::tls::client_config);
            #[allow(clippy::disallowed_methods)] // its own TLS configuration, set here
            let http = reqwest::Client::builder()
                .tls_backend_preconfigured((*tls).clone())
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|e| ClientError::Connect {
                    addr: endpoint.url.to_string(),
                    reason: e.to_string(),
                })?;
            Transport::Http(http)
        };
        let client = Client {
            inner: Arc::new(ClientInner {
                endpoint,
                token,
                opts: self,
                transport,
                next_id: AtomicU64::new(1),
            }),
        };
        if let Transport::Ws(_) = &client.inner.transport {
            // One attempt: a wrong address should fail now, not after the reconnect budget.
            client.peer_within(Duration::ZERO).await?;
        }
        Ok(client)
    }
}

/// A JSON-RPC client. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    endpoint: Endpoint,
    token: Option<String>,
    opts: ClientBuilder,
    transport: Transport,
    next_id: AtomicU64,
}

enum Transport {
    Http(reqwest::Client),
    Ws(WsTransport),
}

struct WsTransport {
    handlers: Arc<RwLock<Router>>,
    current: parking_lot::Mutex<Option<Peer>>,
    dial: tokio::sync::Mutex<()>,
    /// Closes the connection when the last clone of the client is dropped.
    stop: CancellationToken,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if let Transport::Ws(ws) = &self.transport {
            ws.stop.cancel();
        }
    }
}

/// Typed params as the positional array go-jsonrpc sends (shared by `Client` and `Peer`).
pub(crate) fn encode_params<P: Serialize>(params: &P) -> Result<Box<RawValue>, ClientError> {
    wire::encode_params(params).map_err(|e| ClientError::Encode(e.to_string()))
}

/// A method's raw result read as its declared type.
pub(crate) fn decode_result<R: DeserializeOwned>(
    method: &str,
    raw: &RawValue,
) -> Result<R, ClientError> {
    serde_json::from_str(raw.get()).map_err(|e| ClientError::Decode(format!("{method}: {e}")))
}

impl Client {
    pub fn builder(addr: &str) -> ClientBuilder {
        let limits = ConnLimits::default();
        ClientBuilder {
            addr: addr.to_owned(),
            token: None,
            version: "v1".into(),
            timeout: limits.call_timeout,
            connect_timeout: Duration::from_secs(10),
            max_reconnect_delay: Duration::from_secs(5),
            max_message_bytes: crate::server::DEFAULT_MAX_REQUEST_BYTES,
            limits: ConnLimits {
                idle_timeout: Duration::from_secs(30),
                ..limits
            },
            headers: Vec::new(),
            tls: None,
        }
    }

    /// Connect with default options: `addr` is a multiaddr, URL or `token:multiaddr`.
    pub async fn connect(addr: &str, token: Option<String>) -> Result<Self, ClientError> {
        Self::builder(addr).token(token).connect().await
    }

    /// The resolved URL.
    pub fn url(&self) -> &url::Url {
        &self.inner.endpoint.url
    }

    pub fn is_websocket(&self) -> bool {
        matches!(self.inner.transport, Transport::Ws(_))
    }

    /// Call a method with the client's timeout.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
    ) -> Result<R, ClientError> {
        self.call_timeout(method, params, self.inner.opts.timeout)
            .await
    }

    pub async fn call_timeout<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
        timeout: Duration,
    ) -> Result<R, ClientError> {
        let params = encode_params(&params)?;
        decode_result(
            method.name(),
            &self.call_raw(method.name(), &params, timeout).await?,
        )
    }

    /// Call by name with a raw params array; returns the raw result.
    pub async fn call_raw(
        &self,
        method: &str,
        params: &RawValue,
        timeout: Duration,
    ) -> Result<Box<RawValue>, ClientError> {
        match &self.inner.transport {
            Transport::Http(http) => self.http_call(http, method, params, timeout).await,
            Transport::Ws(_) => {
                let started = Instant::now();
                let peer = self.peer_within(timeout).await?;
                let left = timeout.saturating_sub(started.elapsed());
                peer.call_raw(method, params, left).await
            }
        }
    }

    /// Open a channel (WebSocket only). The stream ends when the server closes the channel
    /// or the connection drops (subscribe again after a reconnect, as go-jsonrpc clients do).
    pub async fn subscribe<P: Serialize, T: DeserializeOwned>(
        &self,
        sub: Subscription<P, T>,
        params: P,
    ) -> Result<ChannelStream<T>, ClientError> {
        match &self.inner.transport {
            Transport::Http(_) => Err(ClientError::NeedsWebSocket(sub.name().to_owned())),
            Transport::Ws(_) => self.peer().await?.subscribe(sub, params).await,
        }
    }

    /// Serve `method` to the server on this connection (go-jsonrpc client-side handlers,
    /// used for reverse calls). Handlers registered later apply to the live connection
    /// too; the server is trusted, so its calls run with admin permission.
    pub fn handle<P, R, F, Fut>(&self, method: Method<P, R>, handler: F) -> &Self
    where
        P: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(Ctx, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        match &self.inner.transport {
            Transport::Ws(ws) => {
                ws.handlers.write().method(method, handler);
            }
            Transport::Http(_) => {
                tracing::warn!(
                    method = method.name(),
                    "client-side handler ignored: HTTP clients cannot be called back"
                );
            }
        }
        self
    }

    /// The live WebSocket connection, reconnecting (with back-off, within the call
    /// timeout) if it dropped.
    pub async fn peer(&self) -> Result<Peer, ClientError> {
        self.peer_within(self.inner.opts.timeout).await
    }

    async fn peer_within(&self, budget: Duration) -> Result<Peer, ClientError> {
        let Transport::Ws(ws) = &self.inner.transport else {
            return Err(ClientError::NeedsWebSocket("a connection".into()));
        };
        if let Some(p) = ws.current.lock().as_ref().filter(|p| !p.is_closed()) {
            return Ok(p.clone());
        }
        let deadline = Instant::now() + budget;
        let _dialing = ws.dial.lock().await;
        if let Some(p) = ws.current.lock().as_ref().filter(|p| !p.is_closed()) {
            return Ok(p.clone());
        }
        let mut delay = Duration::from_millis(100);
        loop {
            match self.dial(ws).await {
                Ok(peer) => {
                    *ws.current.lock() = Some(peer.clone());
                    return Ok(peer);
                }
                // A refused token will not get better by retrying.
                Err(e @ ClientError::Unauthorized(_)) => return Err(e),
                Err(e) => {
                    let now = Instant::now();
                    if now + delay >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(url = %self.inner.endpoint.url, error = %e, ?delay, "reconnecting");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.inner.opts.max_reconnect_delay);
                }
            }
        }
    }

    async fn dial(&self, ws: &WsTransport) -> Result<Peer, ClientError> {
        let inner = &self.inner;
        let url = inner.endpoint.url.as_str();
        let connect_err = |reason: String| ClientError::Connect {
            addr: url.to_owned(),
            reason,
        };
        let mut request = url
            .into_client_request()
            .map_err(|e| connect_err(e.to_string()))?;
        if let Some(token) = &inner.token {
            let value = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                connect_err("the token contains characters not allowed in a header".into())
            })?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
        }
        for (name, value) in &inner.opts.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(inner.opts.max_message_bytes))
            .max_frame_size(Some(inner.opts.max_message_bytes));
        // Only consulted for wss://; ws:// stays plain TCP.
        let tls = inner
            .opts
            .tls
            .clone()
            .unwrap_or_else(crate::tls::client_config);
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(tokio_tungstenite::Connector::Rustls(tls)),
        );
        let (socket, _response) =
            match tokio::time::timeout(inner.opts.connect_timeout, connecting).await {
                Err(_) => {
                    return Err(connect_err(format!(
                        "timed out after {:?}",
                        inner.opts.connect_timeout
                    )));
                }
                Ok(Err(tungstenite::Error::Http(resp))) => {
                    let body = resp
                        .body()
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
                    return Err(if resp.status() == http::StatusCode::UNAUTHORIZED {
                        ClientError::Unauthorized(body)
                    } else {
                        ClientError::Http {
                            status: resp.status().as_u16(),
                            body,
                        }
                    });
                }
                Ok(Err(e)) => return Err(connect_err(e.to_string())),
                Ok(Ok(s)) => s,
            };
        let handlers: Arc<dyn conn::Handlers> = ws.handlers.clone();
        let setup = ConnSetup {
            handlers,
            caller: Arc::new(Caller {
                user: String::new(),
                perm: Permission::Admin,
            }),
            remote: None,
            limits: inner.opts.limits.clone(),
            reverify: None,
        };
        let (peer, out_rx, _) = conn::new_conn(setup);
        let (sink, stream) = socket.split();
        let reader = stream.map(|m| match m {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => WsIn::Data(m.into_data()),
            Ok(Message::Close(_)) | Err(_) => WsIn::Close,
            Ok(_) => WsIn::Alive,
        });
        let writer = sink.with(|m: WsOut| {
            futures::future::ready(Ok::<_, tungstenite::Error>(match m {
                WsOut::Text(s) => Message::Text(s.into()),
                WsOut::Ping => Message::Ping(Bytes::new()),
                WsOut::Close => Message::Close(None),
            }))
        });
        tokio::spawn(conn::drive(
            peer.clone(),
            out_rx,
            None,
            reader,
            writer,
            ws.stop.clone(),
        ));
        tracing::debug!(url, conn = peer.id(), "WebSocket connected");
        Ok(peer)
    }

    async fn http_call(
        &self,
        http: &reqwest::Client,
        method: &str,
        params: &RawValue,
        timeout: Duration,
    ) -> Result<Box<RawValue>, ClientError> {
        let inner = &self.inner;
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut req = http
            .post(inner.endpoint.url.clone())
            .timeout(timeout)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(wire::request_string(Some(id), method, params));
        if let Some(token) = &inner.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in &inner.opts.headers {
            req = req.header(name.clone(), value.clone());
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                ClientError::Timeout(timeout)
            } else {
                ClientError::Connect {
                    addr: inner.endpoint.url.to_string(),
                    reason: e.to_string(),
                }
            }
        })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ClientError::Timeout(timeout)
            } else {
                ClientError::Closed
            }
        })?;
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized(
                String::from_utf8_lossy(&body).trim().to_owned(),
            ));
        }
        match serde_json::from_slice::<InFrame<'_>>(&body) {
            Ok(frame) if frame.error.is_some() => Err(ClientError::Rpc(
                frame.error.unwrap_or_else(|| RpcError::method("")),
            )),
            Ok(frame) if status.is_success() => Ok(frame
                .result
                .map_or_else(Box::<RawValue>::default, RawValue::to_owned)),
            _ => Err(ClientError::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(512).collect(),
            }),
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("url", &self.inner.endpoint.url.as_str())
            .finish()
    }
}
