//! The operator under test, run as a host process against the cluster.
//!
//! kwok simulates pods, so the chart's Deployment never runs a real container; the operator
//! binary runs here instead, authenticated as the chart's ServiceAccount (so the chart's RBAC is
//! what it gets). The binary is `target/<profile>/venus-operator`, built by the harness with
//! `cargo build -p venus-operator --bin venus-operator` (a no-op when up to date), because
//! `CARGO_BIN_EXE_*` exists only for a crate's own binaries. `VENUS_OPERATOR_BIN` overrides it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, bail};

/// Path of the operator binary, built once per test process.
pub fn operator_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| locate_or_build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate_or_build() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("VENUS_OPERATOR_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("VENUS_OPERATOR_BIN={} does not exist", path.display());
        }
        return Ok(path);
    }
    let dir = crate::binaries::workspace_binaries(&[("venus-operator", "venus-operator")])
        .context("building the operator binary")?;
    Ok(dir.join("venus-operator"))
}

/// A running operator process; killed (and reaped) on drop.
#[derive(Debug)]
pub struct OperatorProcess {
    child: Child,
    pub log: PathBuf,
}

impl OperatorProcess {
    /// Starts the operator with `kubeconfig` and `args`, logging to `log`.
    pub fn spawn(kubeconfig: &Path, args: &[String], log: &Path) -> anyhow::Result<Self> {
        Self::spawn_with_env(kubeconfig, args, log, &[])
    }

    /// Like [`Self::spawn`], with extra environment variables.
    pub fn spawn_with_env(
        kubeconfig: &Path,
        args: &[String],
        log: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let bin = operator_binary()?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(&bin)
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("POD_NAME")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (an exited operator is a test failure).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "operator exited ({status}); last log lines:\n{}",
                self.log_tail(40)
            );
        }
        Ok(())
    }

    /// Kills the process abruptly (SIGKILL), as a crash or node loss would.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
        }
        self.child.wait()?;
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            eprintln!("stopping operator pid {}: {e}", self.child.id());
        }
    }
}
