//! The node without the `chain` feature: network, keys and pool configuration only. It
//! serves the chain-independent API (Version, network name and parameters, beacon entries,
//! mpool config); every chain method answers "method not found". Build with
//! `--features chain` for the full node over `venus-chain`.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use venus_types::{BeaconEntry, ChainEpoch};

use crate::keyfile::Keystore;
use crate::mpool::PoolConfig;
use crate::network::{Network, NetworkParams};
use crate::repo::{KEYSTORE_DIR, Repo};

/// The node's version string (`Version().Version`).
pub const NODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+venus-rs");

/// How the chain would be created on first start (needs the `chain` feature).
pub enum GenesisSource<'a> {
    Template {
        template: &'a std::path::Path,
        car_out: &'a std::path::Path,
    },
    Car(&'a std::path::Path),
    Snapshot {
        car: &'a std::path::Path,
        genesis: Option<&'a std::path::Path>,
    },
    Default,
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub struct Node {
    pub network: Network,
    pub params: NetworkParams,
    pub network_name: String,
    pub started: Instant,
    pub keystore: Mutex<Keystore>,
    pool_config: PoolConfig,
}

impl Node {
    pub fn open(
        repo: &Repo,
        network: Network,
        genesis: GenesisSource<'_>,
    ) -> anyhow::Result<Arc<Node>> {
        if !matches!(genesis, GenesisSource::Default) {
            // Without the chain store there is no genesis to build, import or write.
            anyhow::bail!(
                "--make-genesis, --genesisfile and --import-snapshot need the chain store: build with `--features chain`"
            );
        }
        let network_name = network.params().name.to_owned();
        Ok(Arc::new(Node {
            network,
            params: network.params(),
            network_name,
            started: Instant::now(),
            keystore: Mutex::new(Keystore::open(&repo.path(KEYSTORE_DIR))),
            pool_config: PoolConfig::default(),
        }))
    }

    pub fn pool_config(&self) -> PoolConfig {
        self.pool_config.clone()
    }

    pub fn check_live(&self) -> Result<(), String> {
        Ok(())
    }

    /// Never ready: without the chain there is nothing to be synced with, and a public
    /// network is unreachable anyway.
    pub fn check_ready(&self) -> Result<(), String> {
        if !self.params.is_local {
            return Err(format!(
                "no peers reachable: {} is a public network and this node has no route to it",
                self.network
            ));
        }
        Err("no chain: this build lacks the `chain` feature".into())
    }

    /// Lotus's mock beacon: entry data = blake2b-256 of the round as a big-endian u64.
    pub fn beacon_entry(round: ChainEpoch) -> Result<BeaconEntry, String> {
        let round =
            u64::try_from(round).map_err(|_| format!("beacon round {round} is negative"))?;
        let data = blake2b_simd::Params::new()
            .hash_length(32)
            .hash(&round.to_be_bytes());
        Ok(BeaconEntry {
            round,
            data: data.as_bytes().to_vec().into(),
        })
    }
}
