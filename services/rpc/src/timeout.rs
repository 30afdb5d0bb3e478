//! HTTP request timeouts that cost nothing until a request is slow.
//!
//! tower-http's timeout layers start a tokio timer for every request. A timer registered while
//! the runtime's driver is not parked wakes the driver through its eventfd, so under load every
//! request paid about three extra syscalls and a cross-thread wake-up — venus-auth's `/verify`
//! lost a third of its throughput to them. Here the timer starts only when the request (or its
//! body) is first found not ready: answers served in one poll, the common case, never touch
//! the timer wheel, and a slow or stalled request is still cut off at its deadline.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http_body::Frame;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use crate::serve::DirectHandler;

/// Apply to an axum router: the request body must arrive within `body_read` of the request's
/// start (else the handler sees a body error, answered 4xx), and the answer must be ready
/// within `total` (else 503), as Go's `http.Server` `ReadTimeout` / `ReadTimeout +
/// WriteTimeout`. A zero duration means no deadline, as in Go.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    body_read: Duration,
    total: Duration,
}

impl TimeoutLayer {
    pub fn new(body_read: Duration, total: Duration) -> Self {
        Self { body_read, total }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            layer: *self,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    layer: TimeoutLayer,
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (req, timer) = self.layer.start(req);
        TimeoutFuture {
            inner: self.inner.call(req),
            timer,
        }
    }
}

impl TimeoutLayer {
    /// The same deadlines around a route served directly (see [`crate::App::direct`]).
    pub fn direct(self, handler: impl DirectHandler) -> impl DirectHandler {
        move |req: Request, remote: SocketAddr| {
            let (req, timer) = self.start(req);
            with_deadline(handler.call(req, remote), timer)
        }
    }

    /// The request with its body under the read deadline, and the answer's deadline.
    pub(crate) fn start(&self, req: Request) -> (Request, LazyTimer) {
        let now = Instant::now();
        let deadline = |after: Duration| (!after.is_zero()).then(|| now + after);
        let body_deadline = deadline(self.body_read);
        let req = req.map(|body| {
            Body::new(DeadlineBody {
                inner: body,
                timer: LazyTimer::new(body_deadline),
            })
        });
        (req, LazyTimer::new(deadline(self.total)))
    }
}

/// `answer`, or 503 once `timer` expires.
pub(crate) fn with_deadline(
    answer: impl Future<Output = Response> + Send,
    timer: LazyTimer,
) -> impl Future<Output = Response> + Send {
    let inner = async move { Ok::<_, Infallible>(answer.await) };
    async move {
        match (TimeoutFuture { inner, timer }).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A deadline (if any) whose tokio timer is created on first need.
pub(crate) struct LazyTimer {
    deadline: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl LazyTimer {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            sleep: None,
        }
    }

    /// Ready once the deadline has passed; registers the waker otherwise. Never ready
    /// without a deadline.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)))
            .as_mut()
            .poll(cx)
    }
}

pin_project_lite::pin_project! {
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        timer: LazyTimer,
    }
}

impl<F> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        ready!(this.timer.poll_expired(cx));
        tracing::debug!("request not answered before its deadline");
        Poll::Ready(Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            "the request was not answered in time\n",
        )
            .into_response()))
    }
}

/// The request body, failing once its deadline has passed without it having arrived.
struct DeadlineBody {
    inner: Body,
    timer: LazyTimer,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        ready!(self.timer.poll_expired(cx));
        Poll::Ready(Some(Err(axum::Error::new(
            "the request body did not arrive before the read timeout",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt as _;

    fn app() -> axum::Router {
        axum::Router::new()
            .route("/fast", post(|body: Bytes| async move { body }))
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .layer(TimeoutLayer::new(
                Duration::from_millis(200),
                Duration::from_millis(500),
            ))
    }

    #[tokio::test]
    async fn a_quick_answer_passes_untouched() {
        let resp = app()
            .oneshot(Request::post("/fast").body(Body::from("abc")).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"abc");
    }

    #[tokio::test]
    async fn a_slow_answer_gets_503_at_the_deadline() {
        let started = std::time::Instant::now();
        let resp = app()
            .oneshot(Request::post("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
            "answered after {waited:?}"
        );
    }

    #[tokio::test]
    async fn zero_means_no_deadline() {
        let app = axum::Router::new()
            .route(
                "/slowish",
                post(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            )
            .layer(TimeoutLayer::new(Duration::ZERO, Duration::ZERO));
        let resp = app
            .oneshot(Request::post("/slowish").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_stalled_body_fails_at_the_read_deadline() {
        // A body that sends one chunk and then never ends.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        tx.send(Ok(Bytes::from_static(b"{\"Token\":")))
            .await
            .unwrap();
        let stream = tokio_stream_from(rx);
        let started = std::time::Instant::now();
        let resp = app()
            .oneshot(
                Request::post("/fast")
                    .body(Body::from_stream(stream))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            resp.status().is_client_error(),
            "a stalled body is refused, got {}",
            resp.status()
        );
        assert!(started.elapsed() >= Duration::from_millis(150));
        drop(tx);
    }

    #[tokio::test]
    async fn direct_routes_get_the_same_deadlines() {
        let layer = TimeoutLayer::new(Duration::from_millis(200), Duration::from_millis(500));
        let remote: SocketAddr = ([127, 0, 0, 1], 1).into();
        let app = crate::App::default()
            .direct(
                http::Method::POST,
                "/slow",
                layer.direct(|_req: Request, _remote| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late".into_response()
                }),
            )
            .direct(
                http::Method::POST,
                "/read",
                layer.direct(|req: Request, _remote| async move {
                    match axum::body::to_bytes(req.into_body(), 1000).await {
                        Ok(body) => body.into_response(),
                        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                    }
                }),
            );
        let started = std::time::Instant::now();
        let resp = app
            .call(Request::post("/slow").body(Body::empty()).unwrap(), remote)
            .await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() >= Duration::from_millis(450));

        let resp = app
            .call(
                Request::post("/read").body(Body::from("quick")).unwrap(),
                remote,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);

        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        tx.send(Ok(Bytes::from_static(b"partial"))).await.unwrap();
        let started = std::time::Instant::now();
        let resp = app
            .call(
                Request::post("/read")
                    .body(Body::from_stream(tokio_stream_from(rx)))
                    .unwrap(),
                remote,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(started.elapsed() >= Duration::from_millis(150));
        drop(tx);
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
