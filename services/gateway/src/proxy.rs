//! The reverse proxy by header, as sophon-gateway's `proxy`: a request whose
//! `X-VENUS-API-NAMESPACE` names another chain-service component's API (`v1.FullNode`,
//! `messager.IMessager`, `v1.IMarket`, …) is forwarded to that component, so a mining cluster
//! needs one address (this gateway) for the whole chain service. HTTP requests are streamed
//! both ways; a WebSocket upgrade dials the target and relays messages until either side
//! closes. No header, an empty one or `gateway.IGateway` is this gateway's own API.
//!
//! As the original, a proxied request is not authenticated here: the target verifies the
//! caller's token (`Authorization` and `?token=` are passed on unchanged). Targets come from
//! the config (`Node`, `Messager`, `Miner`, `Droplet`, `[Auth] URL`) and change at run time
//! with `Gateway.RegisterReverse` (admin; per replica, not persisted).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::{Message as ClientMessage, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::Message as UpstreamMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use url::Url;
use venus_api::gateway as api;
use venus_rpc::{DirectFuture, PreRoute, Router, RpcError};

/// The header the original clients (venus-shared, sophon-auth's client) send.
pub const NAMESPACE_HEADER: &str = "X-VENUS-API-NAMESPACE";

/// How long dialling a target (TCP, and the WebSocket handshake) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// A proxy destination, with the original's names (`proxy set --type`, `RegisterReverse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostKey {
    Node,
    Messager,
    Miner,
    Droplet,
    Auth,
    /// This gateway itself (never proxied).
    Gateway,
}

impl HostKey {
    pub const TARGETS: [HostKey; 5] = [
        HostKey::Node,
        HostKey::Messager,
        HostKey::Miner,
        HostKey::Droplet,
        HostKey::Auth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "VENUS",
            Self::Messager => "MESSAGER",
            Self::Miner => "MINER",
            Self::Droplet => "DROPLET",
            Self::Auth => "AUTH",
            Self::Gateway => "GATEWAY",
        }
    }

    /// A host key as `RegisterReverse` and `proxy set --type` name it (any case).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        [Self::Gateway]
            .into_iter()
            .chain(Self::TARGETS)
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// The destination of a namespace header value; `None` for a namespace no component has.
    pub fn for_namespace(namespace: &str) -> Option<Self> {
        Some(match namespace.trim() {
            "v0.FullNode" | "v1.FullNode" => Self::Node,
            "v0.IMarket" | "v1.IMarket" => Self::Droplet,
            "messager.IMessager" => Self::Messager,
            "auth.IAuthClient" => Self::Auth,
            "miner.MinerAPI" => Self::Miner,
            "gateway.IGateway" | "" => Self::Gateway,
            _ => return None,
        })
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The targets and the HTTP client that forwards to them.
pub struct Proxy {
    targets: parking_lot::RwLock<HashMap<HostKey, Url>>,
    http: reqwest::Client,
}

impl Proxy {
    pub fn new() -> Result<Self, String> {
        let http = venus_rpc::tls::http_client_builder()
            .connect_timeout(DIAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("proxy HTTP client: {e}"))?;
        Ok(Self {
            targets: parking_lot::RwLock::new(HashMap::new()),
            http,
        })
    }

    /// Set the target of `key` (a URL, `host:port` or multiaddr); an empty address unsets it.
    pub fn register(&self, key: HostKey, address: &str) -> Result<(), String> {
        if key == HostKey::Gateway {
            return Err("GATEWAY is this gateway itself and cannot be redirected".into());
        }
        if address.trim().is_empty() {
            self.targets.write().remove(&key);
            tracing::info!(host_key = %key, "reverse proxy target removed");
            return Ok(());
        }
        let url = venus_auth_client::parse_auth_addr(address)
            .map_err(|e| format!("{key} target: {e}"))?;
        tracing::info!(host_key = %key, target = %url, "reverse proxy target set");
        self.targets.write().insert(key, url);
        Ok(())
    }

    pub fn target(&self, key: HostKey) -> Option<Url> {
        self.targets.read().get(&key).cloned()
    }
}

/// The [`PreRoute`] hook serving the proxy in front of the gateway's routes.
#[derive(Clone)]
pub struct ProxyHook(pub Arc<Proxy>);

impl PreRoute for ProxyHook {
    fn pre_route(
        &self,
        req: http::Request<Body>,
        remote: SocketAddr,
    ) -> Result<DirectFuture, http::Request<Body>> {
        let Some(value) = req.headers().get(NAMESPACE_HEADER) else {
            return Err(req);
        };
        let key = match value.to_str().ok().and_then(HostKey::for_namespace) {
            Some(HostKey::Gateway) => return Err(req),
            Some(key) => key,
            None => {
                let shown: String = String::from_utf8_lossy(value.as_bytes())
                    .chars()
                    .take(64)
                    .collect();
                return Ok(answer(
                    StatusCode::BAD_REQUEST,
                    format!("invalid venus proxy header for {NAMESPACE_HEADER}: {shown:?}"),
                ));
            }
        };
        let Some(target) = self.0.target(key) else {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                format!("host key({key}): no reverse proxy registered"),
            ));
        };
        if is_websocket_upgrade(req.headers()) {
            Ok(Box::pin(proxy_websocket(req, key, target)))
        } else {
            Ok(Box::pin(proxy_http(
                self.0.http.clone(),
                req,
                remote,
                key,
                target,
            )))
        }
    }
}

