//! The acquire/renew loop of one instance, and the handle (`Leadership`, `Term`) the service
//! reads it through.

use std::future::pending;

use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, error, info, info_span, warn};

use crate::backend::{Driver, LeaseBackend, Observed};
use crate::metrics::LeaseMetrics;
use crate::settings::{LeaseSettings, Timing};

/// What the loop publishes.
#[derive(Clone, Debug, Default)]
struct Status {
    term: Option<TermState>,
    holder: Option<String>,
    stopped: bool,
}

#[derive(Clone, Debug)]
struct TermState {
    cancel: CancellationToken,
    /// When the term ends unless renewed; `None` never (Exclusive).
    deadline: Option<Instant>,
}

impl TermState {
    fn active(&self) -> bool {
        !self.cancel.is_cancelled() && self.deadline.is_none_or(|d| Instant::now() < d)
    }
}

/// The running lease loop of this instance.
#[derive(Clone)]
pub struct Leadership {
    status: watch::Receiver<Status>,
    identity: String,
}

/// One period as primary: `cancel` is cancelled when leadership is lost or on shutdown.
#[derive(Clone, Debug)]
pub struct Term {
    pub cancel: CancellationToken,
}

impl Term {
    pub fn is_active(&self) -> bool {
        !self.cancel.is_cancelled()
    }

    /// Resolves when the term is over.
    pub async fn lost(&self) {
        self.cancel.cancelled().await;
    }
}

impl Leadership {
    /// Spawns the acquire/renew loop (on the current Tokio runtime); it ends, releasing the
    /// lease (best effort), when `shutdown` is cancelled. Registers
    /// `<metrics_prefix>_lease_holder` and `<metrics_prefix>_lease_transitions_total` in
    /// `registry` (an empty prefix: `lease_…`, for a registry with its own prefix).
    pub fn start(
        backend: LeaseBackend,
        settings: LeaseSettings,
        shutdown: CancellationToken,
        registry: &mut Registry,
        metrics_prefix: &str,
    ) -> Self {
        let metrics = LeaseMetrics::register(registry, metrics_prefix);
        let (timing, problem) = Timing::new(&settings);
        if let Some(problem) = problem {
            warn!(%problem, ?timing, "invalid lease settings; running with repaired ones");
        }
        let identity = backend.identity().to_owned();
        let span = info_span!("lease", lease = %backend.describe(), identity = %identity);
        let (tx, status) = watch::channel(Status::default());
        let lease_loop = LeaseLoop {
            driver: backend.into_driver(&timing),
            timing,
            shutdown,
            tx,
            metrics,
            identity: identity.clone(),
            held: None,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(lease_loop.run().instrument(span));
            }
            Err(_) => {
                error!("Leadership::start was called outside a Tokio runtime: never leading");
                lease_loop.tx.send_modify(|s| s.stopped = true);
            }
        }
        Self { status, identity }
    }

    /// True while this instance holds an unexpired lease.
    pub fn is_leader(&self) -> bool {
        self.status
            .borrow()
            .term
            .as_ref()
            .is_some_and(TermState::active)
    }

    /// Waits until this instance holds the lease and returns the term. After the loop has
    /// stopped (shutdown) it never resolves: select on the shutdown token as well.
    pub async fn acquired(&self) -> Term {
        let mut status = self.status.clone();
        let cancel = status
            .wait_for(|s| s.term.as_ref().is_some_and(|t| !t.cancel.is_cancelled()))
            .await
            .ok()
            .and_then(|s| s.term.as_ref().map(|t| t.cancel.clone()));
        match cancel {
            Some(cancel) => Term { cancel },
            None => pending().await,
        }
    }

    /// Current holder's identity as last seen (for status/metrics), if any.
    pub fn holder(&self) -> Option<String> {
        self.status.borrow().holder.clone()
    }

    /// This instance's identity in the lease.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits until the loop has ended after shutdown (and released the lease, best effort).
    pub async fn stopped(&self) {
        let mut status = self.status.clone();
        // An error means the loop is gone, which is stopped too.
        let _ = status.wait_for(|s| s.stopped).await;
    }
}

struct Held {
    cancel: CancellationToken,
    deadline: Instant,
}

struct LeaseLoop {
    driver: Driver,
    timing: Timing,
    shutdown: CancellationToken,
    tx: watch::Sender<Status>,
    metrics: LeaseMetrics,
    identity: String,
    held: Option<Held>,
}

/// Why the loop woke up.
enum Wake {
    Shutdown,
    Deadline,
    Tick,
    Outcome(Result<anyhow::Result<Observed>, tokio::time::error::Elapsed>),
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => pending().await,
    }
}

