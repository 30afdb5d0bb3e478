//! `Message` and `SignedMessage` (CBOR tuples as cbor-gen writes them; Lotus JSON with `CID`).

use crate::cbor::{cid_of_cbor_bytes, to_cbor_infallible};
use crate::wire::wire_struct;
use crate::{Address, Base64Bytes, Cid, Signature, SignatureType, TokenAmount};

wire_struct! {
    /// An unsigned message. JSON adds `CID` on output (Lotus puts it last) and ignores it on input.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Message {
        // Go clients may leave it out (encoding/json then reads 0), e.g. Zondax's Lotus JSON.
        #[json(default)]
        "Version" => pub version: u64,
        "To" => pub to: Address,
        "From" => pub from: Address,
        "Nonce" => pub nonce: u64,
        "Value" => pub value: TokenAmount,
        "GasLimit" => pub gas_limit: i64,
        "GasFeeCap" => pub gas_fee_cap: TokenAmount,
        "GasPremium" => pub gas_premium: TokenAmount,
        "Method" => pub method: u64,
        #[json(default)]
        "Params" => pub params: Base64Bytes,
    }
    json_extra: "CID" => cid
}

impl Message {
    /// The DAG-CBOR bytes (what is hashed for the CID).
    pub fn to_cbor(&self) -> Vec<u8> {
        to_cbor_infallible(self)
    }

    /// blake2b-256 DAG-CBOR CID of the message.
    pub fn cid(&self) -> Cid {
        cid_of_cbor_bytes(&self.to_cbor())
    }

    /// The bytes a wallet signs for this message: its CID bytes (Lotus `WalletSignMessage`).
    pub fn signing_bytes(&self) -> Vec<u8> {
        self.cid().to_bytes()
    }

    /// The most this message can cost in gas: `GasFeeCap × GasLimit`.
    pub fn required_funds(&self) -> TokenAmount {
        TokenAmount(self.gas_fee_cap.0.clone() * self.gas_limit)
    }
}

impl From<Message> for fvm_shared::message::Message {
    fn from(m: Message) -> Self {
        Self {
            version: m.version,
            from: m.from.0,
            to: m.to.0,
            sequence: m.nonce,
            value: m.value.0,
            method_num: m.method,
            params: m.params.0.into(),
            // fvm_shared stores an unsigned gas limit; negative limits are invalid anyway.
            gas_limit: u64::try_from(m.gas_limit).unwrap_or(0),
            gas_fee_cap: m.gas_fee_cap.0,
            gas_premium: m.gas_premium.0,
        }
    }
}

impl From<fvm_shared::message::Message> for Message {
    fn from(m: fvm_shared::message::Message) -> Self {
        Self {
            version: m.version,
            to: m.to.into(),
            from: m.from.into(),
            nonce: m.sequence,
            value: m.value.into(),
            gas_limit: i64::try_from(m.gas_limit).unwrap_or(i64::MAX),
            gas_fee_cap: m.gas_fee_cap.into(),
            gas_premium: m.gas_premium.into(),
            method: m.method_num,
            params: Base64Bytes(m.params.to_vec()),
        }
    }
}

wire_struct! {
    /// A message with its signature. Its CID follows Lotus: a BLS-signed message's CID is the
    /// unsigned message's (BLS messages are stored unsigned); any other type hashes the
    /// `[Message, Signature]` CBOR.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct SignedMessage {
        "Message" => pub message: Message,
        "Signature" => pub signature: Signature,
    }
    json_extra: "CID" => cid
}

impl SignedMessage {
    pub fn to_cbor(&self) -> Vec<u8> {
        to_cbor_infallible(self)
    }

    pub fn cid(&self) -> Cid {
        if self.is_bls() {
            self.message.cid()
        } else {
            cid_of_cbor_bytes(&self.to_cbor())
        }
    }

    pub fn is_bls(&self) -> bool {
        self.signature.sig_type == SignatureType::Bls
    }
}
