//! `venus-operator`: runs the ChainService controller, or prints the CRD.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use venus_operator::leader::LeaderConfig;
use venus_operator::run::{self, RunConfig};

#[derive(Parser, Debug)]
#[command(
    name = "venus-operator",
    version,
    about = "Kubernetes operator for the venus ChainService resource"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controller (the default).
    Run(RunArgs),
    /// Print the ChainService CRD as YAML.
    Crd,
}

#[derive(clap::Args, Debug, Clone)]
struct RunArgs {
    /// Kubeconfig file; default: in-cluster config, else ~/.kube/config.
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Watch only this namespace (default: all).
    #[arg(long, env = "VENUS_OPERATOR_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Hold a Lease before reconciling, so two replicas can run.
    #[arg(long, env = "VENUS_OPERATOR_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    #[arg(
        long,
        env = "VENUS_OPERATOR_LEASE_NAME",
        default_value = "venus-operator"
    )]
    leader_election_lease_name: String,
    /// Default: POD_NAMESPACE, else the service account's namespace, else `default`.
    #[arg(long, env = "VENUS_OPERATOR_LEASE_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Default: POD_NAME, else the host name.
    #[arg(long, env = "POD_NAME")]
    leader_election_identity: Option<String>,
    #[arg(long, env = "VENUS_OPERATOR_LEASE_DURATION", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=300))]
    lease_duration_seconds: u64,
    /// Address of the HTTP server with /metrics, /livez and /readyz.
    #[arg(
        long,
        env = "VENUS_OPERATOR_METRICS_ADDRESS",
        default_value = "0.0.0.0:8080"
    )]
    metrics_address: SocketAddr,
    /// Seconds between readings of the node pods' heads (`status.chain`, the `Head` column);
    /// a ChainService's status is written at most this often, and only when its head moved.
    #[arg(long, env = "VENUS_OPERATOR_HEAD_INTERVAL", default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=3600))]
    head_interval_seconds: u64,
    #[arg(long, env = "VENUS_OPERATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// tracing EnvFilter directive, e.g. `info,kube=debug`.
    #[arg(long, env = "VENUS_OPERATOR_LOG", default_value = "info")]
    log_level: String,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

fn init_tracing(args: &RunArgs) -> Result<(), String> {
    let filter = EnvFilter::try_new(&args.log_level)
        .map_err(|e| format!("--log-level {:?}: {e}", args.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| format!("initialising logging: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Crd) => {
            return match venus_operator::crd_yaml() {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: serialising the CRD: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Run(args)) => args,
        None => cli.run,
    };
    if let Err(e) = init_tracing(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let lease_duration = Duration::from_secs(args.lease_duration_seconds);
    let config = RunConfig {
        kubeconfig: args.kubeconfig,
        namespace: args.namespace,
        leader: args.leader_elect.then(|| LeaderConfig {
            lease_name: args.leader_election_lease_name,
            namespace: args
                .leader_election_namespace
                .unwrap_or_else(run::default_lease_namespace),
            identity: args
                .leader_election_identity
                .unwrap_or_else(run::default_identity),
            lease_duration,
            retry: run::retry_period(lease_duration),
        }),
        metrics_address: args.metrics_address,
        head_interval: Duration::from_secs(args.head_interval_seconds),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "venus-operator stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
