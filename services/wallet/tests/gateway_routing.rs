//! Real `venus-wallet` processes registering with two in-process gateways (the gateway
//! library behind the real RPC server), then signing through them.
//!
//! Token setup: a `LocalVerifier` only (venus-auth is not started here), with the gateway's
//! `AllowAll` directory standing in for venus-auth's user/miner checks. The venus-auth path
//! is covered by the gateway binary's own tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use venus_api::gateway as gw_api;
use venus_gateway::config::RequestSection;
use venus_gateway::directory::AllowAll;
use venus_gateway::metrics::GatewayMetrics;
use venus_gateway::service::Gateway;
use venus_rpc::observe::Metrics;
use venus_rpc::{Client, LocalVerifier, Permission, TokenVerifier};
use venus_types::{Address, Message, MsgMeta, MsgType, TokenAmount};

const WALLET: &str = env!("CARGO_BIN_EXE_venus-wallet");

struct TestGateway {
    addr: SocketAddr,
    state: Arc<Gateway>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl TestGateway {
    async fn start(verifier: Arc<LocalVerifier>, port: u16) -> Self {
        let metrics = Metrics::new();
        let state = Gateway::new(
            Arc::new(AllowAll),
            RequestSection {
                wallet_timeout_secs: 5,
                proof_timeout_secs: 5,
                ..RequestSection::default()
            },
            GatewayMetrics::register(&metrics),
        );
        let v: Arc<dyn TokenVerifier> = verifier;
        let app = venus_rpc::Server::new(venus_gateway::api::v2(&state), v.clone())
            .paths(&["/rpc/v2"])
            .into_router()
            .merge(
                venus_rpc::Server::new(venus_gateway::api::v1(&state), v)
                    .paths(&["/rpc/v1"])
                    .into_router(),
            );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let s = stop.clone();
        let task = tokio::spawn(async move {
            venus_rpc::serve(listener, app, async move { s.cancelled().await })
                .await
                .expect("serve");
        });
        Self {
            addr,
            state,
            stop,
            task,
        }
    }

    fn multiaddr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.addr.port())
    }

    async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

struct WalletProc {
    child: Child,
    repo: tempfile::TempDir,
}

impl WalletProc {
    fn start(gateways: &[String], token: &str, support: &[&str]) -> Self {
        let repo = tempfile::tempdir().expect("tempdir");
        // Cheap scrypt for tests; production keeps the default 2^18.
        std::fs::write(
            repo.path().join("config.toml"),
            "[Factor]\nScryptN = 1024\nScryptP = 1\n[SignPolicy]\nAllowedTypes = [\"message\", \"block\", \"verifyaddress\", \"unknown\"]\n",
        )
        .expect("config");
        let port = free_port();
        let mut cmd = Command::new(WALLET);
        cmd.arg("--repo")
            .arg(repo.path())
            .arg("run")
            .arg("--listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{port}/http"));
        for g in gateways {
            cmd.arg("--gateway-url").arg(g);
        }
        cmd.arg("--gateway-token")
            .arg(token)
            .arg("--password")
            .arg("test-password");
        if !support.is_empty() {
            cmd.arg("--support-accounts").arg(support.join(","));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn venus-wallet");
        let w = Self { child, repo };
        w.wait_ready();
        w
    }

