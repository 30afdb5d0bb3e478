//! A sample server exercising every feature of the RPC layer, for the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use venus_rpc::observe::Metrics;
use venus_rpc::{LocalVerifier, Method, Permission, Router, RpcError, Server, Subscription};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadChange {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Val")]
    pub val: Tipset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tipset {
    #[serde(rename = "Height")]
    pub height: u64,
}

pub const VERSION: Method<(), Version> = Method::new("Filecoin.Version", Permission::Read);
pub const ADD: Method<(i64, i64), i64> = Method::new("Filecoin.Add", Permission::Read);
pub const ECHO: Method<(Value,), Value> = Method::new("Filecoin.Echo", Permission::Read);
pub const WHO_AM_I: Method<(), String> = Method::new("Filecoin.WhoAmI", Permission::Read);
pub const FAIL: Method<(), ()> = Method::new("Filecoin.Fail", Permission::Read);
pub const SLEEP: Method<(u64,), ()> = Method::new("Filecoin.Sleep", Permission::Read);
pub const READ_THING: Method<(), &'static str> =
    Method::new("Filecoin.ReadThing", Permission::Read);
pub const WRITE_THING: Method<(), &'static str> =
    Method::new("Filecoin.WriteThing", Permission::Write);
pub const SIGN_THING: Method<(), &'static str> =
    Method::new("Filecoin.SignThing", Permission::Sign);
pub const ADMIN_THING: Method<(), &'static str> =
    Method::new("Filecoin.AdminThing", Permission::Admin);
/// Heights 0, 1, 2… every 20 ms, forever.
pub const CHAIN_NOTIFY: Subscription<(), Vec<HeadChange>> =
    Subscription::new("Filecoin.ChainNotify", Permission::Read);
/// 1..=n then the channel closes.
pub const COUNT: Subscription<(u64,), u64> = Subscription::new("Filecoin.Count", Permission::Read);
/// Asks the calling client (reverse call) for `Client.Double(x)` and returns the answer.
pub const ASK_CLIENT: Method<(i64, u64), i64> = Method::new("Filecoin.AskClient", Permission::Read);
/// Client-side method served by test clients.
pub const CLIENT_DOUBLE: Method<(i64,), i64> = Method::new("Client.Double", Permission::Read);
/// Waits for the calling connection to close, then records it.
pub const WATCH_DISCONNECT: Method<(), ()> =
    Method::new("Filecoin.WatchDisconnect", Permission::Read);

pub const LEVEL_METHODS: [(Permission, &str); 4] = [
    (Permission::Read, "Filecoin.ReadThing"),
    (Permission::Write, "Filecoin.WriteThing"),
    (Permission::Sign, "Filecoin.SignThing"),
    (Permission::Admin, "Filecoin.AdminThing"),
];

/// How often each method body actually ran.
#[derive(Default)]
pub struct Ran(parking_lot::Mutex<HashMap<&'static str, usize>>);

impl Ran {
    pub fn hit(&self, m: &'static str) {
        *self.0.lock().entry(m).or_default() += 1;
    }
    pub fn count(&self, m: &str) -> usize {
        self.0.lock().get(m).copied().unwrap_or(0)
    }
    pub fn total(&self) -> usize {
        self.0.lock().values().sum()
    }
}

pub struct Sample {
    pub addr: SocketAddr,
    pub verifier: Arc<LocalVerifier>,
    pub ran: Arc<Ran>,
    pub reverse_failures: Arc<AtomicUsize>,
    pub disconnects: Arc<AtomicUsize>,
    pub metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Sample {
    pub fn token(&self, perm: Permission) -> String {
        self.verifier.issue(&format!("user-{perm}"), perm)
    }
    pub fn http_url(&self) -> String {
        format!("http://{}/rpc/v1", self.addr)
    }
    pub fn ws_url(&self) -> String {
        format!("ws://{}/rpc/v1", self.addr)
    }
    pub fn multiaddr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.addr.port())
    }

    /// Graceful shutdown; waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub fn router(
    ran: Arc<Ran>,
    reverse_failures: Arc<AtomicUsize>,
    disconnects: Arc<AtomicUsize>,
) -> Router {
    let mut r = Router::new();
    let h = ran.clone();
    r.method(VERSION, move |_ctx, ()| {
        h.hit("Filecoin.Version");
        async {
            Ok(Version {
                version: "venus-rpc-sample".into(),
                api_version: 0x0001_0100,
            })
        }
    });
    let h = ran.clone();
    r.method(ADD, move |_ctx, (a, b)| {
        h.hit("Filecoin.Add");
        async move { a.checked_add(b).ok_or_else(|| RpcError::method("overflow")) }
    });
    let h = ran.clone();
    r.method(ECHO, move |_ctx, (v,)| {
        h.hit("Filecoin.Echo");
        async move { Ok(v) }
    });
    let h = ran.clone();
    r.method(WHO_AM_I, move |ctx, ()| {
        h.hit("Filecoin.WhoAmI");
        let user = ctx.caller().user.clone();
        async move { Ok(user) }
    });
    let h = ran.clone();
    r.method(FAIL, move |_ctx, ()| {
        h.hit("Filecoin.Fail");
        async { Err::<(), _>(RpcError::method("boom")) }
    });
    let h = ran.clone();
    r.method(SLEEP, move |_ctx, (ms,)| {
        h.hit("Filecoin.Sleep");
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        }
    });
    for (m, name) in [
        (READ_THING, "Filecoin.ReadThing"),
        (WRITE_THING, "Filecoin.WriteThing"),
        (SIGN_THING, "Filecoin.SignThing"),
        (ADMIN_THING, "Filecoin.AdminThing"),
    ] {
        let h = ran.clone();
        r.method(m, move |_ctx, ()| {
            h.hit(name);
            async move { Ok(name) }
        });
    }
    r.subscription(CHAIN_NOTIFY, |_ctx, ()| async {
        let ticks = tokio::time::interval(Duration::from_millis(20));
        let heights = futures::stream::unfold((ticks, 0u64), |(mut ticks, h)| async move {
            ticks.tick().await;
            let kind = if h == 0 { "current" } else { "apply" };
            Some((
                vec![HeadChange {
                    kind: kind.into(),
                    val: Tipset { height: h },
                }],
                (ticks, h + 1),
            ))
        });
        Ok(heights)
    });
    let h = ran.clone();
    r.subscription(COUNT, move |_ctx, (n,)| {
        h.hit("Filecoin.Count");
        async move { Ok(futures::stream::iter(1..=n)) }
    });
    r.method(ASK_CLIENT, move |ctx, (x, timeout_ms)| {
        let failures = reverse_failures.clone();
        async move {
            let peer = ctx
                .peer()
                .cloned()
                .ok_or_else(|| RpcError::method("needs a WebSocket connection"))?;
            let r = peer
                .call_timeout(CLIENT_DOUBLE, (x,), Duration::from_millis(timeout_ms))
                .await;
            if r.is_err() {
                failures.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r?)
        }
    });
    r.method(WATCH_DISCONNECT, move |ctx, ()| {
        let disconnects = disconnects.clone();
        async move {
            let peer = ctx
                .peer()
                .cloned()
                .ok_or_else(|| RpcError::method("needs a WebSocket connection"))?;
            tokio::spawn(async move {
                peer.closed().await;
                disconnects.fetch_add(1, Ordering::SeqCst);
            });
            Ok(())
        }
    });
    r
}

