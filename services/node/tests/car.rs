//! Genesis and chain CARs end to end: `--make-genesis` writes a CAR a second node starts from
//! with `--genesisfile`; `venus chain export` streams a snapshot that a fresh node imports
//! with `--import-snapshot` and extends; bad CARs fail with a clear error and leave the repo
//! usable.

mod common;
mod mining;

use std::path::{Path, PathBuf};

use common::*;
use mining::*;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::TipSet;

fn arg(flag: &str, path: &Path) -> String {
    format!("--{flag}={}", path.display())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `venus daemon <args>` that must fail: exit code 1, one `ERROR:` line; returns stderr.
fn daemon_fails(repo: &Path, args: &[&str]) -> String {
    let mut full = vec!["daemon"];
    full.extend_from_slice(args);
    let out = venus(repo, &full);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("ERROR: "), "{err}");
    err
}

/// A failed init leaves no chain (nor a half-built one) behind.
fn assert_no_chain(repo: &Path) {
    assert!(!repo.join("chain").exists(), "no chain after a failed init");
    assert!(!repo.join(".chain-init").exists(), "no scratch chain left");
}

async fn genesis_of(c: &Client) -> TipSet {
    c.call(api::CHAIN_GET_GENESIS, ()).await.expect("genesis")
}

async fn client(d: &Daemon) -> Client {
    Client::connect(&d.url, Some(d.token.clone()))
        .await
        .expect("client")
}

/// A genesis CAR for the same miners under another network name (so another genesis CID).
fn other_genesis_car(template: &Path, out: &Path) -> String {
    let text = std::fs::read(template).expect("template");
    let mut tpl: venus_chain::genesis::GenesisTemplate =
        serde_json::from_slice(&text).expect("template json");
    tpl.network_name = "localnet-other".into();
    let bs = venus_chain::blockstore::MemoryBlockstore::new();
    let params = venus_chain::network::NetworkKind::TwoK.params();
    let built = venus_chain::genesis::build_genesis(&bs, &tpl, &params, 1_700_000_000)
        .expect("build genesis");
    let mut car = Vec::new();
    venus_chain::car::export_genesis(&bs, &built.block, &mut car).expect("export");
    std::fs::write(out, car).expect("write car");
    built.block.cid().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_genesis_car_starts_a_second_node_and_bad_cars_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tpl, _key) = seed_network(dir.path());
    let car = dir.path().join("devgen.car");

    let repo_a = dir.path().join("a");
    write_free_port_config(&repo_a);
    let a = start_daemon(
        &repo_a,
        &[
            "daemon",
            "--network=2k",
            &arg("make-genesis", &car),
            &arg("genesis-template", &tpl),
        ],
    );
    assert!(car.exists(), "--make-genesis wrote the CAR");
    let ca = client(&a).await;
    let genesis_a = genesis_of(&ca).await;

    let repo_b = dir.path().join("b");
    write_free_port_config(&repo_b);
    let b = start_daemon(
        &repo_b,
        &["daemon", "--network=2k", &arg("genesisfile", &car)],
    );
    let cb = client(&b).await;
    assert_eq!(genesis_of(&cb).await.cids(), genesis_a.cids());
    assert_eq!(
        cb.call(api::CHAIN_HEAD, ()).await.expect("head").height(),
        0
    );
    let name_a = ca.call(api::STATE_NETWORK_NAME, ()).await.expect("name");
    let name_b = cb.call(api::STATE_NETWORK_NAME, ()).await.expect("name");
    assert_eq!(name_a, name_b);

    // A truncated CAR: a clear error, exit 1, and no chain left in the repo.
    let bytes = std::fs::read(&car).expect("car");
    let truncated = dir.path().join("truncated.car");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let repo_c = dir.path().join("c");
    write_free_port_config(&repo_c);
    let err = daemon_fails(&repo_c, &["--network=2k", &arg("genesisfile", &truncated)]);
    assert!(
        err.contains("truncated") && err.contains("truncated.car"),
        "{err}"
    );
    assert_no_chain(&repo_c);
    let missing = dir.path().join("nope.car");
    let err = daemon_fails(&repo_c, &["--network=2k", &arg("genesisfile", &missing)]);
    assert!(err.contains("nope.car"), "{err}");
    assert_no_chain(&repo_c);
    // The same repo then starts from the good file.
    let c = start_daemon(
        &repo_c,
        &["daemon", "--network=2k", &arg("genesisfile", &car)],
    );
    assert_eq!(genesis_of(&client(&c).await).await.cids(), genesis_a.cids());
    drop(c);

    // Restarting with the same genesis file is fine (the operator passes it on every start);
    // another genesis is refused, naming both CIDs.
    drop(cb);
    drop(b);
    let other = dir.path().join("other.car");
    let other_cid = other_genesis_car(&tpl, &other);
    let err = daemon_fails(&repo_b, &[&arg("genesisfile", &other)]);
    let ours = genesis_a.cids()[0].to_string();
    assert!(
        err.contains(&other_cid) && err.contains(&ours),
        "names both genesis CIDs: {err}"
    );
    let b = start_daemon(&repo_b, &["daemon", &arg("genesisfile", &car)]);
    assert_eq!(genesis_of(&client(&b).await).await.cids(), genesis_a.cids());

    // --make-genesis with --genesisfile is contradictory.
    let err = daemon_fails(
        &dir.path().join("d"),
        &[
            "--network=2k",
            &arg("make-genesis", &dir.path().join("x.car")),
            &arg("genesis-template", &tpl),
            &arg("genesisfile", &car),
        ],
    );
    assert!(err.contains("exclude each other"), "{err}");
}

