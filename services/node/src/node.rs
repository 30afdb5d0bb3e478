//! The running node's shared state: network, keys, message pool and (through `venus-chain`)
//! the chain. API handlers, health checks and the CLI-facing daemon all go through it.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use venus_types::{BeaconEntry, ChainEpoch};

use crate::keyfile::Keystore;
use crate::mpool::PoolConfig;
use crate::network::{Network, NetworkParams};
use crate::repo::{KEYSTORE_DIR, Repo};

/// The node's version string (`Version().Version`).
pub const NODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+venus-rs");

pub struct Node {
    pub network: Network,
    pub params: NetworkParams,
    /// `StateNetworkName`: the genesis template's name on local networks.
    pub network_name: String,
    pub started: Instant,
    pub keystore: Mutex<Keystore>,
    pool_config: Mutex<PoolConfig>,
}

impl Node {
    pub fn new(repo: &Repo, network: Network, network_name: String) -> Arc<Node> {
        Arc::new(Node {
            network,
            params: network.params(),
            network_name,
            started: Instant::now(),
            keystore: Mutex::new(Keystore::open(&repo.path(KEYSTORE_DIR))),
            pool_config: Mutex::new(PoolConfig::default()),
        })
    }

    pub fn pool_config(&self) -> PoolConfig {
        self.pool_config.lock().clone()
    }

    /// `/livez`: the process serves requests.
    pub fn check_live(&self) -> Result<(), String> {
        Ok(())
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
        Err("chain not loaded".into())
    }

    /// Lotus's mock beacon, used by every network here (drand is unreachable): entry data is
    /// blake2b-256 of the round as a big-endian u64.
    pub fn beacon_entry(round: ChainEpoch) -> Result<BeaconEntry, String> {
        let round = u64::try_from(round).map_err(|_| format!("beacon round {round} is negative"))?;
        let data = blake2b_simd::Params::new().hash_length(32).hash(&round.to_be_bytes());
        Ok(BeaconEntry { round, data: data.as_bytes().to_vec().into() })
    }
}
