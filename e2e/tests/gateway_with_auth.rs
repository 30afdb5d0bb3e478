//! The signing and proving path of the chain service with nothing stood in: a real venus-auth
//! (SQLite), two venus-gateway processes verifying every token through it, two venus-wallet
//! processes for two venus-auth users, and a venus-prover for one user's miner. What venus-auth
//! knows decides who may register what, and which account's wallet may sign.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use venus_e2e::command::LoggedChild;

use venus_api::gateway as gw;
use venus_api::proof::ExtendedSectorInfo;
use venus_e2e::binaries::workspace_binaries;
use venus_rpc::{Client, ClientError};
use venus_types::{Address, Cid, MsgMeta, MsgType};

const BINS: &[(&str, &str)] = &[
    ("venus-auth", "venus-auth"),
    ("venus-gateway", "venus-gateway"),
    ("venus-wallet", "venus-wallet"),
    ("venus-prover", "venus-prover"),
];

fn free_port() -> u16 {
    venus_e2e::fixture::free_port().expect("a free port")
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn wait_http(url: &str, proc_: &LoggedChild) {
    let http = venus_rpc::tls::http_client_builder().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered; log:\n{}", proc_.log());
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

struct Auth {
    bin: PathBuf,
    repo: PathBuf,
    listen: String,
}

impl Auth {
    fn cli(&self, args: &[&str]) -> String {
        run_ok(
            Command::new(&self.bin)
                .arg("--repo")
                .arg(&self.repo)
                .arg("--listen")
                .arg(&self.listen)
                .args(args),
        )
    }

    fn token(&self, perm: &str, name: &str) -> String {
        self.cli(&["token", "gen", "--perm", perm, name])
            .lines()
            .last()
            .expect("a token line")
            .to_owned()
    }
}

fn wallet(
    bin_dir: &Path,
    dir: &Path,
    name: &str,
    gateways: &[String],
    token: &str,
    accounts: &str,
) -> (LoggedChild, PathBuf) {
    let repo = dir.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    // Cheap scrypt for tests; production keeps the default.
    std::fs::write(
        repo.join("config.toml"),
        "[Factor]\nScryptN = 1024\nScryptP = 1\n[SignPolicy]\nAllowedTypes = [\"message\", \"block\", \"unknown\", \"verifyaddress\"]\n",
    )
    .unwrap();
    let mut cmd = Command::new(bin_dir.join("venus-wallet"));
    cmd.arg("--repo")
        .arg(&repo)
        .args([
            "run",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{}/http", free_port()),
        ])
        .args(["--gateway-token", token, "--support-accounts", accounts])
        .env("VENUS_WALLET_PASSWORD", "e2e-password");
    for g in gateways {
        cmd.args(["--gateway-api", g]);
    }
    (
        LoggedChild::spawn(&mut cmd, dir.join(format!("{name}.log"))),
        repo,
    )
}

fn new_key(bin_dir: &Path, repo: &Path, kind: &str) -> Address {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new(bin_dir.join("venus-wallet"))
            .arg("--repo")
            .arg(repo)
            .args(["new", kind])
            .output()
            .expect("venus-wallet new");
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            return text
                .trim()
                .lines()
                .last()
                .unwrap()
                .parse()
                .expect("an address");
        }
        assert!(
            Instant::now() < deadline,
            "venus-wallet new: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn client(port: u16, token: &str) -> Client {
    Client::builder(&format!("http://127.0.0.1:{port}/rpc/v2"))
        .token(Some(token.to_owned()))
        .connect()
        .await
        .expect("client")
}

async fn client_v1(port: u16, token: &str) -> Client {
    Client::builder(&format!("http://127.0.0.1:{port}/rpc/v1"))
        .token(Some(token.to_owned()))
        .connect()
        .await
        .expect("client")
}

fn meta() -> MsgMeta {
    MsgMeta::new(MsgType::Unknown)
}

/// venus-auth on SQLite (users u1 owning t01000 and u2 owning t01001) and two venus-gateway
/// processes verifying every token through it, each with `request` as its `[Request]`
/// section. Returns the shared admin token and the gateways' ports.
async fn start_cluster(
    bin_dir: &Path,
    dir: &Path,
    request: &str,
) -> (Auth, LoggedChild, String, Vec<u16>, Vec<LoggedChild>) {
    let auth_port = free_port();
    let listen = format!("127.0.0.1:{auth_port}");
    let auth_proc = LoggedChild::spawn(
        Command::new(bin_dir.join("venus-auth"))
            .arg("--repo")
            .arg(dir.join("auth"))
            .args(["--listen", &listen, "run"]),
        dir.join("auth.log"),
    );
    wait_http(&format!("http://{listen}/healthz"), &auth_proc).await;
    let auth = Auth {
        bin: bin_dir.join("venus-auth"),
        repo: dir.join("auth"),
        listen,
    };
    let shared = auth.token("admin", "shared");
    auth.cli(&["user", "add", "--name=u1", "--miner=t01000"]);
    auth.cli(&["user", "add", "--name=u2", "--miner=t01001"]);

    let mut gateways = Vec::new();
    let mut gw_ports = Vec::new();
    for i in 0..2 {
        let port = free_port();
        let repo = dir.join(format!("gateway{i}"));
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("config.toml"), format!("[Request]\n{request}\n")).unwrap();
        let p = LoggedChild::spawn(
            Command::new(bin_dir.join("venus-gateway"))
                .arg("--repo")
                .arg(&repo)
                .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{port}"), "run"])
                .args([
                    "--auth-url",
                    &format!("http://127.0.0.1:{auth_port}"),
                    "--auth-token",
                    &shared,
                ]),
            dir.join(format!("gateway{i}.log")),
        );
        wait_http(&format!("http://127.0.0.1:{port}/readyz"), &p).await;
        gateways.push(p);
        gw_ports.push(port);
    }
    (auth, auth_proc, shared, gw_ports, gateways)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_and_provers_answer_only_for_what_venus_auth_grants() {
    let bin_dir = workspace_binaries(BINS).expect("service binaries");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let (auth, auth_proc, shared, gw_ports, _gateways) = start_cluster(&bin_dir, dir, "").await;
    let u1 = auth.token("sign", "u1");
    let u2 = auth.token("sign", "u2");
    let u1_read = auth.token("read", "u1");
    let gw_addrs: Vec<String> = gw_ports
        .iter()
        .map(|p| format!("/ip4/127.0.0.1/tcp/{p}"))
        .collect();

    // A wallet per user; the third names an account venus-auth does not know.
    let (_w1, w1_repo) = wallet(&bin_dir, dir, "wallet-u1", &gw_addrs, &u1, "u1");
    let (_w2, w2_repo) = wallet(&bin_dir, dir, "wallet-u2", &gw_addrs, &u2, "u2");
    let (ghost, ghost_repo) = wallet(&bin_dir, dir, "wallet-ghost", &gw_addrs, &u2, "ghost");
    let a1 = new_key(&bin_dir, &w1_repo, "secp256k1");
    let a2 = new_key(&bin_dir, &w2_repo, "bls");
    let a_ghost = new_key(&bin_dir, &ghost_repo, "secp256k1");

    for &port in &gw_ports {
        let c = client(port, &shared).await;
        eventually("u1's and u2's addresses on every gateway", || {
            let c = c.clone();
            async move {
                c.call(gw::WALLET_HAS, (a1, vec!["u1".to_string()]))
                    .await
                    .unwrap_or(false)
                    && c.call(gw::WALLET_HAS, (a2, vec!["u2".to_string()]))
                        .await
                        .unwrap_or(false)
            }
        })
        .await;
        // Each signature comes from the wallet of the account asked for, and verifies.
        for (addr, account) in [(a1, "u1"), (a2, "u2")] {
            let data = format!("sign me for {account}").into_bytes();
            let sig = c
                .call(
                    gw::WALLET_SIGN,
                    (addr, vec![account.to_string()], data.clone().into(), meta()),
                )
                .await
                .expect("signed");
            venus_types::crypto::verify(&sig, &data, &addr).expect("the signature verifies");
        }
        // u1's key is not u2's to use.
        let err = c
            .call(
                gw::WALLET_SIGN,
                (a1, vec!["u2".to_string()], b"x".to_vec().into(), meta()),
            )
            .await
            .expect_err("another account's address");
        assert!(
            err.to_string().contains(&format!(
                "no wallet connected for address {a1} of account u2"
            )),
            "{err}"
        );
        // Issue 26: a user's own (non-admin) sign token reaches only its own user's wallets,
        // whatever accounts it names; the admin above names any.
        let own = client(port, &u1).await;
        let data = b"u1 signs its own".to_vec();
        let sig = own
            .call(
                gw::WALLET_SIGN,
                (a1, vec!["u1".to_string()], data.clone().into(), meta()),
            )
            .await
            .expect("u1's sign token signs with u1's wallet");
        venus_types::crypto::verify(&sig, &data, &a1).expect("the signature verifies");
        let err = own
            .call(
                gw::WALLET_SIGN,
                (a2, vec!["u2".to_string()], b"x".to_vec().into(), meta()),
            )
            .await
            .expect_err("u1's token naming u2");
        assert!(
            err.to_string()
                .contains("a sign token of user u1 may sign only for its own account, not for u2"),
            "{err}"
        );
        let err = own
            .call(
                gw::WALLET_SIGN,
                (
                    a2,
                    vec!["u1".to_string(), "u2".to_string()],
                    b"x".to_vec().into(),
                    meta(),
                ),
            )
            .await
            .expect_err("u2's address through u1's token");
        assert!(
            err.to_string().contains(&format!(
                "no wallet connected for address {a2} of account u1"
            )),
            "{err}"
        );
        assert!(
            !own.call(gw::WALLET_HAS, (a2, vec!["u2".to_string()]))
                .await
                .expect("has"),
            "u1's token must not see u2's wallet"
        );
        assert!(
            own.call(gw::WALLET_HAS, (a1, vec!["u1".to_string()]))
                .await
                .expect("has")
        );
        // The v1 forms (one account first) on /rpc/v1, confined the same way.
        let own_v1 = client_v1(port, &u1).await;
        assert!(
            own_v1
                .call(gw::V1_WALLET_HAS, ("u1".to_string(), a1))
                .await
                .expect("v1 has")
        );
        let sig = own_v1
            .call(
                gw::V1_WALLET_SIGN,
                ("u1".to_string(), a1, data.clone().into(), meta()),
            )
            .await
            .expect("v1 sign");
        venus_types::crypto::verify(&sig, &data, &a1).expect("the v1 signature verifies");
        let err = own_v1
            .call(
                gw::V1_WALLET_SIGN,
                ("u2".to_string(), a2, b"x".to_vec().into(), meta()),
            )
            .await
            .expect_err("v1: u1's token naming u2");
        assert!(
            err.to_string().contains("only for its own account"),
            "{err}"
        );
        let admin_v1 = client_v1(port, &shared).await;
        assert!(
            admin_v1
                .call(gw::V1_WALLET_HAS, ("u2".to_string(), a2))
                .await
                .expect("v1 has")
        );
        let detail = admin_v1
            .call(gw::LIST_WALLET_INFO_BY_WALLET, ("u2".to_string(),))
            .await
            .expect("v1 ListWalletInfoByWallet");
        let detail = serde_json::to_value(&detail).unwrap();
        assert_eq!(detail["Account"], "u2", "{detail}");
        assert!(
            detail["ConnectStates"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["Addrs"]
                    .as_array()
                    .is_some_and(|a| a.contains(&serde_json::json!(a2.to_string()))))),
            "{detail}"
        );
        // The account venus-auth does not know never registered.
        assert!(
            !c.call(gw::WALLET_HAS, (a_ghost, vec!["ghost".to_string()]))
                .await
                .expect("has"),
            "a wallet for an unknown venus-auth user must not register"
        );
        // A read token of u1 may not ask for signatures: the gateway checks venus-auth's perm.
        let reader = client(port, &u1_read).await;
        let err = reader
            .call(
                gw::WALLET_SIGN,
                (a1, vec!["u1".to_string()], b"x".to_vec().into(), meta()),
            )
            .await
            .expect_err("read token");
        assert!(err.to_string().contains("missing permission"), "{err}");
        // A token venus-auth never issued gets a 401.
        let forged = format!("{}x", &shared[..shared.len() - 1]);
        let err = client(port, &forged)
            .await
            .call(gw::VERSION, ())
            .await
            .expect_err("forged token");
        assert!(matches!(err, ClientError::Unauthorized(_)), "{err:?}");
    }
    assert!(
        ghost.log().contains("ghost"),
        "the refused wallet says which account was refused:\n{}",
        ghost.log()
    );
    // Registration recorded the wallets' addresses as the users' signers in venus-auth.
    let signers = auth.cli(&["signer", "list", "u1"]);
    assert!(signers.contains(&a1.to_string()), "u1's signers: {signers}");
    assert!(
        !signers.contains(&a2.to_string()),
        "u1's signers: {signers}"
    );

    // Provers: u1's for its miner t01000 serves proofs; u2's prover claiming t01000 is refused.
    let comm_r: Cid = venus_types::cid_of(&"sector 7 of t01000").expect("cid");
    let store = dir.join("sectors");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("pre-seal-t01000.json"),
        format!(
            r#"{{"t01000":{{"ID":"t01000","Owner":"t3x","Worker":"t3x","PeerId":"p","MarketBalance":"0","PowerBalance":"0",
               "SectorSize":2048,"Sectors":[{{"CommR":{},"SectorID":7,"Deal":{{}},"ProofType":5}}]}}}}"#,
            serde_json::to_string(&comm_r).unwrap()
        ),
    )
    .unwrap();
    let prover = |name: &str, token: &str| {
        let mut cmd = Command::new(bin_dir.join("venus-prover"));
        cmd.arg("run");
        for g in &gw_addrs {
            cmd.args(["--gateway-url", g]);
        }
        cmd.args(["--gateway-token", token])
            .arg("--sector-store")
            .arg(&store);
        LoggedChild::spawn(&mut cmd, dir.join(format!("{name}.log")))
    };
    let intruder = prover("prover-u2", &u2);
    let _p1 = prover("prover-u1", &u1);
    let miner: Address = "t01000".parse().unwrap();
    let sector = ExtendedSectorInfo {
        seal_proof: 5,
        sector_number: 7,
        sector_key: None,
        sealed_cid: comm_r,
    };
    for &port in &gw_ports {
        let c = client(port, &shared).await;
        eventually("u1's prover on every gateway", || {
            let c = c.clone();
            async move {
                c.call(gw::LIST_CONNECTED_MINERS, ())
                    .await
                    .unwrap_or_default()
                    .contains(&miner)
            }
        })
        .await;
        let state = c
            .call(gw::LIST_MINER_CONNECTION, (miner,))
            .await
            .expect("state");
        let conns = serde_json::to_value(&state).unwrap();
        assert_eq!(
            conns["ConnectionCount"], 1,
            "only u1's prover may serve t01000: {conns}"
        );
        let proofs = c
            .call(
                gw::COMPUTE_PROOF,
                (miner, vec![sector.clone()], vec![3u8; 32].into(), 10, 21),
            )
            .await
            .expect("a proof");
        assert!(!proofs.is_empty() && !proofs[0].proof_bytes.is_empty());
    }
    assert!(
        intruder.log().contains("01000 not exist in user:u2"),
        "the refused prover says which miner was refused:\n{}",
        intruder.log()
    );
    drop(auth_proc);
}

