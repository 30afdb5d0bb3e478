//! `venus-miner run`: load and check the config, connect the node(s), gateway(s) and
//! venus-auth, serve the API with `/metrics` and health, and mine while holding the lease.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use venus_api::full_node as node_api;
use venus_auth_client::AuthClient;
use venus_rpc::observe::{Health, Metrics};
use venus_rpc::{ChainVerifier, LocalVerifier, Permission, TokenVerifier};

use crate::api::{Service, router};
use crate::claims::{ClaimStore, LocalClaims, MysqlClaims};
use crate::config::{ADMIN_TOKEN_ENV, Config, SlashFilterType};
use crate::gateway::Gateways;
use crate::metrics::MinerMetrics;
use crate::miners::Miners;
use crate::mining::{DISABLE_FORK_SIGNALING_ENV, Miner, Timing, fork_signaling_from_env};
use crate::nodes::Nodes;
use crate::recorder::MineRecorder;
use crate::repo;

/// How often the miner set is re-read from venus-auth (as the original).
const MINERS_POLL: Duration = Duration::from_secs(60);
/// Per-call timeout towards nodes and gateways.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `run` options that override the config file.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    pub listen: Option<String>,
    pub nosync: bool,
    pub api_max_req_size: Option<usize>,
    /// The operator's `--db-type=mysql --mysql-dsn=…` (as the messager): a MySQL slash filter.
    pub mysql_dsn: Option<String>,
}

/// The config `run` uses: `--config` (never written) or `<repo>/config.toml` (from `init`).
pub fn load_config(repo: &Path, file: Option<&Path>) -> anyhow::Result<(Config, PathBuf)> {
    let path = file.map_or_else(|| repo::config_path(repo), Path::to_path_buf);
    if file.is_none() && !path.exists() {
        bail!(
            "{} does not exist: run `venus-miner init` first (or pass --config)",
            path.display()
        );
    }
    Ok((Config::load_file(&path)?, path))
}

pub async fn run(repo: &Path, file: Option<&Path>, opts: RunOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(repo).with_context(|| format!("creating repo {}", repo.display()))?;
    let (mut cfg, config_path) = load_config(repo, file)?;
    if let Some(l) = &opts.listen {
        cfg.api.listen_address = l.clone();
    }
    if let Some(dsn) = &opts.mysql_dsn {
        cfg.slash_filter.kind = SlashFilterType::Mysql;
        cfg.slash_filter.mysql.conn = dsn.clone();
    }
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV)
        && !token.trim().is_empty()
    {
        cfg.fill_tokens(token.trim());
    }
    let checked = cfg.validate()?;
    for section in cfg.ignored_sections() {
        tracing::warn!(
            section,
            "config section accepted for compatibility but not implemented; ignored"
        );
    }

    let auth = Arc::new(
        AuthClient::new(&cfg.auth.addr, cfg.auth.token.clone()).context("venus-auth client")?,
    );
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let local = Arc::new(LocalVerifier::new(secret.to_vec()));
    repo::write_token(repo, &local.issue("defaultLocalToken", Permission::Admin))?;
    let verifier: Arc<dyn TokenVerifier> = Arc::new(ChainVerifier::new(vec![
        local,
        auth.clone() as Arc<dyn TokenVerifier>,
    ]));

    let nodes = Nodes::new(&cfg.full_node, &cfg.submit_nodes, CALL_TIMEOUT);
    let gateways = Gateways::new(&cfg.gateway.listen_api, &cfg.gateway.token, CALL_TIMEOUT);
    let params = wait_for_node(&nodes, opts.nosync).await?;
    // Addresses render as the network does: `f` on mainnet, `t` on every other network.
    if params.network_name == "mainnet" {
        venus_types::Network::Mainnet.set_current();
    } else {
        venus_types::Network::Testnet.set_current();
    }
    if params.block_delay_secs <= cfg.propagation_delay_secs {
        tracing::warn!(
            block_delay = params.block_delay_secs,
            propagation_delay = cfg.propagation_delay_secs,
            "PropagationDelaySecs is not below the block delay: rounds will be late (venus#6211)"
        );
    }

    let (claims, mysql_pool) = match cfg.slash_filter.kind {
        SlashFilterType::Local => (ClaimStore::Local(LocalClaims::open(repo)?), None),
        SlashFilterType::Mysql => {
            let m = MysqlClaims::connect(
                &cfg.slash_filter.mysql.conn,
                cfg.slash_filter.mysql.max_open_conn,
            )
            .await?;
            let pool = m.pool().clone();
            (ClaimStore::Mysql(m), Some(pool))
        }
    };

    let recorder = match cfg.recorder.as_ref().filter(|r| r.enable) {
        Some(r) => Some(
            MineRecorder::open(repo, r.expire_epoch, r.max_record_per_query)
                .context("[Recorder]")?,
        ),
        None => None,
    };
    let fork_signaling =
        fork_signaling_from_env(std::env::var(DISABLE_FORK_SIGNALING_ENV).ok().as_deref());

    let metrics = Metrics::new();
    let miners = Arc::new(Miners::new(auth));
    match miners.refresh(0, 0).await {
        Ok(list) => tracing::info!(
            miners = list.len(),
            open = list.iter().filter(|m| m.open_mining).count(),
            "miners from venus-auth"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the miners from venus-auth yet; retrying every 60 s")
        }
    }
    let miner = Arc::new(Miner {
        timing: Timing {
            block_delay: Duration::from_secs(params.block_delay_secs),
            propagation_delay: checked.propagation_delay,
            miner_once_timeout: checked.miner_once_timeout,
            mpool_select_timeout: checked.mpool_select_timeout,
        },
        nodes,
        gateways,
        miners: miners.clone(),
        claims,
        metrics: MinerMetrics::register(&metrics),
        recorder,
        fork_signaling,
    });

    let shutdown = CancellationToken::new();
    let svc = Arc::new(Service {
        miner: miner.clone(),
        shutdown: shutdown.clone(),
    });
    let mut server = venus_rpc::Server::new(router(&svc), verifier)
        .paths(&["/rpc/v0"])
        .metrics(&metrics);
    if let Some(n) = opts.api_max_req_size.filter(|n| *n > 0) {
        server = server.max_request_bytes(n);
    }
    let ready_miner = miner.clone();
    let health = Health::new()
        .live("rpc", || async { Ok::<(), String>(()) })
        .ready("node", move || {
            let m = ready_miner.clone();
            async move { m.nodes.best_head().await.map(|_| ()) }
        })
        .router();
    let app = server.into_app().merge(
        metrics
            .router()
            .merge(health)
            .route("/healthcheck", axum::routing::get(|| async { "ok" })),
    );
    let listener = tokio::net::TcpListener::bind(checked.listen)
        .await
        .with_context(|| format!("binding {}", checked.listen))?;
    let bound: SocketAddr = listener.local_addr()?;
    repo::write_api(repo, &venus_rpc::process::socket_to_multiaddr(bound))?;

    let leadership = crate::ha::start(mysql_pool, &metrics, shutdown.clone()).await?;
    tokio::spawn(poll_miners(miners.clone(), shutdown.clone()));
    let mining = tokio::spawn(crate::ha::mine_while_leader(
        miner.clone(),
        leadership.clone(),
        shutdown.clone(),
    ));

    tracing::info!(
        listen = %bound,
        node = miner.nodes.main().addr(),
        submit_nodes = miner.nodes.len() - 1,
        slash_filter = ?cfg.slash_filter.kind,
        recorder = miner.recorder.is_some(),
        fork_signaling = miner.fork_signaling,
        config = %config_path.display(),
        repo = %repo.display(),
        "venus-miner serving /rpc/v0"
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        venus_rpc::process::shutdown_signal().await;
        stop.cancel();
    });
    let stop = shutdown.clone();
    venus_rpc::serve(listener, app, async move { stop.cancelled().await })
        .await
        .context("serving")?;
    shutdown.cancel();
    let _ = mining.await;
    // Give the Lease up before exiting (a graceful stop hands over to the standby at once,
    // instead of after the term runs out); bounded, as the messager does.
    tokio::time::timeout(std::time::Duration::from_secs(3), leadership.stopped())
        .await
        .ok();
    Ok(())
}

