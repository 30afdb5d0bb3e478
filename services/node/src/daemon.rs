//! `venus daemon`: open or initialise the repo, set up the token chain, serve the API,
//! `/livez`, `/readyz`, `/healthz` and `/metrics`, and shut down cleanly on SIGINT/SIGTERM.

use anyhow::{Context as _, bail};

use crate::auth;
use crate::cli::{Cli, DaemonArgs};
use crate::config::{self, Config};
use crate::network::Network;
use crate::node::{GenesisSource, Node};
use crate::repo::{CONFIG_FILE, Repo};

/// Everything `run` decided before serving: validated once, so the server cannot meet a
/// bad flag later.
#[derive(Debug, Clone)]
pub struct Settings {
    pub network: Network,
    pub listen: std::net::SocketAddr,
    pub auth_url: Option<String>,
    pub auth_token: Option<String>,
    pub net: NetSettings,
}

/// What the flags and config say about libp2p.
#[derive(Debug, Clone, Default)]
pub struct NetSettings {
    /// `--offline`: no libp2p.
    pub offline: bool,
    /// `--swarmlisten`, else `swarm.address`.
    pub listen: String,
    /// `bootstrap.addresses` followed by `--bootstrap-peers`.
    pub bootstrap: Vec<String>,
    /// `swarm.protectedPeers`.
    pub protected: Vec<String>,
    /// `--libp2p-key-file`: the identity to load instead of `<repo>/libp2p.key`.
    pub identity: Option<std::path::PathBuf>,
}

/// What `settle` decided: the settings, the effective config, and the config to save in the
/// repo once the node has started.
#[derive(Debug, Clone)]
pub struct Settled {
    pub settings: Settings,
    /// `--config <path>` (or `<repo>/config.json`) with the flags applied.
    pub config: Config,
    /// What goes to `<repo>/config.json`: the effective config when it was read from there;
    /// with `--config`, the repo's own file with the network recorded (the given file is
    /// never written, and flags such as the auth token are not copied into the repo). `None`
    /// when `--config` names the repo's own file.
    pub repo_config: Option<Config>,
}

