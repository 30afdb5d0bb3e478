//! Load benchmark of the RPC layer with a trivial method (`Filecoin.Version`).
//!
//!   cargo bench -p venus-rpc --bench rpc_load -- serve 3453
//!       serve on 127.0.0.1:3453 and print a read token, for
//!       /work/shared/bench/http-load.sh rpc http://127.0.0.1:3453/rpc/v1 TOKEN Filecoin.Version '[]'
//!   cargo bench -p venus-rpc --bench rpc_load -- ws SECONDS CONNECTIONS
//!       in-process server plus WebSocket clients, each keeping one call in flight;
//!       prints requests/s and p50/p99 latency.
//!   cargo bench -p venus-rpc --bench rpc_load -- bare PORT | bare-axum PORT
//!       the ceilings: the same runtime answering every POST with the same JSON constant,
//!       on hyper alone or through `venus_rpc::serve` and an axum router — no token, no
//!       parsing, no dispatch. Load them like `serve` (any token): what the stack alone allows.

use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use venus_rpc::{Client, LocalVerifier, Method, Permission, Router, Server};

#[derive(Serialize, Deserialize)]
struct Version {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "APIVersion")]
    api_version: u32,
    #[serde(rename = "BlockDelay")]
    block_delay: u64,
}

const VERSION: Method<(), Version> = Method::new("Filecoin.Version", Permission::Read);

fn app() -> (venus_rpc::App, String) {
    let verifier = Arc::new(LocalVerifier::new(b"bench-secret".to_vec()));
    let token = verifier.issue("bench", Permission::Read);
    let mut router = Router::new();
    router.method(VERSION, |_ctx, ()| async {
        Ok(Version {
            version: "1.16.0+venus-rpc".into(),
            api_version: 0x0001_0100,
            block_delay: 30,
        })
    });
    let metrics = venus_rpc::observe::Metrics::new();
    let app = Server::new(router, verifier)
        .metrics(&metrics)
        .into_app()
        .merge(metrics.router());
    (app, token)
}

async fn start(port: u16) -> (std::net::SocketAddr, String) {
    let (app, token) = app();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(venus_rpc::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    (addr, token)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn ws_load(seconds: u64, conns: usize) {
    let (addr, token) = start(0).await;
    let url = format!("ws://{addr}/rpc/v1");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let client = Client::connect(&url, Some(token.clone()))
            .await
            .expect("connect");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 16);
            while Instant::now() < deadline {
                let t = Instant::now();
                client.call(VERSION, ()).await.expect("call");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("load task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "ws conns={conns} req/s={:.0} p50_ms={:.3} p99_ms={:.3} calls={} load1={}",
        all.len() as f64 / elapsed,
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.len(),
        load.split_whitespace().next().unwrap_or("?"),
    );
}

/// The server's own work per HTTP request without sockets or HTTP parsing: the app called
/// in process as `serve` calls it (token check, JSON-RPC parse, dispatch, metrics, response).
async fn inproc(calls: u32) {
    let (app, token) = app();
    let remote: std::net::SocketAddr = ([127, 0, 0, 1], 1).into();
    let body = r#"{"jsonrpc":"2.0","method":"Filecoin.Version","params":[],"id":1}"#;
    let request = || {
        axum::http::Request::post("/rpc/v1")
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from(body))
            .expect("request")
    };
    for _ in 0..1000 {
        let _ = app.call(request(), remote).await;
    }
    let cpu_before = process_cpu();
    let started = Instant::now();
    for _ in 0..calls {
        let resp = app.call(request(), remote).await;
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        assert!(bytes.starts_with(br#"{"jsonrpc""#));
    }
    let per = started.elapsed() / calls;
    let cpu_per = (process_cpu() - cpu_before) / calls;
    println!(
        "inproc calls={calls} wall_per_call_ns={} cpu_per_call_ns={}",
        per.as_nanos(),
        cpu_per.as_nanos()
    );
}

/// CPU time this process has used (user + system), from /proc: unlike wall time it does
/// not grow when other work shares the cores.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

const CONSTANT_ANSWER: &str = r#"{"jsonrpc":"2.0","result":{"Version":"1.16.0+venus-rpc","APIVersion":65792,"BlockDelay":30},"id":1}"#;

/// A constant-answer server: reads the body, answers [`CONSTANT_ANSWER`].
async fn bare(port: u16, with_axum: bool) {
    use http_body_util::BodyExt as _;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!(
        "serving a constant answer on http://{}/rpc/v1",
        listener.local_addr().expect("address")
    );
    let router = axum::Router::new().route(
        "/rpc/v1",
        axum::routing::post(|body: axum::body::Bytes| async move {
            std::hint::black_box(body.len());
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                CONSTANT_ANSWER,
            )
        }),
    );
    if with_axum {
        let _ = venus_rpc::serve(listener, router, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        return;
    }
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(tcp);
            let service = hyper::service::service_fn(
                |req: http::Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    std::hint::black_box(body.len());
                    let mut resp = http::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(CONSTANT_ANSWER.as_bytes()),
                    ));
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, hyper::Error>(resp)
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let threads = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    match args.first().map(String::as_str) {
        Some("serve") => rt.block_on(async {
            let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(3453);
            let (addr, token) = start(port).await;
            println!("serving http://{addr}/rpc/v1 ; read token: {token}");
            let _ = tokio::signal::ctrl_c().await;
        }),
        Some("ws") => {
            let seconds = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(10);
            let conns = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(16);
            rt.block_on(ws_load(seconds, conns));
        }
        Some("inproc") => {
            let calls = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(200_000);
            rt.block_on(inproc(calls));
        }
        Some(mode @ ("bare" | "bare-axum")) => {
            let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(3453);
            rt.block_on(bare(port, mode == "bare-axum"));
        }
        _ => eprintln!(
            "usage: rpc_load serve [PORT] | rpc_load ws [SECONDS] [CONNECTIONS] | rpc_load inproc [CALLS] | rpc_load bare|bare-axum [PORT]"
        ),
    }
}
