//! One kwokctl cluster per test process, started by `e2e/cluster/cluster.sh`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::command::run;
use crate::tools::{Tools, repo_root};

/// A running cluster. Dropping it tears it down; if the test process dies without dropping it
/// (a `static`, a panic in another thread, SIGKILL), the watchdog `cluster.sh` started for this
/// process does the same within a second of the process exiting.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub run_dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub tools: Tools,
    /// Time from `cluster.sh up` to a ready API server with nodes and the kwok-volume class.
    pub start_time: Duration,
    helm_env: Vec<(String, String)>,
}

impl Cluster {
    /// Starts a cluster named `<prefix>-<pid>`.
    pub fn start(tools: &Tools, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}-{}", std::process::id());
        let script = script_path();
        let started = Instant::now();
        let env_file = run(Command::new("bash")
            .arg(&script)
            .arg("up")
            .arg(&name)
            .env("VENUS_E2E_CACHE", &tools.cache)
            .env("VENUS_E2E_OWNER_PID", std::process::id().to_string()))
        .with_context(|| format!("starting cluster {name}"))?;
        let start_time = started.elapsed();
        let env = parse_env_file(Path::new(env_file.trim()))?;
        let get = |key: &str| {
            env.get(key)
                .cloned()
                .with_context(|| format!("{key} missing from {}", env_file.trim()))
        };
        let helm_env = ["HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"]
            .iter()
            .map(|k| Ok(((*k).to_owned(), get(k)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            name,
            run_dir: PathBuf::from(get("VENUS_E2E_RUN_DIR")?),
            kubeconfig: PathBuf::from(get("KUBECONFIG")?),
            tools: tools.clone(),
            start_time,
            helm_env,
        })
    }

    /// `kubectl` against this cluster (never the user's own kubeconfig).
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig);
        cmd
    }

    /// The cache's `helm` against this cluster, with helm's home dirs inside the run dir.
    pub fn helm(&self) -> Command {
        let mut cmd = Command::new(self.tools.helm());
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .envs(self.helm_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// A kube client with the cluster's admin credentials.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        client_from_kubeconfig(&self.kubeconfig).await
    }

    /// Registers a process the watchdog must kill together with the cluster.
    pub fn own_process(&self, pid: u32) -> anyhow::Result<()> {
        record_owned_pid(&self.owned_pids_file(), pid)
    }

    /// The file the watchdog reads the PIDs to kill with the cluster from.
    pub fn owned_pids_file(&self) -> PathBuf {
        self.run_dir.join("owned.pids")
    }

    /// Writes a kubeconfig that authenticates as `namespace/service_account` with a bound token,
    /// so a process using it has exactly the RBAC that ServiceAccount was granted.
    pub fn service_account_kubeconfig(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> anyhow::Result<PathBuf> {
        let token = run(self.kubectl().args([
            "create",
            "token",
            service_account,
            "-n",
            namespace,
            "--duration=2h",
        ]))?;
        let path = self
            .run_dir
            .join(format!("kubeconfig-{namespace}-{service_account}"));
        let (server, ca) = self.api_access()?;
        write_token_kubeconfig(
            &path,
            &server,
            &ca,
            namespace,
            service_account,
            token.trim(),
        )?;
        Ok(path)
    }

    /// The API server's URL and the cluster CA file, for kubeconfigs of other identities.
    pub fn api_access(&self) -> anyhow::Result<(String, PathBuf)> {
        let server = run(self.kubectl().args([
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ]))?;
        let ca = self
            .run_dir
            .join("kwok/clusters")
            .join(&self.name)
            .join("pki/ca.crt");
        if !ca.is_file() {
            bail!("cluster CA {} not found", ca.display());
        }
        Ok((server.trim().to_owned(), ca))
    }

    /// Last lines of each control-plane component log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let dir = self
            .run_dir
            .join("kwok/clusters")
            .join(&self.name)
            .join("logs");
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
                    out.push_str(&format!("--- {}\n", entry.path().display()));
                    for line in tail.iter().rev() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let result = run(Command::new("bash")
            .arg(script_path())
            .arg("down")
            .arg(&self.name)
            .env("VENUS_E2E_CACHE", &self.tools.cache));
        if let Err(e) = result {
            eprintln!("tearing down cluster {}: {e:#}", self.name);
        }
    }
}

/// A kube client from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

/// Appends `pid` to an owned-PIDs file (see [`Cluster::owned_pids_file`]).
pub fn record_owned_pid(file: &Path, pid: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{pid}")?;
    Ok(())
}

/// Writes a kubeconfig for `server` (CA file `ca`) that authenticates with `token` as `user`,
/// with `namespace` as its default namespace.
pub fn write_token_kubeconfig(
    path: &Path,
    server: &str,
    ca: &Path,
    namespace: &str,
    user: &str,
    token: &str,
) -> anyhow::Result<()> {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": server, "certificate-authority": ca}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user, "namespace": namespace}}],
        "current-context": "e2e",
    });
    std::fs::write(path, serde_yaml_ng::to_string(&config)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn script_path() -> PathBuf {
    repo_root().join("e2e/cluster/cluster.sh")
}

/// Reads the `export K=V …` lines `cluster.sh` writes.
fn parse_env_file(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut env = HashMap::new();
    for line in text.lines() {
        let Some(assignments) = line.strip_prefix("export ") else {
            continue;
        };
        for pair in assignments.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=') {
                env.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lines_are_parsed_including_several_assignments_per_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env");
        std::fs::write(
            &path,
            "export KUBECONFIG=/r/kubeconfig\nexport HELM_CACHE_HOME=/r/c HELM_DATA_HOME=/r/d\n# comment\n",
        )
        .expect("write env");
        let env = parse_env_file(&path).expect("parse");
        assert_eq!(env["KUBECONFIG"], "/r/kubeconfig");
        assert_eq!(env["HELM_CACHE_HOME"], "/r/c");
        assert_eq!(env["HELM_DATA_HOME"], "/r/d");
        assert_eq!(env.len(), 3);
    }
}
