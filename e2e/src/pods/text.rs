//! What the kubelet and cluster DNS do to a container's strings, done on text: `$(VAR)`
//! expansion, whole-token substitution (mount paths → directories), and in-cluster addresses
//! (`<svc>.<ns>.svc`, `<pod>.<headless>.<ns>.svc`, `0.0.0.0:<port>`) → `127.0.0.1:<local port>`.

use std::collections::BTreeMap;

/// Kubernetes `$(VAR)` expansion: known variables are replaced, `$$` is a literal `$`, and an
/// unknown reference is left as it is.
pub fn expand(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("$(")
            && let Some(end) = inner.find(')')
            && let Some(value) = env.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Single-pass substitution of whole tokens: longest pattern first, and a pattern only
/// matches where the next character cannot continue a name, number or path segment — so a
/// replaced value is never replaced again and `/data` does not match `/database`.
pub struct Rewriter {
    pairs: Vec<(String, String)>,
}

impl Rewriter {
    pub fn new(mut pairs: Vec<(String, String)>) -> Self {
        pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Rewriter { pairs }
    }

    pub fn rewrite(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        'scan: while i < text.len() {
            let rest = &text[i..];
            for (from, to) in &self.pairs {
                if rest.starts_with(from.as_str())
                    && !rest[from.len()..]
                        .chars()
                        .next()
                        .is_some_and(continues_name)
                {
                    out.push_str(to);
                    i += from.len();
                    continue 'scan;
                }
            }
            let Some(c) = rest.chars().next() else { break };
            out.push(c);
            i += c.len_utf8();
        }
        out
    }
}

fn continues_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.')
}

/// An in-cluster host name of `namespace`, split: `<svc>.<ns>.svc` is a Service,
/// `<pod>.<svc>.<ns>.svc` a pod through its headless Service — with the port the address names
/// (a pod's container ports each get their own local port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Service(String),
    Pod(String, i32),
}

/// Replaces every in-cluster address of `namespace` that carries a port — `/dns/<host>/tcp/<p>`
/// (also `/dns4/`), `<host>:<p>` — by 127.0.0.1 and the local port `local` gives for it, and
/// the container's own listen addresses `0.0.0.0:<port>` / `/ip4/0.0.0.0/tcp/<port>` of each
/// `(container port, local port)` in `own` by its local port. Hosts whose `local` is `None` are
/// left as they are.
pub fn map_addresses(
    text: &str,
    namespace: &str,
    own: &[(i32, u16)],
    local: &mut dyn FnMut(&Target) -> Option<u16>,
) -> String {
    let mut text = text.to_owned();
    if !own.is_empty() {
        let mut pairs = Vec::new();
        for (port, mapped) in own {
            pairs.push((
                format!("/ip4/0.0.0.0/tcp/{port}"),
                format!("/ip4/127.0.0.1/tcp/{mapped}"),
            ));
            pairs.push((format!("0.0.0.0:{port}"), format!("127.0.0.1:{mapped}")));
        }
        text = Rewriter::new(pairs).rewrite(&text);
    }
    let suffix = format!(".{namespace}.svc");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&suffix) {
        let host_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| host_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let mut host_end = at + suffix.len();
        if rest[host_end..].starts_with(".cluster.local") {
            host_end += ".cluster.local".len();
        }
        let name = &rest[host_start..at];
        let before = &rest[..host_start];
        let after = &rest[host_end..];
        let multiaddr = ["/dns/", "/dns4/", "/dnsaddr/"]
            .iter()
            .find(|p| before.ends_with(*p));
        let (port_prefix, head) = match multiaddr {
            Some(p) => ("/tcp/", &before[..before.len() - p.len()]),
            None => (":", before),
        };
        let digits = after
            .strip_prefix(port_prefix)
            .map(|a| a.chars().take_while(char::is_ascii_digit).count())
            .unwrap_or(0);
        let port: i32 = after
            .get(port_prefix.len()..port_prefix.len() + digits)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let target = match name.split_once('.') {
            Some((pod, _service)) => Target::Pod(pod.to_owned(), port),
            None => Target::Service(name.to_owned()),
        };
        let mapped = if digits > 0 { local(&target) } else { None };
        match (digits, mapped) {
            (n, Some(port)) if n > 0 => {
                out.push_str(head);
                if multiaddr.is_some() {
                    out.push_str(&format!("/ip4/127.0.0.1/tcp/{port}"));
                } else {
                    out.push_str(&format!("127.0.0.1:{port}"));
                }
                rest = &after[port_prefix.len() + n..];
            }
            _ => {
                out.push_str(&rest[..host_end]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_the_kubelet() {
        let env = BTreeMap::from([("A".to_owned(), "x".to_owned())]);
        assert_eq!(expand("$(A)-$(B)-$$(A)", &env), "x-$(B)-$(A)");
    }

    #[test]
    fn whole_tokens_only() {
        let r = Rewriter::new(vec![("/data".into(), "/tmp/d".into())]);
        assert_eq!(
            r.rewrite("--repo=/data /database"),
            "--repo=/tmp/d /database"
        );
    }

    #[test]
    fn services_pods_and_own_listen_addresses_map_to_local_ports() {
        let mut local = |t: &Target| match t {
            Target::Service(s) if s == "cs-auth" => Some(1001),
            Target::Service(s) if s == "cs-node" => Some(1002),
            Target::Pod(p, 45132) if p == "cs-gateway-1" => Some(1003),
            _ => None,
        };
        let text = "http://cs-auth.ns.svc:8989 /dns/cs-node.ns.svc/tcp/3453 \
                    /dns/cs-gateway-1.cs-gateway-headless.ns.svc/tcp/45132 \
                    /ip4/0.0.0.0/tcp/39812 mysql.ns.svc:3306 other.x.svc:1";
        assert_eq!(
            map_addresses(text, "ns", &[(39812, 2000)], &mut local),
            "http://127.0.0.1:1001 /ip4/127.0.0.1/tcp/1002 /ip4/127.0.0.1/tcp/1003 \
             /ip4/127.0.0.1/tcp/2000 mysql.ns.svc:3306 other.x.svc:1"
        );
    }

    #[test]
    fn each_container_port_of_a_pod_has_its_own_local_port() {
        let mut local = |t: &Target| match t {
            Target::Pod(p, 3453) if p == "cs-node-1" => Some(1001),
            Target::Pod(p, 1347) if p == "cs-node-1" => Some(1002),
            _ => None,
        };
        let text = "/dns4/cs-node-1.cs-node-headless.ns.svc.cluster.local/tcp/1347/p2p/12D3KooW,\
                    /dns4/cs-node-1.cs-node-headless.ns.svc/tcp/3453 /ip4/0.0.0.0/tcp/1347 \
                    /ip4/0.0.0.0/tcp/3453";
        assert_eq!(
            map_addresses(text, "ns", &[(3453, 2000), (1347, 2001)], &mut local),
            "/ip4/127.0.0.1/tcp/1002/p2p/12D3KooW,/ip4/127.0.0.1/tcp/1001 \
             /ip4/127.0.0.1/tcp/2001 /ip4/127.0.0.1/tcp/2000"
        );
    }
}
