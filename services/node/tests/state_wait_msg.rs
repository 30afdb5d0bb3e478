//! `StateWaitMsg` on a local 2k network: many waiters on one message are answered from one
//! scan per new tipset (the daemon's debug log counts the scans), a message that never lands
//! gets an error after the bounded wait instead of holding its caller forever.

mod common;
mod mining;

use std::time::{Duration, Instant};

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::TokenAmount;
use venus_types::crypto::{KeyType, PrivateKey};

const WAITERS: usize = 20;
const SCAN_LINE: &str = "StateWaitMsg: scanned a new tipset";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_one_scan_per_tipset_and_the_wait_is_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tpl, key) = seed_network(dir.path());
    let repo = dir.path().join("repo");
    write_free_port_config(&repo);
    let car = dir.path().join("devgen.car");
    let make = format!("--make-genesis={}", car.display());
    let gt = format!("--genesis-template={}", tpl.display());
    let d = start_daemon_with_env(
        &repo,
        &["daemon", "--network=2k", &make, &gt],
        &[
            ("VENUS_STATE_WAIT_MSG_TIMEOUT", "25"),
            ("RUST_LOG", "info,venus_node::msg_wait=debug"),
        ],
    );
    let c = Client::connect(&d.url, Some(d.token.clone()))
        .await
        .expect("client");
    produce(&c, &key, Vec::new()).await;

    // A transfer from the genesis-funded owner.
    let to = PrivateKey::generate(KeyType::Secp256k1, &mut rand::thread_rng())
        .expect("k")
        .address();
    let signed = signed_transfer(&c, &key, to, TokenAmount::from_whole(1)).await;
    let cid = c
        .call(api::MPOOL_PUSH, (signed.clone(),))
        .await
        .expect("push");

    // A message that never lands: answered with an error after the bounded wait (25 s here).
    let never = {
        let c = Client::connect(&d.url, Some(d.token.clone()))
            .await
            .expect("client");
        let mut other = signed.message.clone();
        other.nonce += 1000;
        let other_cid = other.cid();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = c.call(api::STATE_WAIT_MSG, (other_cid, 0, -1, true)).await;
            (r, started.elapsed())
        })
    };

    let mut waiters = Vec::new();
    for _ in 0..WAITERS {
        let c = Client::connect(&d.url, Some(d.token.clone()))
            .await
            .expect("client");
        waiters.push(tokio::spawn(async move {
            c.call(api::STATE_WAIT_MSG, (cid, 1, -1, true)).await
        }));
    }
    let selected = c
        .call(api::MPOOL_SELECTS, (Default::default(), vec![0.9]))
        .await
        .expect("select");
    assert_eq!(selected[0].len(), 1);
    produce(&c, &key, selected[0].clone()).await;
    produce(&c, &key, Vec::new()).await; // executes it (receipt in this tipset)
    produce(&c, &key, Vec::new()).await; // one confirmation on top

    let mut lookups = Vec::new();
    for w in waiters {
        let lookup = tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("every waiter is answered")
            .expect("task")
            .expect("StateWaitMsg");
        lookups.push(lookup);
    }
    assert_eq!(lookups[0].message, cid);
    assert_eq!(lookups[0].receipt.exit_code, 0);
    assert!(
        lookups.iter().all(|l| l == &lookups[0]),
        "one answer for all"
    );

    let (never, waited) = tokio::time::timeout(Duration::from_secs(60), never)
        .await
        .expect("the bounded wait ends")
        .expect("task");
    let e = never.expect_err("a message that never lands is an error");
    assert!(e.to_string().contains("not found"), "{e}");
    assert!(waited >= Duration::from_secs(25), "{waited:?}");

    // Each new tipset was scanned once for all the waiters, not once per waiter.
    let log = std::fs::read_to_string(repo.with_extension("log")).expect("daemon log");
    let scans = log.lines().filter(|l| l.contains(SCAN_LINE)).count();
    assert!(
        (1..=6).contains(&scans),
        "{scans} tipset scans for {WAITERS} waiters over 3 new tipsets"
    );
}
