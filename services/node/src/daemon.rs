//! `venus daemon`: open or initialise the repo, set up the token chain, serve the API,
//! `/livez`, `/readyz`, `/healthz` and `/metrics`, and shut down cleanly on SIGINT/SIGTERM.

use anyhow::{Context as _, bail};

use crate::auth;
use crate::cli::{Cli, DaemonArgs};
use crate::config::{self, Config};
use crate::network::Network;
use crate::node::{GenesisSource, Node};
use crate::repo::Repo;

/// Everything `run` decided before serving: validated once, so the server cannot meet a
/// bad flag later.
#[derive(Debug, Clone)]
pub struct Settings {
    pub network: Network,
    pub listen: std::net::SocketAddr,
    pub auth_url: Option<String>,
    pub auth_token: Option<String>,
}

/// Validate flags against the repo's config; on first run record the network in config.json.
pub fn settle(repo: &Repo, args: &DaemonArgs) -> anyhow::Result<(Settings, Config)> {
    let mut cfg = repo.load_config()?;
    let flag_network = match &args.network {
        Some(n) => Some(n.parse::<Network>()?),
        None => None,
    };
    if args.make_genesis.is_some() && args.genesis_template.is_none() {
        bail!("must also pass file with genesis template to `--genesis-template`");
    }
    if args.genesis_template.is_some() && args.make_genesis.is_none() {
        bail!("--genesis-template needs --make-genesis <out.car>");
    }
    if args.genesisfile.is_some() || args.import_snapshot.is_some() {
        bail!(
            "--genesisfile and --import-snapshot need CAR import, which venus-chain does not provide yet"
        );
    }
    if args.make_genesis.is_some() && args.genesisfile.is_some() {
        bail!("--make-genesis and --genesisfile exclude each other");
    }
    let network = match (cfg.network(), flag_network) {
        (Some(recorded), Some(flag)) if recorded != flag => {
            tracing::warn!(%recorded, requested = %flag, "repo is already initialised for another network; using the recorded one");
            recorded
        }
        (Some(recorded), _) => recorded,
        (None, Some(flag)) => flag,
        // venus HEAD's default.
        (None, None) => Network::Mainnet,
    };
    cfg.parameters.network_type = network.params().network_type;
    if let Some(url) = &args.auth_url {
        cfg.api.venus_auth_url = url.clone();
    }
    if let Some(token) = &args.auth_token {
        cfg.api.venus_auth_token = token.clone();
    }
    let api = args
        .api
        .clone()
        .unwrap_or_else(|| cfg.api.api_address.clone());
    let listen = config::parse_listen_multiaddr(&api)?;
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    let settings = Settings {
        network,
        listen,
        auth_url: nonempty(&cfg.api.venus_auth_url),
        auth_token: nonempty(&cfg.api.venus_auth_token),
    };
    Ok((settings, cfg))
}

pub async fn run(cli: &Cli, args: DaemonArgs) -> anyhow::Result<()> {
    venus_rpc::observe::init_tracing(&args.log_level).map_err(anyhow::Error::msg)?;
    let repo = Repo::new(
        &cli.repo
            .clone()
            .unwrap_or_else(crate::repo::default_repo_path),
    );
    repo.ensure_dirs()?;
    let (settings, cfg) = settle(&repo, &args)?;
    repo.save_config(&cfg)?;
    // Addresses render with the network's prefix (`f` on mainnet, `t` elsewhere).
    fvm_shared::address::set_current_network(settings.network.params().address_network);
    let node_auth = auth::build(settings.auth_url.as_deref(), settings.auth_token.as_deref())
        .map_err(anyhow::Error::msg)?;
    let genesis = match &args.genesis_template {
        Some(t) => GenesisSource::Template(t),
        None => GenesisSource::Default,
    };
    let node = Node::open(&repo, settings.network, genesis)?;
    if let Some(out) = &args.make_genesis {
        tracing::warn!(path = %out.display(), "genesis built into the repo; writing it as a CAR needs venus-chain's CAR export, which does not exist yet");
    }
    if let Some(keyfile) = &args.wallet_keyfile {
        let key = crate::keyfile::read_key_file(keyfile)?;
        let addr = node.keystore.lock().import(key)?;
        tracing::info!(%addr, "imported key into the node's keystore");
    }
    let metrics = venus_rpc::observe::Metrics::new();
    let app = crate::server::app(node.clone(), node_auth.verifier.clone(), &metrics);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let bound = listener.local_addr()?;
    let maddr = config::socket_to_multiaddr(bound);
    repo.write_api(&maddr)?;
    repo.write_token(&node_auth.local_token)?;
    if !settings.network.params().is_local {
        tracing::warn!(network = %settings.network, "public network: no peers are reachable from here; the node serves its genesis and does not claim to be synced");
    }
    println!("Filecoin node running in offline mode (libp2p is disabled)");
    println!("API server listening on {maddr}");
    tracing::info!(network = %settings.network, api = %maddr, "venus daemon started");
    let result = venus_rpc::serve(listener, app, shutdown_signal()).await;
    repo.remove_runtime_files();
    result.context("API server failed")?;
    tracing::info!("venus daemon stopped");
    Ok(())
}

async fn shutdown_signal() {
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
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