/// The market side of one miner (damocles' unsealer in production): registers with one
/// gateway over `ListenMarketEvent` and answers `SectorsUnsealPiece` / `IsUnsealed` over
/// `ResponseMarketEvent` on the same WebSocket — or, when `silent`, only records them. Every
/// event received is passed on to `seen`. Dropping it closes its WebSocket.
struct MarketSide {
    seen: tokio::sync::mpsc::UnboundedReceiver<gw::RequestEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl MarketSide {
    async fn register(
        port: u16,
        token: &str,
        miner: Address,
        silent: bool,
    ) -> Result<Self, ClientError> {
        use futures::StreamExt;
        let client = Client::builder(&format!("/ip4/127.0.0.1/tcp/{port}"))
            .version("v2")
            .token(Some(token.to_owned()))
            .connect()
            .await?;
        let mut events = client
            .subscribe(
                gw::LISTEN_MARKET_EVENT,
                (gw::MarketRegisterPolicy { miner },),
            )
            .await?;
        let (tx, seen) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(ev) = events.next().await {
                let _ = tx.send(ev.clone());
                let answer = match ev.method.as_str() {
                    _ if silent => continue,
                    "SectorsUnsealPiece" => serde_json::to_vec(&gw::UnsealState::Finished),
                    "IsUnsealed" => serde_json::to_vec(&true),
                    _ => continue,
                };
                let resp = gw::ResponseEvent {
                    id: ev.id,
                    payload: answer.expect("json").into(),
                    error: String::new(),
                };
                client
                    .call(gw::RESPONSE_MARKET_EVENT, (resp,))
                    .await
                    .expect("the gateway takes the answer");
            }
        });
        Ok(Self { seen, task })
    }

    /// The next event other than `InitConnect`.
    async fn next_request(&mut self) -> gw::RequestEvent {
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(30), self.seen.recv())
                .await
                .expect("a request in time")
                .expect("market side running");
            if ev.method != "InitConnect" {
                return ev;
            }
        }
    }
}

