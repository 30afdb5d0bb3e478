//! The header reverse proxy of the real `venus-gateway` binary: a request with
//! `X-VENUS-API-NAMESPACE` of another component reaches that component (HTTP and WebSocket),
//! the target checks the token, and `proxy set` (`Gateway.RegisterReverse`) changes targets
//! at run time. The target is a venus-rpc JSON-RPC server with its own token secret (the
//! shape of the node's or messager's API), started by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use venus_rpc::{Client, LocalVerifier, Method, Permission, Router};

const BIN: &str = env!("CARGO_BIN_EXE_venus-gateway");
const WHO: Method<(), String> = Method::new("Filecoin.Version", Permission::Read);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// reqwest with the workspace's TLS set-up (it has no default provider).
fn http() -> reqwest::Client {
    venus_rpc::tls::http_client_builder()
        .build()
        .expect("client")
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A JSON-RPC server on `/rpc/v1` answering `Filecoin.Version` with `name`, accepting only
/// tokens of its own secret. Returns its port and a token it accepts.
async fn target(name: &'static str) -> (u16, String) {
    let verifier = Arc::new(LocalVerifier::new(format!("{name}-secret").into_bytes()));
    let token = verifier.issue("client", Permission::Read);
    let mut router = Router::new();
    router.method(WHO, move |_ctx, ()| async move { Ok(name.to_owned()) });
    let app = venus_rpc::Server::new(router, verifier)
        .paths(&["/rpc/v1"])
        .into_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(venus_rpc::serve(listener, app, std::future::pending()));
    (port, token)
}

fn namespace(value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("x-venus-api-namespace"),
        HeaderValue::from_static(value),
    )
}

async fn client(url: String, token: &str, ns: Option<&'static str>) -> Client {
    let mut b = Client::builder(&url)
        .token(Some(token.to_owned()))
        .timeout(Duration::from_secs(20));
    if let Some(ns) = ns {
        let (name, value) = namespace(ns);
        b = b.header(name, value);
    }
    b.connect().await.expect("connect")
}

/// POST a call with the namespace header; (status, body).
async fn post(port: u16, ns: &str, token: &str) -> (u16, String) {
    let resp = http()
        .post(format!("http://127.0.0.1:{port}/rpc/v1"))
        .header("X-VENUS-API-NAMESPACE", ns)
        .bearer_auth(token)
        .json(&serde_json::json!({"jsonrpc":"2.0","id":1,"method":"Filecoin.Version","params":[]}))
        .send()
        .await
        .expect("post");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

fn gateway_cli(repo: &std::path::Path, port: u16, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .env("HOME", repo)
        .env("VENUS_AUTH_PATH", repo.join("no-auth"))
        .args(["--repo", repo.to_str().unwrap()])
        .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{port}")])
        .args(args)
        .output()
        .expect("cli")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_for_other_components_are_forwarded_by_their_namespace_header() {
    let (node_port, node_token) = target("node-target").await;
    let (messager_port, messager_token) = target("messager-target").await;

    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("gw");
    std::fs::create_dir_all(&repo).unwrap();
    let port = free_port();
    std::fs::write(
        repo.join("config.toml"),
        format!(
            "Node = \"/ip4/127.0.0.1/tcp/{node_port}\"\n\n[API]\nListenAddress = \"/ip4/127.0.0.1/tcp/{port}\"\n\n[Auth]\nURL = \"http://127.0.0.1:1\"\n"
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .env("HOME", home.path())
        .env("VENUS_AUTH_PATH", home.path().join("no-auth"))
        .env_remove("VENUS_GATEWAY_AUTH_TOKEN")
        .args(["--repo", repo.to_str().unwrap(), "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gateway");
    let _gateway = Running(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let own_token = loop {
        let ready = http()
            .get(format!("http://127.0.0.1:{port}/healthcheck"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready && let Ok(t) = std::fs::read_to_string(repo.join("token")) {
            break t.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "gateway did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // HTTP: the node's answer, through the gateway, with the node's own token.
    let (status, body) = post(port, "v1.FullNode", &node_token).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("node-target"), "{body}");
    // The target checks the token: one it does not know is refused there.
    let (status, _) = post(port, "v1.FullNode", &messager_token).await;
    assert_eq!(status, 401);
    // WebSocket through the proxy, with the venus-rpc client sending the header.
    let ws = client(
        format!("ws://127.0.0.1:{port}/rpc/v1"),
        &node_token,
        Some("v0.FullNode"),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(ws.call(WHO, ()).await.unwrap(), "node-target");
    }

    // No header, or the gateway's own namespace: the gateway's API.
    for ns in [None, Some("gateway.IGateway")] {
        let own = client(format!("http://127.0.0.1:{port}/rpc/v2"), &own_token, ns).await;
        own.call(venus_api::gateway::VERSION, ())
            .await
            .expect("the gateway's own Version");
    }
    // A namespace no component has, and one with no target yet.
    let (status, body) = post(port, "v9.Unknown", &node_token).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid venus proxy header"), "{body}");
    let (status, body) = post(port, "messager.IMessager", &messager_token).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("MESSAGER") && body.contains("no reverse proxy"),
        "{body}"
    );

    // `proxy set` registers the messager at run time, and unsets it.
    let url = format!("http://127.0.0.1:{messager_port}");
    let out = gateway_cli(
        &repo,
        port,
        &["proxy", "set", "--type", "messager", "--url", &url],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = post(port, "messager.IMessager", &messager_token).await;
    assert_eq!(
        (status, body.contains("messager-target")),
        (200, true),
        "{body}"
    );
    let out = gateway_cli(&repo, port, &["proxy", "set", "--type", "MESSAGER"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        post(port, "messager.IMessager", &messager_token).await.0,
        400
    );
    // Bad input names what is wrong.
    let out = gateway_cli(
        &repo,
        port,
        &["proxy", "set", "--type", "NODE", "--url", &url],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown host key"));
    let out = gateway_cli(
        &repo,
        port,
        &["proxy", "set", "--type", "GATEWAY", "--url", &url],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("this gateway itself"));

    // A target that is down: 502, the gateway keeps serving.
    let dead = free_port();
    let out = gateway_cli(
        &repo,
        port,
        &[
            "proxy",
            "set",
            "--type",
            "VENUS",
            "--url",
            &format!("http://127.0.0.1:{dead}"),
        ],
    );
    assert!(out.status.success());
    let (status, body) = post(port, "v1.FullNode", &node_token).await;
    assert_eq!(status, 502, "{body}");
    assert!(!body.contains(&node_token));
    assert!(
        http()
            .get(format!("http://127.0.0.1:{port}/healthcheck"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    );
}
