//! Command-line interface, as venus spells it (`venus daemon`, `venus sync status`,
//! `venus seed pre-seal`, ...).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "venus",
    version,
    about = "venus: Filecoin chain node of the venus chain service"
)]
pub struct Cli {
    /// Repo directory (env VENUS_PATH; default ~/.venus).
    #[arg(long, global = true, alias = "repodir", env = "VENUS_PATH")]
    pub repo: Option<PathBuf>,
    /// API address the CLI talks to (default: the multiaddr in <repo>/api; env FIL_API).
    #[arg(long, global = true, env = "FIL_API")]
    pub cmdapiaddr: Option<String>,
    /// Token the CLI sends (default: <repo>/token).
    #[arg(long, global = true, hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the chain node.
    Daemon(DaemonArgs),
    /// Inspect the chain syncer.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Inspect the chain.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// The node's libp2p peers (venus's `swarm` commands).
    #[command(subcommand, alias = "swarm")]
    Net(NetCommand),
    /// Print the daemon's version.
    Version,
    /// Create a local network: pre-sealed sectors and a genesis template.
    #[command(subcommand)]
    Seed(SeedCommand),
}

#[derive(Debug, Args, Clone)]
pub struct DaemonArgs {
    /// Network: mainnet, calibrationnet (calibnet), butterflynet, interopnet, forcenet, 2k,
    /// nerpa. Only used when the repo is initialised; later runs take it from config.json.
    #[arg(long)]
    pub network: Option<String>,
    /// venus-auth URL: tokens the node did not issue are verified there.
    #[arg(long = "auth-url", alias = "authURL")]
    pub auth_url: Option<String>,
    /// This node's venus-auth token (current venus); also from $VENUS_AUTH_TOKEN, which keeps it
    /// off the command line. Without it the seed-era request is used.
    #[arg(long = "auth-token", env = "VENUS_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Read config.json from this path instead of <repo>/config.json (e.g. a read-only
    /// ConfigMap). The file is never written; the repo keeps its own config.json for what the
    /// node must remember, such as the network.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Genesis CAR to start from. On a fresh repo the chain starts from it; on an existing
    /// repo it must be the repo's genesis.
    #[arg(long)]
    pub genesisfile: Option<PathBuf>,
    /// Build a new genesis from --genesis-template and write it to this CAR (init only).
    #[arg(long = "make-genesis")]
    pub make_genesis: Option<PathBuf>,
    /// Genesis template (seed genesis new/add-miner) for --make-genesis.
    #[arg(long = "genesis-template")]
    pub genesis_template: Option<PathBuf>,
    /// Import a chain CAR exported by `venus chain export` (fresh repo only): the node
    /// starts at the snapshot's head.
    #[arg(long = "import-snapshot")]
    pub import_snapshot: Option<PathBuf>,
    /// Import this Lotus hex-JSON key file (e.g. pre-seal-t01000.key) into the node's
    /// keystore: MinerCreateBlock then signs blocks of miners whose worker it is.
    #[arg(long = "wallet-keyfile")]
    pub wallet_keyfile: Option<std::path::PathBuf>,
    /// Listen address for the API, overriding config.json's api.apiAddress (env VENUS_API).
    #[arg(long = "api", env = "VENUS_API")]
    pub api: Option<String>,
    /// Run without libp2p: no peers, blocks arrive through the API only.
    #[arg(long)]
    pub offline: bool,
    /// libp2p listen multiaddr, overriding config.json's swarm.address
    /// (default /ip4/0.0.0.0/tcp/0).
    #[arg(long)]
    pub swarmlisten: Option<String>,
    /// Peers to dial at start and keep connected (/ip4/…/tcp/…/p2p/<peer ID>), added to
    /// config.json's bootstrap.addresses.
    #[arg(long = "bootstrap-peers", value_delimiter = ',')]
    pub bootstrap_peers: Vec<String>,
    /// The libp2p identity (a protobuf-encoded private key, as <repo>/libp2p.key holds) to
    /// use instead of <repo>/libp2p.key — e.g. one mounted from a Secret, so the peer ID is
    /// known before the node starts. It must exist; it is never written.
    #[arg(long = "libp2p-key-file")]
    pub libp2p_key_file: Option<PathBuf>,
    /// Log level (trace, debug, info, warn, error).
    #[arg(long = "log-level", default_value = "info", env = "GOLOG_LOG_LEVEL")]
    pub log_level: String,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Print the syncer's state, as venus does.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// List the connected peers.
    Peers,
    /// Connect to peers: multiaddrs ending in /p2p/<peer ID>.
    Connect {
        #[arg(required = true)]
        addrs: Vec<String>,
    },
    /// Print this node's peer ID.
    Id,
    /// Print this node's listen addresses.
    Listen,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Print the chain head.
    Head,
    /// Export the chain (blocks, messages and state) to a CAR file.
    Export {
        /// Tipset to export from: @head (the default), @<height>, or its block CIDs
        /// separated by commas.
        #[arg(long, default_value = "")]
        tipset: String,
        /// Also write the full state of the tipsets this many epochs below the head (at
        /// least the chain finality, 900; 0 = only the head's and genesis's states).
        #[arg(long = "recent-stateroots", default_value_t = 0)]
        recent_stateroots: i64,
        /// Leave out messages older than --recent-stateroots.
        #[arg(long = "skip-old-msgs")]
        skip_old_msgs: bool,
        /// Output CAR path.
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Create pre-sealed sectors and the worker key for a genesis miner.
    PreSeal(PreSealArgs),
    /// Edit genesis templates.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Make a devnet inside a Kubernetes cluster (the operator's genesis Job): pre-seal, build
    /// the genesis, store it in a ConfigMap and the miners' keys in a Secret.
    Devnet(crate::devnet::DevnetArgs),
    /// Register a devnet's users, miners, signers and tokens at venus-auth (idempotent).
    DevnetRegister(crate::devnet::RegisterArgs),
}

#[derive(Debug, Args)]
pub struct PreSealArgs {
    #[arg(long = "sector-dir", default_value = "~/.genesis-sectors")]
    pub sector_dir: PathBuf,
    #[arg(long = "miner-addr", default_value = "t01000")]
    pub miner_addr: String,
    #[arg(long = "sector-size", default_value = "2KiB")]
    pub sector_size: String,
    #[arg(long = "ticket-preimage", default_value = "venus is fire")]
    pub ticket_preimage: String,
    #[arg(long = "num-sectors", default_value_t = 1)]
    pub num_sectors: u64,
    #[arg(long = "sector-offset", default_value_t = 0)]
    pub sector_offset: u64,
    /// An existing Lotus hex-JSON BLS key file to use as owner and worker.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Pre-seal fake sectors (always the case here; sealing needs the proofs library).
    #[arg(long = "fake-sectors")]
    pub fake_sectors: bool,
    #[arg(long = "network-version", default_value_t = 26)]
    pub network_version: u32,
}

#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Write a new, empty genesis template.
    New {
        /// Template path, e.g. localnet.json.
        path: PathBuf,
        /// Network name (default localnet-<uuid>).
        #[arg(long = "network-name")]
        network_name: Option<String>,
        #[arg(long = "network-version", default_value_t = 26)]
        network_version: u32,
    },
    /// Add the miners of a pre-seal file to a template and fund their owners.
    AddMiner {
        /// Template path.
        template: PathBuf,
        /// pre-seal-<miner>.json.
        preseal: PathBuf,
    },
}
