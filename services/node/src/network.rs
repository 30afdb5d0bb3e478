//! The networks `venus daemon --network` accepts: venus-types' table (one for the daemon,
//! config, API and consensus), under the names the node's code uses; and the genesis each
//! public network must start from.

pub use venus_types::network::{
    NetworkKind as Network, NetworkParams, UnknownNetwork, from_network_type,
};

/// The genesis block CID of a public network whose genesis is fixed (Lotus
/// `build/genesis/<net>.car`, Forest `networks/<net>::GENESIS_CID`); `None` for local
/// networks and for the public test networks that are reset (butterfly, interop, …).
pub fn known_genesis(network: Network) -> Option<&'static str> {
    match network {
        Network::Mainnet => Some("bafy2bzacecnamqgqmifpluoeldx7zzglxcljo6oja4vrmtj7432rphldpdmm2"),
        Network::Calibnet => Some("bafy2bzacecyaggy24wol5ruvs6qm73gjibs2l2iyhcqmvi7r7a4ph7zx3yqd4"),
        _ => None,
    }
}

/// What a public network's node may start from: never a genesis made up here. A local
/// network may build one (`--make-genesis`, or the default empty one).
pub fn check_genesis_flags(
    network: Network,
    has_genesis_file: bool,
    makes_genesis: bool,
) -> Result<(), String> {
    if network.params().is_local {
        return Ok(());
    }
    if makes_genesis {
        return Err(format!(
            "{network} is a public network: its genesis is fixed, a node never makes one (--make-genesis is for local networks); pass the network's genesis with --genesisfile"
        ));
    }
    if !has_genesis_file {
        let known = known_genesis(network)
            .map(|c| format!(" (genesis {c})"))
            .unwrap_or_default();
        return Err(format!(
            "{network} is a public network: pass its genesis CAR{known} with --genesisfile (or a snapshot with --import-snapshot); a node never makes up a public network's genesis"
        ));
    }
    Ok(())
}

/// Refuses a genesis that is not the network's known one.
pub fn check_genesis_cid(network: Network, genesis: &str, source: &str) -> Result<(), String> {
    match known_genesis(network) {
        Some(known) if known != genesis => Err(format!(
            "{source} holds genesis {genesis}, but {network}'s genesis is {known}: refusing to start on another network's chain"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_networks_need_their_own_genesis() {
        assert_eq!(
            known_genesis(Network::Mainnet),
            Some("bafy2bzacecnamqgqmifpluoeldx7zzglxcljo6oja4vrmtj7432rphldpdmm2")
        );
        assert_eq!(
            known_genesis(Network::Calibnet),
            Some("bafy2bzacecyaggy24wol5ruvs6qm73gjibs2l2iyhcqmvi7r7a4ph7zx3yqd4")
        );
        assert_eq!(known_genesis(Network::TwoK), None);

        let e = check_genesis_flags(Network::Calibnet, false, false).expect_err("no file");
        assert!(
            e.contains("--genesisfile")
                && e.contains("bafy2bzacecyaggy24wol5ruvs6qm73gjibs2l2iyhcqmvi7r7a4ph7zx3yqd4"),
            "{e}"
        );
        let e = check_genesis_flags(Network::Mainnet, false, true).expect_err("made up");
        assert!(e.contains("never makes one"), "{e}");
        let e = check_genesis_flags(Network::Butterfly, false, false).expect_err("no file");
        assert!(e.contains("--genesisfile"), "{e}");
        assert!(check_genesis_flags(Network::Mainnet, true, false).is_ok());
        assert!(check_genesis_flags(Network::TwoK, false, false).is_ok());
        assert!(check_genesis_flags(Network::TwoK, false, true).is_ok());

        let mainnet = "bafy2bzacecnamqgqmifpluoeldx7zzglxcljo6oja4vrmtj7432rphldpdmm2";
        assert!(check_genesis_cid(Network::Mainnet, mainnet, "genesis file g.car").is_ok());
        let e = check_genesis_cid(Network::Calibnet, mainnet, "genesis file g.car")
            .expect_err("mainnet's genesis on calibnet");
        assert!(
            e.contains("g.car") && e.contains(mainnet) && e.contains("calibrationnet"),
            "{e}"
        );
        // A reset test network has no fixed genesis to compare with.
        assert!(check_genesis_cid(Network::Butterfly, mainnet, "g.car").is_ok());
    }
}
