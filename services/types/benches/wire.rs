//! CBOR encode/decode of a full block (header + 1,000 messages), and per-operation secp256k1 and
//! BLS signing / verification. Figures go to docs/benchmarks.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use venus_types::crypto::verify;
use venus_types::{
    Address, BeaconEntry, BigInt, BlockHeader, ElectionProof, KeyType, Message, PoStProof,
    PrivateKey, Signature, SignedMessage, Ticket, TokenAmount, cbor,
};

/// A block as chain exchange ships it: header, BLS messages (unsigned), secp messages (signed).
type FullBlock = (BlockHeader, Vec<Message>, Vec<SignedMessage>);

fn message(i: u64, from: Address) -> Message {
    Message {
        version: 0,
        to: Address::new_id(1000 + i % 50),
        from,
        nonce: i,
        value: TokenAmount::from_atto(1_000_000_000u64 * i),
        gas_limit: 10_000_000,
        gas_fee_cap: TokenAmount::from_atto(100_000u64 + i),
        gas_premium: TokenAmount::from_atto(50_000u64 + i),
        method: 0,
        params: vec![0u8; 32].into(),
    }
}

fn full_block(messages: u64) -> FullBlock {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let bls = PrivateKey::generate(KeyType::Bls, &mut rng).expect("bls key");
    let secp = PrivateKey::generate(KeyType::Secp256k1, &mut rng).expect("secp key");
    let bls_msgs: Vec<Message> = (0..messages / 2)
        .map(|i| message(i, bls.address()))
        .collect();
    let secp_msgs: Vec<SignedMessage> = (0..messages - messages / 2)
        .map(|i| {
            let m = message(i, secp.address());
            let signature = secp.sign(&m.signing_bytes());
            SignedMessage {
                message: m,
                signature,
            }
        })
        .collect();
    let cid = cbor::cid_of_cbor_bytes(b"x");
    let header = BlockHeader {
        miner: Address::new_id(1000),
        ticket: Some(Ticket {
            vrf_proof: vec![1; 96].into(),
        }),
        election_proof: Some(ElectionProof {
            win_count: 1,
            vrf_proof: vec![2; 96].into(),
        }),
        beacon_entries: vec![BeaconEntry {
            round: 1,
            data: vec![3; 96].into(),
        }],
        win_post_proof: vec![PoStProof {
            post_proof: 3,
            proof_bytes: vec![4; 192].into(),
        }],
        parents: vec![cid; 3],
        parent_weight: BigInt::from(123_456_789u64),
        height: 1000,
        parent_state_root: cid,
        parent_message_receipts: cid,
        messages: cid,
        bls_aggregate: Some(Signature::new_bls(vec![5; 96])),
        timestamp: 1_700_000_000,
        block_sig: Some(Signature::new_bls(vec![6; 96])),
        fork_signaling: 0,
        parent_base_fee: TokenAmount::from_atto(100),
    };
    (header, bls_msgs, secp_msgs)
}

fn block_cbor(c: &mut Criterion) {
    let block = full_block(1000);
    let bytes = cbor::to_cbor(&block).expect("encode");
    let mut group = c.benchmark_group("block_1000_messages");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("cbor_encode", |b| {
        b.iter(|| cbor::to_cbor(black_box(&block)).expect("encode"))
    });
    group.bench_function("cbor_decode", |b| {
        b.iter(|| cbor::from_cbor::<FullBlock>(black_box(&bytes)).expect("decode"))
    });
    group.bench_function("message_cids", |b| {
        b.iter(|| {
            let (_, bls, secp) = black_box(&block);
            bls.iter().map(Message::cid).count() + secp.iter().map(SignedMessage::cid).count()
        })
    });
    group.finish();
    println!("block_1000_messages encoded size: {} bytes", bytes.len());
}

fn signatures(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let data = message(1, Address::new_id(1)).signing_bytes();
    let mut group = c.benchmark_group("signature");
    group.measurement_time(Duration::from_secs(3));
    for key_type in [KeyType::Secp256k1, KeyType::Bls] {
        let key = PrivateKey::generate(key_type, &mut rng).expect("key");
        let addr = key.address();
        let sig = key.sign(&data);
        group.bench_function(format!("{key_type}_sign"), |b| {
            b.iter(|| key.sign(black_box(&data)))
        });
        group.bench_function(format!("{key_type}_verify"), |b| {
            b.iter(|| verify(black_box(&sig), black_box(&data), &addr).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, block_cbor, signatures);
criterion_main!(benches);
