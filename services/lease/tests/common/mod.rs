//! Lease instances for the tests, each on its own thread and Tokio runtime, so "killing" one
//! drops its runtime: the loop dies without releasing, as when the process dies.
#![allow(dead_code)]
pub mod proxy;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use venus_lease::{Leadership, LeaseBackend, LeaseSettings};

/// The test MariaDB server URL, or `None` to skip. Under `CI` a missing server is a failure.
pub fn mysql_server() -> Option<String> {
    match std::env::var("VENUS_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("VENUS_TEST_MYSQL_URL is not set and CI is: the MariaDB tests cannot be skipped")
        }
        _ => {
            eprintln!(
                "note: VENUS_TEST_MYSQL_URL is not set; skipping a MariaDB test (run scripts/mariadb-test.sh start)"
            );
            None
        }
    }
}

/// Creates a fresh database on the server; returns its URL.
pub async fn fresh_database(server: &str, tag: &str) -> String {
    let db = format!(
        "venus_lease_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let admin = MySqlPool::connect(server)
        .await
        .expect("connect to the test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .expect("create database");
    admin.close().await;
    let mut url = url::Url::parse(server).expect("VENUS_TEST_MYSQL_URL is a URL");
    url.set_path(&db);
    url.to_string()
}

/// Replaces host:port of a mysql URL (to route it through a proxy).
pub fn via(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).expect("URL");
    u.set_port(Some(port)).expect("port");
    u.to_string()
}

pub fn fast_settings() -> LeaseSettings {
    LeaseSettings::default()
}

/// One lease instance on its own runtime.
pub struct Instance {
    pub leadership: Leadership,
    pub registry: std::sync::Arc<std::sync::Mutex<Registry>>,
    shutdown: CancellationToken,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Instance {
    /// A MySQL-backed instance named `identity` on lease `name` at `url`.
    pub fn mysql(url: &str, name: &str, identity: &str, settings: LeaseSettings) -> Self {
        let (url, name, identity) = (url.to_owned(), name.to_owned(), identity.to_owned());
        Self::spawn(move || async move {
            // One connection is enough and makes an outage of it an outage of the instance.
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(30))
                .connect(&url)
                .await
                .expect("connect");
            (
                LeaseBackend::MySql {
                    pool,
                    name,
                    identity,
                },
                settings,
            )
        })
    }

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
                let registry = std::sync::Arc::new(std::sync::Mutex::new(registry));
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
