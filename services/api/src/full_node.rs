//! The venus FullNode API (`/rpc/v1` and `/rpc/v0` of the `venus` daemon, namespace
//! `Filecoin`): every method venus serves with its venus permission, and typed constants for
//! the methods our node implements, with Lotus JSON shapes.
//!
//! The permission tables are venus's `perm:"…"` tags (`venus-shared/api/chain/v1`, `v0`) —
//! 255 methods in v1, 181 in v0. A method in the table that the node does not implement
//! answers JSON-RPC "method not found"; it is listed so that nobody re-derives its
//! permission differently.

use serde::{Deserialize, Serialize};
use venus_rpc::{Method, Permission, Subscription};
use venus_types::{
    Actor, Address, Base64Bytes, BeaconEntry, BlockHeader, BlockMsg, BlockTemplate, ChainEpoch,
    Cid, HeadChange, Message, MessageReceipt, MessageSendSpec, MinerInfo, MinerPower,
    MiningBaseInfo, MsgLookup, NetworkParams, SignedMessage, TipSet, TipSetKey, TokenAmount,
};

/// `Version().APIVersion` of venus's v1 FullNode API: 2.3.0. sophon-miner refuses any other.
pub const API_VERSION_V1: u32 = (2 << 16) | (3 << 8);
/// `Version().APIVersion` of venus's v0 FullNode API: 1.5.0.
pub const API_VERSION_V0: u32 = (1 << 16) | (5 << 8);
/// The JSON-RPC namespace of every FullNode method.
pub const NAMESPACE: &str = "Filecoin";

// ---------------------------------------------------------------------------------------
// Result and parameter shapes specific to the FullNode API (Lotus `api` package JSON).
// ---------------------------------------------------------------------------------------

/// `Version()`: venus answers `{Version, APIVersion}`; Lotus adds `BlockDelay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionInfo {
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: u32,
    #[serde(default)]
    pub block_delay: u64,
}

/// `ChainGetBlockMessages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockMessages {
    pub bls_messages: Vec<Message>,
    pub secpk_messages: Vec<SignedMessage>,
    pub cids: Vec<Cid>,
}

/// `{Cid, Message}` as `ChainGetParentMessages` / `ChainGetMessagesInTipset` return them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageCidAndMessage {
    pub cid: Cid,
    pub message: Message,
}

/// `SyncState`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SyncState {
    pub active_syncs: Vec<ActiveSync>,
    #[serde(rename = "VMApplied")]
    pub vm_applied: u64,
}

/// One sync worker's state (venus `SyncState.ActiveSyncs[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActiveSync {
    #[serde(rename = "WorkerID")]
    pub worker_id: u64,
    pub base: Option<TipSet>,
    pub target: Option<TipSet>,
    /// `SyncStateStage` as a number (0 idle … 4 complete, 5 error).
    pub stage: i64,
    pub height: ChainEpoch,
    pub start: String,
    pub end: String,
    pub message: String,
}

/// A peer and its addresses (go-libp2p `peer.AddrInfo`): `NetPeers`, `NetConnect`,
/// `NetAddrsListen`. `ID` is the peer ID's string form, `Addrs` multiaddr strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Addrs", default, deserialize_with = "null_as_empty")]
    pub addrs: Vec<String>,
}

/// Go marshals a nil slice as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// `MpoolGetConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpoolConfig {
    pub priority_addrs: Vec<Address>,
    pub size_limit_high: i64,
    pub size_limit_low: i64,
    pub replace_by_fee_ratio: f64,
    /// Nanoseconds, as Go's `time.Duration` marshals.
    pub prune_cooldown: i64,
    pub gas_limit_overestimation: f64,
}

/// `GasBatchEstimateMessageGas` input entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EstimateMessage {
    pub msg: Message,
    pub spec: Option<MessageSendSpec>,
}

/// `GasBatchEstimateMessageGas` result entry: the estimated message or the error text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EstimateResult {
    pub msg: Option<Message>,
    pub err: String,
}

// ---------------------------------------------------------------------------------------
// Methods the node serves (v1 names; permissions from `V1_PERMISSIONS`, checked in tests).
// ---------------------------------------------------------------------------------------

macro_rules! read {
    ($n:literal) => {
        Method::new(concat!("Filecoin.", $n), Permission::Read)
    };
}
macro_rules! write {
    ($n:literal) => {
        Method::new(concat!("Filecoin.", $n), Permission::Write)
    };
}
macro_rules! admin {
    ($n:literal) => {
        Method::new(concat!("Filecoin.", $n), Permission::Admin)
    };
}

pub const VERSION: Method<(), VersionInfo> = read!("Version");
pub const CHAIN_HEAD: Method<(), TipSet> = read!("ChainHead");
pub const CHAIN_NOTIFY: Subscription<(), Vec<HeadChange>> =
    Subscription::new("Filecoin.ChainNotify", Permission::Read);
/// `ChainExport(nroots, skipoldmsgs, tsk)`: the chain ending at `tsk` as a CAR, streamed in
/// chunks (`[]byte`, base64 in JSON). A final empty chunk marks a complete export; a channel
/// that closes without it was cut short.
pub const CHAIN_EXPORT: Subscription<(ChainEpoch, bool, TipSetKey), Base64Bytes> =
    Subscription::new("Filecoin.ChainExport", Permission::Read);
