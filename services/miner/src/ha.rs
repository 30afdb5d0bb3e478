//! Primary/standby with `venus-lease`: only the term holder mines, and mining stops the
//! moment the term is cancelled. The backend follows the deployment: a Kubernetes Lease
//! when `VENUS_LEASE_*` are set (the operator renders them), a MySQL row lease on the slash
//! filter's database when it is `mysql`, otherwise this instance is the only one.

use std::sync::Arc;

use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use venus_lease::{Leadership, LeaseBackend, LeaseSettings};
use venus_rpc::observe::Metrics;

use crate::mining::Miner;

/// The lease name for MySQL (and the default Kubernetes Lease name of the role).
pub const LEASE_NAME: &str = "venus-miner";

pub async fn start(
    mysql: Option<MySqlPool>,
    metrics: &Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<Leadership> {
    let backend = LeaseBackend::from_env(LEASE_NAME, mysql).await?;
    tracing::info!(identity = backend.identity(), "lease backend ready");
    Ok(metrics.with_registry(|registry| {
        Leadership::start(
            backend,
            LeaseSettings::default(),
            shutdown,
            registry,
            "venus_miner",
        )
    }))
}

/// Mine while holding the lease; stand by otherwise; return on shutdown.
pub async fn mine_while_leader(
    miner: Arc<Miner>,
    leadership: Leadership,
    shutdown: CancellationToken,
) {
    loop {
        let term = tokio::select! {
            t = leadership.acquired() => t,
            () = shutdown.cancelled() => return,
        };
        tracing::info!("holding the lease: mining");
        let stop = term.cancel.child_token();
        let guard = stop.clone();
        tokio::select! {
            () = miner.run(&stop) => {}
            () = term.lost() => tracing::warn!("lost the lease: mining stopped; standing by"),
            () = shutdown.cancelled() => {}
        }
        guard.cancel();
        if shutdown.is_cancelled() {
            return;
        }
    }
}
