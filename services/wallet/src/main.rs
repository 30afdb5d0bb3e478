//! `venus-wallet`: `run` the key holder, or manage it (`new`, `import`, `export`, `list`,
//! `sign`, password and lock) through its API.

// mimalloc: the per-request allocations of the HTTP/JSON-RPC path cost a third less CPU
// than with glibc malloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use venus_api::wallet as api;
use venus_rpc::observe::{Health, Metrics};
use venus_rpc::{LocalVerifier, Permission};
use venus_types::{Address, KeyInfo, KeyType, MsgMeta, MsgType, Network};
use venus_wallet::config::Config;
use venus_wallet::keystore::Keystore;
use venus_wallet::link::GatewayLink;
use venus_wallet::wallet::Wallet;

#[derive(Parser)]
#[command(
    name = "venus-wallet",
    version,
    about = "The mining cluster's key holder"
)]
struct Cli {
    /// Repository directory (config.toml, token, keystore/).
    #[arg(
        long,
        global = true,
        env = "VENUS_WALLET_PATH",
        default_value = "~/.venus_wallet"
    )]
    repo: String,
    /// Address network: mainnet (f…) or a test network (t…).
    #[arg(
        long,
        global = true,
        env = "VENUS_ADDRESS_TYPE",
        default_value = "mainnet"
    )]
    nettype: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the wallet daemon.
    Run(RunArgs),
    /// Create a key: secp256k1 (default) or bls.
    New {
        #[arg(default_value = "secp256k1")]
        key_type: String,
    },
    /// List addresses.
    #[command(alias = "ls")]
    List,
    /// Print a key in Lotus's export format (hex of the KeyInfo JSON).
    Export {
        address: String,
    },
    /// Import a key (Lotus hex export or a pre-seal `.key` file; `-` or nothing reads stdin).
    Import {
        path: Option<String>,
        /// hex-lotus (default; also `hex-venus`) or json (a KeyInfo JSON object).
        #[arg(long, default_value = "hex-lotus")]
        format: String,
    },
    /// Sign hex bytes; prints hex(type byte ‖ signature).
    Sign {
        address: String,
        hex_message: String,
        #[arg(long, default_value = "unknown")]
        msg_type: String,
        /// Hex `MsgMeta.Extra`.
        #[arg(long)]
        extra: Option<String>,
    },
    /// Delete a key.
    Del {
        address: String,
    },
    /// Set the password (first time); reads it from the terminal, or stdin when piped.
    #[command(alias = "setpwd")]
    SetPassword,
    Unlock,
    Lock,
    LockState,
    /// Serve one more venus-auth account through every gateway.
    Support {
        account: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Gateway to register with (repeatable); `--gateway-url` is an alias.
    #[arg(
        long = "gateway-api",
        visible_alias = "gateway-url",
        value_delimiter = ','
    )]
    gateway_api: Vec<String>,
    /// venus-auth token (its user is the wallet account) for the gateways.
    #[arg(long, env = "VENUS_WALLET_GATEWAY_TOKEN", hide_env_values = true)]
    gateway_token: Option<String>,
    /// Accounts (venus-auth users) this wallet signs for, besides its token's user.
    #[arg(long, value_delimiter = ',')]
    support_accounts: Vec<String>,
    /// Set or unlock with this password at start (visible to `ps`; prefer
    /// VENUS_WALLET_PASSWORD or `venus-wallet unlock`).
    #[arg(
        long,
        visible_alias = "pwd",
        env = "VENUS_WALLET_PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
    /// API listen address; overrides `[API] ListenAddress`.
    #[arg(long)]
    listen: Option<String>,
    /// Import these key files (Lotus hex export or pre-seal `.key`) at start, after the
    /// password; keys already held are kept. For wallets whose keys come from a mounted
    /// Secret, such as the operator's devnet wallet.
    #[arg(long = "import-key", value_delimiter = ',')]
    import_key: Vec<std::path::PathBuf>,
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    venus_rpc::process::run_main("venus-wallet", dispatch(Cli::parse()))
}