pub const CHAIN_GET_TIP_SET: Method<(TipSetKey,), TipSet> = read!("ChainGetTipSet");
pub const CHAIN_GET_TIP_SET_BY_HEIGHT: Method<(ChainEpoch, TipSetKey), TipSet> =
    read!("ChainGetTipSetByHeight");
pub const CHAIN_GET_GENESIS: Method<(), TipSet> = read!("ChainGetGenesis");
pub const CHAIN_GET_BLOCK: Method<(Cid,), BlockHeader> = read!("ChainGetBlock");
pub const CHAIN_GET_BLOCK_MESSAGES: Method<(Cid,), BlockMessages> = read!("ChainGetBlockMessages");
pub const CHAIN_GET_PARENT_MESSAGES: Method<(Cid,), Vec<MessageCidAndMessage>> =
    read!("ChainGetParentMessages");
pub const CHAIN_GET_PARENT_RECEIPTS: Method<(Cid,), Vec<MessageReceipt>> =
    read!("ChainGetParentReceipts");
pub const CHAIN_GET_MESSAGE: Method<(Cid,), Message> = read!("ChainGetMessage");
pub const CHAIN_GET_MESSAGES_IN_TIPSET: Method<(TipSetKey,), Vec<MessageCidAndMessage>> =
    read!("ChainGetMessagesInTipset");
/// venus only: `count` tipset keys walking back from `tsk`.
pub const CHAIN_LIST: Method<(TipSetKey, i64), Vec<TipSetKey>> = read!("ChainList");

pub const STATE_GET_BEACON_ENTRY: Method<(ChainEpoch,), BeaconEntry> = read!("StateGetBeaconEntry");
pub const STATE_GET_ACTOR: Method<(Address, TipSetKey), Actor> = read!("StateGetActor");
pub const STATE_LOOKUP_ID: Method<(Address, TipSetKey), Address> = read!("StateLookupID");
pub const STATE_ACCOUNT_KEY: Method<(Address, TipSetKey), Address> = read!("StateAccountKey");
pub const STATE_SEARCH_MSG: Method<(TipSetKey, Cid, ChainEpoch, bool), Option<MsgLookup>> =
    read!("StateSearchMsg");
pub const STATE_WAIT_MSG: Method<(Cid, u64, ChainEpoch, bool), MsgLookup> = read!("StateWaitMsg");
pub const STATE_MINER_INFO: Method<(Address, TipSetKey), MinerInfo> = read!("StateMinerInfo");
pub const STATE_MINER_POWER: Method<(Address, TipSetKey), MinerPower> = read!("StateMinerPower");
pub const STATE_NETWORK_NAME: Method<(), String> = read!("StateNetworkName");
pub const STATE_NETWORK_VERSION: Method<(TipSetKey,), u32> = read!("StateNetworkVersion");
pub const STATE_GET_NETWORK_PARAMS: Method<(), NetworkParams> = read!("StateGetNetworkParams");
pub const WALLET_BALANCE: Method<(Address,), TokenAmount> = read!("WalletBalance");

pub const MINER_GET_BASE_INFO: Method<(Address, ChainEpoch, TipSetKey), Option<MiningBaseInfo>> =
    read!("MinerGetBaseInfo");
pub const MINER_CREATE_BLOCK: Method<(BlockTemplate,), BlockMsg> = write!("MinerCreateBlock");
pub const SYNC_SUBMIT_BLOCK: Method<(BlockMsg,), ()> = write!("SyncSubmitBlock");
pub const SYNC_STATE: Method<(), SyncState> = read!("SyncState");

/// The node's libp2p peer ID.
pub const ID: Method<(), String> = read!("ID");
pub const NET_PEERS: Method<(), Vec<AddrInfo>> = read!("NetPeers");
pub const NET_CONNECT: Method<(AddrInfo,), ()> = admin!("NetConnect");
pub const NET_ADDRS_LISTEN: Method<(), AddrInfo> = read!("NetAddrsListen");
pub const NET_PROTECT_ADD: Method<(Vec<String>,), ()> = admin!("NetProtectAdd");
pub const NET_PROTECT_REMOVE: Method<(Vec<String>,), ()> = admin!("NetProtectRemove");
pub const NET_PROTECT_LIST: Method<(), Vec<String>> = read!("NetProtectList");

pub const MPOOL_PUSH: Method<(SignedMessage,), Cid> = write!("MpoolPush");
pub const MPOOL_PUSH_UNTRUSTED: Method<(SignedMessage,), Cid> = write!("MpoolPushUntrusted");
pub const MPOOL_BATCH_PUSH: Method<(Vec<SignedMessage>,), Vec<Cid>> = write!("MpoolBatchPush");
pub const MPOOL_BATCH_PUSH_UNTRUSTED: Method<(Vec<SignedMessage>,), Vec<Cid>> =
    write!("MpoolBatchPushUntrusted");
pub const MPOOL_GET_NONCE: Method<(Address,), u64> = read!("MpoolGetNonce");
pub const MPOOL_PENDING: Method<(TipSetKey,), Vec<SignedMessage>> = read!("MpoolPending");
pub const MPOOL_SELECT: Method<(TipSetKey, f64), Vec<SignedMessage>> = read!("MpoolSelect");
/// venus only: one selection per ticket quality.
pub const MPOOL_SELECTS: Method<(TipSetKey, Vec<f64>), Vec<Vec<SignedMessage>>> =
    read!("MpoolSelects");
