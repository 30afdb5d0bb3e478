//! `venus-messager run`: config and flags → store → clients → API server and loops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use venus_api::full_node as api;
use venus_auth_client::AuthClient;
use venus_lease::{Leadership, LeaseBackend, LeaseSettings};
use venus_rpc::observe::{Health, Metrics};
use venus_rpc::{ChainVerifier, LocalVerifier, Permission, TokenVerifier};

use crate::access::Access;
use crate::config::{Config, DbTarget};
use crate::metrics::MessagerMetrics;
use crate::nodes::{NodeEndpoint, NodePool};
use crate::pipeline::{Pipeline, PipelineOptions};
use crate::run::LoopOptions;
use crate::service::Messager;
use crate::store::Store;
use crate::wallets::Wallets;

/// The `run` flags, exactly as the original (and the seed) write them.
#[derive(clap::Args, Debug, Default)]
pub struct RunArgs {
    /// API listen address (multiaddr); overrides `[api] Address`.
    #[arg(long)]
    pub listen: Option<String>,
    /// venus-auth URL; overrides `[jwt] authURL`.
    #[arg(long)]
    pub auth_url: Option<String>,
    /// Main chain node (multiaddr or URL); overrides `[node] url`.
    #[arg(long)]
    pub node_url: Option<String>,
    /// Token for the node; overrides `[node] token` (and --auth-token for the node).
    #[arg(long, hide_env_values = true)]
    pub node_token: Option<String>,
    /// A gateway (repeatable); overrides `[gateway] url`.
    #[arg(long)]
    pub gateway_url: Vec<String>,
    /// Token for the gateways; overrides `[gateway] token`.
    #[arg(long, hide_env_values = true)]
    pub gateway_token: Option<String>,
    /// The shared admin token of venus-auth: sets the node, gateway and venus-auth tokens.
    /// Also read from `VENUS_ADMIN_TOKEN`, which keeps it off the command line (the operator
    /// passes it that way).
    #[arg(long, env = "VENUS_ADMIN_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// `sqlite` or `mysql`; overrides `[db] type`.
    #[arg(long)]
    pub db_type: Option<String>,
    /// MySQL DSN (Go form `user:pw@(host:port)/db?…` or `mysql://…`); read with --db-type=mysql.
    #[arg(long, hide_env_values = true)]
    pub mysql_dsn: Option<String>,
    /// Never select, sign or push, and do not track the chain (one of several instances).
    #[arg(long)]
    pub disable_push: bool,
    /// Accepted for compatibility; per-user rate limits are not implemented.
    #[arg(long, hide = true)]
    pub rate_limit_redis: Option<String>,
    /// Log level (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

impl RunArgs {
    /// Flags over the file, in the original's order (node/gateway tokens win over
    /// --auth-token).
    pub fn apply(&self, cfg: &mut Config) -> anyhow::Result<()> {
        if let Some(v) = &self.listen {
            cfg.api.address = v.clone();
        }
        if let Some(v) = &self.auth_url {
            cfg.jwt.auth_url = v.clone();
        }
        if let Some(v) = &self.node_url {
            cfg.node.url = v.clone();
        }
        if !self.gateway_url.is_empty() {
            cfg.gateway.url = self.gateway_url.clone();
        }
        if let Some(t) = &self.auth_token {
            cfg.node.token = t.clone();
            cfg.gateway.token = t.clone();
            cfg.jwt.token = t.clone();
        }
        if let Some(t) = &self.node_token {
            cfg.node.token = t.clone();
        }
        if let Some(t) = &self.gateway_token {
            cfg.gateway.token = t.clone();
        }
        if let Some(db) = &self.db_type {
            if db != "sqlite" && db != "mysql" {
                anyhow::bail!("--db-type {db:?} is not sqlite or mysql");
            }
            cfg.db.kind = db.clone();
            if db == "mysql"
                && let Some(dsn) = &self.mysql_dsn
            {
                cfg.db.mysql.connection_string = dsn.clone();
            }
        }
        if self.disable_push {
            cfg.message_service.skip_push_message = true;
            cfg.message_service.skip_process_head = true;
        }
        Ok(())
    }
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

/// Runs the service until SIGINT/SIGTERM.
pub async fn run(repo: &Path, config_file: Option<PathBuf>, args: RunArgs) -> anyhow::Result<()> {
    venus_rpc::observe::init_tracing(&args.log_level).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(repo).with_context(|| format!("creating repo {}", repo.display()))?;
    let (mut cfg, write) = match &config_file {
        Some(p) => (Config::load_file(p)?, false),
        None => {
            let (c, existed) = Config::load(repo)?;
            (c, !existed)
        }
    };
    args.apply(&mut cfg)?;
    cfg.validate(repo)?;
    if write {
        cfg.save(repo)?;
    }
    for s in cfg.ignored_sections() {
        tracing::warn!(section = s, "accepted for compatibility and ignored");
    }
    if args.rate_limit_redis.is_some() {
        tracing::warn!("--rate-limit-redis is accepted for compatibility and ignored");
    }
    let timings = cfg.timings()?;
    let target = cfg.db_target(repo)?;
    let store = Store::open(&target, Duration::from_secs(60))
        .await
        .with_context(|| match &target {
            DbTarget::Sqlite(f) => format!("opening {}", f.display()),
            DbTarget::Mysql(_) => "opening the MySQL database".to_owned(),
        })?;

    // Tokens: the repo's local admin token, then venus-auth.
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let local = Arc::new(LocalVerifier::new(secret.to_vec()));
    write_token(repo, &local.issue("defaultLocalToken", Permission::Admin))?;
    let auth = if cfg.jwt.token.is_empty() {
        tracing::warn!(
            "no venus-auth token (--auth-token): only the local token is accepted and signers cannot be looked up"
        );
        None
    } else {
        Some(Arc::new(
            AuthClient::new(&cfg.jwt.auth_url, cfg.jwt.token.clone())
                .context("venus-auth client")?,
        ))
    };
    let verifier: Arc<dyn TokenVerifier> = match &auth {
        Some(a) => Arc::new(ChainVerifier::new(vec![local.clone(), a.clone()])),
        None => local.clone(),
    };

    let metrics = Metrics::new();
    let mm = MessagerMetrics::register(&metrics);
    let nodes = NodePool::new(
        NodeEndpoint::new("main", &cfg.node.url, &cfg.node.token),
        mm.clone(),
        cfg.publisher.enable_multi_node,
    );
    if let Ok(list) = store.nodes().await {
        nodes.set_extras(
            &list
                .into_iter()
                .map(|x| (x.name, x.url, x.token))
                .collect::<Vec<_>>(),
        );
    }
    let params = network_params(&nodes, timings.node_health_interval).await?;
    if params.network_name == "mainnet" {
        venus_types::Network::Mainnet.set_current();
    }
    let block_delay = Duration::from_secs(params.block_delay_secs.max(1));
    let mut head_stable = timings.head_stable;
    if block_delay <= head_stable {
        // The original's 2k tweak: settle in half a block.
        head_stable = block_delay / 2;
    }
    let wallets = Arc::new(Wallets::new(
        &cfg.gateway.url,
        &cfg.gateway.token,
        auth.clone(),
        timings.sign_timeout,
    ));
    let messager = Arc::new(Messager::new(
        store.clone(),
        nodes.clone(),
        wallets,
        Access::new(auth.clone()),
        mm,
        block_delay,
    ));
    let pipeline = Arc::new(Pipeline::new(
        messager.clone(),
        PipelineOptions {
            estimate_timeout: timings.estimate_timeout,
            default_timeout: timings.default_timeout,
            replace_after_epochs: cfg.message_service.replace_stuck_after_epochs,
        },
    ));

    let shutdown = CancellationToken::new();
    let backend = LeaseBackend::from_env("venus-messager", store.mysql_pool()).await?;
    let leadership = metrics.with_registry(|r| {
        Leadership::start(
            backend,
            LeaseSettings::default(),
            shutdown.clone(),
            r,
            "venus_messager",
        )
    });
    let (head_tx, head_rx) = watch::channel(None);
    tokio::spawn(crate::run::watch_heads(
        messager.clone(),
        head_tx,
        shutdown.clone(),
    ));
    tokio::spawn(crate::run::check_nodes(
        messager.clone(),
        timings.node_health_interval,
        shutdown.clone(),
    ));
    tokio::spawn(crate::run::refresh_metrics(
        messager.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(crate::run::primary_loop(
        messager.clone(),
        pipeline.clone(),
        leadership.clone(),
        head_rx,
        LoopOptions {
            head_stable,
            node_health_interval: timings.node_health_interval,
            skip_process_head: cfg.message_service.skip_process_head,
            skip_push: cfg.message_service.skip_push_message,
        },
        shutdown.clone(),
    ));

    let router = crate::api::router(messager.clone(), pipeline);
    let db = store.clone();
    let n = nodes.clone();
    let health = Health::new()
        .live("rpc", || async { Ok::<(), String>(()) })
        .ready("database", move || {
            let db = db.clone();
            async move { db.ping().await.map_err(|e| e.to_string()) }
        })
        .ready("node", move || {
            let n = n.clone();
            async move {
                if n.all().iter().any(|x| x.is_healthy()) {
                    Ok(())
                } else {
                    Err("no chain node answers".to_owned())
                }
            }
        })
        .router();
    let app = venus_rpc::Server::new(router, verifier)
        .paths(&["/rpc/v0"])
        .metrics(&metrics)
        .into_app()
        .merge(
            metrics
                .router()
                .merge(health)
                .route("/healthcheck", axum::routing::get(|| async { "ok" })),
        );
    let addr = cfg.listen()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(listen = %listener.local_addr()?, repo = %repo.display(), db = if store.is_sqlite() { "sqlite" } else { "mysql" },
        node = %cfg.node.url, block_delay_secs = params.block_delay_secs, lease = %leadership.identity(), "venus-messager serving /rpc/v0");
    let stop = shutdown.clone();
    venus_rpc::serve(listener, app, async move {
        venus_rpc::process::shutdown_signal().await;
        stop.cancel();
    })
    .await
    .context("serving")?;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(3), leadership.stopped())
        .await
        .ok();
    tracing::info!("venus-messager stopped");
    Ok(())
}

/// The network's parameters from the first node that answers (main node first).
async fn network_params(
    nodes: &NodePool,
    every: Duration,
) -> anyhow::Result<venus_types::NetworkParams> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        nodes.check(Duration::from_secs(5)).await;
        let node = nodes.active();
        if let Ok(c) = node.client().await {
            match c.call(api::STATE_GET_NETWORK_PARAMS, ()).await {
                Ok(p) => return Ok(p),
                Err(e) => tracing::warn!(node = %node.name, error = %e, "StateGetNetworkParams"),
            }
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "no chain node answered StateGetNetworkParams for 120 s (main node {})",
                node.url
            );
        }
        tracing::warn!(node = %node.url, "waiting for a chain node");
        tokio::time::sleep(every.max(Duration::from_secs(1))).await;
    }
}
