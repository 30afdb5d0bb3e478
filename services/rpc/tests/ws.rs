//! WebSocket transport and the typed client: calls, channels, cancellation, reverse calls,
//! many clients at once, reconnecting after a server restart.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed assertion

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use venus_rpc::{Client, ClientError, Permission, RpcError};

#[tokio::test]
async fn typed_client_calls_over_ws_and_http_with_every_address_form() {
    let s = start().await;
    let t = s.token(Permission::Read);
    let forms = [
        (s.multiaddr(), true),
        (format!("{}/http", s.multiaddr()), false),
        (s.ws_url(), true),
        (format!("http://{}", s.addr), false),
    ];
    for (addr, ws) in forms {
        let c = Client::connect(&addr, Some(t.clone()))
            .await
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(c.is_websocket(), ws, "{addr}");
        assert_eq!(c.call(ADD, (2, 3)).await.unwrap(), 5, "{addr}");
        assert_eq!(c.call(WHO_AM_I, ()).await.unwrap(), "user-read");
        assert_eq!(
            c.call(VERSION, ()).await.unwrap().version,
            "venus-rpc-sample"
        );
        let err = c.call(FAIL, ()).await.unwrap_err();
        assert_eq!(err.rpc(), Some(&RpcError::method("boom")), "{addr}");
    }
    // token:multiaddr, as in FULLNODE_API_INFO.
    let c = Client::connect(&format!("{t}:{}", s.multiaddr()), None)
        .await
        .unwrap();
    assert_eq!(c.call(WHO_AM_I, ()).await.unwrap(), "user-read");
    s.stop().await;
}

#[tokio::test]
async fn ws_upgrade_without_a_valid_token_is_401() {
    let s = start().await;
    let err = Client::connect(&s.multiaddr(), None).await.unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized(_)), "{err}");
    let forged = venus_rpc::LocalVerifier::new(b"nope".to_vec()).issue("x", Permission::Admin);
    let err = Client::connect(&s.multiaddr(), Some(forged))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized(_)), "{err}");
    let err = Client::connect(&format!("{}/http", s.multiaddr()), None)
        .await
        .unwrap()
        .call(ADD, (1, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized(_)), "{err}");
    assert_eq!(s.ran.total(), 0);
    s.stop().await;
}

#[tokio::test]
async fn permissions_are_enforced_on_ws_too() {
    let s = start().await;
    let c = Client::connect(&s.multiaddr(), Some(s.token(Permission::Write)))
        .await
        .unwrap();
    let err = c.call(ADMIN_THING_TYPED, ()).await.unwrap_err();
    assert_eq!(
        err.rpc().map(|e| e.message.as_str()),
        Some("missing permission to invoke 'AdminThing'  (need 'admin')")
    );
    assert_eq!(
        c.call(WRITE_THING_TYPED, ()).await.unwrap(),
        "Filecoin.WriteThing"
    );
    assert_eq!(s.ran.count("Filecoin.AdminThing"), 0);
    s.stop().await;
}

const ADMIN_THING_TYPED: venus_rpc::Method<(), String> =
    venus_rpc::Method::new("Filecoin.AdminThing", Permission::Admin);
const WRITE_THING_TYPED: venus_rpc::Method<(), String> =
    venus_rpc::Method::new("Filecoin.WriteThing", Permission::Write);

