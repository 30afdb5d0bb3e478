//! `venus-auth` binary: wires the CLI to the server and the client commands.

// mimalloc: the per-request allocations of the HTTP/JSON-RPC path cost a third less CPU
// than with glibc malloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;
use venus_auth::cli::{self, Cli, Command};
use venus_auth::server::{self, RunOverrides};

/// Logs go to stderr (`VENUS_LOG_FORMAT=json` for JSON lines); `RUST_LOG` overrides the level.
fn init_tracing(level: &str) {
    let level = match level {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        other => other,
    };
    if let Err(e) = venus_rpc::observe::init_tracing(&format!("{level},sqlx=warn,hyper=warn")) {
        eprintln!("warning: {e}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    match dispatch(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(args: Cli) -> anyhow::Result<()> {
    let Cli {
        repo,
        listen,
        config,
        command,
    } = args;
    if let Command::Run(run) = command {
        let repo_dir = venus_auth::repo::resolve(repo.as_deref())?;
        let overrides = RunOverrides {
            listen,
            db_type: run.db_type,
            mysql_dsn: run.mysql_dsn,
        };
        let config = server::prepare_config(&repo_dir, config.as_deref(), &overrides)?;
        init_tracing(&config.log_level);
        return server::run(repo_dir, config, run.db_wait).await;
    }
    init_tracing("warn");
    let client = cli::connect(repo.as_deref(), listen.as_deref(), config.as_deref())?;
    match command {
        Command::Run(_) => Ok(()),
        Command::Token(cmd) => cli::token(&client, cmd).await,
        Command::User(cmd) => cli::user(&client, cmd).await,
        Command::Miner(cmd) => cli::miner(&client, cmd).await,
        Command::Signer(cmd) => cli::signer(&client, cmd).await,
    }
}
