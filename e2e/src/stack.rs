//! A whole chain service on this machine, as real processes on free ports in a temp dir, for
//! cross-process tests: a 2k devnet seeded as the seed guide does (`venus seed pre-seal`,
//! `genesis new`, `add-miner`, plus funded secp256k1 sender accounts), venus-auth (SQLite),
//! venus-gateway, the `venus` node (`--make-genesis`), venus-wallet holding the pre-seal key
//! and the senders' keys, and venus-prover. Users, miners, signers and tokens are registered
//! as the seed does (`venus-auth token gen`, `user add --name --miner`, `user signer add`).
//!
//! A [`BlockProducer`] mines the devnet's miner over the node's API (MinerGetBaseInfo →
//! VRFs → devnet WinningPoSt → MinerCreateBlock → SyncSubmitBlock) every block delay, until
//! venus-miner takes that job. More processes (venus-messager, venus-miner) are added with
//! [`Stack::spawn`]; any of them can be killed (SIGKILL) and restarted by name. Every
//! process is killed when the stack is dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::SeedableRng;
use tokio::task::JoinHandle;
use venus_api::full_node as api;
use venus_api::messager::{self as msgr_api, MessageRecord, MessageState};
use venus_rpc::Client;
use venus_types::{Address, KeyType, PrivateKey, TipSet, TipSetKey, TokenAmount};

use crate::binaries::workspace_binaries;
use crate::command::run;
use crate::fixture::free_port;

/// The service binaries a stack runs.
pub const STACK_BINARIES: &[(&str, &str)] = &[
    ("venus-auth", "venus-auth"),
    ("venus-gateway", "venus-gateway"),
    ("venus-node", "venus"),
    ("venus-wallet", "venus-wallet"),
    ("venus-prover", "venus-prover"),
];

/// The devnet's genesis miner.
pub const MINER: &str = "t01000";

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Genesis miners (only 1 is supported by the seeding for now).
    pub miners: usize,
    /// Funded secp256k1 accounts whose keys the wallet holds (signers of the user).
    pub senders: usize,
    /// FIL given to each sender at genesis.
    pub sender_fil: u64,
    /// Run the [`BlockProducer`] (off: the test drives the chain itself).
    pub produce_blocks: bool,
    /// The venus-auth user owning the miner and the senders.
    pub user: String,
    /// Extra binaries to build and find (e.g. `("venus-messager", "venus-messager")`).
    pub extra_binaries: Vec<(&'static str, &'static str)>,
    /// More `venus` nodes on the same genesis (`node-1`, …); the block producer submits
    /// every block to each (there is no node-to-node sync yet).
    pub extra_nodes: usize,
    /// Sectors pre-sealed for each genesis miner `t01000`, `t01001`, … (their power is in
    /// proportion); empty: `miners` miners of 2 sectors. All are the user's miners.
    pub miner_sectors: Vec<u64>,
    /// Every genesis miner uses the first miner's worker key (a pool of many miner IDs
    /// with one signing key, as the 1,000-miner bench needs).
    pub shared_worker: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            miners: 1,
            senders: 2,
            sender_fil: 1_000_000,
            produce_blocks: true,
            user: "miner-user".into(),
            extra_binaries: Vec::new(),
            extra_nodes: 0,
            miner_sectors: Vec::new(),
            shared_worker: false,
        }
    }
}

/// How to (re)start a process.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

struct Managed {
    spec: Spec,
    child: Option<Child>,
}

impl Drop for Managed {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn_child(spec: &Spec) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .with_context(|| format!("log {}", spec.log.display()))?;
    Command::new(&spec.program)
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("spawning {}", spec.program.display()))
}

/// A running chain service.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub bin_dir: PathBuf,
    /// venus-auth `http://127.0.0.1:<port>`.
    pub auth_url: String,
    /// The shared admin token (`token gen --perm admin shared`).
    pub admin_token: String,
    pub user: String,
    /// The user's sign token (wallet, prover).
    pub user_token: String,
    /// Multiaddr of the gateway.
    pub gateway_url: String,
    /// Multiaddr of the node.
    pub node_url: String,
    pub node_port: u16,
    /// The extra nodes' multiaddrs, `node-1` first.
    pub extra_node_urls: Vec<String>,
    pub miner: Address,
    pub worker: PrivateKey,
    /// Every genesis miner (`miner` first) with its worker key.
    pub genesis_miners: Vec<(Address, PrivateKey)>,
    /// Funded sender accounts (the wallet holds their keys; signers of `user`).
    pub senders: Vec<Address>,
    pub block_delay: Duration,
    procs: Mutex<BTreeMap<String, Managed>>,
    producer: Option<BlockProducer>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(p) = self.producer.take() {
            p.stop();
        }
        if let Ok(mut procs) = self.procs.lock() {
            procs.clear();
        }
    }
}

