//! The JSON-RPC server: HTTP POST and WebSocket on the same paths, token authentication,
//! permission check from the method table before dispatch, batches, limits.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::conn::{self, ConnLimits, ConnSetup, WsIn, WsOut};
use crate::ctx::Ctx;
use crate::error::RpcError;
use crate::observe::Metrics;
use crate::router::{Handler, Router};
use crate::serve::{App, ShutdownSignal};
use crate::verify::{Caller, TokenVerifier, VerifyError};
use crate::wire::{self, InFrame};

/// go-jsonrpc's default request size limit.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 100 << 20;

/// Calls in one HTTP batch; a longer batch is refused before any call runs. Its answers are
/// held in memory until the peer has read them.
pub const DEFAULT_MAX_BATCH_LEN: usize = 1024;

/// How often an open WebSocket connection's token is verified again, so a removed token or
/// a disabled user loses the connection: as often as venus-auth-client's verify cache
/// expires (10 s), so revocation reaches a connection within two cache lifetimes.
pub const DEFAULT_REVERIFY_INTERVAL: Duration = Duration::from_secs(10);

/// Serves one method table: JSON-RPC over HTTP POST and WebSocket on the same paths.
pub struct Server {
    router: Router,
    verifier: Arc<dyn TokenVerifier>,
    paths: Vec<String>,
    max_request_bytes: usize,
    max_connections: usize,
    limits: ConnLimits,
    metrics: Option<Metrics>,
    max_batch_len: usize,
    reverify_interval: Option<Duration>,
}

impl Server {
    pub fn new(router: Router, verifier: Arc<dyn TokenVerifier>) -> Self {
        Self {
            router,
            verifier,
            paths: vec!["/rpc/v0".into(), "/rpc/v1".into()],
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_connections: 10_000,
            limits: ConnLimits::default(),
            metrics: None,
            max_batch_len: DEFAULT_MAX_BATCH_LEN,
            reverify_interval: Some(DEFAULT_REVERIFY_INTERVAL),
        }
    }

    /// Calls accepted in one HTTP batch (default [`DEFAULT_MAX_BATCH_LEN`]).
    pub fn max_batch_len(mut self, n: usize) -> Self {
        self.max_batch_len = n.max(1);
        self
    }

    /// How often an open WebSocket connection's token is verified again; a refusal closes
    /// the connection (an unavailable verifier does not). `None`: verified at upgrade only.
    pub fn reverify_interval(mut self, every: Option<Duration>) -> Self {
        self.reverify_interval = every.filter(|d| !d.is_zero());
        self
    }

    /// The URL paths served (default `/rpc/v0` and `/rpc/v1`).
    pub fn paths(mut self, paths: &[&str]) -> Self {
        self.paths = paths.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// Largest HTTP body or WebSocket message accepted (default 100 MiB, as go-jsonrpc).
    pub fn max_request_bytes(mut self, n: usize) -> Self {
        self.max_request_bytes = n;
        self
    }

    /// WebSocket connections served at once; more are refused with HTTP 503.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Per-connection limits and timers for WebSocket connections.
    pub fn conn_limits(mut self, limits: ConnLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Count calls, errors and latency per method in this registry.
    pub fn metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// What a service serves: POSTs on the paths answered directly from the connection
    /// (the hot path: no axum router in it), WebSocket upgrades on GET through axum. Merge
    /// it with the service's own routes (health, metrics, REST), which are not behind the
    /// token check.
    pub fn into_app(self) -> App {
        let state = self.into_state();
        let mut app = App::new(routes(&state));
        for path in &state.paths {
            let state = state.clone();
            app = app.direct(http::Method::POST, path, move |req: Request, remote| {
                let state = state.clone();
                async move { http_call(&state, req, Some(remote)).await }
            });
        }
        app
    }

    /// The same endpoints as axum routes alone, for callers that need an `axum::Router`
    /// (in-process tests); [`Server::into_app`] is what services serve.
    pub fn into_router(self) -> axum::Router {
        routes(&self.into_state())
    }

    fn into_state(mut self) -> Arc<ServerState> {
        if let Some(metrics) = &self.metrics {
            let rpc = metrics.rpc();
            for entry in self.router.entries_mut() {
                Arc::make_mut(entry).metrics = rpc.for_method(entry.name);
            }
        }
        Arc::new(ServerState {
            router: Arc::new(self.router),
            verifier: self.verifier,
            paths: self.paths,
            max_request_bytes: self.max_request_bytes,
            limits: self.limits,
            ws_slots: Arc::new(Semaphore::new(self.max_connections)),
            max_batch_len: self.max_batch_len,
            reverify_interval: self.reverify_interval,
        })
    }
}

fn routes(state: &Arc<ServerState>) -> axum::Router {
    let mut app = axum::Router::new();
    for path in &state.paths {
        app = app.route(path, post(http_route).get(ws_upgrade));
    }
    app.with_state(state.clone())
}

struct ServerState {
    router: Arc<Router>,
    verifier: Arc<dyn TokenVerifier>,
    paths: Vec<String>,
    max_request_bytes: usize,
    limits: ConnLimits,
    ws_slots: Arc<Semaphore>,
    max_batch_len: usize,
    reverify_interval: Option<Duration>,
}

/// The token from `Authorization: Bearer …`, else from `?token=`.
fn token_of(parts: &http::request::Parts) -> Result<Cow<'_, str>, VerifyError> {
    if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
        let value = h
            .to_str()
            .map_err(|_| VerifyError::Invalid("Authorization header is not text".into()))?;
        return match value.strip_prefix("Bearer ") {
            Some(t) if !t.trim().is_empty() => Ok(Cow::Borrowed(t.trim())),
            _ => Err(VerifyError::Missing),
        };
    }
    parts
        .uri
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        })
        .filter(|t| !t.is_empty())
        .ok_or(VerifyError::Missing)
}