pub const MPOOL_GET_CONFIG: Method<(), MpoolConfig> = read!("MpoolGetConfig");

pub const GAS_ESTIMATE_MESSAGE_GAS: Method<(Message, Option<MessageSendSpec>, TipSetKey), Message> =
    read!("GasEstimateMessageGas");
/// venus only: estimate a batch from `from_nonce` on.
pub const GAS_BATCH_ESTIMATE_MESSAGE_GAS: Method<
    (Vec<EstimateMessage>, u64, TipSetKey),
    Vec<EstimateResult>,
> = read!("GasBatchEstimateMessageGas");
pub const GAS_ESTIMATE_FEE_CAP: Method<(Message, i64, TipSetKey), TokenAmount> =
    read!("GasEstimateFeeCap");
pub const GAS_ESTIMATE_GAS_PREMIUM: Method<(u64, Address, i64, TipSetKey), TokenAmount> =
    read!("GasEstimateGasPremium");
pub const GAS_ESTIMATE_GAS_LIMIT: Method<(Message, TipSetKey), i64> = read!("GasEstimateGasLimit");

/// The names and permissions of every typed constant above, for the permission test and
/// for servers that list what they serve.
pub const SERVED: &[(&str, Permission)] = &[
    (VERSION.name(), VERSION.perm()),
    (CHAIN_HEAD.name(), CHAIN_HEAD.perm()),
    (CHAIN_NOTIFY.name(), CHAIN_NOTIFY.perm()),
    (CHAIN_EXPORT.name(), CHAIN_EXPORT.perm()),
    (CHAIN_GET_TIP_SET.name(), CHAIN_GET_TIP_SET.perm()),
    (
        CHAIN_GET_TIP_SET_BY_HEIGHT.name(),
        CHAIN_GET_TIP_SET_BY_HEIGHT.perm(),
    ),
    (CHAIN_GET_GENESIS.name(), CHAIN_GET_GENESIS.perm()),
    (CHAIN_GET_BLOCK.name(), CHAIN_GET_BLOCK.perm()),
    (
        CHAIN_GET_BLOCK_MESSAGES.name(),
        CHAIN_GET_BLOCK_MESSAGES.perm(),
    ),
    (
        CHAIN_GET_PARENT_MESSAGES.name(),
        CHAIN_GET_PARENT_MESSAGES.perm(),
    ),
    (
        CHAIN_GET_PARENT_RECEIPTS.name(),
        CHAIN_GET_PARENT_RECEIPTS.perm(),
    ),
    (CHAIN_GET_MESSAGE.name(), CHAIN_GET_MESSAGE.perm()),
    (
        CHAIN_GET_MESSAGES_IN_TIPSET.name(),
        CHAIN_GET_MESSAGES_IN_TIPSET.perm(),
    ),
    (CHAIN_LIST.name(), CHAIN_LIST.perm()),
    (STATE_GET_BEACON_ENTRY.name(), STATE_GET_BEACON_ENTRY.perm()),
    (STATE_GET_ACTOR.name(), STATE_GET_ACTOR.perm()),
    (STATE_LOOKUP_ID.name(), STATE_LOOKUP_ID.perm()),
    (STATE_ACCOUNT_KEY.name(), STATE_ACCOUNT_KEY.perm()),
    (STATE_SEARCH_MSG.name(), STATE_SEARCH_MSG.perm()),
    (STATE_WAIT_MSG.name(), STATE_WAIT_MSG.perm()),
    (STATE_MINER_INFO.name(), STATE_MINER_INFO.perm()),
    (STATE_MINER_POWER.name(), STATE_MINER_POWER.perm()),
    (STATE_NETWORK_NAME.name(), STATE_NETWORK_NAME.perm()),
    (STATE_NETWORK_VERSION.name(), STATE_NETWORK_VERSION.perm()),
    (
        STATE_GET_NETWORK_PARAMS.name(),
        STATE_GET_NETWORK_PARAMS.perm(),
    ),
    (WALLET_BALANCE.name(), WALLET_BALANCE.perm()),
    (MINER_GET_BASE_INFO.name(), MINER_GET_BASE_INFO.perm()),
    (MINER_CREATE_BLOCK.name(), MINER_CREATE_BLOCK.perm()),
    (SYNC_SUBMIT_BLOCK.name(), SYNC_SUBMIT_BLOCK.perm()),
    (SYNC_STATE.name(), SYNC_STATE.perm()),
    (ID.name(), ID.perm()),
    (NET_PEERS.name(), NET_PEERS.perm()),
    (NET_CONNECT.name(), NET_CONNECT.perm()),
    (NET_ADDRS_LISTEN.name(), NET_ADDRS_LISTEN.perm()),
    (NET_PROTECT_ADD.name(), NET_PROTECT_ADD.perm()),
    (NET_PROTECT_REMOVE.name(), NET_PROTECT_REMOVE.perm()),
    (NET_PROTECT_LIST.name(), NET_PROTECT_LIST.perm()),
    (MPOOL_PUSH.name(), MPOOL_PUSH.perm()),
    (MPOOL_PUSH_UNTRUSTED.name(), MPOOL_PUSH_UNTRUSTED.perm()),
    (MPOOL_BATCH_PUSH.name(), MPOOL_BATCH_PUSH.perm()),
    (
        MPOOL_BATCH_PUSH_UNTRUSTED.name(),
        MPOOL_BATCH_PUSH_UNTRUSTED.perm(),
    ),
    (MPOOL_GET_NONCE.name(), MPOOL_GET_NONCE.perm()),
    (MPOOL_PENDING.name(), MPOOL_PENDING.perm()),
    (MPOOL_SELECT.name(), MPOOL_SELECT.perm()),
    (MPOOL_SELECTS.name(), MPOOL_SELECTS.perm()),
    (MPOOL_GET_CONFIG.name(), MPOOL_GET_CONFIG.perm()),
    (
        GAS_ESTIMATE_MESSAGE_GAS.name(),
        GAS_ESTIMATE_MESSAGE_GAS.perm(),
    ),
    (
        GAS_BATCH_ESTIMATE_MESSAGE_GAS.name(),
        GAS_BATCH_ESTIMATE_MESSAGE_GAS.perm(),
    ),
    (GAS_ESTIMATE_FEE_CAP.name(), GAS_ESTIMATE_FEE_CAP.perm()),
    (
        GAS_ESTIMATE_GAS_PREMIUM.name(),
        GAS_ESTIMATE_GAS_PREMIUM.perm(),
    ),
    (GAS_ESTIMATE_GAS_LIMIT.name(), GAS_ESTIMATE_GAS_LIMIT.perm()),
];

