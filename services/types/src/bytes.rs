//! `Base64Bytes`: a Go `[]byte` — a CBOR byte string, standard padded base64 in JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Opaque bytes. JSON: base64 (standard alphabet, padded); empty bytes are written as `null`
/// (Go's nil slice, which is what cbor-gen decodes an empty byte string to) and `null` reads
/// as empty. CBOR: a byte string.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl std::fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl std::ops::Deref for Base64Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Base64Bytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl From<Base64Bytes> for Vec<u8> {
    fn from(b: Base64Bytes) -> Self {
        b.0
    }
}

impl AsRef<[u8]> for Base64Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            if self.0.is_empty() {
                serializer.serialize_none()
            } else {
                serializer.serialize_str(&STANDARD.encode(&self.0))
            }
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text: Option<String> = Option::deserialize(deserializer)?;
            match text {
                None => Ok(Self::default()),
                Some(text) => decode_base64(&text)
                    .map(Self)
                    .map_err(serde::de::Error::custom),
            }
        } else {
            let bytes: Vec<u8> = fvm_ipld_encoding::strict_bytes::deserialize(deserializer)?;
            Ok(Self(bytes))
        }
    }
}

/// Decodes Go's `encoding/json` `[]byte` form (standard alphabet, padded).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|e| format!("invalid base64 bytes: {e}"))
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
