//! The network upgrade schedule: which network version a network runs at a height
//! (`StateNetworkVersion`) and the `Upgrade*Height` map of `StateGetNetworkParams`.
//!
//! Heights from venus `fixtures/networks/{mainnet,calibration}.go` (v1.20); versions from
//! Lotus's upgrade schedule (`Upgrade.Network`). As Lotus `stmgr`: upgrades at a negative
//! height are disabled, the rest are taken in height order from the genesis network
//! version, and an upgrade's version applies from the epoch after its height (at the
//! height itself the old version still runs). The local networks here (2k, nerpa) and the
//! other test networks have no schedule: they run their genesis version at every height.

use fvm_shared::version::NetworkVersion;
use venus_types::ChainEpoch;
use venus_types::ForkUpgradeParams;

use crate::network::{Network, NetworkParams};

/// One upgrade: its `Upgrade<Name>Height` key, height and the version it brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upgrade {
    pub name: &'static str,
    pub height: ChainEpoch,
    pub version: u32,
}

const fn up(name: &'static str, height: ChainEpoch, version: u32) -> Upgrade {
    Upgrade {
        name,
        height,
        version,
    }
}

const EPOCHS_IN_HOUR: ChainEpoch = 120;
const EPOCHS_IN_DAY: ChainEpoch = 2880;

const MAINNET: &[Upgrade] = &[
    up("UpgradeBreezeHeight", 41280, 1),
    up("UpgradeSmokeHeight", 51000, 2),
    up("UpgradeIgnitionHeight", 94000, 3),
    up("UpgradeRefuelHeight", 130800, 3),
    up("UpgradeAssemblyHeight", 138720, 4),
    up("UpgradeTapeHeight", 140760, 5),
    up("UpgradeLiftoffHeight", 148888, 5),
    up("UpgradeKumquatHeight", 170000, 6),
    up("UpgradeCalicoHeight", 265200, 7),
    up("UpgradePersianHeight", 265200 + EPOCHS_IN_HOUR * 60, 8),
    up("UpgradeOrangeHeight", 336458, 9),
    up("UpgradeClausHeight", 343200, 9),
    up("UpgradeTrustHeight", 550321, 10),
    up("UpgradeNorwegianHeight", 665280, 11),
    up("UpgradeTurboHeight", 712320, 12),
    up("UpgradeHyperdriveHeight", 892800, 13),
    up("UpgradeChocolateHeight", 1231620, 14),
    up("UpgradeOhSnapHeight", 1594680, 15),
    up("UpgradeSkyrHeight", 1960320, 16),
    up("UpgradeSharkHeight", 2383680, 17),
    up("UpgradeHyggeHeight", 2683348, 18),
    up("UpgradeLightningHeight", 2809800, 19),
    up("UpgradeThunderHeight", 2809800 + EPOCHS_IN_DAY * 21, 20),
    up("UpgradeWatermelonHeight", 3469380, 21),
    up("UpgradeWatermelonFixHeight", -100, 21),
    up("UpgradeWatermelonFix2Height", -101, 21),
    up("UpgradeDragonHeight", 3855360, 22),
    up("UpgradeCalibrationDragonFixHeight", -102, 22),
    up("UpgradePhoenixHeight", 3855360 + 120, 22),
    up("UpgradeWaffleHeight", 4154640, 23),
    up("UpgradeTuktukHeight", 4461240, 24),
    up("UpgradeTeepHeight", 4878840, 25),
    up("UpgradeTockHeight", 4878840 + EPOCHS_IN_DAY * 90, 26),
    up("UpgradeTockFixHeight", -1, 26),
    up("UpgradeGoldenWeekHeight", 5348280, 27),
    up("UpgradeFireHorseHeight", 6052800, 28),
];

const CALIBNET: &[Upgrade] = &[
    up("UpgradeBreezeHeight", -1, 1),
    up("UpgradeSmokeHeight", -2, 2),
    up("UpgradeIgnitionHeight", -3, 3),
    up("UpgradeRefuelHeight", -4, 3),
    up("UpgradeAssemblyHeight", 30, 4),
    up("UpgradeTapeHeight", 60, 5),
    up("UpgradeLiftoffHeight", -5, 5),
    up("UpgradeKumquatHeight", 90, 6),
    up("UpgradeCalicoHeight", 120, 7),
    up("UpgradePersianHeight", 120 + EPOCHS_IN_HOUR, 8),
    up("UpgradeClausHeight", 270, 9),
    up("UpgradeOrangeHeight", 300, 9),
    up("UpgradeTrustHeight", 330, 10),
    up("UpgradeNorwegianHeight", 360, 11),
    up("UpgradeTurboHeight", 390, 12),
    up("UpgradeHyperdriveHeight", 420, 13),
    up("UpgradeChocolateHeight", 450, 14),
    up("UpgradeOhSnapHeight", 480, 15),
    up("UpgradeSkyrHeight", 510, 16),
    up("UpgradeSharkHeight", 16800, 17),
    up("UpgradeHyggeHeight", 322354, 18),
    up("UpgradeLightningHeight", 489094, 19),
    up("UpgradeThunderHeight", 489094 + 3120, 20),
    up("UpgradeWatermelonHeight", 1013134, 21),
    up("UpgradeWatermelonFixHeight", 1070494, 21),
    up("UpgradeWatermelonFix2Height", 1108174, 21),
    up("UpgradeDragonHeight", 1427974, 22),
    up("UpgradeCalibrationDragonFixHeight", 1493854, 22),
    up("UpgradePhoenixHeight", 1427974 + 120, 22),
    up("UpgradeWaffleHeight", 1779094, 23),
    up("UpgradeTuktukHeight", 2078794, 24),
    up("UpgradeTeepHeight", 2523454, 25),
    up("UpgradeTockHeight", 2523454 + EPOCHS_IN_DAY * 7, 26),
    up("UpgradeTockFixHeight", 2558014, 26),
    up("UpgradeGoldenWeekHeight", 3007294, 27),
    up("UpgradeFireHorseHeight", 3694534, 28),
];

