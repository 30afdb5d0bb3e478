//! Network parameter table: the networks `venus daemon --network` accepts and what each one
//! fixes — one table for the node's daemon, config and API and for consensus (`venus-chain`).
//!
//! Figures from venus `fixtures/networks/*.go` (nerpa from venus v1.1.0) and Lotus
//! `build/buildconstants/params_shared_vals.go`. No public network is reachable from here:
//! public networks start, serve the API and say plainly that no peer is reachable; `2k` and the
//! retired `nerpa` run as local networks (`is_local`).

use std::fmt;
use std::str::FromStr;

use fvm_shared::address::Network as AddressNetwork;
use fvm_shared::sector::RegisteredSealProof;
use fvm_shared::version::NetworkVersion;

/// BlocksPerEpoch (expected leaders per epoch).
pub const BLOCKS_PER_EPOCH: u64 = 5;
/// BlockGasLimit: 10 G gas units.
pub const BLOCK_GAS_LIMIT: u64 = 10_000_000_000;
/// BlockGasTarget: half the limit.
pub const BLOCK_GAS_TARGET: i64 = (BLOCK_GAS_LIMIT / 2) as i64;
/// BaseFeeMaxChangeDenom: the base fee moves at most 1/8 per epoch.
pub const BASE_FEE_MAX_CHANGE_DENOM: i64 = 8;
/// InitialBaseFee (attoFIL), the genesis block's ParentBaseFee.
pub const INITIAL_BASE_FEE: u64 = 100_000_000;
/// MinimumBaseFee (attoFIL).
pub const MINIMUM_BASE_FEE: u64 = 100;
/// BlockMessageLimit: messages per block.
pub const BLOCK_MESSAGE_LIMIT: usize = 10_000;
/// When fewer miners than this meet the minimum power, any miner with power may mine.
pub const CONSENSUS_MINER_MIN_MINERS: u64 = 4;
/// AllowableClockDriftSecs.
pub const ALLOWABLE_CLOCK_DRIFT_SECS: u64 = 1;

/// The networks `venus daemon --network` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    Mainnet,
    TwoK,
    Calibnet,
    Nerpa,
    Interop,
    Force,
    Butterfly,
    Integration,
}

/// Where beacon entries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeaconKind {
    /// Lotus's mock beacon: entry data = blake2b-256(round as big-endian u64).
    Mock,
    /// drand quicknet (not reachable here: such a node never reports itself synced).
    DrandQuicknet,
    /// drand mainnet (not reachable here).
    DrandMainnet,
}

/// Parameters of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkParams {
    pub kind: NetworkKind,
    /// The on-chain name (`StateNetworkName`); local networks take the genesis template's name.
    pub name: &'static str,
    /// venus `networkType` in config.json.
    pub network_type: u8,
    pub block_delay_secs: u64,
    pub propagation_delay_secs: u64,
    pub address_network: AddressNetwork,
    /// Minimum raw power (bytes) for a miner to be eligible on its own.
    pub consensus_miner_min_power: u64,
    pub supported_proofs: &'static [RegisteredSealProof],
    pub genesis_network_version: NetworkVersion,
    pub pre_commit_challenge_delay: i64,
    pub eip155_chain_id: u64,
    /// The beacon the real network uses.
    pub network_beacon: BeaconKind,
    /// True for networks meant to run locally (2k, nerpa as remapped here).
    pub is_local: bool,
}

const KIB2: u64 = 2048;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

