//! The server over plain HTTP: every error path answers as go-jsonrpc does and runs nothing.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed assertion

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{LEVEL_METHODS, Sample};
use serde_json::{Value, json};
use venus_rpc::Permission;

async fn post(
    sample: &Sample,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let mut req = venus_rpc::tls::http_client_builder()
        .build()
        .unwrap()
        .post(sample.http_url())
        .body(body);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = req.send().await.expect("request reaches the server");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn call(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
}

fn error_of(body: &str) -> (i64, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let e = &v["error"];
    (
        e["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code: {body}")),
        e["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_call_returns_result_and_echoes_the_id() {
    let s = common::start().await;
    let (status, body) = post(
        &s,
        Some(&s.token(Permission::Read)),
        call("Filecoin.Add", json!([40, 2])),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"jsonrpc": "2.0", "id": 7, "result": 42})
    );
    // String ids, and `?token=` instead of the header.
    let url = format!("{}?token={}", s.http_url(), s.token(Permission::Read));
    let body = r#"{"jsonrpc":"2.0","id":"x-1","method":"Filecoin.WhoAmI","params":[]}"#;
    let text = venus_rpc::tls::http_client_builder()
        .build()
        .unwrap()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"jsonrpc": "2.0", "id": "x-1", "result": "user-read"})
    );
    s.stop().await;
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_get_401_and_nothing_runs() {
    let s = common::start().await;
    let body = call("Filecoin.ReadThing", json!([]));
    let (status, text) = post(&s, None, body.clone()).await;
    assert_eq!(status, 401, "{text}");
    let forged =
        venus_rpc::LocalVerifier::new(b"other-secret".to_vec()).issue("mallory", Permission::Admin);
    let (status, text) = post(&s, Some(&forged), body.clone()).await;
    assert_eq!(status, 401);
    assert!(!text.contains(&forged), "the token must not be echoed");
    // An HS256 token with the right secret but an `exp` in the past.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(br#"{"name":"late","perm":"admin","ext":"","exp":1000}"#);
    let input = format!("{header}.{payload}");
    let sig = {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"sample-secret").unwrap();
        m.update(input.as_bytes());
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    };
    let (status, text) = post(&s, Some(&format!("{input}.{sig}")), body.clone()).await;
    assert_eq!(status, 401);
    assert!(text.contains("expired"), "{text}");
    // alg none, garbage, and a non-Bearer scheme.
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#)
    );
    assert_eq!(post(&s, Some(&none), body.clone()).await.0, 401);
    assert_eq!(post(&s, Some("garbage"), body.clone()).await.0, 401);
    let basic = venus_rpc::tls::http_client_builder()
        .build()
        .unwrap()
        .post(s.http_url())
        .header(
            "Authorization",
            format!("Basic {}", s.token(Permission::Admin)),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    assert_eq!(s.ran.total(), 0, "no method may run without a valid token");
    s.stop().await;
}

