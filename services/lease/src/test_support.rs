//! Lease instances for tests (feature `test-support`), each on its own thread and Tokio
//! runtime, so "killing" one drops its runtime: the loop dies without releasing, as when the
//! process dies.
#![allow(clippy::expect_used)]

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{Leadership, LeaseBackend, LeaseSettings};

/// One lease instance on its own runtime.
pub struct Instance {
    pub leadership: Leadership,
    pub registry: Arc<Mutex<Registry>>,
    shutdown: CancellationToken,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Instance {
    /// Any backend, built inside the instance's runtime.
    pub fn spawn<F, Fut>(make: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = (LeaseBackend, LeaseSettings)>,
    {
        let shutdown = CancellationToken::new();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let token = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (backend, settings) = make().await;
                let mut registry = Registry::default();
                let leadership = Leadership::start(
                    backend,
                    settings,
                    token.clone(),
                    &mut registry,
                    "venus_test",
                );
                let registry = Arc::new(Mutex::new(registry));
                ready_tx
                    .send((leadership.clone(), registry))
                    .expect("test alive");
                tokio::select! {
                    _ = kill_rx => {}
                    () = async { token.cancelled().await; leadership.stopped().await } => {}
                }
            });
            // Dropping the runtime drops the lease loop mid-flight: no release.
            rt.shutdown_background();
        });
        let (leadership, registry) = ready_rx.recv().expect("instance started");
        Self {
            leadership,
            registry,
            shutdown,
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leadership.is_leader()
    }

    /// Dies without releasing.
    pub fn kill(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("instance thread");
        }
    }

    /// Shuts down gracefully (releasing the lease) and waits for it.
    pub fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            t.join().expect("instance thread");
        }
    }

    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().expect("registry");
        prometheus_client::encoding::text::encode(&mut out, &r).expect("encode");
        out
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `pred` every 5 ms until it holds or `timeout` passes, asserting that `a` and `b`
/// are never leaders at the same moment. Returns the time it took.
pub fn until_exclusive(
    a: &Instance,
    b: &Instance,
    timeout: Duration,
    what: &str,
    pred: impl Fn() -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        assert!(
            !(a.is_leader() && b.is_leader()),
            "both instances are leaders at once (while waiting for {what})"
        );
        if pred() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Samples both for `period`: never two leaders; returns how many samples had exactly one.
pub fn sample_exclusive(a: &Instance, b: &Instance, period: Duration) -> (usize, usize) {
    let start = Instant::now();
    let (mut samples, mut one) = (0, 0);
    while start.elapsed() < period {
        let (la, lb) = (a.is_leader(), b.is_leader());
        assert!(!(la && lb), "both instances are leaders at once");
        samples += 1;
        one += usize::from(la || lb);
        std::thread::sleep(Duration::from_millis(5));
    }
    (samples, one)
}

/// How a holder goes away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Dies without releasing (its runtime dropped).
    Kill,
    /// Shuts down gracefully, releasing the lease.
    Release,
}

/// Ends `old` by `exit` and waits (asserting never two leaders) until `new` leads; returns the
/// time from the exit to the takeover.
pub fn hand_over(old: &mut Instance, new: &Instance, exit: Exit, timeout: Duration) -> Duration {
    let start = Instant::now();
    match exit {
        Exit::Kill => old.kill(),
        Exit::Release => old.stop(),
    }
    until_exclusive(old, new, timeout, "the standby to take over", || {
        new.is_leader()
    });
    start.elapsed()
}
