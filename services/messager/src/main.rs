//! `venus-messager`: `run` the service, or operate a running one (`msg …`, `address …`,
//! `share-params …`, `node …`, `send`) through its API with the repo's local token.

// mimalloc: as every venus service (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;
use venus_messager::cli::{Cli, dispatch};

fn main() -> ExitCode {
    venus_rpc::process::run_main("venus-messager", dispatch(Cli::parse()))
}
