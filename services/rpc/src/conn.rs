//! One WebSocket connection, either side: serves the calls that arrive (through a method
//! table), matches responses to the calls this side made, and carries go-jsonrpc channels
//! both ways (`xrpc.ch.val`, `xrpc.ch.close`, `xrpc.cancel`).
//!
//! The server uses it for every upgraded connection (calls from the client, reverse calls
//! to it through [`Peer`]); the client uses it for its connection (its calls, subscriptions
//! and the handlers the server may call).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, Stream, StreamExt};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::call_error::ClientError;
use crate::client;
use crate::ctx::Ctx;
use crate::error::RpcError;
use crate::method::{Method, Subscription};
use crate::router::{Entry, Handler, Router};
use crate::verify::{Caller, TokenVerifier, VerifyError};
use crate::wire::{self, InFrame};

/// Limits and timers of one WebSocket connection.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Calls served at once on one connection; further frames wait (TCP back-pressure).
    pub max_inflight: usize,
    /// Open channels (subscriptions) on one connection (go-jsonrpc: 16384).
    pub max_subscriptions: usize,
    /// Outgoing frames queued per connection before writers wait.
    pub out_buffer: usize,
    /// A channel whose value cannot be queued for this long is closed (slow consumer).
    pub slow_consumer_timeout: Duration,
    /// Incoming channel values buffered per subscription (client side); when full the
    /// subscription is cancelled rather than buffering without bound.
    pub channel_buffer: usize,
    /// WebSocket ping period (go-jsonrpc: 5 s).
    pub ping_interval: Duration,
    /// Close the connection when nothing (not even a pong) arrived for this long.
    pub idle_timeout: Duration,
    /// Default timeout of calls made on this connection ([`Peer::call`], client calls).
    pub call_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_inflight: 256,
            max_subscriptions: 1024,
            out_buffer: 512,
            slow_consumer_timeout: Duration::from_secs(10),
            channel_buffer: 256,
            ping_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// Where a connection finds the handlers for incoming calls.
pub(crate) trait Handlers: Send + Sync + 'static {
    fn lookup(&self, name: &str) -> Option<Arc<Entry>>;
}

impl Handlers for Router {
    fn lookup(&self, name: &str) -> Option<Arc<Entry>> {
        self.get(name).cloned()
    }
}

/// The client's handler table, to which handlers may be added after connecting.
impl Handlers for parking_lot::RwLock<Router> {
    fn lookup(&self, name: &str) -> Option<Arc<Entry>> {
        self.read().get(name).cloned()
    }
}

/// A frame read from the socket, transport-neutral.
pub(crate) enum WsIn {
    Data(bytes::Bytes),
    /// Ping, pong or anything else that only proves the peer is alive.
    Alive,
    Close,
}

/// A frame to write.
pub(crate) enum WsOut {
    Text(String),
    Ping,
    Close,
}

enum Pending {
    Call(oneshot::Sender<Result<Box<RawValue>, ClientError>>),
    Subscribe(
        oneshot::Sender<Result<u64, ClientError>>,
        mpsc::Sender<Box<RawValue>>,
    ),
}

struct InChannel {
    call_id: u64,
    values: mpsc::Sender<Box<RawValue>>,
}

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct ConnInner {
    id: u64,
    out: mpsc::Sender<WsOut>,
    closed: CancellationToken,
    handlers: Arc<dyn Handlers>,
    caller: Arc<Caller>,
    remote: Option<SocketAddr>,
    limits: ConnLimits,
    inflight: Arc<Semaphore>,
    /// Calls this side made, by id.
    pending: Mutex<HashMap<u64, Pending>>,
    next_call: AtomicU64,
    /// Channels the remote feeds us, by channel id.
    in_channels: Mutex<HashMap<u64, InChannel>>,
    /// Calls and channels this side serves, by the raw request id, for `xrpc.cancel`.
    serving: Mutex<HashMap<Box<str>, CancellationToken>>,
    next_channel: AtomicU64,
    subscriptions: AtomicUsize,
}

/// A WebSocket connection as seen by a handler: reverse calls to the other side, its id,
/// and a notice when it closes. Cheap to clone.
#[derive(Clone)]
pub struct Peer(Arc<ConnInner>);