/// Polls `url` until it answers 2xx.
pub async fn wait_http(url: &str, within: Duration) -> anyhow::Result<()> {
    let http = venus_rpc::tls::http_client_builder().build()?;
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` until it is true.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("timed out after {within:?} waiting for: {what}")
}

impl Stack {
    pub async fn start(opts: StackOptions) -> anyhow::Result<Stack> {
        let miner_sectors = if opts.miner_sectors.is_empty() {
            vec![2; opts.miners]
        } else {
            opts.miner_sectors.clone()
        };
        if miner_sectors.is_empty() || miner_sectors.contains(&0) {
            bail!("the stack needs at least one genesis miner, each with at least one sector");
        }
        let mut bins: Vec<(&str, &str)> = STACK_BINARIES.to_vec();
        bins.extend(opts.extra_binaries.iter().copied());
        let bin_dir = workspace_binaries(&bins)?;
        let dir = tempfile::tempdir()?;
        let d = dir.path().to_path_buf();
        let venus = bin_dir.join("venus");

        // --- the devnet: pre-seal, template, miners, funded senders.
        let sectors = d.join("sectors");
        let tpl = d.join("localnet.json");
        run(Command::new(&venus)
            .args(["seed", "genesis", "new"])
            .arg(&tpl))?;
        let first_id: u64 = MINER.trim_start_matches("t0").parse()?;
        let worker_key_file = sectors.join(format!("pre-seal-{MINER}.key"));
        let mut genesis_miners = Vec::with_capacity(miner_sectors.len());
        let mut key_files = Vec::new();
        for (i, n) in miner_sectors.iter().enumerate() {
            let id = format!("t0{}", first_id + i as u64);
            let mut pre_seal = Command::new(&venus);
            pre_seal
                .args(["seed", "pre-seal", "--miner-addr", &id, "--num-sectors"])
                .arg(n.to_string())
                .arg("--sector-dir")
                .arg(&sectors);
            if opts.shared_worker && i > 0 {
                pre_seal.arg("--key").arg(&worker_key_file);
            }
            run(&mut pre_seal)?;
            run(Command::new(&venus)
                .args(["seed", "genesis", "add-miner"])
                .arg(&tpl)
                .arg(sectors.join(format!("pre-seal-{id}.json"))))?;
            let key_file = sectors.join(format!("pre-seal-{id}.key"));
            genesis_miners.push((id.parse()?, read_preseal_key(&key_file)?));
            if !(opts.shared_worker && i > 0) {
                key_files.push(key_file);
            }
        }
        let worker = genesis_miners[0].1.clone();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let sender_keys: Vec<PrivateKey> = (0..opts.senders)
            .map(|_| PrivateKey::generate(KeyType::Secp256k1, &mut rng))
            .collect::<Result<_, _>>()?;
        add_accounts(&tpl, &sender_keys, opts.sender_fil)?;

        let mut stack = Stack {
            bin_dir: bin_dir.clone(),
            auth_url: String::new(),
            admin_token: String::new(),
            user: opts.user.clone(),
            user_token: String::new(),
            gateway_url: String::new(),
            node_url: String::new(),
            node_port: 0,
            extra_node_urls: Vec::new(),
            miner: MINER.parse()?,
            worker,
            genesis_miners: genesis_miners.clone(),
            senders: sender_keys.iter().map(PrivateKey::address).collect(),
            block_delay: Duration::from_secs(4),
            procs: Mutex::new(BTreeMap::new()),
            producer: None,
            dir,
        };

        // --- venus-auth (SQLite), tokens, user, signers.
        let auth_port = free_port()?;
        let auth_listen = format!("127.0.0.1:{auth_port}");
        stack.spawn(
            "auth",
            Spec {
                program: bin_dir.join("venus-auth"),
                args: vec![
                    format!("--repo={}", d.join("auth").display()),
                    format!("--listen={auth_listen}"),
                    "run".into(),
                ],
                env: Vec::new(),
                log: d.join("auth.log"),
            },
        )?;
        stack.auth_url = format!("http://{auth_listen}");
        wait_http(
            &format!("{}/healthz", stack.auth_url),
            Duration::from_secs(60),
        )
        .await?;
        stack.admin_token = stack.auth_cli(&["token", "gen", "--perm", "admin", "shared"])?;
        stack.auth_cli(&[
            "user",
            "add",
            &format!("--name={}", opts.user),
            &format!("--miner={MINER}"),
        ])?;
        for (m, _) in genesis_miners.iter().skip(1) {
            stack.auth_cli(&["user", "miner", "add", &opts.user, &m.to_string()])?;
        }
        stack.user_token = stack.auth_cli(&["token", "gen", "--perm", "sign", &opts.user])?;
        let mut signers: Vec<String> = stack.senders.iter().map(ToString::to_string).collect();
        for (_, w) in &genesis_miners {
            let w = w.address().to_string();
            if !signers.contains(&w) {
                signers.push(w);
            }
        }
        let mut args = vec!["user", "signer", "add", opts.user.as_str()];
        args.extend(signers.iter().map(String::as_str));
        stack.auth_cli(&args)?;

        // --- venus-gateway.
        let gw_port = free_port()?;
        stack.gateway_url = format!("/ip4/127.0.0.1/tcp/{gw_port}");
        stack.spawn(
            "gateway",
            Spec {
                program: bin_dir.join("venus-gateway"),
                args: vec![
                    format!("--repo={}", d.join("gateway").display()),
                    format!("--listen={}", stack.gateway_url),
                    "run".into(),
                    format!("--auth-url={}", stack.auth_url),
                    format!("--auth-token={}", stack.admin_token),
                ],
                env: Vec::new(),
                log: d.join("gateway.log"),
            },
        )?;
        wait_http(
            &format!("http://127.0.0.1:{gw_port}/readyz"),
            Duration::from_secs(60),
        )
        .await?;

        // --- the node, making the genesis.
        stack.node_port = free_port()?;
        stack.node_url = format!("/ip4/127.0.0.1/tcp/{}", stack.node_port);
        let node_repo = d.join("node");
        std::fs::create_dir_all(&node_repo)?;
        std::fs::write(
            node_repo.join("config.json"),
            format!(r#"{{"api":{{"apiAddress":"{}"}}}}"#, stack.node_url),
        )?;
        stack.spawn(
            "node",
            Spec {
                program: venus.clone(),
                args: vec![
                    format!("--repo={}", node_repo.display()),
                    "daemon".into(),
                    "--network=2k".into(),
                    format!("--make-genesis={}", d.join("devgen.car").display()),
                    format!("--genesis-template={}", tpl.display()),
                    format!("--auth-url={}", stack.auth_url),
                    format!("--auth-token={}", stack.admin_token),
                ],
                env: Vec::new(),
                log: d.join("node.log"),
            },
        )?;
        wait_http(
            &format!("http://127.0.0.1:{}/livez", stack.node_port),
            Duration::from_secs(120),
        )
        .await?;
        let params = stack
            .node_client()
            .await?
            .call(api::STATE_GET_NETWORK_PARAMS, ())
            .await?;
        stack.block_delay = Duration::from_secs(params.block_delay_secs.max(1));

        // --- venus-wallet with the worker and sender keys; venus-prover.
        let wallet_repo = d.join("wallet");
        std::fs::create_dir_all(&wallet_repo)?;
        std::fs::write(
            wallet_repo.join("config.toml"),
            "[Factor]\nScryptN = 1024\nScryptP = 1\n",
        )?;
        let wallet_port = free_port()?;
        stack.spawn(
            "wallet",
            Spec {
                program: bin_dir.join("venus-wallet"),
                args: vec![
                    format!("--repo={}", wallet_repo.display()),
                    "run".into(),
                    format!("--listen=/ip4/127.0.0.1/tcp/{wallet_port}/http"),
                    format!("--gateway-api={}", stack.gateway_url),
                    format!("--gateway-token={}", stack.user_token),
                    format!("--support-accounts={}", opts.user),
                ],
                env: vec![("VENUS_WALLET_PASSWORD".into(), "e2e-password".into())],
                log: d.join("wallet.log"),
            },
        )?;
        wait_http(
            &format!("http://127.0.0.1:{wallet_port}/livez"),
            Duration::from_secs(60),
        )
        .await?;
        for f in &key_files {
            stack.wallet_import(f)?;
        }
        for (i, key) in sender_keys.iter().enumerate() {
            let f = d.join(format!("sender-{i}.key"));
            std::fs::write(&f, key.to_key_info().to_lotus_export().as_bytes())?;
            stack.wallet_import(&f)?;
        }
        stack.spawn(
            "prover",
            Spec {
                program: bin_dir.join("venus-prover"),
                args: vec![
                    "run".into(),
                    format!("--gateway-url={}", stack.gateway_url),
                    format!("--gateway-token={}", stack.user_token),
                    format!("--sector-store={}", sectors.display()),
                ],
                env: Vec::new(),
                log: d.join("prover.log"),
            },
        )?;

        let mut node_urls = vec![stack.node_rpc_url()];
        // Extra nodes follow the main node over libp2p (as replicas of the node tier do), so
        // they hold the messages and blocks the main node has, whoever submitted them.
        let bootstrap = if opts.extra_nodes > 0 {
            Some(stack.node_p2p_address().await?)
        } else {
            None
        };
        for i in 1..=opts.extra_nodes {
            let name = format!("node-{i}");
            let port = free_port()?;
            let url = format!("/ip4/127.0.0.1/tcp/{port}");
            let repo = d.join(&name);
            std::fs::create_dir_all(&repo)?;
            std::fs::write(
                repo.join("config.json"),
                format!(r#"{{"api":{{"apiAddress":"{url}"}}}}"#),
            )?;
            stack.spawn(
                &name,
                Spec {
                    program: venus.clone(),
                    args: vec![
                        format!("--repo={}", repo.display()),
                        "daemon".into(),
                        "--network=2k".into(),
                        format!("--genesisfile={}", d.join("devgen.car").display()),
                        format!("--auth-url={}", stack.auth_url),
                        format!("--auth-token={}", stack.admin_token),
                        format!(
                            "--bootstrap-peers={}",
                            bootstrap.clone().unwrap_or_default()
                        ),
                    ],
                    env: Vec::new(),
                    log: d.join(format!("{name}.log")),
                },
            )?;
            wait_http(
                &format!("http://127.0.0.1:{port}/livez"),
                Duration::from_secs(120),
            )
            .await?;
            node_urls.push(format!("http://127.0.0.1:{port}/rpc/v1"));
            stack.extra_node_urls.push(url);
        }
        if opts.produce_blocks {
            let producer = BlockProducer::start(
                node_urls,
                stack.admin_token.clone(),
                stack.worker.clone(),
                stack.miner,
                stack.block_delay,
            );
            stack.producer = Some(producer);
        }
        Ok(stack)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:<node port>/rpc/v1`.
    pub fn node_rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}/rpc/v1", self.node_port)
    }

    /// The main node's libp2p address on loopback, `/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>`.
    pub async fn node_p2p_address(&self) -> anyhow::Result<String> {
        let info = self
            .node_client()
            .await?
            .call(api::NET_ADDRS_LISTEN, ())
            .await?;
        let addr = info
            .addrs
            .iter()
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
            .with_context(|| {
                format!("the node listens on no loopback address: {:?}", info.addrs)
            })?;
        Ok(format!("{addr}/p2p/{}", info.id))
    }

    /// A client of the node with the shared admin token.
    pub async fn node_client(&self) -> anyhow::Result<Client> {
        Ok(Client::builder(&self.node_rpc_url())
            .token(Some(self.admin_token.clone()))
            .connect()
            .await?)
    }

    /// Runs a venus-auth CLI command against the stack's venus-auth; returns the last line.
    pub fn auth_cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = run(Command::new(self.bin_dir.join("venus-auth"))
            .arg(format!("--repo={}", self.path().join("auth").display()))
            .arg(format!(
                "--listen={}",
                self.auth_url.trim_start_matches("http://")
            ))
            .args(args))?;
        Ok(out.trim().lines().last().unwrap_or_default().to_owned())
    }

    fn wallet_import(&self, key_file: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = run(Command::new(self.bin_dir.join("venus-wallet"))
                .arg(format!("--repo={}", self.path().join("wallet").display()))
                .arg("import")
                .arg(key_file));
            match r {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Starts a process under `name` (killed on drop; see [`Stack::kill`], [`Stack::restart`]).
    pub fn spawn(&self, name: &str, spec: Spec) -> anyhow::Result<()> {
        let child = spawn_child(&spec)?;
        let mut procs = self
            .procs
            .lock()
            .map_err(|_| anyhow::anyhow!("process table poisoned"))?;
        procs.insert(
            name.to_owned(),
            Managed {
                spec,
                child: Some(child),
            },
        );
        Ok(())
    }

    /// SIGKILL, as a crash.
    pub fn kill(&self, name: &str) -> anyhow::Result<()> {
        let mut procs = self
            .procs
            .lock()
            .map_err(|_| anyhow::anyhow!("process table poisoned"))?;
        let m = procs
            .get_mut(name)
            .with_context(|| format!("no process {name}"))?;
        if let Some(mut c) = m.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// Starts a killed process again with the same command line.
    pub fn restart(&self, name: &str) -> anyhow::Result<()> {
        let mut procs = self
            .procs
            .lock()
            .map_err(|_| anyhow::anyhow!("process table poisoned"))?;
        let m = procs
            .get_mut(name)
            .with_context(|| format!("no process {name}"))?;
        if let Some(mut c) = m.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        m.child = Some(spawn_child(&m.spec)?);
        Ok(())
    }

    /// Whether the process is still running.
    pub fn is_running(&self, name: &str) -> bool {
        self.procs
            .lock()
            .ok()
            .and_then(|mut p| {
                p.get_mut(name)
                    .and_then(|m| m.child.as_mut().map(|c| matches!(c.try_wait(), Ok(None))))
            })
            .unwrap_or(false)
    }

    /// The OS process ids of the running processes, by name (for /proc sampling in the soak).
    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.procs
            .lock()
            .map(|p| {
                p.iter()
                    .filter_map(|(n, m)| m.child.as_ref().map(|c| (n.clone(), c.id())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The log of a process so far (for failure messages).
    pub fn log(&self, name: &str) -> String {
        let path = self
            .procs
            .lock()
            .ok()
            .and_then(|p| p.get(name).map(|m| m.spec.log.clone()));
        path.and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// The current head.
    pub async fn head(&self) -> anyhow::Result<TipSet> {
        Ok(self.node_client().await?.call(api::CHAIN_HEAD, ()).await?)
    }
}

fn read_preseal_key(path: &Path) -> anyhow::Result<PrivateKey> {
    // A pre-seal `.key` is the hex of the KeyInfo JSON, as Lotus exports.
    let text = std::fs::read_to_string(path)?;
    let info = venus_types::KeyInfo::from_lotus_export(text.trim())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    PrivateKey::from_key_info(&info).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Adds funded account actors to a genesis template.
fn add_accounts(tpl: &Path, keys: &[PrivateKey], fil: u64) -> anyhow::Result<()> {
    let mut t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tpl)?)?;
    let accounts = t
        .get_mut("Accounts")
        .and_then(|a| a.as_array_mut())
        .context("template has no Accounts")?;
    for k in keys {
        accounts.push(serde_json::json!({
            "Type": "account",
            "Balance": format!("{fil}000000000000000000"),
            "Meta": { "Owner": k.address().to_string() },
        }));
    }
    std::fs::write(tpl, serde_json::to_string_pretty(&t)?)?;
    Ok(())
}

/// Mines the devnet's miner over the node API until venus-miner exists: each round it asks
/// `MinerGetBaseInfo`, computes the VRFs and the devnet WinningPoSt with the worker key
/// (venus-chain's testkit, the same code the node's tests use), waits for the block time,
/// takes the pool's messages (`MpoolSelect`), has the node make the block
/// (`MinerCreateBlock`), signs it and submits it to every node.
pub struct BlockProducer {
    task: JoinHandle<()>,
    nodes: Arc<Mutex<Vec<String>>>,
    held_back: Arc<Mutex<Vec<Address>>>,
}

impl BlockProducer {
    pub fn start(
        nodes: Vec<String>,
        token: String,
        worker: PrivateKey,
        miner: Address,
        block_delay: Duration,
    ) -> Self {
        let nodes = Arc::new(Mutex::new(nodes));
        let held_back = Arc::new(Mutex::new(Vec::new()));
        let list = nodes.clone();
        let held = held_back.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) =
                    produce_one(&list, &held, &token, &worker, &miner, block_delay).await
                {
                    eprintln!("block producer: {e:#}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        });
        Self {
            task,
            nodes,
            held_back,
        }
    }

    /// Leave the messages of these senders out of the blocks (a message that stays off
    /// chain, as under a base-fee spike); an empty list includes everything again.
    pub fn hold_back(&self, senders: Vec<Address>) {
        if let Ok(mut h) = self.held_back.lock() {
            *h = senders;
        }
    }

    /// Also submit to this node (an extra node of the stack).
    pub fn add_node(&self, url: String) {
        if let Ok(mut n) = self.nodes.lock() {
            n.push(url);
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

impl Stack {
    pub fn producer(&self) -> Option<&BlockProducer> {
        self.producer.as_ref()
    }
}

async fn produce_one(
    nodes: &Mutex<Vec<String>>,
    held_back: &Mutex<Vec<Address>>,
    token: &str,
    worker: &PrivateKey,
    miner: &Address,
    block_delay: Duration,
) -> anyhow::Result<()> {
    let urls: Vec<String> = nodes
        .lock()
        .map_err(|_| anyhow::anyhow!("node list poisoned"))?
        .clone();
    // The first node that answers makes the block.
    let mut maker = None;
    for u in &urls {
        if let Ok(c) = Client::builder(u)
            .token(Some(token.to_owned()))
            .connect()
            .await
            && let Ok(head) = c.call(api::CHAIN_HEAD, ()).await
        {
            maker = Some((c, head));
            break;
        }
    }
    let Some((c, head)) = maker else {
        bail!("no node answers");
    };
    let genesis = c.call(api::CHAIN_GET_GENESIS, ()).await?;
    let mut epoch = head.height() + 1;
    let template = loop {
        let info = c
            .call(
                api::MINER_GET_BASE_INFO,
                (*miner, epoch, head.key().clone()),
            )
            .await?
            .context("the miner has no base info")?;
        let timestamp = genesis.min_timestamp() + epoch as u64 * block_delay.as_secs();
        match venus_chain::testkit::template_from_base_info(
            worker,
            miner,
            &head,
            epoch,
            &info,
            Vec::new(),
            timestamp,
        )? {
            Some(t) => break t,
            None => epoch += 1,
        }
    };
    // Wait for the block's time; leave if the head moved meanwhile.
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        if now >= template.timestamp {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut template = template;
    let held: Vec<Address> = held_back
        .lock()
        .map_err(|_| anyhow::anyhow!("held-back list poisoned"))?
        .clone();
    template.messages = c
        .call(api::MPOOL_SELECT, (head.key().clone(), 1.0))
        .await?
        .into_iter()
        .filter(|m| !held.contains(&m.message.from))
        .collect();
    let mut block = c.call(api::MINER_CREATE_BLOCK, (template,)).await?;
    if block.header.block_sig.is_none() {
        block.header.block_sig = Some(worker.sign(&block.header.signing_bytes()));
    }
    let mut submitted = false;
    for u in &urls {
        let Ok(c) = Client::builder(u)
            .token(Some(token.to_owned()))
            .connect()
            .await
        else {
            continue;
        };
        match c.call(api::SYNC_SUBMIT_BLOCK, (block.clone(),)).await {
            Ok(()) => submitted = true,
            Err(e) => eprintln!("block producer: submit to {u}: {e}"),
        }
    }
    if !submitted {
        bail!("no node took the block at epoch {}", block.header.height);
    }
    Ok(())
}

/// A venus-messager of the stack, started with the seed's `run` line.
pub struct MessagerProcess {
    pub name: String,
    pub repo: PathBuf,
    pub port: u16,
}

impl MessagerProcess {
    /// `http://127.0.0.1:<port>/rpc/v0`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/rpc/v0", self.port)
    }

    /// The local admin token the messager wrote into its repo.
    pub fn local_token(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(self.repo.join("token"))?
            .trim()
            .to_owned())
    }
}

impl Stack {
    /// Starts `venus-messager run` as `name` with the seed's flags (auth, node, gateway,
    /// shared admin token) plus `extra` (e.g. `--db-type=mysql --mysql-dsn=…`), and
    /// `config` written as its config.toml. Waits for /readyz.
    pub async fn start_messager(
        &self,
        name: &str,
        config: &str,
        extra: &[String],
    ) -> anyhow::Result<MessagerProcess> {
        let repo = self.path().join(name);
        std::fs::create_dir_all(&repo)?;
        let port = free_port()?;
        std::fs::write(
            repo.join("config.toml"),
            format!("[api]\nAddress = \"/ip4/127.0.0.1/tcp/{port}\"\n{config}"),
        )?;
        let mut args = vec![
            format!("--repo={}", repo.display()),
            "run".into(),
            format!("--auth-url={}", self.auth_url),
            format!("--node-url={}", self.node_url),
            format!("--gateway-url={}", self.gateway_url),
            format!("--auth-token={}", self.admin_token),
        ];
        args.extend(extra.iter().cloned());
        self.spawn(
            name,
            Spec {
                program: self.bin_dir.join("venus-messager"),
                args,
                env: Vec::new(),
                log: self.path().join(format!("{name}.log")),
            },
        )?;
        let p = MessagerProcess {
            name: name.to_owned(),
            repo,
            port,
        };
        if let Err(e) = wait_http(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(90),
        )
        .await
        {
            bail!("{e}; log:\n{}", self.log(name));
        }
        Ok(p)
    }
}

/// A plain value transfer (method 0) with gas left for the messager to estimate.
pub fn transfer(from: Address, to: Address, value: TokenAmount) -> venus_types::Message {
    venus_types::Message {
        version: 0,
        to,
        from,
        nonce: 0,
        value,
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: venus_types::Base64Bytes::default(),
    }
}

/// The test MariaDB server (`VENUS_TEST_MYSQL_URL`, `mysql://user:pw@host:port/`); `None`
/// means skip — but under `CI` a missing server fails the test.
pub fn test_mysql_server() -> Option<String> {
    match std::env::var("VENUS_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if crate::tools::in_ci() => {
            panic!("VENUS_TEST_MYSQL_URL is not set and CI is: the MariaDB tests cannot be skipped")
        }
        _ => {
            eprintln!(
                "note: VENUS_TEST_MYSQL_URL is not set; skipping (run scripts/mariadb-test.sh start)"
            );
            None
        }
    }
}

// ---- messages through venus-messager and the chain they land on (shared by the e2e tests).

impl Stack {
    /// A token of the stack's user with `perm` (`venus-auth token gen --perm <perm> <user>`).
    pub fn user_token_with(&self, perm: &str) -> anyhow::Result<String> {
        self.auth_cli(&["token", "gen", "--perm", perm, &self.user])
    }

    /// Pushes `msgs` through `messager` and waits until every one is on chain; the records
    /// in push order.
    pub async fn push_and_wait(
        &self,
        messager: &Client,
        msgs: Vec<venus_types::Message>,
        within: Duration,
    ) -> anyhow::Result<Vec<MessageRecord>> {
        let mut ids = Vec::with_capacity(msgs.len());
        for msg in msgs {
            ids.push(messager.call(msgr_api::PUSH_MESSAGE, (msg, None)).await?);
        }
        wait_on_chain(messager, &ids, within).await
    }

    /// `venus-miner init` with the seed's flags (this stack's auth, gateway, node and shared
    /// admin token, `--nettype 2k`), then `run` as `name`; waits for /readyz. Mining replaces
    /// the [`BlockProducer`]: start the stack with `produce_blocks: false`.
    pub async fn start_miner(&self, name: &str) -> anyhow::Result<MinerProcess> {
        let repo = self.path().join(name);
        let port = free_port()?;
        let bin = self.bin_dir.join("venus-miner");
        run(Command::new(&bin)
            .arg(format!("--repo={}", repo.display()))
            .args([
                "init",
                "--nettype",
                "2k",
                "--auth-api",
                &self.auth_url,
                "--token",
            ])
            .arg(&self.admin_token)
            .args(["--gateway-api", &self.gateway_url, "--api", &self.node_url])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}")))?;
        self.spawn(
            name,
            Spec {
                program: bin,
                args: vec![format!("--repo={}", repo.display()), "run".into()],
                env: Vec::new(),
                log: self.path().join(format!("{name}.log")),
            },
        )?;
        if let Err(e) = wait_http(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(90),
        )
        .await
        {
            bail!("{e}; log:\n{}", self.log(name));
        }
        Ok(MinerProcess {
            name: name.to_owned(),
            repo,
            port,
        })
    }
}

/// A venus-miner of the stack.
pub struct MinerProcess {
    pub name: String,
    pub repo: PathBuf,
    pub port: u16,
}

impl MessagerProcess {
    /// A client of this messager's API with `token`.
    pub async fn client(&self, token: &str) -> anyhow::Result<Client> {
        Ok(Client::builder(&self.url())
            .token(Some(token.to_owned()))
            .connect()
            .await?)
    }
}

/// Polls `messager` until every message of `ids` is OnChain (their records, in `ids`
/// order); a Failed or NonceConflict message, or the deadline, is an error naming them.
pub async fn wait_on_chain(
    messager: &Client,
    ids: &[String],
    within: Duration,
) -> anyhow::Result<Vec<MessageRecord>> {
    let deadline = Instant::now() + within;
    loop {
        let mut landed = Vec::with_capacity(ids.len());
        let mut pending = Vec::new();
        for id in ids {
            match messager
                .call(msgr_api::GET_MESSAGE_BY_UID, (id.clone(),))
                .await
            {
                Ok(r) if r.state == MessageState::OnChainMsg => landed.push(r),
                Ok(r)
                    if matches!(
                        r.state,
                        MessageState::FailedMsg | MessageState::NonceConflictMsg
                    ) =>
                {
                    bail!("message {id} will not land: {r:?}")
                }
                Ok(r) => pending.push(format!("{id}: {:?}", r.state)),
                Err(e) => pending.push(format!("{id}: {e}")),
            }
        }
        if pending.is_empty() {
            return Ok(landed);
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} messages not on chain after {within:?}: {pending:?}",
                pending.len(),
                ids.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each sender's landed nonces are 0..n (none reused, none skipped) and its nonce on chain is
/// n; every record has a receipt with exit code 0.
pub async fn check_gap_free(node: &Client, records: &[MessageRecord]) -> anyhow::Result<()> {
    let mut per_sender: BTreeMap<Address, Vec<u64>> = BTreeMap::new();
    for r in records {
        let exit = r.receipt.as_ref().map(|x| x.exit_code);
        if exit != Some(0) {
            bail!("message {} landed with exit code {exit:?}", r.id);
        }
        per_sender.entry(r.from).or_default().push(r.nonce);
    }
    for (from, mut nonces) in per_sender {
        nonces.sort_unstable();
        let count = nonces.len() as u64;
        if nonces != (0..count).collect::<Vec<_>>() {
            bail!("{from}: nonces reused or skipped: {nonces:?}");
        }
        let actor = node
            .call(api::STATE_GET_ACTOR, (from, TipSetKey::default()))
            .await?;
        if actor.nonce != count {
            bail!("{from}: chain nonce {} but {count} messages", actor.nonce);
        }
    }
    Ok(())
}

/// (miner, height) of every block from the head down to genesis.
pub async fn chain_blocks(node: &Client) -> anyhow::Result<Vec<(Address, i64)>> {
    let mut ts = node.call(api::CHAIN_HEAD, ()).await?;
    let mut out = Vec::new();
    while ts.height() > 0 {
        out.extend(ts.blocks().iter().map(|b| (b.miner, ts.height())));
        ts = node.call(api::CHAIN_GET_TIP_SET, (ts.parents(),)).await?;
    }
    Ok(out)
}

/// At most one block per (miner, epoch) in `blocks`: no epoch was mined twice.
pub fn check_no_epoch_mined_twice(blocks: &[(Address, i64)]) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (miner, epoch) in blocks {
        if !seen.insert((*miner, *epoch)) {
            bail!("{miner} mined two blocks at epoch {epoch}");
        }
    }
    Ok(())
}

impl MessagerProcess {
    /// The text of this messager's `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let http = venus_rpc::tls::http_client_builder().build()?;
        Ok(http
            .get(format!("http://127.0.0.1:{}/metrics", self.port))
            .send()
            .await?
            .text()
            .await?)
    }
}

/// [`transfer`] of `atto` attoFIL.
pub fn transfer_atto(from: Address, to: Address, atto: u64) -> venus_types::Message {
    transfer(from, to, TokenAmount::from_atto(atto))
}

impl Stack {
    /// `venus-messager` as `messager`, selecting 1 s after each head change (the original's
    /// 8 s debounce would leave a 4 s devnet idle).
    pub async fn start_quick_messager(&self) -> anyhow::Result<MessagerProcess> {
        self.start_messager(
            "messager",
            "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\n",
            &[],
        )
        .await
    }
}

impl StackOptions {
    /// `senders` funded senders, with the venus-messager binary built beside the stack's.
    pub fn with_messager(senders: usize) -> Self {
        Self {
            senders,
            extra_binaries: vec![("venus-messager", "venus-messager")],
            ..Default::default()
        }
    }
}
