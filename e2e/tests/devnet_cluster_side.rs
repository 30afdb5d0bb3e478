//! The cluster side of an operator devnet (`spec.network.devnet`) with the real binaries and
//! the operator's own material: venus-auth reading the operator's JWT secret and admin token
//! files, the miners pre-sealed by `venus seed pre-seal` (what `venus seed devnet` calls),
//! `venus seed devnet-register` (the wallet's and prover's init container) registering the
//! operator-signed tokens, then venus-wallet with `--import-key` and venus-prover registering
//! with a gateway as the devnet's users. No Kubernetes: the paths and env are the pods'.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use venus_e2e::command::LoggedChild;

use venus_api::gateway as gw;
use venus_e2e::binaries::workspace_binaries;
use venus_operator::build::devnet::{MINERS_USER, WALLET_USER};
use venus_operator::component::Component;
use venus_operator::secrets::sign_component_token;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};
use venus_types::Address;

const BINS: &[(&str, &str)] = &[
    ("venus-auth", "venus-auth"),
    ("venus-gateway", "venus-gateway"),
    ("venus-node", "venus"),
    ("venus-wallet", "venus-wallet"),
    ("venus-prover", "venus-prover"),
];

fn free_port() -> u16 {
    venus_e2e::fixture::free_port().expect("a free port")
}

async fn wait_http(url: &str, p: &LoggedChild) {
    let http = venus_rpc::tls::http_client_builder().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered; log:\n{}", p.log());
}

fn sign(secret: &[u8], name: &str) -> String {
    jwt::sign(
        &Claims {
            name: name.into(),
            perm: Permission::Sign,
            ext: String::new(),
        },
        secret,
    )
}

