//! secp256k1 recovery (libsecp256k1) against Lotus's signing vector and against the k256
//! recovery it replaced, including high-S and corrupted signatures.

use std::str::FromStr;

use num_bigint::BigUint;
use proptest::prelude::*;
use rand::SeedableRng;
use venus_types::crypto::{VerifyError, recover_secp256k1, verify};
use venus_types::{Address, KeyType, PrivateKey, Signature};

/// filecoin-project/serialization-vectors message_signing.json (the secp256k1 entry): a Lotus
/// key, the message CID bytes it signed and Lotus's signature.
const VECTOR_KEY_B64: &str = "sC23s2GtwGXq/4DbBoTqToIUCA4ESOJjjaMas6WLsZM=";
const VECTOR_CID_HEX: &str =
    "0171a0e402207054c0b2879607a1537c2976567f028112c208b61daf96d5b06b8e37e8d2773b";
const VECTOR_SIG_B64: &str =
    "3rqEdesPlYdrEVzNAbhfTQoXf8QseeE5e4HBRo+PiQNPZYTr8gkAiguku2SZFsC0p6QBpeprnEcQakZSnNB5XgA=";
const VECTOR_FROM: &str = "t1slxh2kv3vwz3japfiyyd7rkw6p7tm4pt4wo5wyq";

fn b64(text: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).expect("base64")
}

fn vector() -> (PrivateKey, Vec<u8>, Vec<u8>, Address) {
    let key = PrivateKey::from_bytes(KeyType::Secp256k1, &b64(VECTOR_KEY_B64)).expect("key");
    let data = hex::decode(VECTOR_CID_HEX).expect("hex");
    let from = Address::from_str(VECTOR_FROM).expect("address");
    (key, data, b64(VECTOR_SIG_B64), from)
}

/// The same signature with s replaced by n − s and the recovery bit flipped: still a valid
/// ECDSA signature for the same key, in the high-S form.
fn to_high_s(sig: &[u8]) -> Vec<u8> {
    let n = BigUint::from_bytes_be(&secp256k1::constants::CURVE_ORDER);
    let s = BigUint::from_bytes_be(&sig[32..64]);
    assert!(s < &n >> 1, "the input is low-S");
    let high = (&n - s).to_bytes_be();
    let mut out = sig[..32].to_vec();
    out.extend(std::iter::repeat_n(0, 32 - high.len()));
    out.extend_from_slice(&high);
    out.push(sig[64] ^ 1);
    out
}

/// The k256 recovery this crate used before switching to libsecp256k1, kept as an oracle.
fn k256_recover(sig: &[u8], data: &[u8]) -> Option<Address> {
    use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
    if sig.len() != 65 {
        return None;
    }
    let mut ecdsa = EcdsaSignature::from_slice(&sig[..64]).ok()?;
    let mut v = sig[64];
    if let Some(normalized) = ecdsa.normalize_s() {
        ecdsa = normalized;
        v ^= 1;
    }
    let recovery = RecoveryId::from_byte(v)?;
    let hash = venus_types::cbor::blake2b_256(data);
    let key = VerifyingKey::recover_from_prehash(&hash, &ecdsa, recovery).ok()?;
    Address::new_secp256k1(key.to_encoded_point(false).as_bytes()).ok()
}

fn malformed_reason(result: Result<Address, VerifyError>) -> String {
    match result {
        Err(VerifyError::Malformed { what, reason }) => {
            assert_eq!(what, "secp256k1 signature");
            reason
        }
        other => panic!("want a malformed-signature error, got {other:?}"),
    }
}

#[test]
fn lotus_vector_signs_identically_and_recovers() {
    let (key, data, lotus_sig, from) = vector();
    assert_eq!(
        key.address(),
        from,
        "the vector's key owns its From address"
    );
    // Signing (libsecp256k1, RFC 6979, low-S) is byte-identical to Lotus's signature.
    let ours = key.sign(&data);
    assert_eq!(ours.data, lotus_sig);
    assert_eq!(recover_secp256k1(&lotus_sig, &data), Ok(from));
    verify(&Signature::new_secp256k1(lotus_sig), &data, &from).expect("verifies");
}

#[test]
fn signatures_match_k256_and_recover_to_the_signer() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for i in 0..32u8 {
        let key = PrivateKey::generate(KeyType::Secp256k1, &mut rng).expect("key");
        let data = vec![i; usize::from(i) * 3];
        let sig = key.sign(&data);
        assert_eq!(
            sig.data,
            k256_sign(&key, &data),
            "same RFC 6979 signature as k256"
        );
        assert_eq!(recover_secp256k1(&sig.data, &data), Ok(key.address()));
        assert_eq!(k256_recover(&sig.data, &data), Some(key.address()));
    }
}