#[tokio::test]
async fn permission_matrix() {
    let s = common::start().await;
    for held in Permission::ALL {
        let token = s.token(held);
        for (needed, method) in LEVEL_METHODS {
            let before = s.ran.count(method);
            let (status, body) = post(&s, Some(&token), call(method, json!([]))).await;
            assert_eq!(status, 200, "{held} calling {method}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            if held >= needed {
                assert_eq!(v["result"], json!(method), "{held} calling {method}");
                assert_eq!(s.ran.count(method), before + 1);
            } else {
                let short = method.trim_start_matches("Filecoin.");
                assert_eq!(
                    v["error"],
                    json!({"code": 1, "message": format!("missing permission to invoke '{short}'  (need '{needed}')")}),
                    "{held} calling {method}"
                );
                assert_eq!(
                    s.ran.count(method),
                    before,
                    "{method} ran for a {held} token"
                );
            }
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_json_rpc_errors_and_nothing_runs() {
    let s = common::start().await;
    let t = s.token(Permission::Admin);
    let cases: Vec<(String, u16, i64, &str)> = vec![
        (
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":".into(),
            500,
            -32700,
            "unmarshaling request",
        ),
        ("not json".into(), 500, -32700, "unmarshaling request"),
        ("42".into(), 400, -32600, "object or array"),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#.into(),
            400,
            -32600,
            "",
        ),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"Filecoin.Add","params":[1,2]}"#.into(),
            400,
            -32600,
            "version",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"params":[]}"#.into(),
            400,
            -32600,
            "no method",
        ),
        (
            call("Filecoin.Nope", json!([])),
            500,
            -32601,
            "method 'Filecoin.Nope' not found",
        ),
        (
            call("Filecoin.Add", json!([1])),
            500,
            -32602,
            "Filecoin.Add",
        ),
        (
            call("Filecoin.Add", json!([1, 2, 3])),
            500,
            -32602,
            "Filecoin.Add",
        ),
        (
            call("Filecoin.Add", json!(["1", 2])),
            500,
            -32602,
            "Filecoin.Add",
        ),
        (
            call("Filecoin.Add", json!({"a": 1})),
            500,
            -32602,
            "Filecoin.Add",
        ),
        (
            call("Filecoin.Version", json!([1])),
            500,
            -32602,
            "Filecoin.Version",
        ),
        (
            call("Filecoin.ChainNotify", json!([])),
            500,
            -32601,
            "method 'Filecoin.ChainNotify' not supported in this mode (no out channel support)",
        ),
    ];
    for (body, want_status, want_code, want_text) in cases {
        let (status, text) = post(&s, Some(&t), body.clone()).await;
        let (code, message) = error_of(&text);
        assert_eq!((status, code), (want_status, want_code), "{body} -> {text}");
        assert!(message.contains(want_text), "{body} -> {message}");
    }
    assert_eq!(s.ran.total(), 0);
    // A method's own error: code 1, HTTP 200.
    let (status, text) = post(&s, Some(&t), call("Filecoin.Fail", json!([]))).await;
    assert_eq!((status, error_of(&text)), (200, (1, "boom".to_owned())));
    s.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let s = common::start_on("127.0.0.1:0", 4096).await;
    let t = s.token(Permission::Admin);
    let big = call("Filecoin.Echo", json!(["x".repeat(8192)]));
    let (status, text) = post(&s, Some(&t), big.clone()).await;
    assert_eq!(status, 413);
    assert_eq!(error_of(&text).0, -32600);
    // Without a Content-Length (chunked), the limit still holds.
    let mut raw = format!(
        "POST /rpc/v1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.addr
    );
    for chunk in big.as_bytes().chunks(1000) {
        raw.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    raw.push_str("0\r\n\r\n");
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The server may answer and close before reading everything; a write error is fine.
    let _ = tcp.write_all(raw.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(s.ran.total(), 0);
    let (status, _) = post(&s, Some(&t), call("Filecoin.Echo", json!(["small"]))).await;
    assert_eq!(status, 200);
    s.stop().await;
}

/// A batch is bounded like a WebSocket connection: with `max_inflight` 2, six 100 ms calls
/// need at least three rounds (a lower bound, so a slow machine cannot make this flaky).
#[tokio::test]
async fn a_batch_runs_at_most_max_inflight_calls_at_once() {
    let limits = venus_rpc::ConnLimits {
        max_inflight: 2,
        ..Default::default()
    };
    let s = common::start_with("127.0.0.1:0", 1 << 20, limits).await;
    let batch: Vec<Value> = (1..=6)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "Filecoin.Sleep", "params": [100]}))
        .collect();
    let started = std::time::Instant::now();
    let (status, text) = post(
        &s,
        Some(&s.token(Permission::Read)),
        Value::Array(batch).to_string(),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{text}");
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    let ids: Vec<i64> = answers.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, 5, 6],
        "answers keep the request order"
    );
    assert!(
        elapsed >= std::time::Duration::from_millis(300),
        "6 calls at 2 at a time took only {elapsed:?}"
    );
    assert_eq!(s.ran.count("Filecoin.Sleep"), 6);
    s.stop().await;
}

