//! A real `venus-prover` process registering with two in-process gateways (LocalVerifier
//! tokens, allow-all account directory) and answering `Gateway.ComputeProof`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use venus_api::gateway as gw_api;
use venus_api::proof::ExtendedSectorInfo;
use venus_consensus::{SectorChallenge, WinningPoStScheme};
use venus_gateway::config::RequestSection;
use venus_gateway::directory::AllowAll;
use venus_gateway::metrics::GatewayMetrics;
use venus_gateway::service::Gateway;
use venus_rpc::observe::Metrics;
use venus_rpc::{Client, LocalVerifier, Permission, TokenVerifier};
use venus_types::{Address, Cid};

async fn gateway(verifier: Arc<LocalVerifier>) -> (Arc<Gateway>, u16, CancellationToken) {
    let metrics = Metrics::new();
    let gw = Gateway::new(
        Arc::new(AllowAll),
        RequestSection::default(),
        GatewayMetrics::register(&metrics),
    );
    let v: Arc<dyn TokenVerifier> = verifier;
    let app = venus_rpc::Server::new(venus_gateway::api::v2(&gw), v)
        .paths(&["/rpc/v2"])
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        venus_rpc::serve(listener, app, async move { s.cancelled().await }).await
    });
    (gw, port, stop)
}

struct Prover(Child);

impl Drop for Prover {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prover_serves_compute_proof_on_every_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let comm_r: Cid = venus_types::cid_of(&"sector 3 of t01000").expect("cid");
    std::fs::write(
        dir.path().join("pre-seal-t01000.json"),
        format!(
            r#"{{"t01000":{{"ID":"t01000","Owner":"t3x","Worker":"t3x","PeerId":"p","MarketBalance":"0","PowerBalance":"0",
               "SectorSize":2048,"Sectors":[{{"CommR":{},"SectorID":3,"Deal":{{}},"ProofType":5}}]}}}}"#,
            serde_json::to_string(&comm_r).expect("json")
        ),
    )
    .expect("write");

    let verifier = Arc::new(LocalVerifier::new(b"prover-test".to_vec()));
    let (g1, p1, s1) = gateway(verifier.clone()).await;
    let (g2, p2, s2) = gateway(verifier.clone()).await;
    let miner: Address = "t01000".parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_venus-prover"))
        .args([
            "run",
            "--gateway-url",
            &format!("/ip4/127.0.0.1/tcp/{p1}"),
            "--gateway-url",
            &format!("/ip4/127.0.0.1/tcp/{p2}"),
        ])
        .arg("--gateway-token")
        .arg(verifier.issue("minerUser", Permission::Read))
        .arg("--sector-store")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn venus-prover");
    let mut prover = Prover(child);
    for g in [&g1, &g2] {
        for _ in 0..200 {
            if g.connected_miners().contains(&miner) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(g.connected_miners(), vec![miner], "prover did not register");
    }

    let admin = verifier.issue("admin", Permission::Admin);
    let sector = ExtendedSectorInfo {
        seal_proof: 5,
        sector_number: 3,
        sector_key: None,
        sealed_cid: comm_r,
    };
    let scheme = venus_prover::prove::devnet_scheme(5).expect("scheme");
    for port in [p1, p2] {
        let c = Client::builder(&format!("http://127.0.0.1:{port}/rpc/v2"))
            .token(Some(admin.clone()))
            .connect()
            .await
            .expect("client");
        let proofs = c
            .call(
                gw_api::COMPUTE_PROOF,
                (miner, vec![sector.clone()], vec![9u8; 32].into(), 100, 21),
            )
            .await
            .expect("proof");
        let challenge = [SectorChallenge {
            sector_number: 3,
            sealed_cid: comm_r,
        }];
        scheme
            .verify(1000, &challenge, &[9u8; 32], &proofs)
            .expect("the node-side check accepts it");
        // A sector the prover does not hold is refused with the reason.
        let unknown = ExtendedSectorInfo {
            sector_number: 4,
            ..sector.clone()
        };
        let err = c
            .call(
                gw_api::COMPUTE_PROOF,
                (miner, vec![unknown], vec![9u8; 32].into(), 100, 21),
            )
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("not in this prover's store"),
            "{err}"
        );
        let state = c
            .call(gw_api::LIST_MINER_CONNECTION, (miner,))
            .await
            .expect("state");
        assert_eq!(state.connection_count, 1);
    }

    let _ = prover.0.kill();
    let _ = prover.0.wait();
    for _ in 0..200 {
        if g1.connected_miners().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = Client::builder(&format!("http://127.0.0.1:{p1}/rpc/v2"))
        .token(Some(admin))
        .connect()
        .await
        .expect("client");
    let err = c
        .call(
            gw_api::COMPUTE_PROOF,
            (miner, vec![sector], vec![9u8; 32].into(), 100, 21),
        )
        .await
        .expect_err("no prover");
    assert!(
        err.to_string()
            .contains(&format!("no prover connected for miner {miner}")),
        "{err}"
    );
    s1.cancel();
    s2.cancel();
}