#[tokio::test]
async fn subscriptions_stream_values_and_close() {
    let s = start().await;
    let c = Client::connect(&s.multiaddr(), Some(s.token(Permission::Read)))
        .await
        .unwrap();
    let mut heads = c.subscribe(CHAIN_NOTIFY, ()).await.unwrap();
    let got = first_n(&mut heads, 3).await;
    let heights: Vec<u64> = got.iter().map(|changes| changes[0].val.height).collect();
    assert_eq!(heights, vec![0, 1, 2]);
    assert_eq!(got[0][0].kind, "current");
    // A finite channel ends with xrpc.ch.close.
    let counted: Vec<u64> = c.subscribe(COUNT, (5,)).await.unwrap().collect().await;
    assert_eq!(counted, vec![1, 2, 3, 4, 5]);
    // Bad params on a channel method: -32602 and no stream.
    let bad: venus_rpc::Subscription<(String,), u64> =
        venus_rpc::Subscription::new("Filecoin.Count", Permission::Read);
    let err = c.subscribe(bad, ("x".into(),)).await.unwrap_err();
    assert_eq!(err.rpc().map(|e| e.code), Some(-32602));
    // Dropping the stream cancels the channel on the server (xrpc.cancel); the
    // connection keeps working.
    drop(heads);
    assert_eq!(c.call(ADD, (1, 1)).await.unwrap(), 2);
    s.stop().await;
}

