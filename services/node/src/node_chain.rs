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
use venus_chain::blockstore::RedbBlockstore;
use venus_chain::genesis::{GenesisTemplate, build_genesis};
use venus_chain::post::DevnetPoSt;
use venus_chain::state::StateTree;
use venus_chain::store::{ChainStore, MetaStore};
use venus_chain::validate::{BlockValidator, FullBlock, SubmitError, TipSetBuilder};
use venus_types::{
    Address, BeaconEntry, BlockMsg, ChainEpoch, Cid, SignedMessage, TipSet, TipSetKey, TokenAmount,
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
    /// The same network in `venus-chain`'s table (consensus parameters).
    pub chain_params: venus_chain::network::NetworkParams,
    /// `StateNetworkName`: from the genesis state's init actor.
    pub network_name: String,
    pub started: Instant,
    pub keystore: Mutex<Keystore>,
    pub cs: Store,
    builder: TipSetBuilder,
    post: DevnetPoSt,
    mpool: Mutex<MessagePool<SignedMessage>>,
    /// Serialises block submission (validation + head update) so mpool pruning follows.
    submit_lock: tokio::sync::Mutex<()>,
}

/// How the chain store is created on first start.
pub enum GenesisSource<'a> {
    /// Build from a template (`--make-genesis` + `--genesis-template`).
    Template(&'a Path),
    /// No genesis given: an empty template named after the network (no miners).
    Default,
}

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
        let chain_params = chain_params(network)?;
        let dir = repo.path(CHAIN_DIR);
        let fresh = !dir.exists();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let opened = open_chain(&dir, fresh, network, &chain_params, genesis);
        let cs = match opened {
            Ok(cs) => cs,
            Err(e) => {
                if fresh {
                    // A failed init must not leave a half-made chain behind (venus#4435).
                    let _ = std::fs::remove_dir_all(&dir);
                }
                return Err(e);
            }
        };
        let network_name = {
            let genesis = cs.genesis().clone();
            let tree = StateTree::load(cs.blockstore(), &genesis.parent_state_root.0)?;
            let init: InitState = tree.actor_state(INIT_ACTOR_ID, ActorKind::Init)?;
            init.network_name
        };
        let head = cs.heaviest();
        tracing::info!(height = head.height(), head = %head.key(), "chain loaded");
        let node = Arc::new(Node {
            network,
            params,
            chain_params,
            network_name,
            started: Instant::now(),
            keystore: Mutex::new(Keystore::open(&repo.path(KEYSTORE_DIR))),
            cs,
            builder: TipSetBuilder::default(),
            post: DevnetPoSt,
            mpool: Mutex::new(MessagePool::new(PoolConfig::default())),
            submit_lock: tokio::sync::Mutex::new(()),
        });
        // Local messages come back after a restart, re-checked against the head state.
        let restored = {
            let view = node.head_view()?;
            MessagePool::with_persistence(PoolConfig::default(), repo.path(MPOOL_FILE), &view)
        };
        *node.mpool.lock() = restored;
        Ok(node)
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

    /// `/readyz`: synced within a few epochs of the expected epoch. A public network can
    /// never be synced from here, and says so.
    pub fn check_ready(&self) -> Result<(), String> {
        if !self.params.is_local {
            return Err(format!(
                "no peers reachable: {} is a public network and this node has no route to it",
                self.network
            ));
        }
        let head = self.head().height();
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
        let _guard = self.submit_lock.lock().await;
        let block = FullBlock::from_block_msg(&self.cs, msg).map_err(|e| e.to_string())?;
        let validator = BlockValidator {
            cs: &self.cs,
            params: &self.chain_params,
            post: &self.post,
        };
        let changed = match self.builder.submit(&validator, &block, now_secs()) {
            Ok(c) => c,
            Err(SubmitError::Invalid(e)) => return Err(e.to_string()),
            Err(e) => return Err(e.to_string()),
        };
        if changed {
            match self.head_view() {
                Ok(view) => {
                    let pruned = self.mpool.lock().prune_applied(&view);
                    tracing::debug!(pruned, "mpool pruned after head change");
                }
                Err(e) => tracing::warn!(error = %e, "cannot prune the mpool"),
            }
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

fn open_chain(
    dir: &Path,
    fresh: bool,
    network: Network,
    params: &venus_chain::network::NetworkParams,
    genesis: GenesisSource<'_>,
) -> anyhow::Result<Store> {
    let bs = RedbBlockstore::open(&dir.join("chain.redb"))?;
    let meta = MetaStore::Redb(bs.database().clone());
    let genesis_block = if fresh {
        let template = match genesis {
            GenesisSource::Template(path) => {
                let text = std::fs::read(path)
                    .with_context(|| format!("cannot read genesis template {}", path.display()))?;
                serde_json::from_slice::<GenesisTemplate>(&text)
                    .with_context(|| format!("invalid genesis template {}", path.display()))?
            }
            GenesisSource::Default => default_template(network),
        };
        let built = build_genesis(&bs, &template, params, now_secs())
            .context("cannot build the genesis")?;
        tracing::info!(genesis = %built.block.cid(), network = %template.network_name, "genesis built");
        Some(built.block)
    } else {
        None
    };
    Ok(ChainStore::open(bs, meta, genesis_block)?)
}

/// The chain crate's parameters for a network (same names, consensus fields).
fn chain_params(network: Network) -> anyhow::Result<venus_chain::network::NetworkParams> {
    let kind: venus_chain::network::NetworkKind = network.params().name.parse()?;
    Ok(kind.params())
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
