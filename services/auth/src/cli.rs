//! The command line: `run`, and the client commands that talk to the running server over
//! its REST API with the admin token in `<repo>/token`, as the original does.
//!
//! Both the seed's forms (`user add --name=U --miner=M`, `user update --name U --miner=M`,
//! `token gen --perm admin <new name>`) and the current original's forms work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use venus_auth_client::AuthClient;
use venus_auth_client::types::{
    OutputUser, ReqLimit, STATE_ENABLED, UpdateUserRequest, UserRateLimit,
};
use venus_rpc::Permission;

use crate::config::DEFAULT_LISTEN;
use crate::repo;
use venus_goconf::parse_go_duration;

#[derive(Parser, Debug)]
#[command(
    name = "venus-auth",
    version,
    about = "venus-auth: JWT tokens, users, miners and signers for the venus chain service"
)]
pub struct Cli {
    /// Repo directory [default: $SOPHON_AUTH_PATH, $VENUS_AUTH_PATH or ~/.venus-auth]
    #[arg(long, global = true)]
    pub repo: Option<PathBuf>,
    /// Listen address of `run`, and the address client commands dial [default: config Listen, 127.0.0.1:8989]
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// Config file [default: <repo>/config.toml]
    #[arg(short = 'c', long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the venus-auth server
    Run(RunArgs),
    /// Manage tokens
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage users (and their miners, signers and rate limits)
    #[command(subcommand)]
    User(UserCmd),
    /// Miners of users
    #[command(subcommand)]
    Miner(MinerCmd),
    /// Signer addresses of users
    #[command(subcommand)]
    Signer(SignerCmd),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// MySQL DSN (overrides db.DSN)
    #[arg(long = "mysql-dsn")]
    pub mysql_dsn: Option<String>,
    /// Store type: badger (embedded, default), sqlite (same) or mysql (overrides db.type)
    #[arg(long = "db-type")]
    pub db_type: Option<String>,
    /// How long to keep retrying a database that is not reachable at start (Go duration)
    #[arg(long = "db-wait", default_value = "60s", value_parser = parse_go_duration)]
    pub db_wait: Duration,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Generate a token for a user (the user is created if it does not exist yet)
    Gen {
        /// read, write, sign or admin
        #[arg(long)]
        perm: Permission,
        #[arg(long, default_value = "")]
        extra: String,
        name: String,
    },
    /// Show tokens by user name or by token
    Get {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        token: Option<String>,
    },
    /// List tokens
    List {
        #[arg(long, default_value_t = 0)]
        skip: i64,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Remove a token (it stops verifying at once)
    #[command(visible_alias = "remove")]
    Rm { token: String },
    /// Restore a removed token
    Recover { token: String },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user: `user add <name>` or `user add --name=<name> [--miner=<minerID>]`
    Add {
        name_arg: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Bind this miner (f0…) to the new user
        #[arg(long)]
        miner: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        /// 1 enabled, 2 disabled
        #[arg(long, default_value_t = STATE_ENABLED)]
        state: i64,
    },
    /// Show a user
    Get { name: String },
    /// Update a user: `user update --name <name> [--miner=<minerID>] [--comment] [--state]`
    Update {
        name_arg: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Bind this miner (f0…) to the user
        #[arg(long)]
        miner: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        /// 1 enabled, 2 disabled (disabled users' tokens stop verifying)
        #[arg(long)]
        state: Option<i64>,
    },
    /// Enable a user
    Active { name: String },
    /// List users with their miners
    List {
        #[arg(long, default_value_t = 0)]
        skip: i64,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// 1 enabled, 2 disabled; all when not given
        #[arg(long, default_value_t = 0)]
        state: i64,
    },
    /// Remove a user, its miners and signers (its tokens stop verifying)
    #[command(visible_alias = "rm")]
    Delete { name: String },
    /// Restore a removed user
    Recover { name: String },
    /// Per-user request limits (enforced by the gateway and other services)
    #[command(subcommand, name = "rate-limit")]
    RateLimit(RateLimitCmd),
    /// Miners of a user
    #[command(subcommand)]
    Miner(MinerCmd),
    /// Signer addresses of a user
    #[command(subcommand)]
    Signer(SignerCmd),
}

#[derive(Subcommand, Debug)]
pub enum RateLimitCmd {
    /// `add <user> <amount> <duration>`: at most <amount> requests per <duration>
    Add {
        name: String,
        amount: i64,
        #[arg(value_parser = parse_go_duration)]
        duration: Duration,
        #[arg(long, default_value = "")]
        id: String,
    },
    /// `update <user> <id> <amount> <duration>`
    Update {
        name: String,
        id: String,
        amount: i64,
        #[arg(value_parser = parse_go_duration)]
        duration: Duration,
    },
    /// `get <user>`
    Get { name: String },
    /// `del <user> <id>`
    #[command(visible_alias = "rm")]
    Del { name: String, id: String },
}

#[derive(Subcommand, Debug)]
pub enum MinerCmd {
    /// `add <user> <miner>`: bind a miner (f0…) to a user
    Add {
        user: String,
        miner: String,
        #[arg(long = "openMining", default_value_t = true, action = clap::ArgAction::Set)]
        open_mining: bool,
    },
    /// `exist --user <user> <miner>`
    Exist {
        #[arg(long)]
        user: String,
        miner: String,
    },
    /// `list <user>`
    List { user: String },
    /// `delete <miner>`
    #[command(visible_alias = "rm")]
    Delete { miner: String },
    /// `has <miner>`: whether any user has the miner
    Has { miner: String },
}

#[derive(Subcommand, Debug)]
pub enum SignerCmd {
    /// `register <user> <address>...`
    #[command(visible_alias = "add")]
    Register {
        user: String,
        #[arg(required = true)]
        signers: Vec<String>,
    },
    /// `exist --user <user> <address>`
    Exist {
        #[arg(long)]
        user: String,
        signer: String,
    },
    /// `list <user>`
    List { user: String },
    /// `unregister --user <user> <address>...`
    #[command(visible_alias = "rm")]
    Unregister {
        #[arg(long)]
        user: String,
        #[arg(required = true)]
        signers: Vec<String>,
    },
    /// `has <address>`: whether any user has the signer
    Has { signer: String },
    /// `del --really-do-it <address>`: remove the signer from every user
    Del {
        #[arg(long = "really-do-it")]
        really_do_it: bool,
        signer: String,
    },
}

/// A client of the running server, with the CLI's admin token.
pub fn connect(
    repo_flag: Option<&Path>,
    listen: Option<&str>,
    config: Option<&Path>,
) -> anyhow::Result<AuthClient> {
    let repo_dir = repo::resolve(repo_flag)?;
    let listen = match listen {
        Some(l) => l.to_owned(),
        None => repo::load_config_if_present(&repo_dir, config)?
            .map(|c| c.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
    };
    let token_path = repo_dir.join(repo::TOKEN_FILE);
    let token = std::fs::read_to_string(&token_path).with_context(|| {
        format!(
            "cannot read the admin token {}: start `venus-auth run` with this repo first",
            token_path.display()
        )
    })?;
    let addr = dial_address(&listen);
    Ok(AuthClient::new(&addr, token.trim())?.with_cache(Duration::ZERO, 1))
}

/// `0.0.0.0:8989` is where the server listens, not where to dial.
fn dial_address(listen: &str) -> String {
    if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        return format!("127.0.0.1:{port}");
    }
    if let Some(port) = listen.strip_prefix("[::]:") {
        return format!("[::1]:{port}");
    }
    if let Some(port) = listen.strip_prefix(':') {
        return format!("127.0.0.1:{port}");
    }
    listen.to_owned()
}

pub async fn token(c: &AuthClient, cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Gen { perm, extra, name } => {
            if !c.has_user(&name).await? {
                c.create_user(&name, Some("created by `token gen`"), STATE_ENABLED)
                    .await?;
                eprintln!("user {name} did not exist and was created");
            }
            println!("{}", c.gen_token(&name, perm, &extra).await?);
        }
        TokenCmd::Get { name, token } => {
            let tokens = match (name, token) {
                (_, Some(t)) => c.get_token(&t).await?,
                (Some(n), None) => c.get_tokens_by_name(&n).await?,
                (None, None) => anyhow::bail!("give --name or --token"),
            };
            for t in tokens {
                println!(
                    "name: {}\nperm: {}\ncreate time: {}\ntoken: {}\n",
                    t.name, t.perm, t.create_time, t.token
                );
            }
        }
        TokenCmd::List { skip, limit } => {
            println!("num\tname\t\tperm\t\tcreateTime\t\ttoken");
            for (i, t) in c.list_tokens(skip, limit).await?.into_iter().enumerate() {
                println!(
                    "{}\t{}\t\t{}\t\t{}\t{}",
                    skip + i as i64 + 1,
                    t.name,
                    t.perm,
                    t.create_time.format("%Y-%m-%d %H:%M:%S"),
                    t.token
                );
            }
        }
        TokenCmd::Rm { token } => {
            c.remove_token(&token).await?;
            println!("remove token success: {token}");
        }
        TokenCmd::Recover { token } => {
            c.recover_token(&token).await?;
            println!("recover token success: {token}");
        }
    }
    Ok(())
}

