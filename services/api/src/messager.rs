//! venus-messager API (`/rpc/v0`, namespace `Message`) with the original's names, params,
//! JSON shapes and permissions (venus-shared `api/messager`, `types/messager`), so the Go
//! client works against ours unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};
use venus_rpc::{Method, Permission};
use venus_types::{
    Address, Base64Bytes, ChainEpoch, Cid, MaybeAddress, MessageReceipt, Signature, TipSetKey,
    TokenAmount,
};

/// `types/messager.MessageState`, an integer on the wire. `NoWallet` (6) is the value the
/// original used before v1.10: a message whose signer has no wallet online waits in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(i32)]
pub enum MessageState {
    UnKnown = 0,
    UnFillMsg = 1,
    FillMsg = 2,
    OnChainMsg = 3,
    FailedMsg = 4,
    NonceConflictMsg = 5,
    NoWalletMsg = 6,
}

impl MessageState {
    pub const ALL: [MessageState; 6] = [
        Self::UnFillMsg,
        Self::FillMsg,
        Self::OnChainMsg,
        Self::FailedMsg,
        Self::NonceConflictMsg,
        Self::NoWalletMsg,
    ];

    pub fn from_i64(v: i64) -> Self {
        match v {
            1 => Self::UnFillMsg,
            2 => Self::FillMsg,
            3 => Self::OnChainMsg,
            4 => Self::FailedMsg,
            5 => Self::NonceConflictMsg,
            6 => Self::NoWalletMsg,
            _ => Self::UnKnown,
        }
    }

    /// The original's `String()`.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnFillMsg => "UnFillMsg",
            Self::FillMsg => "FillMsg",
            Self::OnChainMsg => "OnChainMsg",
            Self::FailedMsg => "Failed",
            Self::NonceConflictMsg => "NonceConflictMsg",
            Self::NoWalletMsg => "NoWalletMsg",
            Self::UnKnown => "UnKnown",
        }
    }

    /// Short lower-case label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::UnFillMsg => "unfill",
            Self::FillMsg => "fill",
            Self::OnChainMsg => "onchain",
            Self::FailedMsg => "failed",
            Self::NonceConflictMsg => "nonceconflict",
            Self::NoWalletMsg => "nowallet",
            Self::UnKnown => "unknown",
        }
    }

    /// Parses a number or a name (`fill`, `FillMsg`, `2`…), as the CLI accepts them.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i64>() {
            let st = Self::from_i64(n);
            return (st != Self::UnKnown).then_some(st);
        }
        let lower = s.to_ascii_lowercase();
        let lower = lower.trim_end_matches("msg");
        Self::ALL.into_iter().find(|st| {
            st.label() == lower || st.name().to_ascii_lowercase().trim_end_matches("msg") == lower
        })
    }
}

/// `types/messager.AddressState`: 1 Alive, 4 "Forbbiden" (sic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(i32)]
pub enum AddressState {
    Unknown = 0,
    Alive = 1,
    Removing = 2,
    Removed = 3,
    Forbbiden = 4,
}

impl AddressState {
    pub fn from_i64(v: i64) -> Self {
        match v {
            1 => Self::Alive,
            2 => Self::Removing,
            3 => Self::Removed,
            4 => Self::Forbbiden,
            _ => Self::Unknown,
        }
    }
}

/// `SendSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SendSpec {
    #[serde(rename = "expireEpoch", default)]
    pub expire_epoch: ChainEpoch,
    #[serde(rename = "gasOverEstimation", default)]
    pub gas_over_estimation: f64,
    #[serde(rename = "maxFee", default)]
    pub max_fee: TokenAmount,
    #[serde(rename = "gasOverPremium", default)]
    pub gas_over_premium: f64,
}

/// `FeeSpec`, embedded (flattened) in `Address` and `SharedSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeeSpec {
    #[serde(rename = "gasOverEstimation", default)]
    pub gas_over_estimation: f64,
    #[serde(rename = "maxFee", default)]
    pub max_fee: TokenAmount,
    #[serde(rename = "gasFeeCap", default)]
    pub gas_fee_cap: TokenAmount,
    #[serde(rename = "gasOverPremium", default)]
    pub gas_over_premium: f64,
    #[serde(rename = "baseFee", default)]
    pub base_fee: TokenAmount,
}

