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
///
/// Uses libsecp256k1 (the C library Lotus uses; ~6× faster than k256's recovery here, and
/// block validation recovers one key per secp message). A high-S signature is accepted as
/// before: fvm normalises s and flips the recovery bit, which recovers the same key as using
/// (s, v) unchanged, so libsecp256k1 is given the signature as it is.
pub fn recover_secp256k1(sig: &[u8], data: &[u8]) -> Result<Address, VerifyError> {
    use secp256k1::constants::CURVE_ORDER;
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    let malformed = |reason: String| VerifyError::Malformed {
        what: "secp256k1 signature",
        reason,
    };
    let Ok(sig) = <&[u8; crate::SECP_SIGNATURE_LEN]>::try_from(sig) else {
        return Err(malformed(format!("{} bytes, want 65", sig.len())));
    };
    // r and s must be scalars in [1, n), as k256 and libsecp256k1 both require; checked here
    // so the error says which one is wrong (big-endian byte order compares numerically).
    for (name, scalar) in [("r", &sig[..32]), ("s", &sig[32..64])] {
        if scalar.iter().all(|b| *b == 0) || scalar >= &CURVE_ORDER[..] {
            return Err(malformed(format!(
                "{name} is zero or not below the curve order"
            )));
        }
    }
    let v = sig[64];
    let recovery = RecoveryId::try_from(i32::from(v))
        .map_err(|_| malformed(format!("recovery id {v}, want 0 to 3")))?;
    let ecdsa = RecoverableSignature::from_compact(&sig[..64], recovery)
        .map_err(|e| malformed(e.to_string()))?;
    let hash = secp256k1::Message::from_digest(blake2b_256(data));
    let key = ecdsa
        .recover_ecdsa(hash)
        .map_err(|_| malformed("no public key recovers from it".into()))?;
    Address::new_secp256k1(&key.serialize_uncompressed()).map_err(|e| malformed(e.to_string()))
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
