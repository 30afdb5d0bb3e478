//! venus-gateway API v2 (`/rpc/v2`, also served on `/rpc/v1`), namespace `Gateway`, with
//! sophon-gateway's permissions: providers (wallets, provers) need `read`, consumers `admin`.
//!
//! Event-channel wire types are JSON-identical to venus-shared `types/gateway`; payloads are
//! double-encoded (JSON of the inner request, carried as base64 bytes).

use serde::{Deserialize, Serialize};
use venus_rpc::{Method, Permission, Subscription};
use venus_types::{Address, Base64Bytes, ChainEpoch, PoStProof, Signature};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProverConnection {
    #[serde(rename = "ChannelId")]
    pub channel_id: uuid::Uuid,
    #[serde(rename = "Account")]
    pub account: String,
    #[serde(rename = "Ip")]
    pub ip: String,
    #[serde(rename = "RequestCount")]
    pub request_count: usize,
    #[serde(rename = "CreateTime")]
    pub create_time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerState {
    #[serde(rename = "Connections")]
    pub connections: Vec<ProverConnection>,
    #[serde(rename = "ConnectionCount")]
    pub connection_count: usize,
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
pub const VERSION: Method<(), Version> = Method::new("Gateway.Version", Permission::Read);

// --- consumers and operators (admin) ---

pub const WALLET_HAS: Method<(Address, Vec<String>), bool> =
    Method::new("Gateway.WalletHas", Permission::Admin);
pub const WALLET_SIGN: Method<(Address, Vec<String>, Base64Bytes, MsgMeta), Signature> =
    Method::new("Gateway.WalletSign", Permission::Admin);
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

// --- /rpc/v1 shapes: one account first ---

pub const V1_WALLET_HAS: Method<(String, Address), bool> =
    Method::new("Gateway.WalletHas", Permission::Admin);
pub const V1_WALLET_SIGN: Method<(String, Address, Base64Bytes, MsgMeta), Signature> =
    Method::new("Gateway.WalletSign", Permission::Admin);

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
    fn register_policy_reads_the_wallets_json() {
        let p: WalletRegisterPolicy =
            serde_json::from_str(r#"{"SupportAccounts":["u1"],"SignBytes":"AQID"}"#)
                .expect("parses");
        assert_eq!(p.support_accounts, Some(vec!["u1".to_owned()]));
        assert_eq!(p.sign_bytes.as_slice(), &[1, 2, 3]);
    }
}
