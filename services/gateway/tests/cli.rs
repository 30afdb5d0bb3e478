//! The `venus-gateway` binary: the seed's start form, operator commands, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_venus-gateway");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A command isolated from the user's home (no `~/.venus-auth/token` fallback).
fn cmd(home: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("HOME", home)
        .env("VENUS_AUTH_PATH", home.join("no-auth"))
        .env_remove("VENUS_GATEWAY_AUTH_TOKEN");
    c
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn seed_form_starts_without_a_token_and_says_what_is_missing() {
    let home = tempfile::tempdir().expect("tempdir");
    let repo = home.path().join(".venus-gateway");
    let port = free_port();
    let child = cmd(home.path())
        .args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "run",
            "--auth-url",
            "http://127.0.0.1:1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut running = Running(child);
    let mut up = false;
    for _ in 0..100 {
        if http_get(port, "/healthcheck").is_some_and(|r| r.contains("200 OK")) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "gateway did not start");
    assert!(http_get(port, "/livez").expect("livez").contains("200 OK"));
    let metrics = http_get(port, "/metrics").expect("metrics");
    assert!(
        metrics.contains("venus_gateway_wallet_addresses"),
        "{metrics}"
    );
    assert!(repo.join("config.toml").exists() && repo.join("token").exists());

    // The operator CLI uses the repo's local token.
    let out = cmd(home.path())
        .args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "wallet",
            "list",
        ])
        .output()
        .expect("wallet list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out = cmd(home.path())
        .args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "miner",
            "state",
            "not-an-address",
        ])
        .output()
        .expect("miner state");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid miner address"));

    let _ = running.0.kill();
    let _ = running.0.wait();
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(stderr.contains("no venus-auth token"), "{stderr}");
    assert!(stderr.contains("--auth-token"), "{stderr}");
}

#[test]
fn bad_flags_and_config_fail_with_a_clear_message() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = cmd(home.path()).args(args).output().expect("run");
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&["run", "--auth-url", "ftp://x"]).contains("invalid auth URL"));
    assert!(run(&["--listen", "/ip4/1.2.3.4/udp/1", "run"]).contains("only tcp"));
    let repo = home.path().join("bad");
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(repo.join("config.toml"), "[API]\nListenAddress = 3\n").expect("write");
    let err = run(&["--repo", repo.to_str().expect("utf8"), "run"]);
    assert!(
        err.contains("config.toml") && err.contains("ListenAddress"),
        "{err}"
    );
    assert!(run(&["run", "--no-such-flag"]).contains("--no-such-flag"));
}

/// The operator's form: the config comes from a mounted (read-only) file, never written back,
/// and the admin token from `run --auth-token`.
#[test]
fn config_flag_reads_the_given_file_and_never_writes_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let repo = home.path().join("data");
    let etc = home.path().join("etc");
    std::fs::create_dir_all(&etc).expect("mkdir");
    let port = free_port();
    // The keys the operator renders (operator/src/build/config.rs).
    let text = format!(
        "[API]\nListenAddress = \"/ip4/127.0.0.1/tcp/{port}\"\n\n[Auth]\nURL = \"http://127.0.0.1:1\"\n"
    );
    let file = etc.join("config.toml");
    std::fs::write(&file, &text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    }
    let child = cmd(home.path())
        .args([
            "--repo",
            repo.to_str().expect("utf8"),
            "--config",
            file.to_str().expect("utf8"),
            "run",
            "--auth-token=not-checked-at-start",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut running = Running(child);
    // No --listen: the port can only come from the file.
    let mut up = false;
    for _ in 0..100 {
        if http_get(port, "/readyz").is_some_and(|r| r.contains("200 OK")) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "gateway did not start on the file's ListenAddress");
    assert!(
        repo.join("token").exists(),
        "the repo still holds the token"
    );
    assert!(
        !repo.join("config.toml").exists(),
        "--config must not write <repo>/config.toml"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), text);

    // Client commands read the listen address from the same file.
    let out = cmd(home.path())
        .args([
            "--repo",
            repo.to_str().expect("utf8"),
            "--config",
            file.to_str().expect("utf8"),
            "wallet",
            "list",
        ])
        .output()
        .expect("wallet list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");

    let _ = running.0.kill();
    let _ = running.0.wait();
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(stderr.contains("http://127.0.0.1:1"), "{stderr}");
    assert!(
        !stderr.contains("not-checked-at-start"),
        "token logged: {stderr}"
    );
    assert!(!stderr.contains("no venus-auth token"), "{stderr}");
}

#[test]
fn config_flag_errors_name_the_file_and_the_key() {
    let home = tempfile::tempdir().expect("tempdir");
    let repo = home.path().join("data");
    let run = |config: &std::path::Path| {
        let out = cmd(home.path())
            .args([
                "--repo",
                repo.to_str().expect("utf8"),
                "--config",
                config.to_str().expect("utf8"),
                "run",
            ])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{} should fail", config.display());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = home.path().join("missing.toml");
    let err = run(&missing);
    assert!(err.contains("missing.toml"), "{err}");
    assert!(
        !missing.exists(),
        "a missing --config file must not be created"
    );

    let typo = home.path().join("typo.toml");
    std::fs::write(&typo, "[Auth]\nUrl = \"http://127.0.0.1:8989\"\n").expect("write");
    let err = run(&typo);
    assert!(err.contains("typo.toml") && err.contains("Url"), "{err}");
    assert!(!repo.join("config.toml").exists());
}
