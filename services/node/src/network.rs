//! Networks come from `venus-chain`'s parameter table; this module adds what the node needs
//! on top: the `parameters.networkType` mapping of config.json and the public/local split.
//!
//! Public networks (mainnet, calibnet, butterfly, interop, force) cannot be reached from
//! here: they start, serve the API from their genesis and say plainly that no peer is
//! reachable. `2k` and the retired `nerpa` run as local networks.

pub use venus_chain::network::{NetworkKind as Network, NetworkParams, UnknownNetwork};

/// The network recorded as `parameters.networkType` in config.json.
pub fn from_network_type(t: u8) -> Option<Network> {
    Network::NAMES.iter().map(|(_, k)| *k).find(|k| k.params().network_type == t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_networks_and_types_round_trip() {
        assert_eq!("calibnet".parse::<Network>().ok(), Some(Network::Calibnet));
        assert_eq!("localnet-abc".parse::<Network>().ok(), Some(Network::TwoK));
        assert_eq!("nerpa".parse::<Network>().ok(), Some(Network::Nerpa));
        assert!("testnetnet".parse::<Network>().unwrap_err().to_string().contains("testnetnet"));
        for (_, n) in Network::NAMES {
            assert_eq!(from_network_type(n.params().network_type), Some(*n));
        }
        assert_eq!(Network::TwoK.params().block_delay_secs, 4);
        assert!(Network::Nerpa.params().is_local && !Network::Calibnet.params().is_local);
    }
}
