//! What an unauthenticated or misbehaving peer can hold is bounded: header bytes, token
//! length, the time to send a head, connections, batch length, the time a request takes,
//! and the time an answer waits for a peer that stopped reading.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed assertion

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use venus_rpc::{
    Caller, LocalVerifier, MAX_TOKEN_BYTES, Permission, ServeOptions, TokenVerifier, VerifyError,
};

/// Counts what reaches it, and accepts only "good".
#[derive(Default)]
struct CountingVerifier {
    asked: AtomicUsize,
}

#[async_trait]
impl TokenVerifier for CountingVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if token == "good" {
            Ok(Caller {
                user: "u".into(),
                perm: Permission::Admin,
            })
        } else {
            Err(VerifyError::Invalid("no".into()))
        }
    }
}

struct Served {
    addr: std::net::SocketAddr,
    ran: Arc<common::Ran>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(
    verifier: Arc<dyn TokenVerifier>,
    server: impl FnOnce(venus_rpc::Server) -> venus_rpc::Server,
    options: ServeOptions,
) -> Served {
    let ran = Arc::new(common::Ran::default());
    let router = common::router(ran.clone(), Default::default(), Default::default());
    let app = server(venus_rpc::Server::new(router, verifier)).into_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(venus_rpc::serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        options,
    ));
    Served {
        addr,
        ran,
        _stop: stop,
    }
}

fn request(token: &str, body: &str) -> String {
    format!(
        "POST /rpc/v1 HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn call(method: &str, params: serde_json::Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

/// Read until the peer closes (or `limit` passes); what arrived and whether it closed.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status code of the first response in `raw`.
fn status_of(raw: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(raw);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test]
async fn huge_and_long_tokens_never_reach_the_verifier() {
    let verifier = Arc::new(CountingVerifier::default());
    let s = serve(verifier.clone(), |s| s, ServeOptions::default()).await;

    // A 270 KB made-up bearer token: the head is larger than allowed, refused by hyper.
    let huge = "h".repeat(270_000);
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request(&huge, &call("Filecoin.Version", json!([]))).as_bytes())
        .await
        .unwrap_or(());
    let (raw, closed) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(closed, "the connection is closed after the refusal");
    assert_eq!(status_of(&raw), 431);

    // Longer than a token can be, within the head limit: 401 without asking the verifier.
    let long = "l".repeat(MAX_TOKEN_BYTES + 1);
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request(&long, &call("Filecoin.Version", json!([]))).as_bytes())
        .await
        .unwrap();
    let (raw, _) = read_until_closed(&mut tcp, Duration::from_millis(500)).await;
    assert_eq!(status_of(&raw), 401);
    assert!(
        String::from_utf8_lossy(&raw).contains("longer than"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(verifier.asked.load(Ordering::SeqCst), 0);
    assert_eq!(s.ran.total(), 0);

    // A real caller still gets in.
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request("good", &call("Filecoin.Version", json!([]))).as_bytes())
        .await
        .unwrap();
    let (raw, _) = read_until_closed(&mut tcp, Duration::from_millis(500)).await;
    assert_eq!(status_of(&raw), 200);
}

#[tokio::test]
async fn a_slowloris_head_is_cut_at_the_header_read_timeout() {
    let verifier = Arc::new(LocalVerifier::new(b"k".to_vec()));
    let options = ServeOptions {
        header_read_timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let s = serve(verifier, |s| s, options).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"POST /rpc/v1 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // One header byte every 100 ms: never a complete head.
    let closed = loop {
        if tcp.write_all(b"X").await.is_err() {
            break true;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => break true,
            Err(_) => {}
        }
        if started.elapsed() > Duration::from_secs(10) {
            break false;
        }
    };
    assert!(closed, "the server closed the trickling connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let verifier = Arc::new(LocalVerifier::new(b"k".to_vec()));
    let token = verifier.issue("u", Permission::Read);
    let options = ServeOptions {
        max_connections: 2,
        ..Default::default()
    };
    let s = serve(verifier, |s| s, options).await;
    let first = TcpStream::connect(s.addr).await.unwrap();
    let _second = TcpStream::connect(s.addr).await.unwrap();
    // The third is accepted by the kernel but not served while both slots are held.
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third
        .write_all(request(&token, &call("Filecoin.Version", json!([]))).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    assert!(
        tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection is not served while two hold the slots"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(status_of(&buf[..n]), 200);
}

#[tokio::test]
async fn long_batches_are_refused_before_any_call_runs() {
    let verifier = Arc::new(LocalVerifier::new(b"k".to_vec()));
    let token = verifier.issue("u", Permission::Read);
    let s = serve(verifier, |s| s.max_batch_len(3), ServeOptions::default()).await;
    let batch = |n: usize| {
        serde_json::Value::Array(
            (0..n)
                .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "Filecoin.Version", "params": []}))
                .collect(),
        )
        .to_string()
    };
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request(&token, &batch(4)).as_bytes())
        .await
        .unwrap();
    let (raw, _) = read_until_closed(&mut tcp, Duration::from_millis(500)).await;
    assert_eq!(status_of(&raw), 400);
    assert!(String::from_utf8_lossy(&raw).contains("batch of 4 calls exceeds the limit of 3"));
    assert_eq!(s.ran.total(), 0);
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request(&token, &batch(3)).as_bytes())
        .await
        .unwrap();
    let (raw, _) = read_until_closed(&mut tcp, Duration::from_millis(500)).await;
    assert_eq!(status_of(&raw), 200);
    assert_eq!(s.ran.count("Filecoin.Version"), 3);
}

#[tokio::test]
async fn every_request_has_a_deadline() {
    let verifier = Arc::new(LocalVerifier::new(b"k".to_vec()));
    let token = verifier.issue("u", Permission::Read);
    let options = ServeOptions {
        request_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let s = serve(verifier, |s| s, options).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let started = Instant::now();
    tcp.write_all(request(&token, &call("Filecoin.Sleep", json!([60_000]))).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("answered at the deadline")
        .unwrap();
    assert_eq!(status_of(&buf[..n]), 503);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_peer_that_never_reads_its_answer_is_dropped() {
    let verifier = Arc::new(LocalVerifier::new(b"k".to_vec()));
    let token = verifier.issue("u", Permission::Read);
    let options = ServeOptions {
        idle_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let s = serve(verifier, |s| s.max_request_bytes(64 << 20), options).await;
    // An answer far larger than the socket buffers can absorb.
    let big = "e".repeat(48 << 20);
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(request(&token, &call("Filecoin.Echo", json!([big]))).as_bytes())
        .await
        .unwrap();
    // Wait for the answer to start (on a loaded machine decoding 48 MiB takes a while), then
    // stop reading for longer than the idle limit plus the closing grace.
    let mut first = vec![0u8; 4096];
    let started = tokio::time::timeout(Duration::from_secs(120), tcp.read(&mut first))
        .await
        .expect("the answer starts")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (rest, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    let raw = [&first[..started], &rest[..]].concat();
    assert!(closed);
    assert!(
        raw.len() < big.len(),
        "the answer was dropped, not held: {} of {} bytes arrived",
        raw.len(),
        big.len()
    );
}
