//! The forms of venus-auth address the original clients accept: an HTTP URL, a bare
//! `host:port`, or a multiaddr (`/ip4/127.0.0.1/tcp/8989[/http|/https|/ws|/wss]`).

use std::net::IpAddr;

use multiaddr::{Multiaddr, Protocol};
use url::Url;

/// Turn any accepted address form into the base URL of the REST API.
pub fn parse_auth_addr(addr: &str) -> Result<Url, String> {
    let addr = addr.trim();
    if addr.is_empty() {
        return Err("the venus-auth address is empty".into());
    }
    if addr.starts_with('/') {
        return from_multiaddr(addr);
    }
    let with_scheme = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let mut url =
        Url::parse(&with_scheme).map_err(|e| format!("venus-auth address {addr:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => {}
        "ws" => set_scheme(&mut url, "http")?,
        "wss" => set_scheme(&mut url, "https")?,
        other => {
            return Err(format!(
                "venus-auth address {addr:?}: unsupported scheme {other:?}"
            ));
        }
    }
    if url.host_str().is_none() {
        return Err(format!("venus-auth address {addr:?} has no host"));
    }
    Ok(url)
}

fn set_scheme(url: &mut Url, scheme: &str) -> Result<(), String> {
    url.set_scheme(scheme)
        .map_err(|()| format!("cannot use scheme {scheme} for {url}"))
}

fn from_multiaddr(addr: &str) -> Result<Url, String> {
    let ma: Multiaddr = addr
        .parse()
        .map_err(|e| format!("multiaddr {addr:?}: {e}"))?;
    let mut host = None;
    let mut port = None;
    let mut scheme = "http";
    for p in ma.iter() {
        match p {
            Protocol::Ip4(ip) => host = Some(IpAddr::V4(ip).to_string()),
            Protocol::Ip6(ip) => host = Some(format!("[{ip}]")),
            Protocol::Dns(h) | Protocol::Dns4(h) | Protocol::Dns6(h) => host = Some(h.to_string()),
            Protocol::Tcp(p) => port = Some(p),
            Protocol::Http | Protocol::Ws(_) => scheme = "http",
            Protocol::Https | Protocol::Wss(_) | Protocol::Tls => scheme = "https",
            other => return Err(format!("multiaddr {addr:?}: unsupported component {other}")),
        }
    }
    let host = host.ok_or_else(|| format!("multiaddr {addr:?} has no ip4/ip6/dns component"))?;
    let port = port.ok_or_else(|| format!("multiaddr {addr:?} has no tcp port"))?;
    Url::parse(&format!("{scheme}://{host}:{port}")).map_err(|e| format!("multiaddr {addr:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_original_forms() {
        let want = "http://127.0.0.1:8989/";
        for a in [
            "http://127.0.0.1:8989",
            "127.0.0.1:8989",
            "/ip4/127.0.0.1/tcp/8989",
            "/ip4/127.0.0.1/tcp/8989/http",
            "ws://127.0.0.1:8989",
        ] {
            assert_eq!(parse_auth_addr(a).unwrap().as_str(), want, "{a}");
        }
        assert_eq!(
            parse_auth_addr("/dns4/auth/tcp/1/wss").unwrap().as_str(),
            "https://auth:1/"
        );
    }

    #[test]
    fn refuses_bad_addresses_with_a_reason() {
        assert!(parse_auth_addr("").unwrap_err().contains("empty"));
        assert!(
            parse_auth_addr("/ip4/127.0.0.1")
                .unwrap_err()
                .contains("tcp")
        );
        assert!(parse_auth_addr("ftp://x").unwrap_err().contains("scheme"));
    }
}