/// Wait until the node answers (`Version`, network parameters, head). Our nodes build their
/// chain from the blocks submitted to them (no peer sync), so a stale head is mined on rather
/// than waited for: with `--nosync` unset it is only reported.
async fn wait_for_node(nodes: &Nodes, nosync: bool) -> anyhow::Result<venus_types::NetworkParams> {
    let node = nodes.main();
    let mut warned = false;
    loop {
        let ready = async {
            let version = node.call(node_api::VERSION, ()).await?;
            let params = node.call(node_api::STATE_GET_NETWORK_PARAMS, ()).await?;
            let head = node.call(node_api::CHAIN_HEAD, ()).await?;
            Ok::<_, venus_rpc::ClientError>((version, params, head))
        }
        .await;
        match ready {
            Ok((version, params, head)) => {
                check_api_version(version.api_version)?;
                let age = unix_secs().saturating_sub(head.min_timestamp());
                if !nosync && age > params.block_delay_secs * 10 {
                    tracing::warn!(
                        height = head.height(),
                        age_secs = age,
                        "the node's head is old; mining on it from the current slot"
                    );
                }
                return Ok(params);
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(node = node.addr(), error = %e, "node not reachable yet; retrying");
                    warned = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The node must speak the full node API v1 (2.3.x), as sophon-miner requires.
pub fn check_api_version(v: u32) -> anyhow::Result<()> {
    let (major, minor) = (v >> 16, (v >> 8) & 0xff);
    if (major, minor) != (2, 3) {
        bail!(
            "the node reports API version {major}.{minor}.{}; venus-miner needs the full node API v1 (2.3.x)",
            v & 0xff
        );
    }
    Ok(())
}

async fn poll_miners(miners: Arc<Miners>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(MINERS_POLL) => {}
            () = stop.cancelled() => return,
        }
        if let Err(e) = miners.refresh(0, 0).await {
            tracing::warn!(error = %e, "refreshing the miners from venus-auth");
        }
    }
}
