//! Every decoder fed arbitrary bytes must return (Ok or Err) without panicking, and values must
//! round-trip through CBOR and JSON.

use proptest::prelude::*;
use venus_types::*;

macro_rules! no_panic_cbor {
    ($bytes:expr, $($ty:ty),+ $(,)?) => {$(
        let _ = cbor::from_cbor::<$ty>($bytes);
    )+};
}

macro_rules! no_panic_json {
    ($text:expr, $($ty:ty),+ $(,)?) => {$(
        let _ = serde_json::from_str::<$ty>($text);
    )+};
}

fn all_cbor_decoders(bytes: &[u8]) {
    no_panic_cbor!(
        bytes,
        Address,
        Cid,
        BigInt,
        TokenAmount,
        Signature,
        Base64Bytes,
        Message,
        SignedMessage,
        Ticket,
        ElectionProof,
        BeaconEntry,
        PoStProof,
        BlockHeader,
        TipSetKey,
        TipSet,
        MessageReceipt,
        Actor,
        BlockMsg,
        BlockTemplate,
        MiningBaseInfo,
        MinerInfo,
        MinerPower,
        MsgLookup,
        TxMeta,
        DrawRandomParams,
        MsgMeta,
    );
    let _ = Address::from_bytes(bytes);
    let _ = Signature::from_bytes(bytes);
    let _ = TipSetKey::from_bytes(bytes);
    let _ = Cid::from_bytes(bytes);
    let _ = PrivateKey::from_bytes(KeyType::Secp256k1, bytes);
    let _ = PrivateKey::from_bytes(KeyType::Bls, bytes);
    let _ = venus_types::crypto::recover_secp256k1(bytes, b"x");
    if let Ok(text) = std::str::from_utf8(bytes) {
        all_json_decoders(text);
    }
}

fn all_json_decoders(text: &str) {
    no_panic_json!(
        text,
        Address,
        Cid,
        BigInt,
        TokenAmount,
        Signature,
        Base64Bytes,
        Message,
        SignedMessage,
        BlockHeader,
        TipSetKey,
        TipSet,
        MessageReceipt,
        Actor,
        HeadChange,
        MsgLookup,
        MiningBaseInfo,
        BlockTemplate,
        BlockMsg,
        MinerInfo,
        MinerPower,
        NetworkParams,
        MessageSendSpec,
        MsgMeta,
        DrawRandomParams,
        KeyInfo,
    );
    let _ = text.parse::<Address>();
    let _ = text.parse::<BigInt>();
    let _ = text.parse::<Cid>();
    let _ = KeyInfo::from_lotus_export(text);
}

fn arb_address() -> impl Strategy<Value = Address> {
    prop_oneof![
        any::<u64>().prop_map(Address::new_id),
        any::<[u8; 20]>().prop_map(|d| Address::new_actor(&d)),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..54))
            .prop_map(|(ns, sub)| Address::new_delegated(ns, &sub).expect("<=54 bytes")),
    ]
}

fn arb_amount() -> impl Strategy<Value = TokenAmount> {
    any::<i128>().prop_map(TokenAmount::from_atto)
}

fn arb_bytes() -> impl Strategy<Value = Base64Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Base64Bytes)
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        arb_address(),
        arb_address(),
        any::<u64>(),
        arb_amount(),
        any::<i64>(),
        arb_amount(),
        arb_amount(),
        any::<u64>(),
        arb_bytes(),
    )
        .prop_map(
            |(to, from, nonce, value, gas_limit, fee_cap, premium, method, params)| Message {
                version: 0,
                to,
                from,
                nonce,
                value,
                gas_limit,
                gas_fee_cap: fee_cap,
                gas_premium: premium,
                method,
                params,
            },
        )
}

fn arb_cid() -> impl Strategy<Value = Cid> {
    proptest::collection::vec(any::<u8>(), 0..16).prop_map(|d| cbor::cid_of_cbor_bytes(&d))
}

