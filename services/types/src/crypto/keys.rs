//! Private keys and Lotus's key import/export format.

use bls_signatures::Serialize as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::bytes::{decode_base64, encode_base64};
use crate::cbor::blake2b_256;
use crate::{Address, Signature};

/// Lotus key type names (`types.KeyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "secp256k1")]
    Secp256k1,
    #[serde(rename = "bls")]
    Bls,
    /// f4 (Ethereum-style) secp256k1 keys: recognised, not yet usable here (see README Limits).
    #[serde(rename = "delegated")]
    Delegated,
}

impl std::str::FromStr for KeyType {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s {
            "secp256k1" => Ok(Self::Secp256k1),
            "bls" => Ok(Self::Bls),
            "delegated" => Ok(Self::Delegated),
            other => Err(KeyError::UnknownType(other.chars().take(32).collect())),
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Secp256k1 => "secp256k1",
            Self::Bls => "bls",
            Self::Delegated => "delegated",
        })
    }
}

/// A key could not be imported, parsed or used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key type {0:?} (want secp256k1, bls or delegated)")]
    UnknownType(String),
    #[error("{0} keys are not supported")]
    Unsupported(KeyType),
    #[error("invalid {key_type} private key: {reason}")]
    InvalidPrivateKey { key_type: KeyType, reason: String },
    #[error("invalid exported key: {0}")]
    InvalidExport(String),
}

/// Lotus `KeyInfo`: `{"Type":"bls","PrivateKey":"<base64>"}`. The key bytes are wiped on drop
/// and never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    #[serde(rename = "Type")]
    pub key_type: KeyType,
    #[serde(rename = "PrivateKey", with = "private_key_base64")]
    pub private_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyInfo")
            .field("key_type", &self.key_type)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

mod private_key_base64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        key: &Zeroizing<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(encode_base64(key)))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        decode_base64(&text)
            .map(Zeroizing::new)
            .map_err(|_| serde::de::Error::custom("PrivateKey is not valid base64"))
    }
}

impl KeyInfo {
    /// `lotus wallet export` form: hex of the KeyInfo JSON.
    pub fn to_lotus_export(&self) -> Zeroizing<String> {
        // KeyInfo is two strings; serde_json cannot fail on it.
        let json = Zeroizing::new(serde_json::to_vec(self).unwrap_or_default());
        Zeroizing::new(hex::encode(&*json))
    }

    /// Parses `lotus wallet export` output (surrounding whitespace allowed).
    pub fn from_lotus_export(text: &str) -> Result<Self, KeyError> {
        let json = Zeroizing::new(
            hex::decode(text.trim())
                .map_err(|e| KeyError::InvalidExport(format!("not hex: {e}")))?,
        );
        serde_json::from_slice(&json).map_err(|e| {
            // serde_json errors quote no input beyond a position, so no key bytes leak.
            KeyError::InvalidExport(format!("not KeyInfo JSON: {e}"))
        })
    }
}

/// A private key that can sign.
#[derive(Clone)]
pub enum PrivateKey {
    Secp256k1(k256::ecdsa::SigningKey),
    Bls(bls_signatures::PrivateKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.key_type())
    }
}

impl PrivateKey {
    /// A new random key.
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(
        key_type: KeyType,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        match key_type {
            KeyType::Secp256k1 => Ok(Self::Secp256k1(k256::ecdsa::SigningKey::random(rng))),
            KeyType::Bls => Ok(Self::Bls(bls_signatures::PrivateKey::generate(rng))),
            KeyType::Delegated => Err(KeyError::Unsupported(key_type)),
        }
    }

    /// From raw bytes: secp256k1 32-byte big-endian scalar; BLS 32-byte little-endian scalar
    /// (filecoin-ffi's serialisation).
    pub fn from_bytes(key_type: KeyType, bytes: &[u8]) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::InvalidPrivateKey { key_type, reason };
        match key_type {
            KeyType::Secp256k1 => k256::ecdsa::SigningKey::from_slice(bytes)
                .map(Self::Secp256k1)
                .map_err(|_| {
                    invalid(format!(
                        "want a 32-byte scalar in range, got {} bytes",
                        bytes.len()
                    ))
                }),
            KeyType::Bls => {
                if bytes.len() != 32 {
                    return Err(invalid(format!("want 32 bytes, got {}", bytes.len())));
                }
                bls_signatures::PrivateKey::from_bytes(bytes)
                    .map(Self::Bls)
                    .map_err(|_| invalid("not a valid BLS12-381 scalar".into()))
            }
            KeyType::Delegated => Err(KeyError::Unsupported(key_type)),
        }
    }

    pub fn from_key_info(info: &KeyInfo) -> Result<Self, KeyError> {
        Self::from_bytes(info.key_type, &info.private_key)
    }

    pub fn to_key_info(&self) -> KeyInfo {
        KeyInfo {
            key_type: self.key_type(),
            private_key: self.to_bytes(),
        }
    }

    pub fn key_type(&self) -> KeyType {
        match self {
            Self::Secp256k1(_) => KeyType::Secp256k1,
            Self::Bls(_) => KeyType::Bls,
        }
    }

    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Secp256k1(k) => Zeroizing::new(k.to_bytes().to_vec()),
            Self::Bls(k) => Zeroizing::new(k.as_bytes()),
        }
    }

    /// secp256k1: the 65-byte uncompressed point; BLS: the 48-byte compressed G1 point.
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            Self::Secp256k1(k) => k
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Self::Bls(k) => k.public_key().as_bytes(),
        }
    }

    /// The key's f1 / f3 address.
    pub fn address(&self) -> Address {
        let key = self.public_key();
        let address = match self {
            Self::Secp256k1(_) => Address::new_secp256k1(&key),
            Self::Bls(_) => Address::new_bls(&key),
        };
        // The public key comes from a valid private key, so it always has the right length.
        address.unwrap_or(Address::new_id(0))
    }

    /// Signs `data` as Lotus does (see the module docs).
    pub fn sign(&self, data: &[u8]) -> Signature {
        match self {
            Self::Secp256k1(k) => {
                // libsecp256k1 (the C library Lotus signs with; its recovery is ~6× faster than
                // k256's here) makes the same RFC 6979 signature; the key stays a zeroising k256
                // key and is handed to libsecp256k1 only for the signature.
                let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(k.to_bytes().into());
                let Ok(mut secret) = secp256k1::SecretKey::from_secret_bytes(*bytes) else {
                    // Unreachable: a k256 signing key is always a valid non-zero scalar. An
                    // empty signature then fails verification rather than panicking.
                    return Signature::new_secp256k1(Vec::new());
                };
                let message = secp256k1::Message::from_digest(blake2b_256(data));
                let sig = secp256k1::ecdsa::RecoverableSignature::sign_ecdsa_recoverable(
                    message, &secret,
                );
                secret.non_secure_erase();
                let (recovery, compact) = sig.serialize_compact();
                let mut out = compact.to_vec();
                out.push(u8::from(recovery));
                Signature::new_secp256k1(out)
            }
            Self::Bls(k) => Signature::new_bls(k.sign(data).as_bytes()),
        }
    }
}
