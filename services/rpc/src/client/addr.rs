//! The address forms venus CLIs accept, resolved to one URL (venus-shared `DialArgs`).
//!
//! - multiaddr `/ip4/H/tcp/P`, `/ip6/…`, `/dns/…`, `/dns4/…`, `/dns6/…`, optionally followed
//!   by `/http`, `/https`, `/ws`, `/wss` (WebSocket is the default) and `/version/vN`;
//! - a URL `http(s)://…` or `ws(s)://…` (a bare host gets `/rpc/<version>` appended);
//! - either of those prefixed with a token: `<token>:<address>` (Lotus API-info form).

use crate::call_error::ClientError;

/// A resolved address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http(s)://…/rpc/vN` or `ws(s)://…/rpc/vN`.
    pub url: url::Url,
    /// The token given in the `token:address` form.
    pub token: Option<String>,
}

impl Endpoint {
    pub fn is_websocket(&self) -> bool {
        matches!(self.url.scheme(), "ws" | "wss")
    }
}

/// Resolve `addr`; `version` (e.g. `v1`) is used when the address names no path.
pub fn parse_address(addr: &str, version: &str) -> Result<Endpoint, ClientError> {
    let addr = addr.trim();
    if addr.is_empty() {
        return Err(ClientError::Address("empty address".into()));
    }
    let (token, rest) = split_token(addr);
    let url = if rest.starts_with('/') {
        multiaddr_url(rest, version)?
    } else {
        plain_url(rest, version)?
    };
    Ok(Endpoint { url, token })
}

/// `<token>:/ip4/…` or `<token>:http://…`; a URL's own `scheme://` is not a token.
fn split_token(addr: &str) -> (Option<String>, &str) {
    if let Some((tok, rest)) = addr.split_once(':') {
        let looks_like_addr = (rest.starts_with('/') && !rest.starts_with("//"))
            || ["http://", "https://", "ws://", "wss://"]
                .iter()
                .any(|s| rest.starts_with(s));
        if !tok.is_empty() && !tok.contains('/') && looks_like_addr {
            return (Some(tok.to_owned()), rest);
        }
    }
    (None, addr)
}

fn bad(addr: &str, why: &str) -> ClientError {
    ClientError::Address(format!("{addr:?}: {why}"))
}

fn multiaddr_url(addr: &str, default_version: &str) -> Result<url::Url, ClientError> {
    let mut parts = addr.split('/').skip(1);
    let mut host: Option<String> = None;
    let mut port: Option<u16> = None;
    let mut scheme = "ws";
    let mut version = default_version.to_owned();
    while let Some(proto) = parts.next() {
        let mut value = |what: &str| {
            parts
                .next()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(addr, &format!("/{proto} needs {what}")))
        };
        match proto {
            "ip4" => {
                let v = value("an address")?;
                v.parse::<std::net::Ipv4Addr>()
                    .map_err(|_| bad(addr, &format!("{v:?} is not an IPv4 address")))?;
                host = Some(v.to_owned());
            }
            "ip6" => {
                let v = value("an address")?;
                v.parse::<std::net::Ipv6Addr>()
                    .map_err(|_| bad(addr, &format!("{v:?} is not an IPv6 address")))?;
                host = Some(format!("[{v}]"));
            }
            "dns" | "dns4" | "dns6" => host = Some(value("a host name")?.to_owned()),
            "tcp" => {
                let v = value("a port")?;
                port = Some(
                    v.parse()
                        .map_err(|_| bad(addr, &format!("{v:?} is not a TCP port")))?,
                );
            }
            "http" | "https" | "ws" | "wss" => scheme = proto,
            "version" => version = value("a version such as v1")?.to_owned(),
            "" => {}
            other => {
                return Err(bad(
                    addr,
                    &format!("unsupported multiaddr protocol /{other}"),
                ));
            }
        }
    }
    let host = host.ok_or_else(|| bad(addr, "no /ip4, /ip6 or /dns host"))?;
    let port = port.ok_or_else(|| bad(addr, "no /tcp port"))?;
    url::Url::parse(&format!("{scheme}://{host}:{port}/rpc/{version}"))
        .map_err(|e| bad(addr, &e.to_string()))
}

fn plain_url(addr: &str, version: &str) -> Result<url::Url, ClientError> {
    let mut url =
        url::Url::parse(addr).map_err(|e| bad(addr, &format!("not a multiaddr or URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
        return Err(bad(addr, "scheme must be http, https, ws or wss"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(addr, "no host"));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(&format!("/rpc/{version}"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(a: &str) -> String {
        parse_address(a, "v1").unwrap().url.to_string()
    }

    #[test]
    fn multiaddrs_follow_dial_args() {
        assert_eq!(url("/ip4/127.0.0.1/tcp/3453"), "ws://127.0.0.1:3453/rpc/v1");
        assert_eq!(
            url("/ip4/127.0.0.1/tcp/5678/http"),
            "http://127.0.0.1:5678/rpc/v1"
        );
        assert_eq!(
            url("/dns/node.example/tcp/443/wss"),
            "wss://node.example/rpc/v1"
        );
        assert_eq!(
            url("/dns4/gw/tcp/45132/https/version/v2"),
            "https://gw:45132/rpc/v2"
        );
        assert_eq!(url("/ip6/::1/tcp/1234"), "ws://[::1]:1234/rpc/v1");
    }

    #[test]
    fn urls_keep_explicit_paths() {
        assert_eq!(url("http://127.0.0.1:8989"), "http://127.0.0.1:8989/rpc/v1");
        assert_eq!(url("ws://h:1/rpc/v0"), "ws://h:1/rpc/v0");
        assert!(!parse_address("http://h:1", "v1").unwrap().is_websocket());
    }

    #[test]
    fn token_prefix_is_split_off() {
        let e = parse_address("eyJhbGc.eyJuYW1l.sig:/ip4/10.0.0.1/tcp/3453", "v0").unwrap();
        assert_eq!(e.token.as_deref(), Some("eyJhbGc.eyJuYW1l.sig"));
        assert_eq!(e.url.as_str(), "ws://10.0.0.1:3453/rpc/v0");
        let e = parse_address("tok:http://h:1/rpc/v2", "v0").unwrap();
        assert_eq!(e.token.as_deref(), Some("tok"));
        assert_eq!(e.url.as_str(), "http://h:1/rpc/v2");
        assert_eq!(parse_address("http://h:1", "v0").unwrap().token, None);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (a, why) in [
            ("", "empty"),
            ("/ip4/1.2.3/tcp/1", "IPv4"),
            ("/ip4/1.2.3.4", "no /tcp port"),
            ("/ip4/1.2.3.4/tcp/x", "TCP port"),
            ("/ip4/1.2.3.4/udp/1", "/udp"),
            ("127.0.0.1:1234", "not a multiaddr or URL"),
            ("ftp://h/", "scheme"),
        ] {
            let err = parse_address(a, "v1").unwrap_err().to_string();
            assert!(err.contains(why), "{a}: {err}");
        }
    }
}
