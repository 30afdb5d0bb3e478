//! The running node: the chain store (from `venus-chain`), the block validator, the message
//! pool and the node's keys. API handlers, health checks and the daemon all go through it.
//! Block validation and tipset application take blocks from any source (API today, peers
//! once sync exists).

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use parking_lot::Mutex;
use venus_chain::actors::{ActorKind, INIT_ACTOR_ID, InitState};
use venus_chain::blockstore::{MemoryBlockstore, RedbBlockstore};
use venus_chain::genesis::{GenesisTemplate, build_genesis};
use venus_chain::post::DevnetPoSt;
use venus_chain::state::StateTree;
use venus_chain::store::{ChainStore, MetaStore};
use venus_chain::validate::{BlockValidator, FullBlock, SubmitError, TipSetBuilder};
use venus_types::{
    Address, BeaconEntry, BlockHeader, BlockMsg, ChainEpoch, Cid, SignedMessage, TipSet, TipSetKey,
    TokenAmount,
};

use crate::keyfile::Keystore;
use crate::mpool::{MessagePool, PoolConfig, PoolError, StateView};
use crate::network::{Network, NetworkParams};
use crate::repo::{CHAIN_DIR, KEYSTORE_DIR, Repo};

/// The node's version string (`Version().Version`).
pub const NODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+venus-rs");
/// `/readyz` fails when the head is more than this many epochs behind the expected epoch.
pub const READY_EPOCH_LAG: i64 = 5;

pub type Store = ChainStore<RedbBlockstore>;

pub struct Node {
    pub network: Network,
    pub params: NetworkParams,
    /// `StateNetworkName`: from the genesis state's init actor.
    pub network_name: String,
    pub started: Instant,
    pub keystore: Mutex<Keystore>,
    pub cs: Store,
    builder: TipSetBuilder,
    post: DevnetPoSt,
    pub(crate) mpool: Mutex<MessagePool<SignedMessage>>,
    /// Serialises block submission (validation + head update) so mpool pruning follows.
    submit_lock: tokio::sync::Mutex<()>,
    /// Catch-up progress and the best head peers announced (`SyncState`, `/readyz`).
    pub sync: crate::sync::status::SyncStatus,
    /// Where accepted blocks and local messages are announced (libp2p gossip); unset offline.
    announcer: std::sync::OnceLock<Box<dyn Announce>>,
    /// The libp2p service (`Net*`, `ID`); unset offline.
    net: std::sync::OnceLock<venus_p2p::P2pHandle>,
    /// `MinerGetBaseInfo`: what every miner's answer on one base shares, computed once.
    pub base_infos: venus_chain::mining::BaseInfoCache,
}

/// Publishes what this node accepted to its peers.
pub trait Announce: Send + Sync {
    fn block(&self, block: &BlockMsg);
    fn message(&self, msg: &SignedMessage);
}

/// How the chain store is created on first start (and what an existing one is checked
/// against).
pub enum GenesisSource<'a> {
    /// `--make-genesis <car_out> --genesis-template <template>`: build the genesis from the
    /// template and write it as a CAR.
    Template {
        template: &'a Path,
        car_out: &'a Path,
    },
    /// `--genesisfile`: start from a genesis CAR; an existing chain must have that genesis.
    Car(&'a Path),
    /// `--import-snapshot`: start at the head of a chain CAR (fresh repo only); with
    /// `genesis` (`--genesisfile`) the snapshot's genesis must be that one.
    Snapshot {
        car: &'a Path,
        genesis: Option<&'a Path>,
    },
    /// No genesis given: an empty template named after the network (no miners).
    Default,
}

