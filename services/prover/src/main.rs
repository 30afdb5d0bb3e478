//! `venus-prover run`: register with the gateways for every miner of the sector store and
//! answer `ComputeProof`.

// mimalloc: the per-request allocations of the HTTP/JSON-RPC path cost a third less CPU
// than with glibc malloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use venus_consensus::WinningPoStScheme;
use venus_prover::link::ProverLink;
use venus_prover::prove::devnet_scheme;
use venus_prover::store::SectorStore;
use venus_types::Address;

#[derive(Parser)]
#[command(
    name = "venus-prover",
    version,
    about = "Devnet WinningPoSt prover behind venus-gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register with the gateways and serve ComputeProof.
    Run {
        /// Gateway to register with (repeatable); `--gateway-api` is an alias.
        #[arg(
            long = "gateway-url",
            visible_alias = "gateway-api",
            value_delimiter = ',',
            required = true
        )]
        gateway_url: Vec<String>,
        /// venus-auth token whose user owns the miners.
        #[arg(long, env = "VENUS_PROVER_GATEWAY_TOKEN", hide_env_values = true)]
        gateway_token: String,
        /// Directory with the `pre-seal-<miner>.json` files.
        #[arg(long)]
        sector_store: PathBuf,
        /// Serve only these miners (default: every miner in the store).
        #[arg(long, value_delimiter = ',')]
        miner: Vec<String>,
        #[arg(long, default_value = "info")]
        log_level: String,
    },
}

fn main() -> ExitCode {
    venus_rpc::process::run_main("venus-prover", run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Run {
        gateway_url,
        gateway_token,
        sector_store,
        miner,
        log_level,
    } = cli.command;
    venus_rpc::observe::init_tracing(&log_level).map_err(anyhow::Error::msg)?;
    let store = Arc::new(SectorStore::load(&sector_store)?);
    let mut miners = store.miners();
    if !miner.is_empty() {
        let wanted: Vec<Address> = miner
            .iter()
            .map(|m| {
                m.parse()
                    .map_err(|e| anyhow::anyhow!("invalid --miner {m:?}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        for w in &wanted {
            if !miners.contains(w) {
                bail!("miner {w} has no sectors in {}", sector_store.display());
            }
        }
        miners = wanted;
    }
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for gateway in &gateway_url {
        for m in &miners {
            let seal_proof = store.seal_proof(m).context("miner without sectors")?;
            let scheme: Arc<dyn WinningPoStScheme> =
                Arc::new(devnet_scheme(seal_proof).map_err(anyhow::Error::msg)?);
            tracing::info!(gateway, miner = %m, sectors = store.sector_count(m), "serving miner");
            let link = Arc::new(ProverLink {
                gateway: gateway.clone(),
                token: gateway_token.clone(),
                miner: *m,
                store: store.clone(),
                scheme,
            });
            tasks.push(tokio::spawn(link.run(stop.clone())));
        }
    }
    tracing::warn!(
        "devnet proofs: a blake2b commitment, not a proof of storage (venus-consensus DevnetWinningPoSt)"
    );
    venus_rpc::process::shutdown_signal().await;
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
