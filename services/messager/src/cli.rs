//! The command line: `run`, and the client subcommands pool operators use, each calling
//! the running messager's API with `<repo>/token`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use venus_api::messager::{
    self as m, AddressSpec, MessageRecord, MessageState, MsgQueryParams, NodeInfo, QuickSendParams,
    ReplaceMessageParams,
};
use venus_types::{Address, Cid, TokenAmount};

use crate::config::{Config, DEFAULT_LISTEN};
use crate::daemon::RunArgs;

#[derive(Parser)]
#[command(
    name = "venus-messager",
    version,
    about = "Durable per-address message queues: nonces, gas, signing through the gateway, pushing, tracking"
)]
pub struct Cli {
    /// Repository directory (config.toml, token, message.db).
    #[arg(
        long,
        global = true,
        env = "VENUS_MESSAGER_PATH",
        default_value = "~/.venus-messager"
    )]
    repo: String,
    /// Config file to read instead of <repo>/config.toml (never written; e.g. a ConfigMap).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the messager.
    Run(RunArgs),
    /// Messages.
    #[command(subcommand)]
    Msg(MsgCmd),
    /// Sending addresses.
    #[command(subcommand)]
    Address(AddressCmd),
    /// Global fee defaults and selection size.
    #[command(subcommand, name = "share-params")]
    ShareParams(ShareParamsCmd),
    /// Extra chain nodes (pushed to, and failed over to).
    #[command(subcommand)]
    Node(NodeCmd),
    /// Fee spec per (actor code, method).
    #[command(subcommand)]
    Actor(ActorCmd),
    /// Send funds (or call a method) through the messager.
    Send(SendArgs),
}

#[derive(Subcommand)]
enum MsgCmd {
    /// List messages of one state (JSON or a table).
    List {
        #[arg(long, default_value_t = 1)]
        page_index: i64,
        #[arg(long, default_value_t = 100)]
        page_size: i64,
        /// Only messages older than this (Go duration, e.g. 3h).
        #[arg(long, short = 't')]
        time: Option<String>,
        /// State: a number or a name (unfill, fill, onchain, failed, nonceconflict, nowallet).
        #[arg(long, default_value = "1")]
        state: String,
        #[arg(long)]
        from: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table")]
        output_type: String,
        #[arg(long, short = 'v')]
        verbose: bool,
    },
    /// One message by id or by cid.
    Search {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        cid: Option<String>,
    },
    /// Wait until a message is on chain.
    Wait {
        id: String,
        #[arg(long, default_value_t = 5)]
        confidence: u64,
    },
    /// Re-price a signed message: `<id>` or `<from> <nonce>`.
    Replace {
        args: Vec<String>,
        #[arg(long)]
        gas_feecap: Option<String>,
        #[arg(long)]
        gas_premium: Option<String>,
        #[arg(long)]
        gas_limit: Option<i64>,
        #[arg(long)]
        auto: bool,
        #[arg(long)]
        max_fee: Option<String>,
        #[arg(long)]
        gas_over_premium: Option<f64>,
    },
    /// Push a signed message to the nodes again.
    Republish { id: String },
    /// Mark messages failed (their nonces are not given back).
    MarkBad {
        #[arg(long)]
        really_do_it: bool,
        #[arg(long)]
        from: Option<String>,
        ids: Vec<String>,
    },
    /// Look a signed message up on chain now and record it if it landed.
    UpdateFilledMsg {
        #[arg(long)]
        id: Option<String>,
        #[arg(long = "signed_cid", alias = "s_cid")]
        signed_cid: Option<String>,
        #[arg(long = "unsigned_cid", alias = "u_cid")]
        unsigned_cid: Option<String>,
    },
    /// Look every signed message up on chain now.
    UpdateAllFilledMsg,
    /// Put failed messages that were signed with a nonce the chain has not used back in flight.
    RecoverFailedMsg {
        #[arg(long)]
        really_do_it: bool,
        #[arg(long)]
        from: Option<String>,
        ids: Vec<String>,
    },
    /// Waiting messages whose last estimation failed.
    ListFail,
    /// Messages not yet on chain older than --time.
    ListBlocked {
        #[arg(long, short = 't', default_value = "3h")]
        time: String,
        #[arg(long)]
        from: Option<String>,
    },
}

