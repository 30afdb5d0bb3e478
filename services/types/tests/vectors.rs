//! Known-answer vectors from Lotus, the Filecoin spec and go-state-types. Each test names the
//! source file its values come from.

use std::str::FromStr;

use venus_types::{
    Address, Base64Bytes, Cid, Message, Signature, SignatureType, TipSetKey, TokenAmount, cbor,
};

fn lotus_message() -> Message {
    Message {
        version: 0,
        to: Address::new_id(4),
        from: Address::new_id(0),
        nonce: 34,
        value: TokenAmount::zero(),
        gas_limit: 123,
        gas_fee_cap: TokenAmount::from_atto(234),
        gas_premium: TokenAmount::from_atto(234),
        method: 6,
        params: Base64Bytes(b"hai".to_vec()),
    }
}

/// lotus: chain/types/message_test.go (TestMessageJson / TestSignedMessageJsonRoundtrip) and
/// the CBOR/CID vector verified in venus-node-and-api.md §4.3.
#[test]
fn lotus_message_vector_cbor_cid_json() {
    let msg = lotus_message();
    assert_eq!(
        hex::encode(msg.to_cbor()),
        "8a00420004420000182240187b4200ea4200ea0643686169"
    );
    assert_eq!(
        msg.cid().to_string(),
        "bafy2bzaced5rdpz57e64sc7mdwjn3blicglhpialnrph2dlbufhf6iha63dmc"
    );
    let json = serde_json::to_string(&msg).expect("message json");
    assert_eq!(
        json,
        r#"{"Version":0,"To":"f04","From":"f00","Nonce":34,"Value":"0","GasLimit":123,"GasFeeCap":"234","GasPremium":"234","Method":6,"Params":"aGFp","CID":{"/":"bafy2bzaced5rdpz57e64sc7mdwjn3blicglhpialnrph2dlbufhf6iha63dmc"}}"#
    );
    let back: Message = serde_json::from_str(&json).expect("parse lotus json");
    assert_eq!(back, msg);
    let decoded: Message = cbor::from_cbor(&msg.to_cbor()).expect("decode cbor");
    assert_eq!(decoded, msg);
}

/// Lotus SignedMessage CID rule (lotus: chain/types/signedmessage.go `Cid`): BLS → the unsigned
/// CID; secp → the CID of `[Message, Signature]`.
#[test]
fn signed_message_cid_rule() {
    let msg = lotus_message();
    let bls = venus_types::SignedMessage {
        message: msg.clone(),
        signature: Signature::new_bls(vec![7; 96]),
    };
    assert_eq!(bls.cid(), msg.cid());
    let secp = venus_types::SignedMessage {
        message: msg.clone(),
        signature: Signature::new_secp256k1(vec![7; 65]),
    };
    assert_ne!(secp.cid(), msg.cid());
    assert_eq!(secp.cid(), cbor::cid_of_cbor_bytes(&secp.to_cbor()));
    // CBOR: 0x82 [message, bytes(type ‖ sig)].
    let bytes = secp.to_cbor();
    assert_eq!(bytes[0], 0x82);
    assert_eq!(&bytes[1..1 + msg.to_cbor().len()], msg.to_cbor().as_slice());
    let json = serde_json::to_value(&bls).expect("json");
    assert_eq!(json["CID"]["/"], msg.cid().to_string());
    assert_eq!(json["Signature"]["Type"], 2);
}

fn fake_cid(data: &[u8]) -> Cid {
    // lotus tipset_key_test.go: V1Builder{DagCBOR, BLAKE2B-256}.Sum(data).
    cbor::cid_of_cbor_bytes(data)
}

