//! Validate + apply a tipset with 1,000 secp256k1 messages (goal ≤ 100 ms on 2 cores).
//! Validation covers every consensus step plus 1,000 signature recoveries; application runs
//! the messages with gas on the parent state and flushes the new state.

use criterion::{Criterion, criterion_group, criterion_main};
use venus_chain::exec::run_tipset;
use venus_chain::testkit::Devnet;
use venus_chain::validate::FullBlock;
use venus_types::TipSet;

const SENDERS: usize = 100;
const PER_SENDER: u64 = 10;

fn bench(c: &mut Criterion) {
    let net = Devnet::new(42, SENDERS).expect("devnet");
    let genesis = net.cs.heaviest();
    let mut msgs = Vec::new();
    for nonce in 0..PER_SENDER {
        for from in 0..SENDERS {
            let to = net.accounts[(from + 1) % SENDERS].address();
            msgs.push(net.send(from, to, nonce, 1_000));
        }
    }
    let block = net.produce(&genesis, 1, msgs).expect("block");
    let full = FullBlock::from_block_msg(&net.cs, &block).expect("full block");
    assert_eq!(full.secp_messages.len(), 1000);
    let ts = TipSet::new(vec![block.header.clone()]).expect("tipset");
    net.cs.put_block(&block.header).expect("store header");
    let validator = net.validator();
    let now = net.now();

    let mut group = c.benchmark_group("tipset_1000_secp");
    group.sample_size(10);
    group.bench_function("validate", |b| {
        b.iter(|| validator.validate(&full, now).expect("valid"))
    });
    group.bench_function("apply", |b| {
        b.iter(|| run_tipset(&net.cs, &ts).expect("apply"))
    });
    group.bench_function("validate_and_apply", |b| {
        b.iter(|| {
            validator.validate(&full, now).expect("valid");
            run_tipset(&net.cs, &ts).expect("apply")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
