//! Serving HTTP: one hyper HTTP/1.1 connection per accepted socket, graceful shutdown, idle
//! connections closed, and the routes an [`App`] holds — the service's axum routes, and
//! "direct" routes (the JSON-RPC POST endpoints, venus-auth's `/verify`) answered straight
//! from the connection, without the axum router and its per-request extensions: on those
//! hot paths the router cost as much CPU as the work itself.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use axum::extract::ConnectInfo;
use axum::response::Response;
use futures::FutureExt as _;
use futures::future::Either;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The future a [`DirectHandler`] answers with.
pub type DirectFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// A route answered straight from the connection: it gets the request and the remote
/// address, nothing else (no extensions, no axum extractors or layers).
pub trait DirectHandler: Send + Sync + 'static {
    fn call(&self, req: http::Request<AxumBody>, remote: SocketAddr) -> DirectFuture;
}

impl<F, Fut> DirectHandler for F
where
    F: Fn(http::Request<AxumBody>, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn call(&self, req: http::Request<AxumBody>, remote: SocketAddr) -> DirectFuture {
        Box::pin(self(req, remote))
    }
}

/// A look at every request before any route (direct or axum): answer it (`Ok`), or hand it
/// back untouched (`Err`) for the routes. For what is decided by a header rather than the
/// path, such as the gateway's reverse proxy keyed on `X-VENUS-API-NAMESPACE`.
pub trait PreRoute: Send + Sync + 'static {
    // `Err` hands the request back to the routes (moved, not boxed: this runs per request).
    #[allow(clippy::result_large_err)]
    fn pre_route(
        &self,
        req: http::Request<AxumBody>,
        remote: SocketAddr,
    ) -> Result<DirectFuture, http::Request<AxumBody>>;
}

#[derive(Clone)]
struct DirectRoute {
    method: http::Method,
    path: Arc<str>,
    handler: Arc<dyn DirectHandler>,
}

/// What [`serve`] answers: direct routes first (exact method and path), then the axum routes.
/// An axum router converts into an `App` with no direct routes.
#[derive(Clone, Default)]
pub struct App {
    routes: axum::Router,
    direct: Vec<DirectRoute>,
    pre: Option<Arc<dyn PreRoute>>,
}

impl App {
    pub fn new(routes: axum::Router) -> Self {
        Self {
            routes,
            direct: Vec::new(),
            pre: None,
        }
    }

    /// Show every request to `hook` first (one hook; a later call replaces it).
    pub fn pre_route(mut self, hook: impl PreRoute) -> Self {
        self.pre = Some(Arc::new(hook));
        self
    }

    /// Answer `method path` with `handler`, ahead of the axum routes. Whatever the axum
    /// routes do for that path (other methods, WebSocket upgrades on GET) stays with them.
    pub fn direct(mut self, method: http::Method, path: &str, handler: impl DirectHandler) -> Self {
        self.insert(DirectRoute {
            method,
            path: path.into(),
            handler: Arc::new(handler),
        });
        self
    }

    /// Both apps' routes; axum's rules apply to the axum routes (overlapping paths panic at
    /// start-up), a direct route of `other` replaces one of `self` for the same method and path.
    pub fn merge(mut self, other: impl Into<App>) -> Self {
        let other = other.into();
        self.routes = self.routes.merge(other.routes);
        if other.pre.is_some() {
            self.pre = other.pre;
        }
        for route in other.direct {
            self.insert(route);
        }
        self
    }

    /// Add `route`, replacing one for the same method and path.
    fn insert(&mut self, route: DirectRoute) {
        self.direct
            .retain(|r| !(r.method == route.method && r.path == route.path));
        self.direct.push(route);
    }

    /// Change the axum routes (add one, apply a layer); direct routes are not affected.
    pub fn map_routes(mut self, f: impl FnOnce(axum::Router) -> axum::Router) -> Self {
        self.routes = f(self.routes);
        self
    }

    /// Answer one request as [`serve`] does (in-process tests and benchmarks).
    pub fn call(
        &self,
        req: http::Request<AxumBody>,
        remote: SocketAddr,
    ) -> impl Future<Output = Response> + Send + use<> {
        self.dispatch(req, remote, None)
    }

