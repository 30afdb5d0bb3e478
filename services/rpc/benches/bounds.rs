//! What unauthenticated and misbehaving peers cost a venus-rpc server, measured from outside:
//! the server runs as a child process (this binary, `serve` mode) on loopback with
//! `venus_rpc::serve`'s defaults, and the parent attacks it phase by phase, reading the
//! child's RSS and open descriptors from /proc and timing legitimate calls meanwhile.
//!
//!   cargo bench --profile dev -p venus-rpc --bench bounds
//!
//! Phases (bounded in count and time, about 80 s in all):
//!   bad-tokens   300 requests, each with its own ~270 KB made-up bearer token
//!   long-tokens  3,000 requests with distinct 7 KB made-up tokens (under the token limit)
//!   slowloris    300 connections trickling a request head, one byte a second
//!   idle         300 keep-alive connections left idle after one call
//!   no-reader    20 connections asking for a 4 MB answer and never reading it

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use venus_rpc::{LocalVerifier, Method, Permission, Router, Server};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const VERSION: Method<(), String> = Method::new("Filecoin.Version", Permission::Read);
const ECHO: Method<(serde_json::Value,), serde_json::Value> =
    Method::new("Filecoin.Echo", Permission::Read);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if args.first().map(String::as_str) == Some("serve") {
        runtime.block_on(serve());
    } else {
        runtime.block_on(attack());
    }
}

/// The server under test: a local token verifier, two methods, `serve`'s defaults except a
/// 10 s idle timeout (so a peer that stops reading meets it within the run).
async fn serve() {
    let verifier = Arc::new(LocalVerifier::new(b"bounds-bench-secret".to_vec()));
    let token = verifier.issue("bench", Permission::Read);
    let mut router = Router::new();
    router.method(VERSION, |_ctx, ()| async { Ok("bench".to_owned()) });
    router.method(ECHO, |_ctx, (v,)| async move { Ok(v) });
    let app = Server::new(router, verifier).into_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{} {token}", listener.local_addr().expect("address"));
    let options = venus_rpc::ServeOptions {
        idle_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let _ = venus_rpc::serve_with(listener, app, std::future::pending(), options).await;
}

struct Child {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    token: String,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Child {
    fn start() -> Self {
        use std::io::BufRead as _;
        let exe = std::env::current_exe().expect("own path");
        let mut child = std::process::Command::new(exe)
            .arg("serve")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's address");
        let mut parts = line.split_whitespace();
        let addr = parts.next().expect("address").parse().expect("address");
        let token = parts.next().expect("token").to_owned();
        Self { child, addr, token }
    }

    /// (RSS MiB, peak RSS MiB, open descriptors) of the server.
    fn usage(&self) -> (f64, f64, usize) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        (kib("VmRSS:"), kib("VmHWM:"), fds)
    }
}

fn request(token: &str, body: &str) -> String {
    format!(
        "POST /rpc/v1 HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn version_call() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.Version", "params": []}).to_string()
}

