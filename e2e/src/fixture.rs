//! The shared world of the operator e2e tests: one cluster per test process, the
//! venus-operator chart installed with `helm install --wait`, and the operator binary running
//! as a host process under the chart's ServiceAccount.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cluster::Cluster;
use crate::command::run;
use crate::operator::{OperatorProcess, operator_binary};
use crate::tools::{self, repo_root};

pub const OPERATOR_NAMESPACE: &str = "venus-system";
pub const RELEASE: &str = "venus-operator";
/// Leader-election Lease of the chart (values.yaml `leaderElection.leaseName`).
pub const LEADER_LEASE: &str = "venus-operator-leader";
/// Identity of the host-process operator in the leader-election Lease.
pub const HOST_IDENTITY: &str = "e2e-host-operator";

pub struct OperatorEnv {
    pub cluster: Cluster,
    /// Kubeconfig authenticating as the chart's ServiceAccount.
    pub operator_kubeconfig: PathBuf,
    /// Port of the operator's metrics/health endpoints on 127.0.0.1.
    pub metrics_port: u16,
    /// `helm install --wait` duration.
    pub helm_install_time: Duration,
    operator: Mutex<Option<OperatorProcess>>,
}

impl OperatorEnv {
    /// The shared environment, set up on first use; `None` means "skip" (tools missing, CI
    /// unset — already printed). A setup failure fails every test that asks for it.
    pub fn shared(test: &str) -> Option<&'static OperatorEnv> {
        static ENV: OnceLock<Result<OperatorEnv, String>> = OnceLock::new();
        let tools = tools::require_tools(test)?;
        let env = ENV.get_or_init(|| Self::setup(&tools).map_err(|e| format!("{e:#}")));
        match env {
            Ok(env) => Some(env),
            Err(e) => panic!("{test}: e2e environment setup failed: {e}"),
        }
    }

    fn setup(tools: &tools::Tools) -> anyhow::Result<Self> {
        // Build the operator before the cluster exists: a compile error should not cost a cluster.
        operator_binary()?;
        let cluster = Cluster::start(tools, "venus-e2e")?;
        eprintln!(
            "E2E-TIMING cluster start (cluster.sh up → ready, nodes, storage class): {:.1}s",
            cluster.start_time.as_secs_f64()
        );
        let started = Instant::now();
        run(cluster
            .helm()
            .args(["install", RELEASE])
            .arg(repo_root().join("charts/venus-operator"))
            .args(["--namespace", OPERATOR_NAMESPACE, "--create-namespace"])
            .args(["--wait", "--timeout", "3m"]))
        .context("helm install venus-operator")?;
        let helm_install_time = started.elapsed();
        eprintln!(
            "E2E-TIMING helm install --wait venus-operator: {:.1}s",
            helm_install_time.as_secs_f64()
        );
        let operator_kubeconfig =
            cluster.service_account_kubeconfig(OPERATOR_NAMESPACE, RELEASE)?;
        let env = Self {
            cluster,
            operator_kubeconfig,
            metrics_port: free_port()?,
            helm_install_time,
            operator: Mutex::new(None),
        };
        env.start_operator()?;
        Ok(env)
    }

    /// The command line the chart's Deployment uses, with the host's address and identity.
    fn operator_args(&self) -> Vec<String> {
        vec![
            "run".into(),
            "--leader-elect=true".into(),
            format!("--leader-election-namespace={OPERATOR_NAMESPACE}"),
            format!("--leader-election-lease-name={LEADER_LEASE}"),
            format!("--leader-election-identity={HOST_IDENTITY}"),
            // The test cluster's apiserver shares two cores with the other e2e tests; a renewal
            // can stall for seconds there, and a host operator that lost its term exits and
            // fails the test. A restarted host operator keeps its identity, so the longer lease
            // never delays a handover in these tests.
            "--lease-duration-seconds=30".into(),
            format!("--metrics-address=127.0.0.1:{}", self.metrics_port),
            "--log-format=text".into(),
            "--log-level=info,venus_operator=debug".into(),
        ]
    }

    pub fn start_operator(&self) -> anyhow::Result<()> {
        let mut slot = self
            .operator
            .lock()
            .map_err(|_| anyhow::anyhow!("operator lock poisoned"))?;
        if slot.is_some() {
            return Ok(());
        }
        let log = self.cluster.run_dir.join("operator.log");
        // The node pods' in-cluster names (status.chain) through the harness's cluster network;
        // the Kubernetes client reads only HTTPS_PROXY, so its own traffic goes direct.
        let proxy = crate::pods::network::proxy_url()?;
        let process = OperatorProcess::spawn_with_env(
            &self.operator_kubeconfig,
            &self.operator_args(),
            &log,
            &[
                ("POD_NAMESPACE", OPERATOR_NAMESPACE),
                ("HTTP_PROXY", proxy.as_str()),
                ("http_proxy", proxy.as_str()),
                ("NO_PROXY", "127.0.0.1,localhost"),
                // Heads read every 10 s (the default is 30 s), so a test sees one rise sooner.
                ("VENUS_OPERATOR_HEAD_INTERVAL", "10"),
            ],
        )?;
        self.cluster.own_process(process.pid())?;
        *slot = Some(process);
        Ok(())
    }

    /// Kills the operator abruptly (SIGKILL), as a crash would.
    pub fn kill_operator(&self) -> anyhow::Result<()> {
        let mut slot = self
            .operator
            .lock()
            .map_err(|_| anyhow::anyhow!("operator lock poisoned"))?;
        if let Some(mut process) = slot.take() {
            process.kill()?;
        }
        Ok(())
    }

    /// Fails when the operator process has exited.
    pub fn check_operator(&self) -> anyhow::Result<()> {
        let mut slot = self
            .operator
            .lock()
            .map_err(|_| anyhow::anyhow!("operator lock poisoned"))?;
        match slot.as_mut() {
            Some(process) => process.check_running(),
            None => Ok(()),
        }
    }

    pub fn operator_log_tail(&self, lines: usize) -> String {
        self.operator
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|p| p.log_tail(lines)))
            .unwrap_or_default()
    }

    pub fn kubectl(&self) -> Command {
        self.cluster.kubectl()
    }

    /// Creates a namespace for one test.
    pub fn namespace(&self, name: &str) -> anyhow::Result<String> {
        run(self.kubectl().args(["create", "namespace", name]))?;
        Ok(name.to_owned())
    }
}

/// A loopback port nothing listens on right now (for processes the tests start).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