/// The chain database inside `<repo>/chain`.
const CHAIN_DB: &str = "chain.redb";
/// Where a new chain is built before it is moved to `<repo>/chain`.
const CHAIN_INIT_DIR: &str = ".chain-init";

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Node {
    /// Open the repo's chain, creating it from `genesis` on first start.
    pub fn open(
        repo: &Repo,
        network: Network,
        genesis: GenesisSource<'_>,
    ) -> anyhow::Result<Arc<Node>> {
        let params = network.params();
        let dir = repo.path(CHAIN_DIR);
        let existing = dir.exists();
        if !existing {
            crate::network::check_genesis_flags(
                network,
                matches!(
                    genesis,
                    GenesisSource::Car(_) | GenesisSource::Snapshot { .. }
                ),
                matches!(genesis, GenesisSource::Template { .. }),
            )
            .map_err(anyhow::Error::msg)?;
            init_chain(repo, &dir, network, &params, &genesis)?;
        }
        let db = dir.join(CHAIN_DB);
        let cs = ChainStore::open_redb(&db, None)
            .with_context(|| format!("cannot open the chain in {}", db.display()))?;
        if existing {
            check_existing(&cs, &genesis)?;
        }
        // A chain made before this check (or copied in) must be the network's too: ChainHead
        // never answers from an invented chain.
        crate::network::check_genesis_cid(
            network,
            &cs.genesis().cid().to_string(),
            &format!("the chain in {}", db.display()),
        )
        .map_err(anyhow::Error::msg)?;
        let network_name = network_name(&cs)?;
        let head = cs.heaviest();
        tracing::info!(height = head.height(), head = %head.key(), "chain loaded");
        let node = Arc::new(Node {
            network,
            params,
            network_name,
            started: Instant::now(),
            keystore: Mutex::new(Keystore::open(&repo.path(KEYSTORE_DIR))),
            cs,
            builder: TipSetBuilder::default(),
            post: DevnetPoSt,
            mpool: Mutex::new(MessagePool::new(PoolConfig::default())),
            submit_lock: tokio::sync::Mutex::new(()),
            sync: Default::default(),
            announcer: std::sync::OnceLock::new(),
            net: std::sync::OnceLock::new(),
            base_infos: Default::default(),
        });
        // Local messages come back after a restart, re-checked against the head state.
        let restored = {
            let view = node.head_view()?;
            MessagePool::with_persistence(PoolConfig::default(), repo.path(MPOOL_FILE), &view)
        };
        *node.mpool.lock() = restored;
        Ok(node)
    }

    /// Sets where accepted blocks and local messages are published (once, at start).
    pub fn set_announcer(&self, a: Box<dyn Announce>) {
        if self.announcer.set(a).is_err() {
            tracing::warn!("announcer already set");
        }
    }

    /// Attaches the running libp2p service (once, at start).
    pub fn set_net(&self, handle: venus_p2p::P2pHandle) {
        if self.net.set(handle).is_err() {
            tracing::warn!("network already attached");
        }
    }

    /// The libp2p service, unless the node runs offline.
    pub fn net(&self) -> Option<&venus_p2p::P2pHandle> {
        self.net.get()
    }

    pub fn announce_block(&self, block: &BlockMsg) {
        if let Some(a) = self.announcer.get() {
            a.block(block);
        }
    }

    pub fn announce_message(&self, msg: &SignedMessage) {
        if let Some(a) = self.announcer.get() {
            a.message(msg);
        }
    }

    pub fn pool_config(&self) -> PoolConfig {
        self.mpool.lock().config().clone()
    }

    pub fn head(&self) -> TipSet {
        self.cs.heaviest()
    }

    /// The tipset a `TipSetKey` param names; the empty key means the head (Lotus).
    pub fn tipset(&self, tsk: &TipSetKey) -> Result<TipSet, String> {
        if tsk.is_empty() {
            return Ok(self.head());
        }
        self.cs.load_tipset(tsk).map_err(|e| e.to_string())
    }

    /// The state after executing `ts` (what its children's messages apply to).
    pub fn state_after(&self, ts: &TipSet) -> Result<Cid, String> {
        venus_chain::exec::execute_tipset(&self.cs, ts)
            .map(|r| r.state_root)
            .map_err(|e| e.to_string())
    }

    /// A read view of the state after `ts`.
    pub fn view_at(&self, ts: &TipSet) -> Result<HeadView<'_>, String> {
        let root = self.state_after(ts)?;
        let tree = StateTree::load(self.cs.blockstore(), &root.0).map_err(|e| e.to_string())?;
        Ok(HeadView {
            tree: Mutex::new(tree),
        })
    }

    fn head_view(&self) -> anyhow::Result<HeadView<'_>> {
        self.view_at(&self.head()).map_err(anyhow::Error::msg)
    }

    /// The epoch the wall clock says the chain should be at.
    pub fn expected_epoch(&self) -> ChainEpoch {
        let genesis = self.cs.genesis().timestamp;
        let delay = self.params.block_delay_secs.max(1);
        i64::try_from(now_secs().saturating_sub(genesis) / delay).unwrap_or(i64::MAX)
    }

    /// `/livez`: the chain store answers.
    pub fn check_live(&self) -> Result<(), String> {
        self.cs
            .load_tipset(self.head().key())
            .map(|_| ())
            .map_err(|e| format!("chain store: {e}"))
    }

    /// `/readyz`: synced within a few epochs of the expected epoch. A public network's node
    /// with no peer connected says so plainly (it can only be synced through peers).
    pub fn check_ready(&self) -> Result<(), String> {
        if !self.params.is_local {
            let why = match self.net() {
                None => "libp2p is off (--offline)",
                Some(net) if net.connected_peers() == 0 => {
                    "no peer is connected (none of the bootstrap peers answered)"
                }
                Some(_) => "",
            };
            if !why.is_empty() {
                return Err(format!(
                    "no peers reachable: {} is a public network and {why}",
                    self.network
                ));
            }
        }
        let head = self.head().height();
        if let Some(why) = self.sync.behind_peers(head) {
            return Err(why);
        }
        let expected = self.expected_epoch();
        if expected - head > READY_EPOCH_LAG {
            return Err(format!(
                "head at epoch {head} is {} epochs behind the expected epoch {expected}",
                expected - head
            ));
        }
        Ok(())
    }

    /// Lotus's mock beacon (every network here; drand is unreachable).
    pub fn beacon_entry(round: ChainEpoch) -> Result<BeaconEntry, String> {
        let round =
            u64::try_from(round).map_err(|_| format!("beacon round {round} is negative"))?;
        Ok(venus_chain::election::mock_beacon_entry(round))
    }

    /// Validate a block and, if valid, add it to the chain; the mpool drops what the new
    /// head applied. The error names the failed validation step.
    pub async fn submit_block(&self, msg: &BlockMsg) -> Result<bool, String> {
        let block = FullBlock::from_block_msg(&self.cs, msg).map_err(|e| e.to_string())?;
        self.submit_full(&block).await.map_err(|e| e.to_string())
    }

    /// Validate a block whose messages are at hand and add it (sync's path: an invalid block
    /// is told apart from a local failure, to score the peer that sent it).
    pub async fn submit_full(&self, block: &FullBlock) -> Result<bool, SubmitError> {
        let _guard = self.submit_lock.lock().await;
        let validator = BlockValidator {
            cs: &self.cs,
            params: &self.params,
            post: &self.post,
        };
        // The block's writes (messages, header, execution, head) are fsynced once, at the
        // end; inside a catch-up window they join the window's batch.
        let batch = self.cs.write_batch();
        let changed = self.builder.submit(&validator, block, now_secs())?;
        batch.finish()?;
        if changed {
            self.prune_mpool();
        }
        Ok(changed)
    }

    /// After a head change: the pool drops what the new head applied.
    fn prune_mpool(&self) {
        match self.head_view() {
            Ok(view) => {
                let pruned = self.mpool.lock().prune_applied(&view);
                tracing::debug!(pruned, "mpool pruned after head change");
            }
            Err(e) => tracing::warn!(error = %e, "cannot prune the mpool"),
        }
    }

    /// Validate the blocks of a tipset a peer served and add that exact tipset (sync's
    /// path): its children name it as their parents, even where this node grouped one of
    /// its blocks with a sibling it had validated before (its own block, the other side of a
    /// partition). Stops at the first invalid block.
    pub async fn submit_tipset(
        &self,
        ts: &TipSet,
        blocks: &[FullBlock],
    ) -> Result<bool, SubmitError> {
        let mut changed = false;
        for block in blocks {
            changed |= self.submit_full(block).await?;
        }
        let _guard = self.submit_lock.lock().await;
        let batch = self.cs.write_batch();
        changed |= self.builder.add_validated(&self.cs, ts)?;
        batch.finish()?;
        if changed {
            self.prune_mpool();
        }
        Ok(changed)
    }

    /// Check and add a message to the pool; also stores it so blocks can reference it.
    pub fn push_message(&self, msg: SignedMessage, local: bool) -> Result<Cid, String> {
        let view = self.head_view().map_err(|e| e.to_string())?;
        let cid = self
            .mpool
            .lock()
            .add(msg.clone(), local, &view)
            .map_err(|e: PoolError| e.to_string())?;
        let stored = if msg.is_bls() {
            self.cs
                .put_messages(std::slice::from_ref(&msg.message), &[])
        } else {
            self.cs.put_messages(&[], std::slice::from_ref(&msg))
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "cannot store a pooled message");
        }
        Ok(Cid(cid))
    }

    pub fn next_nonce(&self, addr: &Address) -> Result<u64, String> {
        let view = self.head_view().map_err(|e| e.to_string())?;
        Ok(self.mpool.lock().next_nonce(&addr.0, &view))
    }

    pub fn pending(&self) -> Vec<SignedMessage> {
        self.mpool.lock().pending()
    }

    /// Messages for blocks on top of `ts`, one selection per ticket quality.
    pub fn select(
        &self,
        ts: &TipSet,
        qualities: &[f64],
    ) -> Result<Vec<Vec<SignedMessage>>, String> {
        let view = self.view_at(ts)?;
        let base_fee =
            venus_chain::exec::child_base_fee(&self.cs, ts).map_err(|e| e.to_string())?;
        Ok(self.mpool.lock().select_many(&view, &base_fee.0, qualities))
    }

    pub fn balance(&self, addr: &Address) -> Result<TokenAmount, String> {
        let view = self.head_view().map_err(|e| e.to_string())?;
        Ok(view
            .actor(&addr.0)
            .map(|(_, b)| TokenAmount(b))
            .unwrap_or_else(TokenAmount::zero))
    }
}