fn one_name(positional: Option<String>, flag: Option<String>) -> anyhow::Result<String> {
    match (positional, flag) {
        (Some(a), Some(b)) if a != b => {
            anyhow::bail!("two different user names given: {a} and --name {b}")
        }
        (Some(n), _) | (None, Some(n)) => Ok(n),
        (None, None) => anyhow::bail!("a user name is required: `<name>` or --name <name>"),
    }
}

fn state_name(state: i64) -> &'static str {
    match state {
        1 => "enabled",
        2 => "disabled",
        _ => "unknown",
    }
}

fn print_user(u: &OutputUser) {
    println!("name: {}", u.name);
    println!("state: {}", state_name(u.state));
    println!("comment: {}", u.comment);
    println!("createTime: {}", fmt_unix(u.create_time));
    println!("updateTime: {}", fmt_unix(u.update_time));
}

fn fmt_unix(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub async fn user(c: &AuthClient, cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            name_arg,
            name,
            miner,
            comment,
            state,
        } => {
            let name = one_name(name_arg, name)?;
            // Check the miner before creating anything, so a typo leaves no half-made user.
            if let Some(m) = &miner {
                crate::address::parse_miner(m).map_err(|e| anyhow::anyhow!("--miner: {e}"))?;
            }
            let user = c.create_user(&name, comment.as_deref(), state).await?;
            println!(
                "Add user success: {}, next can add miner for this user",
                user.id
            );
            if let Some(m) = miner {
                add_miner(c, &name, &m, true).await?;
            }
        }
        UserCmd::Get { name } => print_user(&c.get_user(&name).await?),
        UserCmd::Update {
            name_arg,
            name,
            miner,
            comment,
            state,
        } => {
            let name = one_name(name_arg, name)?;
            if miner.is_none() && comment.is_none() && state.is_none() {
                anyhow::bail!("nothing to update: give --miner, --comment or --state");
            }
            if comment.is_some() || state.is_some() {
                c.update_user(&UpdateUserRequest {
                    name: name.clone(),
                    comment,
                    state: state.unwrap_or(0),
                })
                .await?;
            } else {
                c.get_user(&name).await?;
            }
            if let Some(m) = miner {
                add_miner(c, &name, &m, true).await?;
            }
            println!("update user success");
        }
        UserCmd::Active { name } => {
            c.update_user(&UpdateUserRequest {
                name,
                comment: None,
                state: STATE_ENABLED,
            })
            .await?;
            println!("active user success");
        }
        UserCmd::List { skip, limit, state } => {
            for (i, u) in c
                .list_users(skip, limit, state)
                .await?
                .into_iter()
                .enumerate()
            {
                let miners = c.list_miners(&u.name).await?;
                println!("number: {}", skip + i as i64 + 1);
                print_user(&u);
                let names: Vec<&str> = miners.iter().map(|m| m.miner.as_str()).collect();
                println!("miners: [{}]\n", names.join(" "));
            }
        }
        UserCmd::Delete { name } => {
            if !c.has_user(&name).await? {
                anyhow::bail!("not found user {name}");
            }
            c.delete_user(&name).await?;
            println!("remove user success");
        }
        UserCmd::Recover { name } => {
            c.recover_user(&name).await?;
            println!("recover user success");
        }
        UserCmd::RateLimit(cmd) => rate_limit(c, cmd).await?,
        UserCmd::Miner(cmd) => miner(c, cmd).await?,
        UserCmd::Signer(cmd) => signer(c, cmd).await?,
    }
    Ok(())
}

