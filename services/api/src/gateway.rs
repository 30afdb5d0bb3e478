//! venus-gateway API v2 (`/rpc/v2`, also served on `/rpc/v1`), namespace `Gateway`, with
//! sophon-gateway's permissions: providers (wallets, provers, markets) need `read`, consumers
//! `admin` — except `WalletSign`/`WalletHas`, which take `sign` and confine a non-admin
//! caller to its own account.
//!
//! Event-channel wire types are JSON-identical to venus-shared `types/gateway`; payloads are
//! double-encoded (JSON of the inner request, carried as base64 bytes).

use serde::{Deserialize, Serialize};
use venus_rpc::{Method, Permission, Subscription};
use venus_types::{Address, Base64Bytes, ChainEpoch, Cid, PoStProof, Signature};

pub use crate::proof::{ComputeProofRequest, ExtendedSectorInfo};
pub use crate::wallet::MsgMeta;

/// Gateway → provider, one per `xrpc.ch.val` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    #[serde(rename = "Id")]
    pub id: uuid::Uuid,
    #[serde(rename = "Method")]
    pub method: String,
    #[serde(rename = "Payload")]
    pub payload: Base64Bytes,
}

/// Provider → gateway, the argument of `Response*Event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEvent {
    #[serde(rename = "Id")]
    pub id: uuid::Uuid,
    #[serde(rename = "Payload", default)]
    pub payload: Base64Bytes,
    #[serde(rename = "Error", default)]
    pub error: String,
}

/// Payload of the first event on every channel (`InitConnect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedCompleted {
    #[serde(rename = "ChannelId")]
    pub channel_id: uuid::Uuid,
}

/// Event methods the gateway sends down a channel.
pub mod event {
    pub const INIT_CONNECT: &str = "InitConnect";
    pub const WALLET_LIST: &str = "WalletList";
    pub const WALLET_SIGN: &str = "WalletSign";
    pub const COMPUTE_PROOF: &str = "ComputeProof";
    pub const SECTORS_UNSEAL_PIECE: &str = "SectorsUnsealPiece";
    pub const IS_UNSEALED: &str = "IsUnsealed";
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WalletRegisterPolicy {
    #[serde(rename = "SupportAccounts", default)]
    pub support_accounts: Option<Vec<String>>,
    /// Random bytes of the wallet process, mixed into the proof of possession.
    #[serde(rename = "SignBytes", default)]
    pub sign_bytes: Base64Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRegisterPolicy {
    #[serde(rename = "MinerAddress")]
    pub miner_address: Address,
}

/// Payload of a `WalletSign` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletSignRequest {
    #[serde(rename = "Signer")]
    pub signer: Address,
    #[serde(rename = "ToSign")]
    pub to_sign: Base64Bytes,
    #[serde(rename = "Meta")]
    pub meta: MsgMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectState {
    #[serde(rename = "Addrs")]
    pub addrs: Vec<Address>,
    #[serde(rename = "ChannelId")]
    pub channel_id: uuid::Uuid,
    #[serde(rename = "Ip")]
    pub ip: String,
    #[serde(rename = "RequestCount")]
    pub request_count: usize,
    #[serde(rename = "CreateTime")]
    pub create_time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletDetail {
    #[serde(rename = "Account")]
    pub account: String,
    #[serde(rename = "SupportAccounts")]
    pub support_accounts: Vec<String>,
    #[serde(rename = "ConnectStates")]
    pub connect_states: Vec<ConnectState>,
}

/// The connections of one miner's provers (`ListMinerConnection`) or markets (the `Conn` of
/// [`MarketConnectionState`]); venus-shared's `ConnectionStates` / `MinerState`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConnectionStates {
    #[serde(rename = "Connections")]
    pub connections: Vec<ConnectState>,
    #[serde(rename = "ConnectionCount")]
    pub connection_count: usize,
}

/// `ListMinerConnection`'s answer (same shape as [`ConnectionStates`]).
pub type MinerState = ConnectionStates;

/// The argument of `ListenMarketEvent`: the miner whose sectors this market side unseals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketRegisterPolicy {
    #[serde(rename = "Miner")]
    pub miner: Address,
}

/// One miner's market connections (`ListMarketConnectionsState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketConnectionState {
    #[serde(rename = "Addr")]
    pub addr: Address,
    #[serde(rename = "Conn")]
    pub conn: ConnectionStates,
}

