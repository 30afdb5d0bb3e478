//! `venus-gateway`: `run` the gateway, or inspect a running one (`wallet …`, `miner …`,
//! `market …`).

// mimalloc: the per-request allocations of the HTTP/JSON-RPC path cost a third less CPU
// than with glibc malloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use venus_api::gateway as api;
use venus_auth_client::AuthClient;
use venus_gateway::config::{Config, DEFAULT_LISTEN};
use venus_gateway::directory::{AuthDirectory, Directory, NoAuthToken};
use venus_gateway::metrics::GatewayMetrics;
use venus_gateway::proxy::{self, HostKey, Proxy, ProxyHook};
use venus_gateway::{api as routes, service::Gateway};
use venus_rpc::observe::{Health, Metrics};
use venus_rpc::{ChainVerifier, LocalVerifier, Permission, TokenVerifier};

#[derive(Parser)]
#[command(
    name = "venus-gateway",
    version,
    about = "Routes sign and proof requests to the wallets and provers connected to it"
)]
struct Cli {
    /// API listen address (multiaddr); overrides `[API] ListenAddress`.
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Repository directory (config.toml, token).
    #[arg(
        long,
        global = true,
        env = "VENUS_GATEWAY_PATH",
        default_value = "~/.venus-gateway"
    )]
    repo: String,
    /// Config file to read instead of <repo>/config.toml; it must exist and is never written
    /// (e.g. a mounted ConfigMap).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway.
    Run(RunArgs),
    /// Connected wallets.
    #[command(subcommand)]
    Wallet(WalletCmd),
    /// Connected provers, by miner.
    #[command(subcommand)]
    Miner(MinerCmd),
    /// Connected markets, by miner.
    #[command(subcommand)]
    Market(MarketCmd),
    /// The header reverse proxy's targets.
    #[command(subcommand)]
    Proxy(ProxyCmd),
}

#[derive(Subcommand)]
enum ProxyCmd {
    /// Set (or with no --url, remove) the target of a host key on the running gateway.
    Set {
        /// VENUS, MESSAGER, MINER, DROPLET or AUTH.
        #[arg(long = "type")]
        host_key: String,
        /// URL or multiaddr of the component; empty removes the target.
        #[arg(long, default_value = "")]
        url: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// venus-auth URL (http:// or https://); overrides `[Auth] URL`.
    #[arg(long)]
    auth_url: Option<String>,
    /// venus-auth admin token for the gateway's own calls; overrides `[Auth] Token`.
    #[arg(long, env = "VENUS_GATEWAY_AUTH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
    /// Accepted for compatibility; Jaeger tracing is not implemented.
    #[arg(long, env = "SOPHON_GATEWAY_JAEGER_PROXY", hide = true)]
    jaeger_proxy: Option<String>,
    #[arg(long, hide = true)]
    trace_sampler: Option<f64>,
    #[arg(long, hide = true)]
    trace_node_name: Option<String>,
    #[arg(long, hide = true)]
    rate_limit_redis: Option<String>,
    /// Log level (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log_level: String,
}

#[derive(Subcommand)]
enum WalletCmd {
    /// Every connected wallet account with its connections (JSON).
    List,
    /// One wallet account (JSON).
    State { account: String },
    /// Wallet accounts that serve `account`.
    ListSupport { account: String },
}

#[derive(Subcommand)]
enum MinerCmd {
    /// Miners with a prover connected.
    List,
    /// Prover connections of one miner (JSON).
    State { miner: String },
}

#[derive(Subcommand)]
enum MarketCmd {
    /// Every miner with a market connected, and its connections (JSON).
    List,
}

fn main() -> ExitCode {
    venus_rpc::process::run_main("venus-gateway", dispatch(Cli::parse()))
}

/// Where the config comes from: `--config` (read only) or `<repo>/config.toml`.
struct Source<'a> {
    repo: &'a Path,
    file: Option<&'a Path>,
}