async fn add_miner(c: &AuthClient, user: &str, miner: &str, open: bool) -> anyhow::Result<()> {
    // The server stores the normalised form (`t01000` → `f01000`); show that one.
    let miner = &crate::address::parse_miner(miner).unwrap_or_else(|_| miner.to_owned());
    if c.upsert_miner(user, miner, open).await? {
        println!("create user:{user} miner:{miner} success.");
    } else {
        println!("update user:{user} miner:{miner} success.");
    }
    Ok(())
}

async fn rate_limit(c: &AuthClient, cmd: RateLimitCmd) -> anyhow::Result<()> {
    let limit = |name: String, id: String, amount: i64, d: Duration| UserRateLimit {
        id,
        name,
        service: String::new(),
        api: String::new(),
        req_limit: ReqLimit {
            cap: amount,
            reset_dur: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        },
    };
    match cmd {
        RateLimitCmd::Add {
            name,
            amount,
            duration,
            id,
        } => {
            if !c.get_rate_limits(&name, "").await?.is_empty() {
                anyhow::bail!("user {name} already has a rate limit: use `user rate-limit update`");
            }
            let id = c
                .upsert_rate_limit(&limit(name, id, amount, duration))
                .await?;
            println!("upsert user rate limit success:\t{id}");
        }
        RateLimitCmd::Update {
            name,
            id,
            amount,
            duration,
        } => {
            if !c
                .get_rate_limits(&name, &id)
                .await?
                .iter()
                .any(|l| l.id == id)
            {
                anyhow::bail!("user {name} has no rate limit {id}");
            }
            let id = c
                .upsert_rate_limit(&limit(name, id, amount, duration))
                .await?;
            println!("upsert user rate limit success:\t{id}");
        }
        RateLimitCmd::Get { name } => {
            for l in c.get_rate_limits(&name, "").await? {
                let hours = l.req_limit.reset_dur as f64 / 3.6e12;
                println!(
                    "user:{}, limit id:{}, request limit amount:{}, duration:{:.2}(h)",
                    l.name, l.id, l.req_limit.cap, hours
                );
            }
        }
        RateLimitCmd::Del { name, id } => {
            let id = c.delete_rate_limit(&name, &id).await?;
            println!("delete rate limit success, {id}");
        }
    }
    Ok(())
}

