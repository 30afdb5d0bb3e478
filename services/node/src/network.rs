//! The networks `venus daemon --network` accepts, with the parameters the node itself needs
//! (venus `fixtures/networks/*.go`; nerpa from venus v1.1.0). `venus-chain` keeps the same
//! table for consensus; this copy lets the daemon, config and API run without it.
//!
//! Public networks (mainnet, calibnet, butterfly, interop, force) cannot be reached from
//! here: they start, serve the API and say plainly that no peer is reachable. `2k` and the
//! retired `nerpa` run as local networks.

use std::fmt;
use std::str::FromStr;

use fvm_shared::address::Network as AddressNetwork;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    Mainnet,
    Calibnet,
    Butterfly,
    Interop,
    Force,
    TwoK,
    /// The seed guide's devnet of 2020–21, now retired: run locally with nerpa's parameters.
    Nerpa,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkParams {
    /// Canonical name (`StateNetworkName` of public networks).
    pub name: &'static str,
    /// `parameters.networkType` in config.json (venus `types.NetworkType`).
    pub network_type: u8,
    pub block_delay_secs: u64,
    pub address_network: AddressNetwork,
    pub consensus_miner_min_power: u64,
    /// Registered seal proofs (V1_1): 2K=5, 8M=6, 512M=7, 32G=8, 64G=9.
    pub supported_proofs: &'static [i64],
    pub genesis_network_version: u32,
    pub pre_commit_challenge_delay: i64,
    pub eip155_chain_id: u64,
    /// Whether this node runs the network on its own (a local devnet).
    pub is_local: bool,
}

const KIB: u64 = 1024;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

impl Network {
    pub const NAMES: &'static [(&'static str, Network)] = &[
        ("mainnet", Network::Mainnet),
        ("calibnet", Network::Calibnet),
        ("calibrationnet", Network::Calibnet),
        ("cali", Network::Calibnet),
        ("butterfly", Network::Butterfly),
        ("butterflynet", Network::Butterfly),
        ("interop", Network::Interop),
        ("interopnet", Network::Interop),
        ("force", Network::Force),
        ("forcenet", Network::Force),
        ("2k", Network::TwoK),
        ("nerpa", Network::Nerpa),
    ];

    pub fn params(self) -> NetworkParams {
        let test = AddressNetwork::Testnet;
        match self {
            Self::Mainnet => NetworkParams {
                name: "mainnet",
                network_type: 1,
                block_delay_secs: 30,
                address_network: AddressNetwork::Mainnet,
                consensus_miner_min_power: 10 * TIB,
                supported_proofs: &[8, 9],
                genesis_network_version: 0,
                pre_commit_challenge_delay: 150,
                eip155_chain_id: 314,
                is_local: false,
            },
            Self::Calibnet => NetworkParams {
                name: "calibrationnet",
                network_type: 4,
                block_delay_secs: 30,
                address_network: test,
                consensus_miner_min_power: 32 * GIB,
                supported_proofs: &[8, 9],
                genesis_network_version: 0,
                pre_commit_challenge_delay: 150,
                eip155_chain_id: 314_159,
                is_local: false,
            },
            Self::Butterfly => NetworkParams {
                name: "butterflynet",
                network_type: 8,
                block_delay_secs: 30,
                address_network: test,
                consensus_miner_min_power: 2 * GIB,
                supported_proofs: &[7, 8, 9],
                genesis_network_version: 24,
                pre_commit_challenge_delay: 150,
                eip155_chain_id: 3_141_592,
                is_local: false,
            },
            Self::Interop => NetworkParams {
                name: "interopnet",
                network_type: 6,
                block_delay_secs: 30,
                address_network: test,
                consensus_miner_min_power: 2 * KIB,
                supported_proofs: &[5, 6, 7],
                genesis_network_version: 22,
                pre_commit_challenge_delay: 10,
                eip155_chain_id: 3_141_592,
                is_local: false,
            },
            Self::Force => NetworkParams {
                name: "forcenet",
                network_type: 7,
                block_delay_secs: 30,
                address_network: test,
                consensus_miner_min_power: 2 * KIB,
                supported_proofs: &[6, 7, 8],
                genesis_network_version: 26,
                pre_commit_challenge_delay: 10,
                eip155_chain_id: 31_415_926,
                is_local: false,
            },
            Self::TwoK => NetworkParams {
                name: "2k",
                network_type: 2,
                block_delay_secs: 4,
                address_network: test,
                consensus_miner_min_power: 2 * KIB,
                supported_proofs: &[5, 6],
                genesis_network_version: 26,
                pre_commit_challenge_delay: 10,
                eip155_chain_id: 31_415_926,
                is_local: true,
            },
            // venus v1.1.0 nerpanet.go: 30 s blocks, 4 TiB minimum power, 512M/32G/64G
            // sectors; 2 KiB accepted too so a local nerpa can start from devnet pre-seals.
            Self::Nerpa => NetworkParams {
                name: "nerpa",
                network_type: 5,
                block_delay_secs: 30,
                address_network: test,
                consensus_miner_min_power: 4 * TIB,
                supported_proofs: &[5, 7, 8, 9],
                genesis_network_version: 0,
                pre_commit_challenge_delay: 150,
                eip155_chain_id: 31_415_926,
                is_local: true,
            },
        }
    }
}

/// The network recorded as `parameters.networkType` in config.json.
pub fn from_network_type(t: u8) -> Option<Network> {
    Network::NAMES
        .iter()
        .map(|(_, k)| *k)
        .find(|k| k.params().network_type == t)
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.params().name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown network {0:?}: expected one of mainnet, calibrationnet (calibnet, cali), \
     butterflynet (butterfly), interopnet (interop), forcenet (force), 2k (localnet-*), nerpa"
)]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("localnet-") {
            return Ok(Network::TwoK);
        }
        Network::NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, n)| *n)
            .ok_or_else(|| UnknownNetwork(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_networks_and_types_round_trip() {
        assert_eq!("calibnet".parse::<Network>(), Ok(Network::Calibnet));
        assert_eq!("localnet-abc".parse::<Network>(), Ok(Network::TwoK));
        assert_eq!("nerpa".parse::<Network>(), Ok(Network::Nerpa));
        assert!(
            "testnetnet"
                .parse::<Network>()
                .expect_err("must fail")
                .to_string()
                .contains("testnetnet")
        );
        for (_, n) in Network::NAMES {
            assert_eq!(from_network_type(n.params().network_type), Some(*n));
        }
        assert_eq!(Network::TwoK.params().block_delay_secs, 4);
        assert!(Network::Nerpa.params().is_local && !Network::Calibnet.params().is_local);
    }
}