    fn wait_ready(&self) {
        for _ in 0..100 {
            if self.cli(&["lock-state"]).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("venus-wallet did not come up");
    }

    fn cli(&self, args: &[&str]) -> Result<String, String> {
        cli(self.repo.path(), args, None)
    }

    fn new_key(&self, kind: &str) -> Address {
        self.cli(&["new", kind])
            .expect("new key")
            .trim()
            .parse()
            .expect("address")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WalletProc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn cli(repo: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(WALLET);
    cmd.arg("--repo")
        .arg(repo)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    // Generous: the machine running the tests may be heavily loaded.
    for _ in 0..600 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn consumer(gw: &TestGateway, token: &str) -> Client {
    Client::builder(&format!("http://{}/rpc/v2", gw.addr))
        .token(Some(token.to_owned()))
        .connect()
        .await
        .expect("client")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn unknown() -> MsgMeta {
    MsgMeta::new(MsgType::Unknown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_routing_across_two_wallets_and_two_gateways() {
    let verifier = Arc::new(LocalVerifier::new(b"test-secret".to_vec()));
    let admin = verifier.issue("admin", Permission::Admin);
    let g1 = TestGateway::start(verifier.clone(), 0).await;
    let g2 = TestGateway::start(verifier.clone(), 0).await;
    let gws = [g1.multiaddr(), g2.multiaddr()];

    let wa = WalletProc::start(
        &gws,
        &verifier.issue("walletA", Permission::Read),
        &["minerA"],
    );
    let wb = WalletProc::start(
        &gws,
        &verifier.issue("walletB", Permission::Read),
        &["minerB"],
    );
    let addr_a = wa.new_key("secp256k1");
    let addr_b = wb.new_key("bls");
    for g in [&g1, &g2] {
        wait_until("wallet A on both gateways", || {
            g.state.wallet_has(&admin_caller(), &addr_a, s(&["minerA"]))
        })
        .await;
        wait_until("wallet B on both gateways", || {
            g.state.wallet_has(&admin_caller(), &addr_b, s(&["minerB"]))
        })
        .await;
    }

    for g in [&g1, &g2] {
        let c = consumer(g, &admin).await;
        for (addr, account) in [(addr_a, "minerA"), (addr_a, "walletA"), (addr_b, "minerB")] {
            let data = format!("payload for {addr}").into_bytes();
            let sig = c
                .call(
                    gw_api::WALLET_SIGN,
                    (addr, s(&[account]), data.clone().into(), unknown()),
                )
                .await
                .expect("signed");
            venus_types::crypto::verify(&sig, &data, &addr).expect("signature verifies");
        }
        // Another account's address is refused with a readable error.
        let err = c
            .call(
                gw_api::WALLET_SIGN,
                (addr_a, s(&["minerB"]), b"x".to_vec().into(), unknown()),
            )
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains(&format!(
                "no wallet connected for address {addr_a} of account minerB"
            )),
            "{err}"
        );
        assert!(
            c.call(gw_api::WALLET_HAS, (addr_a, s(&["minerA"])))
                .await
                .expect("has")
        );
        assert!(
            !c.call(gw_api::WALLET_HAS, (addr_a, s(&["minerB"])))
                .await
                .expect("has")
        );
        // A read token cannot ask for signatures.
        let reader = consumer(g, &verifier.issue("walletA", Permission::Read)).await;
        let err = reader
            .call(
                gw_api::WALLET_SIGN,
                (addr_a, s(&["minerA"]), b"x".to_vec().into(), unknown()),
            )
            .await
            .expect_err("perm");
        assert!(err.to_string().contains("need 'sign'"), "{err}");
        // Operators see both wallets.
        let list = c.call(gw_api::LIST_WALLET_INFO, ()).await.expect("list");
        assert_eq!(
            list.iter().map(|w| w.account.as_str()).collect::<Vec<_>>(),
            ["walletA", "walletB"]
        );
    }

    // A message is signed only when the bytes are its CID.
    let c = consumer(&g1, &admin).await;
    let msg = Message {
        version: 0,
        to: Address::new_id(1000),
        from: addr_a,
        nonce: 0,
        value: TokenAmount::default(),
        gas_limit: 1000,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
        method: 0,
        params: Default::default(),
    };
    let meta = MsgMeta {
        msg_type: MsgType::ChainMsg,
        extra: msg.to_cbor().into(),
    };
    let cid = msg.cid().to_bytes();
    let sig = c
        .call(
            gw_api::WALLET_SIGN,
            (addr_a, s(&["minerA"]), cid.clone().into(), meta.clone()),
        )
        .await
        .expect("signed");
    venus_types::crypto::verify(&sig, &cid, &addr_a).expect("verifies");
    let err = c
        .call(
            gw_api::WALLET_SIGN,
            (addr_a, s(&["minerA"]), b"not the cid".to_vec().into(), meta),
        )
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("not the CID"), "{err}");

    // Many concurrent requests, all answered correctly.
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let data = i.to_be_bytes().to_vec();
            let sig = c
                .call(
                    gw_api::WALLET_SIGN,
                    (
                        addr_a,
                        vec!["minerA".to_owned()],
                        data.clone().into(),
                        unknown(),
                    ),
                )
                .await
                .expect("signed");
            venus_types::crypto::verify(&sig, &data, &addr_a).expect("verifies");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }

    // Disconnect is noticed at once.
    drop(wb);
    for g in [&g1, &g2] {
        wait_until("wallet B gone", || {
            !g.state.wallet_has(&admin_caller(), &addr_b, s(&["minerB"]))
        })
        .await;
    }
    drop(wa);
    g1.shutdown().await;
    g2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_wallet_fails_over_and_wallet_reconnects_after_gateway_restart() {
    let verifier = Arc::new(LocalVerifier::new(b"test-secret-2".to_vec()));
    let admin = verifier.issue("admin", Permission::Admin);
    let g = TestGateway::start(verifier.clone(), 0).await;
    let port = g.addr.port();
    let gws = [g.multiaddr()];
    let token = verifier.issue("walletA", Permission::Read);

    // Two wallet processes holding the same key for the same account.
    let mut w1 = WalletProc::start(&gws, &token, &[]);
    let w2 = WalletProc::start(&gws, &token, &[]);
    let addr = w1.new_key("secp256k1");
    let exported = w1.cli(&["export", &addr.to_string()]).expect("export");
    let imported = cli(w2.repo.path(), &["import"], Some(&exported)).expect("import");
    assert!(imported.contains(&addr.to_string()), "{imported}");
    wait_until("both wallets registered", || {
        g.state
            .wallet_details()
            .iter()
            .map(|d| {
                d.connect_states
                    .iter()
                    .filter(|c| c.addrs.contains(&addr))
                    .count()
            })
            .sum::<usize>()
            == 2
    })
    .await;

    let c = consumer(&g, &admin).await;
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let data = i.to_be_bytes().to_vec();
            c.call(
                gw_api::WALLET_SIGN,
                (
                    addr,
                    vec!["walletA".to_owned()],
                    data.clone().into(),
                    unknown(),
                ),
            )
            .await
            .map(|sig| (data, sig))
        }));
    }
    // Kill one wallet while requests are in flight.
    w1.kill();
    for t in tasks {
        match t.await.expect("task") {
            Ok((data, sig)) => venus_types::crypto::verify(&sig, &data, &addr).expect("verifies"),
            // Only a clear, named failure is acceptable.
            Err(e) => panic!("request failed although another wallet holds the key: {e}"),
        }
    }
    let data = b"after the kill".to_vec();
    let sig = c
        .call(
            gw_api::WALLET_SIGN,
            (addr, s(&["walletA"]), data.clone().into(), unknown()),
        )
        .await
        .expect("served by w2");
    venus_types::crypto::verify(&sig, &data, &addr).expect("verifies");

    // Gateway restart on the same port: the wallet registers again by itself.
    g.shutdown().await;
    let g = TestGateway::start(verifier.clone(), port).await;
    wait_until("wallet re-registered", || {
        g.state.wallet_has(&admin_caller(), &addr, s(&["walletA"]))
    })
    .await;
    let c = consumer(&g, &admin).await;
    let sig = c
        .call(
            gw_api::WALLET_SIGN,
            (addr, s(&["walletA"]), data.clone().into(), unknown()),
        )
        .await
        .expect("signed");
    venus_types::crypto::verify(&sig, &data, &addr).expect("verifies");

    // With no wallet left the caller reads why.
    drop(w2);
    wait_until("wallet gone", || {
        !g.state.wallet_has(&admin_caller(), &addr, s(&["walletA"]))
    })
    .await;
    let err = c
        .call(
            gw_api::WALLET_SIGN,
            (addr, s(&["walletA"]), data.into(), unknown()),
        )
        .await
        .expect_err("no wallet");
    assert!(
        err.to_string().contains(&format!(
            "no wallet connected for address {addr} of account walletA"
        )),
        "{err}"
    );
    g.shutdown().await;
}

#[test]
fn keystore_cli_password_lock_and_bad_input() {
    let w = WalletProc::start(&[], "", &[]);
    let addr = w.new_key("secp256k1");
    assert!(w.cli(&["list"]).expect("list").contains(&addr.to_string()));
    let hexmsg = hex::encode(b"hello");
    let out = w.cli(&["sign", &addr.to_string(), &hexmsg]).expect("sign");
    let sig = venus_types::Signature::from_bytes(&hex::decode(out.trim()).expect("hex"))
        .expect("signature");
    venus_types::crypto::verify(&sig, b"hello", &addr).expect("verifies");

    assert!(
        cli(w.repo.path(), &["lock"], Some("wrong\n"))
            .expect_err("wrong password")
            .contains("wrong password")
    );
    cli(w.repo.path(), &["lock"], Some("test-password\n")).expect("lock");
    assert_eq!(w.cli(&["lock-state"]).expect("state").trim(), "locked");
    assert!(
        w.cli(&["sign", &addr.to_string(), &hexmsg])
            .expect_err("locked")
            .contains("locked")
    );
    cli(w.repo.path(), &["unlock"], Some("test-password\n")).expect("unlock");
    assert!(
        w.cli(&["sign", &addr.to_string(), "zz"])
            .expect_err("bad hex")
            .contains("not hex")
    );
    assert!(
        w.cli(&["new", "rsa"])
            .expect_err("bad type")
            .contains("unknown key type")
    );
    assert!(
        w.cli(&["export", "nonsense"])
            .expect_err("bad address")
            .contains("invalid address")
    );
    // No key material in the repo in clear.
    let exported = w.cli(&["export", &addr.to_string()]).expect("export");
    let info = venus_types::KeyInfo::from_lotus_export(exported.trim()).expect("lotus format");
    let key_hex = hex::encode(&*info.private_key);
    for entry in walk(w.repo.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&key_hex),
            "{} holds the key in clear",
            entry.display()
        );
        assert!(
            !bytes.windows(32).any(|win| win == &info.private_key[..]),
            "{} holds the key in clear",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

/// The routing checks look as an admin would, who may name any account.
fn admin_caller() -> venus_rpc::Caller {
    venus_rpc::Caller {
        user: "admin".to_owned(),
        perm: venus_rpc::Permission::Admin,
    }
}
