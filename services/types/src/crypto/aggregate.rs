//! BLS signature aggregation (the block's `BLSAggregate`).

use bls_signatures::Serialize as _;

use super::VerifyError;
use crate::{BLS_PUBLIC_KEY_LEN, Signature, SignatureType};

/// The compressed G2 identity: what Lotus puts in `BLSAggregate` for a block with no BLS
/// messages (`0xc0` then 95 zero bytes).
pub const BLS_IDENTITY_SIGNATURE: [u8; 96] = {
    let mut b = [0u8; 96];
    b[0] = 0xc0;
    b
};

/// Aggregates BLS signatures in order; the empty set gives the identity signature.
pub fn aggregate_bls(signatures: &[Signature]) -> Result<Signature, VerifyError> {
    if signatures.is_empty() {
        return Ok(Signature::new_bls(BLS_IDENTITY_SIGNATURE.to_vec()));
    }
    let parsed = signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.sig_type != SignatureType::Bls {
                return Err(VerifyError::Malformed {
                    what: "BLS signature to aggregate",
                    reason: format!("signature {i} is {:?}", s.sig_type),
                });
            }
            bls_signatures::Signature::from_bytes(&s.data).map_err(|e| VerifyError::Malformed {
                what: "BLS signature to aggregate",
                reason: format!("signature {i}: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let aggregate = bls_signatures::aggregate(&parsed).map_err(|e| VerifyError::Malformed {
        what: "BLS aggregate",
        reason: e.to_string(),
    })?;
    Ok(Signature::new_bls(aggregate.as_bytes()))
}

/// Verifies an aggregate over `(BLS public key, message)` pairs. With no pairs the aggregate
/// must be the identity signature.
pub fn verify_bls_aggregate(
    aggregate: &Signature,
    pairs: &[(&[u8], &[u8])],
) -> Result<(), VerifyError> {
    if aggregate.sig_type != SignatureType::Bls {
        return Err(VerifyError::Malformed {
            what: "BLS aggregate",
            reason: format!("type is {:?}", aggregate.sig_type),
        });
    }
    if pairs.is_empty() {
        return if aggregate.data == BLS_IDENTITY_SIGNATURE {
            Ok(())
        } else {
            Err(VerifyError::Malformed {
                what: "BLS aggregate",
                reason: "no BLS messages but the aggregate is not the identity".into(),
            })
        };
    }
    let signature = bls_signatures::Signature::from_bytes(&aggregate.data).map_err(|e| {
        VerifyError::Malformed {
            what: "BLS aggregate",
            reason: e.to_string(),
        }
    })?;
    let mut keys = Vec::with_capacity(pairs.len());
    for (i, (key, _)) in pairs.iter().enumerate() {
        if key.len() != BLS_PUBLIC_KEY_LEN {
            return Err(VerifyError::Malformed {
                what: "BLS public key",
                reason: format!("key {i} has {} bytes, want 48", key.len()),
            });
        }
        keys.push(bls_signatures::PublicKey::from_bytes(key).map_err(|e| {
            VerifyError::Malformed {
                what: "BLS public key",
                reason: format!("key {i}: {e}"),
            }
        })?);
    }
    let messages: Vec<&[u8]> = pairs.iter().map(|(_, m)| *m).collect();
    if bls_signatures::verify_messages(&signature, &messages, &keys) {
        Ok(())
    } else {
        Err(VerifyError::Malformed {
            what: "BLS aggregate",
            reason: "aggregate verification failed".into(),
        })
    }
}