/// Every venus v1 FullNode method (without the `Filecoin.` prefix) and its permission.
pub const V1_PERMISSIONS: &[(&str, Permission)] = &[
    ("BlockTime", Permission::Read),
    ("ChainDeleteObj", Permission::Admin),
    ("ChainExport", Permission::Read),
    ("ChainGetBlock", Permission::Read),
    ("ChainGetBlockMessages", Permission::Read),
    ("ChainGetEvents", Permission::Read),
    ("ChainGetGenesis", Permission::Read),
    ("ChainGetMessage", Permission::Read),
    ("ChainGetMessagesInTipset", Permission::Read),
    ("ChainGetParentMessages", Permission::Read),
    ("ChainGetParentReceipts", Permission::Read),
    ("ChainGetPath", Permission::Read),
    ("ChainGetReceipts", Permission::Read),
    ("ChainGetTipSet", Permission::Read),
    ("ChainGetTipSetAfterHeight", Permission::Read),
    ("ChainGetTipSetByHeight", Permission::Read),
    ("ChainHasObj", Permission::Read),
    ("ChainHead", Permission::Read),
    ("ChainList", Permission::Read),
    ("ChainNotify", Permission::Read),
    ("ChainPutObj", Permission::Admin),
    ("ChainReadObj", Permission::Read),
    ("ChainSetHead", Permission::Admin),
    ("ChainStatObj", Permission::Read),
    ("ChainSyncHandleNewTipSet", Permission::Write),
    ("ChainTipSetWeight", Permission::Read),
    ("Concurrent", Permission::Read),
    ("EthAccounts", Permission::Read),
    ("EthAddressToFilecoinAddress", Permission::Read),
    ("EthBaseFee", Permission::Read),
    ("EthBlockNumber", Permission::Read),
    ("EthCall", Permission::Read),
    ("EthChainId", Permission::Read),
    ("EthEstimateGas", Permission::Read),
    ("EthFeeHistory", Permission::Read),
    ("EthGasPrice", Permission::Read),
    ("EthGetBalance", Permission::Read),
    ("EthGetBlockByHash", Permission::Read),
    ("EthGetBlockByNumber", Permission::Read),
    ("EthGetBlockReceipts", Permission::Read),
    ("EthGetBlockReceiptsLimited", Permission::Read),
    ("EthGetBlockTransactionCountByHash", Permission::Read),
    ("EthGetBlockTransactionCountByNumber", Permission::Read),
    ("EthGetCode", Permission::Read),
    ("EthGetFilterChanges", Permission::Read),
    ("EthGetFilterLogs", Permission::Read),
    ("EthGetLogs", Permission::Read),
    ("EthGetMessageCidByTransactionHash", Permission::Read),
    ("EthGetStorageAt", Permission::Read),
    ("EthGetTransactionByBlockHashAndIndex", Permission::Read),
    ("EthGetTransactionByBlockNumberAndIndex", Permission::Read),
    ("EthGetTransactionByHash", Permission::Read),
    ("EthGetTransactionByHashLimited", Permission::Read),
    ("EthGetTransactionCount", Permission::Read),
    ("EthGetTransactionHashByCid", Permission::Read),
    ("EthGetTransactionReceipt", Permission::Read),
    ("EthGetTransactionReceiptLimited", Permission::Read),
    ("EthMaxPriorityFeePerGas", Permission::Read),
    ("EthNewBlockFilter", Permission::Read),
    ("EthNewFilter", Permission::Read),
    ("EthNewPendingTransactionFilter", Permission::Read),
    ("EthProtocolVersion", Permission::Read),
    ("EthSendRawTransaction", Permission::Read),
    ("EthSubscribe", Permission::Read),
    ("EthSyncing", Permission::Read),
    ("EthTraceBlock", Permission::Read),
    ("EthTraceFilter", Permission::Read),
    ("EthTraceReplayBlockTransactions", Permission::Read),
    ("EthTraceTransaction", Permission::Read),
    ("EthUninstallFilter", Permission::Read),
    ("EthUnsubscribe", Permission::Read),
    ("F3GetCertificate", Permission::Read),
    ("F3GetECPowerTable", Permission::Read),
    ("F3GetF3PowerTable", Permission::Read),
    ("F3GetLatestCertificate", Permission::Read),
    ("F3GetManifest", Permission::Read),
    ("F3GetOrRenewParticipationTicket", Permission::Sign),
    ("F3GetPowerTableByInstance", Permission::Read),
    ("F3GetProgress", Permission::Read),
    ("F3IsRunning", Permission::Read),
    ("F3ListParticipants", Permission::Read),
    ("F3Participate", Permission::Sign),
    ("FilecoinAddressToEthAddress", Permission::Read),
    ("GasBatchEstimateMessageGas", Permission::Read),
    ("GasEstimateFeeCap", Permission::Read),
    ("GasEstimateGasLimit", Permission::Read),
    ("GasEstimateGasPremium", Permission::Read),
    ("GasEstimateMessageGas", Permission::Read),
    ("GetActor", Permission::Read),
    ("GetActorEventsRaw", Permission::Read),
    ("GetEntry", Permission::Read),
    ("GetFullBlock", Permission::Read),
    ("GetParentStateRootActor", Permission::Read),
    ("HasPassword", Permission::Admin),
    ("ID", Permission::Read),
    ("ListActor", Permission::Read),
    ("LockWallet", Permission::Admin),
    ("MinerCreateBlock", Permission::Write),
    ("MinerGetBaseInfo", Permission::Read),
    ("MpoolBatchPush", Permission::Write),
    ("MpoolBatchPushMessage", Permission::Sign),
    ("MpoolBatchPushUntrusted", Permission::Write),
    ("MpoolCheckMessages", Permission::Read),
    ("MpoolCheckPendingMessages", Permission::Read),
    ("MpoolCheckReplaceMessages", Permission::Read),
    ("MpoolClear", Permission::Write),
    ("MpoolDeleteByAdress", Permission::Admin),
    ("MpoolGetConfig", Permission::Read),
    ("MpoolGetNonce", Permission::Read),
    ("MpoolPending", Permission::Read),
    ("MpoolPublishByAddr", Permission::Write),
    ("MpoolPublishMessage", Permission::Write),
    ("MpoolPush", Permission::Write),
    ("MpoolPushMessage", Permission::Sign),
    ("MpoolPushUntrusted", Permission::Write),
    ("MpoolSelect", Permission::Read),
    ("MpoolSelects", Permission::Read),
    ("MpoolSetConfig", Permission::Admin),
    ("MpoolSub", Permission::Read),
    ("NetAddrsListen", Permission::Read),
    ("NetAgentVersion", Permission::Read),
    ("NetAutoNatStatus", Permission::Read),
    ("NetBandwidthStats", Permission::Read),
    ("NetBandwidthStatsByPeer", Permission::Read),
    ("NetBandwidthStatsByProtocol", Permission::Read),
    ("NetConnect", Permission::Admin),
    ("NetConnectedness", Permission::Read),
    ("NetDisconnect", Permission::Admin),
    ("NetFindPeer", Permission::Read),
    ("NetFindProvidersAsync", Permission::Read),
    ("NetGetClosestPeers", Permission::Read),
    ("NetListening", Permission::Read),
    ("NetPeerInfo", Permission::Read),
    ("NetPeers", Permission::Read),
    ("NetPing", Permission::Read),
    ("NetProtectAdd", Permission::Admin),
    ("NetProtectList", Permission::Read),
    ("NetProtectRemove", Permission::Admin),
    ("NetPubsubScores", Permission::Read),
    ("NetVersion", Permission::Read),
    ("NodeStatus", Permission::Read),
    ("PaychAllocateLane", Permission::Sign),
    ("PaychAvailableFunds", Permission::Sign),
    ("PaychAvailableFundsByFromTo", Permission::Sign),
    ("PaychCollect", Permission::Sign),
    ("PaychFund", Permission::Sign),
    ("PaychGet", Permission::Sign),
    ("PaychGetWaitReady", Permission::Sign),
    ("PaychList", Permission::Read),
    ("PaychNewPayment", Permission::Sign),
    ("PaychSettle", Permission::Sign),
    ("PaychStatus", Permission::Read),
    ("PaychVoucherAdd", Permission::Write),
    ("PaychVoucherCheckSpendable", Permission::Read),
    ("PaychVoucherCheckValid", Permission::Read),
    ("PaychVoucherCreate", Permission::Sign),
    ("PaychVoucherList", Permission::Write),
    ("PaychVoucherSubmit", Permission::Sign),
    ("ProtocolParameters", Permission::Read),
    ("ResolveToKeyAddr", Permission::Read),
    ("SetConcurrent", Permission::Admin),
    ("SetPassword", Permission::Admin),
    ("StartTime", Permission::Read),
    ("StateAccountKey", Permission::Read),
    ("StateActorCodeCIDs", Permission::Read),
    ("StateActorManifestCID", Permission::Read),
    ("StateAllMinerFaults", Permission::Read),
    ("StateCall", Permission::Read),
    ("StateChangedActors", Permission::Read),
    ("StateCirculatingSupply", Permission::Read),
    ("StateCompute", Permission::Read),
    ("StateComputeDataCID", Permission::Read),
    ("StateDealProviderCollateralBounds", Permission::Read),
    ("StateDecodeParams", Permission::Read),
    ("StateEncodeParams", Permission::Read),
    ("StateGetActor", Permission::Read),
    ("StateGetAllAllocations", Permission::Read),
    ("StateGetAllClaims", Permission::Read),
    ("StateGetAllocation", Permission::Read),
    ("StateGetAllocationForPendingDeal", Permission::Read),
    ("StateGetAllocationIdForPendingDeal", Permission::Read),
    ("StateGetAllocations", Permission::Read),
    ("StateGetBeaconEntry", Permission::Read),
    ("StateGetClaim", Permission::Read),
    ("StateGetClaims", Permission::Read),
    ("StateGetNetworkParams", Permission::Read),
    ("StateGetRandomnessDigestFromBeacon", Permission::Read),
    ("StateGetRandomnessDigestFromTickets", Permission::Read),
    ("StateGetRandomnessFromBeacon", Permission::Read),
    ("StateGetRandomnessFromTickets", Permission::Read),
    ("StateListActors", Permission::Read),
    ("StateListMessages", Permission::Read),
    ("StateListMiners", Permission::Read),
    ("StateLookupID", Permission::Read),
    ("StateLookupRobustAddress", Permission::Read),
    ("StateMarketBalance", Permission::Read),
    ("StateMarketDeals", Permission::Read),
    ("StateMarketParticipants", Permission::Read),
    ("StateMarketProposalPending", Permission::Read),
    ("StateMarketStorageDeal", Permission::Read),
    ("StateMinerActiveSectors", Permission::Read),
    ("StateMinerAllocated", Permission::Read),
    ("StateMinerAvailableBalance", Permission::Read),
    ("StateMinerCreationDeposit", Permission::Read),
    ("StateMinerDeadlines", Permission::Read),
    ("StateMinerFaults", Permission::Read),
    ("StateMinerInfo", Permission::Read),
    ("StateMinerInitialPledgeCollateral", Permission::Read),
    ("StateMinerInitialPledgeForSector", Permission::Read),
    ("StateMinerPartitions", Permission::Read),
    ("StateMinerPower", Permission::Read),
    ("StateMinerPreCommitDepositForPower", Permission::Read),
    ("StateMinerProvingDeadline", Permission::Read),
    ("StateMinerRecoveries", Permission::Read),
    ("StateMinerSectorAllocated", Permission::Read),
    ("StateMinerSectorCount", Permission::Read),
    ("StateMinerSectorSize", Permission::Read),
    ("StateMinerSectors", Permission::Read),
    ("StateMinerWorkerAddress", Permission::Read),
    ("StateNetworkName", Permission::Read),
    ("StateNetworkVersion", Permission::Read),
    ("StateReadState", Permission::Read),
    ("StateReplay", Permission::Read),
    ("StateSearchMsg", Permission::Read),
    ("StateSectorExpiration", Permission::Read),
    ("StateSectorGetInfo", Permission::Read),
    ("StateSectorPartition", Permission::Read),
    ("StateSectorPreCommitInfo", Permission::Read),
    ("StateVMCirculatingSupplyInternal", Permission::Read),
    ("StateVerifiedClientStatus", Permission::Read),
    ("StateVerifiedRegistryRootKey", Permission::Read),
    ("StateVerifierStatus", Permission::Read),
    ("StateWaitMsg", Permission::Read),
    ("SubscribeActorEventsRaw", Permission::Read),
    ("SyncCheckpoint", Permission::Admin),
    ("SyncIncomingBlocks", Permission::Read),
    ("SyncState", Permission::Read),
    ("SyncSubmitBlock", Permission::Write),
    ("SyncerTracker", Permission::Read),
    ("UnLockWallet", Permission::Admin),
    ("VerifyEntry", Permission::Read),
    ("Version", Permission::Read),
    ("WalletAddresses", Permission::Admin),
    ("WalletBalance", Permission::Read),
    ("WalletDefaultAddress", Permission::Write),
    ("WalletDelete", Permission::Admin),
    ("WalletExport", Permission::Admin),
    ("WalletHas", Permission::Write),
    ("WalletImport", Permission::Admin),
    ("WalletNewAddress", Permission::Write),
    ("WalletSetDefault", Permission::Write),
    ("WalletSign", Permission::Sign),
    ("WalletSignMessage", Permission::Sign),
    ("WalletState", Permission::Admin),
    ("Web3ClientVersion", Permission::Read),
];

