//! The native actor model: state layouts and code CIDs of the actors this node runs.
//!
//! No builtin-actor WASM bundle is available offline, so these actors are modelled in Rust.
//! Their state is real DAG-CBOR in the blockstore (so every root is a real CID), but the
//! layouts are this node's own, smaller than builtin-actors': state roots differ from Lotus's.
//! Code CIDs are identity CIDs of `venus-native/<name>`, so no tool mistakes them for
//! builtin-actors code.

use cid::Cid;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::tuple::*;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{
    RegisteredPoStProof, RegisteredSealProof, SectorNumber, SectorSize, StoragePower,
};
use fvm_shared::{ActorID, METHOD_SEND};

pub const SYSTEM_ACTOR_ID: ActorID = 0;
pub const INIT_ACTOR_ID: ActorID = 1;
pub const REWARD_ACTOR_ID: ActorID = 2;
pub const CRON_ACTOR_ID: ActorID = 3;
pub const POWER_ACTOR_ID: ActorID = 4;
pub const BURNT_FUNDS_ACTOR_ID: ActorID = 99;
/// The first ID the init actor hands out (Lotus and venus: 100; miners then start at 1000
/// because genesis assigns them explicitly from the template).
pub const FIRST_NON_SINGLETON_ID: ActorID = 100;

pub const fn id_addr(id: ActorID) -> Address {
    Address::new_id(id)
}

/// Total FIL supply, 2 billion FIL.
pub fn total_filecoin() -> TokenAmount {
    TokenAmount::from_whole(2_000_000_000u64)
}

/// The storage-mining allocation the reward actor starts with (1.1 billion FIL).
pub fn mining_reserve() -> TokenAmount {
    TokenAmount::from_whole(1_100_000_000u64)
}

/// The actor kinds of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    System,
    Init,
    Reward,
    Cron,
    Power,
    Account,
    Miner,
}

impl ActorKind {
    pub const ALL: [ActorKind; 7] = [
        ActorKind::System,
        ActorKind::Init,
        ActorKind::Reward,
        ActorKind::Cron,
        ActorKind::Power,
        ActorKind::Account,
        ActorKind::Miner,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActorKind::System => "system",
            ActorKind::Init => "init",
            ActorKind::Reward => "reward",
            ActorKind::Cron => "cron",
            ActorKind::Power => "storagepower",
            ActorKind::Account => "account",
            ActorKind::Miner => "storageminer",
        }
    }

    /// The code CID: raw codec, identity multihash of `venus-native/<name>`.
    pub fn code(self) -> Cid {
        let name = format!("venus-native/{}", self.name());
        // Identity multihash (code 0): the names are far below the 64-byte digest limit.
        match cid::multihash::Multihash::<64>::wrap(0, name.as_bytes()) {
            Ok(mh) => Cid::new_v1(fvm_ipld_encoding::IPLD_RAW, mh),
            Err(_) => Cid::default(),
        }
    }

    pub fn from_code(code: &Cid) -> Option<ActorKind> {
        ActorKind::ALL.into_iter().find(|k| k.code() == *code)
    }

    /// Actors that may send messages (and so own a nonce).
    pub fn is_principal(self) -> bool {
        self == ActorKind::Account
    }
}

/// The init actor: maps robust addresses to IDs.
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct InitState {
    /// HAMT: address bytes → ActorID.
    pub address_map: Cid,
    pub next_id: ActorID,
    pub network_name: String,
}

/// An account actor: the key address behind an ID.
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct AccountState {
    pub address: Address,
}

/// The reward actor: simple exponential minting (no baseline minting).
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct RewardState {
    /// Reward for the whole epoch (shared by its winners in proportion of win count).
    pub this_epoch_reward: TokenAmount,
    pub total_mined: TokenAmount,
    /// The epoch `this_epoch_reward` applies to.
    pub epoch: i64,
}

/// Simple-minting total: 330 M FIL decaying with a 6-year half-life.
pub fn simple_total() -> TokenAmount {
    TokenAmount::from_whole(330_000_000u64)
}

/// λ = ln 2 / (6 years of 30 s epochs), in Q64 fixed point.
pub const REWARD_DECAY_Q64: u128 = 2_027_255_936_897;

