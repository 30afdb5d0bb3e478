//! DAG-CBOR encoding and CID computation (fvm_ipld_encoding + blake2b-256 multihash).

use cid::Cid as RawCid;
use fvm_ipld_encoding::DAG_CBOR;
use multihash_codetable::{Code, MultihashDigest};
use serde::{Serialize, de::DeserializeOwned};

use crate::Cid;

/// A CBOR value could not be decoded (or, rarely, encoded).
#[derive(Debug, thiserror::Error)]
#[error("cbor: {0}")]
pub struct CborError(String);

/// Encodes `value` as DAG-CBOR.
pub fn to_cbor<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CborError> {
    fvm_ipld_encoding::to_vec(value).map_err(|e| CborError(e.to_string()))
}

/// Decodes DAG-CBOR bytes; trailing bytes are an error.
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CborError> {
    fvm_ipld_encoding::from_slice(bytes).map_err(|e| CborError(e.to_string()))
}

/// Encodes a value of one of this crate's wire types, whose CBOR encoding cannot fail: they hold
/// only integers, byte strings, CIDs and arrays, and writing into a `Vec` does no I/O.
pub(crate) fn to_cbor_infallible<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Unreachable failure for this crate's types (see above); an empty encoding keeps the
    // caller total instead of panicking, and the resulting CID would match nothing.
    fvm_ipld_encoding::to_vec(value).unwrap_or_default()
}

/// The Filecoin CID of already-encoded DAG-CBOR bytes: CIDv1, codec 0x71, blake2b-256.
pub fn cid_of_cbor_bytes(bytes: &[u8]) -> Cid {
    Cid(RawCid::new_v1(DAG_CBOR, Code::Blake2b256.digest(bytes)))
}

/// The Filecoin CID of `value`'s DAG-CBOR encoding.
pub fn cid_of<T: Serialize + ?Sized>(value: &T) -> Result<Cid, CborError> {
    Ok(cid_of_cbor_bytes(&to_cbor(value)?))
}

/// blake2b-256 of `data`.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}