impl Peer {
    /// Process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.0.remote
    }

    /// The caller authenticated at upgrade (server side).
    pub fn caller(&self) -> &Caller {
        &self.0.caller
    }

    pub fn is_closed(&self) -> bool {
        self.0.closed.is_cancelled()
    }

    /// Resolves when the connection has closed; in-flight calls on it have failed by then.
    pub async fn closed(&self) {
        self.0.closed.cancelled().await
    }

    /// Call a method the other side serves, with the connection's default timeout.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
    ) -> Result<R, ClientError> {
        self.call_timeout(method, params, self.0.limits.call_timeout)
            .await
    }

    /// Call with an explicit timeout. On timeout, or when this future is dropped, the
    /// remote is sent `xrpc.cancel` for the call.
    pub async fn call_timeout<P: Serialize, R: DeserializeOwned>(
        &self,
        method: Method<P, R>,
        params: P,
        timeout: Duration,
    ) -> Result<R, ClientError> {
        let params = client::encode_params(&params)?;
        client::decode_result(
            method.name(),
            &self.call_raw(method.name(), &params, timeout).await?,
        )
    }

    /// Call by name with raw params (a JSON array) and get the raw result.
    pub async fn call_raw(
        &self,
        method: &str,
        params: &RawValue,
        timeout: Duration,
    ) -> Result<Box<RawValue>, ClientError> {
        let inner = &self.0;
        if inner.closed.is_cancelled() {
            return Err(ClientError::Closed);
        }
        let id = inner.next_call.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        inner.pending.lock().insert(id, Pending::Call(tx));
        let guard = PendingGuard {
            inner,
            id,
            armed: true,
        };
        let frame = wire::request_string(Some(id), method, params);
        let result = tokio::time::timeout(timeout, async {
            inner.send(WsOut::Text(frame)).await?;
            rx.await.map_err(|_| ClientError::Closed)?
        })
        .await;
        match result {
            Ok(r) => {
                guard.disarm();
                r
            }
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// Open a channel the other side serves; values arrive on the returned stream until
    /// the other side closes it, the connection drops, or the stream is dropped (which
    /// sends `xrpc.cancel`).
    pub async fn subscribe<P: Serialize, T: DeserializeOwned>(
        &self,
        sub: Subscription<P, T>,
        params: P,
    ) -> Result<ChannelStream<T>, ClientError> {
        let params = client::encode_params(&params)?;
        let inner = &self.0;
        if inner.closed.is_cancelled() {
            return Err(ClientError::Closed);
        }
        let id = inner.next_call.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let (values_tx, values_rx) = mpsc::channel(inner.limits.channel_buffer.max(1));
        inner
            .pending
            .lock()
            .insert(id, Pending::Subscribe(tx, values_tx));
        let guard = PendingGuard {
            inner,
            id,
            armed: true,
        };
        let frame = wire::request_string(Some(id), sub.name(), &params);
        let timeout = inner.limits.call_timeout;
        let result = tokio::time::timeout(timeout, async {
            inner.send(WsOut::Text(frame)).await?;
            rx.await.map_err(|_| ClientError::Closed)?
        })
        .await;
        match result {
            Ok(Ok(channel)) => {
                guard.disarm();
                Ok(ChannelStream {
                    values: values_rx,
                    conn: self.0.clone(),
                    call_id: id,
                    channel,
                    method: sub.name(),
                    _t: PhantomData,
                })
            }
            Ok(Err(e)) => {
                guard.disarm();
                Err(e)
            }
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("id", &self.0.id)
            .field("remote", &self.0.remote)
            .finish()
    }
}

/// Removes a pending call that was abandoned (timeout or drop) and tells the remote.
struct PendingGuard<'a> {
    inner: &'a ConnInner,
    id: u64,
    armed: bool,
}

impl PendingGuard<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if self.armed
            && self.inner.pending.lock().remove(&self.id).is_some()
            && !self.inner.closed.is_cancelled()
        {
            // Best effort: a full queue means the connection is struggling anyway.
            let _ = self
                .inner
                .out
                .try_send(WsOut::Text(wire::cancel_string(self.id)));
        }
    }
}

