//! Result and parameter types of the node API (Lotus/venus JSON shapes).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::wire_struct;
use crate::{
    Address, Base64Bytes, BeaconEntry, BigInt, BlockHeader, ChainEpoch, Cid, ElectionProof,
    MaybeAddress, MessageReceipt, PoStProof, SignedMessage, StoragePower, Ticket, TipSet,
    TipSetKey, TokenAmount,
};

/// `HeadChange.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeadChangeType {
    #[serde(rename = "current")]
    Current,
    #[serde(rename = "apply")]
    Apply,
    #[serde(rename = "revert")]
    Revert,
}

/// One `ChainNotify` event: `{"Type":"current"|"apply"|"revert","Val":TipSet}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadChange {
    #[serde(rename = "Type")]
    pub change_type: HeadChangeType,
    #[serde(rename = "Val")]
    pub val: TipSet,
}

wire_struct! {
    /// `StateSearchMsg` / `StateWaitMsg` result.
    #[derive(Clone, Debug, PartialEq)]
    pub struct MsgLookup {
        "Message" => pub message: Cid,
        "Receipt" => pub receipt: MessageReceipt,
        #[json(default)]
        "ReturnDec" => pub return_dec: Option<serde_json::Value>,
        "TipSet" => pub tipset: TipSetKey,
        "Height" => pub height: ChainEpoch,
    }
}

wire_struct! {
    /// A sector a miner may be challenged on (`builtin.ExtendedSectorInfo`).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ExtendedSectorInfo {
        "SealProof" => pub seal_proof: i64,
        "SectorNumber" => pub sector_number: u64,
        #[json(default)]
        "SectorKey" => pub sector_key: Option<Cid>,
        "SealedCID" => pub sealed_cid: Cid,
    }
}

wire_struct! {
    /// `MinerGetBaseInfo` result.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MiningBaseInfo {
        "MinerPower" => pub miner_power: StoragePower,
        "NetworkPower" => pub network_power: StoragePower,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "Sectors" => pub sectors: Vec<ExtendedSectorInfo>,
        "WorkerKey" => pub worker_key: Address,
        "SectorSize" => pub sector_size: u64,
        "PrevBeaconEntry" => pub prev_beacon_entry: BeaconEntry,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "BeaconEntries" => pub beacon_entries: Vec<BeaconEntry>,
        "EligibleForMining" => pub eligible_for_mining: bool,
    }
}

wire_struct! {
    /// `MinerCreateBlock` parameter.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct BlockTemplate {
        "Miner" => pub miner: Address,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "Parents" => pub parents: TipSetKey,
        "Ticket" => pub ticket: Option<Ticket>,
        "Eproof" => pub eproof: Option<ElectionProof>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "BeaconValues" => pub beacon_values: Vec<BeaconEntry>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "Messages" => pub messages: Vec<SignedMessage>,
        "Epoch" => pub epoch: ChainEpoch,
        "Timestamp" => pub timestamp: u64,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "WinningPoStProof" => pub winning_post_proof: Vec<PoStProof>,
    }
}

wire_struct! {
    /// A block as gossiped and submitted (`SyncSubmitBlock`): CBOR `[Header, BlsMessages,
    /// SecpkMessages]`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct BlockMsg {
        "Header" => pub header: BlockHeader,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "BlsMessages" => pub bls_messages: Vec<Cid>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "SecpkMessages" => pub secpk_messages: Vec<Cid>,
    }
}

impl BlockMsg {
    pub fn cid(&self) -> Cid {
        self.header.cid()
    }
}

wire_struct! {
    /// Miner beneficiary terms.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct BeneficiaryTerm {
        "Quota" => pub quota: TokenAmount,
        "UsedQuota" => pub used_quota: TokenAmount,
        "Expiration" => pub expiration: ChainEpoch,
    }
}

wire_struct! {
    /// A proposed beneficiary change awaiting approval.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PendingBeneficiaryChange {
        "NewBeneficiary" => pub new_beneficiary: Address,
        "NewQuota" => pub new_quota: TokenAmount,
        "NewExpiration" => pub new_expiration: ChainEpoch,
        "ApprovedByBeneficiary" => pub approved_by_beneficiary: bool,
        "ApprovedByNominee" => pub approved_by_nominee: bool,
    }
}

