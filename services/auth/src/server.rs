//! `venus-auth run`: open the store, make sure the default admin token exists, serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use venus_rpc::Permission;

use crate::api::{AppState, router};
use crate::authority::{Authority, DEFAULT_CACHE_TTL};
use crate::config::{Config, parse_db_kind};
use crate::metrics::Metrics;
use crate::repo;
use crate::store::Store;

/// The user whose admin token the CLI uses, as in the original.
pub const DEFAULT_ADMIN_USER: &str = "defaultLocalToken";

/// Flags of `run` that override the config file (not written back).
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    pub listen: Option<String>,
    pub db_type: Option<String>,
    pub mysql_dsn: Option<String>,
}

/// Read the config (creating it on first run) and apply the flags.
pub fn prepare_config(
    repo_dir: &Path,
    config_file: Option<&Path>,
    o: &RunOverrides,
) -> anyhow::Result<Config> {
    let mut config = repo::load_or_init_config(repo_dir, config_file)?;
    if let Some(l) = &o.listen {
        config.listen = l.clone();
    }
    if let Some(t) = &o.db_type {
        config.db.kind = parse_db_kind(t).map_err(|e| anyhow::anyhow!("--db-type: {e}"))?;
    }
    if let Some(dsn) = &o.mysql_dsn {
        config.db.dsn = dsn.trim().to_owned();
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    Ok(config)
}

pub async fn run(repo_dir: PathBuf, config: Config, db_wait: Duration) -> anyhow::Result<()> {
    let secret = repo::load_or_create_secret(&repo_dir)?;
    let store = Store::open(&repo_dir, &config.db, db_wait).await?;
    tracing::info!(backend = store.backend(), repo = %repo_dir.display(), "store open");
    let authority = Authority::new(store, secret, DEFAULT_CACHE_TTL);
    let admin_token = ensure_default_admin(&authority).await?;
    repo::write_private(&repo_dir.join(repo::TOKEN_FILE), admin_token.as_bytes())?;

    let metrics = Metrics::default();
    metrics.up.set(1);
    let state = Arc::new(AppState { authority, metrics });
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "venus-auth listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    state.metrics.up.set(0);
    state.authority.store().close().await;
    tracing::info!("venus-auth stopped");
    Ok(())
}

/// The `defaultLocalToken` user and an admin token for it, reused across restarts.
async fn ensure_default_admin(authority: &Authority) -> anyhow::Result<String> {
    let store = authority.store();
    if store.get_user(DEFAULT_ADMIN_USER).await?.is_none() {
        store
            .create_user(
                DEFAULT_ADMIN_USER,
                "the local admin user of the venus-auth CLI",
                1,
            )
            .await?;
    }
    for t in store.tokens_by_name(DEFAULT_ADMIN_USER).await? {
        if t.perm == Permission::Admin.as_str() && authority.verify(&t.token).await.is_ok() {
            return Ok(t.token);
        }
    }
    Ok(authority
        .issue(DEFAULT_ADMIN_USER, Permission::Admin, "")
        .await?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