impl Source<'_> {
    /// The config, and whether `<repo>/config.toml` should be written (first run without
    /// `--config`).
    fn load(&self) -> anyhow::Result<(Config, bool)> {
        match self.file {
            Some(path) => Ok((Config::load_file(path)?, false)),
            None => {
                let (cfg, existed) = Config::load(self.repo)?;
                Ok((cfg, !existed))
            }
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let repo = venus_rpc::process::expand_home(&cli.repo);
    let config = cli
        .config
        .as_deref()
        .map(|p| venus_rpc::process::expand_home(&p.to_string_lossy()));
    let source = Source {
        repo: &repo,
        file: config.as_deref(),
    };
    match cli.command {
        Command::Run(args) => run(&source, cli.listen, args).await,
        Command::Wallet(cmd) => wallet_cmd(&source, cli.listen, cmd).await,
        Command::Miner(cmd) => miner_cmd(&source, cli.listen, cmd).await,
        Command::Market(MarketCmd::List) => {
            let c = client(&source, cli.listen).await?;
            print_json(&c.call(api::LIST_MARKET_CONNECTIONS_STATE, ()).await?)
        }
        Command::Proxy(ProxyCmd::Set { host_key, url }) => {
            let c = client(&source, cli.listen).await?;
            c.call(api::REGISTER_REVERSE, (host_key, url)).await?;
            Ok(())
        }
    }
}

/// Where the gateway finds venus-auth's admin token when none is configured: the seed runs
/// `venus-gateway run --auth-url …` with no token, next to venus-auth on the same host.
fn local_auth_token() -> Option<(PathBuf, String)> {
    let repo = std::env::var_os("SOPHON_AUTH_PATH")
        .or_else(|| std::env::var_os("VENUS_AUTH_PATH"))
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".venus-auth")))?;
    let path = repo.join("token");
    let token = std::fs::read_to_string(&path).ok()?.trim().to_owned();
    (!token.is_empty()).then_some((path, token))
}

