//! Keys, signing and verification as Lotus does them.
//!
//! - secp256k1: a 65-byte recoverable ECDSA signature (r ‖ s ‖ v, v ∈ {0,1}) over
//!   blake2b-256 of the data; verification recovers the key and compares addresses.
//! - BLS: min-pk BLS12-381 (48-byte keys, 96-byte signatures), hash-to-G2 with Filecoin's DST,
//!   over the raw data.

mod aggregate;
mod keys;

pub use aggregate::{BLS_IDENTITY_SIGNATURE, aggregate_bls, verify_bls_aggregate};
pub use keys::{KeyError, KeyInfo, KeyType, PrivateKey};

use crate::cbor::blake2b_256;
use crate::{Address, Protocol, Signature, SignatureType};

/// A signature does not verify, or its inputs are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("a {sig:?} signature cannot be checked against a {protocol:?} address")]
    WrongAddressProtocol {
        sig: SignatureType,
        protocol: Protocol,
    },
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("signature verification failed for {0}")]
    Mismatch(Address),
    #[error("{0:?} signatures are not supported")]
    Unsupported(SignatureType),
    #[error("a VRF needs a BLS worker key, got a {0:?} key")]
    VrfNeedsBls(Protocol),
}

/// Checks `signature` over `data` against `signer` (Lotus `sigs.Verify`).
pub fn verify(signature: &Signature, data: &[u8], signer: &Address) -> Result<(), VerifyError> {
    let protocol = signer.protocol();
    match (signature.sig_type, protocol) {
        (SignatureType::Secp256k1, Protocol::Secp256k1) => {
            let recovered = recover_secp256k1(&signature.data, data)?;
            if &recovered == signer {
                Ok(())
            } else {
                Err(VerifyError::Mismatch(*signer))
            }
        }
        (SignatureType::Bls, Protocol::BLS) => verify_bls(&signature.data, data, signer),
        (SignatureType::Delegated, _) => Err(VerifyError::Unsupported(SignatureType::Delegated)),
        (sig, protocol) => Err(VerifyError::WrongAddressProtocol { sig, protocol }),
    }
}

/// Recovers the secp256k1 address that made `sig` over `data`.
pub fn recover_secp256k1(sig: &[u8], data: &[u8]) -> Result<Address, VerifyError> {
    use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
    let malformed = |reason: String| VerifyError::Malformed {
        what: "secp256k1 signature",
        reason,
    };
    if sig.len() != crate::SECP_SIGNATURE_LEN {
        return Err(malformed(format!("{} bytes, want 65", sig.len())));
    }
    let mut ecdsa = EcdsaSignature::from_slice(&sig[..64]).map_err(|e| malformed(e.to_string()))?;
    let mut v = sig[64];
    // A high-S signature is valid ECDSA; normalise it and flip the recovery bit, as fvm does.
    if let Some(normalized) = ecdsa.normalize_s() {
        ecdsa = normalized;
        v ^= 1;
    }
    let recovery = RecoveryId::from_byte(v).ok_or_else(|| malformed(format!("recovery id {v}")))?;
    let hash = blake2b_256(data);
    let key = VerifyingKey::recover_from_prehash(&hash, &ecdsa, recovery)
        .map_err(|e| malformed(e.to_string()))?;
    Address::new_secp256k1(key.to_encoded_point(false).as_bytes())
        .map_err(|e| malformed(e.to_string()))
}

fn verify_bls(sig: &[u8], data: &[u8], signer: &Address) -> Result<(), VerifyError> {
    use bls_signatures::Serialize as _;
    let public_key =
        bls_signatures::PublicKey::from_bytes(&signer.payload_bytes()).map_err(|e| {
            VerifyError::Malformed {
                what: "BLS public key",
                reason: e.to_string(),
            }
        })?;
    let signature =
        bls_signatures::Signature::from_bytes(sig).map_err(|e| VerifyError::Malformed {
            what: "BLS signature",
            reason: e.to_string(),
        })?;
    if bls_signatures::verify_messages(&signature, &[data], &[public_key]) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch(*signer))
    }
}