/// Add `Gateway.RegisterReverse` (admin) to a method table.
pub fn register_methods(router: &mut Router, proxy: &Arc<Proxy>) {
    let proxy = proxy.clone();
    router.method(api::REGISTER_REVERSE, move |_ctx, (host_key, address)| {
        let proxy = proxy.clone();
        async move {
            let key = HostKey::parse(&host_key).ok_or_else(|| {
                RpcError::method(format!(
                    "unknown host key {host_key:?}: one of VENUS, MESSAGER, MINER, DROPLET, AUTH"
                ))
            })?;
            proxy.register(key, &address).map_err(RpcError::method)
        }
    });
}

fn answer(status: StatusCode, text: String) -> DirectFuture {
    Box::pin(async move { (status, text).into_response() })
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The target's URL for a request: its base path joined with the request's path and query.
fn target_url(target: &Url, uri: &http::Uri) -> Url {
    let mut url = target.clone();
    let base = target.path().trim_end_matches('/');
    url.set_path(&format!("{base}{}", uri.path()));
    url.set_query(uri.query());
    url
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and those
/// named in its `Connection` header.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for h in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::HOST,
        header::CONTENT_LENGTH,
    ] {
        headers.remove(h);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

async fn proxy_http(
    http: reqwest::Client,
    req: http::Request<Body>,
    remote: SocketAddr,
    key: HostKey,
    target: Url,
) -> Response {
    let (parts, body) = req.into_parts();
    let url = target_url(&target, &parts.uri);
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    if let Ok(v) = HeaderValue::from_str(&remote.ip().to_string()) {
        headers.append("x-forwarded-for", v);
    }
    let sent = http
        .request(parts.method, url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    let upstream = match sent {
        Ok(upstream) => upstream,
        // Without the URL: its query may carry the caller's token.
        Err(e) => {
            tracing::warn!(host_key = %key, error = %e.without_url(), "reverse proxy: the target did not answer");
            return (
                StatusCode::BAD_GATEWAY,
                format!("reverse proxy to {key}: the target did not answer"),
            )
                .into_response();
        }
    };
    let mut response = Response::builder().status(upstream.status());
    if let Some(h) = response.headers_mut() {
        *h = upstream.headers().clone();
        strip_hop_by_hop(h);
        if let Some(len) = upstream.content_length() {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}

async fn proxy_websocket(req: http::Request<Body>, key: HostKey, target: Url) -> Response {
    let (mut parts, _) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let mut url = target_url(&target, &parts.uri);
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    if url.set_scheme(scheme).is_err() {
        return (StatusCode::BAD_GATEWAY, format!("{key} target is not HTTP")).into_response();
    }
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(_) => {
            return (StatusCode::BAD_GATEWAY, format!("{key} target URL")).into_response();
        }
    };
    // The caller's headers (token, namespace, …) without its own handshake.
    for (name, value) in &parts.headers {
        let own = name == header::HOST
            || name == header::UPGRADE
            || name == header::CONNECTION
            || name.as_str().starts_with("sec-websocket-");
        if !own {
            request.headers_mut().append(name.clone(), value.clone());
        }
    }
    let dialled =
        tokio::time::timeout(DIAL_TIMEOUT, tokio_tungstenite::connect_async(request)).await;
    let upstream = match dialled {
        Ok(Ok((upstream, _))) => upstream,
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(refused))) => {
            // The target's refusal (401 for a bad token, …) is the caller's answer.
            let status = refused.status();
            let body = refused.into_body().unwrap_or_default();
            return (status, body).into_response();
        }
        Ok(Err(e)) => {
            tracing::warn!(host_key = %key, error = %e, "reverse proxy: WebSocket dial failed");
            return (
                StatusCode::BAD_GATEWAY,
                format!("reverse proxy to {key}: the target did not accept the WebSocket"),
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::GATEWAY_TIMEOUT,
                format!("reverse proxy to {key}: dialling the target timed out"),
            )
                .into_response();
        }
    };
    upgrade.on_upgrade(move |client| relay(client, upstream))
}

/// Relay messages both ways until one side closes or fails; pings are answered by each hop.
async fn relay<S>(client: WebSocket, upstream: tokio_tungstenite::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut to_client, mut from_client) = client.split();
    let (mut to_upstream, mut from_upstream) = upstream.split();
    let up = async {
        while let Some(Ok(message)) = from_client.next().await {
            let message = match message {
                ClientMessage::Text(t) => UpstreamMessage::Text(t.as_str().into()),
                ClientMessage::Binary(b) => UpstreamMessage::Binary(b),
                ClientMessage::Close(_) => break,
                ClientMessage::Ping(_) | ClientMessage::Pong(_) => continue,
            };
            if to_upstream.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_upstream.close().await;
    };
    let down = async {
        while let Some(Ok(message)) = from_upstream.next().await {
            let message = match message {
                UpstreamMessage::Text(t) => ClientMessage::Text(t.as_str().into()),
                UpstreamMessage::Binary(b) => ClientMessage::Binary(b),
                UpstreamMessage::Close(_) => break,
                UpstreamMessage::Ping(_) | UpstreamMessage::Pong(_) | UpstreamMessage::Frame(_) => {
                    continue;
                }
            };
            if to_client.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_client.close().await;
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_map_to_the_originals_host_keys() {
        for (ns, key) in [
            ("v0.FullNode", Some(HostKey::Node)),
            ("v1.FullNode", Some(HostKey::Node)),
            ("v1.IMarket", Some(HostKey::Droplet)),
            ("messager.IMessager", Some(HostKey::Messager)),
            ("auth.IAuthClient", Some(HostKey::Auth)),
            ("miner.MinerAPI", Some(HostKey::Miner)),
            ("gateway.IGateway", Some(HostKey::Gateway)),
            ("", Some(HostKey::Gateway)),
            ("v2.Whatever", None),
        ] {
            assert_eq!(HostKey::for_namespace(ns), key, "{ns}");
        }
        assert_eq!(HostKey::parse("venus"), Some(HostKey::Node));
        assert_eq!(HostKey::parse("DROPLET"), Some(HostKey::Droplet));
        assert_eq!(HostKey::parse("NODE"), None);
    }

    #[test]
    fn targets_are_set_unset_and_checked() {
        let p = Proxy::new().expect("client");
        p.register(HostKey::Node, "/ip4/127.0.0.1/tcp/3453")
            .expect("multiaddr");
        assert_eq!(
            p.target(HostKey::Node).map(|u| u.to_string()),
            Some("http://127.0.0.1:3453/".into())
        );
        p.register(HostKey::Node, "").expect("unset");
        assert_eq!(p.target(HostKey::Node), None);
        assert!(p.register(HostKey::Gateway, "http://x:1").is_err());
        let e = p
            .register(HostKey::Miner, "ftp://x:1")
            .expect_err("not http");
        assert!(e.contains("MINER"), "{e}");
    }

    #[test]
    fn paths_join_and_hop_by_hop_headers_go() {
        let base = Url::parse("http://n:1/base/").expect("url");
        let uri: http::Uri = "/rpc/v1?token=t".parse().expect("uri");
        assert_eq!(
            target_url(&base, &uri).as_str(),
            "http://n:1/base/rpc/v1?token=t"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        h.insert(header::HOST, HeaderValue::from_static("gw"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::AUTHORIZATION));
    }
}
