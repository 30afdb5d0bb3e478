//! The reverse-call engine shared by the wallet and proof streams.
//!
//! A provider (wallet, prover) holds one [`Connection`] per `Listen*Event` channel. To call it
//! the gateway pushes a [`RequestEvent`] into the connection's outbound queue and waits for the
//! matching `Response*Event`. Unlike the original:
//! - every request has its own timer (no 5-minute sweeper);
//! - enqueueing never blocks: a full queue counts as "this connection cannot serve now";
//! - a response is accepted only from the connection the request was sent to;
//! - when a connection closes, its in-flight requests fail at once and are retried elsewhere.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use venus_api::gateway::{RequestEvent, ResponseEvent};

/// Outbound queue length per connection. Requests beyond it go to another connection or fail
/// fast instead of blocking the caller (the original blocks at 30).
pub const QUEUE_CAPACITY: usize = 1024;

/// One provider connection (one `Listen*Event` channel).
#[derive(Debug)]
pub struct Connection {
    id: Uuid,
    /// The WebSocket the channel lives on (`Peer::id`); answers must arrive on it.
    origin: u64,
    /// The venus-auth user the provider's token names.
    account: String,
    peer_addr: Option<SocketAddr>,
    created: chrono::DateTime<chrono::Utc>,
    outbound: mpsc::Sender<RequestEvent>,
    closed: CancellationToken,
    in_flight: AtomicUsize,
    /// Ids of the requests sent on this connection and not yet answered.
    pending: Mutex<HashSet<Uuid>>,
}

impl Connection {
    /// A new connection and the receiving end of its outbound queue (to be forwarded to the
    /// provider's channel).
    pub fn new(
        account: impl Into<String>,
        origin: u64,
        peer_addr: Option<SocketAddr>,
    ) -> (Arc<Self>, mpsc::Receiver<RequestEvent>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let conn = Arc::new(Self {
            id: Uuid::new_v4(),
            origin,
            account: account.into(),
            peer_addr,
            created: chrono::Utc::now(),
            outbound: tx,
            closed: CancellationToken::new(),
            in_flight: AtomicUsize::new(0),
            pending: Mutex::new(HashSet::new()),
        });
        (conn, rx)
    }

    /// The channel id (`ChannelId` in `ConnectedCompleted`).
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn origin(&self) -> u64 {
        self.origin
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    pub fn created(&self) -> chrono::DateTime<chrono::Utc> {
        self.created
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled() || self.outbound.is_closed()
    }

    /// Push an event that expects no answer (`InitConnect`).
    pub fn notify(&self, method: &str, payload: Vec<u8>) -> Result<(), AttemptError> {
        let event = RequestEvent {
            id: Uuid::new_v4(),
            method: method.to_owned(),
            payload: payload.into(),
        };
        self.outbound.try_send(event).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AttemptError::Unavailable(self.id, "queue full"),
            mpsc::error::TrySendError::Closed(_) => AttemptError::Unavailable(self.id, "closed"),
        })
    }

    /// Resolves when the connection is closed (by [`Events::close`] or the provider leaving).
    pub async fn closed(&self) {
        tokio::select! {
            _ = self.closed.cancelled() => {}
            _ = self.outbound.closed() => {}
        }
    }
}

/// Why one attempt on one connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// The connection is gone or its queue is full: another connection may serve.
    #[error("connection {0} unavailable: {1}")]
    Unavailable(Uuid, &'static str),
    /// No answer in time: another connection may serve.
    #[error("connection {0} did not answer within {1:?}")]
    Timeout(Uuid, Duration),
    /// The provider answered with an error (wallet locked, refused to sign…): final.
    #[error("{0}")]
    Remote(String),
}

impl AttemptError {
    fn retryable(&self) -> bool {
        !matches!(self, Self::Remote(_))
    }
}

/// The outcome of routing a request over a set of candidate connections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("{0}")]
    NoConnection(String),
    #[error("{0}")]
    Remote(String),
    #[error("all {} connections failed: {}", .0.len(), join(.0))]
    AllFailed(Vec<AttemptError>),
}