/// Values of a channel opened with [`Peer::subscribe`] or `Client::subscribe`.
pub struct ChannelStream<T> {
    values: mpsc::Receiver<Box<RawValue>>,
    conn: Arc<ConnInner>,
    call_id: u64,
    channel: u64,
    method: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> ChannelStream<T> {
    /// The channel id the server assigned.
    pub fn channel_id(&self) -> u64 {
        self.channel
    }
}

impl<T: DeserializeOwned> Stream for ChannelStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match self.values.poll_recv(cx) {
                Poll::Ready(Some(raw)) => match serde_json::from_str(raw.get()) {
                    Ok(v) => return Poll::Ready(Some(v)),
                    Err(e) => {
                        tracing::warn!(method = self.method, error = %e, "skipping a channel value that does not decode");
                    }
                },
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T> std::fmt::Debug for ChannelStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelStream")
            .field("method", &self.method)
            .field("channel", &self.channel)
            .finish()
    }
}

impl<T> Drop for ChannelStream<T> {
    fn drop(&mut self) {
        let was_open = self.conn.in_channels.lock().remove(&self.channel).is_some();
        if was_open && !self.conn.closed.is_cancelled() {
            let _ = self
                .conn
                .out
                .try_send(WsOut::Text(wire::cancel_string(self.call_id)));
        }
    }
}

/// Everything needed to start driving a connection.
pub(crate) struct ConnSetup {
    pub handlers: Arc<dyn Handlers>,
    pub caller: Arc<Caller>,
    pub remote: Option<SocketAddr>,
    pub limits: ConnLimits,
    /// Server side: check the upgrade's token again periodically.
    pub reverify: Option<Reverify>,
}

/// The token a server connection was opened with, checked again every `every`: a token
/// removed in venus-auth, or a disabled user, loses the connection, as it loses HTTP calls.
pub(crate) struct Reverify {
    pub verifier: Arc<dyn TokenVerifier>,
    pub token: String,
    pub every: Duration,
}

/// Create the connection state; drive it with [`drive`].
pub(crate) fn new_conn(setup: ConnSetup) -> (Peer, mpsc::Receiver<WsOut>, Option<Reverify>) {
    let (out, out_rx) = mpsc::channel(setup.limits.out_buffer.max(1));
    let inner = ConnInner {
        id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
        out,
        closed: CancellationToken::new(),
        handlers: setup.handlers,
        caller: setup.caller,
        remote: setup.remote,
        inflight: Arc::new(Semaphore::new(setup.limits.max_inflight.max(1))),
        limits: setup.limits,
        pending: Mutex::new(HashMap::new()),
        next_call: AtomicU64::new(1),
        in_channels: Mutex::new(HashMap::new()),
        serving: Mutex::new(HashMap::new()),
        next_channel: AtomicU64::new(1),
        subscriptions: AtomicUsize::new(0),
    };
    (Peer(Arc::new(inner)), out_rx, setup.reverify)
}

/// Run the connection until the socket closes, the idle timeout fires or `stop` is
/// cancelled; then fail what is pending and close the socket.
pub(crate) async fn drive<R, W>(
    peer: Peer,
    out_rx: mpsc::Receiver<WsOut>,
    reverify: Option<Reverify>,
    reader: R,
    writer: W,
    stop: CancellationToken,
) where
    R: Stream<Item = WsIn> + Send + Unpin + 'static,
    W: Sink<WsOut> + Send + Unpin + 'static,
{
    let inner = peer.0.clone();
    let writer_task = tokio::spawn(write_loop(
        out_rx,
        writer,
        inner.limits.ping_interval,
        inner.closed.clone(),
    ));
    if let Some(reverify) = reverify {
        tokio::spawn(reverify_loop(inner.clone(), reverify));
    }
    read_loop(&peer, reader, stop).await;
    inner.shut_down();
    let _ = writer_task.await;
}

