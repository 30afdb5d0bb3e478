//! `MsgMeta`: what a signing request is about (venus wallet / gateway `WalletSign`).

use serde::{Deserialize, Serialize};

use crate::Base64Bytes;

/// venus `types.MsgType`. Unknown strings are kept (`Other`) so a wallet can reject them with
/// `unsupported msgtype:X` instead of failing the whole JSON-RPC call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MsgType {
    Unknown,
    /// `"message"` (venus `MTChainMsg`).
    ChainMsg,
    Block,
    DealProposal,
    DrawRandomParam,
    SignedVoucher,
    StorageAsk,
    AskResponse,
    /// `"networkresposne"` — venus's spelling, kept for wire compatibility.
    NetworkResponse,
    ClientDeal,
    ProviderDealState,
    VerifyAddress,
    F3,
    Other(String),
}

impl MsgType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unknown => "unknown",
            Self::ChainMsg => "message",
            Self::Block => "block",
            Self::DealProposal => "dealproposal",
            Self::DrawRandomParam => "drawrandomparam",
            Self::SignedVoucher => "signedvoucher",
            Self::StorageAsk => "storageask",
            Self::AskResponse => "askresponse",
            Self::NetworkResponse => "networkresposne",
            Self::ClientDeal => "clientdeal",
            Self::ProviderDealState => "providerdealstate",
            Self::VerifyAddress => "verifyaddress",
            Self::F3 => "f3",
            Self::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "unknown" => Self::Unknown,
            "message" => Self::ChainMsg,
            "block" => Self::Block,
            "dealproposal" => Self::DealProposal,
            "drawrandomparam" => Self::DrawRandomParam,
            "signedvoucher" => Self::SignedVoucher,
            "storageask" => Self::StorageAsk,
            "askresponse" => Self::AskResponse,
            "networkresposne" => Self::NetworkResponse,
            "clientdeal" => Self::ClientDeal,
            "providerdealstate" => Self::ProviderDealState,
            "verifyaddress" => Self::VerifyAddress,
            "f3" => Self::F3,
            other => Self::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for MsgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MsgType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MsgType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// `{"Type":"message","Extra":base64|null}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MsgMeta {
    #[serde(rename = "Type")]
    pub msg_type: MsgType,
    #[serde(rename = "Extra", default)]
    pub extra: Base64Bytes,
}

impl MsgMeta {
    pub fn new(msg_type: MsgType) -> Self {
        Self {
            msg_type,
            extra: Base64Bytes::default(),
        }
    }
}
