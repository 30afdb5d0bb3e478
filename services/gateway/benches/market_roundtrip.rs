//! The market event round trip: caller → gateway → market (over its `ListenMarketEvent`
//! channel) → `ResponseMarketEvent` → gateway → caller, for `Gateway.SectorsUnsealPiece`, over
//! real sockets in one process (HTTP or WebSocket for the caller, the go-jsonrpc channel flow
//! on the market's WebSocket). The market side answers at once, so this is the routing cost.
//!
//! `cargo bench -p venus-gateway --bench market_roundtrip`
//!
//! - `market/unseal_sequential_http`: one request at a time (latency).
//! - `market/unseal_concurrent_64_ws`: 64 requests in flight on one WebSocket caller; divide
//!   64 by the time per iteration for round trips per second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt as _;
use venus_api::gateway as api;
use venus_gateway::local::LocalGateway;
use venus_rpc::{Client, LocalVerifier, Permission};
use venus_types::{Address, Cid};

struct Setup {
    http: Client,
    ws: Client,
    miner: Address,
    piece: Cid,
    _market: tokio::task::JoinHandle<()>,
    _gateway: LocalGateway,
}

/// A market side for `miner`: answers every `SectorsUnsealPiece` event with `finished`.
async fn market_side(port: u16, token: String, miner: Address) -> tokio::task::JoinHandle<()> {
    let client = Client::builder(&format!("/ip4/127.0.0.1/tcp/{port}"))
        .version("v2")
        .token(Some(token))
        .connect()
        .await
        .expect("market connects");
    let mut events = client
        .subscribe(
            api::LISTEN_MARKET_EVENT,
            (api::MarketRegisterPolicy { miner },),
        )
        .await
        .expect("registered");
    let finished = serde_json::to_vec(&api::UnsealState::Finished).expect("json");
    tokio::spawn(async move {
        while let Some(ev) = events.next().await {
            if ev.method != "SectorsUnsealPiece" {
                continue;
            }
            let client = client.clone();
            let payload = finished.clone();
            // Answer concurrently, as a market with many unseals in flight does.
            tokio::spawn(async move {
                let resp = api::ResponseEvent {
                    id: ev.id,
                    payload: payload.into(),
                    error: String::new(),
                };
                let _ = client.call(api::RESPONSE_MARKET_EVENT, (resp,)).await;
            });
        }
    })
}

async fn setup() -> Setup {
    let verifier = Arc::new(LocalVerifier::new(b"bench".to_vec()));
    let gateway = LocalGateway::start(verifier.clone())
        .await
        .expect("gateway");
    let port = gateway.port;

    let miner: Address = "t01000".parse().expect("miner");
    let market = market_side(port, verifier.issue("m1", Permission::Read), miner).await;
    let admin = verifier.issue("admin", Permission::Admin);
    let http = gateway.client(admin.clone(), false).await.expect("http");
    let ws = gateway.client(admin, true).await.expect("ws");
    let piece: Cid = "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"
        .parse()
        .expect("piece cid");
    // The market is connected once a call reaches it.
    let mut ready = false;
    for _ in 0..200 {
        let asked = http
            .call(
                api::SECTORS_UNSEAL_PIECE,
                (miner, piece, 1, 0, 2032, String::new()),
            )
            .await;
        if asked.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready, "the market did not register");
    Setup {
        http,
        ws,
        miner,
        piece,
        _market: market,
        _gateway: gateway,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(setup());
    let mut g = c.benchmark_group("market");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("unseal_sequential_http", |b| {
        b.iter(|| {
            let state = rt
                .block_on(s.http.call(
                    api::SECTORS_UNSEAL_PIECE,
                    (s.miner, s.piece, 1, 0, 2032, String::new()),
                ))
                .expect("answered");
            assert_eq!(state, api::UnsealState::Finished);
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("unseal_concurrent_64_ws", |b| {
        b.iter(|| {
            rt.block_on(async {
                let calls = (0..64u64).map(|i| {
                    s.ws.call(
                        api::SECTORS_UNSEAL_PIECE,
                        (s.miner, s.piece, i, 0, 2032, String::new()),
                    )
                });
                for r in futures::future::join_all(calls).await {
                    assert_eq!(r.expect("answered"), api::UnsealState::Finished);
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
