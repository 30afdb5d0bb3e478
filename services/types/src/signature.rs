//! `Signature`: CBOR byte string `type ‖ data`; JSON `{"Type":n,"Data":base64}`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bytes::{decode_base64, encode_base64};

/// Length of a secp256k1 recoverable signature (r ‖ s ‖ v).
pub const SECP_SIGNATURE_LEN: usize = 65;
/// Length of a compressed BLS (G2) signature.
pub const BLS_SIGNATURE_LEN: usize = 96;
/// Length of a compressed BLS (G1) public key.
pub const BLS_PUBLIC_KEY_LEN: usize = 48;

/// The signature scheme (`crypto.SigType` in go-state-types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureType {
    Secp256k1 = 1,
    Bls = 2,
    /// FIP-0055 delegated (Ethereum-style secp256k1 for f4 senders).
    Delegated = 3,
}

/// A signature's type byte or bytes are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("invalid signature: empty bytes (want a type byte and the signature)")]
    Empty,
    #[error("invalid signature type {0} (want 1 secp256k1, 2 bls or 3 delegated)")]
    UnknownType(u64),
}

impl SignatureType {
    pub fn from_code(code: u64) -> Result<Self, SignatureError> {
        match code {
            1 => Ok(Self::Secp256k1),
            2 => Ok(Self::Bls),
            3 => Ok(Self::Delegated),
            other => Err(SignatureError::UnknownType(other)),
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl Serialize for SignatureType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for SignatureType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(d)?;
        Self::from_code(code).map_err(serde::de::Error::custom)
    }
}

/// A signature of any type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    pub sig_type: SignatureType,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signature({:?}, 0x{})",
            self.sig_type,
            hex::encode(&self.data)
        )
    }
}

impl Signature {
    pub fn new_secp256k1(data: Vec<u8>) -> Self {
        Self {
            sig_type: SignatureType::Secp256k1,
            data,
        }
    }

    pub fn new_bls(data: Vec<u8>) -> Self {
        Self {
            sig_type: SignatureType::Bls,
            data,
        }
    }

    /// The byte form: type byte then the signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 1);
        out.push(self.sig_type.code());
        out.extend_from_slice(&self.data);
        out
    }

    /// Parses the byte form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let (&code, data) = bytes.split_first().ok_or(SignatureError::Empty)?;
        Ok(Self {
            sig_type: SignatureType::from_code(code.into())?,
            data: data.to_vec(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct SignatureJson {
    #[serde(rename = "Type")]
    sig_type: SignatureType,
    #[serde(rename = "Data")]
    data: Option<String>,
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            SignatureJson {
                sig_type: self.sig_type,
                data: Some(encode_base64(&self.data)),
            }
            .serialize(s)
        } else {
            s.serialize_bytes(&self.to_bytes())
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let json = SignatureJson::deserialize(d)?;
            let data = match json.data {
                Some(text) => decode_base64(&text).map_err(serde::de::Error::custom)?,
                None => Vec::new(),
            };
            Ok(Self {
                sig_type: json.sig_type,
                data,
            })
        } else {
            let bytes: Vec<u8> = fvm_ipld_encoding::strict_bytes::deserialize(d)?;
            Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
        }
    }
}
