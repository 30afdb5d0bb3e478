//! `MinerGetBaseInfo`'s work for a pool, in process (figures in docs/benchmarks.md, section
//! "venus-miner: elections for a pool"): a devnet whose genesis (in a redb file, as the
//! node's) holds N miners of one 2 KiB sector sharing one BLS worker, as the miner's `pool`
//! bench; then one epoch's base info for every miner on the genesis base:
//!
//! - `from scratch`: `mining::base_info` per miner (every call loads the base, its executed
//!   state and the power actor, and reads every block from the store);
//! - `cached`: a new `BaseInfoCache` per epoch (the first call computes the base's common part,
//!   the others share it and the state blocks already read), one thread, then two.
//!
//! ```sh
//! cargo bench -p venus-chain --bench base_info -- 1000
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use venus_chain::blockstore::RedbBlockstore;
use venus_chain::genesis::{GenesisMiner, PreSeal, build_genesis};
use venus_chain::mining::{BaseInfoCache, base_info};
use venus_chain::network::NetworkKind;
use venus_chain::store::{ChainStore, MetaStore};
use venus_chain::testkit::template;
use venus_types::{Address, Cid, KeyType, PrivateKey};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn commitment(tag: &[u8], n: u64) -> cid::Cid {
    let mh = multihash_codetable::MultihashDigest::digest(
        &multihash_codetable::Code::Sha2_256,
        &[tag, &n.to_be_bytes()].concat(),
    );
    cid::Cid::new_v1(0xf101, mh)
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map_or(Ok(1000), |s| s.parse())?;
    let mut rng = StdRng::seed_from_u64(7);
    let worker = PrivateKey::generate(KeyType::Bls, &mut rng)?;
    let owner = PrivateKey::generate(KeyType::Secp256k1, &mut rng)?;
    let params = NetworkKind::TwoK.params();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut tpl = template(&worker, &owner, &[], now - 1000 * params.block_delay_secs);
    let first = tpl.miners[0].clone();
    tpl.miners = (0..n as u64)
        .map(|i| GenesisMiner {
            id: Address::new_id(1000 + i),
            sectors: vec![PreSeal {
                comm_r: Cid(commitment(b"commr", i)),
                comm_d: Cid(commitment(b"commd", i)),
                sector_id: 0,
                deal: serde_json::Value::Null,
                proof_type: 5,
            }],
            ..first.clone()
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let bs = RedbBlockstore::open(&dir.path().join("chain.redb"))?;
    let g = build_genesis(&bs, &tpl, &params, now)?;
    let meta = MetaStore::Redb(bs.database().clone());
    let cs = ChainStore::open(bs, meta, Some(g.block))?;
    let base = cs.heaviest().key().clone();
    let miners: Vec<Address> = (0..n as u64).map(|i| Address::new_id(1000 + i)).collect();
    // The base executed once (the node has done so before any miner asks).
    base_info(&cs, &params, &miners[0], 1, &base)?.expect("miner");

    let mut scratch = Vec::new();
    let mut one = Vec::new();
    let mut two = Vec::new();
    for epoch in 1..=5 {
        let started = Instant::now();
        for m in &miners {
            base_info(&cs, &params, m, epoch, &base)?.expect("miner");
        }
        scratch.push(started.elapsed().as_secs_f64());

        let cache = BaseInfoCache::new();
        let started = Instant::now();
        for m in &miners {
            cache
                .base_info(&cs, &params, m, epoch, &base)?
                .expect("miner");
        }
        one.push(started.elapsed().as_secs_f64());

        let cache = BaseInfoCache::new();
        let started = Instant::now();
        std::thread::scope(|s| {
            for half in miners.chunks(n.div_ceil(2)) {
                let (cache, cs, params, base) = (&cache, &cs, &params, &base);
                s.spawn(move || {
                    for m in half {
                        cache
                            .base_info(cs, params, m, epoch, base)
                            .unwrap()
                            .unwrap();
                    }
                });
            }
        });
        two.push(started.elapsed().as_secs_f64());
    }
    println!("base info for {n} miners on one base (median of 5 epochs):");
    for (what, v) in [
        ("from scratch, one thread", scratch),
        ("cached, one thread", one),
        ("cached, two threads", two),
    ] {
        let m = median(v);
        println!(
            "  {what}: {:.1} ms per epoch, {:.1} µs per miner",
            m * 1e3,
            m * 1e6 / n as f64
        );
    }
    Ok(())
}
