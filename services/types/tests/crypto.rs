//! Keys, signing, verification, BLS aggregation, randomness and VRF.

use rand::SeedableRng;
use venus_types::crypto::{
    BLS_IDENTITY_SIGNATURE, VerifyError, aggregate_bls, verify, verify_bls_aggregate,
};
use venus_types::randomness::{
    DomainSeparationTag, address_entropy, compute_vrf, draw_randomness, verify_vrf, vrf_digest,
};
use venus_types::{Address, DrawRandomParams, KeyInfo, KeyType, PrivateKey, cbor};

fn rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(7)
}

/// Filecoin spec appendix/address.md: a secp256k1 address payload is blake2b-160 of the
/// 65-byte uncompressed public key; a BLS address payload is the 48-byte public key.
#[test]
fn key_to_address_derivation() {
    let key = PrivateKey::from_bytes(
        KeyType::Secp256k1,
        &hex::decode("526d96fffdbfe787b2f00586298538f9a019e97f6587964dc61aae9ad1d7fa23")
            .expect("hex"),
    )
    .expect("key");
    let public = key.public_key();
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 0x04, "uncompressed point");
    let digest = blake2b_simd::Params::new().hash_length(20).hash(&public);
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(digest.as_bytes());
    assert_eq!(key.address().to_bytes(), bytes);
    let bls = PrivateKey::generate(KeyType::Bls, &mut rng()).expect("bls");
    let mut bls_bytes = vec![3u8];
    bls_bytes.extend_from_slice(&bls.public_key());
    assert_eq!(bls.address().to_bytes(), bls_bytes);
}

#[test]
fn secp_sign_verify_and_tamper() {
    let key = PrivateKey::generate(KeyType::Secp256k1, &mut rng()).expect("key");
    let addr = key.address();
    let data = b"message cid bytes";
    let sig = key.sign(data);
    assert_eq!(sig.data.len(), 65);
    verify(&sig, data, &addr).expect("valid signature");
    assert!(matches!(
        verify(&sig, b"other", &addr),
        Err(VerifyError::Mismatch(_))
    ));
    let other = PrivateKey::generate(KeyType::Secp256k1, &mut rng_other()).expect("key");
    assert!(verify(&sig, data, &other.address()).is_err());
    let mut truncated = sig.clone();
    truncated.data.pop();
    assert!(matches!(
        verify(&truncated, data, &addr),
        Err(VerifyError::Malformed { .. })
    ));
    // A secp signature never verifies against a BLS address.
    let bls = PrivateKey::generate(KeyType::Bls, &mut rng()).expect("bls");
    assert!(matches!(
        verify(&sig, data, &bls.address()),
        Err(VerifyError::WrongAddressProtocol { .. })
    ));
}

fn rng_other() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(8)
}

#[test]
fn bls_sign_verify_and_tamper() {
    let key = PrivateKey::generate(KeyType::Bls, &mut rng()).expect("key");
    let addr = key.address();
    assert_eq!(addr.to_bytes().len(), 49);
    let sig = key.sign(b"data");
    assert_eq!(sig.data.len(), 96);
    verify(&sig, b"data", &addr).expect("valid");
    assert!(verify(&sig, b"datb", &addr).is_err());
}