/// Drive the raw protocol the way go-jsonrpc clients do, including xrpc.cancel.
#[tokio::test]
async fn raw_channel_protocol_matches_go_jsonrpc() {
    let s = start().await;
    let mut req = s.ws_url().into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", s.token(Permission::Read))
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":9,"method":"Filecoin.ChainNotify","params":[]}"#,
    ))
    .await
    .unwrap();
    let mut frames = Vec::new();
    while frames.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Text(t) => frames.push(serde_json::from_str::<Value>(&t).unwrap()),
            _ => continue,
        }
    }
    assert_eq!(frames[0], json!({"jsonrpc": "2.0", "id": 9, "result": 1}));
    assert_eq!(frames[1]["method"], "xrpc.ch.val");
    assert_eq!(
        frames[1]["params"],
        json!([1, [{"Type": "current", "Val": {"Height": 0}}]])
    );
    assert!(frames[1].get("id").is_none());
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"xrpc.cancel","params":[9]}"#,
    ))
    .await
    .unwrap();
    loop {
        let Message::Text(t) = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["method"] == "xrpc.ch.close" {
            assert_eq!(v["params"], json!([1]));
            break;
        }
        assert_eq!(v["method"], "xrpc.ch.val");
    }
    // Malformed frame on the socket: a -32700 answer, and the connection stays usable.
    ws.send(Message::text("{oops")).await.unwrap();
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":10,"method":"Filecoin.Add","params":[2,2]}"#,
    ))
    .await
    .unwrap();
    let mut answers = Vec::new();
    while answers.len() < 2 {
        if let Message::Text(t) = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            answers.push(serde_json::from_str::<Value>(&t).unwrap());
        }
    }
    assert_eq!(answers[0]["error"]["code"], json!(-32700));
    assert_eq!(answers[1], json!({"jsonrpc": "2.0", "id": 10, "result": 4}));
    // xrpc.cancel of a slow call answers it with an error at once.
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":11,"method":"Filecoin.Sleep","params":[60000]}"#,
    ))
    .await
    .unwrap();
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"xrpc.cancel","params":[11]}"#,
    ))
    .await
    .unwrap();
    loop {
        if let Message::Text(t) = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(v["id"], json!(11));
            assert!(
                v["error"]["message"].as_str().unwrap().contains("canceled"),
                "{v}"
            );
            break;
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn reverse_calls_reach_the_client_with_timeouts() {
    let s = start().await;
    let c = Client::connect(&s.multiaddr(), Some(s.token(Permission::Read)))
        .await
        .unwrap();
    // No handler yet: the reverse call fails with method-not-found, relayed to us.
    let err = c.call(ASK_CLIENT, (21, 2000)).await.unwrap_err();
    assert_eq!(err.rpc().map(|e| e.code), Some(-32601), "{err}");
    c.handle(CLIENT_DOUBLE, |ctx, (x,)| async move {
        assert_eq!(ctx.method(), "Client.Double");
        if x < 0 {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok(x * 2)
    });
    assert_eq!(c.call(ASK_CLIENT, (21, 2000)).await.unwrap(), 42);
    // The client takes too long: the server's reverse call times out.
    let err = c.call(ASK_CLIENT, (-1, 100)).await.unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(s.reverse_failures.load(Ordering::SeqCst), 2);
    s.stop().await;
}

#[tokio::test]
async fn a_disconnect_is_noticed_by_the_server() {
    let s = start().await;
    let c = Client::connect(&s.multiaddr(), Some(s.token(Permission::Read)))
        .await
        .unwrap();
    c.call(WATCH_DISCONNECT, ()).await.unwrap();
    assert_eq!(s.disconnects.load(Ordering::SeqCst), 0);
    drop(c);
    eventually("the server sees the connection close", || {
        s.disconnects.load(Ordering::SeqCst) == 1
    })
    .await;
    s.stop().await;
}

#[tokio::test]
async fn many_concurrent_ws_clients() {
    let s = start().await;
    let token = s.token(Permission::Read);
    let clients = 64;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let addr = s.multiaddr();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let c = Client::connect(&addr, Some(token)).await.expect("connect");
            let mut heads = c.subscribe(COUNT, (3,)).await.expect("subscribe");
            let calls = (0..20).map(|j| {
                let c = c.clone();
                async move { c.call(ADD, (i, j)).await }
            });
            let sums = futures::future::join_all(calls).await;
            for (j, sum) in sums.into_iter().enumerate() {
                assert_eq!(sum.expect("call"), i + j as i64);
            }
            let counted: Vec<u64> = (&mut heads).collect().await;
            assert_eq!(counted, vec![1, 2, 3]);
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    assert_eq!(s.ran.count("Filecoin.Add"), (clients * 20) as usize);
    s.stop().await;
}

#[tokio::test]
async fn client_reconnects_after_a_server_restart() {
    let s = start().await;
    let addr = s.addr;
    let token = s.token(Permission::Read);
    let c = Client::builder(&s.multiaddr())
        .token(Some(token))
        .timeout(Duration::from_secs(10))
        .max_reconnect_delay(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    assert_eq!(c.call(ADD, (1, 2)).await.unwrap(), 3);
    let mut heads = c.subscribe(CHAIN_NOTIFY, ()).await.unwrap();
    first_n(&mut heads, 1).await;
    s.stop().await;
    // The channel ends with the connection.
    let rest: Vec<_> =
        tokio::time::timeout(Duration::from_secs(5), (&mut heads).collect::<Vec<_>>())
            .await
            .unwrap();
    assert!(rest.len() < 100);
    // Same port, same secret: a restarted service.
    let restarted = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        start_on(&addr.to_string(), 1 << 20).await
    });
    assert_eq!(
        c.call(ADD, (2, 2)).await.unwrap(),
        4,
        "the call waits for the restart and reconnects"
    );
    let s2 = restarted.await.unwrap();
    assert_eq!(s2.ran.count("Filecoin.Add"), 1);
    let mut heads = c.subscribe(CHAIN_NOTIFY, ()).await.unwrap();
    assert_eq!(first_n(&mut heads, 1).await.len(), 1);
    s2.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_ws_connections() {
    let s = start().await;
    let c = Client::connect(&s.multiaddr(), Some(s.token(Permission::Read)))
        .await
        .unwrap();
    let peer = c.peer().await.unwrap();
    let stopping = tokio::spawn(s.stop());
    tokio::time::timeout(Duration::from_secs(5), peer.closed())
        .await
        .expect("the server closes the socket");
    stopping.await.unwrap();
}

#[tokio::test]
async fn client_errors_are_clear() {
    let err = Client::connect("/ip4/127.0.0.1/udp/1", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Address(_)), "{err}");
    let c = Client::connect("http://127.0.0.1:1/rpc/v1", None)
        .await
        .unwrap();
    assert!(matches!(
        c.subscribe(COUNT, (1,)).await.unwrap_err(),
        ClientError::NeedsWebSocket(_)
    ));
    let err = Client::builder("/ip4/127.0.0.1/tcp/1")
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}