/// The fee flags of `actor add` and `actor update-fee-params`.
#[derive(clap::Args)]
struct ActorFeeArgs {
    #[arg(long)]
    gas_overestimation: Option<f64>,
    #[arg(long)]
    gas_over_premium: Option<f64>,
    /// attoFIL.
    #[arg(long)]
    gas_feecap: Option<String>,
    /// attoFIL.
    #[arg(long)]
    max_fee: Option<String>,
    /// attoFIL.
    #[arg(long)]
    base_fee: Option<String>,
}

impl ActorFeeArgs {
    fn change(&self) -> anyhow::Result<m::ChangeGasSpecParams> {
        let amount = |v: &Option<String>, what| v.as_deref().map(|s| atto(s, what)).transpose();
        Ok(m::ChangeGasSpecParams {
            gas_over_estimation: self.gas_overestimation,
            max_fee: amount(&self.max_fee, "--max-fee")?,
            gas_fee_cap: amount(&self.gas_feecap, "--gas-feecap")?,
            gas_over_premium: self.gas_over_premium,
            base_fee: amount(&self.base_fee, "--base-fee")?,
        })
    }
}

#[derive(Subcommand)]
enum ActorCmd {
    /// Every actor config.
    List,
    /// One actor config by id.
    Get { id: String },
    /// A fee spec for messages to actors of `code` calling `method`.
    Add {
        /// The actor code CID.
        code: String,
        /// The method number.
        method: u64,
        #[arg(long, default_value_t = 0)]
        version: i64,
        #[command(flatten)]
        fee: ActorFeeArgs,
    },
    /// Change an actor config's fee spec (only the flags given).
    UpdateFeeParams {
        id: String,
        #[command(flatten)]
        fee: ActorFeeArgs,
    },
}

#[derive(Subcommand)]
enum AddressCmd {
    List,
    Search {
        address: String,
    },
    Forbidden {
        address: String,
    },
    Active {
        address: String,
    },
    SetSelMsgNum {
        address: String,
        #[arg(long)]
        num: u64,
    },
    SetFeeParams {
        address: String,
        #[arg(long)]
        gas_overestimation: Option<f64>,
        #[arg(long)]
        gas_feecap: Option<String>,
        #[arg(long)]
        max_fee: Option<String>,
        #[arg(long)]
        base_fee: Option<String>,
        #[arg(long)]
        gas_over_premium: Option<f64>,
    },
}

#[derive(Subcommand)]
enum ShareParamsCmd {
    Get,
    /// Change only the values given.
    Set {
        #[arg(long)]
        gas_over_estimation: Option<f64>,
        #[arg(long)]
        max_fee: Option<String>,
        #[arg(long)]
        gas_feecap: Option<String>,
        #[arg(long)]
        sel_msg_num: Option<u64>,
        #[arg(long)]
        base_fee: Option<String>,
        #[arg(long)]
        gas_over_premium: Option<f64>,
    },
}

#[derive(Subcommand)]
enum NodeCmd {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "")]
        token: String,
    },
    List,
    Del {
        name: String,
    },
}

#[derive(clap::Args)]
struct SendArgs {
    to: String,
    /// Amount in FIL.
    amount: String,
    #[arg(long)]
    from: String,
    #[arg(long, default_value = "")]
    account: String,
    #[arg(long)]
    gas_premium: Option<String>,
    #[arg(long)]
    gas_feecap: Option<String>,
    #[arg(long)]
    gas_limit: Option<i64>,
    #[arg(long, default_value_t = 0)]
    method: u64,
    #[arg(long)]
    params_hex: Option<String>,
    #[arg(long)]
    params_json: Option<String>,
}

pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let repo = venus_rpc::process::expand_home(&cli.repo);
    let config = cli
        .config
        .as_deref()
        .map(|p| venus_rpc::process::expand_home(&p.to_string_lossy()));
    match cli.command {
        Command::Run(args) => crate::daemon::run(&repo, config, args).await,
        cmd => {
            let c = client(&repo, config.as_deref()).await?;
            match cmd {
                Command::Run(_) => Ok(()),
                Command::Msg(x) => msg_cmd(&c, x).await,
                Command::Address(x) => address_cmd(&c, x).await,
                Command::ShareParams(x) => share_params_cmd(&c, x).await,
                Command::Node(x) => node_cmd(&c, x).await,
                Command::Actor(x) => actor_cmd(&c, x).await,
                Command::Send(x) => send_cmd(&c, x).await,
            }
        }
    }
}