impl Drop for MarketSide {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn metrics_text(port: u16) -> String {
    let http = venus_rpc::tls::http_client_builder().build().unwrap();
    http.get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markets_register_with_each_gateway_and_answer_unseal_requests() {
    let bin_dir = workspace_binaries(&BINS[..2]).expect("service binaries");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A silent market holds its request until it drops (failover is then immediate) or this
    // timeout passes.
    let (auth, _auth_proc, shared, gw_ports, _gateways) =
        start_cluster(&bin_dir, dir, "MarketTimeoutSecs = 120").await;
    let u1 = auth.token("read", "u1");
    let u2 = auth.token("read", "u2");
    let miner: Address = "t01000".parse().unwrap();
    let piece: Cid = venus_types::cid_of(&"piece of t01000").expect("cid");

    for &port in &gw_ports {
        let admin = client(port, &shared).await;

        // u2 does not own t01000: venus-auth says so, the registration is refused.
        let err = MarketSide::register(port, &u2, miner, false)
            .await
            .err()
            .expect("u2's market for t01000 is refused");
        assert!(
            err.to_string().contains("01000 not exist in user:u2"),
            "{err}"
        );
        let err = admin
            .call(
                gw::SECTORS_UNSEAL_PIECE,
                (miner, piece, 9, 0, 1016, "http://dest".to_string()),
            )
            .await
            .expect_err("no market yet");
        assert!(
            err.to_string()
                .contains(&format!("no market connected for miner {miner}")),
            "{err}"
        );

        // A silent market of u1 gets the first request and sits on it.
        let mut silent = MarketSide::register(port, &u1, miner, true)
            .await
            .expect("u1's market registers");
        let first = {
            let admin = admin.clone();
            tokio::spawn(async move {
                admin
                    .call(
                        gw::SECTORS_UNSEAL_PIECE,
                        (miner, piece, 9, 0, 1016, "http://dest/1".to_string()),
                    )
                    .await
            })
        };
        let held = silent.next_request().await;
        assert_eq!(held.method, "SectorsUnsealPiece");
        // The payload is venus-shared's UnsealRequest, JSON inside base64.
        let payload: serde_json::Value = serde_json::from_slice(&held.payload).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"PieceCid": {"/": piece.to_string()}, "Miner": miner.to_string(),
                "Sid": 9, "Offset": 0, "Size": 1016, "Dest": "http://dest/1"})
        );