/// The messager's message: the chain message's fields flattened into the record, as the
/// original's `MarshalJSON` writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "UnsignedCid", default)]
    pub unsigned_cid: Option<Cid>,
    #[serde(rename = "SignedCid", default)]
    pub signed_cid: Option<Cid>,
    #[serde(rename = "Version", default)]
    pub version: u64,
    #[serde(rename = "To")]
    pub to: Address,
    #[serde(rename = "From")]
    pub from: Address,
    #[serde(rename = "Nonce", default)]
    pub nonce: u64,
    #[serde(rename = "Value", default)]
    pub value: TokenAmount,
    #[serde(rename = "GasLimit", default)]
    pub gas_limit: i64,
    #[serde(rename = "GasFeeCap", default)]
    pub gas_fee_cap: TokenAmount,
    #[serde(rename = "GasPremium", default)]
    pub gas_premium: TokenAmount,
    #[serde(rename = "Method", default)]
    pub method: u64,
    #[serde(rename = "Params", default)]
    pub params: Base64Bytes,
    #[serde(rename = "Signature", default)]
    pub signature: Option<Signature>,
    #[serde(rename = "Height", default)]
    pub height: i64,
    #[serde(rename = "Confidence", default)]
    pub confidence: i64,
    #[serde(rename = "Receipt", default)]
    pub receipt: Option<MessageReceipt>,
    #[serde(rename = "TipSetKey", default)]
    pub tipset_key: TipSetKey,
    #[serde(rename = "Meta", default)]
    pub meta: Option<SendSpec>,
    #[serde(rename = "WalletName", default)]
    pub wallet_name: String,
    #[serde(rename = "State")]
    pub state: MessageState,
    #[serde(rename = "ErrorMsg", default)]
    pub error_msg: String,
    #[serde(rename = "CreatedAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "UpdatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl MessageRecord {
    /// The chain message this record carries.
    pub fn chain_message(&self) -> venus_types::Message {
        venus_types::Message {
            version: self.version,
            to: self.to,
            from: self.from,
            nonce: self.nonce,
            value: self.value.clone(),
            gas_limit: self.gas_limit,
            gas_fee_cap: self.gas_fee_cap.clone(),
            gas_premium: self.gas_premium.clone(),
            method: self.method,
            params: self.params.clone(),
        }
    }
}

/// `Address` (a sending address the messager manages).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressInfo {
    pub id: String,
    pub addr: Address,
    /// The next nonce to assign.
    pub nonce: u64,
    pub weight: i64,
    pub state: AddressState,
    #[serde(rename = "selMsgNum")]
    pub sel_msg_num: u64,
    #[serde(flatten)]
    pub fee: FeeSpec,
    #[serde(rename = "isDeleted")]
    pub is_deleted: i32,
    #[serde(rename = "createAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updateAt")]
    pub updated_at: DateTime<Utc>,
}

/// `SharedSpec`: the global defaults (one row, id 1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedSpec {
    #[serde(default)]
    pub id: u32,
    #[serde(rename = "selMsgNum", default)]
    pub sel_msg_num: u64,
    #[serde(flatten)]
    pub fee: FeeSpec,
}

/// `AddressSpec` (`SetFeeParams`): empty strings leave a value unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressSpec {
    pub address: Address,
    #[serde(rename = "gasOverEstimation", default)]
    pub gas_over_estimation: f64,
    #[serde(rename = "gasOverPremium", default)]
    pub gas_over_premium: f64,
    #[serde(rename = "maxFeeStr", default)]
    pub max_fee_str: String,
    #[serde(rename = "gasFeeCapStr", default)]
    pub gas_fee_cap_str: String,
    #[serde(rename = "baseFeeStr", default)]
    pub base_fee_str: String,
}

/// `Node`: an extra chain node the messager pushes to (and may fail over to).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
    pub name: String,
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(default)]
    pub token: String,
    /// 1 FullNode, 2 LightNode.
    #[serde(default)]
    pub r#type: i32,
    #[serde(default = "epoch_start")]
    pub created_at: DateTime<Utc>,
    #[serde(default = "epoch_start")]
    pub updated_at: DateTime<Utc>,
}

fn epoch_start() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// `ActorCfg`: the fee spec for messages to one (actor code, method), between the address's
/// and the shared spec in precedence. `MethodType` and `FeeSpec` are embedded (flattened).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActorCfg {
    #[serde(default)]
    pub id: String,
    /// The actors version the code belongs to.
    #[serde(rename = "version", default)]
    pub actor_version: i64,
    pub code: Cid,
    pub method: u64,
    #[serde(flatten)]
    pub fee: FeeSpec,
    #[serde(rename = "createAt", default = "epoch_start")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updateAt", default = "epoch_start")]
    pub updated_at: DateTime<Utc>,
}

/// `ChangeGasSpecParams` (`UpdateActorCfg`): a field left out (or null) stays as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeGasSpecParams {
    #[serde(rename = "gasOverEstimation", default)]
    pub gas_over_estimation: Option<f64>,
    #[serde(rename = "maxFee", default, skip_serializing_if = "Option::is_none")]
    pub max_fee: Option<TokenAmount>,
    #[serde(rename = "gasFeeCap", default)]
    pub gas_fee_cap: Option<TokenAmount>,
    #[serde(rename = "gasOverPremium", default)]
    pub gas_over_premium: Option<f64>,
    #[serde(rename = "baseFee", default)]
    pub base_fee: Option<TokenAmount>,
}

