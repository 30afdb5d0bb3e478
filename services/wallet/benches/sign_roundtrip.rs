//! `Gateway.WalletSign` round trip: caller → gateway → wallet → gateway → caller, over real
//! sockets (HTTP for the caller, WebSocket between gateway and wallet), all in one process.
//!
//! `cargo bench -p venus-wallet --bench sign_roundtrip`
//!
//! - `walletsign/sequential_http`: one caller, one request at a time (latency).
//! - `walletsign/concurrent_64_ws`: 64 requests in flight on one WebSocket caller; divide
//!   64 by the time per iteration for signatures per second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::sync::CancellationToken;
use venus_api::gateway as gw_api;
use venus_gateway::local::LocalGateway;
use venus_rpc::{Client, LocalVerifier, Permission};
use venus_types::{Address, KeyType, MsgMeta, MsgType};
use venus_wallet::keystore::{KdfParams, Keystore};
use venus_wallet::link::GatewayLink;
use venus_wallet::wallet::Wallet;

struct Setup {
    http: Client,
    ws: Client,
    addr: Address,
    _stop: CancellationToken,
    _gateway: LocalGateway,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let verifier = Arc::new(LocalVerifier::new(b"bench".to_vec()));
    let local = LocalGateway::start(verifier.clone())
        .await
        .expect("gateway");
    let (gw, port) = (local.gateway.clone(), local.port);
    let stop = CancellationToken::new();

    let dir = tempfile::tempdir().expect("tempdir");
    let ks = Keystore::open(
        dir.path(),
        KdfParams {
            log_n: 4,
            r: 8,
            p: 1,
        },
    )
    .expect("keystore");
    ks.set_password("bench").expect("password");
    // The bench signs raw bytes (`unknown`), off by default.
    let policy = venus_wallet::policy::SignPolicy::default().allowing(&MsgType::Unknown);
    let wallet = Wallet::with_sign_policy(ks, policy);
    let addr = wallet.new_key(KeyType::Secp256k1).expect("key");
    let link = GatewayLink::new(
        format!("/ip4/127.0.0.1/tcp/{port}"),
        verifier.issue("w1", Permission::Read),
        vec![],
    );
    tokio::spawn(link.run(wallet, stop.clone()));
    // The bench's own check runs as an admin caller, who may name any account.
    let admin_caller = venus_rpc::Caller {
        user: "admin".to_owned(),
        perm: Permission::Admin,
    };
    for _ in 0..200 {
        if gw.wallet_has(&admin_caller, &addr, vec!["w1".to_owned()]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        gw.wallet_has(&admin_caller, &addr, vec!["w1".to_owned()]),
        "wallet did not register"
    );
    let admin = verifier.issue("admin", Permission::Admin);
    let http = local.client(admin.clone(), false).await.expect("http");
    let ws = local.client(admin, true).await.expect("ws");
    Setup {
        http,
        ws,
        addr,
        _stop: stop,
        _gateway: local,
        _dir: dir,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(setup());
    let accounts = vec!["w1".to_owned()];
    let meta = MsgMeta::new(MsgType::Unknown);
    let mut g = c.benchmark_group("walletsign");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("sequential_http", |b| {
        b.iter(|| {
            rt.block_on(s.http.call(
                gw_api::WALLET_SIGN,
                (
                    s.addr,
                    accounts.clone(),
                    vec![0xde, 0xad, 0xbe, 0xef].into(),
                    meta.clone(),
                ),
            ))
            .expect("signed")
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("concurrent_64_ws", |b| {
        b.iter(|| {
            rt.block_on(async {
                let calls = (0..64u32).map(|i| {
                    s.ws.call(
                        gw_api::WALLET_SIGN,
                        (
                            s.addr,
                            accounts.clone(),
                            i.to_be_bytes().to_vec().into(),
                            meta.clone(),
                        ),
                    )
                });
                for r in futures::future::join_all(calls).await {
                    r.expect("signed");
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