async fn run(source: &Source<'_>, listen: Option<String>, args: RunArgs) -> anyhow::Result<()> {
    venus_rpc::observe::init_tracing(&args.log_level).map_err(anyhow::Error::msg)?;
    let repo = source.repo;
    std::fs::create_dir_all(repo).with_context(|| format!("creating repo {}", repo.display()))?;
    let (mut cfg, write_config) = source.load()?;
    if let Some(l) = listen {
        cfg.api.listen_address = l;
    }
    if let Some(u) = args.auth_url {
        cfg.auth.url = u;
    }
    if let Some(t) = args.auth_token {
        cfg.auth.token = t;
    }
    let addr = cfg.validate()?;
    if write_config {
        cfg.save(repo)?;
    }
    for section in cfg.ignored_sections() {
        tracing::warn!(
            section,
            "config section accepted for compatibility but not implemented; ignored"
        );
    }
    if args.jaeger_proxy.is_some()
        || args.rate_limit_redis.is_some()
        || args.trace_sampler.is_some()
        || args.trace_node_name.is_some()
    {
        tracing::warn!(
            "--jaeger-proxy/--trace-*/--rate-limit-redis are accepted for compatibility and ignored"
        );
    }

    let mut auth_token = cfg.auth.token.clone();
    if auth_token.is_empty()
        && let Some((path, token)) = local_auth_token()
    {
        tracing::info!(path = %path.display(), "no --auth-token given: using venus-auth's local admin token file");
        auth_token = token;
    }
    // The local admin token, rewritten each start as the original.
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let local = Arc::new(LocalVerifier::new(secret.to_vec()));
    write_token(repo, &local.issue("defaultLocalToken", Permission::Admin))?;

    let (directory, verifier): (Arc<dyn Directory>, Arc<dyn TokenVerifier>) = if auth_token
        .is_empty()
    {
        tracing::warn!(
            "no venus-auth token: set --auth-token or [Auth] Token (an admin token of venus-auth). Until then only this \
             gateway's local token (<repo>/token) is accepted, and wallet and prover registrations are refused because \
             accounts and miners cannot be checked with venus-auth"
        );
        (Arc::new(NoAuthToken), local)
    } else {
        let auth =
            Arc::new(AuthClient::new(&cfg.auth.url, auth_token).context("venus-auth client")?);
        let chain: Vec<Arc<dyn TokenVerifier>> = vec![local, auth.clone()];
        (
            Arc::new(AuthDirectory(auth)),
            Arc::new(ChainVerifier::new(chain)),
        )
    };

    let metrics = Metrics::new();
    let gw = Gateway::new(
        directory,
        cfg.request.clone(),
        GatewayMetrics::register(&metrics),
    );
    let proxy = Arc::new(Proxy::new().map_err(anyhow::Error::msg)?);
    for (key, target) in [
        (HostKey::Node, &cfg.node),
        (HostKey::Messager, &cfg.messager),
        (HostKey::Miner, &cfg.miner),
        (HostKey::Droplet, &cfg.droplet),
    ] {
        if let Some(address) = target.as_deref().filter(|a| !a.trim().is_empty()) {
            proxy.register(key, address).map_err(anyhow::Error::msg)?;
        }
    }
    // venus-auth's URL serves the proxy too, as the original; a bad one is already reported
    // by the venus-auth client (or unused without a token), so it does not stop the gateway.
    if let Err(e) = proxy.register(HostKey::Auth, &cfg.auth.url) {
        tracing::warn!(error = %e, "[Auth] URL is not a proxy target");
    }
    let mut v2_routes = routes::v2(&gw);
    let mut v1_routes = routes::v1(&gw);
    proxy::register_methods(&mut v2_routes, &proxy);
    proxy::register_methods(&mut v1_routes, &proxy);
    let v2 = venus_rpc::Server::new(v2_routes, verifier.clone())
        .paths(&["/rpc/v2"])
        .metrics(&metrics)
        .into_app();
    let v1 = venus_rpc::Server::new(v1_routes, verifier)
        .paths(&["/rpc/v1"])
        .metrics(&metrics)
        .into_app();
    let health = Health::new()
        .live("rpc", || async { Ok::<(), String>(()) })
        .router();
    let app = v2
        .merge(v1)
        .merge(
            metrics
                .router()
                .merge(health)
                .route("/healthcheck", axum::routing::get(|| async { "ok" })),
        )
        // Ahead of every route: a request for another component's API is forwarded.
        .pre_route(ProxyHook(proxy));

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr()?;
    let config_path = source
        .file
        .map_or_else(|| repo.join("config.toml"), Path::to_path_buf);
    tracing::info!(listen = %bound, auth = %cfg.auth.url, repo = %repo.display(), config = %config_path.display(), "venus-gateway serving /rpc/v2 and /rpc/v1");
    venus_rpc::serve(listener, app, venus_rpc::process::shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("venus-gateway stopped");
    Ok(())
}

fn write_token(repo: &Path, token: &str) -> anyhow::Result<()> {
    let path = repo.join("token");
    std::fs::write(&path, token).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}

/// A client of the running gateway, from the config and the repo's token.
async fn client(source: &Source<'_>, listen: Option<String>) -> anyhow::Result<venus_rpc::Client> {
    let (cfg, _) = source.load()?;
    let repo = source.repo;
    let listen = listen.unwrap_or_else(|| {
        if cfg.api.listen_address.is_empty() {
            DEFAULT_LISTEN.into()
        } else {
            cfg.api.listen_address.clone()
        }
    });
    let listen = listen.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/");
    let token_path = repo.join("token");
    let token = std::fs::read_to_string(&token_path).with_context(|| {
        format!(
            "reading {} (is the gateway running with this --repo?)",
            token_path.display()
        )
    })?;
    venus_rpc::Client::builder(&listen)
        .version("v2")
        .token(Some(token.trim().to_owned()))
        .connect()
        .await
        .with_context(|| format!("connecting to the gateway at {listen}"))
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn wallet_cmd(
    source: &Source<'_>,
    listen: Option<String>,
    cmd: WalletCmd,
) -> anyhow::Result<()> {
    let c = client(source, listen).await?;
    match cmd {
        WalletCmd::List => print_json(&c.call(api::LIST_WALLET_INFO, ()).await?),
        WalletCmd::State { account } => {
            print_json(&c.call(api::LIST_WALLET_INFO_BY_WALLET, (account,)).await?)
        }
        WalletCmd::ListSupport { account } => {
            let all = c.call(api::LIST_WALLET_INFO, ()).await?;
            let serving: Vec<_> = all
                .into_iter()
                .filter(|w| w.account == account || w.support_accounts.contains(&account))
                .collect();
            if serving.is_empty() {
                bail!("no connected wallet serves account {account}");
            }
            print_json(&serving)
        }
    }
}

async fn miner_cmd(
    source: &Source<'_>,
    listen: Option<String>,
    cmd: MinerCmd,
) -> anyhow::Result<()> {
    let c = client(source, listen).await?;
    match cmd {
        MinerCmd::List => {
            for m in c.call(api::LIST_CONNECTED_MINERS, ()).await? {
                println!("{m}");
            }
            Ok(())
        }
        MinerCmd::State { miner } => {
            let miner = miner
                .parse()
                .map_err(|e| anyhow::anyhow!("invalid miner address {miner:?}: {e}"))?;
            print_json(&c.call(api::LIST_MINER_CONNECTION, (miner,)).await?)
        }
    }
}