/// Verify the connection's token every period until the connection closes; close it when
/// the token is refused or now names another caller. An unavailable verifier keeps the
/// connection (an outage of venus-auth must not drop every client), and is asked again
/// next period.
async fn reverify_loop(inner: Arc<ConnInner>, reverify: Reverify) {
    let mut every = tokio::time::interval(reverify.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = inner.closed.cancelled() => return,
            _ = every.tick() => {}
        }
        let verified = tokio::select! {
            _ = inner.closed.cancelled() => return,
            v = reverify.verifier.verify(&reverify.token) => v,
        };
        let reason = match verified {
            Ok(caller) if caller == *inner.caller => continue,
            Ok(caller) => format!(
                "the token now grants {}:{} instead of {}:{}",
                caller.user, caller.perm, inner.caller.user, inner.caller.perm
            ),
            Err(VerifyError::Unavailable(e)) => {
                tracing::debug!(conn = inner.id, error = %e, "could not re-verify a WebSocket token");
                continue;
            }
            Err(e) => e.to_string(),
        };
        tracing::info!(conn = inner.id, user = %inner.caller.user, %reason, "closing a WebSocket connection: its token is no longer valid");
        // The writer sends the close frame; the reader stops; pending calls fail.
        inner.closed.cancel();
        return;
    }
}

async fn write_loop<W: Sink<WsOut> + Unpin>(
    mut out_rx: mpsc::Receiver<WsOut>,
    mut writer: W,
    ping_every: Duration,
    closed: CancellationToken,
) {
    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        let msg = tokio::select! {
            biased;
            _ = closed.cancelled() => break,
            m = out_rx.recv() => match m { Some(m) => m, None => break },
            _ = ping.tick() => WsOut::Ping,
        };
        let is_close = matches!(msg, WsOut::Close);
        // Batch writes: flush only when the queue is drained.
        if writer.feed(msg).await.is_err() {
            closed.cancel();
            return;
        }
        if (is_close || out_rx.is_empty()) && writer.flush().await.is_err() {
            closed.cancel();
            return;
        }
        if is_close {
            closed.cancel();
            return;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), writer.send(WsOut::Close)).await;
}

async fn read_loop<R: Stream<Item = WsIn> + Unpin>(
    peer: &Peer,
    mut reader: R,
    stop: CancellationToken,
) {
    let inner = &peer.0;
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = inner.closed.cancelled() => return,
            n = tokio::time::timeout(inner.limits.idle_timeout, reader.next()) => n,
        };
        match next {
            Err(_) => {
                tracing::debug!(conn = inner.id, "closing idle WebSocket connection");
                return;
            }
            Ok(None) | Ok(Some(WsIn::Close)) => return,
            Ok(Some(WsIn::Alive)) => {}
            Ok(Some(WsIn::Data(bytes))) => on_message(peer, &bytes).await,
        }
    }
}

async fn on_message(peer: &Peer, bytes: &[u8]) {
    match wire::parse_body(bytes) {
        Err(e) => peer.0.respond(None, Err(&e)).await,
        Ok(wire::Body::Single(frame)) => on_frame(peer, frame).await,
        Ok(wire::Body::Batch(items)) => {
            for raw in items {
                match wire::parse_frame(raw) {
                    Ok(frame) => on_frame(peer, frame).await,
                    Err(e) => peer.0.respond(None, Err(&e)).await,
                }
            }
        }
    }
}

async fn on_frame(peer: &Peer, frame: InFrame<'_>) {
    let inner = &peer.0;
    match frame.method.as_deref() {
        Some(wire::CH_VALUE) => inner.on_channel_value(frame.params),
        Some(wire::CH_CLOSE) => inner.on_channel_close(frame.params),
        Some(wire::CANCEL) => inner.on_cancel(frame.params),
        Some(_) => on_request(peer, frame).await,
        // The id is a copied reference, so `frame.error` can move out below.
        None => match frame.id.filter(|id| id.get() != "null") {
            Some(id) => inner.on_response(id, frame.result, frame.error),
            None => {
                inner
                    .respond(
                        None,
                        Err(&RpcError::invalid_request(
                            "frame has neither method nor id",
                        )),
                    )
                    .await
            }
        },
    }
}

