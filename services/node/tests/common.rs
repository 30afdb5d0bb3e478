//! Helpers for tests that spawn the `venus` binary in a temp repo on a free port.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const VENUS: &str = env!("CARGO_BIN_EXE_venus");

/// A daemon child process, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub repo: PathBuf,
    pub url: String,
    pub token: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Put a config.json that binds the API to a free port (tests never use fixed ports).
pub fn write_free_port_config(repo: &Path) {
    std::fs::create_dir_all(repo).expect("repo dir");
    std::fs::write(
        repo.join("config.json"),
        r#"{"api":{"apiAddress":"/ip4/127.0.0.1/tcp/0"}}"#,
    )
    .expect("config");
}

/// Start `venus --repo <repo> <args>` and wait until it has written its api and token files.
pub fn start_daemon(repo: &Path, args: &[&str]) -> Daemon {
    start_daemon_with_env(repo, args, &[])
}

/// [`start_daemon`] with extra environment variables for the daemon.
pub fn start_daemon_with_env(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
    let _ = std::fs::remove_file(repo.join("api"));
    let log = std::fs::File::create(repo.with_extension("log")).expect("log file");
    let child = Command::new(VENUS)
        .arg("--repo")
        .arg(repo)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn venus");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut daemon = Daemon {
        child,
        repo: repo.to_path_buf(),
        url: String::new(),
        token: String::new(),
    };
    loop {
        if let (Ok(api), Ok(token)) = (
            std::fs::read_to_string(repo.join("api")),
            std::fs::read_to_string(repo.join("token")),
        ) && !api.is_empty()
        {
            let port = api.trim().rsplit('/').next().expect("port").to_owned();
            daemon.url = format!("http://127.0.0.1:{port}");
            daemon.token = token.trim().to_owned();
            return daemon;
        }
        if let Ok(Some(status)) = daemon.child.try_wait() {
            let log = std::fs::read_to_string(repo.with_extension("log")).unwrap_or_default();
            panic!("venus daemon exited early with {status}: {log}");
        }
        assert!(
            Instant::now() < deadline,
            "venus daemon did not start within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn venus(repo: &Path, args: &[&str]) -> Output {
    Command::new(VENUS)
        .arg("--repo")
        .arg(repo)
        .args(args)
        .output()
        .expect("run venus")
}

/// POST one JSON-RPC call; returns (HTTP status, body JSON or Null).
pub async fn rpc(
    url: &str,
    token: Option<&str>,
    method: &str,
    params: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = venus_rpc::tls::http_client_builder()
        .build()
        .expect("http client")
        .post(format!("{url}/rpc/v1"))
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}