impl NetworkKind {
    /// Every accepted CLI name, with the kind it selects.
    pub const NAMES: &'static [(&'static str, NetworkKind)] = &[
        ("mainnet", NetworkKind::Mainnet),
        ("2k", NetworkKind::TwoK),
        ("calibnet", NetworkKind::Calibnet),
        ("calibrationnet", NetworkKind::Calibnet),
        ("cali", NetworkKind::Calibnet),
        ("nerpa", NetworkKind::Nerpa),
        ("interop", NetworkKind::Interop),
        ("interopnet", NetworkKind::Interop),
        ("force", NetworkKind::Force),
        ("forcenet", NetworkKind::Force),
        ("butterfly", NetworkKind::Butterfly),
        ("butterflynet", NetworkKind::Butterfly),
        ("integrationnet", NetworkKind::Integration),
    ];

    pub fn params(self) -> NetworkParams {
        use RegisteredSealProof::*;
        let base = NetworkParams {
            kind: self,
            name: "",
            network_type: 0,
            block_delay_secs: 30,
            propagation_delay_secs: 10,
            address_network: AddressNetwork::Testnet,
            consensus_miner_min_power: KIB2,
            supported_proofs: &[],
            genesis_network_version: NetworkVersion::V0,
            pre_commit_challenge_delay: 150,
            eip155_chain_id: 314,
            network_beacon: BeaconKind::DrandQuicknet,
            is_local: false,
        };
        match self {
            NetworkKind::Mainnet => NetworkParams {
                name: "mainnet",
                network_type: 1,
                address_network: AddressNetwork::Mainnet,
                consensus_miner_min_power: 10 * TIB,
                supported_proofs: &[StackedDRG32GiBV1P1, StackedDRG64GiBV1P1],
                network_beacon: BeaconKind::DrandMainnet,
                ..base
            },
            NetworkKind::TwoK => NetworkParams {
                name: "2k",
                network_type: 2,
                block_delay_secs: 4,
                propagation_delay_secs: 1,
                supported_proofs: &[StackedDRG2KiBV1P1, StackedDRG8MiBV1P1],
                genesis_network_version: NetworkVersion::new(26),
                pre_commit_challenge_delay: 10,
                eip155_chain_id: 31415926,
                is_local: true,
                ..base
            },
            NetworkKind::Calibnet => NetworkParams {
                name: "calibrationnet",
                network_type: 4,
                consensus_miner_min_power: 32 * GIB,
                supported_proofs: &[StackedDRG32GiBV1P1, StackedDRG64GiBV1P1],
                eip155_chain_id: 314159,
                ..base
            },
            // nerpa is retired; it runs here as a local network with its own parameters
            // (30 s blocks, 4 TiB minimum power, 512 MiB/32 GiB/64 GiB sectors, mainnet drand
            // replaced by the mock beacon because no drand is reachable). 2 KiB sectors are
            // accepted too: a local nerpa can then start from the devnet prover's pre-seals,
            // as no machine here can seal a 512 MiB sector.
            NetworkKind::Nerpa => NetworkParams {
                name: "nerpa",
                network_type: 5,
                consensus_miner_min_power: 4 * TIB,
                supported_proofs: &[
                    StackedDRG2KiBV1P1,
                    StackedDRG512MiBV1P1,
                    StackedDRG32GiBV1P1,
                    StackedDRG64GiBV1P1,
                ],
                eip155_chain_id: 31415926,
                network_beacon: BeaconKind::DrandMainnet,
                is_local: true,
                ..base
            },
            NetworkKind::Interop => NetworkParams {
                name: "interopnet",
                network_type: 6,
                propagation_delay_secs: 6,
                supported_proofs: &[StackedDRG2KiBV1P1, StackedDRG8MiBV1P1, StackedDRG512MiBV1P1],
                genesis_network_version: NetworkVersion::new(22),
                eip155_chain_id: 3141592,
                ..base
            },
            NetworkKind::Force => NetworkParams {
                name: "forcenet",
                network_type: 7,
                propagation_delay_secs: 1,
                supported_proofs: &[
                    StackedDRG8MiBV1P1,
                    StackedDRG512MiBV1P1,
                    StackedDRG32GiBV1P1,
                ],
                genesis_network_version: NetworkVersion::new(26),
                eip155_chain_id: 31415926,
                ..base
            },
            NetworkKind::Butterfly => NetworkParams {
                name: "butterflynet",
                network_type: 8,
                propagation_delay_secs: 6,
                consensus_miner_min_power: 2 * GIB,
                supported_proofs: &[
                    StackedDRG512MiBV1P1,
                    StackedDRG32GiBV1P1,
                    StackedDRG64GiBV1P1,
                ],
                genesis_network_version: NetworkVersion::new(24),
                eip155_chain_id: 3141592,
                ..base
            },
            NetworkKind::Integration => NetworkParams {
                name: "integrationnet",
                network_type: 0x30,
                consensus_miner_min_power: 10 * TIB,
                supported_proofs: &[StackedDRG32GiBV1P1, StackedDRG64GiBV1P1],
                network_beacon: BeaconKind::DrandMainnet,
                ..base
            },
        }
    }
}

impl NetworkParams {
    /// The beacon this node actually uses: no drand network is reachable from here, so every
    /// network runs on Lotus's mock beacon. Public networks therefore never claim to be synced.
    pub fn beacon(&self) -> BeaconKind {
        BeaconKind::Mock
    }
}

/// An unknown `--network` value.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown network {0:?}; expected one of: mainnet, 2k, calibnet, calibrationnet, nerpa, interop, force, butterfly, integrationnet (or localnet-<name>)"
)]
pub struct UnknownNetwork(pub String);

impl FromStr for NetworkKind {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("localnet-") {
            return Ok(NetworkKind::TwoK);
        }
        NetworkKind::NAMES
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| UnknownNetwork(s.to_string()))
    }
}

/// The network recorded as `parameters.networkType` in the node's config.json.
pub fn from_network_type(t: u8) -> Option<NetworkKind> {
    NetworkKind::NAMES
        .iter()
        .map(|(_, k)| *k)
        .find(|k| k.params().network_type == t)
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.params().name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_their_parameters() {
        let k: NetworkKind = "2k".parse().expect("2k");
        assert_eq!(k.params().block_delay_secs, 4);
        assert_eq!(
            "calibrationnet".parse::<NetworkKind>().expect("cali"),
            NetworkKind::Calibnet
        );
        assert_eq!(
            "localnet-abc".parse::<NetworkKind>().expect("localnet"),
            NetworkKind::TwoK
        );
        let nerpa = "nerpa".parse::<NetworkKind>().expect("nerpa").params();
        assert_eq!(
            (nerpa.network_type, nerpa.consensus_miner_min_power),
            (5, 4 * TIB)
        );
        assert_eq!(
            NetworkKind::Mainnet.params().address_network,
            AddressNetwork::Mainnet
        );
        let err = "testnetnet2".parse::<NetworkKind>().expect_err("unknown");
        assert!(err.to_string().contains("testnetnet2"));
        for (_, n) in NetworkKind::NAMES {
            assert_eq!(from_network_type(n.params().network_type), Some(*n));
        }
        assert!(NetworkKind::Nerpa.params().is_local && !NetworkKind::Calibnet.params().is_local);
        assert!(
            nerpa
                .supported_proofs
                .contains(&RegisteredSealProof::StackedDRG2KiBV1P1),
            "a local nerpa starts from devnet pre-seals"
        );
    }
}