async fn client(repo: &Path, config: Option<&Path>) -> anyhow::Result<venus_rpc::Client> {
    let cfg = match config {
        Some(p) => Config::load_file(p)?,
        None => Config::load(repo)?.0,
    };
    let listen = if cfg.api.address.is_empty() {
        DEFAULT_LISTEN.to_owned()
    } else {
        cfg.api.address.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/")
    };
    let path = repo.join("token");
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is venus-messager running with this --repo?)",
            path.display()
        )
    })?;
    venus_rpc::Client::builder(&listen)
        .version("v0")
        .token(Some(token.trim().to_owned()))
        .connect()
        .await
        .with_context(|| format!("connecting to venus-messager at {listen}"))
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn addr(s: &str) -> anyhow::Result<Address> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("invalid address {s:?}: {e}"))
}

fn atto(s: &str, what: &str) -> anyhow::Result<TokenAmount> {
    s.parse::<num_bigint::BigInt>()
        .map(TokenAmount::from_atto)
        .map_err(|e| anyhow::anyhow!("{what} {s:?} is not an amount in attoFIL: {e}"))
}

/// `1.5` FIL → attoFIL.
fn fil(s: &str) -> anyhow::Result<TokenAmount> {
    let s = s.trim().trim_end_matches("FIL").trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 18 || whole.is_empty() && frac.is_empty() {
        bail!("amount {s:?} is not a FIL amount (up to 18 decimals)");
    }
    let digits = format!("{whole}{frac:0<18}");
    digits
        .parse::<num_bigint::BigInt>()
        .map(TokenAmount::from_atto)
        .map_err(|e| anyhow::anyhow!("amount {s:?}: {e}"))
}

