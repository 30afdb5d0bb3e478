//! `venus-miner init`: ask the node which network it is on (checked against `--nettype`),
//! derive the timings from its block delay, and write `<repo>/config.toml`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use venus_api::full_node as node_api;
use venus_types::network::NetworkKind;

use crate::config::{Config, Endpoint, GatewaySection, SlashFilterType, propagation_delay_for};
use crate::repo;
use crate::upstream::Upstream;

#[derive(Debug, Clone)]
pub struct InitOptions {
    pub api: String,
    pub token: String,
    pub auth_api: String,
    pub gateway_api: Vec<String>,
    pub nettype: Option<String>,
    pub slash_filter: SlashFilterType,
    pub mysql_conn: Option<String>,
    /// `host:port` (the original's form) or a multiaddr.
    pub listen: String,
}

/// A network name as `--nettype` takes it (`nerpanet`, `2k`, `calibnet`, …).
fn parse_nettype(s: &str) -> Option<NetworkKind> {
    NetworkKind::from_str(s).ok().or_else(|| {
        s.strip_suffix("net")
            .and_then(|b| NetworkKind::from_str(b).ok())
    })
}

/// `--nettype` against the node's `StateNetworkName`: the same network, or an error naming both.
pub fn check_nettype(nettype: &str, node_network: &str) -> anyhow::Result<()> {
    let Some(wanted) = parse_nettype(nettype) else {
        bail!(
            "unknown --nettype {nettype:?}: expected mainnet, 2k, calibnet, nerpanet, interopnet, forcenet or butterflynet"
        );
    };
    let matches = match parse_nettype(node_network) {
        Some(kind) => kind == wanted,
        None => node_network.eq_ignore_ascii_case(nettype),
    };
    if !matches {
        bail!(
            "--nettype {nettype} does not match the node's network {node_network:?} (StateNetworkName): point --api at a node of that network, or fix --nettype"
        );
    }
    Ok(())
}

/// The listen address as a multiaddr (`127.0.0.1:12308` → `/ip4/127.0.0.1/tcp/12308`).
pub fn listen_multiaddr(listen: &str) -> anyhow::Result<String> {
    let addr = venus_rpc::process::parse_listen(listen)?;
    Ok(if listen.starts_with('/') {
        listen.to_owned()
    } else {
        venus_rpc::process::socket_to_multiaddr(addr)
    })
}

/// MinerOnceTimeout for a block delay: sophon-miner's 15 s on 30 s networks, 2.8 s on 4 s
/// (2k) networks, 70 % of the delay in general.
fn once_timeout_for(block_delay_secs: u64) -> String {
    if block_delay_secs >= 30 {
        return "15s".into();
    }
    let ms = Duration::from_secs(block_delay_secs).as_millis() * 7 / 10;
    format!("{}ms", ms.max(500))
}

pub async fn init(repo_dir: &Path, o: InitOptions) -> anyhow::Result<()> {
    let config_path = repo::config_path(repo_dir);
    if config_path.exists() {
        bail!(
            "repo {} is already initialised ({} exists)",
            repo_dir.display(),
            config_path.display()
        );
    }
    if o.gateway_api.iter().all(|g| g.trim().is_empty()) {
        bail!("--gateway-api is required (a gateway multiaddr; repeat it for several)");
    }
    if o.slash_filter == SlashFilterType::Mysql && o.mysql_conn.as_deref().unwrap_or("").is_empty()
    {
        bail!("--slash-filter mysql needs --mysql-conn <dsn>");
    }
    venus_auth_client::parse_auth_addr(&o.auth_api)
        .map_err(|e| anyhow::anyhow!("--auth-api {:?}: {e}", o.auth_api))?;
    let listen = listen_multiaddr(&o.listen).context("--listen")?;

    let node = Upstream::new(&o.api, &o.token, "v1", Duration::from_secs(15));
    let version = node
        .call(node_api::VERSION, ())
        .await
        .with_context(|| format!("asking the node at --api {} for its version", node.addr()))?;
    crate::daemon::check_api_version(version.api_version)?;
    let network = node
        .call(node_api::STATE_NETWORK_NAME, ())
        .await
        .context("StateNetworkName")?;
    let params = node
        .call(node_api::STATE_GET_NETWORK_PARAMS, ())
        .await
        .context("StateGetNetworkParams")?;
    if let Some(n) = &o.nettype {
        check_nettype(n, &network)?;
    }

    let mut cfg = Config {
        propagation_delay_secs: propagation_delay_for(params.block_delay_secs),
        miner_once_timeout: once_timeout_for(params.block_delay_secs),
        full_node: Endpoint {
            addr: o.api.clone(),
            token: o.token.clone(),
        },
        gateway: GatewaySection {
            listen_api: o.gateway_api.clone(),
            token: o.token.clone(),
        },
        auth: Endpoint {
            addr: o.auth_api.clone(),
            token: o.token.clone(),
        },
        ..Config::default()
    };
    cfg.api.listen_address = listen;
    cfg.slash_filter.kind = o.slash_filter;
    if let Some(c) = o.mysql_conn {
        cfg.slash_filter.mysql.conn = c;
    }
    cfg.validate()?;
    let created = !repo_dir.exists();
    std::fs::create_dir_all(repo_dir)
        .with_context(|| format!("creating repo {}", repo_dir.display()))?;
    // The file holds tokens: written owner-only.
    let text = toml::to_string_pretty(&cfg).context("encoding the config")?;
    if let Err(e) = repo::write_private(&config_path, &text) {
        if created {
            let _ = std::fs::remove_dir_all(repo_dir);
        }
        return Err(e);
    }
    println!(
        "venus-miner repo initialised at {} (network {network}, block delay {} s, PropagationDelaySecs {})",
        repo_dir.display(),
        params.block_delay_secs,
        cfg.propagation_delay_secs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nettype_is_checked_against_the_nodes_network() {
        assert!(check_nettype("2k", "localnet-abc").is_ok());
        assert!(check_nettype("nerpanet", "nerpa").is_ok());
        assert!(check_nettype("calibnet", "calibrationnet").is_ok());
        let e = check_nettype("mainnet", "localnet-abc")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mainnet") && e.contains("localnet-abc"), "{e}");
        let e = check_nettype("moonnet", "mainnet").unwrap_err().to_string();
        assert!(e.contains("unknown --nettype"), "{e}");
    }

    #[test]
    fn listen_takes_host_port_or_multiaddr() {
        assert_eq!(
            listen_multiaddr("127.0.0.1:12308").unwrap(),
            "/ip4/127.0.0.1/tcp/12308"
        );
        assert_eq!(
            listen_multiaddr("/ip4/0.0.0.0/tcp/1").unwrap(),
            "/ip4/0.0.0.0/tcp/1"
        );
        assert!(listen_multiaddr("nonsense").is_err());
    }

    #[test]
    fn timeouts_follow_the_block_delay() {
        assert_eq!(once_timeout_for(30), "15s");
        assert_eq!(once_timeout_for(4), "2800ms");
    }
}