fn parse_addr(s: &str) -> anyhow::Result<Address> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("invalid address {s:?}: {e}"))
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.nettype.as_str() {
        "mainnet" => Network::Mainnet.set_current(),
        "testnet" | "integrationnet" | "2k" | "cali" | "calibnet" | "interop" | "force"
        | "butterfly" | "devnet" => {
            Network::Testnet.set_current();
        }
        other => bail!("unknown --nettype {other:?}: use mainnet, or testnet/2k/calibnet/…"),
    }
    let repo = venus_rpc::process::expand_home(&cli.repo);
    if let Command::Run(args) = cli.command {
        return run(&repo, args).await;
    }
    let c = client(&repo).await?;
    match cli.command {
        Command::Run(_) => Ok(()),
        Command::New { key_type } => {
            let kt: KeyType = key_type.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", c.call(api::WALLET_NEW, (kt,)).await?);
            Ok(())
        }
        Command::List => {
            for a in c.call(api::WALLET_LIST, ()).await? {
                println!("{a}");
            }
            Ok(())
        }
        Command::Export { address } => {
            let info = c.call(api::WALLET_EXPORT, (parse_addr(&address)?,)).await?;
            println!("{}", *info.to_lotus_export());
            Ok(())
        }
        Command::Import { path, format } => {
            let text = read_input(path.as_deref())?;
            let info = match format.as_str() {
                "hex-lotus" | "hex-venus" => {
                    KeyInfo::from_lotus_export(text.trim()).map_err(|e| anyhow::anyhow!("{e}"))?
                }
                "json" | "json-venus" | "gfc-json" => {
                    serde_json::from_str(text.trim()).context("parsing KeyInfo JSON")?
                }
                other => bail!("unknown --format {other:?}: use hex-lotus or json"),
            };
            println!(
                "imported key {}",
                c.call(api::WALLET_IMPORT, (info,)).await?
            );
            Ok(())
        }
        Command::Sign {
            address,
            hex_message,
            msg_type,
            extra,
        } => {
            let data = hex::decode(hex_message.trim_start_matches("0x"))
                .context("the message is not hex")?;
            let extra = extra
                .map(|e| hex::decode(e.trim_start_matches("0x")))
                .transpose()
                .context("--extra is not hex")?;
            let meta = MsgMeta {
                msg_type: MsgType::parse(&msg_type),
                extra: extra.unwrap_or_default().into(),
            };
            let sig = c
                .call(api::WALLET_SIGN, (parse_addr(&address)?, data.into(), meta))
                .await?;
            println!("{}", hex::encode(sig.to_bytes()));
            Ok(())
        }
        Command::Del { address } => {
            c.call(api::WALLET_DELETE, (parse_addr(&address)?,)).await?;
            println!("deleted {address}");
            Ok(())
        }
        Command::SetPassword => {
            let pw = read_password("Password: ", true)?;
            c.call(api::SET_PASSWORD, (pw,)).await?;
            println!("password set; wallet unlocked");
            Ok(())
        }
        Command::Unlock => {
            c.call(api::UNLOCK, (read_password("Password: ", false)?,))
                .await?;
            println!("unlocked");
            Ok(())
        }
        Command::Lock => {
            c.call(api::LOCK, (read_password("Password: ", false)?,))
                .await?;
            println!("locked");
            Ok(())
        }
        Command::LockState => {
            let locked = c.call(api::LOCK_STATE, ()).await?;
            println!("{}", if locked { "locked" } else { "unlocked" });
            Ok(())
        }
        Command::Support { account } => {
            c.call(api::ADD_SUPPORT_ACCOUNT, (account.clone(),)).await?;
            // Persist, so the account survives a wallet restart (venus-wallet PR #162).
            let (mut cfg, _) = Config::load(&repo)?;
            if !cfg.hub.support_accounts.contains(&account) {
                cfg.hub.support_accounts.push(account.clone());
                cfg.save(&repo)?;
            }
            println!("now serving account {account}");
            Ok(())
        }
    }
}

fn read_input(path: Option<&str>) -> anyhow::Result<String> {
    match path {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading stdin")?;
            Ok(s)
        }
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {p}")),
    }
}

/// From the terminal (twice when `confirm`), or one line of stdin when it is not a terminal.
fn read_password(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        if pw.is_empty() {
            bail!("empty password on stdin");
        }
        return Ok(pw);
    }
    let pw = rpassword::prompt_password(prompt).context("reading the password")?;
    if confirm && rpassword::prompt_password("Again: ").context("reading the password")? != pw {
        bail!("the passwords differ");
    }
    if pw.is_empty() {
        bail!("empty password");
    }
    Ok(pw)
}

async fn client(repo: &Path) -> anyhow::Result<venus_rpc::Client> {
    let (cfg, _) = Config::load(repo)?;
    let token_path = repo.join("token");
    let token = std::fs::read_to_string(&token_path).with_context(|| {
        format!(
            "reading {} (is `venus-wallet run` running with this --repo?)",
            token_path.display()
        )
    })?;
    // `<repo>/api` holds the address the running daemon listens on (Lotus style).
    let listen = std::fs::read_to_string(repo.join("api"))
        .map(|s| s.trim().to_owned())
        .unwrap_or(cfg.api.listen_address);
    let addr = listen.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/");
    venus_rpc::Client::builder(&addr)
        .version("v0")
        .token(Some(token.trim().to_owned()))
        .connect()
        .await
        .with_context(|| format!("connecting to the wallet at {addr}"))
}

