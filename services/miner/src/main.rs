//! `venus-miner`: `init` a repo, `run` the miner, or manage a running one (`address …`,
//! `winner count`, `stop`, `version`).

// mimalloc: as every service of the workspace (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use venus_api::miner as api;
use venus_miner::config::SlashFilterType;
use venus_miner::daemon::RunOptions;
use venus_miner::init::InitOptions;
use venus_miner::repo;
use venus_rpc::Client;
use venus_types::{Address, ChainEpoch};

#[derive(Parser)]
#[command(
    name = "venus-miner",
    version,
    about = "Block production for every miner of the pool, through the gateway"
)]
struct Cli {
    /// Repository directory (config.toml, token, api).
    #[arg(
        long,
        visible_alias = "miner-repo",
        global = true,
        env = "VENUS_MINER_PATH",
        default_value = "~/.venus-miner"
    )]
    repo: String,
    /// Config file to read instead of <repo>/config.toml; never written (a mounted ConfigMap).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initialise the repo: ask the node its network, write config.toml.
    Init(InitArgs),
    /// Start the miner.
    Run(RunArgs),
    /// Stop a running miner.
    Stop,
    /// The pool's miners.
    #[command(subcommand)]
    Address(AddressCmd),
    /// Past elections.
    #[command(subcommand)]
    Winner(WinnerCmd),
    /// The mine recorder's records (`[Recorder] Enable = true`).
    #[command(subcommand)]
    Record(RecordCmd),
    /// The running miner's version.
    Version,
}

#[derive(Args)]
struct InitArgs {
    /// The node's API multiaddr.
    #[arg(long)]
    api: String,
    /// Token for the node, the gateways and venus-auth (an admin token of venus-auth).
    #[arg(long, hide_env_values = true)]
    token: String,
    /// venus-auth URL.
    #[arg(long)]
    auth_api: String,
    /// Gateway multiaddr; repeat it for several gateways.
    #[arg(long, required = true)]
    gateway_api: Vec<String>,
    /// The network (e.g. 2k, calibnet, mainnet, nerpanet); checked against the node's.
    #[arg(long)]
    nettype: Option<String>,
    /// Where mined blocks are recorded: local or mysql.
    #[arg(long, default_value = "local")]
    slash_filter: SlashFilterType,
    /// MySQL DSN for --slash-filter mysql.
    #[arg(long)]
    mysql_conn: Option<String>,
    /// API listen address, host:port.
    #[arg(long, default_value = "127.0.0.1:12308")]
    listen: String,
}

#[derive(Args)]
struct RunArgs {
    /// API listen multiaddr; overrides `[API] ListenAddress`.
    #[arg(long)]
    listen: Option<String>,
    /// Do not wait for the node to sync.
    #[arg(long)]
    nosync: bool,
    /// Largest API request body in bytes (0 = the default, 100 MiB).
    #[arg(long)]
    api_max_req_size: Option<usize>,
    /// Log level (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// The operator's database flags (as the messager's): `mysql` selects a MySQL slash filter.
    #[arg(long, hide = true)]
    db_type: Option<String>,
    #[arg(long, hide = true, hide_env_values = true)]
    mysql_dsn: Option<String>,
}

#[derive(Subcommand)]
enum AddressCmd {
    /// Re-read the miners from venus-auth.
    Update {
        #[arg(long, default_value_t = 0)]
        skip: i64,
        #[arg(long, default_value_t = 0)]
        limit: i64,
    },
    /// Every miner of the pool (JSON).
    List,
    /// Whether each miner is mined, and its recent errors (JSON); all miners when none given.
    State { miners: Vec<String> },
    /// Switch mining on (persisted in venus-auth).
    Start {
        #[arg(required = true)]
        miners: Vec<String>,
    },
    /// Switch mining off (persisted in venus-auth).
    Stop {
        #[arg(required = true)]
        miners: Vec<String>,
    },
    /// Run a test WinningPoSt for a miner through the gateway.
    Warmup { miner: String },
}

#[derive(Subcommand)]
enum RecordCmd {
    /// Records of `<miner>` from `<epoch>` on (JSON): `record query --limit 200 t01038 814000`.
    Query {
        miner: String,
        epoch: ChainEpoch,
        /// How many epochs from `<epoch>` (at most `[Recorder] MaxRecordPerQuery`).
        #[arg(long, default_value_t = 1)]
        limit: u64,
    },
}

#[derive(Subcommand)]
enum WinnerCmd {
    /// Re-run past elections and count the wins per miner (JSON).
    Count {
        #[arg(long, required = true)]
        epoch_start: ChainEpoch,
        #[arg(long, required = true)]
        epoch_end: ChainEpoch,
        #[arg(required = true)]
        miners: Vec<String>,
    },
}

fn main() -> ExitCode {
    venus_rpc::process::run_main("venus-miner", dispatch(Cli::parse()))
}