pub async fn miner(c: &AuthClient, cmd: MinerCmd) -> anyhow::Result<()> {
    match cmd {
        MinerCmd::Add {
            user,
            miner,
            open_mining,
        } => add_miner(c, &user, &miner, open_mining).await?,
        MinerCmd::Exist { user, miner } => println!("{}", c.miner_exists(&user, &miner).await?),
        MinerCmd::List { user } => {
            c.get_user(&user).await?;
            let miners = c.list_miners(&user).await?;
            println!("user: {user}, miner count:{}", miners.len());
            println!("idx\tminer\topenMining\tcreate-time");
            for (i, m) in miners.iter().enumerate() {
                println!(
                    "{i}\t{}\t{}\t\t{}",
                    m.miner,
                    m.open_mining,
                    m.created_at.format("%Y-%m-%d %H:%M:%S")
                );
            }
        }
        MinerCmd::Delete { miner } => {
            if c.delete_miner(&miner).await? {
                println!("remove miner:{miner} success.");
            } else {
                println!("miner:{miner} not exists.");
            }
        }
        MinerCmd::Has { miner } => println!("{}", c.has_miner(&miner).await?),
    }
    Ok(())
}

pub async fn signer(c: &AuthClient, cmd: SignerCmd) -> anyhow::Result<()> {
    match cmd {
        SignerCmd::Register { user, signers } => {
            c.register_signers(&user, &signers).await?;
            println!(
                "register signer address:{} success for {user}.",
                signers.join(",")
            );
        }
        SignerCmd::Exist { user, signer } => println!("{}", c.signer_exists(&user, &signer).await?),
        SignerCmd::List { user } => {
            println!("idx\tsigner\tcreate-time");
            for (i, s) in c.list_signers(&user).await?.iter().enumerate() {
                println!(
                    "{i}\t{}\t{}",
                    s.signer,
                    s.created_at.format("%Y-%m-%d %H:%M:%S")
                );
            }
        }
        SignerCmd::Unregister { user, signers } => {
            c.unregister_signers(&user, &signers).await?;
            println!(
                "unregister signers: {} of {user} success.",
                signers.join(",")
            );
        }
        SignerCmd::Has { signer } => println!("{}", c.has_signer(&signer).await?),
        SignerCmd::Del {
            really_do_it,
            signer,
        } => {
            if !really_do_it {
                anyhow::bail!("this removes {signer} from every user: add --really-do-it");
            }
            c.delete_signer(&signer).await?;
            println!("delete success");
        }
    }
    Ok(())
}