async fn run(repo: &Path, args: RunArgs) -> anyhow::Result<()> {
    venus_rpc::observe::init_tracing(&args.log_level).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(repo).with_context(|| format!("creating repo {}", repo.display()))?;
    let (mut cfg, existed) = Config::load(repo)?;
    let mut secret = hex::decode(&cfg.jwt.secret).unwrap_or_default();
    if secret.len() < 32 {
        secret = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
        cfg.jwt.secret = hex::encode(&secret);
        cfg.save(repo)?;
    } else if !existed {
        cfg.save(repo)?;
    }
    // Flags apply to this run only.
    if let Some(l) = args.listen {
        cfg.api.listen_address = l;
    }
    if !args.gateway_api.is_empty() {
        cfg.hub.register_api = args.gateway_api;
    }
    if let Some(t) = args.gateway_token {
        cfg.hub.token = t;
    }
    if !args.support_accounts.is_empty() {
        cfg.hub.support_accounts = args.support_accounts;
    }
    cfg.validate()?;
    if cfg
        .sign_filter
        .as_ref()
        .and_then(|t| t.get("Expr"))
        .and_then(|v| v.as_str())
        .is_some_and(|s| !s.is_empty())
    {
        bail!(
            "[SignFilter] Expr is set, but script sign filters are not implemented by this wallet; remove it to start"
        );
    }
    let addr =
        venus_rpc::process::parse_listen(&cfg.api.listen_address).map_err(anyhow::Error::msg)?;

    let keystore = Keystore::open(repo.join("keystore"), cfg.kdf()?)?;
    let wallet = Wallet::with_sign_policy(keystore, cfg.sign_policy()?);
    wallet
        .signed_blocks()
        .persist_to(&repo.join("signed_blocks.json"))?;
    if let Some(pw) = args.password {
        let w = wallet.clone();
        tokio::task::spawn_blocking(move || {
            if w.keystore().has_password() {
                w.keystore().unlock(&pw)
            } else {
                w.keystore().set_password(&pw)
            }
        })
        .await?
        .context("--password")?;
        tracing::info!("wallet unlocked");
        for path in &args.import_key {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--import-key {}", path.display()))?;
            let info = KeyInfo::from_lotus_export(text.trim()).map_err(|e| {
                anyhow::anyhow!("--import-key {}: not a key file: {e}", path.display())
            })?;
            let held = venus_types::crypto::PrivateKey::from_key_info(&info)
                .map(|k| wallet.has(&k.address()))
                .unwrap_or(false);
            if held {
                continue;
            }
            let w = wallet.clone();
            let addr = tokio::task::spawn_blocking(move || w.import(&info))
                .await?
                .with_context(|| format!("--import-key {}", path.display()))?;
            tracing::info!(address = %addr, "key imported");
        }
    } else if !args.import_key.is_empty() {
        bail!("--import-key needs the password (--password or VENUS_WALLET_PASSWORD)");
    } else {
        tracing::warn!(
            "wallet locked: run `venus-wallet unlock` (or `set-password` the first time) before it can sign"
        );
    }

    let local = LocalVerifier::new(secret);
    let token_path = repo.join("token");
    std::fs::write(
        &token_path,
        local.issue("defaultLocalToken", Permission::Admin),
    )
    .with_context(|| format!("writing {}", token_path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600))?;
    }

    let stop = CancellationToken::new();
    let links: Vec<Arc<GatewayLink>> = cfg
        .hub
        .register_api
        .iter()
        .map(|url| {
            GatewayLink::new(
                url.clone(),
                cfg.hub.token.clone(),
                cfg.hub.support_accounts.clone(),
            )
        })
        .collect();
    for link in &links {
        tokio::spawn(link.clone().run(wallet.clone(), stop.clone()));
    }

    let metrics = Metrics::new();
    let rpc = venus_rpc::Server::new(venus_wallet::api::router(&wallet, &links), Arc::new(local))
        .paths(&["/rpc/v0"])
        .metrics(&metrics)
        .into_app();
    let w = wallet.clone();
    let health = Health::new()
        .live("rpc", || async { Ok::<(), String>(()) })
        .ready("unlocked", move || {
            let unlocked = w.keystore().is_unlocked();
            async move {
                if unlocked {
                    Ok(())
                } else {
                    Err("wallet locked".to_owned())
                }
            }
        })
        .router();
    let app = rpc.merge(
        metrics
            .router()
            .merge(health)
            .route("/healthcheck", axum::routing::get(|| async { "ok" })),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr()?;
    let api_path = repo.join("api");
    std::fs::write(
        &api_path,
        format!("/ip4/{}/tcp/{}/http", bound.ip(), bound.port()),
    )
    .with_context(|| format!("writing {}", api_path.display()))?;
    tracing::info!(listen = %listener.local_addr()?, gateways = links.len(), repo = %repo.display(), "venus-wallet serving /rpc/v0");
    let result = venus_rpc::serve(listener, app, venus_rpc::process::shutdown_signal()).await;
    stop.cancel();
    result.context("serving")?;
    tracing::info!("venus-wallet stopped");
    Ok(())
}