pub async fn start() -> Sample {
    start_on("127.0.0.1:0", 1 << 20).await
}

pub async fn start_on(bind: &str, max_request_bytes: usize) -> Sample {
    start_with(bind, max_request_bytes, venus_rpc::ConnLimits::default()).await
}

pub async fn start_with(
    bind: &str,
    max_request_bytes: usize,
    limits: venus_rpc::ConnLimits,
) -> Sample {
    let listener = TcpListener::bind(bind).await.expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    let verifier = Arc::new(LocalVerifier::new(b"sample-secret".to_vec()));
    let ran = Arc::new(Ran::default());
    let reverse_failures = Arc::new(AtomicUsize::new(0));
    let disconnects = Arc::new(AtomicUsize::new(0));
    let metrics = Metrics::new();
    let app = Server::new(
        router(ran.clone(), reverse_failures.clone(), disconnects.clone()),
        verifier.clone(),
    )
    .paths(&["/rpc/v0", "/rpc/v1"])
    .max_request_bytes(max_request_bytes)
    .conn_limits(limits)
    .metrics(&metrics)
    .into_app()
    .merge(metrics.router());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(venus_rpc::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    Sample {
        addr,
        verifier,
        ran,
        reverse_failures,
        disconnects,
        metrics,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Wait until `cond` holds (polling), or fail after 5 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub async fn first_n<S: futures::Stream + Unpin>(s: &mut S, n: usize) -> Vec<S::Item> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), s.next()).await {
            Ok(Some(v)) => out.push(v),
            Ok(None) => break,
            Err(_) => panic!("stream stalled after {} items", out.len()),
        }
    }
    out
}