/// lotus: chain/types/tipset_key_test.go (TestTipSetKey, "derived CID" and "JSON").
#[test]
fn lotus_tipset_key_vectors() {
    let (c1, c2, c3) = (fake_cid(b"a"), fake_cid(b"b"), fake_cid(b"c"));
    assert_eq!(
        c1.to_string(),
        "bafy2bzacecesrkxghscnq7vatble2hqdvwat6ed23vdu4vvo3uuggsoaya7ki"
    );
    assert_eq!(
        TipSetKey::default().cid().to_string(),
        "bafy2bzacea456askyutsf7uk4ta2q5aojrlcji4mhaqokbfalgvoq4ueeh4l2"
    );
    assert_eq!(
        TipSetKey::new(vec![c1]).cid().to_string(),
        "bafy2bzacealem6larzxhf7aggj3cozcefqez3jlksx2tuxehwdil27otcmy4q"
    );
    let k3 = TipSetKey::new(vec![c1, c2, c3]);
    assert_eq!(
        k3.cid().to_string(),
        "bafy2bzacecbnwngwfvxuciumcfudiaoqozisp3hus5im5lg4urrwlxbueissu"
    );
    assert_eq!(
        serde_json::to_string(&TipSetKey::default()).expect("json"),
        "[]"
    );
    let json = serde_json::to_string(&k3).expect("json");
    assert_eq!(
        json,
        concat!(
            r#"[{"/":"bafy2bzacecesrkxghscnq7vatble2hqdvwat6ed23vdu4vvo3uuggsoaya7ki"},"#,
            r#"{"/":"bafy2bzacebxfyh2fzoxrt6kcgc5dkaodpcstgwxxdizrww225vrhsizsfcg4g"},"#,
            r#"{"/":"bafy2bzacedwviarjtjraqakob5pslltmuo5n3xev3nt5zylezofkbbv5jclyu"}]"#
        )
    );
    assert_eq!(serde_json::from_str::<TipSetKey>(&json).expect("parse"), k3);
    assert_eq!(
        serde_json::from_str::<TipSetKey>("null").expect("null"),
        TipSetKey::default()
    );
    // Bytes round trip; a truncated key is an error ("encoding" subtest).
    assert_eq!(TipSetKey::from_bytes(&k3.to_bytes()).expect("bytes"), k3);
    assert!(TipSetKey::from_bytes(&TipSetKey::new(vec![c1]).to_bytes()[1..]).is_err());
}

/// Filecoin spec, appendix/address.md "Test Vectors" (ID, secp256k1, actor, BLS) and the f4
/// example from FIP-0048.
#[test]
fn spec_address_vectors() {
    let cases = [
        ("f00", "0000"),
        ("f0150", "009601"),
        ("f01024", "008008"),
        ("f01729", "00c10d"),
        ("f018446744073709551615", "00ffffffffffffffffff01"),
        (
            "f17uoq6tp427uzv7fztkbsnn64iwotfrristwpryy",
            "01fd1d0f4dfcd7e99afcb99a8326b7dc459d32c628",
        ),
        (
            "f1xcbgdhkgkwht3hrrnui3jdopeejsoatkzmoltqy",
            "01b882619d46558f3d9e316d11b48dcf211327026a",
        ),
        (
            "f24vg6ut43yw2h2jqydgbg2xq7x6f4kub3bg6as6i",
            "02e54dea4f9bc5b47d261819826d5e1fbf8bc5503b",
        ),
        (
            "f3q22fijmmlckhl56rn5nkyamkph3mcfu5ed6dheq53c244hfmnq2i7efdma3cj5voxenwiummf2ajlsbxc65a",
            "0386b454258c589475f7d16f5aac018a79f6c1169d20fc33921dd8b5ce1cac6c348f90a3603624f6aeb91b64518c2e8095",
        ),
        (
            "f410fabpafjfjgqkc3douo3yzfug5tq4bwfvuhsewxji",
            "040a005e02a4a934142d8dd476f192d0dd9c381b16b4",
        ),
    ];
    for (text, bytes_hex) in cases {
        let addr = Address::from_str(text).expect(text);
        assert_eq!(hex::encode(addr.to_bytes()), bytes_hex, "{text}");
        let from_bytes = Address::from_bytes(&hex::decode(bytes_hex).expect("hex")).expect(text);
        assert_eq!(from_bytes, addr);
        assert_eq!(addr.to_string(), text);
        // The testnet spelling decodes to the same address (go-address accepts both).
        let testnet = format!("t{}", &text[1..]);
        assert_eq!(Address::from_str(&testnet).expect("t prefix"), addr);
        // CBOR is a byte string of the byte form; JSON is the string.
        let cbor_bytes = cbor::to_cbor(&addr).expect("cbor");
        assert_eq!(
            cbor::from_cbor::<Address>(&cbor_bytes).expect("decode"),
            addr
        );
        assert_eq!(
            serde_json::to_string(&addr).expect("json"),
            format!("\"{text}\"")
        );
    }
}