    fn dispatch(
        &self,
        mut req: http::Request<AxumBody>,
        remote: SocketAddr,
        signal: Option<&ShutdownSignal>,
    ) -> impl Future<Output = Response> + Send + use<> {
        if let Some(pre) = &self.pre {
            match pre.pre_route(req, remote) {
                Ok(answer) => return Either::Left(answer),
                Err(handed_back) => req = handed_back,
            }
        }
        let direct = self
            .direct
            .iter()
            .find(|r| r.method == *req.method() && *r.path == *req.uri().path());
        if let Some(route) = direct {
            return Either::Left(route.handler.call(req, remote));
        }
        req.extensions_mut().insert(ConnectInfo(remote));
        if let Some(signal) = signal {
            req.extensions_mut().insert(signal.clone());
        }
        let answer = tower::Service::call(&mut self.routes.clone(), req);
        Either::Right(answer.map(|answered| match answered {
            Ok(response) => response,
            Err(never) => match never {},
        }))
    }
}

impl From<axum::Router> for App {
    fn from(routes: axum::Router) -> Self {
        Self::new(routes)
    }
}

/// Set by [`serve`] so open WebSocket connections close on shutdown.
#[derive(Clone)]
pub(crate) struct ShutdownSignal(pub(crate) CancellationToken);

/// How [`serve_with`] treats connections. The defaults ([`ServeOptions::default`], what
/// [`serve`] uses) bound what an unauthenticated peer can hold: connections, header bytes,
/// the time to send a request head, the time a request may take, and the time a connection
/// may sit without moving a byte (idle, or a peer that stopped reading its answer).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Close a keep-alive connection that has no request in flight and has moved no byte for
    /// this long (Go's `http.Server.IdleTimeout`); this also closes a connection whose peer
    /// stopped reading an answer. `None`: such connections stay open.
    pub idle_timeout: Option<Duration>,
    /// Connections served at once; further peers wait in the listen backlog until one closes.
    /// Capped below the process's open-file limit when that is lower.
    pub max_connections: usize,
    /// A request head (request line and headers) must arrive within this long of the first
    /// read (slowloris). Also closes keep-alive connections silent for that long. `None`: no limit.
    pub header_read_timeout: Option<Duration>,
    /// Largest request head (request line, headers, the `?token=` query) accepted; a larger
    /// one is answered 431 and the connection closed (hyper's minimum is 8 KiB).
    pub max_header_bytes: usize,
    /// Deadline of every request (any route): the body must arrive within `body_read_timeout`
    /// and the answer be ready within this long, else 503. WebSocket upgrades are answered
    /// at once and are not affected. `None`: no deadline.
    pub request_timeout: Option<Duration>,
    /// See `request_timeout`. `None`: no deadline for the body.
    pub body_read_timeout: Option<Duration>,
}

/// Defaults of [`ServeOptions`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 << 10;
/// Long enough for the longest-waiting calls (StateWaitMsg waits at most 10 min).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
        }
    }
}

/// How long a connection closing on its own (idle, shutdown) may take to finish writing.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serve `app` until `shutdown` resolves, then stop accepting, close WebSocket
/// connections and wait for in-flight HTTP requests. Handlers see the remote address.
///
/// HTTP/1.1 only (with upgrades for WebSocket), on hyper directly rather than through
/// `axum::serve`, whose protocol sniffing and per-connection plumbing cost CPU on every
/// call. Go's and Lotus's JSON-RPC clients speak HTTP/1.1.
pub async fn serve<F>(
    listener: TcpListener,
    app: impl Into<App>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, app, shutdown, ServeOptions::default()).await
}