/// The network's upgrades (empty: the genesis version at every height).
pub fn schedule(network: Network) -> &'static [Upgrade] {
    match network {
        Network::Mainnet => MAINNET,
        Network::Calibnet => CALIBNET,
        _ => &[],
    }
}

/// The version a network with `genesis` and `upgrades` runs at `height`.
pub fn version_at(
    genesis: NetworkVersion,
    upgrades: &[Upgrade],
    height: ChainEpoch,
) -> NetworkVersion {
    let mut active: Vec<&Upgrade> = upgrades.iter().filter(|u| u.height >= 0).collect();
    active.sort_by_key(|u| u.height);
    let mut version = genesis;
    for u in active {
        if height <= u.height {
            return version;
        }
        version = NetworkVersion::new(u.version);
    }
    version
}

/// The version `params`' network runs at `height`.
pub fn network_version(params: &NetworkParams, height: ChainEpoch) -> NetworkVersion {
    version_at(
        params.genesis_network_version,
        schedule(params.kind),
        height,
    )
}

/// `ForkUpgradeParams` of `StateGetNetworkParams`: every upgrade of the schedule with its
/// height (negative: disabled), in schedule order.
pub fn fork_upgrade_params(network: Network) -> ForkUpgradeParams {
    ForkUpgradeParams(
        schedule(network)
            .iter()
            .map(|u| (u.name.to_owned(), u.height))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nv(network: Network, height: ChainEpoch) -> u32 {
        u32::from(network_version(&network.params(), height))
    }

    #[test]
    fn the_devnet_runs_its_genesis_version_at_every_height() {
        for h in [0, 1, 200, 10_000_000] {
            assert_eq!(nv(Network::TwoK, h), 26);
        }
        assert!(fork_upgrade_params(Network::TwoK).0.is_empty());
    }

    #[test]
    fn mainnet_versions_change_the_epoch_after_each_upgrade_height() {
        assert_eq!(nv(Network::Mainnet, 0), 0);
        assert_eq!(nv(Network::Mainnet, 41280), 0);
        assert_eq!(nv(Network::Mainnet, 41281), 1);
        assert_eq!(nv(Network::Mainnet, 140761), 5);
        // Liftoff and Claus bring no new version.
        assert_eq!(nv(Network::Mainnet, 148889), 5);
        assert_eq!(nv(Network::Mainnet, 343201), 9);
        assert_eq!(nv(Network::Mainnet, 2870280), 19);
        assert_eq!(nv(Network::Mainnet, 2870281), 20);
        assert_eq!(nv(Network::Mainnet, 5138041), 26);
        assert_eq!(nv(Network::Mainnet, 6052800), 27);
        assert_eq!(nv(Network::Mainnet, 6052801), 28);
        let p = fork_upgrade_params(Network::Mainnet);
        assert_eq!(p.get("UpgradeTockHeight"), Some(5138040));
        assert_eq!(p.get("UpgradeTockFixHeight"), Some(-1));
    }

    #[test]
    fn disabled_upgrades_are_skipped_and_the_rest_taken_in_height_order() {
        // Calibnet: Breeze…Refuel and Liftoff disabled; Claus (270) comes before Orange (300).
        assert_eq!(nv(Network::Calibnet, 30), 0);
        assert_eq!(nv(Network::Calibnet, 31), 4);
        assert_eq!(nv(Network::Calibnet, 61), 5);
        assert_eq!(nv(Network::Calibnet, 271), 9);
        assert_eq!(nv(Network::Calibnet, 301), 9);
        assert_eq!(nv(Network::Calibnet, 3694535), 28);
        // A made-up schedule, out of order.
        let s = [up("B", 20, 23), up("A", 10, 22), up("X", -1, 30)];
        let g = NetworkVersion::new(21);
        let at = |h| u32::from(version_at(g, &s, h));
        assert_eq!(
            [at(0), at(10), at(11), at(20), at(21)],
            [21, 21, 22, 22, 23]
        );
    }
}
