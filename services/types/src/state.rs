//! Receipts and actors.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::wire_struct;
use crate::{Address, Base64Bytes, Cid, TokenAmount};

/// The result of applying a message. CBOR `[ExitCode, Return, GasUsed, EventsRoot]` (the
/// pre-FEVM 3-field form is accepted on input); JSON as Lotus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MessageReceipt {
    pub exit_code: i64,
    pub return_data: Base64Bytes,
    pub gas_used: i64,
    pub events_root: Option<Cid>,
}

#[derive(Serialize, Deserialize)]
struct ReceiptJson {
    #[serde(rename = "ExitCode")]
    exit_code: i64,
    #[serde(rename = "Return", default)]
    return_data: Base64Bytes,
    #[serde(rename = "GasUsed")]
    gas_used: i64,
    #[serde(rename = "EventsRoot", default)]
    events_root: Option<Cid>,
}

impl Serialize for MessageReceipt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            ReceiptJson {
                exit_code: self.exit_code,
                return_data: self.return_data.clone(),
                gas_used: self.gas_used,
                events_root: self.events_root,
            }
            .serialize(s)
        } else {
            (
                self.exit_code,
                &self.return_data,
                self.gas_used,
                &self.events_root,
            )
                .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for MessageReceipt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let j = ReceiptJson::deserialize(d)?;
            Ok(Self {
                exit_code: j.exit_code,
                return_data: j.return_data,
                gas_used: j.gas_used,
                events_root: j.events_root,
            })
        } else {
            d.deserialize_seq(ReceiptVisitor)
        }
    }
}

struct ReceiptVisitor;

impl<'de> serde::de::Visitor<'de> for ReceiptVisitor {
    type Value = MessageReceipt;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a receipt array of 3 or 4 fields")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let exit_code = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let return_data = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        let gas_used = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(2, &self))?;
        let events_root = seq.next_element::<Option<Cid>>()?.flatten();
        if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            return Err(A::Error::invalid_length(5, &self));
        }
        Ok(MessageReceipt {
            exit_code,
            return_data,
            gas_used,
            events_root,
        })
    }
}

wire_struct! {
    /// An actor in the state tree (Lotus `ActorV5`): CBOR `[Code, Head, Nonce, Balance,
    /// DelegatedAddress]`.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Actor {
        "Code" => pub code: Cid,
        "Head" => pub head: Cid,
        "Nonce" => pub nonce: u64,
        "Balance" => pub balance: TokenAmount,
        #[json(default)]
        "DelegatedAddress" => pub delegated_address: Option<Address>,
    }
}