/// `SOPHON_MINER_PATH` is the renamed project's variable; honoured when no other is set.
fn repo_path(flag: &str) -> PathBuf {
    if flag == "~/.venus-miner"
        && let Some(p) = std::env::var_os("SOPHON_MINER_PATH").filter(|p| !p.is_empty())
    {
        return PathBuf::from(p);
    }
    venus_rpc::process::expand_home(flag)
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let repo = repo_path(&cli.repo);
    let config = cli
        .config
        .as_deref()
        .map(|p| venus_rpc::process::expand_home(&p.to_string_lossy()));
    match cli.command {
        Command::Init(a) => {
            venus_miner::init::init(
                &repo,
                InitOptions {
                    api: a.api,
                    token: a.token,
                    auth_api: a.auth_api,
                    gateway_api: a.gateway_api,
                    nettype: a.nettype,
                    slash_filter: a.slash_filter,
                    mysql_conn: a.mysql_conn,
                    listen: a.listen,
                },
            )
            .await
        }
        Command::Run(a) => {
            venus_rpc::observe::init_tracing(&a.log_level).map_err(anyhow::Error::msg)?;
            let mysql_dsn =
                match a.db_type.as_deref() {
                    None | Some("sqlite" | "local") => None,
                    Some("mysql") => Some(a.mysql_dsn.filter(|d| !d.is_empty()).context(
                        "--db-type=mysql needs --mysql-dsn (the slash filter's MySQL DSN)",
                    )?),
                    Some(other) => bail!("--db-type {other:?}: expected sqlite or mysql"),
                };
            venus_miner::daemon::run(
                &repo,
                config.as_deref(),
                RunOptions {
                    listen: a.listen,
                    nosync: a.nosync,
                    api_max_req_size: a.api_max_req_size,
                    mysql_dsn,
                },
            )
            .await
        }
        Command::Stop => {
            client(&repo).await?.call(api::SHUTDOWN, ()).await?;
            println!("venus-miner stopping");
            Ok(())
        }
        Command::Version => {
            let v = client(&repo).await?.call(api::VERSION, ()).await?;
            println!(
                "venus-miner {} (API {})",
                v.version,
                api_version(v.api_version)
            );
            Ok(())
        }
        Command::Address(cmd) => address(&repo, cmd).await,
        Command::Record(RecordCmd::Query {
            miner,
            epoch,
            limit,
        }) => {
            let miner = parse_addrs(std::slice::from_ref(&miner))?[0];
            let c = client(&repo).await?;
            let params = api::QueryRecordParams {
                miner,
                epoch,
                limit,
            };
            print_json(&c.call(api::QUERY_RECORD, (params,)).await?)
        }
        Command::Winner(WinnerCmd::Count {
            epoch_start,
            epoch_end,
            miners,
        }) => {
            if epoch_start > epoch_end {
                bail!("--epoch-start {epoch_start} is after --epoch-end {epoch_end}");
            }
            let miners = parse_addrs(&miners)?;
            let c = client(&repo).await?;
            print_json(
                &c.call(api::COUNT_WINNERS, (miners, epoch_start, epoch_end))
                    .await?,
            )
        }
    }
}

fn api_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

fn parse_addrs(list: &[String]) -> anyhow::Result<Vec<Address>> {
    list.iter()
        .map(|s| {
            s.parse::<Address>()
                .map_err(|e| anyhow::anyhow!("invalid miner address {s:?}: {e}"))
        })
        .collect()
}

/// The running daemon, from `<repo>/api` and `<repo>/token`.
async fn client(repo: &std::path::Path) -> anyhow::Result<Client> {
    let addr = repo::read_api(repo)?;
    let token = repo::read_token(repo)?;
    Client::builder(&addr)
        .version("v0")
        .token(Some(token))
        .connect()
        .await
        .with_context(|| format!("connecting to venus-miner at {addr}: is it running?"))
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn address(repo: &std::path::Path, cmd: AddressCmd) -> anyhow::Result<()> {
    // Addresses are checked before anything is sent.
    let parsed = match &cmd {
        AddressCmd::State { miners }
        | AddressCmd::Start { miners }
        | AddressCmd::Stop { miners } => parse_addrs(miners)?,
        AddressCmd::Warmup { miner } => parse_addrs(std::slice::from_ref(miner))?,
        AddressCmd::Update { .. } | AddressCmd::List => Vec::new(),
    };
    let c = client(repo).await?;
    match cmd {
        AddressCmd::Update { skip, limit } => {
            print_json(&c.call(api::UPDATE_ADDRESS, (skip, limit)).await?)
        }
        AddressCmd::List => print_json(&c.call(api::LIST_ADDRESS, ()).await?),
        AddressCmd::State { .. } => print_json(&c.call(api::STATES_FOR_MINING, (parsed,)).await?),
        AddressCmd::Start { .. } => {
            c.call(api::START, (parsed.clone(),)).await?;
            for a in parsed {
                println!("{a}: mining started");
            }
            Ok(())
        }
        AddressCmd::Stop { .. } => {
            c.call(api::STOP, (parsed.clone(),)).await?;
            for a in parsed {
                println!("{a}: mining stopped");
            }
            Ok(())
        }
        AddressCmd::Warmup { miner } => {
            let addr = parsed.first().copied().context("no miner")?;
            c.call(api::WARMUP_FOR_MINER, (addr,)).await?;
            println!("{miner}: warmup WinningPoSt done");
            Ok(())
        }
    }
}