        // A second market of u1: while the first request is held, other callers are served.
        let mut good = MarketSide::register(port, &u1, miner, false)
            .await
            .expect("second market registers");
        let state = admin
            .call(
                gw::SECTORS_UNSEAL_PIECE,
                (miner, piece, 9, 0, 1016, "http://dest/2".to_string()),
            )
            .await
            .expect("the idle market answers");
        assert_eq!(state, gw::UnsealState::Finished);
        assert_eq!(good.next_request().await.method, "SectorsUnsealPiece");
        assert!(!first.is_finished(), "the held request is still waiting");

        // Answers are accepted only from the connection asked: u1's other WebSocket cannot
        // answer the held request.
        let intruder = Client::builder(&format!("/ip4/127.0.0.1/tcp/{port}"))
            .version("v2")
            .token(Some(u1.clone()))
            .connect()
            .await
            .expect("ws");
        let forged = gw::ResponseEvent {
            id: held.id,
            payload: serde_json::to_vec(&gw::UnsealState::Failed).unwrap().into(),
            error: String::new(),
        };
        let err = intruder
            .call(gw::RESPONSE_MARKET_EVENT, (forged,))
            .await
            .expect_err("a forged answer");
        assert!(
            err.to_string().contains("was not sent on this connection"),
            "{err}"
        );