async fn authenticate(
    state: &ServerState,
    parts: &http::request::Parts,
) -> Result<Caller, Response> {
    let result = match token_of(parts) {
        // Checked here too: a verifier that is not a `ChainVerifier` (venus-auth-client's)
        // would forward a made-up megabyte to venus-auth.
        Ok(token) => match crate::verify::check_token_len(&token) {
            Ok(()) => state.verifier.verify(&token).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    result.map_err(|e| {
        tracing::debug!(error = %e, "refused RPC request");
        let status = match e {
            VerifyError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        (status, format!("{e}\n")).into_response()
    })
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(AxumBody::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// go-jsonrpc's statuses: 400 for an invalid request, 500 for other protocol errors, 200
/// for results and for errors a method returned.
fn status_for(err: &RpcError) -> StatusCode {
    match err.code {
        RpcError::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        c if (-32768..=-32000).contains(&c) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    }
}

fn error_response(status: StatusCode, err: &RpcError) -> Response {
    json_response(status, wire::response_string(None, Err(err)).into_bytes())
}

async fn http_route(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    http_call(&state, req, remote).await
}

async fn http_call(state: &ServerState, req: Request, remote: Option<SocketAddr>) -> Response {
    let (parts, body) = req.into_parts();
    let caller = match authenticate(state, &parts).await {
        Ok(c) => Arc::new(c),
        Err(resp) => return resp,
    };
    let too_large = || {
        let err = RpcError::invalid_request(format!(
            "request body exceeds {} bytes",
            state.max_request_bytes
        ));
        error_response(StatusCode::PAYLOAD_TOO_LARGE, &err)
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_request_bytes) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, state.max_request_bytes).await else {
        return too_large();
    };
    match wire::parse_body(&bytes) {
        Err(e) => error_response(status_for(&e), &e),
        Ok(wire::Body::Single(frame)) => {
            let mut buf = Vec::with_capacity(128);
            match http_frame(state, &caller, remote, frame, &mut buf).await {
                Some(status) => json_response(status, buf),
                None => StatusCode::NO_CONTENT.into_response(),
            }
        }
        Ok(wire::Body::Batch(items)) => {
            if items.is_empty() {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    &RpcError::invalid_request("empty batch"),
                );
            }
            if items.len() > state.max_batch_len {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    &RpcError::invalid_request(format!(
                        "batch of {} calls exceeds the limit of {}",
                        items.len(),
                        state.max_batch_len
                    )),
                );
            }
            // Collected first: a lazy `map` inside the stream trips the handler's `Send` bound.
            let calls: Vec<_> = items
                .into_iter()
                .map(|raw| {
                    let caller = &caller;
                    async move {
                        let mut buf = Vec::new();
                        match wire::parse_frame(raw) {
                            Ok(frame) => http_frame(state, caller, remote, frame, &mut buf)
                                .await
                                .map(|_| buf),
                            Err(e) => {
                                wire::write_response(&mut buf, None, Err(&e));
                                Some(buf)
                            }
                        }
                    }
                })
                .collect();
            // A batch is one connection's work: at most `max_inflight` of its calls run at
            // once, as on a WebSocket connection; answers keep the request order.
            let answers: Vec<Vec<u8>> = futures::stream::iter(calls)
                .buffered(state.limits.max_inflight.max(1))
                .filter_map(futures::future::ready)
                .collect()
                .await;
            if answers.is_empty() {
                return StatusCode::NO_CONTENT.into_response();
            }
            let mut out =
                Vec::with_capacity(answers.iter().map(|a| a.len() + 1).sum::<usize>() + 2);
            out.push(b'[');
            for (i, a) in answers.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(a);
            }
            out.push(b']');
            json_response(StatusCode::OK, out)
        }
    }
}

/// Serve one frame over HTTP, writing the response into `buf`. `None` for a notification.
async fn http_frame(
    state: &ServerState,
    caller: &Arc<Caller>,
    remote: Option<SocketAddr>,
    frame: InFrame<'_>,
    buf: &mut Vec<u8>,
) -> Option<StatusCode> {
    let id = frame.id();
    let outcome = http_dispatch(state, caller, remote, &frame).await;
    id?;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(e) => status_for(e),
    };
    wire::write_response(buf, id, outcome.as_deref());
    Some(status)
}