fn arb_header() -> impl Strategy<Value = BlockHeader> {
    (
        arb_address(),
        proptest::option::of(arb_bytes()),
        proptest::collection::vec(arb_cid(), 0..4),
        any::<i64>(),
        any::<u64>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 96..=96)),
        arb_amount(),
    )
        .prop_map(
            |(miner, ticket, parents, height, timestamp, sig, fee)| BlockHeader {
                miner,
                ticket: ticket.map(|vrf_proof| Ticket { vrf_proof }),
                election_proof: Some(ElectionProof {
                    win_count: height % 5,
                    vrf_proof: vec![1; 96].into(),
                }),
                beacon_entries: vec![BeaconEntry {
                    round: timestamp,
                    data: vec![2; 32].into(),
                }],
                win_post_proof: vec![],
                parents,
                parent_weight: BigInt::from(height),
                height,
                parent_state_root: cbor::cid_of_cbor_bytes(b"s"),
                parent_message_receipts: cbor::cid_of_cbor_bytes(b"r"),
                messages: cbor::cid_of_cbor_bytes(b"m"),
                bls_aggregate: None,
                timestamp,
                block_sig: sig.map(Signature::new_bls),
                fork_signaling: 0,
                parent_base_fee: fee,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        all_cbor_decoders(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,200}") {
        all_json_decoders(&text);
        all_json_decoders(&format!("\"{text}\""));
    }

    /// Mutations of a valid encoding reach deeper into the decoders than random bytes.
    #[test]
    fn mutated_encodings_never_panic(
        h in arb_header(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = h.to_cbor();
        for (i, b) in &flips {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        all_cbor_decoders(&bytes);
        all_cbor_decoders(&bytes[..cut.index(bytes.len())]);
        let json = serde_json::to_string(&h).expect("json");
        let mut jb = json.into_bytes();
        for (i, b) in &flips {
            let at = i.index(jb.len());
            jb[at] = *b;
        }
        all_cbor_decoders(&jb);
    }

    #[test]
    fn message_round_trips(m in arb_message()) {
        let bytes = m.to_cbor();
        prop_assert_eq!(cbor::from_cbor::<Message>(&bytes).expect("cbor"), m.clone());
        let json = serde_json::to_string(&m).expect("json");
        prop_assert_eq!(serde_json::from_str::<Message>(&json).expect("json"), m.clone());
        prop_assert_eq!(m.cid(), cbor::cid_of_cbor_bytes(&bytes));
        let fvm: fvm_shared::message::Message = m.clone().into();
        // fvm_shared encodes the same bytes for non-negative gas limits.
        if m.gas_limit >= 0 {
            prop_assert_eq!(fvm_ipld_encoding::to_vec(&fvm).expect("fvm"), bytes);
        }
    }

    #[test]
    fn header_round_trips(h in arb_header()) {
        prop_assert_eq!(cbor::from_cbor::<BlockHeader>(&h.to_cbor()).expect("cbor"), h.clone());
        let json = serde_json::to_string(&h).expect("json");
        prop_assert_eq!(serde_json::from_str::<BlockHeader>(&json).expect("json"), h);
    }

    #[test]
    fn address_round_trips(a in arb_address()) {
        prop_assert_eq!(Address::from_bytes(&a.to_bytes()).expect("bytes"), a);
        prop_assert_eq!(a.to_string().parse::<Address>().expect("string"), a);
        prop_assert_eq!(serde_json::from_str::<Address>(&serde_json::to_string(&a).expect("j")).expect("j"), a);
    }

    #[test]
    fn bigint_round_trips(v in any::<i128>()) {
        let b = BigInt::from(v);
        prop_assert_eq!(cbor::from_cbor::<BigInt>(&cbor::to_cbor(&b).expect("c")).expect("c"), b.clone());
        prop_assert_eq!(serde_json::from_str::<BigInt>(&serde_json::to_string(&b).expect("j")).expect("j"), b.clone());
        prop_assert_eq!(b.to_string(), v.to_string());
    }

    #[test]
    fn tipset_key_round_trips(cids in proptest::collection::vec(arb_cid(), 0..6)) {
        let k = TipSetKey::new(cids);
        prop_assert_eq!(TipSetKey::from_bytes(&k.to_bytes()).expect("bytes"), k.clone());
        prop_assert_eq!(cbor::from_cbor::<TipSetKey>(&cbor::to_cbor(&k).expect("c")).expect("c"), k.clone());
        prop_assert_eq!(serde_json::from_str::<TipSetKey>(&serde_json::to_string(&k).expect("j")).expect("j"), k);
    }
}