/// Every venus v0 FullNode method and its permission.
pub const V0_PERMISSIONS: &[(&str, Permission)] = &[
    ("BeaconGetEntry", Permission::Read),
    ("BlockTime", Permission::Read),
    ("ChainDeleteObj", Permission::Admin),
    ("ChainExport", Permission::Read),
    ("ChainGetBlock", Permission::Read),
    ("ChainGetBlockMessages", Permission::Read),
    ("ChainGetGenesis", Permission::Read),
    ("ChainGetMessage", Permission::Read),
    ("ChainGetMessagesInTipset", Permission::Read),
    ("ChainGetParentMessages", Permission::Read),
    ("ChainGetParentReceipts", Permission::Read),
    ("ChainGetPath", Permission::Read),
    ("ChainGetRandomnessFromBeacon", Permission::Read),
    ("ChainGetRandomnessFromTickets", Permission::Read),
    ("ChainGetReceipts", Permission::Read),
    ("ChainGetTipSet", Permission::Read),
    ("ChainGetTipSetByHeight", Permission::Read),
    ("ChainHasObj", Permission::Read),
    ("ChainHead", Permission::Read),
    ("ChainList", Permission::Read),
    ("ChainNotify", Permission::Read),
    ("ChainPutObj", Permission::Admin),
    ("ChainReadObj", Permission::Read),
    ("ChainSetHead", Permission::Admin),
    ("ChainStatObj", Permission::Read),
    ("ChainSyncHandleNewTipSet", Permission::Write),
    ("ChainTipSetWeight", Permission::Read),
    ("Concurrent", Permission::Read),
    ("GasBatchEstimateMessageGas", Permission::Read),
    ("GasEstimateFeeCap", Permission::Read),
    ("GasEstimateGasLimit", Permission::Read),
    ("GasEstimateGasPremium", Permission::Read),
    ("GasEstimateMessageGas", Permission::Read),
    ("GetActor", Permission::Read),
    ("GetEntry", Permission::Read),
    ("GetFullBlock", Permission::Read),
    ("GetParentStateRootActor", Permission::Read),
    ("HasPassword", Permission::Admin),
    ("ID", Permission::Read),
    ("ListActor", Permission::Read),
    ("LockWallet", Permission::Admin),
    ("MinerCreateBlock", Permission::Write),
    ("MinerGetBaseInfo", Permission::Read),
    ("MpoolBatchPush", Permission::Write),
    ("MpoolBatchPushMessage", Permission::Sign),
    ("MpoolBatchPushUntrusted", Permission::Write),
    ("MpoolClear", Permission::Write),
    ("MpoolDeleteByAdress", Permission::Admin),
    ("MpoolGetConfig", Permission::Read),
    ("MpoolGetNonce", Permission::Read),
    ("MpoolPending", Permission::Read),
    ("MpoolPublishByAddr", Permission::Admin),
    ("MpoolPublishMessage", Permission::Admin),
    ("MpoolPush", Permission::Write),
    ("MpoolPushMessage", Permission::Sign),
    ("MpoolPushUntrusted", Permission::Write),
    ("MpoolSelect", Permission::Read),
    ("MpoolSelects", Permission::Read),
    ("MpoolSetConfig", Permission::Admin),
    ("MpoolSub", Permission::Read),
    ("NetAddrsListen", Permission::Read),
    ("NetAgentVersion", Permission::Read),
    ("NetAutoNatStatus", Permission::Read),
    ("NetBandwidthStats", Permission::Read),
    ("NetBandwidthStatsByPeer", Permission::Read),
    ("NetBandwidthStatsByProtocol", Permission::Read),
    ("NetConnect", Permission::Admin),
    ("NetConnectedness", Permission::Read),
    ("NetDisconnect", Permission::Admin),
    ("NetFindPeer", Permission::Read),
    ("NetFindProvidersAsync", Permission::Read),
    ("NetGetClosestPeers", Permission::Read),
    ("NetPeerInfo", Permission::Read),
    ("NetPeers", Permission::Read),
    ("NetPing", Permission::Read),
    ("NetProtectAdd", Permission::Admin),
    ("NetProtectList", Permission::Read),
    ("NetProtectRemove", Permission::Admin),
    ("NetPubsubScores", Permission::Read),
    ("PaychAllocateLane", Permission::Sign),
    ("PaychAvailableFunds", Permission::Sign),
    ("PaychAvailableFundsByFromTo", Permission::Sign),
    ("PaychCollect", Permission::Sign),
    ("PaychGet", Permission::Sign),
    ("PaychGetWaitReady", Permission::Sign),
    ("PaychList", Permission::Read),
    ("PaychNewPayment", Permission::Sign),
    ("PaychSettle", Permission::Sign),
    ("PaychStatus", Permission::Read),
    ("PaychVoucherAdd", Permission::Write),
    ("PaychVoucherCheckSpendable", Permission::Read),
    ("PaychVoucherCheckValid", Permission::Read),
    ("PaychVoucherCreate", Permission::Sign),
    ("PaychVoucherList", Permission::Write),
    ("PaychVoucherSubmit", Permission::Sign),
    ("ProtocolParameters", Permission::Read),
    ("ResolveToKeyAddr", Permission::Read),
    ("SetConcurrent", Permission::Admin),
    ("SetPassword", Permission::Admin),
    ("StartTime", Permission::Read),
    ("StateAccountKey", Permission::Read),
    ("StateActorCodeCIDs", Permission::Read),
    ("StateActorManifestCID", Permission::Read),
    ("StateAllMinerFaults", Permission::Read),
    ("StateCall", Permission::Read),
    ("StateChangedActors", Permission::Read),
    ("StateCirculatingSupply", Permission::Read),
    ("StateCompute", Permission::Read),
    ("StateDealProviderCollateralBounds", Permission::Read),
    ("StateDecodeParams", Permission::Read),
    ("StateGetActor", Permission::Read),
    ("StateGetAllocation", Permission::Read),
    ("StateGetAllocationForPendingDeal", Permission::Read),
    ("StateGetAllocations", Permission::Read),
    ("StateGetClaim", Permission::Read),
    ("StateGetClaims", Permission::Read),
    ("StateGetNetworkParams", Permission::Read),
    ("StateGetRandomnessFromBeacon", Permission::Read),
    ("StateGetRandomnessFromTickets", Permission::Read),
    ("StateGetReceipt", Permission::Read),
    ("StateListActors", Permission::Read),
    ("StateListMessages", Permission::Read),
    ("StateListMiners", Permission::Read),
    ("StateLookupID", Permission::Read),
    ("StateMarketBalance", Permission::Read),
    ("StateMarketDeals", Permission::Read),
    ("StateMarketParticipants", Permission::Read),
    ("StateMarketStorageDeal", Permission::Read),
    ("StateMinerActiveSectors", Permission::Read),
    ("StateMinerAvailableBalance", Permission::Read),
    ("StateMinerDeadlines", Permission::Read),
    ("StateMinerFaults", Permission::Read),
    ("StateMinerInfo", Permission::Read),
    ("StateMinerInitialPledgeCollateral", Permission::Read),
    ("StateMinerInitialPledgeForSector", Permission::Read),
    ("StateMinerPartitions", Permission::Read),
    ("StateMinerPower", Permission::Read),
    ("StateMinerPreCommitDepositForPower", Permission::Read),
    ("StateMinerProvingDeadline", Permission::Read),
    ("StateMinerRecoveries", Permission::Read),
    ("StateMinerSectorAllocated", Permission::Read),
    ("StateMinerSectorCount", Permission::Read),
    ("StateMinerSectorSize", Permission::Read),
    ("StateMinerSectors", Permission::Read),
    ("StateMinerWorkerAddress", Permission::Read),
    ("StateNetworkName", Permission::Read),
    ("StateNetworkVersion", Permission::Read),
    ("StateReadState", Permission::Read),
    ("StateReplay", Permission::Read),
    ("StateSearchMsg", Permission::Read),
    ("StateSearchMsgLimited", Permission::Read),
    ("StateSectorExpiration", Permission::Read),
    ("StateSectorGetInfo", Permission::Read),
    ("StateSectorPartition", Permission::Read),
    ("StateSectorPreCommitInfo", Permission::Read),
    ("StateVMCirculatingSupplyInternal", Permission::Read),
    ("StateVerifiedClientStatus", Permission::Read),
    ("StateVerifiedRegistryRootKey", Permission::Read),
    ("StateVerifierStatus", Permission::Read),
    ("StateWaitMsg", Permission::Read),
    ("StateWaitMsgLimited", Permission::Read),
    ("SyncCheckpoint", Permission::Admin),
    ("SyncIncomingBlocks", Permission::Read),
    ("SyncState", Permission::Read),
    ("SyncSubmitBlock", Permission::Write),
    ("SyncerTracker", Permission::Read),
    ("UnLockWallet", Permission::Admin),
    ("VerifyEntry", Permission::Read),
    ("Version", Permission::Read),
    ("WalletAddresses", Permission::Admin),
    ("WalletBalance", Permission::Read),
    ("WalletDefaultAddress", Permission::Write),
    ("WalletDelete", Permission::Admin),
    ("WalletExport", Permission::Admin),
    ("WalletHas", Permission::Write),
    ("WalletImport", Permission::Admin),
    ("WalletNewAddress", Permission::Write),
    ("WalletSetDefault", Permission::Write),
    ("WalletSign", Permission::Sign),
    ("WalletSignMessage", Permission::Sign),
    ("WalletState", Permission::Admin),
];

