//! Runs the real `venus-auth` binary in a temporary HOME, as an operator would.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_venus-auth");

/// The database a test runs against.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// A Go-driver DSN (the seed's form) for a fresh database on the test MariaDB.
    Mysql(String),
}

/// The test MariaDB server URL (`mysql://root@127.0.0.1:<port>/`), or `None` to skip.
/// Under `CI` a missing server is a failure, not a skip.
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

/// A unique database on the test server, in the Go driver's DSN form the seed writes.
pub fn mysql_backend(server_url: &str) -> Backend {
    let url = reqwest::Url::parse(server_url).expect("VENUS_TEST_MYSQL_URL is a URL");
    let user = if url.username().is_empty() {
        "root"
    } else {
        url.username()
    };
    let pass = url.password().map(|p| format!(":{p}")).unwrap_or_default();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(3306);
    let db = format!("venus_auth_test_{}_{}", std::process::id(), unique());
    Backend::Mysql(format!(
        "{user}{pass}@({host}:{port})/{db}?parseTime=true&loc=Local&charset=utf8mb4&collation=utf8mb4_unicode_ci&readTimeout=10s&writeTimeout=10s"
    ))
}

fn unique() -> u128 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    t % 1_000_000_000 * 100 + u128::from(N.fetch_add(1, Ordering::Relaxed))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary HOME with `~/.venus-auth/config.toml` pointing at a free port and `backend`.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Home {
    pub fn new(backend: &Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let repo = dir.path().join(".venus-auth");
        std::fs::create_dir_all(&repo).unwrap();
        let db = match backend {
            Backend::Sqlite => "[db]\ntype = \"badger\"\n".to_owned(),
            Backend::Mysql(dsn) => format!(
                "[db]\ntype = \"mysql\"\nDSN = \"{dsn}\"\nmaxOpenConns = 8\nmaxIdleConns = 8\nmaxLifeTime = \"120s\"\nmaxIdleTime = \"30s\"\n"
            ),
        };
        std::fs::write(
            repo.join("config.toml"),
            format!("Listen = \"127.0.0.1:{port}\"\n{db}"),
        )
        .unwrap();
        Self { dir, port }
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join(".venus-auth")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HOME", self.dir.path())
            .env_remove("SOPHON_AUTH_PATH")
            .env_remove("VENUS_AUTH_PATH")
            .env_remove("RUST_LOG");
        c
    }

    /// Run a client command to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Run a client command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "venus-auth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run a client command that must fail; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            !out.status.success(),
            "venus-auth {args:?} should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// `venus-auth run` (verbatim), waiting until it serves.
    pub fn start(&self) -> Server {
        self.start_with(&["run"])
    }

    pub fn start_with(&self, args: &[&str]) -> Server {
        let mut server = self.spawn(args);
        server.wait_ready(&self.repo());
        server
    }

    /// Start the server without waiting for it (to start several at once).
    pub fn spawn(&self, args: &[&str]) -> Server {
        let log = self.dir.path().join("auth.log");
        let child = self
            .command(args)
            .stdout(Stdio::from(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        Server {
            child: Some(child),
            log,
            url: self.url(),
            admin_token: String::new(),
        }
    }

    /// `venus-auth run` that must fail (within 60 s); its stderr.
    pub fn run_fails(&self) -> String {
        let mut child = self
            .command(&["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("venus-auth run should have failed but kept running");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!status.success(), "venus-auth run exited 0: {err}");
        err
    }
}

pub struct Server {
    child: Option<Child>,
    pub log: PathBuf,
    pub url: String,
    /// The CLI's admin token from `<repo>/token`.
    pub admin_token: String,
}

impl Server {
    pub fn wait_ready(&mut self, repo: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("venus-auth exited early ({status}): {}", self.log_text());
            }
            let up = std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok();
            if up && let Ok(t) = std::fs::read_to_string(repo.join("token")) {
                self.admin_token = t.trim().to_owned();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "venus-auth did not start: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `POST /verify` as the current Go client sends it; (status, body).
pub async fn verify_json(url: &str, bearer: &str, token: &str) -> (u16, serde_json::Value) {
    let resp = venus_rpc::tls::http_client_builder()
        .build()
        .unwrap()
        .post(format!("{url}/verify"))
        .bearer_auth(bearer)
        .header("X-VENUS-API-NAMESPACE", "auth.IAuthClient")
        .json(&serde_json::json!({ "Token": token }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

pub fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
}