/// A bad checksum, protocol, prefix or byte form is a typed error naming the problem.
#[test]
fn malformed_addresses_are_typed_errors() {
    // One base32 digit changed in the middle: decodes, but the checksum no longer matches.
    let bad_checksum = "f17uoq6tp427uzv6fztkbsnn64iwotfrristwpryy";
    let err = Address::from_str(bad_checksum).expect_err("checksum");
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = Address::from_str("x01024").expect_err("network");
    assert!(err.to_string().contains("network prefix 'x'"), "{err}");
    let err = Address::from_str("f91024").expect_err("protocol");
    assert!(err.to_string().contains("protocol"), "{err}");
    assert!(matches!(
        Address::from_str(""),
        Err(venus_types::AddressError::Empty { .. })
    ));
    let err = Address::from_bytes(&[3, 1, 2]).expect_err("short bls");
    assert!(err.to_string().contains("030102"), "{err}");
    assert!(serde_json::from_str::<Address>("\"f0abc\"").is_err());
}

/// Lotus `chain/types/bigint.go` / fvm_shared `bigint_ser.rs`: sign byte + magnitude, zero empty.
#[test]
fn bigint_wire_form() {
    let cases: [(i64, &str); 4] = [(0, "40"), (1, "420001"), (-1, "420101"), (256, "43000100")];
    for (value, hex_cbor) in cases {
        let v = venus_types::BigInt::from(value);
        assert_eq!(hex::encode(cbor::to_cbor(&v).expect("cbor")), hex_cbor);
        assert_eq!(
            cbor::from_cbor::<venus_types::BigInt>(&hex::decode(hex_cbor).expect("hex"))
                .expect("de"),
            v
        );
        assert_eq!(
            serde_json::to_string(&v).expect("json"),
            format!("\"{value}\"")
        );
    }
    assert!(serde_json::from_str::<TokenAmount>("\"12a\"").is_err());
    assert!(serde_json::from_str::<TokenAmount>("\"+5\"").is_err());
    assert!(serde_json::from_str::<TokenAmount>("5").is_err());
    // Bad sign byte.
    assert!(cbor::from_cbor::<venus_types::BigInt>(&hex::decode("420201").expect("hex")).is_err());
}

/// go-state-types crypto/signature.go: CBOR bytes `type ‖ data`; JSON `{"Type","Data"}`.
#[test]
fn signature_wire_form() {
    let sig = Signature::new_secp256k1(vec![1, 2, 3]);
    assert_eq!(
        hex::encode(cbor::to_cbor(&sig).expect("cbor")),
        "4401010203"
    );
    assert_eq!(
        serde_json::to_string(&sig).expect("json"),
        r#"{"Type":1,"Data":"AQID"}"#
    );
    let back: Signature = serde_json::from_str(r#"{"Type":3,"Data":"AQID"}"#).expect("delegated");
    assert_eq!(back.sig_type, SignatureType::Delegated);
    assert!(serde_json::from_str::<Signature>(r#"{"Type":9,"Data":"AQID"}"#).is_err());
    assert!(cbor::from_cbor::<Signature>(&[0x40]).is_err());
}
