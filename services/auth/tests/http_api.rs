//! The REST API as the original's Go clients call it: both `/verify` forms, the jwtclient
//! headers, the JSON shapes, permissions, and forged / `alg: none` / revoked tokens.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("X-VENUS-API-NAMESPACE", "auth.IAuthClient");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }
    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }
}

async fn api_suite(backend: Backend) {
    let home = Home::new(&backend);
    let server = home.start();
    let api = Api {
        http: venus_rpc::tls::http_client_builder().build().unwrap(),
        url: server.url.clone(),
    };
    let admin = server.admin_token.clone();

    // Users, miners, tokens through the REST API with the original's JSON.
    let (s, u) = api
        .call(
            reqwest::Method::PUT,
            "/user/new",
            &admin,
            Some(json!({"Name": "u1", "Comment": "c"})),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        (
            u["name"].as_str(),
            u["state"].as_i64(),
            u["comment"].as_str()
        ),
        (Some("u1"), Some(1), Some("c"))
    );
    assert!(u["id"].as_str().is_some_and(|id| id.len() == 36) && u["createTime"].is_i64());
    let (s, created) = api
        .post(
            "/user/miner/add",
            &admin,
            json!({"user": "u1", "miner": "f01000", "openMining": true}),
        )
        .await;
    assert_eq!((s, created), (200, json!(true)));
    let (s, created) = api
        .post(
            "/miner/add-miner",
            &admin,
            json!({"User": "u1", "Miner": "f01000", "OpenMining": false}),
        )
        .await;
    assert_eq!(
        (s, created),
        (200, json!(false)),
        "an existing miner is updated"
    );
    let (_, miners) = api.get("/user/miner/list?user=u1", &admin).await;
    assert_eq!(miners[0]["Miner"], "f01000");
    assert_eq!(miners[0]["OpenMining"], false);
    assert!(
        miners[0]["CreatedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let (_, owner) = api.get("/miner?miner=f01000", &admin).await;
    assert_eq!(owner["name"], "u1");
    let (_, owner) = api.get("/user/miner?miner=%22f01000%22", &admin).await;
    assert_eq!(
        owner["name"], "u1",
        "quoted addresses as the original middleware writes them"
    );
    assert_eq!(
        api.get("/miner/has-miner?miner=f01000", &admin).await,
        (200, json!(true))
    );
    assert_eq!(
        api.get("/user/miner/exist?miner=f01000&user=u1", &admin)
            .await,
        (200, json!(true))
    );

    let (s, t) = api
        .post(
            "/genToken",
            &admin,
            json!({"name": "u1", "perm": "read", "extra": "e"}),
        )
        .await;
    assert_eq!(s, 200);
    let read = t["token"].as_str().unwrap().to_owned();
    let (s, t) = api
        .post(
            "/genToken",
            &admin,
            json!({"name": "nobody", "perm": "read"}),
        )
        .await;
    assert_eq!(
        s, 400,
        "the API keeps the original's rule: the user must exist ({t})"
    );
    let (s, t) = api
        .post("/genToken", &admin, json!({"name": "u1", "perm": "root"}))
        .await;
    assert!(
        s == 400 && t["error"].as_str().unwrap().contains("root"),
        "{t}"
    );

    // /verify, JSON form with Bearer (current jwtclient) → the claims.
    let (s, v) = verify_json(&server.url, &admin, &read).await;
    assert_eq!(
        (s, v),
        (200, json!({"name": "u1", "perm": "read", "ext": "e"}))
    );
    // /verify, form `token=` without Bearer (seed-era client).
    let resp = api
        .http
        .post(format!("{}/verify", server.url))
        .form(&[("token", read.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["perm"], "read");
    // JSON without any credential → 401; the subject alone is not a credential.
    let resp = api
        .http
        .post(format!("{}/verify", server.url))
        .json(&json!({"Token": read}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // A body over the limit → 413, the token in `?token=` → the claims, GET → 405.
    let resp = api
        .http
        .post(format!("{}/verify", server.url))
        .bearer_auth(&admin)
        .body(vec![b' '; (2 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let resp = api
        .http
        .post(format!("{}/verify?token={read}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["perm"], "read");
    let resp = api
        .http
        .get(format!("{}/verify", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);

    // Forged, alg:none, garbage, unknown tokens → 401, as subject and as credential.
    let payload = read.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let admin_claims = URL_SAFE_NO_PAD.encode(br#"{"name":"u1","perm":"admin","ext":""}"#);
    let sig = read.split('.').nth(2).unwrap();
    let forged = format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{admin_claims}.{sig}");
    for bad in [none.as_str(), forged.as_str(), "garbage", "a.b.c"] {
        assert_eq!(verify_json(&server.url, &admin, bad).await.0, 401, "{bad}");
        assert_eq!(api.get("/user/list", bad).await.0, 401, "{bad}");
    }
    assert_eq!(
        api.http
            .get(format!("{}/user/list", server.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );

    // Permissions: read < admin; "self" may read its own records.
    assert_eq!(api.get("/user/list?skip=0&limit=10", &read).await.0, 403);
    assert_eq!(api.get("/user?name=u1", &read).await.0, 200);
    assert_eq!(api.get("/user?name=defaultLocalToken", &read).await.0, 403);
    assert_eq!(api.get("/user/miner/list?user=u1", &read).await.0, 200);
    assert_eq!(
        api.post("/genToken", &read, json!({"name": "u1", "perm": "admin"}))
            .await
            .0,
        403
    );
    assert_eq!(
        api.get(&format!("/user/miner/list?user=u1&token={read}"), "")
            .await
            .0,
        200,
        "?token= works too"
    );
    let (s, users) = api.get("/user/list", &admin).await;
    assert_eq!(s, 200, "no skip/limit is fine (the original panics)");
    assert_eq!(users.as_array().unwrap().len(), 2);

    // Tokens: list, get by name (self), remove (owner) → at once refused.
    let (_, tokens) = api.get("/tokens?skip=0&limit=10", &admin).await;
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["token"] == read.as_str() && t["perm"] == "read")
    );
    let (s, mine) = api.get("/token?name=u1", &read).await;
    assert_eq!((s, mine.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(
        api.call(
            reqwest::Method::DELETE,
            "/token",
            &read,
            Some(json!({"token": read}))
        )
        .await
        .0,
        200
    );
    assert_eq!(verify_json(&server.url, &admin, &read).await.0, 401);

    // Signers: register, exist, list, by signer, unregister, delete everywhere.
    let signer = "f1tclomb6b7dyohhken7bbqpgskiplvgyzd6bekoi";
    assert_eq!(
        api.post(
            "/user/signer/register",
            &admin,
            json!({"User": "u1", "Signers": [signer]})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.get(
            &format!("/user/signer/exist?user=u1&signer={signer}"),
            &admin
        )
        .await
        .1,
        json!(true)
    );
    assert_eq!(
        api.get(&format!("/signer/has?signer={signer}"), &admin)
            .await
            .1,
        json!(true)
    );
    let (_, users) = api
        .get(&format!("/user/signer?signer={signer}"), &admin)
        .await;
    assert_eq!(users[0]["name"], "u1");
    let (_, list) = api.get("/user/signer/list?user=u1", &admin).await;
    assert_eq!(list[0]["Signer"], signer);
    assert_eq!(
        api.post(
            "/user/signer/unregister",
            &admin,
            json!({"User": "u1", "Signers": [signer]})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.get(&format!("/signer/has?signer={signer}"), &admin)
            .await
            .1,
        json!(false)
    );
    let (s, e) = api
        .post(
            "/user/signer/register",
            &admin,
            json!({"User": "u1", "Signers": ["f01000"]}),
        )
        .await;
    assert!(
        s == 400 && e["error"].as_str().unwrap().contains("f01000"),
        "{e}"
    );
    let (s, e) = api
        .post(
            "/user/miner/add",
            &admin,
            json!({"User": "u1", "Miner": "f1abc"}),
        )
        .await;
    assert!(
        s == 400 && e["error"].as_str().unwrap().contains("f1abc"),
        "{e}"
    );

    // Rate limits.
    let limit = json!({"Name": "u1", "Service": "", "API": "", "ReqLimit": {"Cap": 10, "ResetDur": 60_000_000_000i64}});
    let (s, id) = api.post("/user/ratelimit/upsert", &admin, limit).await;
    assert_eq!(s, 200);
    let (_, limits) = api.get("/user/ratelimit?name=u1", &admin).await;
    assert_eq!(limits[0]["Id"], id);
    assert_eq!(limits[0]["ReqLimit"]["Cap"], 10);
    assert_eq!(
        api.post(
            "/user/ratelimit/del",
            &admin,
            json!({"Name": "u1", "Id": id})
        )
        .await,
        (200, id)
    );

    // Duplicate user, bad JSON, version, probes, metrics.
    let (s, e) = api
        .call(
            reqwest::Method::PUT,
            "/user/new",
            &admin,
            Some(json!({"Name": "u1"})),
        )
        .await;
    assert!(
        s == 400 && e["error"].as_str().unwrap().contains("already exists"),
        "{e}"
    );
    let resp = api
        .http
        .put(format!("{}/user/new", server.url))
        .bearer_auth(&admin)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(api.get("/version", &admin).await.1["Version"].is_string());
    for probe in ["/healthz", "/readyz", "/livez"] {
        assert_eq!(
            api.http
                .get(format!("{}{probe}", server.url))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200
        );
    }
    let metrics = api
        .http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("venus_auth_token_verify_total{perm=\"read\",result=\"success\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("venus_auth_users{state=\"1\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn rest_api_on_the_embedded_store() {
    api_suite(Backend::Sqlite).await;
}

#[tokio::test]
async fn rest_api_on_mariadb() {
    let Some(server) = mysql_server() else { return };
    api_suite(mysql_backend(&server)).await;
}