async fn on_request(peer: &Peer, frame: InFrame<'_>) {
    let inner = &peer.0;
    let id = frame.id().map(RawValue::to_owned);
    let name = frame.method.as_deref().unwrap_or_default();
    if let Err(e) = frame.check_version() {
        return inner.respond(id.as_deref(), Err(&e)).await;
    }
    let Some(entry) = inner.handlers.lookup(name) else {
        tracing::debug!(conn = inner.id, method = name, "unknown method");
        return inner
            .respond(id.as_deref(), Err(&RpcError::method_not_found(name)))
            .await;
    };
    let started = Instant::now();
    if !inner.caller.perm.grants(entry.perm) {
        entry.metrics.record(started, false);
        let err = RpcError::missing_permission(entry.name, entry.perm);
        return inner.respond(id.as_deref(), Err(&err)).await;
    }
    let ctx = Ctx::from_parts(
        inner.caller.clone(),
        Some(peer.clone()),
        inner.remote,
        entry.name,
    );
    let span = tracing::debug_span!("rpc", method = entry.name, user = %inner.caller.user, conn = inner.id);
    match &entry.handler {
        Handler::Call(call) => {
            let permit = tokio::select! {
                p = inner.inflight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                _ = inner.closed.cancelled() => return,
            };
            let fut = match call(ctx, frame.params) {
                Ok(f) => f,
                Err(e) => {
                    entry.metrics.record(started, false);
                    return inner.respond(id.as_deref(), Err(&e)).await;
                }
            };
            let cancel = inner.start_serving(id.as_deref());
            let conn = peer.0.clone();
            let entry = entry.clone();
            tokio::spawn(
                async move {
                    let result = tokio::select! {
                        r = fut => r,
                        _ = cancel.cancelled() => Err(RpcError::method("request canceled")),
                    };
                    conn.stop_serving(id.as_deref());
                    entry.metrics.record(started, result.is_ok());
                    if id.is_some() {
                        conn.respond(id.as_deref(), result.as_deref()).await;
                    }
                    drop(permit);
                }
                .instrument(span),
            );
        }
        Handler::Subscribe(subscribe) => {
            let Some(id) = id else {
                tracing::debug!(
                    conn = inner.id,
                    method = name,
                    "ignoring a channel method sent as a notification"
                );
                return;
            };
            if inner.subscriptions.fetch_add(1, Ordering::AcqRel) >= inner.limits.max_subscriptions
            {
                inner.subscriptions.fetch_sub(1, Ordering::AcqRel);
                entry.metrics.record(started, false);
                return inner
                    .respond(
                        Some(&*id),
                        Err(&RpcError::method("subscription limit exceeded")),
                    )
                    .await;
            }
            let opened = match subscribe(ctx, frame.params) {
                Ok(f) => f,
                Err(e) => {
                    inner.subscriptions.fetch_sub(1, Ordering::AcqRel);
                    entry.metrics.record(started, false);
                    return inner.respond(Some(&*id), Err(&e)).await;
                }
            };
            let cancel = inner.start_serving(Some(&*id));
            let conn = peer.0.clone();
            let entry = entry.clone();
            tokio::spawn(
                async move {
                    let opened = tokio::select! {
                        r = opened => r,
                        _ = cancel.cancelled() => Err(RpcError::method("request canceled")),
                    };
                    entry.metrics.record(started, opened.is_ok());
                    match opened {
                        Err(e) => conn.respond(Some(&*id), Err(&e)).await,
                        Ok(stream) => conn.pump_channel(&id, stream, &cancel).await,
                    }
                    conn.stop_serving(Some(&*id));
                    conn.subscriptions.fetch_sub(1, Ordering::AcqRel);
                }
                .instrument(span),
            );
        }
    }
}

impl ConnInner {
    async fn send(&self, msg: WsOut) -> Result<(), ClientError> {
        tokio::select! {
            r = self.out.send(msg) => r.map_err(|_| ClientError::Closed),
            _ = self.closed.cancelled() => Err(ClientError::Closed),
        }
    }

    async fn respond(&self, id: Option<&RawValue>, outcome: Result<&RawValue, &RpcError>) {
        if let Err(e) = outcome {
            tracing::debug!(conn = self.id, code = e.code, error = %e.message, "call failed");
        }
        let _ = self
            .send(WsOut::Text(wire::response_string(id, outcome)))
            .await;
    }

    fn start_serving(&self, id: Option<&RawValue>) -> CancellationToken {
        let token = self.closed.child_token();
        if let Some(id) = id {
            self.serving.lock().insert(id.get().into(), token.clone());
        }
        token
    }

    fn stop_serving(&self, id: Option<&RawValue>) {
        if let Some(id) = id {
            self.serving.lock().remove(id.get());
        }
    }