wire_struct! {
    /// `StateMinerInfo` result (venus/Lotus field order). `NewWorker` is `"<empty>"` when no
    /// worker change is pending.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MinerInfo {
        "Owner" => pub owner: Address,
        "Worker" => pub worker: Address,
        #[json(default)]
        "NewWorker" => pub new_worker: MaybeAddress,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "ControlAddresses" => pub control_addresses: Vec<Address>,
        "WorkerChangeEpoch" => pub worker_change_epoch: ChainEpoch,
        #[json(default)]
        "PeerId" => pub peer_id: Option<String>,
        #[json(default, deserialize_with = "crate::wire::null_as_default")]
        "Multiaddrs" => pub multiaddrs: Vec<Base64Bytes>,
        "WindowPoStProofType" => pub window_post_proof_type: i64,
        "SectorSize" => pub sector_size: u64,
        "WindowPoStPartitionSectors" => pub window_post_partition_sectors: u64,
        "ConsensusFaultElapsed" => pub consensus_fault_elapsed: ChainEpoch,
        #[json(default)]
        "PendingOwnerAddress" => pub pending_owner_address: Option<Address>,
        "Beneficiary" => pub beneficiary: Address,
        #[json(default)]
        "BeneficiaryTerm" => pub beneficiary_term: Option<BeneficiaryTerm>,
        #[json(default)]
        "PendingBeneficiaryTerm" => pub pending_beneficiary_term: Option<PendingBeneficiaryChange>,
    }
}

wire_struct! {
    /// Raw and quality-adjusted power.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Claim {
        "RawBytePower" => pub raw_byte_power: StoragePower,
        "QualityAdjPower" => pub quality_adj_power: StoragePower,
    }
}

wire_struct! {
    /// `StateMinerPower` result.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct MinerPower {
        "MinerPower" => pub miner_power: Claim,
        "TotalPower" => pub total_power: Claim,
        "HasMinPower" => pub has_min_power: bool,
    }
}

/// `ForkUpgradeParams`: the `Upgrade*Height` keys differ between Lotus and venus versions, so
/// they are kept as ordered `(name, epoch)` pairs and written back in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForkUpgradeParams(pub Vec<(String, ChainEpoch)>);

impl ForkUpgradeParams {
    pub fn get(&self, name: &str) -> Option<ChainEpoch> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}

impl Serialize for ForkUpgradeParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ForkUpgradeParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = ForkUpgradeParams;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of upgrade names to epochs")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, ChainEpoch>()? {
                    pairs.push((k, v));
                }
                Ok(ForkUpgradeParams(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// `StateGetNetworkParams` result. Has no CBOR form in Lotus; serialised as a map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkParams {
    #[serde(rename = "NetworkName")]
    pub network_name: String,
    #[serde(rename = "BlockDelaySecs")]
    pub block_delay_secs: u64,
    #[serde(rename = "ConsensusMinerMinPower")]
    pub consensus_miner_min_power: StoragePower,
    #[serde(
        rename = "SupportedProofTypes",
        default,
        deserialize_with = "crate::wire::null_as_default"
    )]
    pub supported_proof_types: Vec<i64>,
    #[serde(rename = "PreCommitChallengeDelay")]
    pub pre_commit_challenge_delay: ChainEpoch,
    #[serde(rename = "ForkUpgradeParams", default)]
    pub fork_upgrade_params: ForkUpgradeParams,
    #[serde(rename = "Eip155ChainID", default)]
    pub eip155_chain_id: i64,
}

/// `MessageSendSpec`: the union of venus's `{MaxFee, GasOverEstimation, GasOverPremium}` and
/// Lotus's `{MaxFee, MsgUuid, MaximizeFeeCap}`; absent keys take their zero values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageSendSpec {
    #[serde(rename = "MaxFee", default)]
    pub max_fee: TokenAmount,
    #[serde(rename = "GasOverEstimation", default)]
    pub gas_over_estimation: f64,
    #[serde(rename = "GasOverPremium", default)]
    pub gas_over_premium: f64,
    #[serde(rename = "MsgUuid", default, skip_serializing_if = "Option::is_none")]
    pub msg_uuid: Option<String>,
    #[serde(rename = "MaximizeFeeCap", default)]
    pub maximize_fee_cap: bool,
}

/// Parent weight of a tipset is a `BigInt`; re-exported here for API readers.
pub type ChainWeight = BigInt;