/// `ReplacMessageParams` (sic).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceMessageParams {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default)]
    pub auto: bool,
    #[serde(default)]
    pub max_fee: TokenAmount,
    #[serde(default)]
    pub gas_limit: i64,
    #[serde(default)]
    pub gas_premium: TokenAmount,
    #[serde(default)]
    pub gas_feecap: TokenAmount,
    #[serde(default)]
    pub gas_over_premium: f64,
}

/// `MsgQueryParams`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MsgQueryParams {
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: Vec<MessageState>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub from: Vec<Address>,
    #[serde(default)]
    pub by_update_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub asc: bool,
    #[serde(default)]
    pub limit: u64,
    #[serde(default)]
    pub offset: u64,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `QuickSendParams` (`Send`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuickSendParams {
    pub to: Address,
    pub from: Address,
    pub val: TokenAmount,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub gas_premium: Option<TokenAmount>,
    #[serde(default)]
    pub gas_fee_cap: Option<TokenAmount>,
    #[serde(default)]
    pub gas_limit: Option<i64>,
    #[serde(default)]
    pub method: u64,
    #[serde(default)]
    pub params: String,
    /// `json` or `hex`.
    #[serde(default)]
    pub params_type: String,
}

/// `Version()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: u32,
}

/// A Go `time.Duration`: nanoseconds.
pub type GoDuration = i64;

macro_rules! m {
    ($n:literal, $p:ident) => {
        Method::new(concat!("Message.", $n), Permission::$p)
    };
}

pub const HAS_MESSAGE_BY_UID: Method<(String,), bool> = m!("HasMessageByUid", Read);
pub const WAIT_MESSAGE: Method<(String, u64), MessageRecord> = m!("WaitMessage", Read);
pub const PUSH_MESSAGE: Method<(venus_types::Message, Option<SendSpec>), String> =
    m!("PushMessage", Write);
pub const PUSH_MESSAGE_WITH_ID: Method<(String, venus_types::Message, Option<SendSpec>), String> =
    m!("PushMessageWithId", Write);
pub const GET_MESSAGE_BY_UID: Method<(String,), MessageRecord> = m!("GetMessageByUid", Read);
pub const GET_MESSAGE_BY_SIGNED_CID: Method<(Cid,), MessageRecord> =
    m!("GetMessageBySignedCid", Read);
pub const GET_MESSAGE_BY_UNSIGNED_CID: Method<(Cid,), MessageRecord> =
    m!("GetMessageByUnsignedCid", Read);
pub const GET_MESSAGE_BY_FROM_AND_NONCE: Method<(Address, u64), MessageRecord> =
    m!("GetMessageByFromAndNonce", Read);
pub const LIST_MESSAGE: Method<(Option<MsgQueryParams>,), Vec<MessageRecord>> =
    m!("ListMessage", Read);
/// `ListMessageByFromState(from, state, isAsc, pageIndex, pageSize, olderThan)`.
pub type ListByFromStateParams = (Address, MessageState, bool, i64, i64, GoDuration);
pub const LIST_MESSAGE_BY_FROM_STATE: Method<ListByFromStateParams, Vec<MessageRecord>> =
    m!("ListMessageByFromState", Admin);
pub const LIST_MESSAGE_BY_ADDRESS: Method<(Address,), Vec<MessageRecord>> =
    m!("ListMessageByAddress", Admin);
pub const LIST_FAILED_MESSAGE: Method<(), Vec<MessageRecord>> = m!("ListFailedMessage", Read);
pub const LIST_BLOCKED_MESSAGE: Method<(MaybeAddress, GoDuration), Vec<MessageRecord>> =
    m!("ListBlockedMessage", Read);
pub const UPDATE_MESSAGE_STATE_BY_ID: Method<(String, MessageState), ()> =
    m!("UpdateMessageStateByID", Write);
pub const UPDATE_ALL_FILLED_MESSAGE: Method<(), i64> = m!("UpdateAllFilledMessage", Admin);
pub const UPDATE_FILLED_MESSAGE_BY_ID: Method<(String,), String> =
    m!("UpdateFilledMessageByID", Write);
pub const REPLACE_MESSAGE: Method<(ReplaceMessageParams,), Cid> = m!("ReplaceMessage", Write);
pub const REPUBLISH_MESSAGE: Method<(String,), ()> = m!("RepublishMessage", Admin);
pub const MARK_BAD_MESSAGE: Method<(String,), ()> = m!("MarkBadMessage", Write);
pub const RECOVER_FAILED_MSG: Method<(Address,), Vec<String>> = m!("RecoverFailedMsg", Write);