/// `venus seed devnet-register` as the init container runs it; returns (success, output).
fn register(
    bin: &Path,
    auth: &str,
    keys: &Path,
    admin: &str,
    wallet: &str,
    prover: &str,
) -> (bool, String) {
    let out = Command::new(bin.join("venus"))
        .args([
            "seed",
            "devnet-register",
            "--auth-url",
            auth,
            "--wait-secs",
            "30",
        ])
        .arg("--keys-dir")
        .arg(keys)
        .args(["--user", MINERS_USER])
        .env("VENUS_ADMIN_TOKEN", admin)
        .env("VENUS_WALLET_GATEWAY_TOKEN", wallet)
        .env("VENUS_PROVER_GATEWAY_TOKEN", prover)
        .output()
        .expect("venus seed devnet-register");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn verify(auth: &str, admin: &str, token: &str) -> Option<serde_json::Value> {
    let http = venus_rpc::tls::http_client_builder().build().unwrap();
    let r = http
        .post(format!("{auth}/verify"))
        .bearer_auth(admin)
        .json(&serde_json::json!({ "Token": token }))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_wallet_and_prover_register_with_the_operators_tokens() {
    let bin = workspace_binaries(BINS).expect("service binaries");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The operator's material: the JWT secret file and the miner's admin token file.
    let secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect();
    let admin = sign_component_token(&secret, Component::Miner);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(dir.join("secret"), hex).unwrap();
    std::fs::write(dir.join("miner-token"), &admin).unwrap();
    let auth_port = free_port();
    let auth_url = format!("http://127.0.0.1:{auth_port}");
    let auth_repo = dir.join("auth");
    std::fs::create_dir_all(&auth_repo).unwrap();
    std::fs::write(
        auth_repo.join("config.toml"),
        format!(
            "Listen = \"127.0.0.1:{auth_port}\"\n[jwt]\nsecretFile = \"{}\"\nadminTokenFiles = [\"{}\"]\n",
            dir.join("secret").display(),
            dir.join("miner-token").display()
        ),
    )
    .unwrap();

    // The keys Secret's files, as `venus seed devnet` makes them.
    let keys = dir.join("keys");
    let out = Command::new(bin.join("venus"))
        .args([
            "seed",
            "pre-seal",
            "--miner-addr",
            "t01000",
            "--sector-size",
            "2KiB",
            "--num-sectors",
            "2",
        ])
        .arg("--sector-dir")
        .arg(&keys)
        .output()
        .expect("pre-seal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preseal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys.join("pre-seal-t01000.json")).unwrap()).unwrap();
    let worker: Address = preseal["t01000"]["Worker"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Registration waits for venus-auth, which starts after it (as in the cluster).
    let wallet_token = sign(&secret, WALLET_USER);
    let prover_token = sign(&secret, MINERS_USER);
    let reg = {
        let (bin, auth_url, keys, admin, w, p) = (
            bin.clone(),
            auth_url.clone(),
            keys.clone(),
            admin.clone(),
            wallet_token.clone(),
            prover_token.clone(),
        );
        std::thread::spawn(move || register(&bin, &auth_url, &keys, &admin, &w, &p))
    };
    let auth = LoggedChild::spawn(
        Command::new(bin.join("venus-auth"))
            .arg("--repo")
            .arg(&auth_repo)
            .arg("--config")
            .arg(auth_repo.join("config.toml"))
            .arg("run"),
        dir.join("auth.log"),
    );
    wait_http(&format!("{auth_url}/healthz"), &auth).await;
    let (ok, text) = reg.join().unwrap();
    assert!(
        ok,
        "devnet-register failed:\n{text}\nauth log:\n{}",
        auth.log()
    );
    assert!(text.contains("user devnet owns t01000"), "{text}");
    for t in [&admin, &wallet_token, &prover_token] {
        assert!(!text.contains(t.as_str()), "a token in the output: {text}");
    }
    // Both tokens verify now, with their own users.
    let w = verify(&auth_url, &admin, &wallet_token)
        .await
        .expect("wallet token verifies");
    assert_eq!(w["name"], WALLET_USER);
    let p = verify(&auth_url, &admin, &prover_token)
        .await
        .expect("prover token verifies");
    assert_eq!(p["name"], MINERS_USER);
    // A second start of the init container changes nothing and succeeds.
    let (ok, text) = register(&bin, &auth_url, &keys, &admin, &wallet_token, &prover_token);
    assert!(ok, "second devnet-register failed:\n{text}");
    // A token from another secret is refused, naming the cause (and not printing the token).
    let foreign = sign(&[9u8; 32], "stranger");
    let (ok, text) = register(&bin, &auth_url, &keys, &admin, &foreign, &prover_token);
    assert!(!ok, "a foreign token was accepted:\n{text}");
    assert!(
        text.contains("does not use this chain service's JWT secret"),
        "{text}"
    );
    assert!(!text.contains(&foreign), "{text}");

    // A gateway, then the wallet with the imported key and the prover, as the pods run them.
    let gw_port = free_port();
    let gw_repo = dir.join("gateway");
    std::fs::create_dir_all(&gw_repo).unwrap();
    std::fs::write(gw_repo.join("config.toml"), "").unwrap();
    let gateway = LoggedChild::spawn(
        Command::new(bin.join("venus-gateway"))
            .arg("--repo")
            .arg(&gw_repo)
            .args([
                "--listen",
                &format!("/ip4/127.0.0.1/tcp/{gw_port}"),
                "run",
                "--auth-url",
                &auth_url,
            ])
            .env("VENUS_GATEWAY_AUTH_TOKEN", &admin),
        dir.join("gateway.log"),
    );
    wait_http(&format!("http://127.0.0.1:{gw_port}/readyz"), &gateway).await;
    let gw_addr = format!("/ip4/127.0.0.1/tcp/{gw_port}");
    let wallet_repo = dir.join("wallet");
    std::fs::create_dir_all(&wallet_repo).unwrap();
    // Cheap scrypt for the test; the pods keep the default.
    std::fs::write(
        wallet_repo.join("config.toml"),
        "[Factor]\nScryptN = 1024\nScryptP = 1\n",
    )
    .unwrap();
    let wallet_port = free_port();
    let wallet = LoggedChild::spawn(
        Command::new(bin.join("venus-wallet"))
            .arg("--repo")
            .arg(&wallet_repo)
            .args([
                "run",
                "--listen",
                &format!("/ip4/127.0.0.1/tcp/{wallet_port}"),
            ])
            .args(["--gateway-api", &gw_addr, "--support-accounts", MINERS_USER])
            .arg(format!(
                "--import-key={}",
                keys.join("pre-seal-t01000.key").display()
            ))
            .env("VENUS_WALLET_GATEWAY_TOKEN", &wallet_token)
            .env("VENUS_WALLET_PASSWORD", "devnet-password"),
        dir.join("wallet.log"),
    );
    let prover = LoggedChild::spawn(
        Command::new(bin.join("venus-prover"))
            .args(["run", "--gateway-url", &gw_addr])
            .arg("--sector-store")
            .arg(&keys)
            .env("VENUS_PROVER_GATEWAY_TOKEN", &prover_token),
        dir.join("prover.log"),
    );
    let c = venus_rpc::Client::builder(&format!("http://127.0.0.1:{gw_port}/rpc/v2"))
        .token(Some(admin.clone()))
        .connect()
        .await
        .expect("gateway client");
    let miner: Address = "t01000".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let has = c
            .call(gw::WALLET_HAS, (worker, vec![MINERS_USER.to_string()]))
            .await
            .unwrap_or(false);
        let miners = c
            .call(gw::LIST_CONNECTED_MINERS, ())
            .await
            .unwrap_or_default();
        if has && miners.contains(&miner) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "wallet has worker: {has}, provers for {miners:?}\nwallet log:\n{}\nprover log:\n{}\ngateway log:\n{}",
            wallet.log(),
            prover.log(),
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A restarted wallet (same repo, as after a container restart) keeps the key it holds.
    drop(wallet);
    let again = LoggedChild::spawn(
        Command::new(bin.join("venus-wallet"))
            .arg("--repo")
            .arg(&wallet_repo)
            .args([
                "run",
                "--listen",
                &format!("/ip4/127.0.0.1/tcp/{}", free_port()),
            ])
            .arg(format!(
                "--import-key={}",
                keys.join("pre-seal-t01000.key").display()
            ))
            .env("VENUS_WALLET_PASSWORD", "devnet-password"),
        dir.join("wallet2.log"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !again.log().contains("wallet unlocked") {
        assert!(
            Instant::now() < deadline,
            "restarted wallet:\n{}",
            again.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut again = again;
    assert!(
        again.child.try_wait().unwrap().is_none(),
        "the restarted wallet exited:\n{}",
        again.log()
    );
}