#[tokio::test]
async fn batches_answer_each_call_and_skip_notifications() {
    let s = common::start().await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "Filecoin.Add", "params": [1, 2]},
        {"jsonrpc": "2.0", "id": 2, "method": "Filecoin.AdminThing", "params": []},
        {"jsonrpc": "2.0", "method": "Filecoin.ReadThing", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "Filecoin.Nope"},
        5
    ]);
    let (status, text) = post(&s, Some(&s.token(Permission::Read)), batch.to_string()).await;
    assert_eq!(status, 200);
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(answers.len(), 4, "{text}");
    assert_eq!(answers[0]["result"], json!(3));
    assert_eq!(answers[1]["error"]["code"], json!(1));
    assert_eq!(answers[2]["error"]["code"], json!(-32601));
    assert_eq!(answers[3]["error"]["code"], json!(-32600));
    assert_eq!(
        s.ran.count("Filecoin.ReadThing"),
        1,
        "the notification still runs"
    );
    assert_eq!(s.ran.count("Filecoin.AdminThing"), 0);
    let (status, text) = post(&s, Some(&s.token(Permission::Read)), "[]").await;
    assert_eq!((status, error_of(&text).0), (400, -32600));
    s.stop().await;
}

#[tokio::test]
async fn metrics_count_calls_and_errors_per_method() {
    let s = common::start().await;
    let t = s.token(Permission::Read);
    for _ in 0..3 {
        post(&s, Some(&t), call("Filecoin.Add", json!([1, 1]))).await;
    }
    post(&s, Some(&t), call("Filecoin.Fail", json!([]))).await;
    let text = venus_rpc::tls::http_client_builder()
        .build()
        .unwrap()
        .get(format!("http://{}/metrics", s.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"rpc_requests_total{method="Filecoin.Add"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rpc_errors_total{method="Filecoin.Fail"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rpc_request_duration_seconds_count{method="Filecoin.Add"} 3"#),
        "{text}"
    );
    assert!(!text.contains(&t));
    s.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_call_in_flight_then_refuses_connections() {
    let s = common::start().await;
    let token = s.token(Permission::Read);
    let url = s.http_url();
    let client = venus_rpc::tls::http_client_builder().build().unwrap();
    let slow = {
        let req = client
            .post(&url)
            .header("Authorization", format!("Bearer {token}"))
            .body(call("Filecoin.Sleep", json!([400])));
        tokio::spawn(async move {
            let resp = req.send().await.expect("the call in flight is answered");
            (resp.status().as_u16(), resp.text().await.expect("body"))
        })
    };
    common::eventually("the slow call is running", || {
        s.ran.count("Filecoin.Sleep") == 1
    })
    .await;
    let addr = s.addr;
    s.stop().await;
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":null"#), "{body}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}

/// One keep-alive HTTP/1.1 request on `tcp`; returns the response head and body as text.
async fn raw_call(tcp: &mut tokio::net::TcpStream, token: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!(
        "POST /rpc/v1 HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"jsonrpc\"") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_but_slow_calls_are_not() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let verifier = Arc::new(venus_rpc::LocalVerifier::new(b"idle-secret".to_vec()));
    let token = verifier.issue("u1", Permission::Read);
    let app = venus_rpc::Server::new(
        common::router(Default::default(), Default::default(), Default::default()),
        verifier,
    )
    .into_app();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = venus_rpc::ServeOptions {
        idle_timeout: Some(Duration::from_millis(400)),
        ..Default::default()
    };
    let server = tokio::spawn(venus_rpc::serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        options,
    ));

    // A call that takes longer than the idle limit is answered: it was in flight.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let answer = raw_call(&mut tcp, &token, &call("Filecoin.Sleep", json!([900]))).await;
    assert!(answer.contains(r#""result":null"#), "{answer}");
    // Then the connection sits idle: the server closes it after the limit, not before.
    let idle_since = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("the server closes the idle connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "nothing but the close arrives");
    let waited = idle_since.elapsed();
    assert!(
        waited >= Duration::from_millis(350),
        "closed after {waited:?}"
    );

    // A connection kept busy within the limit stays open.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    for _ in 0..4 {
        let answer = raw_call(&mut tcp, &token, &call("Filecoin.Version", json!([]))).await;
        assert!(answer.contains("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