fn partial_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_export_then_import_snapshot_and_extend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tpl, key) = seed_network(dir.path());
    let car = dir.path().join("devgen.car");
    let repo_a = dir.path().join("a");
    write_free_port_config(&repo_a);
    let a = start_daemon(
        &repo_a,
        &[
            "daemon",
            "--network=2k",
            &arg("make-genesis", &car),
            &arg("genesis-template", &tpl),
        ],
    );
    let ca = client(&a).await;
    for _ in 0..3 {
        produce(&ca, &key, Vec::new()).await;
    }
    let head_a = ca.call(api::CHAIN_HEAD, ()).await.expect("head");
    assert!(head_a.height() >= 3);

    // venus's flag checks.
    let snap = dir.path().join("snap.car");
    let snap_s = snap.to_str().expect("utf8");
    let out = venus(
        &repo_a,
        &["chain", "export", "--recent-stateroots=10", snap_s],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has to be greater than 900"));
    let out = venus(&repo_a, &["chain", "export", "--skip-old-msgs", snap_s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must pass recent stateroots along with skip-old-msgs"));
    let out = venus(&repo_a, &["chain", "export", "--tipset=@x", snap_s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("invalid --tipset"));
    assert!(!snap.exists() && !partial_of(&snap).exists());

    // Export the head by its CIDs (what @head would name) over the API's ChainExport.
    let tipset = head_a
        .cids()
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let out = venus(
        &repo_a,
        &["chain", "export", &format!("--tipset={tipset}"), snap_s],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("export done"), "{}", stderr(&out));
    assert!(snap.exists() && !partial_of(&snap).exists());
    // A second export at the same head is the same file.
    let again = dir.path().join("again.car");
    let out = venus(
        &repo_a,
        &[
            "chain",
            "export",
            "--tipset=@head",
            again.to_str().expect("utf8"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let head_now = ca.call(api::CHAIN_HEAD, ()).await.expect("head");
    if head_now.key() == head_a.key() {
        assert_eq!(std::fs::read(&again).ok(), std::fs::read(&snap).ok());
    }

    // A fresh node imports the snapshot and reports the same head and genesis.
    let repo_b = dir.path().join("b");
    write_free_port_config(&repo_b);
    let b = start_daemon(
        &repo_b,
        &["daemon", "--network=2k", &arg("import-snapshot", &snap)],
    );
    let cb = client(&b).await;
    let head_b = cb.call(api::CHAIN_HEAD, ()).await.expect("head");
    assert_eq!(head_b.key(), head_a.key());
    assert_eq!(genesis_of(&cb).await.cids(), genesis_of(&ca).await.cids());
    // ... and extends it: one more block, made and validated on the imported chain.
    let next = produce(&cb, &key, Vec::new()).await;
    let head_b2 = cb.call(api::CHAIN_HEAD, ()).await.expect("head");
    assert_eq!(head_b2.cids(), &[next.header.cid()][..]);
    assert_eq!(next.header.parents, head_a.cids().to_vec());

    // Importing into a repo that has a chain is refused.
    drop(cb);
    drop(b);
    let err = daemon_fails(&repo_b, &[&arg("import-snapshot", &snap)]);
    assert!(err.contains("already has a chain"), "{err}");
    // The refused import did not touch the chain.
    let b = start_daemon(&repo_b, &["daemon"]);
    let head_b3 = client(&b)
        .await
        .call(api::CHAIN_HEAD, ())
        .await
        .expect("head");
    assert_eq!(head_b3.key(), head_b2.key());

    // A chain CAR is not a genesis CAR.
    let repo_c = dir.path().join("c");
    write_free_port_config(&repo_c);
    let err = daemon_fails(&repo_c, &["--network=2k", &arg("genesisfile", &snap)]);
    assert!(
        err.contains("not a genesis CAR")
            && err.contains(&format!("at height {}", head_a.height())),
        "{err}"
    );
    assert_no_chain(&repo_c);
    // A snapshot whose genesis is not --genesisfile's is refused too.
    let other = dir.path().join("other.car");
    let other_cid = other_genesis_car(&tpl, &other);
    let err = daemon_fails(
        &repo_c,
        &[
            "--network=2k",
            &arg("import-snapshot", &snap),
            &arg("genesisfile", &other),
        ],
    );
    assert!(err.contains(&other_cid), "{err}");
    assert_no_chain(&repo_c);
}