/// Creates the chain in a scratch directory and moves it into place only once it is
/// complete, so a failed or interrupted init leaves no half-made chain (venus#4435) and the
/// next start is a fresh init again.
fn init_chain(
    repo: &Repo,
    dir: &Path,
    network: Network,
    params: &NetworkParams,
    genesis: &GenesisSource<'_>,
) -> anyhow::Result<()> {
    let scratch = repo.path(CHAIN_INIT_DIR);
    if scratch.exists() {
        // Left by an init that was killed: it never became the chain.
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot remove {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    if let Err(e) = build_chain(&scratch, network, params, genesis) {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(e);
    }
    std::fs::rename(&scratch, dir).with_context(|| {
        format!(
            "cannot move the new chain from {} to {}",
            scratch.display(),
            dir.display()
        )
    })
}

/// Builds or imports the chain into `scratch` and records its genesis and head.
fn build_chain(
    scratch: &Path,
    network: Network,
    params: &NetworkParams,
    genesis: &GenesisSource<'_>,
) -> anyhow::Result<()> {
    let bs = RedbBlockstore::open(&scratch.join(CHAIN_DB))?;
    let meta = MetaStore::Redb(bs.database().clone());
    let cs = match genesis {
        GenesisSource::Template { template, car_out } => {
            let text = std::fs::read(template)
                .with_context(|| format!("cannot read genesis template {}", template.display()))?;
            let template_json = serde_json::from_slice::<GenesisTemplate>(&text)
                .with_context(|| format!("invalid genesis template {}", template.display()))?;
            let built = build_genesis(&bs, &template_json, params, now_secs())
                .context("cannot build the genesis")?;
            tracing::info!(genesis = %built.block.cid(), network = %template_json.network_name, "genesis built");
            write_genesis_car(&bs, &built.block, car_out)?;
            ChainStore::open(bs, meta, Some(built.block))?
        }
        GenesisSource::Default => {
            let template = default_template(network);
            let built = build_genesis(&bs, &template, params, now_secs())
                .context("cannot build the genesis")?;
            tracing::info!(genesis = %built.block.cid(), network = %template.network_name, "genesis built");
            ChainStore::open(bs, meta, Some(built.block))?
        }
        GenesisSource::Car(path) => {
            let block = read_genesis_car(&bs, path)?;
            crate::network::check_genesis_cid(
                network,
                &block.cid().to_string(),
                &format!("genesis file {}", path.display()),
            )
            .map_err(anyhow::Error::msg)?;
            tracing::info!(genesis = %block.cid(), file = %path.display(), "genesis imported");
            ChainStore::open(bs, meta, Some(block))?
        }
        GenesisSource::Snapshot { car, genesis } => {
            // The (small) genesis file first, so a bad one fails before the big import.
            let expected = match genesis {
                Some(gpath) => Some((read_genesis_car(&MemoryBlockstore::new(), gpath)?, gpath)),
                None => None,
            };
            let file = open_file(car, "snapshot")?;
            let snap = venus_chain::car::import_snapshot(&bs, &mut std::io::BufReader::new(file))
                .with_context(|| format!("cannot import snapshot {}", car.display()))?;
            crate::network::check_genesis_cid(
                network,
                &snap.genesis.cid().to_string(),
                &format!("snapshot {}", car.display()),
            )
            .map_err(anyhow::Error::msg)?;
            if let Some((expected, gpath)) = expected {
                let (expected, found) = (expected.cid(), snap.genesis.cid());
                if expected != found {
                    anyhow::bail!(
                        "snapshot {} starts from genesis {found}, but genesis file {} holds genesis {expected}",
                        car.display(),
                        gpath.display()
                    );
                }
            }
            let cs = ChainStore::open(bs, meta, Some(snap.genesis))?;
            if snap.head.height() > 0 {
                let weight = venus_chain::exec::tipset_weight(&cs, &snap.head)
                    .context("cannot weigh the snapshot's head")?;
                cs.add_tipset(&snap.head, &weight)?;
            }
            tracing::info!(height = snap.head.height(), head = %snap.head.key(), genesis = %cs.genesis().cid(), "snapshot imported");
            cs
        }
    };
    // Every start reads the network name from the genesis state: check it now, while a
    // failure still leaves no chain behind.
    network_name(&cs)?;
    Ok(())
}

/// What an existing chain must agree with; init-only flags are ignored, as venus does.
fn check_existing(cs: &Store, genesis: &GenesisSource<'_>) -> anyhow::Result<()> {
    let ours = cs.genesis().cid();
    match genesis {
        GenesisSource::Car(path) => {
            let theirs = read_genesis_car(&MemoryBlockstore::new(), path)?.cid();
            if theirs != ours {
                anyhow::bail!(
                    "genesis file {} holds genesis {theirs}, but this repo's chain starts from genesis {ours}",
                    path.display()
                );
            }
        }
        GenesisSource::Snapshot { car, .. } => {
            let head = cs.heaviest();
            anyhow::bail!(
                "cannot import snapshot {}: the repo already has a chain (genesis {ours}, head at height {}); --import-snapshot needs a fresh repo",
                car.display(),
                head.height()
            );
        }
        GenesisSource::Template { car_out, .. } => {
            tracing::warn!(path = %car_out.display(), genesis = %ours, "the repo already has a chain: --make-genesis and --genesis-template only apply to a fresh repo and are ignored");
        }
        GenesisSource::Default => {}
    }
    Ok(())
}

fn open_file(path: &Path, what: &str) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))
}