/// The permission venus v1 requires for `method` (with or without the `Filecoin.` prefix).
pub fn v1_permission(method: &str) -> Option<Permission> {
    lookup(V1_PERMISSIONS, method)
}

/// The permission venus v0 requires for `method`.
pub fn v0_permission(method: &str) -> Option<Permission> {
    lookup(V0_PERMISSIONS, method)
}

fn lookup(table: &[(&str, Permission)], method: &str) -> Option<Permission> {
    let name = method.strip_prefix("Filecoin.").unwrap_or(method);
    table
        .binary_search_by(|(m, _)| (*m).cmp(name))
        .ok()
        .map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_match_venus_counts() {
        assert!(V1_PERMISSIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(V0_PERMISSIONS.windows(2).all(|w| w[0].0 < w[1].0));
        let count = |p| V1_PERMISSIONS.iter().filter(|(_, q)| *q == p).count();
        assert_eq!(
            [
                count(Permission::Read),
                count(Permission::Write),
                count(Permission::Sign),
                count(Permission::Admin)
            ],
            [202, 16, 17, 20]
        );
    }

    #[test]
    fn served_methods_carry_venus_v1_permissions() {
        for (name, perm) in SERVED {
            assert_eq!(v1_permission(name), Some(*perm), "{name}");
        }
    }

    #[test]
    fn head_change_and_version_json_shapes() {
        let v = VersionInfo {
            version: "1.0".into(),
            api_version: API_VERSION_V1,
            block_delay: 4,
        };
        let j = serde_json::to_value(&v).expect("json");
        assert_eq!(j["APIVersion"], 131_840);
    }

    #[test]
    fn venus_specific_permissions() {
        assert_eq!(
            v1_permission("Filecoin.MpoolSelects"),
            Some(Permission::Read)
        );
        assert_eq!(v1_permission("MinerCreateBlock"), Some(Permission::Write));
        assert_eq!(v1_permission("NetConnect"), Some(Permission::Admin));
        assert_eq!(v1_permission("WalletSign"), Some(Permission::Sign));
        assert_eq!(v1_permission("AuthNew"), None);
        assert_eq!(v0_permission("StateWaitMsgLimited"), Some(Permission::Read));
        assert_eq!(API_VERSION_V1, 131_840);
        assert_eq!(API_VERSION_V0, 66_816);
    }
}