        // The original's shapes, as the Go client reads them.
        let raw = admin
            .call_raw(
                gw::LIST_MARKET_CONNECTIONS_STATE.name(),
                &serde_json::value::to_raw_value(&serde_json::json!([])).unwrap(),
                Duration::from_secs(10),
            )
            .await
            .expect("ListMarketConnectionsState");
        let list: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(list[0]["Addr"], miner.to_string(), "{list}");
        assert_eq!(list[0]["Conn"]["ConnectionCount"], 2, "{list}");
        let conn = &list[0]["Conn"]["Connections"][0];
        for key in ["Addrs", "ChannelId", "Ip", "RequestCount", "CreateTime"] {
            assert!(conn.get(key).is_some(), "{key} missing: {list}");
        }
        let metrics = metrics_text(port).await;
        assert!(
            metrics.contains(r#"venus_gateway_connections{kind="market",account="u1"} 2"#),
            "{metrics}"
        );

        // The silent market leaves: its held request goes to the other one at once.
        drop(silent);
        let state = first
            .await
            .unwrap()
            .expect("failed over to the live market");
        assert_eq!(state, gw::UnsealState::Finished);
        let redone = good.next_request().await;
        assert_eq!(redone.method, "SectorsUnsealPiece");

        // /rpc/v1: the same SectorsUnsealPiece (as the original serves it there) and
        // venus-shared v1's IsUnsealed.
        let admin_v1 = client_v1(port, &shared).await;
        let state = admin_v1
            .call(
                gw::SECTORS_UNSEAL_PIECE,
                (miner, piece, 9, 0, 1016, "http://dest/3".to_string()),
            )
            .await
            .expect("v1 unseal");
        assert_eq!(state, gw::UnsealState::Finished);
        let sector = gw::SectorRef {
            id: gw::SectorId {
                miner: 1000,
                number: 9,
            },
            proof_type: 5,
        };
        assert!(
            admin_v1
                .call(gw::V1_IS_UNSEALED, (miner, piece, sector, 0, 1024))
                .await
                .expect("IsUnsealed")
        );
        let _v1_unseal = good.next_request().await;
        let query = good.next_request().await;
        assert_eq!(query.method, "IsUnsealed");
        let payload: serde_json::Value = serde_json::from_slice(&query.payload).unwrap();
        assert_eq!(payload["Sid"], 9, "{payload}");
        assert_eq!(payload["Size"], 1024, "{payload}");

        let metrics = metrics_text(port).await;
        for line in [
            r#"venus_gateway_connections{kind="market",account="u1"} 1"#,
            r#"venus_gateway_requests_total{kind="market",method="SectorsUnsealPiece",outcome="ok"} 3"#,
            r#"venus_gateway_requests_total{kind="market",method="SectorsUnsealPiece",outcome="no_connection"} 1"#,
            r#"venus_gateway_request_duration_seconds_count{kind="market",method="IsUnsealed"} 1"#,
        ] {
            assert!(metrics.contains(line), "{line} missing:\n{metrics}");
        }
        // A read token of the market's user may not ask for unseals.
        let err = client(port, &u1)
            .await
            .call(
                gw::SECTORS_UNSEAL_PIECE,
                (miner, piece, 9, 0, 1016, "x".to_string()),
            )
            .await
            .expect_err("read token");
        assert!(err.to_string().contains("missing permission"), "{err}");
    }
}