/// The signature k256 makes with the same key: the reference the libsecp256k1 signer must match.
fn k256_sign(key: &PrivateKey, data: &[u8]) -> Vec<u8> {
    let secret = k256::ecdsa::SigningKey::from_slice(&key.to_bytes()).expect("key");
    let hash = venus_types::cbor::blake2b_256(data);
    let (sig, recovery) = secret.sign_prehash_recoverable(&hash).expect("signs");
    let mut out = sig.to_bytes().to_vec();
    out.push(recovery.to_byte());
    out
}

#[test]
fn high_s_signature_still_verifies() {
    let (_, data, lotus_sig, from) = vector();
    let high = to_high_s(&lotus_sig);
    assert_ne!(high, lotus_sig);
    assert_eq!(recover_secp256k1(&high, &data), Ok(from));
    verify(&Signature::new_secp256k1(high.clone()), &data, &from).expect("high-S verifies");
    // High S without the matching recovery bit names another key.
    let mut wrong_bit = high;
    wrong_bit[64] ^= 1;
    assert!(matches!(
        verify(&Signature::new_secp256k1(wrong_bit), &data, &from),
        Err(VerifyError::Mismatch(a)) if a == from
    ));
}

#[test]
fn corrupted_signatures_fail() {
    let (_, data, lotus_sig, from) = vector();
    let check = |sig: Vec<u8>, data: &[u8]| verify(&Signature::new_secp256k1(sig), data, &from);
    // Any flipped bit in r or s, or other data, never verifies.
    for byte in [0, 17, 31, 32, 45, 63] {
        let mut bad = lotus_sig.clone();
        bad[byte] ^= 0x10;
        assert!(check(bad, &data).is_err(), "byte {byte} flipped");
    }
    assert!(matches!(
        check(lotus_sig.clone(), b"other data"),
        Err(VerifyError::Mismatch(_))
    ));

    let with = |range: std::ops::Range<usize>, bytes: &[u8]| {
        let mut sig = lotus_sig.clone();
        sig[range].copy_from_slice(bytes);
        sig
    };
    let order = secp256k1::constants::CURVE_ORDER;
    let reason = malformed_reason(recover_secp256k1(&with(0..32, &[0; 32]), &data));
    assert_eq!(reason, "r is zero or not below the curve order");
    let reason = malformed_reason(recover_secp256k1(&with(0..32, &order), &data));
    assert_eq!(reason, "r is zero or not below the curve order");
    let reason = malformed_reason(recover_secp256k1(&with(32..64, &[0; 32]), &data));
    assert_eq!(reason, "s is zero or not below the curve order");
    let reason = malformed_reason(recover_secp256k1(&with(32..64, &[0xff; 32]), &data));
    assert_eq!(reason, "s is zero or not below the curve order");
    for v in [4u8, 27, 255] {
        let reason = malformed_reason(recover_secp256k1(&with(64..65, &[v]), &data));
        assert_eq!(reason, format!("recovery id {v}, want 0 to 3"));
    }
    let reason = malformed_reason(recover_secp256k1(&lotus_sig[..64], &data));
    assert_eq!(reason, "64 bytes, want 65");
    let mut long = lotus_sig.clone();
    long.push(0);
    assert_eq!(
        malformed_reason(recover_secp256k1(&long, &data)),
        "66 bytes, want 65"
    );
    // r = p − n is a valid scalar, but recovery id 2 asks for the point with x = r + n = p,
    // which is not a field element.
    let p_minus_n = (BigUint::from_bytes_be(&secp256k1::constants::FIELD_SIZE)
        - BigUint::from_bytes_be(&order))
    .to_bytes_be();
    let mut r = [0u8; 32];
    r[32 - p_minus_n.len()..].copy_from_slice(&p_minus_n);
    let mut sig = with(0..32, &r);
    sig[64] = 2;
    assert!(matches!(
        recover_secp256k1(&sig, &data),
        Err(VerifyError::Malformed { .. })
    ));
    assert_eq!(k256_recover(&sig, &data), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Real signatures (low- and high-S) recover exactly as k256 did.
    #[test]
    fn recovery_matches_k256_for_real_signatures(
        seed in any::<u64>(),
        data in proptest::collection::vec(any::<u8>(), 0..200),
        high_s in any::<bool>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let key = PrivateKey::generate(KeyType::Secp256k1, &mut rng).expect("key");
        let mut sig = key.sign(&data).data;
        if high_s {
            sig = to_high_s(&sig);
        }
        prop_assert_eq!(recover_secp256k1(&sig, &data).ok(), Some(key.address()));
        prop_assert_eq!(k256_recover(&sig, &data), Some(key.address()));
    }

    /// Arbitrary 65 bytes: accepted by both with the same address, or rejected by both.
    #[test]
    fn recovery_matches_k256_for_arbitrary_bytes(
        rs in proptest::collection::vec(any::<u8>(), 64),
        v in 0u8..6,
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut sig = rs;
        sig.push(v);
        prop_assert_eq!(recover_secp256k1(&sig, &data).ok(), k256_recover(&sig, &data));
    }
}
