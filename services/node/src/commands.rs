//! The CLI commands other than `daemon`: the seed commands work on files; `sync status`,
//! `chain head`, `chain export` and `version` call the running daemon's API with the repo's
//! token.

use anyhow::Context as _;

use crate::cli::{Cli, Command, GenesisCommand, PreSealArgs, SeedCommand};
use crate::repo::expand_home;
use crate::seed;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Seed(SeedCommand::PreSeal(args)) => pre_seal(&args),
        Command::Seed(SeedCommand::Genesis(GenesisCommand::New {
            path,
            network_name,
            network_version,
        })) => {
            let tpl = seed::genesis_new(&path, network_name.as_deref(), network_version)?;
            println!(
                "wrote genesis template {} for network {}",
                path.display(),
                tpl.network_name
            );
            Ok(())
        }
        Command::Seed(SeedCommand::Genesis(GenesisCommand::AddMiner { template, preseal })) => {
            let tpl = seed::genesis_add_miner(&template, &preseal)?;
            let ids: Vec<_> = tpl.miners.iter().map(|m| m.id.as_str()).collect();
            println!(
                "template {} now has miners {}",
                template.display(),
                ids.join(", ")
            );
            Ok(())
        }
        Command::Seed(SeedCommand::Devnet(args)) => crate::devnet::run_devnet(&args).await,
        Command::Seed(SeedCommand::DevnetRegister(args)) => {
            crate::devnet::run_register(&args).await
        }
        Command::Daemon(_) => unreachable_daemon(),
        other => {
            crate::client_cmds::run(
                &cli.repo,
                cli.cmdapiaddr.as_deref(),
                cli.token.as_deref(),
                other,
            )
            .await
        }
    }
}

fn unreachable_daemon() -> anyhow::Result<()> {
    anyhow::bail!("internal: the daemon command is dispatched by main")
}

fn pre_seal(args: &PreSealArgs) -> anyhow::Result<()> {
    let sector_size = seed::parse_sector_size(&args.sector_size)?;
    let opts = seed::PreSealOptions {
        sector_dir: expand_home(&args.sector_dir),
        miner_addr: args.miner_addr.clone(),
        sector_size,
        num_sectors: args.num_sectors,
        sector_offset: args.sector_offset,
        key: args.key.clone(),
        network_version: args.network_version,
    };
    eprintln!(
        "pre-sealing {} fake sector(s) of {} bytes for {} (ticket preimage {:?})",
        args.num_sectors, sector_size, args.miner_addr, args.ticket_preimage
    );
    let (json, key) = seed::pre_seal(&opts).context("pre-seal failed")?;
    println!("wrote {}", json.display());
    println!("wrote {}", key.display());
    Ok(())
}