/// Payload of a `SectorsUnsealPiece` event (venus-shared `UnsealRequest`; offset and size
/// unpadded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsealRequest {
    #[serde(rename = "PieceCid")]
    pub piece_cid: Cid,
    #[serde(rename = "Miner")]
    pub miner: Address,
    #[serde(rename = "Sid")]
    pub sid: u64,
    #[serde(rename = "Offset")]
    pub offset: u64,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "Dest")]
    pub dest: String,
}

/// Payload of an `IsUnsealed` event (sophon-gateway's `IsUnsealRequest` before v1.11; offset
/// and size padded, as venus-shared v1's `IsUnsealed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsUnsealRequest {
    #[serde(rename = "PieceCid")]
    pub piece_cid: Cid,
    #[serde(rename = "Miner")]
    pub miner: Address,
    #[serde(rename = "Sid")]
    pub sid: u64,
    #[serde(rename = "Offset")]
    pub offset: u64,
    #[serde(rename = "Size")]
    pub size: u64,
}

/// Where an unseal stands (venus-shared `UnsealState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnsealState {
    #[serde(rename = "set_up")]
    SetUp,
    #[serde(rename = "finished")]
    Finished,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "unsealing")]
    Unsealing,
    #[serde(rename = "uploading")]
    Uploading,
}

/// A sector of a miner (`storage.SectorRef` of venus-shared v1's market calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorRef {
    #[serde(rename = "ID")]
    pub id: SectorId,
    #[serde(rename = "ProofType")]
    pub proof_type: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorId {
    #[serde(rename = "Miner")]
    pub miner: u64,
    #[serde(rename = "Number")]
    pub number: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: u32,
}

// --- providers (read) ---

pub const LISTEN_WALLET_EVENT: Subscription<(WalletRegisterPolicy,), RequestEvent> =
    Subscription::new("Gateway.ListenWalletEvent", Permission::Read);
pub const RESPONSE_WALLET_EVENT: Method<(ResponseEvent,), ()> =
    Method::new("Gateway.ResponseWalletEvent", Permission::Read);
pub const SUPPORT_NEW_ACCOUNT: Method<(uuid::Uuid, String), ()> =
    Method::new("Gateway.SupportNewAccount", Permission::Read);
pub const ADD_NEW_ADDRESS: Method<(uuid::Uuid, Vec<Address>), ()> =
    Method::new("Gateway.AddNewAddress", Permission::Read);
pub const REMOVE_ADDRESS: Method<(uuid::Uuid, Vec<Address>), ()> =
    Method::new("Gateway.RemoveAddress", Permission::Read);
pub const LISTEN_PROOF_EVENT: Subscription<(ProofRegisterPolicy,), RequestEvent> =
    Subscription::new("Gateway.ListenProofEvent", Permission::Read);
pub const RESPONSE_PROOF_EVENT: Method<(ResponseEvent,), ()> =
    Method::new("Gateway.ResponseProofEvent", Permission::Read);
pub const LISTEN_MARKET_EVENT: Subscription<(MarketRegisterPolicy,), RequestEvent> =
    Subscription::new("Gateway.ListenMarketEvent", Permission::Read);
pub const RESPONSE_MARKET_EVENT: Method<(ResponseEvent,), ()> =
    Method::new("Gateway.ResponseMarketEvent", Permission::Read);
pub const VERSION: Method<(), Version> = Method::new("Gateway.Version", Permission::Read);

// --- consumers and operators (admin) ---

/// `sign` (the original: `admin`): a caller below `admin` is confined to its own user's
/// accounts (the gateway narrows the accounts it routes on), an admin names any account.
pub const WALLET_HAS: Method<(Address, Vec<String>), bool> =
    Method::new("Gateway.WalletHas", Permission::Sign);
/// `sign` (the original: `admin`), confined as [`WALLET_HAS`].
pub const WALLET_SIGN: Method<(Address, Vec<String>, Base64Bytes, MsgMeta), Signature> =
    Method::new("Gateway.WalletSign", Permission::Sign);
pub const LIST_WALLET_INFO: Method<(), Vec<WalletDetail>> =
    Method::new("Gateway.ListWalletInfo", Permission::Admin);
pub const LIST_WALLET_INFO_BY_WALLET: Method<(String,), WalletDetail> =
    Method::new("Gateway.ListWalletInfoByWallet", Permission::Admin);
/// `ComputeProof(miner, sectors, randomness, height, network version)`.
pub type ComputeProofParams = (
    Address,
    Vec<ExtendedSectorInfo>,
    Base64Bytes,
    ChainEpoch,
    u32,
);

pub const COMPUTE_PROOF: Method<ComputeProofParams, Vec<PoStProof>> =
    Method::new("Gateway.ComputeProof", Permission::Admin);