fn join(errs: &[AttemptError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

struct Pending {
    origin: u64,
    reply: oneshot::Sender<Result<Vec<u8>, String>>,
}

/// Why a `Response*Event` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("no pending request {0} (answered already, timed out or never sent)")]
    Unknown(Uuid),
    #[error("request {0} was not sent on this connection")]
    WrongConnection(Uuid),
}

/// Pending requests of one stream (wallet or proof), keyed by request id.
#[derive(Default)]
pub struct Events {
    pending: DashMap<Uuid, Pending>,
}

impl Events {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of requests waiting for an answer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Send one request to `conn` and wait up to `timeout` for its answer payload.
    pub async fn call(
        &self,
        conn: &Connection,
        method: &str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, AttemptError> {
        if conn.is_closed() {
            return Err(AttemptError::Unavailable(conn.id, "closed"));
        }
        let id = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        self.pending.insert(
            id,
            Pending {
                origin: conn.origin,
                reply: tx,
            },
        );
        conn.pending.lock().insert(id);
        let _guard = InFlight::new(self, conn, id);

        let event = RequestEvent {
            id,
            method: method.to_owned(),
            payload: payload.into(),
        };
        match conn.outbound.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(AttemptError::Unavailable(conn.id, "queue full"));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(AttemptError::Unavailable(conn.id, "closed"));
            }
        }
        tokio::select! {
            answer = rx => match answer {
                Ok(Ok(bytes)) => Ok(bytes),
                Ok(Err(msg)) => Err(AttemptError::Remote(msg)),
                // The sender is dropped only when the connection closed mid-request.
                Err(_) => Err(AttemptError::Unavailable(conn.id, "closed while waiting for the answer")),
            },
            _ = conn.closed() => Err(AttemptError::Unavailable(conn.id, "closed while waiting for the answer")),
            _ = tokio::time::sleep(timeout) => Err(AttemptError::Timeout(conn.id, timeout)),
        }
    }

    /// Try the connections `candidates()` lists, least busy first, until one answers. A
    /// provider-side error is final; an unavailable or silent connection makes the next one
    /// be tried. The list is asked again before each attempt, so a connection that registered
    /// while an earlier one was failing (a market reconnecting during a long unseal) is tried
    /// too; each connection at most once.
    pub async fn route(
        &self,
        candidates: impl Fn() -> Vec<Arc<Connection>>,
        method: &str,
        payload: Vec<u8>,
        timeout: Duration,
        none_msg: impl FnOnce() -> String,
    ) -> Result<Vec<u8>, RouteError> {
        let mut tried: HashSet<Uuid> = HashSet::new();
        let mut errors = Vec::new();
        loop {
            // Healthy-first: the live, untried connection with the fewest requests in flight.
            let next = candidates()
                .into_iter()
                .filter(|c| !c.is_closed() && !tried.contains(&c.id))
                .min_by_key(|c| c.in_flight());
            let Some(conn) = next else {
                return Err(if errors.is_empty() {
                    RouteError::NoConnection(none_msg())
                } else {
                    RouteError::AllFailed(errors)
                });
            };
            tried.insert(conn.id);
            match self.call(&conn, method, payload.clone(), timeout).await {
                Ok(bytes) => return Ok(bytes),
                Err(AttemptError::Remote(msg)) => return Err(RouteError::Remote(msg)),
                Err(e) => {
                    debug_assert!(e.retryable());
                    tracing::warn!(connection = %conn.id, account = %conn.account, method, error = %e, "request failed, trying another connection");
                    errors.push(e);
                }
            }
        }
    }

    /// Deliver a provider's answer that arrived on the WebSocket `from` (`Peer::id`).
    pub fn respond(&self, from: u64, resp: ResponseEvent) -> Result<(), ResponseError> {
        let entry = self.pending.remove_if(&resp.id, |_, p| p.origin == from);
        match entry {
            Some((_, pending)) => {
                let answer = if resp.error.is_empty() {
                    Ok(resp.payload.into_vec())
                } else {
                    Err(resp.error)
                };
                // The caller may have timed out meanwhile; nothing to do then.
                let _ = pending.reply.send(answer);
                Ok(())
            }
            None if self.pending.contains_key(&resp.id) => {
                Err(ResponseError::WrongConnection(resp.id))
            }
            None => Err(ResponseError::Unknown(resp.id)),
        }
    }

    /// Mark `conn` closed and fail its in-flight requests so their callers move on.
    pub fn close(&self, conn: &Connection) {
        conn.closed.cancel();
        let ids: Vec<Uuid> = conn.pending.lock().drain().collect();
        for id in ids {
            // Dropping the reply sender wakes the waiting caller with "closed".
            self.pending.remove(&id);
        }
    }
}