async fn http_dispatch(
    state: &ServerState,
    caller: &Arc<Caller>,
    remote: Option<SocketAddr>,
    frame: &InFrame<'_>,
) -> Result<Box<RawValue>, RpcError> {
    frame.check_version()?;
    let Some(name) = frame.method.as_deref() else {
        return Err(RpcError::invalid_request("request has no method"));
    };
    let Some(entry) = state.router.get(name) else {
        return Err(RpcError::method_not_found(name));
    };
    let started = Instant::now();
    if !caller.perm.grants(entry.perm) {
        entry.metrics.record(started, false);
        return Err(RpcError::missing_permission(entry.name, entry.perm));
    }
    let result = match &entry.handler {
        Handler::Subscribe(_) => Err(RpcError::no_channel_support(name)),
        Handler::Call(call) => {
            let ctx = Ctx::from_parts(caller.clone(), None, remote, entry.name);
            match call(ctx, frame.params) {
                Ok(fut) => {
                    let span =
                        tracing::debug_span!("rpc", method = entry.name, user = %caller.user);
                    fut.instrument(span).await
                }
                Err(e) => Err(e),
            }
        }
    };
    entry.metrics.record(started, result.is_ok());
    if let Err(e) = &result {
        tracing::debug!(method = entry.name, code = e.code, error = %e.message, "call failed");
    }
    result
}

async fn ws_upgrade(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let caller = match authenticate(&state, &parts).await {
        Ok(c) => Arc::new(c),
        Err(resp) => return resp,
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(slot) = state.ws_slots.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket connections\n",
        )
            .into_response();
    };
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let stop = parts
        .extensions
        .get::<ShutdownSignal>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    let handlers: Arc<dyn conn::Handlers> = state.router.clone();
    let reverify = match (state.reverify_interval, token_of(&parts)) {
        (Some(every), Ok(token)) => Some(conn::Reverify {
            verifier: state.verifier.clone(),
            token: token.into_owned(),
            every,
        }),
        _ => None,
    };
    let setup = ConnSetup {
        handlers,
        caller,
        remote,
        limits: state.limits.clone(),
        reverify,
    };
    upgrade
        .max_message_size(state.max_request_bytes)
        .on_upgrade(move |socket| async move {
            let (peer, out_rx, reverify) = conn::new_conn(setup);
            tracing::debug!(conn = peer.id(), ?remote, user = %peer.caller().user, "WebSocket connected");
            let (reader, writer) = adapt_axum(socket);
            conn::drive(peer.clone(), out_rx, reverify, reader, writer, stop).await;
            tracing::debug!(conn = peer.id(), "WebSocket closed");
            drop(slot);
        })
}

fn adapt_axum(
    socket: WebSocket,
) -> (
    impl futures::Stream<Item = WsIn> + Send + Unpin + 'static,
    impl futures::Sink<WsOut> + Send + Unpin + 'static,
) {
    let (sink, stream) = socket.split();
    let reader = stream.map(|m| match m {
        Ok(m @ (Message::Text(_) | Message::Binary(_))) => WsIn::Data(m.into_data()),
        Ok(Message::Close(_)) | Err(_) => WsIn::Close,
        Ok(_) => WsIn::Alive,
    });
    let writer = sink.with(|m: WsOut| {
        futures::future::ready(Ok::<_, axum::Error>(match m {
            WsOut::Text(s) => Message::Text(s.into()),
            WsOut::Ping => Message::Ping(Bytes::new()),
            WsOut::Close => Message::Close(None),
        }))
    });
    (reader, writer)
}
