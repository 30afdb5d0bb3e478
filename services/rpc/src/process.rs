//! What every service binary does around its server: a runtime with a readable exit, the
//! listen address in the forms the originals' flags take, `~` in repo paths, and SIGINT/SIGTERM.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run `main` on a multi-threaded runtime; an error is printed as `<name>: <error chain>` and
/// the process exits non-zero — never a panic backtrace for bad input.
pub fn run_main<F>(name: &str, main: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Write a file that holds a secret (a config with a token, a key): mode 0600 from the
/// moment it exists (a temp file in the same directory, synced, then renamed over `path`),
/// so neither a crash nor another local user ever sees it partly written or readable.
pub fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| {
        let mut f = options.open(&tmp)?;
        // A temp file left by a crashed run may have had another mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `~/x` → `$HOME/x`, as the Go originals expand their `--repo` defaults.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map_or_else(|| PathBuf::from(path), |h| PathBuf::from(h).join(rest)),
        None if path == "~" => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from(path), PathBuf::from)
        }
        None => PathBuf::from(path),
    }
}

/// Resolves when the process gets SIGINT (Ctrl-C) or SIGTERM (Kubernetes stopping the pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// A listen address that could not be used: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid listen address {addr:?}: {reason}")]
pub struct ListenError {
    pub addr: String,
    pub reason: String,
}

/// A listen address as the originals' `--listen` flags take it: a multiaddr (`/ip4/H/tcp/P`,
/// `/ip6/…`, `/dns/…`, optionally ending in `/http` or `/ws`) or a plain `host:port`.
pub fn parse_listen(addr: &str) -> Result<SocketAddr, ListenError> {
    let err = |reason: &str| ListenError {
        addr: addr.to_owned(),
        reason: reason.to_owned(),
    };
    if !addr.starts_with('/') {
        return addr
            .to_socket_addrs()
            .map_err(|e| err(&e.to_string()))?
            .next()
            .ok_or_else(|| err("resolves to no address"));
    }
    let parts: Vec<&str> = addr.trim_end_matches('/').split('/').skip(1).collect();
    let (proto, host, tcp, port, rest) = match parts.as_slice() {
        [proto, host, tcp, port, rest @ ..] => (*proto, *host, *tcp, *port, rest),
        _ => return Err(err("expected /ip4/<host>/tcp/<port>")),
    };
    if tcp != "tcp" {
        return Err(err("only tcp is supported"));
    }
    if !matches!(rest, [] | ["http"] | ["ws"]) {
        return Err(err("only a trailing /http or /ws is supported"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| err("port is not a number 0-65535"))?;
    match proto {
        "ip4" | "ip6" => {
            let ip: IpAddr = host.parse().map_err(|_| err("host is not an IP address"))?;
            if (proto == "ip4") != ip.is_ipv4() {
                return Err(err("address family does not match the protocol"));
            }
            Ok(SocketAddr::new(ip, port))
        }
        "dns" | "dns4" | "dns6" => (host, port)
            .to_socket_addrs()
            .map_err(|e| err(&e.to_string()))?
            .next()
            .ok_or_else(|| err("resolves to no address")),
        _ => Err(err("expected ip4, ip6, dns, dns4 or dns6")),
    }
}

/// The multiaddr form of a bound socket address, as the services write it to `<repo>/api`.
pub fn socket_to_multiaddr(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(a) => format!("/ip4/{a}/tcp/{}", addr.port()),
        IpAddr::V6(a) => format!("/ip6/{a}/tcp/{}", addr.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_even_over_a_readable_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"token = \"secret\"").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "token = \"secret\""
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            parse_listen("/ip4/0.0.0.0/tcp/45132").unwrap(),
            "0.0.0.0:45132".parse().unwrap()
        );
        assert_eq!(
            parse_listen("/ip4/127.0.0.1/tcp/5678/http").unwrap(),
            "127.0.0.1:5678".parse().unwrap()
        );
        assert_eq!(
            parse_listen("/ip6/::1/tcp/1/ws").unwrap(),
            "[::1]:1".parse().unwrap()
        );
        assert_eq!(
            parse_listen("127.0.0.1:8989").unwrap(),
            "127.0.0.1:8989".parse().unwrap()
        );
        assert!(parse_listen("/dns/localhost/tcp/1").is_ok());
    }

    #[test]
    fn bad_listen_addresses_say_what_is_wrong() {
        for (addr, reason) in [
            ("/ip4/0.0.0.0/udp/1", "only tcp"),
            ("/ip4/0.0.0.0/tcp/99999", "port"),
            ("/ip4/::1/tcp/1", "family"),
            ("/ip4/nonsense/tcp/1", "not an IP"),
            ("/ip4/1.2.3.4/tcp/1/quic", "trailing"),
            ("/ip4/1.2.3.4", "expected"),
            ("/unix/x/tcp/1", "expected ip4"),
        ] {
            let e = parse_listen(addr).unwrap_err().to_string();
            assert!(e.contains(reason) && e.contains(addr), "{addr}: {e}");
        }
    }

    #[test]
    fn multiaddr_of_a_socket() {
        assert_eq!(
            socket_to_multiaddr("127.0.0.1:3453".parse().unwrap()),
            "/ip4/127.0.0.1/tcp/3453"
        );
        assert_eq!(
            socket_to_multiaddr("[::1]:1".parse().unwrap()),
            "/ip6/::1/tcp/1"
        );
    }

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home {
            assert_eq!(expand_home("~/.venus"), home.join(".venus"));
        }
        assert_eq!(expand_home("/data/~/x"), PathBuf::from("/data/~/x"));
    }
}