/// Keeps the in-flight counter and the pending maps right however `call` returns.
struct InFlight<'a> {
    events: &'a Events,
    conn: &'a Connection,
    id: Uuid,
}

impl<'a> InFlight<'a> {
    fn new(events: &'a Events, conn: &'a Connection, id: Uuid) -> Self {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        Self { events, conn, id }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.conn.pending.lock().remove(&self.id);
        self.events.pending.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that answers every request with `answer(method, payload)`.
    fn serve(
        events: Arc<Events>,
        conn: Arc<Connection>,
        mut rx: mpsc::Receiver<RequestEvent>,
        answer: impl Fn(&RequestEvent) -> Option<ResponseEvent> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if let Some(resp) = answer(&ev) {
                    let _ = events.respond(conn.origin(), resp);
                }
            }
        })
    }

    fn echo(ev: &RequestEvent) -> Option<ResponseEvent> {
        Some(ResponseEvent {
            id: ev.id,
            payload: ev.payload.clone(),
            error: String::new(),
        })
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn answer_reaches_the_caller() {
        let events = Arc::new(Events::new());
        let (conn, rx) = Connection::new("w1", 1, None);
        serve(events.clone(), conn.clone(), rx, echo);
        let out = events.call(&conn, "WalletSign", b"abc".to_vec(), T).await;
        assert_eq!(out, Ok(b"abc".to_vec()));
        assert_eq!(events.pending_len(), 0);
        assert_eq!(conn.in_flight(), 0);
    }

    #[tokio::test]
    async fn provider_error_is_returned_and_not_retried() {
        let events = Arc::new(Events::new());
        let (a, rx_a) = Connection::new("w1", 2, None);
        let (b, rx_b) = Connection::new("w2", 3, None);
        serve(events.clone(), a.clone(), rx_a, |ev| {
            Some(ResponseEvent {
                id: ev.id,
                payload: Vec::new().into(),
                error: "wallet locked".into(),
            })
        });
        let served_b = Arc::new(AtomicUsize::new(0));
        let counter = served_b.clone();
        serve(events.clone(), b.clone(), rx_b, move |ev| {
            counter.fetch_add(1, Ordering::SeqCst);
            echo(ev)
        });
        // Both idle: the first listed goes first.
        let out = events
            .route(
                || vec![a.clone(), b.clone()],
                "WalletSign",
                vec![1],
                T,
                String::new,
            )
            .await;
        assert_eq!(out, Err(RouteError::Remote("wallet locked".into())));
        assert_eq!(served_b.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn response_from_another_connection_is_refused() {
        let events = Arc::new(Events::new());
        let (target, mut rx) = Connection::new("w1", 4, None);
        let (intruder, _rx2) = Connection::new("w2", 5, None);
        let ev_task = {
            let events = events.clone();
            let target = target.clone();
            tokio::spawn(async move { events.call(&target, "WalletSign", vec![], T).await })
        };
        let ev = rx.recv().await.expect("request was queued");
        let forged = ResponseEvent {
            id: ev.id,
            payload: b"forged".to_vec().into(),
            error: String::new(),
        };
        assert_eq!(
            events.respond(intruder.origin(), forged),
            Err(ResponseError::WrongConnection(ev.id))
        );
        let real = ResponseEvent {
            id: ev.id,
            payload: b"real".to_vec().into(),
            error: String::new(),
        };
        assert_eq!(events.respond(target.origin(), real.clone()), Ok(()));
        assert_eq!(ev_task.await.expect("task"), Ok(b"real".to_vec()));
        assert_eq!(
            events.respond(target.origin(), real),
            Err(ResponseError::Unknown(ev.id))
        );
    }

    #[tokio::test]
    async fn silent_connection_times_out_and_the_next_one_serves() {
        let events = Arc::new(Events::new());
        let (silent, _rx_silent) = Connection::new("w1", 6, None);
        let (good, rx_good) = Connection::new("w2", 7, None);
        serve(events.clone(), good.clone(), rx_good, echo);
        let out = events
            .route(
                || vec![silent.clone(), good.clone()],
                "WalletSign",
                b"x".to_vec(),
                Duration::from_millis(50),
                String::new,
            )
            .await;
        assert_eq!(out, Ok(b"x".to_vec()));
        assert_eq!(silent.in_flight(), 0);
        assert_eq!(events.pending_len(), 0);
    }

    #[tokio::test]
    async fn closing_mid_request_fails_over_at_once() {
        let events = Arc::new(Events::new());
        let (dying, mut rx_dying) = Connection::new("w1", 8, None);
        let (good, rx_good) = Connection::new("w2", 9, None);
        serve(events.clone(), good.clone(), rx_good, echo);
        {
            let events = events.clone();
            let dying = dying.clone();
            tokio::spawn(async move {
                // Receive the request, then die without answering.
                let _ev = rx_dying.recv().await;
                events.close(&dying);
            });
        }
        let started = tokio::time::Instant::now();
        let out = events
            .route(
                || vec![dying.clone(), good.clone()],
                "WalletSign",
                b"y".to_vec(),
                Duration::from_secs(30),
                String::new,
            )
            .await;
        assert_eq!(out, Ok(b"y".to_vec()));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "failover waited for the timeout"
        );
    }

    #[tokio::test]
    async fn a_connection_that_registers_meanwhile_takes_over() {
        let events = Arc::new(Events::new());
        let (dying, mut rx_dying) = Connection::new("m1", 14, None);
        let live: Arc<Mutex<Vec<Arc<Connection>>>> = Arc::new(Mutex::new(vec![dying.clone()]));
        {
            let (events, live, dying) = (events.clone(), live.clone(), dying.clone());
            tokio::spawn(async move {
                // The only connection takes the request; another registers; the first dies.
                let _ev = rx_dying.recv().await;
                let (late, rx_late) = Connection::new("m1", 15, None);
                serve(events.clone(), late.clone(), rx_late, echo);
                live.lock().push(late);
                events.close(&dying);
            });
        }
        let out = events
            .route(
                || live.lock().clone(),
                "SectorsUnsealPiece",
                b"z".to_vec(),
                Duration::from_secs(30),
                String::new,
            )
            .await;
        assert_eq!(out, Ok(b"z".to_vec()));
    }

    #[tokio::test]
    async fn no_candidates_gives_the_callers_message() {
        let events = Events::new();
        let (closed, _rx) = Connection::new("w1", 10, None);
        events.close(&closed);
        let out = events
            .route(
                || vec![closed.clone()],
                "WalletSign",
                vec![],
                T,
                || "no wallet for f01".to_owned(),
            )
            .await;
        assert_eq!(
            out,
            Err(RouteError::NoConnection("no wallet for f01".into()))
        );
    }

    #[tokio::test]
    async fn all_failing_reports_each_attempt() {
        let events = Events::new();
        let (a, _rx_a) = Connection::new("w1", 11, None);
        let (b, rx_b) = Connection::new("w2", 12, None);
        drop(rx_b); // provider gone: skipped
        let out = events
            .route(
                || vec![a.clone(), b.clone()],
                "WalletSign",
                vec![],
                Duration::from_millis(20),
                String::new,
            )
            .await;
        let Err(RouteError::AllFailed(errs)) = out else {
            panic!("expected AllFailed, got {out:?}")
        };
        // The closed connection is skipped up front; the silent one times out.
        assert_eq!(errs.len(), 1);
        assert!(matches!(errs[0], AttemptError::Timeout(..)));
    }

    #[tokio::test]
    async fn many_concurrent_requests_all_match_their_answers() {
        let events = Arc::new(Events::new());
        let (conn, rx) = Connection::new("w1", 13, None);
        serve(events.clone(), conn.clone(), rx, echo);
        let mut tasks = Vec::new();
        for i in 0..500u32 {
            let events = events.clone();
            let conn = conn.clone();
            tasks.push(tokio::spawn(async move {
                let out = events
                    .call(&conn, "WalletSign", i.to_be_bytes().to_vec(), T)
                    .await;
                assert_eq!(out, Ok(i.to_be_bytes().to_vec()));
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(events.pending_len(), 0);
    }
}