pub const SAVE_ACTOR_CFG: Method<(ActorCfg,), ()> = m!("SaveActorCfg", Admin);
pub const UPDATE_ACTOR_CFG: Method<(String, ChangeGasSpecParams), ()> = m!("UpdateActorCfg", Admin);
pub const LIST_ACTOR_CFG: Method<(), Vec<ActorCfg>> = m!("ListActorCfg", Read);
pub const GET_ACTOR_CFG_BY_ID: Method<(String,), ActorCfg> = m!("GetActorCfgByID", Read);

pub const GET_ADDRESS: Method<(Address,), AddressInfo> = m!("GetAddress", Read);
pub const HAS_ADDRESS: Method<(Address,), bool> = m!("HasAddress", Read);
pub const WALLET_HAS: Method<(Address,), bool> = m!("WalletHas", Read);
pub const LIST_ADDRESS: Method<(), Vec<AddressInfo>> = m!("ListAddress", Read);
pub const UPDATE_NONCE: Method<(Address, u64), ()> = m!("UpdateNonce", Admin);
pub const DELETE_ADDRESS: Method<(Address,), ()> = m!("DeleteAddress", Write);
pub const FORBIDDEN_ADDRESS: Method<(Address,), ()> = m!("ForbiddenAddress", Write);
pub const ACTIVE_ADDRESS: Method<(Address,), ()> = m!("ActiveAddress", Write);
pub const SET_SELECT_MSG_NUM: Method<(Address, u64), ()> = m!("SetSelectMsgNum", Write);
pub const SET_FEE_PARAMS: Method<(AddressSpec,), ()> = m!("SetFeeParams", Write);
pub const CLEAR_UNFILL_MESSAGE: Method<(Address,), i64> = m!("ClearUnFillMessage", Write);

pub const GET_SHARED_PARAMS: Method<(), SharedSpec> = m!("GetSharedParams", Read);
pub const SET_SHARED_PARAMS: Method<(SharedSpec,), ()> = m!("SetSharedParams", Admin);

pub const SAVE_NODE: Method<(NodeInfo,), ()> = m!("SaveNode", Admin);
pub const GET_NODE: Method<(String,), NodeInfo> = m!("GetNode", Admin);
pub const HAS_NODE: Method<(String,), bool> = m!("HasNode", Admin);
pub const LIST_NODE: Method<(), Vec<NodeInfo>> = m!("ListNode", Admin);
pub const DELETE_NODE: Method<(String,), ()> = m!("DeleteNode", Admin);

pub const SET_LOG_LEVEL: Method<(String, String), ()> = m!("SetLogLevel", Admin);
pub const LOG_LIST: Method<(), Vec<String>> = m!("LogList", Admin);

pub const SEND: Method<(QuickSendParams,), String> = m!("Send", Sign);
pub const VERSION: Method<(), Version> = m!("Version", Read);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_integers_and_parse_from_names() {
        assert_eq!(
            serde_json::to_string(&MessageState::FillMsg).expect("json"),
            "2"
        );
        assert_eq!(
            MessageState::parse("onchain"),
            Some(MessageState::OnChainMsg)
        );
        assert_eq!(
            MessageState::parse("FailedMsg"),
            Some(MessageState::FailedMsg)
        );
        assert_eq!(
            MessageState::parse("5"),
            Some(MessageState::NonceConflictMsg)
        );
        assert_eq!(MessageState::parse("9"), None);
    }

    #[test]
    fn the_record_flattens_the_chain_message() {
        let rec = MessageRecord {
            id: "x".into(),
            unsigned_cid: None,
            signed_cid: None,
            version: 0,
            to: "t01".parse().expect("addr"),
            from: "t01".parse().expect("addr"),
            nonce: 3,
            value: TokenAmount::from_atto(5u64),
            gas_limit: 0,
            gas_fee_cap: TokenAmount::zero(),
            gas_premium: TokenAmount::zero(),
            method: 0,
            params: Base64Bytes::default(),
            signature: None,
            height: 0,
            confidence: 0,
            receipt: None,
            tipset_key: TipSetKey::default(),
            meta: None,
            wallet_name: String::new(),
            state: MessageState::UnFillMsg,
            error_msg: String::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let v = serde_json::to_value(&rec).expect("json");
        assert_eq!(v["Nonce"], 3);
        assert_eq!(v["Value"], "5");
        assert_eq!(v["State"], 1);
        let back: MessageRecord = serde_json::from_value(v).expect("parses");
        assert_eq!(back, rec);
    }
}