/// Validate flags against the config. The network is the one recorded in the repo (or in the
/// `--config` file), else `--network`.
pub fn settle(repo: &Repo, args: &DaemonArgs) -> anyhow::Result<Settled> {
    let mut repo_cfg = repo.load_config()?;
    let mut cfg = match &args.config {
        Some(path) => Config::load(path)?,
        None => repo_cfg.clone(),
    };
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
    if args.make_genesis.is_some() && args.genesisfile.is_some() {
        bail!("--make-genesis and --genesisfile exclude each other");
    }
    if args.make_genesis.is_some() && args.import_snapshot.is_some() {
        bail!("--make-genesis and --import-snapshot exclude each other");
    }
    let network = match (repo_cfg.network().or(cfg.network()), flag_network) {
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
    repo_cfg.parameters.network_type = network.params().network_type;
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
    let mut bootstrap = cfg.bootstrap.addresses.clone();
    bootstrap.extend(args.bootstrap_peers.iter().filter_map(|a| nonempty(a)));
    let net = NetSettings {
        offline: args.offline,
        listen: args
            .swarmlisten
            .clone()
            .unwrap_or_else(|| cfg.swarm.address.clone()),
        bootstrap,
        protected: cfg.swarm.protected_peers.clone(),
        identity: args.libp2p_key_file.clone(),
    };
    #[cfg(feature = "chain")]
    if !net.offline {
        crate::net::NetPlan::new(&net)?;
    }
    let settings = Settings {
        network,
        listen,
        auth_url: nonempty(&cfg.api.venus_auth_url),
        auth_token: nonempty(&cfg.api.venus_auth_token),
        net,
    };
    let repo_config = match &args.config {
        None => Some(cfg.clone()),
        Some(path) if same_file(path, &repo.path(CONFIG_FILE)) => None,
        Some(_) => Some(repo_cfg),
    };
    Ok(Settled {
        settings,
        config: cfg,
        repo_config,
    })
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The chain source the flags name.
fn genesis_source(args: &DaemonArgs) -> GenesisSource<'_> {
    match (
        &args.import_snapshot,
        &args.genesisfile,
        &args.make_genesis,
        &args.genesis_template,
    ) {
        (Some(car), genesis, _, _) => GenesisSource::Snapshot {
            car,
            genesis: genesis.as_deref(),
        },
        (None, Some(car), _, _) => GenesisSource::Car(car),
        (None, None, Some(car_out), Some(template)) => {
            GenesisSource::Template { template, car_out }
        }
        _ => GenesisSource::Default,
    }
}

pub async fn run(cli: &Cli, args: DaemonArgs) -> anyhow::Result<()> {
    venus_rpc::observe::init_tracing(&args.log_level).map_err(anyhow::Error::msg)?;
    let repo = Repo::new(
        &cli.repo
            .clone()
            .unwrap_or_else(crate::repo::default_repo_path),
    );
    repo.ensure_dirs()?;
    let Settled {
        settings,
        repo_config,
        ..
    } = settle(&repo, &args)?;
    if let Some(path) = &args.config {
        tracing::info!(path = %path.display(), "config read from --config (never written)");
    }
    // Addresses render with the network's prefix (`f` on mainnet, `t` elsewhere).
    fvm_shared::address::set_current_network(settings.network.params().address_network);
    let node_auth = auth::build(settings.auth_url.as_deref(), settings.auth_token.as_deref())
        .map_err(anyhow::Error::msg)?;
    // Recorded only once the chain opened: a failed init leaves the repo as it was.
    let node = Node::open(&repo, settings.network, genesis_source(&args))?;
    if let Some(cfg) = &repo_config {
        repo.save_config(cfg)?;
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
    let maddr = venus_rpc::process::socket_to_multiaddr(bound);
    repo.write_api(&maddr)?;
    repo.write_token(&node_auth.local_token)?;
    if !settings.network.params().is_local {
        tracing::warn!(network = %settings.network, "public network: the node is only synced through its peers and says so while none is reachable");
    }
    start_network(&node, &repo, &settings.net).await?;
    println!("API server listening on {maddr}");
    tracing::info!(network = %settings.network, api = %maddr, "venus daemon started");
    let result = venus_rpc::serve(listener, app, venus_rpc::process::shutdown_signal()).await;
    repo.remove_runtime_files();
    result.context("API server failed")?;
    tracing::info!("venus daemon stopped");
    Ok(())
}

/// libp2p and sync, unless `--offline` (or a build without the chain).
#[cfg(feature = "chain")]
async fn start_network(
    node: &std::sync::Arc<Node>,
    repo: &Repo,
    net: &NetSettings,
) -> anyhow::Result<()> {
    if net.offline {
        println!("Filecoin node running in offline mode (libp2p is disabled)");
        return Ok(());
    }
    crate::net::start(node, repo, crate::net::NetPlan::new(net)?).await?;
    Ok(())
}

#[cfg(not(feature = "chain"))]
async fn start_network(
    _node: &std::sync::Arc<Node>,
    _repo: &Repo,
    _net: &NetSettings,
) -> anyhow::Result<()> {
    println!("Filecoin node running in offline mode (libp2p is disabled)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::Command;

    fn daemon_args(args: &[&str]) -> DaemonArgs {
        let cli = Cli::try_parse_from([&["venus", "daemon"], args].concat()).expect("flags");
        match cli.command {
            Command::Daemon(a) => a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn config_flag_is_read_and_the_repo_keeps_only_the_network() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::new(&dir.path().join("repo"));
        repo.ensure_dirs().expect("repo");
        let mounted = dir.path().join("config.json");
        std::fs::write(
            &mounted,
            r#"{"api":{"apiAddress":"/ip4/127.0.0.1/tcp/4567"},"mpool":{"maxNonceGap":7}}"#,
        )
        .expect("write");
        let config = format!("--config={}", mounted.display());
        let s = settle(
            &repo,
            &daemon_args(&["--network=2k", &config, "--auth-token=secret-token"]),
        )
        .expect("settle");
        assert_eq!(s.settings.network, Network::TwoK);
        assert_eq!(s.settings.listen.port(), 4567);
        assert_eq!(s.config.mpool.max_nonce_gap, 7);
        assert_eq!(s.settings.auth_token.as_deref(), Some("secret-token"));
        let kept = s.repo_config.expect("the repo keeps a config");
        assert_eq!(kept.parameters.network_type, 2);
        assert_eq!(kept.api.api_address, config::DEFAULT_API_ADDRESS);
        assert!(kept.api.venus_auth_token.is_empty(), "no token copied");
        assert_eq!(kept.mpool.max_nonce_gap, 100);

        // Once the repo recorded 2k, a --config saying otherwise does not change it.
        repo.save_config(&kept).expect("save");
        std::fs::write(&mounted, r#"{"parameters":{"networkType":4}}"#).expect("write");
        let s = settle(&repo, &daemon_args(&[&config])).expect("settle");
        assert_eq!(s.settings.network, Network::TwoK);

        // --config naming the repo's own file: nothing to write back.
        let own = format!("--config={}", repo.path(CONFIG_FILE).display());
        let s = settle(&repo, &daemon_args(&[&own])).expect("settle");
        assert!(s.repo_config.is_none());

        // Without --config the effective config (flags included) is the repo's, as venus.
        let s = settle(&repo, &daemon_args(&["--auth-token=t"])).expect("settle");
        let kept = s.repo_config.expect("repo config");
        assert_eq!(kept.api.venus_auth_token, "t");
    }

    #[test]
    fn contradictory_chain_flags_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::new(dir.path());
        let e = settle(
            &repo,
            &daemon_args(&[
                "--make-genesis=g.car",
                "--genesis-template=t.json",
                "--import-snapshot=s.car",
            ]),
        )
        .expect_err("contradictory");
        assert!(e.to_string().contains("exclude each other"), "{e}");
        let a = daemon_args(&["--import-snapshot=s.car", "--genesisfile=g.car"]);
        assert!(matches!(
            genesis_source(&a),
            GenesisSource::Snapshot {
                genesis: Some(_),
                ..
            }
        ));
        let a = daemon_args(&["--genesisfile=g.car"]);
        assert!(matches!(genesis_source(&a), GenesisSource::Car(_)));
    }
}