pub const LIST_CONNECTED_MINERS: Method<(), Vec<Address>> =
    Method::new("Gateway.ListConnectedMiners", Permission::Admin);
pub const LIST_MINER_CONNECTION: Method<(Address,), MinerState> =
    Method::new("Gateway.ListMinerConnection", Permission::Admin);
pub const LIST_MARKET_CONNECTIONS_STATE: Method<(), Vec<MarketConnectionState>> =
    Method::new("Gateway.ListMarketConnectionsState", Permission::Admin);
/// `SectorsUnsealPiece(miner, pieceCid, sector number, unpadded offset, unpadded size, dest)`;
/// served on `/rpc/v2` and, as the original, in the same form on `/rpc/v1`.
pub type SectorsUnsealPieceParams = (Address, Cid, u64, u64, u64, String);
pub const SECTORS_UNSEAL_PIECE: Method<SectorsUnsealPieceParams, UnsealState> =
    Method::new("Gateway.SectorsUnsealPiece", Permission::Admin);

/// `RegisterReverse(hostKey, address)`: the header reverse proxy's target for `VENUS`,
/// `MESSAGER`, `MINER`, `DROPLET` or `AUTH` (an empty address removes it); per gateway, not
/// persisted.
pub const REGISTER_REVERSE: Method<(String, String), ()> =
    Method::new("Gateway.RegisterReverse", Permission::Admin);

// --- /rpc/v1 shapes: one account first ---

pub const V1_WALLET_HAS: Method<(String, Address), bool> =
    Method::new("Gateway.WalletHas", Permission::Sign);
pub const V1_WALLET_SIGN: Method<(String, Address, Base64Bytes, MsgMeta), Signature> =
    Method::new("Gateway.WalletSign", Permission::Sign);
/// venus-shared v1's `IsUnsealed(miner, pieceCid, sector, padded offset, padded size)`
/// (`/rpc/v1` only; sophon-gateway dropped it in v1.11).
pub type IsUnsealedParams = (Address, Cid, SectorRef, u64, u64);
pub const V1_IS_UNSEALED: Method<IsUnsealedParams, bool> =
    Method::new("Gateway.IsUnsealed", Permission::Admin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_event_matches_the_go_json() {
        let ev = RequestEvent {
            id: uuid::Uuid::nil(),
            method: "WalletList".into(),
            payload: b"null".to_vec().into(),
        };
        let json = serde_json::to_string(&ev).expect("serialisable");
        assert_eq!(
            json,
            r#"{"Id":"00000000-0000-0000-0000-000000000000","Method":"WalletList","Payload":"bnVsbA=="}"#
        );
        assert_eq!(
            serde_json::from_str::<RequestEvent>(&json).expect("parses"),
            ev
        );
    }

    #[test]
    fn response_event_accepts_null_payload_and_rejects_bad_base64() {
        let ok: ResponseEvent = serde_json::from_str(
            r#"{"Id":"00000000-0000-0000-0000-000000000000","Payload":null,"Error":"wallet locked"}"#,
        )
        .expect("parses");
        assert!(ok.payload.is_empty());
        assert_eq!(ok.error, "wallet locked");
        let bad = serde_json::from_str::<ResponseEvent>(
            r#"{"Id":"00000000-0000-0000-0000-000000000000","Payload":"%%","Error":""}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn market_types_match_venus_shared() {
        let state: UnsealState = serde_json::from_str(r#""set_up""#).expect("parses");
        assert_eq!(state, UnsealState::SetUp);
        assert_eq!(
            serde_json::to_string(&UnsealState::Finished).expect("json"),
            r#""finished""#
        );
        let sector: SectorRef =
            serde_json::from_str(r#"{"ID":{"Miner":1000,"Number":9},"ProofType":8}"#)
                .expect("parses");
        assert_eq!(sector.id.number, 9);
        let policy: MarketRegisterPolicy =
            serde_json::from_str(r#"{"Miner":"f01234"}"#).expect("parses");
        assert_eq!(policy.miner.to_string(), "f01234");
        let empty = serde_json::to_value(ConnectionStates::default()).expect("json");
        assert_eq!(
            empty,
            serde_json::json!({"Connections": [], "ConnectionCount": 0})
        );
    }

    #[test]
    fn register_policy_reads_the_wallets_json() {
        let p: WalletRegisterPolicy =
            serde_json::from_str(r#"{"SupportAccounts":["u1"],"SignBytes":"AQID"}"#)
                .expect("parses");
        assert_eq!(p.support_accounts, Some(vec!["u1".to_owned()]));
        assert_eq!(p.sign_bytes.as_slice(), &[1, 2, 3]);
    }
}