impl RewardState {
    pub fn genesis() -> Self {
        // First epoch's reward = SimpleTotal × λ.
        let first = (simple_total().atto() * REWARD_DECAY_Q64) >> 64u32;
        RewardState {
            this_epoch_reward: TokenAmount::from_atto(first),
            total_mined: TokenAmount::default(),
            epoch: 0,
        }
    }

    /// Moves the reward forward to `epoch`, decaying once per epoch (integer arithmetic, so
    /// every node computes the same value).
    pub fn advance_to(&mut self, epoch: i64) {
        while self.epoch < epoch {
            let keep = (1u128 << 64) - REWARD_DECAY_Q64;
            let next = (self.this_epoch_reward.atto() * keep) >> 64u32;
            self.this_epoch_reward = TokenAmount::from_atto(next);
            self.epoch += 1;
        }
    }

    /// A block's reward for `win_count` wins out of the expected BlocksPerEpoch.
    pub fn block_reward(&self, win_count: i64) -> TokenAmount {
        let wins = win_count.max(0) as u64;
        TokenAmount::from_atto(
            self.this_epoch_reward.atto() * wins / crate::network::BLOCKS_PER_EPOCH,
        )
    }
}

/// A miner's power claim in the power actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Claim {
    #[serde(with = "fvm_shared::bigint::bigint_ser")]
    pub raw_byte_power: StoragePower,
    #[serde(with = "fvm_shared::bigint::bigint_ser")]
    pub quality_adj_power: StoragePower,
}

/// The power actor.
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct PowerState {
    #[serde(with = "fvm_shared::bigint::bigint_ser")]
    pub total_raw_byte_power: StoragePower,
    #[serde(with = "fvm_shared::bigint::bigint_ser")]
    pub total_quality_adj_power: StoragePower,
    pub miner_count: u64,
    /// Miners whose raw power meets the network's consensus minimum.
    pub miner_above_min_power_count: u64,
    /// HAMT: miner ID address bytes → Claim.
    pub claims: Cid,
}

/// Static miner information (what `StateMinerInfo` shows).
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct MinerInfo {
    /// ID address of the owner.
    pub owner: Address,
    /// ID address of the worker (a BLS account).
    pub worker: Address,
    #[serde(with = "strict_bytes")]
    pub peer_id: Vec<u8>,
    pub multiaddrs: Vec<fvm_ipld_encoding::BytesDe>,
    pub window_post_proof_type: RegisteredPoStProof,
    pub sector_size: SectorSize,
    pub window_post_partition_sectors: u64,
}

/// A proven sector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorOnChainInfo {
    pub sector_number: SectorNumber,
    pub seal_proof: RegisteredSealProof,
    pub sealed_cid: Cid,
    pub deal_ids: Vec<u64>,
    pub activation: i64,
    pub expiration: i64,
}

/// A miner actor.
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct MinerState {
    pub info: MinerInfo,
    /// AMT: sector number → SectorOnChainInfo.
    pub sectors: Cid,
    pub sector_count: u64,
}

/// The method every actor accepts: plain value transfer.
pub const METHOD_SEND_VALUE: u64 = METHOD_SEND;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_cids_are_distinct_and_round_trip() {
        let codes: std::collections::HashSet<Cid> =
            ActorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ActorKind::ALL.len());
        assert_eq!(
            ActorKind::from_code(&ActorKind::Miner.code()),
            Some(ActorKind::Miner)
        );
        assert_eq!(ActorKind::from_code(&Cid::default()), None);
    }

    #[test]
    fn reward_decays_and_splits_by_win_count() {
        let mut r = RewardState::genesis();
        let first = r.this_epoch_reward.clone();
        // ≈ 36.27 FIL per epoch at the start.
        assert!(first > TokenAmount::from_whole(36) && first < TokenAmount::from_whole(37));
        r.advance_to(10);
        assert!(r.this_epoch_reward < first);
        assert_eq!(r.block_reward(5), r.this_epoch_reward);
        assert_eq!(r.block_reward(0), TokenAmount::default());
    }
}