/// Lotus `lotus wallet export` / `import` format: hex(JSON KeyInfo), base64 key bytes.
#[test]
fn lotus_key_export_round_trip() {
    for key_type in [KeyType::Secp256k1, KeyType::Bls] {
        let key = PrivateKey::generate(key_type, &mut rng()).expect("key");
        let exported = key.to_key_info().to_lotus_export();
        let json = String::from_utf8(hex::decode(exported.as_str()).expect("hex")).expect("utf8");
        assert!(
            json.starts_with(&format!(r#"{{"Type":"{key_type}","PrivateKey":""#)),
            "{json}"
        );
        let info = KeyInfo::from_lotus_export(&format!("{}\n", exported.as_str())).expect("import");
        let back = PrivateKey::from_key_info(&info).expect("key");
        assert_eq!(back.address(), key.address());
        let key_b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &*info.private_key,
        );
        assert!(json.contains(&key_b64));
        assert!(
            !format!("{info:?} {back:?}").contains(&key_b64[..12]),
            "Debug must redact the key"
        );
    }
    assert!(KeyInfo::from_lotus_export("zz").is_err());
    let bad = hex::encode(r#"{"Type":"rsa","PrivateKey":"AAAA"}"#);
    assert!(KeyInfo::from_lotus_export(&bad).is_err());
    let short = hex::encode(r#"{"Type":"bls","PrivateKey":"AAAA"}"#);
    let info = KeyInfo::from_lotus_export(&short).expect("parses");
    let err = PrivateKey::from_key_info(&info).expect_err("3-byte key");
    assert!(err.to_string().contains("32 bytes"), "{err}");
}

/// lotus chain/consensus/common.go + venus-node-and-api.md §4.9: an empty aggregate is the G2
/// identity (`c0` then 95 zero bytes), not an error.
#[test]
fn bls_aggregate_including_empty_set() {
    let empty = aggregate_bls(&[]).expect("empty aggregate");
    assert_eq!(empty.data, BLS_IDENTITY_SIGNATURE);
    assert_eq!(hex::encode(&empty.data[..2]), "c000");
    verify_bls_aggregate(&empty, &[]).expect("identity verifies the empty set");

    let mut r = rng();
    let keys: Vec<PrivateKey> = (0..3)
        .map(|_| PrivateKey::generate(KeyType::Bls, &mut r).expect("key"))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 10]).collect();
    let sigs: Vec<_> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let agg = aggregate_bls(&sigs).expect("aggregate");
    let pubs: Vec<Vec<u8>> = keys.iter().map(|k| k.public_key()).collect();
    let pairs: Vec<(&[u8], &[u8])> = pubs
        .iter()
        .map(|p| p.as_slice())
        .zip(msgs.iter().map(|m| m.as_slice()))
        .collect();
    verify_bls_aggregate(&agg, &pairs).expect("aggregate verifies");
    assert!(verify_bls_aggregate(&agg, &pairs[..2]).is_err());
    assert!(verify_bls_aggregate(&empty, &pairs).is_err());
    assert!(verify_bls_aggregate(&agg, &[]).is_err());
}

/// lotus chain/rand/rand.go DrawRandomness, recomputed from its definition.
#[test]
fn draw_randomness_layout() {
    let rbase = b"beacon";
    let out = draw_randomness(
        rbase,
        DomainSeparationTag::TicketProduction as i64,
        10,
        b"ent",
    );
    let mut preimage = Vec::new();
    preimage.extend_from_slice(&1i64.to_be_bytes());
    preimage.extend_from_slice(&cbor::blake2b_256(rbase));
    preimage.extend_from_slice(&10i64.to_be_bytes());
    preimage.extend_from_slice(b"ent");
    assert_eq!(out, cbor::blake2b_256(&preimage));
    assert_ne!(out, draw_randomness(rbase, 2, 10, b"ent"));
    assert_eq!(
        DomainSeparationTag::from_i64(10),
        Some(DomainSeparationTag::EvmPrevRandao)
    );
    assert_eq!(DomainSeparationTag::from_i64(11), None);
}

/// venus-shared types/wallet DrawRandomParams: the wallet signs `SignBytes()` =
/// DrawRandomness(Rbase, Pers, Round, Entropy); CBOR/JSON are maps keyed by Go field names.
#[test]
fn draw_random_params_and_vrf() {
    let miner = Address::new_id(1000);
    let params = DrawRandomParams {
        rbase: vec![1, 2, 3].into(),
        pers: DomainSeparationTag::ElectionProofProduction as i64,
        round: 42,
        entropy: address_entropy(&miner).into(),
    };
    assert_eq!(
        params.sign_bytes(),
        draw_randomness(&[1, 2, 3], 2, 42, &address_entropy(&miner))
    );
    let decoded: DrawRandomParams = cbor::from_cbor(&params.to_cbor()).expect("cbor");
    assert_eq!(decoded, params);
    let json = serde_json::to_value(&params).expect("json");
    assert_eq!(json["Round"], 42);
    assert_eq!(json["Rbase"], "AQID");
    // fxamacker/cbor writes nil byte slices as null: accepted.
    let null_map = serde_json::from_str::<DrawRandomParams>(
        r#"{"Rbase":null,"Pers":1,"Round":0,"Entropy":null}"#,
    )
    .expect("nulls");
    assert!(null_map.rbase.is_empty());

    let worker = PrivateKey::generate(KeyType::Bls, &mut rng()).expect("key");
    let input = params.sign_bytes();
    let proof = compute_vrf(&worker, &input).expect("vrf");
    verify_vrf(&worker.address(), &input, &proof).expect("vrf verifies");
    assert!(verify_vrf(&worker.address(), b"other", &proof).is_err());
    assert_eq!(vrf_digest(&proof), cbor::blake2b_256(&proof));
    let secp = PrivateKey::generate(KeyType::Secp256k1, &mut rng()).expect("key");
    assert!(matches!(
        compute_vrf(&secp, &input),
        Err(VerifyError::VrfNeedsBls(_))
    ));
    assert!(verify_vrf(&secp.address(), &input, &proof).is_err());
}
