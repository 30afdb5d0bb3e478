//! The cluster network for processes on the host: an HTTP forward proxy on 127.0.0.1 that
//! reaches in-cluster names (`<svc>.<ns>.svc:<port>`, `<pod>.<headless>.<ns>.svc:<port>`) of the
//! namespaces whose pods a [`super::PodProcesses`] runs, as cluster DNS and kube-proxy would for
//! a pod. The host-process operator gets it as `HTTP_PROXY`, so it reads the node pods' heads
//! at the same URLs it uses in a cluster. A name of no such namespace answers 502.
//!
//! Plain HTTP only (absolute-form requests, no CONNECT), one request per connection: the
//! request goes upstream with `Connection: close`. Threads, not tasks: it serves every test of
//! the process, whatever runtime each test has.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::text::{Target, map_addresses};

/// Maps a target of one namespace to a local port.
pub type Resolver = Arc<dyn Fn(&Target) -> Option<u16> + Send + Sync>;

fn resolvers() -> &'static Mutex<BTreeMap<String, Resolver>> {
    static R: OnceLock<Mutex<BTreeMap<String, Resolver>>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// `namespace`'s names resolve through `resolver` from now on.
pub(crate) fn register(namespace: &str, resolver: Resolver) {
    if let Ok(mut r) = resolvers().lock() {
        r.insert(namespace.to_owned(), resolver);
    }
}

pub(crate) fn unregister(namespace: &str) {
    if let Ok(mut r) = resolvers().lock() {
        r.remove(namespace);
    }
}

/// The proxy's address (`http://127.0.0.1:<port>`), started once per process.
pub fn proxy_url() -> anyhow::Result<String> {
    static PORT: OnceLock<Result<u16, String>> = OnceLock::new();
    let port = PORT
        .get_or_init(|| start().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    Ok(format!("http://127.0.0.1:{port}"))
}

fn start() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("cluster-network".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = std::thread::Builder::new()
                    .name("cluster-network-conn".into())
                    .spawn(move || serve(conn));
            }
        })?;
    Ok(port)
}

/// `host:port` → the local port serving it, through the registered namespaces.
pub fn resolve(authority: &str) -> Option<u16> {
    let resolvers: Vec<(String, Resolver)> = resolvers()
        .lock()
        .ok()?
        .iter()
        .map(|(ns, r)| (ns.clone(), Arc::clone(r)))
        .collect();
    for (ns, resolver) in resolvers {
        let mut local = |t: &Target| resolver(t);
        let mapped = map_addresses(authority, &ns, &[], &mut local);
        if let Some(port) = mapped
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
        {
            return Some(port);
        }
    }
    None
}

/// The request head split: method, `host:port`, origin-form path, version, header lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub authority: String,
    pub path: String,
    pub version: String,
    pub headers: Vec<String>,
}

/// Parses an absolute-form proxy request head (`GET http://host:port/path HTTP/1.1`).
pub fn parse_head(head: &str) -> Option<Head> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target, version) = (first.next()?, first.next()?, first.next()?);
    let rest = target.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let name = l.split(':').next().unwrap_or_default().to_ascii_lowercase();
            !matches!(
                name.as_str(),
                "connection" | "proxy-connection" | "keep-alive" | "proxy-authorization"
            )
        })
        .map(str::to_owned)
        .collect();
    Some(Head {
        method: method.to_owned(),
        authority,
        path: path.to_owned(),
        version: version.to_owned(),
        headers,
    })
}

fn refuse(mut conn: TcpStream, status: &str) {
    let _ = conn.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    );
}

fn serve(mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return refuse(conn, "431 Request Header Fields Too Large");
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let Some(head) = std::str::from_utf8(&buf[..end]).ok().and_then(parse_head) else {
        return refuse(conn, "400 Bad Request");
    };
    let Some(port) = resolve(&head.authority) else {
        return refuse(conn, "502 Bad Gateway");
    };
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", port)) else {
        return refuse(conn, "502 Bad Gateway");
    };
    let mut out = format!("{} {} {}\r\n", head.method, head.path, head.version);
    for h in &head.headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(out.as_bytes()).is_err() || upstream.write_all(&buf[end + 4..]).is_err() {
        return;
    }
    // The rest of the request body upstream, the answer back, until both ends close.
    if let (Ok(mut from_client), Ok(mut to_upstream)) = (conn.try_clone(), upstream.try_clone()) {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_client, &mut to_upstream);
            let _ = to_upstream.shutdown(std::net::Shutdown::Write);
        });
    }
    let _ = std::io::copy(&mut upstream, &mut conn);
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_form_request_is_split_and_its_hop_headers_dropped() {
        let head = parse_head(
            "GET http://cs-node-0.cs-node-headless.ns.svc:3453/metrics HTTP/1.1\r\n\
             Host: cs-node-0.cs-node-headless.ns.svc:3453\r\nProxy-Connection: keep-alive\r\n\
             Connection: keep-alive\r\nAccept: */*",
        )
        .expect("head");
        assert_eq!(
            head,
            Head {
                method: "GET".into(),
                authority: "cs-node-0.cs-node-headless.ns.svc:3453".into(),
                path: "/metrics".into(),
                version: "HTTP/1.1".into(),
                headers: vec![
                    "Host: cs-node-0.cs-node-headless.ns.svc:3453".into(),
                    "Accept: */*".into()
                ],
            }
        );
        assert_eq!(
            parse_head("GET http://x.ns.svc HTTP/1.1")
                .expect("head")
                .authority,
            "x.ns.svc:80"
        );
        assert_eq!(parse_head("CONNECT x.ns.svc:443 HTTP/1.1"), None);
        assert_eq!(parse_head("GET /metrics HTTP/1.1"), None);
    }

    #[test]
    fn registered_namespaces_resolve_and_others_do_not() {
        register(
            "net-test",
            Arc::new(|t: &Target| match t {
                Target::Pod(p, 3453) if p == "cs-node-0" => Some(4100),
                Target::Service(s) if s == "cs-auth" => Some(4101),
                _ => None,
            }),
        );
        assert_eq!(
            resolve("cs-node-0.cs-node-headless.net-test.svc:3453"),
            Some(4100)
        );
        assert_eq!(resolve("cs-auth.net-test.svc:8989"), Some(4101));
        assert_eq!(
            resolve("cs-node-1.cs-node-headless.net-test.svc:3453"),
            None
        );
        assert_eq!(resolve("cs-auth.other.svc:8989"), None);
        unregister("net-test");
        assert_eq!(resolve("cs-auth.net-test.svc:8989"), None);
    }
}