/// Imports a genesis CAR into `bs` and returns its (checked) genesis header.
fn read_genesis_car<BS: fvm_ipld_blockstore::Blockstore>(
    bs: &BS,
    path: &Path,
) -> anyhow::Result<BlockHeader> {
    let file = open_file(path, "genesis file")?;
    venus_chain::car::import_genesis_car(bs, &mut std::io::BufReader::new(file))
        .with_context(|| format!("cannot use genesis file {}", path.display()))
}

/// Writes the genesis as a CAR at `out`, atomically (temp file + rename).
fn write_genesis_car(bs: &RedbBlockstore, genesis: &BlockHeader, out: &Path) -> anyhow::Result<()> {
    let mut car = Vec::new();
    let blocks = venus_chain::car::export_genesis(bs, genesis, &mut car)
        .context("cannot export the genesis")?;
    crate::repo::write_atomic(out, &car)
        .with_context(|| format!("cannot write the genesis CAR to {}", out.display()))?;
    tracing::info!(path = %out.display(), blocks, bytes = car.len(), genesis = %genesis.cid(), "genesis CAR written");
    Ok(())
}

/// `StateNetworkName`: the init actor's network name in the genesis state.
fn network_name(cs: &Store) -> anyhow::Result<String> {
    let genesis = cs.genesis();
    let tree = StateTree::load(cs.blockstore(), &genesis.parent_state_root.0)
        .context("cannot load the genesis state")?;
    let init: InitState = tree
        .actor_state(INIT_ACTOR_ID, ActorKind::Init)
        .context("the genesis state has no usable init actor")?;
    Ok(init.network_name)
}