    /// Answer with the channel id, then forward values until the stream ends, the client
    /// cancels, the connection closes, or the client stops reading (slow consumer).
    async fn pump_channel(
        &self,
        id: &RawValue,
        mut stream: crate::router::RawStream,
        cancel: &CancellationToken,
    ) {
        let channel = self.next_channel.fetch_add(1, Ordering::Relaxed);
        let channel_raw = RawValue::from_string(channel.to_string()).ok();
        let Some(channel_raw) = channel_raw else {
            return;
        };
        self.respond(Some(id), Ok(&channel_raw)).await;
        loop {
            let value = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                v = stream.next() => match v { Some(v) => v, None => break },
            };
            let frame = WsOut::Text(wire::ch_value_string(channel, &value));
            match tokio::time::timeout(self.limits.slow_consumer_timeout, self.send(frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!(
                        conn = self.id,
                        channel,
                        "closing channel: the client does not read fast enough"
                    );
                    break;
                }
            }
        }
        if !self.closed.is_cancelled() {
            let close = WsOut::Text(wire::ch_close_string(channel));
            let _ = tokio::time::timeout(self.limits.slow_consumer_timeout, self.send(close)).await;
        }
    }

    fn on_response(&self, id: &RawValue, result: Option<&RawValue>, error: Option<RpcError>) {
        let Ok(id) = serde_json::from_str::<u64>(id.get()) else {
            tracing::debug!(
                conn = self.id,
                id = id.get(),
                "response with an id this side never sent"
            );
            return;
        };
        let Some(pending) = self.pending.lock().remove(&id) else {
            tracing::debug!(
                conn = self.id,
                id,
                "response to an unknown or abandoned call"
            );
            return;
        };
        let outcome = match error {
            Some(e) => Err(ClientError::Rpc(e)),
            None => Ok(result.map_or_else(null_raw, RawValue::to_owned)),
        };
        match pending {
            Pending::Call(tx) => {
                let _ = tx.send(outcome);
            }
            Pending::Subscribe(tx, values) => {
                let channel = outcome.and_then(|raw| {
                    serde_json::from_str::<u64>(raw.get())
                        .map_err(|e| ClientError::Decode(format!("channel id {}: {e}", raw.get())))
                });
                if let Ok(channel) = channel {
                    // Registered here, in the reader, so values that follow are never lost.
                    self.in_channels.lock().insert(
                        channel,
                        InChannel {
                            call_id: id,
                            values,
                        },
                    );
                }
                let _ = tx.send(channel);
            }
        }
    }

    fn on_channel_value(&self, params: Option<&RawValue>) {
        let Some(Ok((channel, value))) =
            params.map(|p| serde_json::from_str::<(u64, &RawValue)>(p.get()))
        else {
            tracing::debug!(conn = self.id, "malformed xrpc.ch.val");
            return;
        };
        let mut channels = self.in_channels.lock();
        let Some(ch) = channels.get(&channel) else {
            tracing::debug!(conn = self.id, channel, "value for an unknown channel");
            return;
        };
        match ch.values.try_send(value.to_owned()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    conn = self.id,
                    channel,
                    "cancelling subscription: the consumer does not keep up"
                );
                let call_id = ch.call_id;
                channels.remove(&channel);
                let _ = self.out.try_send(WsOut::Text(wire::cancel_string(call_id)));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                let call_id = ch.call_id;
                channels.remove(&channel);
                let _ = self.out.try_send(WsOut::Text(wire::cancel_string(call_id)));
            }
        }
    }

    fn on_channel_close(&self, params: Option<&RawValue>) {
        if let Some(Ok((channel,))) = params.map(|p| serde_json::from_str::<(u64,)>(p.get())) {
            self.in_channels.lock().remove(&channel);
        }
    }

    fn on_cancel(&self, params: Option<&RawValue>) {
        if let Some(Ok((id,))) = params.map(|p| serde_json::from_str::<(&RawValue,)>(p.get()))
            && let Some(token) = self.serving.lock().remove(id.get())
        {
            token.cancel();
        }
    }

    fn shut_down(&self) {
        self.closed.cancel();
        // Dropping the senders fails every waiting call with `Closed` and ends every stream.
        self.pending.lock().clear();
        self.in_channels.lock().clear();
        self.serving.lock().clear();
    }
}

fn null_raw() -> Box<RawValue> {
    // serde_json's default raw value is `null`.
    Box::<RawValue>::default()
}
