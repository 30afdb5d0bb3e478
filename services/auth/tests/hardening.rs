//! Against a real venus-auth process: revocation reaches open WebSocket connections of a
//! venus-rpc server verifying through venus-auth-client, and a duplicate token never shows
//! in an answer or the log.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use venus_auth_client::AuthClient;
use venus_auth_client::types::{STATE_DISABLED, UpdateUserRequest};
use venus_rpc::{Method, Permission, Router};

const PING: Method<(), String> = Method::new("Test.Ping", Permission::Read);
/// Answers at once, then records when the calling connection closes.
const WATCH: Method<(), ()> = Method::new("Test.Watch", Permission::Read);

/// How long a verification is cached by the server's venus-auth-client, and how often the
/// server re-verifies an open connection's token.
const CACHE_TTL: Duration = Duration::from_millis(800);
const REVERIFY: Duration = Duration::from_millis(400);

struct RpcServer {
    addr: std::net::SocketAddr,
    closed: tokio::sync::mpsc::UnboundedReceiver<String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A venus-rpc server whose tokens are verified by venus-auth at `auth_url`, as the gateway
/// and the node verify theirs.
async fn rpc_server(auth_url: &str, service_token: &str) -> RpcServer {
    let verifier = Arc::new(
        AuthClient::new(auth_url, service_token)
            .unwrap()
            .with_cache(CACHE_TTL, 100),
    );
    let (closed_tx, closed) = tokio::sync::mpsc::unbounded_channel();
    let mut router = Router::new();
    router.method(PING, |ctx, ()| {
        let user = ctx.caller().user.clone();
        async move { Ok(user) }
    });
    router.method(WATCH, move |ctx, ()| {
        let (peer, tx) = (ctx.peer().cloned(), closed_tx.clone());
        let user = ctx.caller().user.clone();
        async move {
            if let Some(peer) = peer {
                tokio::spawn(async move {
                    peer.closed().await;
                    let _ = tx.send(user);
                });
            }
            Ok(())
        }
    });
    let app = venus_rpc::Server::new(router, verifier)
        .reverify_interval(Some(REVERIFY))
        .into_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(venus_rpc::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    RpcServer {
        addr,
        closed,
        _stop: stop,
    }
}

async fn ws_client(addr: std::net::SocketAddr, token: &str) -> venus_rpc::Client {
    venus_rpc::Client::connect(&format!("ws://{addr}/rpc/v1"), Some(token.to_owned()))
        .await
        .unwrap()
}

/// The user whose connection closed next, within `limit`.
async fn next_closed(server: &mut RpcServer, limit: Duration) -> Option<String> {
    tokio::time::timeout(limit, server.closed.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_token_or_disabled_user_loses_its_open_websocket() {
    let home = Home::new(&Backend::Sqlite);
    let auth = home.start();
    let admin = AuthClient::new(&auth.url, &auth.admin_token).unwrap();
    for user in ["u-removed", "u-disabled", "u-kept"] {
        admin.create_user(user, None, 1).await.unwrap();
    }
    let removed = admin
        .gen_token("u-removed", Permission::Read, "")
        .await
        .unwrap();
    let disabled = admin
        .gen_token("u-disabled", Permission::Read, "")
        .await
        .unwrap();
    let kept = admin
        .gen_token("u-kept", Permission::Read, "")
        .await
        .unwrap();

    let mut server = rpc_server(&auth.url, &auth.admin_token).await;
    let mut clients = Vec::new();
    for (token, user) in [
        (&removed, "u-removed"),
        (&disabled, "u-disabled"),
        (&kept, "u-kept"),
    ] {
        let c = ws_client(server.addr, token).await;
        assert_eq!(c.call(PING, ()).await.unwrap(), user);
        c.call(WATCH, ()).await.unwrap();
        clients.push(c);
    }
    // Valid tokens keep their connections through several re-verifications.
    assert_eq!(next_closed(&mut server, REVERIFY * 4).await, None);

    // Revoked through venus-auth by another client: the server's cache still holds the
    // token for up to its TTL, then the next re-verification closes the connection.
    admin.remove_token(&removed).await.unwrap();
    let window = CACHE_TTL + REVERIFY * 2 + Duration::from_secs(2);
    let started = Instant::now();
    assert_eq!(
        next_closed(&mut server, window).await.as_deref(),
        Some("u-removed"),
        "the removed token's connection closes within the cache window"
    );
    assert!(started.elapsed() < window);

    admin
        .update_user(&UpdateUserRequest {
            name: "u-disabled".into(),
            comment: None,
            state: STATE_DISABLED,
        })
        .await
        .unwrap();
    assert_eq!(
        next_closed(&mut server, window).await.as_deref(),
        Some("u-disabled"),
        "the disabled user's connection closes within the cache window"
    );
    // The third connection is untouched and still answers.
    assert_eq!(next_closed(&mut server, REVERIFY * 3).await, None);
    assert_eq!(clients[2].call(PING, ()).await.unwrap(), "u-kept");
}

async fn duplicate_token_is_refused_without_quoting_it(backend: Backend) {
    let home = Home::new(&backend);
    let auth = home.start();
    let admin = AuthClient::new(&auth.url, &auth.admin_token).unwrap();
    admin.create_user("dup", None, 1).await.unwrap();
    let token = admin
        .gen_token("dup", Permission::Write, "x")
        .await
        .unwrap();
    // The same claims give the same token, which exists already.
    let err = admin
        .gen_token("dup", Permission::Write, "x")
        .await
        .expect_err("a duplicate token is refused");
    let answer = err.to_string();
    assert!(
        matches!(
            err,
            venus_auth_client::ClientError::Refused { status: 400, .. }
        ),
        "{answer}"
    );
    assert!(answer.contains("another extra"), "{answer}");
    assert!(
        !answer.contains(&token),
        "the answer quotes the token: {answer}"
    );
    let log = auth.log_text();
    assert!(!log.contains(&token), "the log quotes the token: {log}");
    // Another extra is another token.
    let other = admin
        .gen_token("dup", Permission::Write, "y")
        .await
        .unwrap();
    assert_ne!(other, token);
}

/// No token longer than a verifier accepts is issued, and an overlong one is refused at once
/// (by the client before any round trip, by the server when sent directly).
#[tokio::test]
async fn overlong_tokens_are_neither_issued_nor_verified() {
    let home = Home::new(&Backend::Sqlite);
    let auth = home.start();
    let admin = AuthClient::new(&auth.url, &auth.admin_token).unwrap();
    admin.create_user("long", None, 1).await.unwrap();
    let limit = venus_rpc::verify::MAX_TOKEN_BYTES;
    let err = admin
        .gen_token("long", Permission::Read, &"e".repeat(limit))
        .await
        .expect_err("an extra that makes the token too long is refused");
    assert!(
        matches!(
            err,
            venus_auth_client::ClientError::Refused { status: 400, .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("shorten extra"), "{err}");
    // The longest extra that fits still gives a token every verifier takes.
    let fitting = admin
        .gen_token("long", Permission::Read, &"e".repeat(limit / 2))
        .await
        .unwrap();
    assert!(fitting.len() <= limit);
    assert_eq!(admin.verify(&fitting).await.unwrap().name, "long");

    let huge = format!("eyJ{}", "x".repeat(270_000));
    let (status, body) = verify_json(&auth.url, &auth.admin_token, &huge).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("longer than"), "{body}");
    match admin.verify(&huge).await {
        Err(venus_auth_client::ClientError::Refused {
            status: 401,
            message,
        }) => {
            assert!(message.contains("longer than"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        admin.cache().len(),
        1,
        "only the fitting token is remembered"
    );
}

#[tokio::test]
async fn duplicate_token_on_sqlite() {
    duplicate_token_is_refused_without_quoting_it(Backend::Sqlite).await;
}

#[tokio::test]
async fn duplicate_token_on_mariadb() {
    let Some(server) = mysql_server() else { return };
    duplicate_token_is_refused_without_quoting_it(mysql_backend(&server)).await;
}

#[cfg(unix)]
#[test]
fn the_default_config_is_written_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = Home::new(&Backend::Sqlite);
    let config = home.repo().join("config.toml");
    std::fs::remove_file(&config).unwrap();
    // `venus-auth run` writes the default config, then fails or serves; either way the file
    // exists with mode 0600 once it is up.
    let mut server = home.spawn(&["run"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !config.exists() {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