/// Where local messages are kept across restarts.
pub const MPOOL_FILE: &str = "mpool-local.json";

/// The default genesis when none is given: the network's name, no miners. For a local
/// network named after the template convention, 2k gets `localnet-<uuid>`.
fn default_template(network: Network) -> GenesisTemplate {
    let name = match network {
        Network::TwoK => format!("localnet-{}", uuid::Uuid::new_v4()),
        other => other.params().name.to_owned(),
    };
    GenesisTemplate {
        network_version: 0,
        accounts: Vec::new(),
        miners: Vec::new(),
        network_name: name,
        timestamp: 0,
        verifreg_root_key: Default::default(),
        remainder_account: Default::default(),
    }
}

/// A state tree as the mpool's [`StateView`].
pub struct HeadView<'a> {
    tree: Mutex<StateTree<&'a RedbBlockstore>>,
}

impl HeadView<'_> {
    pub fn with_tree<T>(&self, f: impl FnOnce(&mut StateTree<&RedbBlockstore>) -> T) -> T {
        f(&mut self.tree.lock())
    }
}

impl StateView for HeadView<'_> {
    fn actor(
        &self,
        addr: &fvm_shared::address::Address,
    ) -> Option<(u64, fvm_shared::econ::TokenAmount)> {
        let actor = self.tree.lock().get_actor(addr).ok().flatten()?;
        Some((actor.sequence, actor.balance))
    }

    fn key_address(
        &self,
        addr: &fvm_shared::address::Address,
    ) -> Option<fvm_shared::address::Address> {
        venus_chain::query::account_key(&mut self.tree.lock(), addr).ok()
    }
}
