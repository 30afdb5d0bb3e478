//! The wire formats byte for byte, from the layouts Lotus's cbor-gen writes
//! (`node/hello/cbor_gen.go`, `chain/exchange/cbor_gen.go`): every struct is a CBOR array of its
//! fields in order, CIDs are tag 42 over a 0x00-prefixed byte string, big integers a byte string
//! of sign byte + big-endian magnitude, a nil pointer CBOR null.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{message, signed_message};
use venus_p2p::xchg::{
    self, BlockMessages, BsTipSet, CompactedMessages, MAX_REQUEST_LENGTH, Request, Response, Status,
};
use venus_p2p::{HelloMessage, LatencyMessage, gossip};
use venus_types::{BigInt, Cid, cbor, from_cbor, to_cbor};

fn cid() -> Cid {
    cbor::cid_of_cbor_bytes(b"golden")
}

/// A CID link: tag 42, byte string of 39 bytes, 0x00 then the CID's binary form.
fn link(c: &Cid) -> Vec<u8> {
    let mut out = vec![0xd8, 0x2a, 0x58, 0x27, 0x00];
    let bytes = c.to_bytes();
    // CIDv1, DAG-CBOR, blake2b-256, 32-byte digest.
    assert_eq!(&bytes[..6], &[0x01, 0x71, 0xa0, 0xe4, 0x02, 0x20]);
    out.extend(bytes);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn protocol_ids_and_topics_are_lotus_s() {
    assert_eq!(venus_p2p::hello::PROTOCOL, "/fil/hello/1.0.0");
    assert_eq!(xchg::PROTOCOL, "/fil/chain/xchg/0.0.1");
    assert_eq!(
        gossip::blocks_topic("calibrationnet"),
        "/fil/blocks/calibrationnet"
    );
    assert_eq!(
        gossip::msgs_topic("calibrationnet"),
        "/fil/msgs/calibrationnet"
    );
    assert_eq!(MAX_REQUEST_LENGTH, 900);
    assert_eq!((xchg::HEADERS, xchg::MESSAGES), (1, 2));
    let codes = [
        Status::OK,
        Status::PARTIAL,
        Status::NOT_FOUND,
        Status::GO_AWAY,
        Status::INTERNAL_ERROR,
        Status::BAD_REQUEST,
    ];
    assert_eq!(codes.map(|s| s.0), [0, 101, 201, 202, 203, 204]);
}

#[test]
fn gossip_message_id_is_blake2b_256_of_the_data() {
    // blake2b-256 of the empty string.
    let empty = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
    assert_eq!(hex(&gossip::message_id(b"")), empty);
    assert_eq!(gossip::message_id(b"block").len(), 32);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn hello_message_golden_bytes() {
    let c = cid();
    let hello = HelloMessage {
        heaviest_tipset: vec![c],
        heaviest_tipset_height: 100,
        heaviest_tipset_weight: BigInt::from(1000u64),
        genesis_hash: c,
    };
    // [ [cid], 100, h'0003e8', cid ]
    let want = cat(&[
        &[0x84, 0x81],
        &link(&c),
        &[0x18, 0x64, 0x43, 0x00, 0x03, 0xe8],
        &link(&c),
    ]);
    assert_eq!(to_cbor(&hello).unwrap(), want);
    assert_eq!(from_cbor::<HelloMessage>(&want).unwrap(), hello);

    // Zero weight is the empty byte string; a negative epoch is a CBOR negative integer.
    let zero = HelloMessage {
        heaviest_tipset: vec![],
        heaviest_tipset_height: -1,
        heaviest_tipset_weight: BigInt::default(),
        genesis_hash: c,
    };
    let want = cat(&[&[0x84, 0x80, 0x20, 0x40], &link(&c)]);
    assert_eq!(to_cbor(&zero).unwrap(), want);
}

#[test]
fn latency_message_golden_bytes() {
    let latency = LatencyMessage {
        t_arrival: 1,
        t_sent: 256,
    };
    let want = [0x82, 0x01, 0x19, 0x01, 0x00];
    assert_eq!(to_cbor(&latency).unwrap(), want);
    assert_eq!(from_cbor::<LatencyMessage>(&want).unwrap(), latency);
    // Unix nanoseconds today need the 8-byte form.
    let now = LatencyMessage {
        t_arrival: 1_764_000_000_000_000_000,
        t_sent: 1_764_000_000_000_000_001,
    };
    let bytes = to_cbor(&now).unwrap();
    assert_eq!(&bytes[..2], &[0x82, 0x1b]);
    assert_eq!(from_cbor::<LatencyMessage>(&bytes).unwrap(), now);
}

#[test]
fn request_golden_bytes() {
    let c = cid();
    let request = Request {
        head: vec![c],
        length: 10,
        options: xchg::HEADERS | xchg::MESSAGES,
    };
    let want = cat(&[&[0x83, 0x81], &link(&c), &[0x0a, 0x03]]);
    assert_eq!(to_cbor(&request).unwrap(), want);
    assert_eq!(from_cbor::<Request>(&want).unwrap(), request);
}

#[test]
fn response_golden_bytes() {
    // Headers only: Messages is a nil pointer, CBOR null.
    let headers_only = Response {
        status: Status::OK,
        error_message: String::new(),
        chain: vec![BsTipSet {
            blocks: vec![],
            messages: None,
        }],
    };
    let want = [0x83, 0x00, 0x60, 0x81, 0x82, 0x80, 0xf6];
    assert_eq!(to_cbor(&headers_only).unwrap(), want);
    assert_eq!(from_cbor::<Response>(&want).unwrap(), headers_only);

    // Partial, an error string, compacted messages [[], [[0]], [], [[]]].
    let partial = Response {
        status: Status::PARTIAL,
        error_message: "x".into(),
        chain: vec![BsTipSet {
            blocks: vec![],
            messages: Some(CompactedMessages {
                bls: vec![],
                bls_includes: vec![vec![0]],
                secpk: vec![],
                secpk_includes: vec![vec![]],
            }),
        }],
    };
    let want = [
        0x83, 0x18, 0x65, 0x61, b'x', 0x81, 0x82, 0x80, 0x84, 0x80, 0x81, 0x81, 0x00, 0x80, 0x81,
        0x80,
    ];
    assert_eq!(to_cbor(&partial).unwrap(), want);
    assert_eq!(from_cbor::<Response>(&want).unwrap(), partial);

    // A message inside is the message's own CBOR (venus-types), unchanged.
    let m = message(1, 2);
    let with_message = CompactedMessages {
        bls: vec![m.clone()],
        bls_includes: vec![vec![0]],
        secpk: vec![],
        secpk_includes: vec![vec![]],
    };
    let want = cat(&[
        &[0x84, 0x81],
        &m.to_cbor(),
        &[0x81, 0x81, 0x00, 0x80, 0x81, 0x80],
    ]);
    assert_eq!(to_cbor(&with_message).unwrap(), want);
}

#[test]
fn an_unknown_status_still_decodes() {
    let response: Response = from_cbor(&[0x83, 0x19, 0x01, 0x2c, 0x60, 0x80]).unwrap();
    assert_eq!(response.status, Status(300));
    assert!(!response.status.is_success());
    assert_eq!(response.status.to_string(), "Unknown (300)");
}

#[test]
fn request_validation_follows_lotus_order_and_words() {
    let c = cid();
    let req = |head: Vec<Cid>, length, options| Request {
        head,
        length,
        options,
    };
    let refusal = |r: Request| {
        let e = r.validate().unwrap_err();
        assert_eq!(e.status, Status::BAD_REQUEST);
        e.error_message
    };
    // Options are checked first, then the length, then the head.
    assert_eq!(refusal(req(vec![], 0, 0)), "no options set");
    assert_eq!(
        refusal(req(vec![], 901, 1)),
        "request length over maximum allowed (900)"
    );
    assert_eq!(refusal(req(vec![], 0, 2)), "invalid request length of zero");
    assert_eq!(refusal(req(vec![], 1, 3)), "no cids in request");
    assert!(req(vec![c], 900, 1).validate().is_ok());
    // Unknown option bits beside a known one are ignored, as in Lotus.
    assert!(req(vec![c], 1, 4 | 1).validate().is_ok());
    assert_eq!(refusal(req(vec![c], 1, 4)), "no options set");
}

#[test]
fn compaction_sends_shared_messages_once_and_expands_back() {
    let shared = signed_message(1, 1);
    let blocks = vec![
        BlockMessages {
            bls: vec![message(2, 1)],
            secpk: vec![shared.clone(), signed_message(1, 2)],
        },
        BlockMessages {
            bls: vec![message(2, 1)],
            secpk: vec![shared, signed_message(1, 3)],
        },
    ];
    let compact = CompactedMessages::compact(&blocks);
    assert_eq!(compact.bls.len(), 1);
    assert_eq!(compact.secpk.len(), 3);
    assert_eq!(compact.bls_includes, vec![vec![0], vec![0]]);
    assert_eq!(compact.secpk_includes, vec![vec![0, 1], vec![0, 2]]);
    assert_eq!(compact.expand(2).unwrap(), blocks);

    assert!(
        compact.expand(3).is_err(),
        "include lists must match the block count"
    );
    let mut bad = compact.clone();
    bad.secpk_includes[1][1] = 9;
    assert!(bad.expand(2).unwrap_err().contains("index 9"));
}

#[test]
fn check_response_catches_broken_links_and_extra_tipsets() {
    let chain = support::FakeChain::new(6, 2, 1, 11);
    let head = chain.head().key();
    let request = Request {
        head: head.cids().to_vec(),
        length: 3,
        options: xchg::HEADERS,
    };
    let tipset = |i: usize| BsTipSet {
        blocks: chain.tipsets[i].blocks.clone(),
        messages: None,
    };
    let good = Response::chain(vec![tipset(5), tipset(4), tipset(3)], 3);
    assert_eq!(good.status, Status::OK);
    xchg::check_response(&request, &good).unwrap();

    let skipped = Response::chain(vec![tipset(5), tipset(3)], 3);
    assert!(
        xchg::check_response(&request, &skipped)
            .unwrap_err()
            .contains("tipset 1")
    );
    let wrong_head = Response::chain(vec![tipset(4)], 3);
    assert!(xchg::check_response(&request, &wrong_head).is_err());
    let too_many = Response::chain(vec![tipset(5), tipset(4), tipset(3), tipset(2)], 3);
    assert!(
        xchg::check_response(&request, &too_many)
            .unwrap_err()
            .contains("4 tipsets")
    );
    let no_messages = Request {
        options: xchg::HEADERS | xchg::MESSAGES,
        ..request
    };
    assert!(
        xchg::check_response(&no_messages, &good)
            .unwrap_err()
            .contains("no messages")
    );
}

#[test]
fn garbage_never_panics_any_decoder() {
    // A fixed pseudo-random stream (xorshift), plus every prefix of a valid value.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs: Vec<Vec<u8>> = (0..2000)
        .map(|_| {
            let len = (next() % 96) as usize;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect();
    let valid = to_cbor(&Response::chain(
        vec![BsTipSet {
            blocks: support::FakeChain::new(2, 1, 2, 12).tipsets[1]
                .blocks
                .clone(),
            messages: Some(CompactedMessages::compact(&[BlockMessages {
                bls: vec![message(1, 1)],
                secpk: vec![signed_message(1, 2)],
            }])),
        }],
        1,
    ))
    .unwrap();
    inputs.extend((0..valid.len()).map(|n| valid[..n].to_vec()));
    for input in &inputs {
        let _ = from_cbor::<HelloMessage>(input);
        let _ = from_cbor::<LatencyMessage>(input);
        let _ = from_cbor::<Request>(input);
        let _ = from_cbor::<Response>(input);
        let _ = gossip::decode_block(input, 1 << 20);
        let _ = gossip::decode_message(input, 64 << 10);
    }
    assert!(from_cbor::<Response>(&valid).is_ok());
}

#[test]
fn gossip_caps_refuse_before_decoding() {
    let m = signed_message(1, 1);
    let bytes = to_cbor(&m).unwrap();
    assert_eq!(gossip::decode_message(&bytes, 64 << 10).unwrap(), m);
    let err = gossip::decode_message(&bytes, bytes.len() - 1).unwrap_err();
    assert!(err.contains("cap"), "{err}");
    assert!(gossip::decode_block(b"\xa0", 1 << 20).is_err());
}
