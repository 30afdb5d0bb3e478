//! `venus`: wires the CLI to the node library. Errors print one clear line and exit 1.

// mimalloc: the per-request allocations of the HTTP/JSON-RPC path cost a third less CPU
// than with glibc malloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use venus_node::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ERROR: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Daemon(ref args) => venus_node::daemon::run(&cli, args.clone()).await,
            _ => venus_node::commands::run(cli).await,
        }
    });
    if let Err(e) = result {
        eprintln!("ERROR: {e:#}");
        std::process::exit(1);
    }
}
