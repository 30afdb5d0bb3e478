//! Leader election for running two operator replicas: a coordination.k8s.io/v1 Lease held
//! through venus-lease, the one implementation shared with venus-messager and venus-miner
//! (compare-and-swap by resourceVersion, a term that ends before the Lease can expire,
//! release on graceful shutdown).

use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use venus_lease::{Leadership, LeaseBackend, LeaseSettings, Term};

#[derive(Clone, Debug)]
pub struct LeaderConfig {
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    /// How often to renew / retry (a third of the duration by default).
    pub retry: Duration,
}

impl LeaderConfig {
    /// The lease timings: renew and retry every `retry`; the term ends `retry` before the
    /// Lease could expire, as the operator's own loop did.
    pub fn settings(&self) -> LeaseSettings {
        LeaseSettings {
            duration: self.lease_duration,
            renew_interval: self.retry,
            retry_interval: self.retry,
        }
    }
}

/// The running election of this replica; dropping it ends the loop (and releases the Lease).
pub struct Election {
    leadership: Leadership,
    shutdown: CancellationToken,
}

impl Election {
    /// Starts campaigning with `client` (which should time out its calls, see `run`).
    pub fn start(client: kube::Client, cfg: &LeaderConfig) -> Self {
        let shutdown = CancellationToken::new();
        let backend = LeaseBackend::Kubernetes {
            client,
            namespace: cfg.namespace.clone(),
            name: cfg.lease_name.clone(),
            identity: cfg.identity.clone(),
        };
        // The operator reports leadership with its own `venus_operator_leader` gauge.
        let mut unexposed = Registry::default();
        let leadership = Leadership::start(
            backend,
            cfg.settings(),
            shutdown.clone(),
            &mut unexposed,
            "",
        );
        info!(lease = %cfg.lease_name, namespace = %cfg.namespace, identity = %cfg.identity, "waiting for leadership");
        Self {
            leadership,
            shutdown,
        }
    }

    /// Blocks until this replica holds the Lease.
    pub async fn acquire(&self) -> Term {
        let term = self.leadership.acquired().await;
        info!(identity = %self.leadership.identity(), "became leader");
        term
    }

    /// Gives the Lease up so the other replica takes over at once (bounded wait).
    pub async fn release(&self) {
        self.shutdown.cancel();
        if tokio::time::timeout(Duration::from_secs(10), self.leadership.stopped())
            .await
            .is_err()
        {
            warn!("releasing the leader lease timed out; it expires on its own");
        }
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Resolves with the reason when the term is over, so the process can exit before a new
/// leader acts.
pub async fn hold(term: &Term) -> String {
    term.lost().await;
    "lost the leader lease (another replica holds it, or it could not be renewed in time)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_renew_and_retry_every_period() {
        let cfg = LeaderConfig {
            lease_name: "l".into(),
            namespace: "ns".into(),
            identity: "a".into(),
            lease_duration: Duration::from_secs(15),
            retry: Duration::from_secs(5),
        };
        let s = cfg.settings();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.duration, Duration::from_secs(15));
        assert_eq!(s.renew_interval, Duration::from_secs(5));
        assert_eq!(s.retry_interval, Duration::from_secs(5));
    }
}
