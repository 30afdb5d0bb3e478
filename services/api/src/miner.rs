//! venus-miner (sophon-miner) API, `/rpc/v0`, namespace `Filecoin`, with the original's
//! permissions. JSON shapes are sophon-miner's `types/miner.go`.

use serde::{Deserialize, Serialize};
use venus_rpc::{Method, Permission};
use venus_types::{Address, ChainEpoch};

/// A miner the pool mines for (`ListAddress`, `UpdateAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerInfo {
    #[serde(rename = "Addr")]
    pub addr: Address,
    /// The venus-auth user id owning the miner.
    #[serde(rename = "Id")]
    pub id: String,
    /// The venus-auth user name owning the miner.
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "OpenMining")]
    pub open_mining: bool,
}

/// `StatesForMining` entry: whether a miner is mined and its last errors (newest last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerState {
    #[serde(rename = "Addr")]
    pub addr: Address,
    #[serde(rename = "IsMining")]
    pub is_mining: bool,
    #[serde(rename = "Err", default)]
    pub err: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleWinInfo {
    pub epoch: ChainEpoch,
    #[serde(rename = "winCount")]
    pub win_count: i64,
    #[serde(default)]
    pub msg: String,
}

/// `CountWinners` entry per miner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountWinners {
    pub miner: Address,
    #[serde(rename = "totalWinCount")]
    pub total_win_count: i64,
    #[serde(default)]
    pub msg: String,
    #[serde(rename = "winEpochList", default)]
    pub win_epoch_list: Vec<SimpleWinInfo>,
}

/// `ListBlocks` filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BlocksQueryParams {
    #[serde(rename = "Miners", default)]
    pub miners: Vec<Address>,
    #[serde(rename = "Limit", default)]
    pub limit: i64,
    #[serde(rename = "Offset", default)]
    pub offset: i64,
}

/// A row of `miner_blocks` (`ListBlocks`). `MineState`: 0 mining, 1 success, 2 timeout,
/// 3 chain forked, 4 error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinedBlock {
    #[serde(rename = "ParentEpoch")]
    pub parent_epoch: i64,
    #[serde(rename = "ParentKey")]
    pub parent_key: String,
    #[serde(rename = "Epoch")]
    pub epoch: i64,
    #[serde(rename = "Miner")]
    pub miner: String,
    #[serde(rename = "Cid")]
    pub cid: String,
    #[serde(rename = "WinningAt")]
    pub winning_at: String,
    #[serde(rename = "MineState")]
    pub mine_state: i64,
    #[serde(rename = "Consuming")]
    pub consuming: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: u32,
}

/// sophon-miner's API version (0.1.0 encoded as Go's `newVer(0, 1, 0)`).
pub const API_VERSION: u32 = 1 << 8;

pub const VERSION: Method<(), Version> = Method::new("Filecoin.Version", Permission::Read);
pub const SHUTDOWN: Method<(), ()> = Method::new("Filecoin.Shutdown", Permission::Admin);
pub const UPDATE_ADDRESS: Method<(i64, i64), Vec<MinerInfo>> =
    Method::new("Filecoin.UpdateAddress", Permission::Admin);
pub const LIST_ADDRESS: Method<(), Vec<MinerInfo>> =
    Method::new("Filecoin.ListAddress", Permission::Read);
pub const STATES_FOR_MINING: Method<(Vec<Address>,), Vec<MinerState>> =
    Method::new("Filecoin.StatesForMining", Permission::Read);
pub const COUNT_WINNERS: Method<(Vec<Address>, ChainEpoch, ChainEpoch), Vec<CountWinners>> =
    Method::new("Filecoin.CountWinners", Permission::Read);
pub const LIST_BLOCKS: Method<(BlocksQueryParams,), Vec<MinedBlock>> =
    Method::new("Filecoin.ListBlocks", Permission::Read);
pub const WARMUP_FOR_MINER: Method<(Address,), ()> =
    Method::new("Filecoin.WarmupForMiner", Permission::Write);
pub const START: Method<(Vec<Address>,), ()> = Method::new("Filecoin.Start", Permission::Admin);
pub const STOP: Method<(Vec<Address>,), ()> = Method::new("Filecoin.Stop", Permission::Admin);

/// `QueryRecord` filter: the mine recorder's records of `Miner` for epochs
/// `Epoch .. Epoch + Limit` (0 = 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRecordParams {
    #[serde(rename = "Miner")]
    pub miner: Address,
    #[serde(rename = "Epoch")]
    pub epoch: ChainEpoch,
    #[serde(rename = "Limit", default)]
    pub limit: u64,
}

pub const QUERY_RECORD: Method<
    (QueryRecordParams,),
    Vec<std::collections::BTreeMap<String, String>>,
> = Method::new("Filecoin.QueryRecord", Permission::Read);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miner_state_matches_the_go_json() {
        let s = MinerState {
            addr: "f01000".parse().expect("address"),
            is_mining: true,
            err: vec![],
        };
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"{"Addr":"f01000","IsMining":true,"Err":[]}"#
        );
    }

    #[test]
    fn count_winners_uses_the_go_lowercase_keys() {
        let c = CountWinners {
            miner: "t01000".parse().expect("address"),
            total_win_count: 2,
            msg: String::new(),
            win_epoch_list: vec![SimpleWinInfo {
                epoch: 5,
                win_count: 2,
                msg: String::new(),
            }],
        };
        let json = serde_json::to_value(&c).expect("json");
        assert_eq!(json["totalWinCount"], 2);
        assert_eq!(json["winEpochList"][0]["winCount"], 2);
    }
}