/// Read one response (head and `Content-Length` body); its status, or `None` if closed.
async fn read_response(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = tcp.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return head.split_whitespace().nth(1)?.parse().ok();
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// p50 and p99 (ms) of 200 legitimate calls on one keep-alive connection.
async fn legit_latency(server: &Child) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut failures = 0;
    let mut buf = Vec::new();
    let req = request(&server.token, &version_call());
    let mut tcp = None;
    for _ in 0..200 {
        let started = Instant::now();
        if tcp.is_none() {
            tcp = TcpStream::connect(server.addr).await.ok();
        }
        let ok = match tcp.as_mut() {
            Some(t) => {
                t.write_all(req.as_bytes()).await.is_ok()
                    && tokio::time::timeout(Duration::from_secs(10), read_response(t, &mut buf))
                        .await
                        .ok()
                        .flatten()
                        == Some(200)
            }
            None => false,
        };
        if ok {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        } else {
            failures += 1;
            tcp = None;
        }
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (pick(0.5), pick(0.99), failures)
}

fn report(phase: &str, server: &Child, latency: (f64, f64, usize)) {
    let (rss, peak, fds) = server.usage();
    println!(
        "{phase:<28} rss {rss:7.1} MiB  peak {peak:7.1} MiB  fds {fds:5}  legit p50 {:6.2} ms  p99 {:7.2} ms  failed {}",
        latency.0, latency.1, latency.2
    );
}

/// `count` requests, `parallel` at a time, each on its own connection with its own token of
/// `len` bytes; the statuses seen.
async fn flood_tokens(server: &Child, count: usize, parallel: usize, len: usize) -> Vec<u16> {
    let addr = server.addr;
    let body = Arc::new(version_call());
    let mut statuses = Vec::new();
    for wave in 0..count.div_ceil(parallel) {
        let mut tasks = Vec::new();
        for i in 0..parallel.min(count - wave * parallel) {
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let n = wave * 100_000 + i;
                let token = format!("{n:012}{}", "z".repeat(len.saturating_sub(12)));
                let mut tcp = TcpStream::connect(addr).await.ok()?;
                tcp.write_all(request(&token, &body).as_bytes())
                    .await
                    .ok()?;
                let mut buf = Vec::new();
                tokio::time::timeout(Duration::from_secs(10), read_response(&mut tcp, &mut buf))
                    .await
                    .ok()
                    .flatten()
            }));
        }
        for t in tasks {
            statuses.push(t.await.ok().flatten().unwrap_or(0));
        }
    }
    statuses
}

fn summarize(statuses: &[u16]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| {
            format!(
                "{n}×{}",
                if *s == 0 {
                    "closed".into()
                } else {
                    s.to_string()
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn attack() {
    let server = Child::start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    report("baseline", &server, legit_latency(&server).await);

    let flood = flood_tokens(&server, 300, 8, 270_000).await;
    println!("  bad-tokens answers: {}", summarize(&flood));
    report(
        "after 300 × 270 KB tokens",
        &server,
        legit_latency(&server).await,
    );

    let flood = flood_tokens(&server, 3000, 16, 7 * 1024).await;
    println!("  long-tokens answers: {}", summarize(&flood));
    report(
        "after 3,000 × 7 KB tokens",
        &server,
        legit_latency(&server).await,
    );

    // Slowloris and idle keep-alive connections at once, held from this side for 40 s.
    let addr = server.addr;
    let token = server.token.clone();
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(tokio::spawn(async move {
            let Ok(mut tcp) = TcpStream::connect(addr).await else {
                return;
            };
            if tcp
                .write_all(b"POST /rpc/v1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .is_err()
            {
                return;
            }
            for _ in 0..40 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tcp.write_all(b"a").await.is_err() {
                    return;
                }
            }
        }));
        let token = token.clone();
        held.push(tokio::spawn(async move {
            let Ok(mut tcp) = TcpStream::connect(addr).await else {
                return;
            };
            let mut buf = Vec::new();
            if tcp
                .write_all(request(&token, &version_call()).as_bytes())
                .await
                .is_ok()
            {
                let _ = read_response(&mut tcp, &mut buf).await;
            }
            // Then idle: wait for the server to close it, at most 40 s.
            let mut byte = [0u8; 1];
            let _ = tokio::time::timeout(Duration::from_secs(40), tcp.read(&mut byte)).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    report(
        "300 slowloris + 300 idle, 5 s",
        &server,
        legit_latency(&server).await,
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    report("same, 35 s", &server, legit_latency(&server).await);
    for h in held {
        h.abort();
    }

    // Peers that ask for a large answer and never read it.
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.Echo", "params": ["e".repeat(4 << 20)]})
        .to_string();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        tcp.write_all(request(&server.token, &big).as_bytes())
            .await
            .expect("send");
        stalled.push(tcp);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    report(
        "20 non-readers × 4 MB, 3 s",
        &server,
        legit_latency(&server).await,
    );
    tokio::time::sleep(Duration::from_secs(15)).await;
    report("same, 18 s", &server, legit_latency(&server).await);
    drop(stalled);
}