fn duration_ns(s: &str) -> anyhow::Result<i64> {
    let d = venus_goconf::parse_go_duration(s).map_err(|e| anyhow::anyhow!("{s:?}: {e}"))?;
    Ok(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn print_table(msgs: &[MessageRecord], verbose: bool) {
    println!(
        "{:<38} {:<44} {:>6} {:<12} {:>8} ERROR",
        "ID", "FROM", "NONCE", "STATE", "HEIGHT"
    );
    for r in msgs {
        let err = if verbose || r.error_msg.len() <= 40 {
            r.error_msg.clone()
        } else {
            format!("{}…", r.error_msg.chars().take(40).collect::<String>())
        };
        println!(
            "{:<38} {:<44} {:>6} {:<12} {:>8} {}",
            r.id,
            r.from.to_string(),
            r.nonce,
            r.state.name(),
            r.height,
            err
        );
    }
}

async fn msg_cmd(c: &venus_rpc::Client, cmd: MsgCmd) -> anyhow::Result<()> {
    match cmd {
        MsgCmd::List {
            page_index,
            page_size,
            time,
            state,
            from,
            output_type,
            verbose,
        } => {
            let state = MessageState::parse(&state)
                .ok_or_else(|| anyhow::anyhow!("unknown state {state:?}"))?;
            let older = time.as_deref().map(duration_ns).transpose()?.unwrap_or(0);
            let list = match from {
                Some(f) => {
                    c.call(
                        m::LIST_MESSAGE_BY_FROM_STATE,
                        (addr(&f)?, state, false, page_index, page_size, older),
                    )
                    .await?
                }
                None => {
                    let p = MsgQueryParams {
                        state: vec![state],
                        limit: page_size.max(1) as u64,
                        offset: (page_index.max(1) as u64 - 1) * page_size.max(1) as u64,
                        ..Default::default()
                    };
                    c.call(m::LIST_MESSAGE, (Some(p),)).await?
                }
            };
            if output_type == "json" {
                print_json(&list)
            } else {
                print_table(&list, verbose);
                Ok(())
            }
        }
        MsgCmd::Search { id, cid } => {
            let r = match (id, cid) {
                (Some(id), _) => c.call(m::GET_MESSAGE_BY_UID, (id,)).await?,
                (None, Some(cid)) => {
                    let cid: Cid = cid
                        .parse()
                        .map_err(|e| anyhow::anyhow!("invalid cid {cid:?}: {e}"))?;
                    match c.call(m::GET_MESSAGE_BY_UNSIGNED_CID, (cid,)).await {
                        Ok(r) => r,
                        Err(_) => c.call(m::GET_MESSAGE_BY_SIGNED_CID, (cid,)).await?,
                    }
                }
                (None, None) => bail!("give --id or --cid"),
            };
            print_json(&r)
        }
        MsgCmd::Wait { id, confidence } => {
            print_json(&c.call(m::WAIT_MESSAGE, (id, confidence)).await?)
        }
        MsgCmd::Replace {
            args,
            gas_feecap,
            gas_premium,
            gas_limit,
            auto,
            max_fee,
            gas_over_premium,
        } => {
            let id = match args.as_slice() {
                [id] => id.clone(),
                [from, nonce] => {
                    let nonce: u64 = nonce
                        .parse()
                        .map_err(|e| anyhow::anyhow!("nonce {nonce:?}: {e}"))?;
                    c.call(m::GET_MESSAGE_BY_FROM_AND_NONCE, (addr(from)?, nonce))
                        .await?
                        .id
                }
                _ => bail!("give <id> or <from> <nonce>"),
            };
            let p = ReplaceMessageParams {
                id,
                auto,
                max_fee: max_fee
                    .as_deref()
                    .map(|s| atto(s, "--max-fee"))
                    .transpose()?
                    .unwrap_or_default(),
                gas_limit: gas_limit.unwrap_or(0),
                gas_premium: gas_premium
                    .as_deref()
                    .map(|s| atto(s, "--gas-premium"))
                    .transpose()?
                    .unwrap_or_default(),
                gas_feecap: gas_feecap
                    .as_deref()
                    .map(|s| atto(s, "--gas-feecap"))
                    .transpose()?
                    .unwrap_or_default(),
                gas_over_premium: gas_over_premium.unwrap_or(0.0),
            };
            let cid = c.call(m::REPLACE_MESSAGE, (p,)).await?;
            println!("{cid}");
            Ok(())
        }
        MsgCmd::Republish { id } => {
            c.call(m::REPUBLISH_MESSAGE, (id,)).await?;
            Ok(())
        }
        MsgCmd::MarkBad {
            really_do_it,
            from,
            ids,
        } => {
            if !really_do_it {
                bail!("marking messages failed cannot be undone here: pass --really-do-it");
            }
            let mut ids = ids;
            if let Some(f) = from {
                let failed = c.call(m::LIST_FAILED_MESSAGE, ()).await?;
                let a = addr(&f)?;
                ids.extend(failed.into_iter().filter(|r| r.from == a).map(|r| r.id));
            }
            for id in ids {
                c.call(m::MARK_BAD_MESSAGE, (id.clone(),)).await?;
                println!("{id} marked bad");
            }
            Ok(())
        }
        MsgCmd::UpdateFilledMsg {
            id,
            signed_cid,
            unsigned_cid,
        } => {
            let id = match (id, signed_cid, unsigned_cid) {
                (Some(id), _, _) => id,
                (None, Some(cid), _) => {
                    let cid: Cid = cid.parse().context("--signed_cid")?;
                    c.call(m::GET_MESSAGE_BY_SIGNED_CID, (cid,)).await?.id
                }
                (None, None, Some(cid)) => {
                    let cid: Cid = cid.parse().context("--unsigned_cid")?;
                    c.call(m::GET_MESSAGE_BY_UNSIGNED_CID, (cid,)).await?.id
                }
                (None, None, None) => bail!("give --id, --signed_cid or --unsigned_cid"),
            };
            println!("{}", c.call(m::UPDATE_FILLED_MESSAGE_BY_ID, (id,)).await?);
            Ok(())
        }
        MsgCmd::UpdateAllFilledMsg => {
            let n = c.call(m::UPDATE_ALL_FILLED_MESSAGE, ()).await?;
            println!("{n} messages found on chain");
            Ok(())
        }
        MsgCmd::RecoverFailedMsg {
            really_do_it,
            from,
            ids,
        } => {
            if !really_do_it {
                bail!("recovered messages are pushed again: pass --really-do-it");
            }
            if let Some(f) = from {
                for id in c.call(m::RECOVER_FAILED_MSG, (addr(&f)?,)).await? {
                    println!("{id} recovered");
                }
            }
            for id in ids {
                let r = c.call(m::GET_MESSAGE_BY_UID, (id.clone(),)).await?;
                if r.state != MessageState::FailedMsg || r.signed_cid.is_none() {
                    bail!(
                        "message {id} is not a signed failed message ({:?})",
                        r.state
                    );
                }
                c.call(
                    m::UPDATE_MESSAGE_STATE_BY_ID,
                    (id.clone(), MessageState::FillMsg),
                )
                .await?;
                println!("{id} recovered");
            }
            Ok(())
        }
        MsgCmd::ListFail => print_json(&c.call(m::LIST_FAILED_MESSAGE, ()).await?),
        MsgCmd::ListBlocked { time, from } => {
            let a = venus_types::MaybeAddress(from.as_deref().map(addr).transpose()?);
            print_json(
                &c.call(m::LIST_BLOCKED_MESSAGE, (a, duration_ns(&time)?))
                    .await?,
            )
        }
    }
}

async fn actor_cmd(c: &venus_rpc::Client, cmd: ActorCmd) -> anyhow::Result<()> {
    match cmd {
        ActorCmd::List => print_json(&c.call(m::LIST_ACTOR_CFG, ()).await?),
        ActorCmd::Get { id } => print_json(&c.call(m::GET_ACTOR_CFG_BY_ID, (id,)).await?),
        ActorCmd::Add {
            code,
            method,
            version,
            fee,
        } => {
            let change = fee.change()?;
            let cfg = m::ActorCfg {
                id: String::new(),
                actor_version: version,
                code: code.parse().context("the actor code CID")?,
                method,
                fee: m::FeeSpec {
                    gas_over_estimation: change.gas_over_estimation.unwrap_or(0.0),
                    max_fee: change.max_fee.unwrap_or_else(TokenAmount::zero),
                    gas_fee_cap: change.gas_fee_cap.unwrap_or_else(TokenAmount::zero),
                    gas_over_premium: change.gas_over_premium.unwrap_or(0.0),
                    base_fee: change.base_fee.unwrap_or_else(TokenAmount::zero),
                },
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            };
            c.call(m::SAVE_ACTOR_CFG, (cfg,)).await?;
            Ok(())
        }
        ActorCmd::UpdateFeeParams { id, fee } => {
            c.call(m::UPDATE_ACTOR_CFG, (id, fee.change()?)).await?;
            Ok(())
        }
    }
}

async fn address_cmd(c: &venus_rpc::Client, cmd: AddressCmd) -> anyhow::Result<()> {
    match cmd {
        AddressCmd::List => print_json(&c.call(m::LIST_ADDRESS, ()).await?),
        AddressCmd::Search { address } => {
            print_json(&c.call(m::GET_ADDRESS, (addr(&address)?,)).await?)
        }
        AddressCmd::Forbidden { address } => {
            c.call(m::FORBIDDEN_ADDRESS, (addr(&address)?,)).await?;
            Ok(())
        }
        AddressCmd::Active { address } => {
            c.call(m::ACTIVE_ADDRESS, (addr(&address)?,)).await?;
            Ok(())
        }
        AddressCmd::SetSelMsgNum { address, num } => {
            c.call(m::SET_SELECT_MSG_NUM, (addr(&address)?, num))
                .await?;
            Ok(())
        }
        AddressCmd::SetFeeParams {
            address,
            gas_overestimation,
            gas_feecap,
            max_fee,
            base_fee,
            gas_over_premium,
        } => {
            let spec = AddressSpec {
                address: addr(&address)?,
                gas_over_estimation: gas_overestimation.unwrap_or(0.0),
                gas_over_premium: gas_over_premium.unwrap_or(0.0),
                max_fee_str: max_fee.unwrap_or_default(),
                gas_fee_cap_str: gas_feecap.unwrap_or_default(),
                base_fee_str: base_fee.unwrap_or_default(),
            };
            c.call(m::SET_FEE_PARAMS, (spec,)).await?;
            Ok(())
        }
    }
}

async fn share_params_cmd(c: &venus_rpc::Client, cmd: ShareParamsCmd) -> anyhow::Result<()> {
    match cmd {
        ShareParamsCmd::Get => print_json(&c.call(m::GET_SHARED_PARAMS, ()).await?),
        ShareParamsCmd::Set {
            gas_over_estimation,
            max_fee,
            gas_feecap,
            sel_msg_num,
            base_fee,
            gas_over_premium,
        } => {
            let mut p = c.call(m::GET_SHARED_PARAMS, ()).await?;
            if let Some(v) = gas_over_estimation {
                p.fee.gas_over_estimation = v;
            }
            if let Some(v) = max_fee {
                p.fee.max_fee = atto(&v, "--max-fee")?;
            }
            if let Some(v) = gas_feecap {
                p.fee.gas_fee_cap = atto(&v, "--gas-feecap")?;
            }
            if let Some(v) = sel_msg_num {
                p.sel_msg_num = v;
            }
            if let Some(v) = base_fee {
                p.fee.base_fee = atto(&v, "--base-fee")?;
            }
            if let Some(v) = gas_over_premium {
                p.fee.gas_over_premium = v;
            }
            c.call(m::SET_SHARED_PARAMS, (p,)).await?;
            Ok(())
        }
    }
}

async fn node_cmd(c: &venus_rpc::Client, cmd: NodeCmd) -> anyhow::Result<()> {
    match cmd {
        NodeCmd::Add { name, url, token } => {
            let n = NodeInfo {
                id: String::new(),
                name,
                url,
                token,
                r#type: 1,
                created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                updated_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            };
            c.call(m::SAVE_NODE, (n,)).await?;
            Ok(())
        }
        NodeCmd::List => {
            let mut nodes = c.call(m::LIST_NODE, ()).await?;
            for n in &mut nodes {
                if !n.token.is_empty() {
                    n.token = "<hidden>".into();
                }
            }
            print_json(&nodes)
        }
        NodeCmd::Del { name } => {
            c.call(m::DELETE_NODE, (name,)).await?;
            Ok(())
        }
    }
}

async fn send_cmd(c: &venus_rpc::Client, a: SendArgs) -> anyhow::Result<()> {
    if a.params_json.is_some() {
        bail!("--params-json is not supported: encode the params and give --params-hex");
    }
    let p = QuickSendParams {
        to: addr(&a.to)?,
        from: addr(&a.from)?,
        val: fil(&a.amount)?,
        account: a.account,
        gas_premium: a
            .gas_premium
            .as_deref()
            .map(|s| atto(s, "--gas-premium"))
            .transpose()?,
        gas_fee_cap: a
            .gas_feecap
            .as_deref()
            .map(|s| atto(s, "--gas-feecap"))
            .transpose()?,
        gas_limit: a.gas_limit,
        method: a.method,
        params: a.params_hex.clone().unwrap_or_default(),
        params_type: if a.params_hex.is_some() { "hex" } else { "" }.into(),
    };
    let id = c.call(m::SEND, (p,)).await?;
    println!("{id}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fil_amounts() {
        assert_eq!(fil("1").unwrap().atto().to_string(), "1000000000000000000");
        assert_eq!(fil("0.5").unwrap().atto().to_string(), "500000000000000000");
        assert!(fil("0.0000000000000000001").is_err());
        assert!(fil("abc").is_err());
    }

    #[test]
    fn the_seed_run_line_parses() {
        let cli = Cli::try_parse_from([
            "venus-messager",
            "--repo=/data",
            "--config=/etc/venus/config.toml",
            "run",
            "--auth-url=http://auth:8989",
            "--node-url=/dns/node/tcp/3453",
            "--gateway-url=/dns/gw-0/tcp/45132",
            "--gateway-url=/dns/gw-1/tcp/45132",
            "--auth-token=tok",
            "--db-type=mysql",
            "--mysql-dsn=u:p@(127.0.0.1:3306)/venus_messager?parseTime=true&loc=Local&readTimeout=10s&writeTimeout=10s",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        let mut cfg = Config::default();
        args.apply(&mut cfg).unwrap();
        assert_eq!(cfg.gateway.url.len(), 2);
        assert_eq!(cfg.node.token, "tok");
        assert_eq!(cfg.jwt.token, "tok");
        assert_eq!(cfg.db.kind, "mysql");
        assert!(cfg.db.mysql.connection_string.starts_with("u:p@"));
        assert!(cfg.validate(Path::new("/data")).is_ok());
        let bad = Cli::try_parse_from(["venus-messager", "run", "--db-type=pg"]).unwrap();
        let Command::Run(args) = bad.command else {
            panic!("not run")
        };
        assert!(
            args.apply(&mut Config::default())
                .unwrap_err()
                .to_string()
                .contains("pg")
        );
    }
}