/// [`serve`] with options.
pub async fn serve_with<F>(
    listener: TcpListener,
    app: impl Into<App>,
    shutdown: F,
    options: ServeOptions,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = Arc::new(app.into());
    let stop = CancellationToken::new();
    let connections = tokio_util::task::TaskTracker::new();
    let max_connections = connection_cap(options.max_connections);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let settings = Arc::new(ConnSettings::from(&options));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: beyond the cap peers wait in the backlog, holding no descriptor here.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (tcp, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        // Without TCP_NODELAY a WebSocket frame written in two parts waits for the peer's
        // delayed ACK (~40 ms per reverse call, e.g. every gateway → wallet signature request).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let (app, stop, settings) = (app.clone(), stop.clone(), settings.clone());
        // Only connections that may idle out pay for tracking their activity.
        let idle = options
            .idle_timeout
            .map(|limit| (limit, Arc::new(Activity::new())));
        // The slot goes with the socket: an upgraded (WebSocket) connection keeps it until
        // it closes.
        let io = TrackedIo {
            inner: tcp,
            activity: idle.as_ref().map(|(_, activity)| activity.clone()),
            _slot: slot,
        };
        connections.spawn(serve_connection(io, remote, app, stop, settings, idle));
    }
    drop(listener);
    stop.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// What every connection of one server is configured with.
struct ConnSettings {
    header_read_timeout: Option<Duration>,
    max_header_bytes: usize,
    deadlines: Option<crate::timeout::TimeoutLayer>,
    /// How long a connection closing at shutdown may take to finish its answer.
    shutdown_grace: Duration,
}

impl From<&ServeOptions> for ConnSettings {
    fn from(o: &ServeOptions) -> Self {
        let deadlines = (o.request_timeout.is_some() || o.body_read_timeout.is_some()).then(|| {
            crate::timeout::TimeoutLayer::new(
                o.body_read_timeout.unwrap_or_default(),
                o.request_timeout.unwrap_or_default(),
            )
        });
        Self {
            header_read_timeout: o.header_read_timeout,
            // hyper refuses a read buffer under 8 KiB.
            max_header_bytes: o.max_header_bytes.max(8 << 10),
            deadlines,
            shutdown_grace: o.request_timeout.unwrap_or(Duration::from_secs(3600)) + CLOSE_GRACE,
        }
    }
}

/// `wanted`, lowered to leave room under the soft open-file limit (descriptors for the
/// listener, files, databases and outgoing connections), so a flood of connections meets
/// the cap, not `EMFILE`.
fn connection_cap(wanted: usize) -> usize {
    let wanted = wanted.max(1);
    match open_file_limit() {
        Some(limit) if limit > 256 => wanted.min(limit - 128),
        Some(limit) => wanted.min((limit / 2).max(1)),
        None => wanted,
    }
}

/// The soft `RLIMIT_NOFILE`, from `/proc/self/limits` (Linux); `None` elsewhere or unlimited.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A failed `accept` is the peer's problem (reset before we took it) or ours (out of file
/// descriptors); for the latter, back off instead of spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection<I>(
    io: I,
    remote: SocketAddr,
    app: Arc<App>,
    stop: CancellationToken,
    settings: Arc<ConnSettings>,
    idle: Option<(Duration, Arc<Activity>)>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let signal = ShutdownSignal(stop.clone());
    let busy = idle.as_ref().map(|(_, activity)| activity.clone());
    let deadlines = settings.deadlines;
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let in_flight = busy.as_ref().map(|a| InFlight::enter(a.clone()));
        let req = req.map(AxumBody::new);
        let answer = match deadlines {
            Some(layer) => {
                let (req, timer) = layer.start(req);
                let answer = app.dispatch(req, remote, Some(&signal));
                Either::Left(crate::timeout::with_deadline(answer, timer))
            }
            None => Either::Right(app.dispatch(req, remote, Some(&signal))),
        };
        async move {
            let response = answer.await;
            drop(in_flight);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(settings.max_header_bytes)
        .timer(hyper_util::rt::TokioTimer::new());
    if let Some(limit) = settings.header_read_timeout {
        builder.header_read_timeout(limit);
    }
    let conn = builder
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stop.cancelled() => {
            // Finish the request in flight, then close; an idle connection closes now.
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(settings.shutdown_grace, conn).await.unwrap_or(Ok(()))
        }
        () = idle_out(idle) => {
            tracing::debug!(%remote, "closing an idle connection");
            conn.as_mut().graceful_shutdown();
            // A peer that stopped reading never lets the answer finish: drop it after a grace.
            match tokio::time::timeout(CLOSE_GRACE, conn).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!(%remote, "dropping a connection whose peer does not read");
                    Ok(())
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
    }
}

/// Resolves once the connection has had no request in flight and no traffic for the limit;
/// never without a limit. One timer per connection, re-armed at most once per period.
async fn idle_out(idle: Option<(Duration, Arc<Activity>)>) {
    let Some((limit, activity)) = idle else {
        return std::future::pending().await;
    };
    loop {
        let quiet = activity.quiet_for();
        if quiet >= limit {
            if activity.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            tokio::time::sleep(limit).await;
        } else {
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// When a connection last moved a byte, and how many of its requests are being answered.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened`.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Release);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn enter(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket that holds its connection slot and records (when idle connections are closed)
/// when it last read or wrote a byte.
struct TrackedIo<T> {
    inner: T,
    activity: Option<Arc<Activity>>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl<T> TrackedIo<T> {
    fn touch(&self) {
        if let Some(activity) = &self.activity {
            activity.touch();
        }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    async fn text(answer: Response) -> (u16, String) {
        let status = answer.status().as_u16();
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn request(method: &str, path: &str) -> http::Request<AxumBody> {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(AxumBody::from("body"))
            .unwrap()
    }

    fn echo(tag: &'static str) -> impl DirectHandler {
        move |req: http::Request<AxumBody>, remote: SocketAddr| async move {
            let body = axum::body::to_bytes(req.into_body(), 100).await.unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            Response::new(AxumBody::from(format!("{tag} {remote} {body}")))
        }
    }

    #[tokio::test]
    async fn direct_routes_answer_their_method_and_path_and_axum_the_rest() {
        let routes = axum::Router::new().route(
            "/rpc/v1",
            post(|| async { "axum post" }).get(|| async { "axum get" }),
        );
        let app = App::new(routes).direct(http::Method::POST, "/rpc/v1", echo("direct"));
        let remote: SocketAddr = ([10, 0, 0, 7], 4000).into();
        assert_eq!(
            text(app.call(request("POST", "/rpc/v1?token=x"), remote).await).await,
            (200, "direct 10.0.0.7:4000 body".to_owned()),
            "the query string does not matter, the body and remote address are passed"
        );
        assert_eq!(
            text(app.call(request("GET", "/rpc/v1"), remote).await).await,
            (200, "axum get".to_owned())
        );
        assert_eq!(
            app.call(request("POST", "/rpc/v0"), remote).await.status(),
            404
        );
        assert_eq!(
            app.call(request("PUT", "/rpc/v1"), remote).await.status(),
            405
        );
    }

    /// Takes requests carrying `x-to: hook`, hands the rest back.
    struct HeaderHook;

    impl PreRoute for HeaderHook {
        fn pre_route(
            &self,
            req: http::Request<AxumBody>,
            remote: SocketAddr,
        ) -> Result<DirectFuture, http::Request<AxumBody>> {
            if req.headers().get("x-to").is_some_and(|v| v == "hook") {
                Ok(echo("hook").call(req, remote))
            } else {
                Err(req)
            }
        }
    }

    #[tokio::test]
    async fn a_pre_route_hook_sees_requests_before_direct_and_axum_routes() {
        let routes = axum::Router::new().route("/a", get(|| async { "axum" }));
        let app = App::new(routes)
            .direct(http::Method::POST, "/rpc/v1", echo("direct"))
            .merge(App::default().pre_route(HeaderHook));
        let remote: SocketAddr = ([10, 0, 0, 7], 4000).into();
        let to_hook = |method: &str, path: &str| {
            let mut req = request(method, path);
            req.headers_mut()
                .insert("x-to", http::HeaderValue::from_static("hook"));
            req
        };
        for (method, path) in [("POST", "/rpc/v1"), ("GET", "/a"), ("GET", "/nowhere")] {
            assert_eq!(
                text(app.call(to_hook(method, path), remote).await).await,
                (200, "hook 10.0.0.7:4000 body".to_owned()),
                "{method} {path}"
            );
        }
        // Handed back untouched: the routes answer as without the hook.
        assert_eq!(
            text(app.call(request("POST", "/rpc/v1"), remote).await).await,
            (200, "direct 10.0.0.7:4000 body".to_owned())
        );
        assert_eq!(
            text(app.call(request("GET", "/a"), remote).await).await,
            (200, "axum".to_owned())
        );
    }

    #[tokio::test]
    async fn merged_apps_keep_both_and_the_later_direct_route_wins() {
        let remote: SocketAddr = ([127, 0, 0, 1], 1).into();
        let first = App::new(axum::Router::new().route("/a", get(|| async { "a" })))
            .direct(http::Method::POST, "/x", echo("first"))
            .direct(http::Method::POST, "/y", echo("y"));
        let second = App::new(axum::Router::new().route("/b", get(|| async { "b" }))).direct(
            http::Method::POST,
            "/x",
            echo("second"),
        );
        let app = first
            .merge(second)
            .map_routes(|r| r.route("/c", get(|| async { "c" })));
        for (method, path, want) in [
            ("GET", "/a", "a"),
            ("GET", "/b", "b"),
            ("GET", "/c", "c"),
            ("POST", "/x", "second 127.0.0.1:1 body"),
            ("POST", "/y", "y 127.0.0.1:1 body"),
        ] {
            let (status, body) = text(app.call(request(method, path), remote).await).await;
            assert_eq!((status, body.as_str()), (200, want), "{method} {path}");
        }
        let plain: App = axum::Router::new()
            .route("/a", get(|| async { "a" }))
            .into();
        assert_eq!(
            plain.call(request("POST", "/x"), remote).await.status(),
            404
        );
    }
}