impl LeaseLoop {
    async fn run(mut self) {
        if !self.driver.expires() {
            // Exclusive: the only instance there can be.
            self.begin_term(None);
            self.shutdown.cancelled().await;
            self.finish().await;
            return;
        }
        loop {
            let started = Instant::now();
            let deadline = self.held.as_ref().map(|h| h.deadline);
            let wake = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => Wake::Shutdown,
                () = until(deadline) => Wake::Deadline,
                r = timeout(self.timing.call_timeout, self.driver.acquire_or_renew()) => Wake::Outcome(r),
            };
            match wake {
                Wake::Shutdown => break,
                Wake::Deadline => {
                    self.lose("no renewal succeeded in time");
                    continue;
                }
                Wake::Tick => {}
                Wake::Outcome(Ok(Ok(observed))) => self.observe(observed, started),
                Wake::Outcome(Ok(Err(e))) => {
                    warn!(error = %format!("{e:#}"), holding = self.held.is_some(), "lease request failed");
                }
                Wake::Outcome(Err(_)) => {
                    warn!(timeout = ?self.timing.call_timeout, holding = self.held.is_some(), "lease request timed out");
                }
            }
            let interval = if self.held.is_some() {
                self.timing.renew_interval
            } else {
                self.timing.retry_interval
            };
            let deadline = self.held.as_ref().map(|h| h.deadline);
            let wake = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => Wake::Shutdown,
                () = until(deadline) => Wake::Deadline,
                () = sleep_until(started + interval) => Wake::Tick,
            };
            match wake {
                Wake::Shutdown => break,
                Wake::Deadline => self.lose("no renewal succeeded in time"),
                _ => {}
            }
        }
        self.finish().await;
    }

    fn observe(&mut self, observed: Observed, sent: Instant) {
        if observed.mine {
            // Measured from before the request left: the lease was granted no earlier.
            let deadline = sent + self.timing.term_length;
            if deadline <= Instant::now() {
                warn!("the renewal answered too late to count; not extending the term");
            } else if let Some(held) = &mut self.held {
                held.deadline = deadline;
                self.tx.send_modify(|s| {
                    if let Some(t) = &mut s.term {
                        t.deadline = Some(deadline);
                    }
                });
            } else {
                self.begin_term(Some(deadline));
            }
        } else if self.held.is_some() {
            let reason = match &observed.holder {
                Some(h) => format!("the lease is now held by {h}"),
                None => "the lease was taken or changed by another instance".to_owned(),
            };
            self.lose(&reason);
        }
        let previous = self.tx.borrow().holder.clone();
        if !observed.mine && observed.holder != previous {
            match &observed.holder {
                Some(h) => info!(holder = %h, "standing by: the lease is held by another instance"),
                None => debug!("the lease is free"),
            }
        }
        self.tx.send_modify(|s| s.holder = observed.holder);
    }

    fn begin_term(&mut self, deadline: Option<Instant>) {
        let cancel = self.shutdown.child_token();
        if let Some(deadline) = deadline {
            self.held = Some(Held {
                cancel: cancel.clone(),
                deadline,
            });
        }
        self.metrics.holder.set(1);
        self.metrics.transitions.inc();
        info!("acquired the lease: this instance is primary");
        let identity = self.identity.clone();
        self.tx.send_modify(|s| {
            s.term = Some(TermState { cancel, deadline });
            s.holder = Some(identity);
        });
    }

    fn lose(&mut self, reason: &str) {
        if let Some(held) = self.held.take() {
            held.cancel.cancel();
            self.metrics.holder.set(0);
            warn!(%reason, "lost the lease: this instance stands by");
            self.tx.send_modify(|s| {
                s.term = None;
                s.holder = None;
            });
        }
    }

    async fn finish(mut self) {
        if let Some(held) = self.held.take() {
            held.cancel.cancel();
        }
        self.metrics.holder.set(0);
        self.tx.send_modify(|s| s.term = None);
        if self.driver.expires() {
            // Conditional on still holding it, so harmless when we did not.
            match timeout(self.timing.call_timeout, self.driver.release()).await {
                Ok(Ok(true)) => info!("released the lease on shutdown"),
                Ok(Ok(false)) => debug!("shutdown: not holding the lease, nothing to release"),
                Ok(Err(e)) => {
                    warn!(error = %format!("{e:#}"), "releasing the lease failed; it expires on its own")
                }
                Err(_) => warn!("releasing the lease timed out; it expires on its own"),
            }
        }
        self.tx.send_modify(|s| {
            s.stopped = true;
            s.holder = None;
        });
    }
}
